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
#include "rec_fold.h"

#define CW_PAGE 100            /* records per getNodes call, names per serviceStates call */
#define CW_RANGE_MIN 1
#define CW_RANGE_MAX 5000      /* blocks per eth_getLogs */
#define CW_LOGS_TARGET 2000    /* logs per eth_getLogs the range adapts toward */
#define CW_SNAP_RANGE 10000    /* blocks per eth_getLogs of a snapshot's fold, at most */
#define CW_SNAP_RANGE_FIRST 1  /* blocks of a fold's first eth_getLogs: it grows from there */
#define CW_MAX_WAITING 64
#define CW_STATE_LINE_MAX (IPC_MAX_LINE - 4096) /* the "state" answer, bytes */
#define CW_NTOPICS 5           /* the contract's record events chainwatch follows */
#define CW_CONTRACT_VERSION 6  /* the contract interface chainwatch speaks (version()) */
#define CW_CACHE_MAX (256 << 20) /* bytes: the saved state (--state-file) */
#define CW_CACHE_RECORDS 1000000 /* nodes, and services, in a saved state */
#define CW_CACHE_DELAY_MS 1000   /* a change is saved at most this long after it */

/* The desired state as of one block: NODE and SERVICE objects (the chain.sock shapes).
 * nodes holds every registered node; the feed (chain.sock, --stdout) carries only the
 * approved ones ("active"), which fed tracks: anyone may register, only an admin approves. */
struct cw_state {
	int valid;
	int cached;       /* loaded from the saved state, not yet confirmed by the chain */
	uint64_t block;
	char hash[67];
	json_t *nodes;    /* address -> NODE */
	json_t *services; /* name -> SERVICE */
	json_t *svc_meta; /* name -> the fold's check data (rec_fold.h): services are a fold */
	json_t *fed;      /* address -> true: the nodes the feed has announced */
};

/* A snapshot being read at one block hash: pages of getNodes; then the services'
 * logs from deployBlock folded; then the fold checked with serviceCount and pages of
 * serviceStates at that block hash. */
enum cw_snap_phase { CW_SNAP_NODES, CW_SNAP_LOGS, CW_SNAP_COUNT, CW_SNAP_STATES };
struct cw_snap {
	uint64_t block;
	char hash[67];
	enum cw_snap_phase phase;
	uint64_t offset;  /* nodes read, names checked */
	uint64_t page;    /* records per call; 0: CW_PAGE (halved while a call is refused) */
	json_t *nodes;
	uint64_t from;    /* the next block whose logs are folded */
	uint64_t lrange;  /* blocks per eth_getLogs (halved when refused, grows back) */
	uint64_t lto;     /* the range asked for ends here */
	struct rec_fold fold;
	json_t *names;    /* the fold's names, in the order they are checked */
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
	char cache_path[1024];   /* the saved state (--state-file); "" when none */
	int cache_dirty;         /* the state changed since it was saved */
	uint64_t cache_timer;
	uint64_t cache_saved_ms; /* when the state loaded at start was saved (wall clock) */
	int busy;                /* an RPC round is in flight */
	uint64_t timer;
	int rpc_down;            /* the node does not answer */
	int down_published;      /* rpc.down went out: rpc.up follows when it answers */
	uint64_t retry_ms;       /* back-off while the node is unreachable */
	uint64_t range;          /* blocks per eth_getLogs (adaptive) */
	uint64_t target;         /* block this round follows to */
	char target_hash[67];
	uint64_t head_target;
	int has_deploy_block;    /* deployBlock() was read: where a snapshot's fold starts */
	uint64_t deploy_block;    /* head - confirmations, as last seen */
	json_t *pending_logs;    /* read, waiting for the block hashes to be checked again */
	int need_snapshot;       /* a reorg was seen: re-read the state */
	uint64_t reorgs;
	uint64_t events;         /* chain events published */
	uint64_t head;           /* the node's head block, as last read (0: not yet) */
	uint64_t rpc_errors;     /* failed rounds (RPC, transport or malformed answers) */
	struct ipc_conn *waiting[CW_MAX_WAITING]; /* subscribed before the first snapshot */
	size_t nwaiting;
	uint8_t topics[CW_NTOPICS][32]; /* NodeUpserted, NodeRemoved, ServiceUpserted,
	                                 * ServiceScaled, ServiceRemoved */
};

/* record.c: decode contract data into chain.sock objects (NULL + err when malformed). */
int cw_types_init(char *err, size_t errlen);
void cw_types_free(void);
void cw_event_topics(uint8_t topics[CW_NTOPICS][32]);
/* Pages of getNodes are decoded by rec_decode_page (rec.h). */
/* One log (eth_getLogs item) into an event {"type",...} without seq (owned); NULL with
 * err when it is malformed; *skip = 1 (and NULL) when it is none of ours. A NodeUpserted
 * whose record is malformed becomes node.remove, with err set to why. A service event is
 * folded into the state's services (cw_fold_log). */
json_t *cw_decode_log(struct chainwatch *cw, const json_t *log, int *skip, char *err,
                      size_t errlen);
/* Fold one service log into f (rec_fold.h): its chain.sock event (owned: service.upsert,
 * or service.remove for a removal or a record left out); NULL with err when malformed;
 * *skip = 1 (and NULL) when it is no service event. */
json_t *cw_fold_log(const struct chainwatch *cw, struct rec_fold *f, const json_t *log, int *skip,
                    char *err, size_t errlen);

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
/* Replace the state by new nodes (an array) and services (a fold) at block/hash,
 * publishing the differences as events (when publish is set). Steals nodes and the fold's
 * objects. */
void cw_state_replace(struct chainwatch *cw, json_t *nodes, struct rec_fold *services,
                      uint64_t block, const char *hash, int publish);
/* Publish an event (stolen) on chain.sock and the --stdout mirror; node events only as
 * they change the approved set (an upsert of a pending node is not published, the approval
 * is its upsert, a removal only of a node the feed announced). */
void cw_publish(struct chainwatch *cw, json_t *ev);
/* Write one object as a line to the --stdout fd, if any. */
void cw_write_stdout(struct chainwatch *cw, json_t *obj);
/* Answer subscribers that were waiting for the first state. */
void cw_release_waiting(struct chainwatch *cw);

/* The feed announces exactly the approved nodes of the state. */
void cw_state_refeed(struct cw_state *s);

/* cache.c: the state saved on disk (cache_path), so that a chainwatch restarted while the
 * chain is down serves the last state it read instead of nothing. cw_cache_load puts a
 * saved state of this contract and chain into cw->st (cached, a snapshot due) and returns
 * 1, or leaves cw->st alone and returns 0 (none, or unusable: logged). cw_cache_dirty
 * saves the state within CW_CACHE_DELAY_MS; cw_cache_save now (0, or -1 logged). */
int cw_cache_load(struct chainwatch *cw);
void cw_cache_dirty(struct chainwatch *cw);
int cw_cache_save(struct chainwatch *cw);

/* follow.c */
void cw_follow_start(struct chainwatch *cw);

/* main.c: publish rpc.down / rpc.disagree for the endpoints not up, once the first
 * snapshot is out (the first line of --stdout is the snapshot's). */
void cw_endpoints_publish(struct chainwatch *cw);

#endif
