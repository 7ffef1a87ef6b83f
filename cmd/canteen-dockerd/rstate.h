/* rstate.h: our replicas' states and reasons, and their summary published through swim.sock. */
#ifndef CANTEEN_DOCKERD_RSTATE_H
#define CANTEEN_DOCKERD_RSTATE_H

#include "dockerd.h"

#define RSTATE_MIN_GAP_MS 500    /* at most one set_meta per this many ms (changes coalesce) */
#define RSTATE_RETRY_MS 2000     /* after canteen-swim refused one (not a member yet) */

/* Why container c of ours is in its state (crash loop, exit code, failed start), or NULL;
 * written into buf. */
const char *rstate_reason(struct dd *dd, const struct ctr *c, char *buf, size_t len);
/* Why desired replica s has no container yet (a pull, a failed create), or NULL. */
const char *rstate_pending_reason(struct dd *dd, const struct docker_spec *s, char *buf,
                                  size_t len);
/* A refused spec (node policy, invalid): "rejected: <why>", as canteen-sched says it. */
const char *rstate_reject_reason(const struct docker_reject *r, char *buf, size_t len);

/* Connect to canteen-swim (rundir/swim.sock) and keep our summary there. */
void rstate_start(struct dd *dd);
/* Something may have changed: publish within RSTATE_MIN_GAP_MS if the summary differs. */
void rstate_touch(struct dd *dd);
void rstate_stop(struct dd *dd);

#endif
