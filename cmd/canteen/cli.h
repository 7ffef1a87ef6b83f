/* cli.h: the canteen command's shared state and the subcommands each area implements. */
#ifndef CANTEEN_CLI_H
#define CANTEEN_CLI_H

#include <stdint.h>

#include "conf.h"

/* Exit codes of the CLI. */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Each command's usage: printed by "canteen COMMAND --help" (stdout, exit 0) and after a
 * usage error (stderr, exit 2). */
#define USAGE_CONTRACT \
	"usage: canteen contract deploy\n" \
	"       canteen contract admin add|rm ADDRESS\n" \
	"       canteen contract registration open|close"
#define USAGE_NODE \
	"usage: canteen node register --endpoint HOST:PORT (--swim-pubkey HEX | --swim-key-file FILE)\n" \
	"                             --cpu CPU --mem SIZE [--label K=V]...\n" \
	"       canteen node approve|revoke|readmit ADDRESS\n" \
	"       canteen node ls [--pending]\n" \
	"       canteen node keygen [--swim-key FILE] [--eth-key FILE] [--force]\n" \
	"       canteen node join [--endpoint HOST:PORT] [--cpu CPU] [--mem SIZE] [--label K=V]..."
#define USAGE_SERVICE \
	"usage: canteen service deploy NAME --image REF [--replicas N] [--cpu CPU] [--mem SIZE]\n" \
	"           [--port HOST:CONTAINER[/udp]]... [--env K=V]... [--priority P]\n" \
	"           [--strategy spread|roundrobin|binpack] [--exclusive] [--selector K=V]...\n" \
	"           [--health-cmd SHELL-CMD | --health-arg ARG... | --no-healthcheck]\n" \
	"           [--health-interval D] [--health-timeout D] [--health-start-period D] [--health-retries N]\n" \
	"           [--update-parallelism N] [--update-delay D] [--update-failure-action pause|rollback]\n" \
	"           [--update-max-failure-ratio R] [--volume NAME:/PATH[:ro]]... [--stateful]\n" \
	"           [--failover-after D] [--read-only] [-- CMD...]\n" \
	"       canteen service update NAME [the same flags; lists given replace the old ones;\n" \
	"           --no-stateful, --no-read-only undo]\n" \
	"       canteen service scale NAME REPLICAS\n" \
	"       canteen service rollback NAME\n" \
	"       canteen service rm NAME\n" \
	"       canteen service ls"
#define USAGE_EVENTS "usage: canteen events [--count N] [--no-head]"
#define USAGE_STATUS "usage: canteen status [--json]"
#define USAGE_MEMBERS "usage: canteen members [--json]"
#define USAGE_PS "usage: canteen ps [--service NAME] [--json]"
#define USAGE_IMAGES "usage: canteen images [--json] [IMAGE...]"
#define USAGE_LOGS "usage: canteen logs SERVICE [--replica N] [--follow] [--since DURATION] [--tail N|all]"
#define USAGE_VOLUME "usage: canteen volume ls [--json]\n       canteen volume prune [--service NAME] [--yes]"
#define USAGE_ENDPOINTS "usage: canteen endpoints SERVICE [--all] [--watch]"
#define USAGE_METRICS \
	"usage: canteen metrics [--timeout DURATION] [--textfile PATH [--interval DURATION]]"
#define USAGE_UP "usage: canteen up [--nodes N] [--detach] [--fast] [--no-sample] [--isolated] [--dir DIR]"
#define USAGE_DOWN "usage: canteen down [--dir DIR]"

/*
 * Filled by main before a subcommand runs: conf holds canteen.conf (-c FILE, or the
 * default file if it exists), then CANTEEN_RPC / CANTEEN_CONTRACT / CANTEEN_KEY_FILE /
 * CANTEEN_RUNDIR / CANTEEN_CHAIN_ID from the environment, then the global flags. json is
 * set by --json.
 */
struct cli {
	struct conf conf;
	uint64_t gas_limit; /* --gas-limit: 0 estimates */
	int json;
	const char *conf_path; /* the canteen.conf read (-c FILE or the default), or NULL */
};

/* Each gets argv[0] = the subcommand's name and returns CLI_OK/CLI_FAIL/CLI_USAGE.
 * Errors go to stderr as one sentence prefixed "canteen: ". */
int cmd_contract(struct cli *cli, int argc, char **argv);  /* chain */
int cmd_node(struct cli *cli, int argc, char **argv);      /* chain (+ keygen: swim) */
int cmd_service(struct cli *cli, int argc, char **argv);   /* chain (+ ls placement: sched) */
int cmd_events(struct cli *cli, int argc, char **argv);    /* chain */
int cmd_status(struct cli *cli, int argc, char **argv);    /* init */
int cmd_members(struct cli *cli, int argc, char **argv);   /* swim */
int cmd_ps(struct cli *cli, int argc, char **argv);        /* sched + dockerd */
int cmd_endpoints(struct cli *cli, int argc, char **argv); /* system */
int cmd_logs(struct cli *cli, int argc, char **argv);      /* sched + dockerd (channel) */
int cmd_metrics(struct cli *cli, int argc, char **argv);   /* every daemon */
int cmd_images(struct cli *cli, int argc, char **argv);    /* chain + dockerd (channel) */
int cmd_volume(struct cli *cli, int argc, char **argv);    /* dockerd */
int cmd_up(struct cli *cli, int argc, char **argv);        /* system */
int cmd_down(struct cli *cli, int argc, char **argv);      /* system */
/* "canteen node keygen [--swim-key FILE] [--eth-key FILE]": cmd_node (chain) calls this; swim
 * implements it (libsodium key pair for SWIM, mode 0600). */
int cli_node_keygen(struct cli *cli, int argc, char **argv);
/* A fresh Ethereum key written to path (0600; replaced only with force); its address out. */
int cli_eth_keygen(const char *path, int force, char address[43]);
/* "canteen node join": keys if missing, then register this server (join.c). */
int cli_node_join(struct cli *cli, int argc, char **argv);

/* "canteen: <msg>\n" on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Path of a socket in the run directory: <rundir>/<name>. */
void cli_sock_path(const struct cli *cli, const char *name, char *out, size_t outlen);

#endif
