/* dockerd.h: canteen-dockerd's context and records: desired set, Docker's containers, slots, images. */
#ifndef CANTEEN_DOCKERD_H
#define CANTEEN_DOCKERD_H

#include <stdint.h>
#include <jansson.h>

#include "chan.h"
#include "conf.h"
#include "docker_api.h"
#include "docker_json.h"
#include "docker_policy.h"
#include "docker_spec.h"
#include "ipc.h"
#include "loop.h"
#include "replstate.h"

#define DD_CTRS_MAX 16384               /* containers with our node label we keep track of */
#define DD_BACKOFF_MIN_MS 1000          /* first restart of a dead container */
#define DD_BACKOFF_MAX_MS 60000
#define DD_HEALTHY_MS 60000             /* running this long resets the back-off */
#define DD_CRASHLOOP_FAILS 2            /* consecutive quick deaths that make a crash loop */
#define DD_RESYNC_MS 30000              /* full re-list, in case an event was lost */
#define DD_RESYNC_SOON_MS 1000          /* a re-list after a start: its health (image HEALTHCHECK) */

/* A container with our node label, as Docker last told us. */
struct ctr {
	char id[DOCKER_ID_LEN + 1];
	char name[DOCKER_NAME_MAX];
	struct docker_labels lab;
	enum docker_state state;
	int busy;                 /* an operation on it is in flight */
	int removing;             /* we stop and remove it: its death is no crash */
	int seen;                 /* found by the last listing (resync) */
	uint64_t started_mono;    /* loop time we saw it start; 0 when unknown */
	int64_t since;            /* unix seconds of the last state change */
	int oom;                  /* Docker said it ran out of memory (before its death) */
	enum docker_health health; /* State.Health.Status while running (NONE: no check) */
	struct ctr *next;
};

/* Per (service, replica): what survives the container itself. */
struct slot {
	char service[DOCKER_SERVICE_MAX];
	unsigned replica;
	int busy;                 /* create/start/rename/remove in flight for this slot */
	int replacing;            /* a rolling replacement is under way */
	int alt_name;             /* canteen.<s>.<r> is held by another node: add our suffix */
	unsigned restarts;        /* restarts we made */
	unsigned fails;           /* consecutive deaths within DD_HEALTHY_MS of a start */
	uint64_t restart_at;      /* loop time before which we do not (re)start it */
	uint64_t gate_gen;        /* the generation gate_at was set for (rollout.c) */
	uint64_t gate_at;         /* loop time its batch's gate was first seen open; 0: closed */
	int exit_code;            /* of its last death (-1: none or unknown) */
	int oom;                  /* its last death followed Docker's "oom" */
	int unhealthy;            /* we stopped it for being unhealthy (until healthy again) */
	uint64_t delay_ms;        /* the back-off set at its last death or failure */
	char why[160];            /* its last failed create/start ("" none): a pending reason */
	struct slot *next;
};

enum image_state { IMG_PULLING, IMG_FAILED };

/* An image Docker did not have, being pulled or waiting to be pulled again. */
struct image {
	char ref[DOCKER_IMAGE_MAX];
	enum image_state state;
	unsigned fails;
	uint64_t retry_at;
	char last_status[128];
	uint64_t last_emit;
	char why[256];                   /* Docker's word on the last failed pull ("" none yet) */
	uint64_t pull_start;      /* loop time the pull in flight began; 0 when none */
	int turn;                        /* imgx.c: 0 the first source of image_source, 1 the second */
	int fetching;                    /* imgx.c: a fetch from peers is under way */
	uint64_t busy_since;             /* imgx.c: loop time a holder first said it was busy; 0 */
	struct image *next;
};

struct op;
struct link;
struct logjob;
struct serve;
struct fetch;
struct census;
struct canswer;
struct iserve;
struct volq;
struct rollout;

/* An admitted server as chain.sock says: the channel's peers. */
struct dd_peer {
	uint8_t addr[SWIM_ADDR_LEN];
	uint8_t pk[SWIM_KEY_LEN];
	char endpoint[REC_MAX_ENDPOINT + 1];
};
#define DD_PEERS_MAX 4096                 /* admitted servers kept; as canteen-swim */

enum dk_state { DK_DOWN, DK_CONNECTING, DK_READY };

/* Counters since start, answered by the "stats" op (server.c). */
struct dd_stats {
	uint64_t creates, starts, restarts;  /* our successful creates and starts; restarts: a start
	                                      * of a container that ran before */
	uint64_t deaths;                     /* containers of ours that died on their own */
	uint64_t op_failures;                /* create/start/stop/remove/rename refused by Docker */
	uint64_t pulls, pull_failures;       /* pulls that ended well, or not */
	uint64_t pull_ms;                    /* time spent in both, ms */
};

struct dd {
	struct loop *loop;
	struct conf conf;
	char node[DOCKER_NODE_LEN + 1];
	char cluster[DOCKER_CLUSTER_MAX];  /* docker_cluster_id: only its containers are ours */
	struct docker_policy policy;       /* canteen.conf's policy_* keys */
	char sock_path[CONF_STR_MAX + 32];
	unsigned parallel;               /* Docker operations in flight at most */
	struct ipc_server *srv;

	struct docker *dk;
	enum dk_state dk_state;
	uint64_t epoch;                  /* bumped when Docker is lost: stale answers are dropped */
	unsigned dk_fails;               /* reconnects since Docker was last ready */
	uint64_t dk_timer, resync_timer;
	struct docker_req *events_req, *ctl_req; /* the stream; /version or the listing */
	unsigned api_major, api_minor;

	struct docker_desired desired;
	int have_desired;
	unsigned sched_conns;            /* connections that sent a desired set, still open */
	uint64_t reconcile_timer, reconcile_at;
	unsigned ops;                    /* Docker operations in flight */
	struct op *oplist;

	struct ctr *ctrs;
	size_t nctrs;
	size_t unlabeled;                /* containers of our node without a cluster label */
	struct slot *slots;
	struct image *images;

	/* The channel (peers.c, link.c, logs.c): off when the swim key or the address is missing. */
	char chain_sock[CONF_STR_MAX + 32];
	struct ipc_client *chain;
	struct dd_peer *peers, *snap;      /* the admitted set; a chain.sock snapshot being read */
	size_t npeers, snap_n, snap_cap, snap_lines;
	int snap_open, have_peers;
	struct swim_keys keys;
	int chan_on;                       /* key loaded and listening */
	uint8_t self[SWIM_ADDR_LEN];
	int chan_fd;
	struct link *links;
	unsigned nlinks_in;                /* accepted links, open or in their handshake */
	struct logjob *jobs;               /* dockerd.sock logs requests, per replica */
	struct serve *serves;              /* log streams served to peers */
	unsigned nserves;
	unsigned logs_njobs, logs_group;   /* jobs in dd->jobs; the last request's number */
	uint64_t logs_timer;               /* logs.c: sources wait for their clients */
	uint64_t reap_timer;
	uint8_t *plain;                    /* CHAN_FRAME_MAX: a frame's payload */
	uint8_t *wire;                     /* CHAN_WIRE_MAX: a frame being sealed */
	struct dd_stats st;
	/* rstate.c: our replicas' summary, published as swim.sock's member metadata */
	struct ipc_client *swim;
	char meta_sent[REPLSTATE_MAX + 1]; /* what canteen-swim has ("" not yet) */
	int meta_ok;                     /* canteen-swim accepted meta_sent */
	uint64_t meta_at, meta_timer;    /* loop time of the last set_meta; the pending one */
	uint64_t meta_sends;             /* set_meta requests sent */
	int meta_warned;                 /* a refusal was logged (until one is accepted) */
	struct rollout *ro;              /* rollout.c: update policies, the members' summaries */

	/* Images from peers (imgx.c). */
	int image_source;                  /* enum img_source, from canteen.conf's image_source */
	struct fetch *fetches;             /* images being fetched from peers */
	struct iserve *iserves;            /* image exports served to peers */
	unsigned niserves;
	int64_t upload_tokens;             /* image_upload_kib_s's bucket, in bytes (may owe) */
	uint64_t upload_refilled;          /* loop time of its last refill */
	uint64_t upload_timer;             /* held exports resume when it fires; 0: none */
	struct census *censuses;           /* census.c: dockerd.sock "images" requests */
	struct volq *volqs;                /* volumes.c: dockerd.sock volume requests */
	/* peerfile.c: rundir/peers/SERVICE/peers from canteen-sched's placement */
	char peers_dir[CONF_STR_MAX + 16]; /* "" when off */
	struct ipc_client *sched;
	json_t *assignments;               /* the last placement's, checked */
	struct canswer *canswers;          /* census.c: peers' "images?" being answered */
	uint8_t avoid[64][SWIM_ADDR_LEN];  /* peers that served a wrong image (IMGX_AVOID_MAX) */
	uint64_t avoid_until[64];
};

/*
 * Each module has its own header (engine.h, emit.h, slots.h, pull.h, ops.h, reconcile.h); a file
 * includes the ones it uses. Calls go down (server, engine -> reconcile -> ops -> pull, slots ->
 * emit) but for two notices any module may give: reconcile_soon and engine_lost.
 * Below are only the shared back-off and what main.c calls.
 */

/* The n-th delay (n = *fails, which is then counted up): min_ms doubled n times, at most max_ms. */
static inline uint64_t backoff_next(unsigned *fails, uint64_t min_ms, uint64_t max_ms)
{
	uint64_t delay = min_ms;
	for (unsigned i = 0; i < *fails && delay < max_ms; i++)
		delay *= 2;
	(*fails)++;
	return delay < max_ms ? delay : max_ms;
}

void engine_start(struct dd *dd);                          /* engine.c */
int chan_start(struct dd *dd, char *err, size_t errlen);    /* link.c: listen, chain.sock */
void chan_stop(struct dd *dd);
int server_start(struct dd *dd, char *err, size_t errlen); /* server.c: dockerd.sock */
void reconcile_free(struct dd *dd);  /* ops.c: operations still in flight, at exit */

#endif
