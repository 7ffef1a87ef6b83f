/* chainwatch.h: canteen-chainwatch's context, shared by its state, follower and records. */
#ifndef CANTEEN_CHAINWATCH_H
#define CANTEEN_CHAINWATCH_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "eth_rpc.h"
#include "eth_util.h"
#include "ipc.h"
#include "loop.h"

#define CW_PAGE 100            /* records per getNodes/getServices call */
#define CW_RANGE_MIN 1
#define CW_RANGE_MAX 5000      /* blocks per eth_getLogs */
#define CW_LOGS_TARGET 2000    /* logs per eth_getLogs the range adapts toward */
#define CW_MAX_WAITING 64
#define CW_STATE_LINE_MAX (IPC_MAX_LINE - 4096) /* the "state" answer, bytes */
#define CW_NTOPICS 5           /* the contract's record events chainwatch follows */
#define CW_CONTRACT_VERSION 3  /* the contract interface chainwatch speaks (version()) */

/* The desired state as of one block: NODE and SERVICE objects (the chain.sock shapes).
 * nodes holds every registered node; the feed (chain.sock, --stdout) carries only the
 * approved ones ("active"), which fed tracks: anyone may register, only an admin approves. */
struct cw_state {
	int valid;
	uint64_t block;
	char hash[67];
	json_t *nodes;    /* address -> NODE */
	json_t *services; /* name -> SERVICE */
	json_t *fed;      /* address -> true: the nodes the feed has announced */
};

/* A snapshot being read (pages of getNodes, then getServices, at one block hash). */
struct cw_snap {
	uint64_t block;
	char hash[67];
	uint64_t offset;
	int services;     /* 0: reading nodes, 1: services */
	uint64_t page;    /* records per call; 0: CW_PAGE (halved while a call is refused) */
	json_t *nodes, *svcs;
};

/* One RPC endpoint of several (rpc_url), as the quorum client last reported it. */
struct cw_endpoint {
	char shown[ETH_RPC_SHOWN_MAX + 24]; /* redacted URL, "#N" added when two look alike */
	enum eth_arpc_health health;
	char why[512];
	uint64_t faults;                    /* times reported down or disagreeing */
};

struct chainwatch {
	struct loop *loop;
	struct ipc_server *srv;
	struct eth_arpc *rpc;     /* a quorum client when rpc_url names several endpoints */
	struct cw_endpoint eps[ETH_ARPC_MAX_ENDPOINTS];
	size_t neps, quorum;
	uint8_t contract[ETH_ADDR_LEN];
	char contract_hex[43];
	uint64_t confirmations;
	uint64_t poll_ms;
	int has_start_block;     /* --snapshot-block: the first snapshot is at this block */
	uint64_t start_block;
	int stdout_fd;           /* --stdout: snapshot and events mirrored here, else -1 */
	uint64_t chain_id;       /* conf chain_id; 0: not set (the node's is taken, with a warning) */
	int checked;             /* the start-up checks passed (chain id, code, version) */
	int exit_code;           /* set when a start-up check failed: main exits with it */

	struct cw_state st;
	struct cw_snap snap;
	int busy;                /* an RPC round is in flight */
	uint64_t timer;
	int rpc_down;            /* the node does not answer */
	int down_published;      /* rpc.down went out: rpc.up follows when it answers */
	uint64_t retry_ms;       /* back-off while the node is unreachable */
	uint64_t range;          /* blocks per eth_getLogs (adaptive) */
	uint64_t target;         /* block this round follows to */
	char target_hash[67];
	uint64_t head_target;    /* head - confirmations, as last seen */
	json_t *pending_logs;    /* read, waiting for the block hashes to be checked again */
	int need_snapshot;       /* a reorg was seen: re-read the state */
	uint64_t reorgs;
	uint64_t events;         /* chain events published */
	uint64_t head;           /* the node's head block, as last read (0: not yet) */
	uint64_t rpc_errors;     /* failed rounds (RPC, transport or malformed answers) */
	struct ipc_conn *waiting[CW_MAX_WAITING]; /* subscribed before the first snapshot */
	size_t nwaiting;
	uint8_t topics[CW_NTOPICS][32]; /* NodeUpserted, NodeRemoved, ServiceUpserted,
	                                 * ServiceRemoved, ServiceScaled */
};

/* record.c: decode contract data into chain.sock objects (NULL + err when malformed). */
int cw_types_init(char *err, size_t errlen);
void cw_types_free(void);
void cw_event_topics(uint8_t topics[CW_NTOPICS][32]);
/* Pages of getNodes/getServices are decoded by rec_decode_page (rec.h). */
/* One log (eth_getLogs item) into an event {"type",...} without seq (owned); NULL with
 * err when it is malformed; *skip = 1 (and NULL) when it is none of ours. A NodeUpserted
 * whose record is malformed becomes node.remove, with err set to why. A ServiceScaled
 * becomes service.upsert of the record in cw's state with the new replicas and
 * generation (err and NULL when the state has no such service). */
json_t *cw_decode_log(const struct chainwatch *cw, const json_t *log, int *skip, char *err,
                      size_t errlen);

/* state.c */
void cw_state_init(struct cw_state *s);
void cw_state_clear(struct cw_state *s);
/* Apply one event to the state (the event is borrowed). */
void cw_state_apply(struct cw_state *s, const json_t *ev);
/* The state as one object {"type":"state",...} (owned), approved nodes only, without seq:
 * the answer to the "state" request; {"type":"error",...} when that would be longer than
 * CW_STATE_LINE_MAX bytes. */
json_t *cw_state_snapshot(const struct cw_state *s);
/* Send the feed's snapshot to c as lines (snapshot.begin, one node or service line per
 * record, snapshot.end) and subscribe it; -1 when it could not: c has then been dropped
 * (closed and freed) and must not be used again. */
int cw_subscribe(struct chainwatch *cw, struct ipc_conn *c);
/* The same lines on the --stdout fd, if any. */
void cw_stdout_snapshot(struct chainwatch *cw);
/* Replace the state by new nodes/services at block/hash, publishing the differences as
 * events (when publish is set). Steals nodes and services. */
void cw_state_replace(struct chainwatch *cw, json_t *nodes, json_t *services, uint64_t block,
                      const char *hash, int publish);
/* Publish an event (stolen) on chain.sock and the --stdout mirror; node events only as
 * they change the approved set (an upsert of a pending node is not published, the approval
 * is its upsert, a removal only of a node the feed announced). */
void cw_publish(struct chainwatch *cw, json_t *ev);
/* Write one object as a line to the --stdout fd, if any. */
void cw_write_stdout(struct chainwatch *cw, json_t *obj);
/* Answer subscribers that were waiting for the first state. */
void cw_release_waiting(struct chainwatch *cw);

/* follow.c */
void cw_follow_start(struct chainwatch *cw);

/* main.c: publish rpc.down / rpc.disagree for the endpoints not up, once the first
 * snapshot is out (the first line of --stdout is the snapshot's). */
void cw_endpoints_publish(struct chainwatch *cw);

#endif
