/* link.h: canteen-dockerd's channel links to and from admitted servers, and the admitted set. */
#ifndef CANTEEN_DOCKERD_LINK_H
#define CANTEEN_DOCKERD_LINK_H

#include "dockerd.h"

#define LINK_IN_MAX 64              /* accepted links at once, all peers together */
#define LINK_IN_PER_PEER 4          /* accepted links at once from one peer */
#define LINK_STREAMS_MAX 8          /* streams open at once on one link */
#define LINK_HANDSHAKE_MS 5000      /* connect and handshake, at most */
#define LINK_IDLE_MS 60000          /* a link without streams this long is closed */
#define LINK_PING_MS 5000           /* a heartbeat after this long without sending */
#define LINK_DEAD_MS 15000          /* a link with streams whose peer is silent this long is closed */
#define LINK_OUTQ_MAX (8 * 1024 * 1024)  /* queued bytes before a link is dropped */
#define LINK_OUTQ_HIGH (1024 * 1024)     /* streams feeding a link pause above this */
#define LINK_READ_BURST (256 * 1024)     /* bytes read from one link per wake-up */

/* peers.c: the admitted set from chain.sock. */
void peers_start(struct dd *dd);
void peers_stop(struct dd *dd);
const struct dd_peer *peer_find(const struct dd *dd, const uint8_t addr[SWIM_ADDR_LEN]);

/* link.c */
struct link;
/* The open (or opening) client link to peer, made if there is none; NULL on failure with err. */
struct link *link_to(struct dd *dd, const struct dd_peer *peer, char *err, size_t errlen);
int link_is_open(const struct link *k);
int link_is_server(const struct link *k);
const uint8_t *link_peer(const struct link *k);
/* A new stream id on a client link. */
uint32_t link_stream_new(struct link *k);
/* Queue one frame. 0, or -1 when the link is closing or its queue would pass LINK_OUTQ_MAX
 * (the link is then closed). */
int link_send(struct link *k, uint8_t type, uint32_t stream, const void *payload, size_t len);
/* End a stream: CHAN_END with {"error":error}, or {} when error is NULL, if k is open. */
void link_end(struct link *k, uint32_t stream, const char *error);
size_t link_queued(const struct link *k);
/* Stop (on) or resume reading k: its frames wait in the kernel and the peer is slowed. */
void link_read_pause(struct link *k, int on);
int link_read_paused(const struct link *k);
/* Count streams open on k (idle time-out and LINK_STREAMS_MAX). */
void link_streams(struct link *k, int delta);
unsigned link_nstreams(const struct link *k);
void link_close(struct link *k, const char *why);
/* Close every link whose peer is no longer admitted. */
void links_revoked(struct dd *dd);
/* Free what was closed, soon (outside every callback). */
void dd_reap_soon(struct dd *dd);

/* logs.c: what the links deliver. */
void logs_on_frame(struct dd *dd, struct link *k, uint8_t type, uint32_t stream,
                   const uint8_t *payload, size_t len);
void logs_on_open(struct dd *dd, struct link *k);             /* client link ready */
void logs_on_drain(struct dd *dd, struct link *k);            /* queue below LINK_OUTQ_HIGH */
void logs_on_close(struct dd *dd, struct link *k, const char *why);
void logs_reap(struct dd *dd);
void logs_free(struct dd *dd);
/* server.c hands the dockerd.sock op over. */
void logs_op(struct dd *dd, struct ipc_conn *c, json_t *msg);
void logs_conn_closed(struct dd *dd, struct ipc_conn *c);

#endif
