/* ops.h: the Docker operations canteen-dockerd starts: create, start, stop, remove, rename, pull. */
#ifndef CANTEEN_DOCKERD_OPS_H
#define CANTEEN_DOCKERD_OPS_H

#include "dockerd.h"

/*
 * Each starts one request (counted in dd->ops) and marks the container and slot busy until the
 * answer; the answer updates the tables, and a failure backs the slot off.
 */
void ops_create(struct dd *dd, const struct docker_spec *s, struct slot *sl);
void ops_start(struct dd *dd, struct ctr *c);
void ops_remove(struct dd *dd, struct ctr *c);   /* stopped first if it runs */
void ops_rename(struct dd *dd, struct ctr *c);
/* Stop it to restart it (an unhealthy container): its death is handled as a crash. */
void ops_halt(struct dd *dd, struct ctr *c);   /* to <name>.g<generation>, freeing its name */
void ops_pull(struct dd *dd, struct image *img);

#endif
