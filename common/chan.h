/* chan.h: the channel between admitted servers: handshake on the chain's swim keys, sealed frames. */
#ifndef CANTEEN_CHAN_H
#define CANTEEN_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "swim_crypto.h"
#include "swim_wire.h"

/*
 * TCP, on the port number of the server's SWIM endpoint. Both ends are admitted members whose
 * X25519 public keys (swim_pubkey) are on chain. The client C dials the server S:
 *
 *   C -> S  hello   "cc" | version 1 | C's address (20) | S's address (20) | e_C (32)
 *   S -> C  reply   e_S (32) | secretstream header S->C (24) | tag_S (16)
 *   C -> S  confirm secretstream header C->S (24) | tag_C (16)
 *
 * e_C and e_S are fresh ephemeral X25519 keys. Both sides compute four Diffie-Hellman
 * results, ee = DH(e_C, e_S), es = DH(e_C, S), se = DH(C, e_S) and ss = DH(C, S), and the
 * transcript hash th = BLAKE2b(hello | e_S); master = BLAKE2b keyed by th over
 * ee|es|se|ss; from it (crypto_kdf, context "cntnchan") the stream keys C->S and S->C and
 * the confirmation keys of S and C. tag_X = BLAKE2b-128 keyed by X's confirmation key over
 * th | X's header. Only the holder of S's secret key can compute es, so tag_S proves S; only
 * the holder of C's can compute se, so tag_C proves C. e_S is fresh for each connection, so a
 * recorded hello and confirm replayed to S fail tag_C, and a recorded reply fails tag_S at a
 * client whose e_C is fresh. The server reads nothing after the hello of an address that is
 * not admitted, and no frame before a valid confirm.
 *
 * Frames, each way: length (u32 big-endian, of what follows) | secretstream ciphertext of
 * type (1) | stream id (u32 big-endian) | payload, the length as additional data.
 * secretstream numbers the frames, so a frame dropped, repeated or reordered fails.
 * The addresses in the hello travel in the clear (they are public on chain); nothing else does.
 */
#define CHAN_VERSION 1
#define CHAN_HELLO_LEN (3 + 2 * SWIM_ADDR_LEN + 32)
#define CHAN_REPLY_LEN (32 + 24 + 16)
#define CHAN_CONFIRM_LEN (24 + 16)
#define CHAN_FRAME_MAX 65536                 /* bytes of a frame's payload at most */
#define CHAN_FRAME_HDR 5                     /* type and stream id */
#define CHAN_SEAL_OVERHEAD 17                /* secretstream's tag and MAC */
#define CHAN_WIRE_MAX (4 + CHAN_SEAL_OVERHEAD + CHAN_FRAME_HDR + CHAN_FRAME_MAX)
#define CHAN_REQ_MAX 4096                    /* bytes of a request (a JSON object) */

/* Frame types. A stream opens with REQ (client to server), carries DATA either way, and
 * closes with END from either side (from the client: cancel), whose payload is a JSON
 * object, {} or {"error":"..."}. PING (stream 0, empty, unanswered) is a heartbeat. */
enum chan_type { CHAN_REQ = 1, CHAN_DATA = 2, CHAN_END = 3, CHAN_PING = 4 };

struct chan_sess; /* sodium_malloc'd: keys and stream states */

/* A new session for one connection; NULL when out of memory. Freed (wiped) by chan_free. */
struct chan_sess *chan_new(void);
void chan_free(struct chan_sess *s);

/* Client, first: the hello for server peer (a fresh ephemeral key is made). */
void chan_hello(struct chan_sess *s, const uint8_t self[SWIM_ADDR_LEN],
                const uint8_t peer[SWIM_ADDR_LEN], uint8_t out[CHAN_HELLO_LEN]);
/* Server, first: check a hello's magic and version and name its addresses. 0, or -1. */
int chan_hello_parse(const uint8_t in[CHAN_HELLO_LEN], uint8_t client[SWIM_ADDR_LEN],
                     uint8_t server[SWIM_ADDR_LEN], char *err, size_t errlen);
/* Server, for an admitted client whose public key is client_pk: the keys and the reply. */
int chan_accept(struct chan_sess *s, const struct swim_keys *self,
                const uint8_t client_pk[SWIM_KEY_LEN], const uint8_t hello[CHAN_HELLO_LEN],
                uint8_t reply[CHAN_REPLY_LEN], char *err, size_t errlen);
/* Client: check the reply against the server's public key; the confirm out. 0, or -1. */
int chan_finish(struct chan_sess *s, const struct swim_keys *self,
                const uint8_t server_pk[SWIM_KEY_LEN], const uint8_t reply[CHAN_REPLY_LEN],
                uint8_t confirm[CHAN_CONFIRM_LEN], char *err, size_t errlen);
/* Server: check the client's confirm. 0 (the channel is open), or -1. */
int chan_confirm(struct chan_sess *s, const uint8_t confirm[CHAN_CONFIRM_LEN], char *err,
                 size_t errlen);

/* Seal one frame into out (CHAN_WIRE_MAX bytes); its length, or 0 when len is over
 * CHAN_FRAME_MAX or the channel is not open. */
size_t chan_seal(struct chan_sess *s, uint8_t type, uint32_t stream, const uint8_t *payload,
                 size_t len, uint8_t *out);
/* The length of the frame that starts with hdr (4 bytes), all of it counted; 0 when the
 * announced length is too short or over the limit (the peer is then dropped). */
size_t chan_frame_len(const uint8_t hdr[4]);
/* Open a whole frame (chan_frame_len bytes): type, stream and payload out (payload needs
 * CHAN_FRAME_MAX bytes). 0, or -1 when it fails authentication or is malformed. */
int chan_open(struct chan_sess *s, const uint8_t *wire, size_t len, uint8_t *type,
              uint32_t *stream, uint8_t *payload, size_t *plen, char *err, size_t errlen);

#endif
