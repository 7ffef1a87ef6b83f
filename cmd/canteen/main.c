/* main.c: the canteen CLI: global flags, configuration, dispatch to subcommands. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "conf.h"
#include "parse.h"
#include "tty.h"

struct subcommand {
	const char *name;
	int (*fn)(struct cli *, int, char **);
	const char *help;
	const char *usage;  /* "canteen NAME --help" */
};

static const struct subcommand subcommands[] = {
	{"contract", cmd_contract, "contract deploy", USAGE_CONTRACT},
	{"node", cmd_node, "node keygen|register|approve|revoke|readmit|join|ls", USAGE_NODE},
	{"service", cmd_service, "service deploy|update|scale|rm|ls", USAGE_SERVICE},
	{"events", cmd_events, "events            stream chainwatch events", USAGE_EVENTS},
	{"status", cmd_status, "status            daemons supervised by canteen-init", USAGE_STATUS},
	{"members", cmd_members, "members           SWIM membership as seen here", USAGE_MEMBERS},
	{"ps", cmd_ps, "ps                every replica: node, state, restarts, age, reason", USAGE_PS},
	{"logs", cmd_logs, "logs SERVICE [--follow]  replicas' output, from any server", USAGE_LOGS},
	{"images", cmd_images, "images [IMAGE...]  which server holds which image", USAGE_IMAGES},
	{"volume", cmd_volume, "volume ls|prune   this server's replica volumes", USAGE_VOLUME},
	{"endpoints", cmd_endpoints, "endpoints SERVICE [--watch]", USAGE_ENDPOINTS},
	{"metrics", cmd_metrics, "metrics [--textfile PATH [--interval D]]   Prometheus text",
	 USAGE_METRICS},
	{"up", cmd_up, "up [--nodes N] [--detach]   a local cluster", USAGE_UP},
	{"down", cmd_down, "down              stop the local cluster", USAGE_DOWN},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: canteen [-c FILE] [--json] [--rpc URL] [--contract ADDR] [--key-file PATH]\n"
	           "               [--chain-id N] [--rpc-timeout DURATION] [--gas-limit GAS]\n"
	           "               [--rundir DIR] COMMAND [ARGS...]\ncommands:\n");
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		fprintf(f, "  %s\n", subcommands[i].help);
	fprintf(f, "See canteen(1).\n");
}

/* Messages quote what daemons, RPC servers and records said: each line is escaped for the
 * terminal (tty.h); the newlines of a usage text stay. */
void cli_err(const char *fmt, ...)
{
	char msg[4096], shown[4 * TTY_FIELD_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fputs("canteen: ", stderr);
	for (char *line = msg, *nl; line; line = nl ? nl + 1 : NULL) {
		if ((nl = strchr(line, '\n')))
			*nl = '\0';
		fprintf(stderr, "%s\n", tty_esc(line, shown, sizeof shown));
	}
}

void cli_sock_path(const struct cli *cli, const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", cli->conf.rundir, name);
}

static int set_or_die(struct cli *cli, const char *key, const char *value)
{
	char err[256];
	if (conf_set(&cli->conf, key, value, err, sizeof err) < 0) {
		cli_err("%s", err);
		return -1;
	}
	return 0;
}

/* "--help" or "-h" among a command's arguments (before "--", which starts a container's). */
static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* "--json" is accepted anywhere before "--": take it out so subcommands need not. */
static void strip_json_flag(struct cli *cli, int *argc, char **argv)
{
	int w = 0;
	for (int r = 0; r < *argc; r++) {
		if (strcmp(argv[r], "--") == 0) {
			while (r < *argc)
				argv[w++] = argv[r++];
			break;
		}
		if (strcmp(argv[r], "--json") == 0) {
			cli->json = 1;
			continue;
		}
		argv[w++] = argv[r];
	}
	*argc = w;
	argv[w] = NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
		{"rpc", required_argument, NULL, 'r'},    {"contract", required_argument, NULL, 'C'},
		{"key-file", required_argument, NULL, 'k'}, {"rundir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
		{"chain-id", required_argument, NULL, 'i'}, {"rpc-timeout", required_argument, NULL, 't'},
		{"gas-limit", required_argument, NULL, 'g'},
		{NULL, 0, NULL, 0},
	};
	struct cli cli;
	memset(&cli, 0, sizeof cli);
	/* Keys live in sodium_malloc memory, which needs the library initialised first. */
	if (sodium_init() < 0) {
		cli_err("libsodium cannot be initialised");
		return CLI_FAIL;
	}
	conf_defaults(&cli.conf);
	char err[512];

	/* First pass: only -c, so flags given later override the file. */
	const char *flags[16][2];
	int nflags = 0, ch;
	while ((ch = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cli.conf_path = optarg; break;
		case 'j': cli.json = 1; break;
		case 'r': flags[nflags][0] = "rpc_url"; flags[nflags++][1] = optarg; break;
		case 'C': flags[nflags][0] = "contract"; flags[nflags++][1] = optarg; break;
		case 'k': flags[nflags][0] = "key_file"; flags[nflags++][1] = optarg; break;
		case 'd': flags[nflags][0] = "rundir"; flags[nflags++][1] = optarg; break;
		case 'i': flags[nflags][0] = "chain_id"; flags[nflags++][1] = optarg; break;
		case 't': flags[nflags][0] = "rpc_timeout_ms"; flags[nflags++][1] = optarg; break;
		case 'g':
			if (parse_u64(optarg, 21000, 30000000, &cli.gas_limit, err, sizeof err) < 0) {
				cli_err("--gas-limit: %s", err);
				return CLI_USAGE;
			}
			break;
		case 'h': usage(stdout); return CLI_OK;
		case 'V': printf("canteen %s\n", CANTEEN_VERSION); return CLI_OK;
		default: usage(stderr); return CLI_USAGE;
		}
		if (nflags == 16) {
			cli_err("too many global flags");
			return CLI_USAGE;
		}
	}
	const char *path = cli.conf_path;
	if (!path && access(CONF_DEFAULT_PATH, R_OK) == 0)
		path = CONF_DEFAULT_PATH;
	if (path && conf_load(&cli.conf, path, err, sizeof err) < 0) {
		cli_err("%s", err);
		return CLI_USAGE;
	}
	cli.conf_path = path; /* the file read, if any (node join may add chain_id to it) */
	static const char *envs[][2] = {{"CANTEEN_RPC", "rpc_url"}, {"CANTEEN_CONTRACT", "contract"},
	                                {"CANTEEN_KEY_FILE", "key_file"}, {"CANTEEN_RUNDIR", "rundir"},
	                                {"CANTEEN_CHAIN_ID", "chain_id"}};
	for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
		const char *v = getenv(envs[i][0]);
		if (v && *v && set_or_die(&cli, envs[i][1], v) < 0)
			return CLI_USAGE;
	}
	for (int i = 0; i < nflags; i++)
		if (set_or_die(&cli, flags[i][0], flags[i][1]) < 0)
			return CLI_USAGE;

	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
		if (strcmp(subcommands[i].name, name) == 0) {
			/* Subcommands parse their own flags from a fresh getopt state. */
			char **sub = argv + optind;
			int subc = argc - optind;
			strip_json_flag(&cli, &subc, sub);
			if (wants_help(subc, sub)) {
				printf("%s\nSee canteen(1).\n", subcommands[i].usage);
				return CLI_OK;
			}
			optind = 0;
			return subcommands[i].fn(&cli, subc, sub);
		}
	}
	cli_err("unknown command '%s' (try canteen --help)", name);
	return CLI_USAGE;
}
