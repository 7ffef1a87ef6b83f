/* peerfile.h: the peers file of each service with a replica here, mounted read-only into its containers. */
#ifndef CANTEEN_DOCKERD_PEERFILE_H
#define CANTEEN_DOCKERD_PEERFILE_H

#include "dockerd.h"

#define PEERFILE_MAX 65536             /* bytes of one peers file at most (whole lines) */
#define PEERFILE_ASSIGN_MAX 16777216   /* assignments of a placement accepted (PLACE_MAX_SLOTS) */
#define PEERFILE_TARGET "/run/canteen" /* where the directory is mounted in a container */

/* Make rundir/peers and follow canteen-sched's placement (rundir/sched.sock). */
void peerfile_start(struct dd *dd);
void peerfile_stop(struct dd *dd);
/* Write the file of every service of the desired set whose content changed. */
void peerfile_update(struct dd *dd);

#endif
