/* reconcile.h: the reconcile pass, which any module may ask for. */
#ifndef CANTEEN_DOCKERD_RECONCILE_H
#define CANTEEN_DOCKERD_RECONCILE_H

#include "dockerd.h"

/* Run a reconcile pass in delay_ms at the latest (an earlier request wins). */
void reconcile_soon(struct dd *dd, uint64_t delay_ms);

#endif
