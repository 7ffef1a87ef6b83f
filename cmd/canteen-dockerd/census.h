/* census.h: which server holds which images: "images" on dockerd.sock, "images?" over the channel. */
#ifndef CANTEEN_DOCKERD_CENSUS_H
#define CANTEEN_DOCKERD_CENSUS_H

#include "dockerd.h"

struct link;

void census_op(struct dd *dd, struct ipc_conn *c, json_t *msg);
void census_conn_closed(struct dd *dd, struct ipc_conn *c);
/* 1 when the frame was one of ours. */
int census_on_frame(struct dd *dd, struct link *k, uint8_t type, uint32_t stream,
                    const uint8_t *payload, size_t len);
void census_on_open(struct dd *dd, struct link *k);
void census_on_close(struct dd *dd, struct link *k, const char *why);
void census_reap(struct dd *dd);
void census_free(struct dd *dd);

#endif
