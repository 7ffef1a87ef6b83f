/* slots.h: the tables of Docker's containers of ours and of per-replica slots. */
#ifndef CANTEEN_DOCKERD_SLOTS_H
#define CANTEEN_DOCKERD_SLOTS_H

#include "dockerd.h"

/* The slot of (service, replica): NULL if none (find), made if none (get). Owned by dd. */
struct slot *slot_find(struct dd *dd, const char *service, unsigned replica);
struct slot *slot_get(struct dd *dd, const char *service, unsigned replica);
/* Forget slots nobody wants and no container uses. */
void slots_prune(struct dd *dd);
/* The slot failed: no (re)start before its back-off is over, then a reconcile pass. */
uint64_t slot_backoff(struct dd *dd, struct slot *s);
/* The name a new container of the slot gets: canteen.<s>.<r>[.<node prefix>]. */
void slot_name(struct dd *dd, const char *service, unsigned replica, char *name, size_t namelen);

/* The container with this id, or NULL. Owned by dd. */
struct ctr *ctr_find(struct dd *dd, const char *id);
/* Track a new container; NULL when DD_CTRS_MAX are tracked already. Owned by dd. */
struct ctr *ctr_add(struct dd *dd, const char *id, const char *name,
                    const struct docker_labels *lab, enum docker_state st);
/* Its service, replica, generation, id and name, for an event (the caller owns it). */
json_t *ctr_fields(const struct ctr *c);
/* It runs: note when and say so (once). */
void ctr_started(struct dd *dd, struct ctr *c);
/* It is gone from Docker: drop and free it, and say so. */
void ctr_gone(struct dd *dd, struct ctr *c);
/* Its state for ps: Docker's, or removing, restarting, crashloop. */
const char *ctr_state_name(struct dd *dd, const struct ctr *c);

/* Docker's word: an event of one of ours, or a full listing of them. */
void ctrs_on_event(struct dd *dd, const struct docker_event *ev);
void ctrs_on_listing(struct dd *dd, struct docker_ctr *v, size_t n);
/* Docker was lost: nothing is in flight any more; the listing after the reconnect decides. */
void ctrs_forget_busy(struct dd *dd);

#endif
