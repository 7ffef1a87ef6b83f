/* pull.h: the images Docker lacks, being pulled or waiting to be pulled again. */
#ifndef CANTEEN_DOCKERD_PULL_H
#define CANTEEN_DOCKERD_PULL_H

#include "dockerd.h"

/* The record of image ref, or NULL. Owned by dd. */
struct image *image_find(struct dd *dd, const char *ref);
/* A new record for an image a create did not find. Owned by dd. */
struct image *image_missing(struct dd *dd, const char *ref);
/* A line of pull progress: an event per change of status, one a second while bytes flow. */
void image_progress(struct dd *dd, struct image *img, const struct docker_progress *p);
/* The pull is over: the record is freed. */
void image_pulled(struct dd *dd, struct image *img);
/* The pull failed: retry after a back-off; every desired spec using it gets an error event. */
void image_failed(struct dd *dd, struct image *img, const char *why);

#endif
