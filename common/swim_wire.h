/* swim_wire.h: the SWIM message codec: strict, bounded encoding and decoding of packet bodies. */
#ifndef CANTEEN_SWIM_WIRE_H
#define CANTEEN_SWIM_WIRE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A packet body (the plaintext inside the sealed box, after the sequence number) is a
 * sequence of messages, each a type byte followed by fixed-layout big-endian fields:
 *
 *   PING      1  probe u32
 *   PING_REQ  2  probe u32, target addr[20], timeout_ms u16, flags u8 (bit 0: nack wanted)
 *   ACK       3  probe u32
 *   NACK      4  probe u32
 *   ALIVE     5  subject addr[20], incarnation u64, meta
 *   SUSPECT   6  subject addr[20], incarnation u64, from addr[20]
 *   DEAD      7  subject addr[20], incarnation u64, from addr[20]
 *   LEFT      8  subject addr[20], incarnation u64
 *   PUSHPULL  9  flags u8 (bit 0: reply wanted), count u8, count entries of:
 *                subject addr[20], state u8 (1 alive .. 4 left), incarnation u64, meta
 *   meta = present u8 (0 or 1), length u16 (<= 512, 0 when absent), bytes.
 *
 * Incarnations are 64 bits and never above SWIM_INC_MAX, so they cannot wrap (a refutation
 * is at most one above an accusation, and an accusation is believed only within
 * SWIM_INC_JUMP_MAX of what is known, see swim_core.h).
 *
 * Decoding rejects the whole body on any unknown type, bad flag bit, out-of-range value,
 * length running past the end, or trailing byte; nothing is partially accepted.
 */

#define SWIM_ADDR_LEN 20
#define SWIM_META_MAX 512
#define SWIM_MAX_MSGS 64     /* messages in one body */
#define SWIM_MAX_ENTRIES 64  /* push-pull entries in one body */
#define SWIM_INC_MAX 0x7fffffffffffffffULL /* highest incarnation; fits a JSON integer */
#define SWIM_BODY_MAX 1329   /* 1400 on the wire minus sealing overhead (swim_crypto.h) */

enum swim_msg_type {
	SWIM_MSG_PING = 1,
	SWIM_MSG_PING_REQ = 2,
	SWIM_MSG_ACK = 3,
	SWIM_MSG_NACK = 4,
	SWIM_MSG_ALIVE = 5,
	SWIM_MSG_SUSPECT = 6,
	SWIM_MSG_DEAD = 7,
	SWIM_MSG_LEFT = 8,
	SWIM_MSG_PUSHPULL = 9,
};

/* Member states, as gossiped. SWIM_UNKNOWN is local only (admitted, never heard of). */
enum swim_state { SWIM_UNKNOWN = 0, SWIM_ALIVE = 1, SWIM_SUSPECT = 2, SWIM_DEAD = 3, SWIM_LEFT = 4 };

#define SWIM_PP_REPLY 0x01
#define SWIM_PR_NACK 0x01

/* meta points into the decoded buffer (borrowed). */
struct swim_entry {
	uint8_t addr[SWIM_ADDR_LEN];
	uint8_t state;
	uint64_t incarnation;
	int has_meta;
	uint16_t meta_len;
	const uint8_t *meta;
};

struct swim_msg {
	uint8_t type;
	uint32_t probe;                  /* PING, PING_REQ, ACK, NACK */
	uint16_t timeout_ms;             /* PING_REQ */
	uint8_t flags;                   /* PING_REQ, PUSHPULL */
	uint8_t target[SWIM_ADDR_LEN];   /* PING_REQ */
	uint8_t from[SWIM_ADDR_LEN];     /* SUSPECT, DEAD */
	struct swim_entry e;             /* ALIVE, SUSPECT, DEAD, LEFT: subject and incarnation */
	size_t first, count;             /* PUSHPULL: its entries in swim_body.entries */
};

struct swim_body {
	size_t nmsg, nentry;
	struct swim_msg msg[SWIM_MAX_MSGS];
	struct swim_entry entries[SWIM_MAX_ENTRIES];
};

/* Decode buf into out (meta pointers borrow buf). 0, or -1 with a reason in err. */
int swim_wire_decode(const uint8_t *buf, size_t len, struct swim_body *out, char *err,
                     size_t errlen);

/* Encoders append one message at buf[*off]; -1 (nothing written) if it would pass cap. */
int swim_wire_probe(uint8_t *buf, size_t cap, size_t *off, uint8_t type, uint32_t probe);
int swim_wire_ping_req(uint8_t *buf, size_t cap, size_t *off, uint32_t probe,
                       const uint8_t target[SWIM_ADDR_LEN], uint16_t timeout_ms, int nack);
int swim_wire_alive(uint8_t *buf, size_t cap, size_t *off, const uint8_t addr[SWIM_ADDR_LEN],
                    uint64_t inc, const uint8_t *meta, size_t meta_len, int has_meta);
int swim_wire_suspect_dead(uint8_t *buf, size_t cap, size_t *off, uint8_t type,
                           const uint8_t addr[SWIM_ADDR_LEN], uint64_t inc,
                           const uint8_t from[SWIM_ADDR_LEN]);
int swim_wire_left(uint8_t *buf, size_t cap, size_t *off, const uint8_t addr[SWIM_ADDR_LEN],
                   uint64_t inc);
/* Push-pull: begin writes the header with count 0; each entry bumps the count at hdr. */
int swim_wire_pp_begin(uint8_t *buf, size_t cap, size_t *off, int reply, size_t *hdr);
int swim_wire_pp_entry(uint8_t *buf, size_t cap, size_t *off, size_t hdr,
                       const struct swim_entry *e);
/* Encoded size of an entry or ALIVE message with meta_len bytes of meta. */
size_t swim_wire_entry_size(size_t meta_len);

const char *swim_state_name(int state);
/* "0x" + 40 lowercase hex; out must hold 43 bytes. */
void swim_addr_hex(const uint8_t addr[SWIM_ADDR_LEN], char out[43]);
/* Strict: "0x" then exactly 40 hex digits, lowercase only. 0 or -1. */
int swim_addr_parse(const char *s, uint8_t addr[SWIM_ADDR_LEN]);
/* Exactly 2*n hex digits (either case) into out. 0 or -1. */
int swim_hex_parse(const char *s, uint8_t *out, size_t n);

#endif
