/* sched.h: canteen-sched's context, shared by its main and its scheduling loop. */
#ifndef CANTEEN_SCHED_H
#define CANTEEN_SCHED_H

#include <jansson.h>

#include "conf.h"
#include "ipc.h"
#include "loop.h"
#include "place.h"
#include "place_dead.h"
#include "place_state.h"
#include "rec.h"

#define SCHED_PATH_MAX 108
#define SCHED_LIST_MAX 20000 /* assignments listed in a placement message at most */
#define SCHED_SUMMARY_PAGE 1000 /* services in one page of the summary at most ("limit") */

/* One service's line of the summary, kept as numbers: at 10,000 services the summary as
 * JSON objects took 12 MiB, twice over while the next one was built (bench/scale-chain). */
struct sched_row {
	char name[REC_MAX_NAME + 1];
	char strategy[16];
	size_t placed, pending;
	json_t *reasons;                  /* reason -> replicas pending for it; NULL: none */
	json_int_t priority, generation;
};

struct sched {
	struct loop *loop;
	struct conf conf;
	char node[43];                    /* this node's address */
	char chain_path[SCHED_PATH_MAX], swim_path[SCHED_PATH_MAX];
	char dockerd_path[SCHED_PATH_MAX], sched_path[SCHED_PATH_MAX];
	struct ipc_client *chain, *swim, *dockerd;
	struct ipc_server *srv;
	struct place_state *st;
	struct place_cache *cache;        /* reference placement and ring across recomputes */
	uint64_t timer;                   /* pending recompute, 0 if none */
	uint64_t settle_timer;            /* held members are forgotten when it fires, 0 if none */
	uint64_t startup_timer;           /* end of the start-up settle time, 0 once over */
	int settled;                      /* start-up: everyone heard from, or settle time over */
	json_t *placement;                /* PLACEMENT of the last computation */
	struct sched_row *rows;           /* per-service counts of the last computation */
	size_t nrows;
	json_t *desired;                  /* last desired set for this node */
	int desired_sent;                 /* desired was sent on the current dockerd connection */
	int desired_acked;                /* and answered ok */
	json_t *refused;                  /* "service/replica" -> dockerd's reason, last answer */
	struct place_dead *dead;          /* since when each dead server is dead (stateful holds) */
	char dead_path[CONF_STR_MAX + 32]; /* where that table is kept: rundir/sched.dead */
	uint64_t hold_timer;              /* recompute when the next stateful hold ends, 0 if none */
	size_t waiting;                   /* replicas of ours waiting for another server to stop them */
	uint64_t computations;            /* placements computed */
	uint64_t compute_us;              /* time spent computing them (and failed ones), microseconds */
	uint64_t failures;                /* placements that failed */
};

/* sched.c */
int sched_start(struct sched *s, char *err, size_t errlen);
void sched_stop(struct sched *s);

#endif
