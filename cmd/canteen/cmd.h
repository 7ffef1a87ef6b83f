/* cmd.h: the typed command layer: each chain command as a struct, a parse step and a run step. */
#ifndef CANTEEN_CMD_H
#define CANTEEN_CMD_H

#include <stdint.h>

#include <jansson.h>

#include "cli.h"
#include "rec.h"

/*
 * Every command comes in two steps. *_parse reads argv (argv[0] = the subcommand's name)
 * into the struct, checks everything that can be checked without the chain, prints why not
 * ("canteen: ..." and the usage) and returns CLI_OK, CLI_USAGE (or CLI_FAIL when a file it
 * names cannot be read). *_run does the work the struct describes, prints only errors and
 * fills a result; printing the result is the subcommand's business. Callers inside the CLI
 * (node join, up) fill the struct themselves and call *_run.
 */

/* What a transaction left behind. */
struct chain_done {
	uint64_t block, gas_used;
	uint64_t chain_id;  /* contract deploy: the chain it went to */
	char address[43]; /* contract deploy: the new contract; node register: the node */
	char tx[67];
	char owner[43];   /* contract deploy: the deploying account */
};

/* ---- canteen contract deploy | admin add|rm ADDRESS | registration open|close ---- */
enum contract_op { CONTRACT_DEPLOY, CONTRACT_ADMIN, CONTRACT_REGISTRATION };
struct contract_cmd {
	enum contract_op op;
	char address[43]; /* admin: the account */
	int on;           /* admin: add (1) or rm (0); registration: open (1) or close (0) */
};
int contract_parse(struct contract_cmd *c, int argc, char **argv);
int contract_run(struct cli *cli, const struct contract_cmd *c, struct chain_done *out);

/* ---- canteen node register ---- */
struct node_reg {
	char endpoint[REC_MAX_ENDPOINT + 1];
	char swim_pubkey[65];                /* 64 hex digits */
	uint64_t cpu_millis, mem_mib;
	const char *labels[REC_MAX_LABELS];  /* "K=V", borrowed */
	size_t nlabels;
};
/* The flags of node register (and node join), one at a time: flag is NODE_ENDPOINT ... */
#define NODE_ENDPOINT 'e'
#define NODE_SWIM_PUBKEY 'p'
#define NODE_SWIM_KEY_FILE 'f'
#define NODE_CPU 'c'
#define NODE_MEM 'm'
#define NODE_LABEL 'l'
int node_reg_set(struct node_reg *r, int flag, const char *arg);
int node_register_parse(struct node_reg *r, int argc, char **argv);
/* out->address is the registered node (the key file's account). */
int node_register_run(struct cli *cli, const struct node_reg *r, struct chain_done *out);

/* ---- canteen node approve|revoke|readmit ADDRESS, node ls ---- */
struct node_admin {
	int approve;      /* approve (1) or revoke (0) */
	int readmit;      /* 1: readmit (a revoked address may register again) */
	char address[43];
};
int node_admin_parse(struct node_admin *a, int argc, char **argv);
int node_admin_run(struct cli *cli, const struct node_admin *a, struct chain_done *out);
/* Every node record (*nodes owned, an array of NODE objects). */
int node_ls_run(struct cli *cli, json_t **nodes);

/* ---- canteen node keygen ---- */
struct keygen_cmd {
	const char *swim_path; /* required */
	const char *eth_path;  /* NULL: no Ethereum key */
	int force;             /* replace existing files */
};
struct keygen_out {
	char swim_pubkey[65];
	char address[43];      /* when eth_path was given */
};
int keygen_run(const struct keygen_cmd *k, struct keygen_out *out);

/* ---- canteen service deploy|update|scale|rm|ls ---- */
#define SVC_IMAGE 0x01u
#define SVC_REPLICAS 0x02u
#define SVC_CPU 0x04u
#define SVC_MEM 0x08u
#define SVC_PRIORITY 0x10u
#define SVC_STRATEGY 0x20u
#define SVC_EXCLUSIVE 0x40u

/* The fields of a service spec given on the command line; update keeps the others. */
struct service_args {
	unsigned given;                /* SVC_* bits of the scalars set below */
	const char *image;             /* borrowed */
	uint64_t replicas, cpu_millis, mem_mib;
	json_int_t priority;
	int strategy, exclusive;       /* strategy as rec_strategy_parse gives it */
	/* Owned arrays, NULL when not given: a list given replaces the whole list. ports holds
	 * {"host","container","proto"} objects, the others strings. */
	json_t *ports, *env, *selector, *command;
	/* Version 5's Options fields the flags set (the contract's names), NULL when none;
	 * the fields not given keep the record's value (an update) or their default. */
	json_t *opts;
	json_t *health_args, *volumes; /* --health-arg, --volume while parsing (owned) */
};

enum service_op { SERVICE_DEPLOY, SERVICE_UPDATE, SERVICE_SCALE, SERVICE_RM, SERVICE_LS, SERVICE_ROLLBACK };
struct service_cmd {
	enum service_op op;
	char name[REC_MAX_NAME + 1];
	uint64_t replicas;         /* scale */
	struct service_args args;  /* deploy, update */
};
/* argv[0] is "deploy", "update", ...; service_cmd_free releases what parse filled. */
int service_parse(struct service_cmd *s, int argc, char **argv);
void service_cmd_free(struct service_cmd *s);
/* deploy, update, scale, rm. */
int service_run(struct cli *cli, const struct service_cmd *s, struct chain_done *out);
/* Every service record (*services owned); *summary (owned) is canteen-sched's placement
 * summary, or NULL with why (one sentence) when the run directory's sched does not answer. */
int service_ls_run(struct cli *cli, json_t **services, json_t **summary, char *why, size_t whylen);

#endif
