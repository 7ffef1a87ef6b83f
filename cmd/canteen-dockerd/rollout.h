/* rollout.h: health-gated rolling updates, decided by every server from the same shared facts. */
#ifndef CANTEEN_DOCKERD_ROLLOUT_H
#define CANTEEN_DOCKERD_ROLLOUT_H

#include "dockerd.h"

#define RO_POLICIES_MAX 16384   /* services whose update policy is kept (REC_SNAP_MAX_RECORDS) */
#define RO_MEMBERS_MAX 4096     /* members whose summaries are kept (DD_PEERS_MAX) */
#define RO_RECHECK_MS 100       /* a member's news -> a reconcile pass, coalesced this long */
#define RO_RECHECK_WINDOW_MS 60000 /* ... while a gate held a replica back this recently */

/* A service's update policy as chain.sock says (the contract's defaults when it says nothing). */
struct ro_policy {
	unsigned parallelism;       /* replicas per batch; 0: the default, 1 */
	uint64_t delay_ms;          /* after a batch is ready, before the next starts */
	int rollback;               /* failure action: 1 rollback, 0 pause */
	unsigned max_failure_permille;
};

/* What the gate of one replica's batch says now. */
enum ro_gate { RO_OPEN, RO_WAIT, RO_PAUSED };

void rollout_init(struct dd *dd);
void rollout_free(struct dd *dd);
/* Without the channel (peers.c's chain.sock client), subscribe to rundir/chain.sock ourselves. */
void rollout_start(struct dd *dd);

/* A chain.sock message (snapshot lines, service.upsert, service.remove): keep the policies. */
void rollout_on_chain(struct dd *dd, const char *type, json_t *msg);
/* A swim.sock message: 1 if it was the membership (snapshot, member.*) and was taken, else 0. */
int rollout_on_swim(struct dd *dd, const char *type, json_t *msg);
/* swim.sock (re)connected: ask for the membership and its changes. */
void rollout_subscribe(struct dd *dd);

/* The policy of a service: from chain.sock, or parallelism 1, no delay, pause, 0 when unknown. */
struct ro_policy rollout_policy(struct dd *dd, const char *service);

/* A reconcile pass begins: what the gates learnt in the last one is old. */
void rollout_pass(struct dd *dd);

/*
 * May desired replica s (of this server), whose container runs an older generation, be
 * replaced now? RO_OPEN: yes; RO_WAIT: not yet (a reconcile is scheduled when only a delay is
 * left; a change of state schedules one too); RO_PAUSED: the failure ratio is exceeded.
 */
enum ro_gate rollout_gate(struct dd *dd, const struct docker_spec *s, struct slot *sl);

/*
 * The spec desired replica s is to run now: s, or, when its service's failure action is
 * rollback, it has a previous spec and the rollout of s's generation failed (the ratio, with
 * rolled-back replicas counting as failed), the previous spec as replica s->replica of
 * s->generation with rollback_of set to s's hash, built in *tmp (not to be freed; valid
 * until the next chain.sock message). The first time for a generation it logs and emits
 * rollout.rollback.
 */
const struct docker_spec *rollout_spec(struct dd *dd, const struct docker_spec *s,
                                       struct docker_spec *tmp);

/*
 * May old, a container of desired replica want that runs the failed generation's spec, be
 * replaced by back (rollout_spec's rollback) now? At once when old is not ready; otherwise
 * when every replica outside want's batch is running and ready, and every one of a lower
 * batch runs the previous spec: a rollback takes down no more replicas at once than an update.
 */
enum ro_gate rollout_rollback_gate(struct dd *dd, const struct docker_spec *want,
                                   const struct docker_spec *back, const struct ctr *old);

#endif
