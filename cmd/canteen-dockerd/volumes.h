/* volumes.h: dockerd.sock's "volumes" and "volume.prune" (canteen volume ls / prune). */
#ifndef CANTEEN_DOCKERD_VOLUMES_H
#define CANTEEN_DOCKERD_VOLUMES_H

#include "dockerd.h"

#define VOL_PRUNE_MAX 1000   /* names in one volume.prune */
#define VOL_QUERIES_MAX 8    /* volume requests waiting for Docker at once */

/* Answer msg on c: the volumes (prune_op 0), or remove the ones named (prune_op 1) that are
 * this cluster's on this server and unused. The answer comes when Docker has answered. */
void volumes_op(struct dd *dd, struct ipc_conn *c, json_t *msg, int prune_op);
/* c went away: its answers are dropped. */
void volumes_conn_closed(struct dd *dd, struct ipc_conn *c);
/* At exit: forget every request (docker_free then cancels them). */
void volumes_free(struct dd *dd);

#endif
