/* imgx.h: images from peers: serving Docker's image export over the channel, fetching it into Docker's load. */
#ifndef CANTEEN_DOCKERD_IMGX_H
#define CANTEEN_DOCKERD_IMGX_H

#include "dockerd.h"

#define IMGX_AVOID_MS (10 * 60 * 1000) /* a peer that served a wrong image is not asked for this long */
#define IMGX_AVOID_MAX 64              /* peers remembered as avoided */
#define IMGX_SHARE_MAX 8               /* peers one export streams to at once */
/* A peer whose upload slots are all taken answers this (the text is the protocol: older
 * servers send it too). A fetch that found only busy holders asks the peers again after
 * IMGX_BUSY_RETRY_MS rather than turning to the registry and its back-off, for at most
 * IMGX_BUSY_WAIT_MS from the first busy answer. */
#define IMGX_BUSY "too many image uploads at once: try again later"
#define IMGX_BUSY_RETRY_MS 250
#define IMGX_BUSY_WAIT_MS (60 * 1000)

struct link;

/* image_source: the order of the sources an image is got from. */
enum img_source { SRC_PEERS_FIRST, SRC_REGISTRY_FIRST, SRC_PEERS_ONLY, SRC_REGISTRY_ONLY };
int imgx_source_parse(const char *s, enum img_source *out);

/* Get img (missing or due for a retry) from the source its turn names: peers or the registry. */
void image_get(struct dd *dd, struct image *img);

/* What the links deliver; each returns 1 when the frame (or link) was one of ours. */
int imgx_on_frame(struct dd *dd, struct link *k, uint8_t type, uint32_t stream,
                  const uint8_t *payload, size_t len);
void imgx_on_open(struct dd *dd, struct link *k);
void imgx_on_drain(struct dd *dd, struct link *k);
void imgx_on_close(struct dd *dd, struct link *k, const char *why);
void imgx_reap(struct dd *dd);
void imgx_free(struct dd *dd);

#endif
