/* rec.h: the one owner of the contract's records: limits, grammars, tables, the ABI decoder. */
#ifndef CANTEEN_REC_H
#define CANTEEN_REC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "eth_abi.h"

/*
 * Two rule sets, one owner each:
 *  - the contract's rules (REC_MAX_*, mirrored from contracts/Canteen.sol; the test
 *    contract_limits.bats reads them out of the source): what a record on the chain can
 *    hold. A record that breaks them cannot have come from the contract; whoever reads
 *    it (chainwatch from the node, sched from chain.sock) leaves it out.
 *  - the run rules (REC_RUN_*): what a server can run. The contract accepts more than
 *    that; a record that breaks them is kept but none of its replicas is placed, and
 *    every user-facing view says "rejected: <reason>". The CLI refuses such a record
 *    before it sends it.
 * Every check below returns 0, or -1 with one sentence in err (err may be NULL); each
 * sentence is the same wherever the rule is applied.
 */

/* ---- the contract's limits (contracts/Canteen.sol) ---- */
#define REC_MAX_NAME 63
#define REC_MAX_IMAGE 512
#define REC_MAX_ENDPOINT 64      /* printable ASCII without space (0x21..0x7e) */
#define REC_MAX_ITEMS 64        /* command args, env entries */
#define REC_MAX_ITEM_LEN 1024   /* one command arg or env entry */
#define REC_MAX_LABELS 16       /* node labels, service selector */
#define REC_MAX_LABEL_LEN 64    /* one "k=v", printable ASCII (0x20..0x7e) */
#define REC_MAX_PORTS 32
#define REC_MAX_PAGE 1000
#define REC_MAX_VOLUMES 8        /* named volumes of one service (version 5) */
#define REC_MAX_VOLUME_LEN 160   /* one "NAME:/path[:ro]" */
#define REC_MAX_VOLUME_NAME 32   /* [a-z0-9][a-z0-9_-]{0,31} */
#define REC_MAX_PERMILLE 1000    /* update max failure ratio, per mille */

enum rec_strategy { REC_SPREAD = 0, REC_ROUNDROBIN = 1, REC_BINPACK = 2, REC_NSTRATEGIES };
enum rec_proto { REC_TCP = 0, REC_UDP = 1, REC_NPROTOS };
enum rec_failure { REC_FAILURE_PAUSE = 0, REC_FAILURE_ROLLBACK = 1, REC_NFAILURES };

/* Widths of the contract's integer fields. */
#define REC_U32_MAX 4294967295LL
#define REC_U16_MAX 65535LL
#define REC_U8_MAX 255LL
#define REC_I32_MIN (-2147483647LL - 1)
#define REC_I32_MAX 2147483647LL
#define REC_MAX_GENERATION (1LL << 53) /* uint64 on chain; past 2^53 a JSON reader may round */

/* ---- what a server can run ---- */
#define REC_RUN_IMAGE_MAX 255          /* Docker refuses longer references */
#define REC_RUN_REPLICAS_MAX 100000    /* replicas of one service (index < this) */
#define REC_RUN_CPU_MILLIS_MAX 1024000 /* 1024 CPUs */
#define REC_RUN_MEM_MIB_MIN 6          /* Docker refuses less than 6 MiB (0: no limit) */

#define REC_ADDR_LEN 42                /* "0x" + 40 lowercase hex digits */

/* ---- tables ---- */
/* "spread", "roundrobin", "binpack"; NULL when out of range. */
const char *rec_strategy_name(long s);
/* Name into index; -1 when unknown. */
int rec_strategy_parse(const char *s, int *out);
/* "tcp", "udp"; NULL when out of range. */
const char *rec_proto_name(long p);
int rec_proto_parse(const char *s, int *out);
/* The update failure action: "pause", "rollback"; NULL when out of range. */
const char *rec_failure_name(long f);
int rec_failure_parse(const char *s, int *out);

/* ---- grammars ---- */
/* [a-z0-9][a-z0-9-]{0,62} (n bytes of s). 1 or 0. */
int rec_name_ok(const char *s, size_t n);
int rec_name_check(const char *s, size_t n, char *err, size_t errlen);
/* "0x" and 40 lowercase hex digits, NUL-terminated. 1 or 0. */
int rec_address_ok(const char *s);
/* A "k=v" item: non-empty key, at most maxlen bytes, no NUL. 1 or 0. */
int rec_kv_ok(const char *s, size_t n, size_t maxlen);
/* A node label or selector item: "k=v" of at most REC_MAX_LABEL_LEN printable ASCII
 * bytes (0x20..0x7e). 1 or 0. */
int rec_label_ok(const char *s, size_t n);
/* A node endpoint: 1 to REC_MAX_ENDPOINT printable ASCII bytes without space
 * (0x21..0x7e). 1 or 0. */
int rec_endpoint_ok(const char *s, size_t n);
/* An image reference a server can run: at most REC_RUN_IMAGE_MAX bytes of Docker's
 * grammar [host[:port]/]path[:tag][@sha256:<64 hex>]. */
int rec_image_check(const char *ref, size_t n, char *err, size_t errlen);
/* Split a valid reference: length of the name part, the tag (NULL if none) and the digest
 * (NULL if none; "sha256:..."). -1 if not valid. */
int rec_image_parts(const char *ref, size_t *namelen, const char **tag, size_t *taglen,
                    const char **digest);
/* An environment entry a server can run: NAME=value, NAME = [A-Za-z_][A-Za-z0-9_]*. */
int rec_env_ok(const char *s);

/* A named volume "NAME:/path[:ro]" (version 5), split. */
struct rec_volume {
	char name[REC_MAX_VOLUME_NAME + 1];
	char path[REC_MAX_VOLUME_LEN];
	int read_only;
};
/* The contract's grammar: NAME [a-z0-9][a-z0-9_-]{0,31}, ":", a path of "/" and at least
 * one more byte of 0x21..0x7e but ':', then ":ro" or nothing; at most REC_MAX_VOLUME_LEN
 * bytes. 0 and *out (may be NULL), or -1 with err. */
int rec_volume_parse(const char *s, size_t n, struct rec_volume *out, char *err, size_t errlen);
/* The run rule on a volume's path: no empty, "." or ".." component, no "/" at the end. */
int rec_volume_path_check(const char *path, char *err, size_t errlen);

/* ---- records (the chain.sock interface objects) ---- */
/*
 * A NODE object {address, endpoint, swim_pubkey, cpu_millis, mem_mib, labels, active}
 * or a SERVICE object {name, image, command, env, replicas, cpu_millis, mem_mib, ports,
 * priority, strategy, exclusive, selector, generation} within the contract's rules;
 * version 5's options are keys present only when not at their default:
 *   health {cmd, interval_ms, timeout_ms, start_period_ms, retries, disabled},
 *   update {parallelism, delay_ms, failure_action, max_failure_permille},
 *   volumes ["NAME:/path[:ro]"], stateful, failover_after_s, read_only.
 */
int rec_node_check(const json_t *node, char *err, size_t errlen);
int rec_service_check(const json_t *svc, char *err, size_t errlen);
/*
 * The run rules on what a container runs: image, command, env, cpu_millis, mem_mib,
 * ports, health, volumes, read_only of o, which is a SERVICE object or one container of canteen-dockerd's desired
 * set (the same keys). Checked in that order; the first broken rule is the reason.
 */
int rec_run_check(const json_t *o, char *err, size_t errlen);
/* n replicas of one service, at most REC_RUN_REPLICAS_MAX (a replica index r means at
 * least r + 1). */
int rec_replicas_check(long long n, char *err, size_t errlen);
/* rec_run_check and the replica count of a SERVICE: what canteen-sched places. */
int rec_service_runnable(const json_t *svc, char *err, size_t errlen);

/* ---- chain.sock snapshots ---- */
/* What a reader of chain.sock assembles between snapshot.begin and snapshot.end at most
 * (NODE and SERVICE lines); past either it drops the snapshot and keeps its state. */
#define REC_SNAP_MAX_RECORDS 65536
#define REC_SNAP_MAX_BYTES (64 * 1024 * 1024) /* the records' compact JSON, bytes */

/* ---- the ABI decoder ---- */
/* The Solidity tuple types of Node and Service (contracts/Canteen.sol). */
#define REC_NODE_ABI "(address,string,bytes32,uint32,uint32,string[],bool,uint64)"
#define REC_SERVICE_ABI "(string,string,string[],string[],uint32,uint32,uint32," \
                        "(uint16,uint16,uint8)[],int32,uint8,bool,string[],uint64)"
/* The ServiceSpec an admin sends (contract version 4 keeps it in ServiceUpserted's log;
 * version 5 adds its Options, none or one). */
#define REC_OPTIONS_ABI "(string[],uint32,uint32,uint32,uint8,bool,uint16,uint32,uint8,uint16," \
                        "string[],bool,uint32,bool)"
#define REC_SPEC_ABI "(string,string,string[],string[],uint32,uint32,uint32," \
                     "(uint16,uint16,uint8)[],int32,uint8,bool,string[]," REC_OPTIONS_ABI "[])"

/* An Options object as the contract's JSON ABI names it (healthCmd, healthIntervalMs, ...,
 * readOnly: all 14) into svc's SERVICE keys, defaults left out as the decoder does. */
int rec_options_record(const json_t *opt, json_t *svc, char *err, size_t errlen);

/* A decoded Node / Service tuple into the NODE / SERVICE object (owned by the caller),
 * checked with rec_node_check / rec_service_check; NULL with err otherwise. */
json_t *rec_node_from_abi(const struct abi_value *t, char *err, size_t errlen);
json_t *rec_service_from_abi(const struct abi_value *t, char *err, size_t errlen);
/* A decoded ServiceSpec tuple and its generation into the SERVICE object (owned), checked
 * with rec_service_check; NULL with err otherwise. */
json_t *rec_service_from_spec(const struct abi_value *t, uint64_t generation, char *err,
                              size_t errlen);
/*
 * The return data of getNodes / getServices (services 0 / 1) into an array of records
 * (owned by the caller). A malformed record is left out (anyone may register a node with
 * any bytes): *raw counts the records returned, *skipped those left out, and err says
 * why the first was. NULL with err when the data is not such a page at all.
 */
json_t *rec_decode_page(int services, const uint8_t *data, size_t len, size_t *raw,
                        size_t *skipped, char *err, size_t errlen);

#endif
