/* swim_bcast.h: the SWIM dissemination queue: one update per member, λ·log(n) transmissions. */
#ifndef CANTEEN_SWIM_BCAST_H
#define CANTEEN_SWIM_BCAST_H

#include <stddef.h>
#include <stdint.h>

#include "swim_wire.h"

#define SWIM_BCAST_MSG_MAX (SWIM_ADDR_LEN + 1 + 4 + 3 + SWIM_META_MAX + 8)

struct swim_bcast_item {
	uint8_t subject[SWIM_ADDR_LEN];
	uint16_t len;
	uint32_t transmits;
	uint64_t id;         /* insertion order: higher is newer */
	uint32_t prev, next; /* in its level (transmits) list, newest first; or the free list */
	uint32_t hnext;      /* next in its subject hash chain */
	uint8_t msg[SWIM_BCAST_MSG_MAX];
};

/* Owned by its user; swim_bcast_free releases the items. Items sit in a slot array (free
 * slots chained), one list per transmission count, newest first, and a hash of subjects,
 * so that a push and each item sent cost O(1) plus the list walk to its place, not a scan
 * of the queue: at a cold start of 1,000 members every one of them has an item queued. */
struct swim_bcast {
	struct swim_bcast_item *items;
	size_t n, cap, max, top; /* live items, slots, most items, slots ever used */
	uint64_t next_id;
	uint32_t free;           /* first free slot below top */
	uint32_t *hash;          /* hcap chain heads (power of two), keyed by hkey */
	size_t hcap;
	uint8_t hkey[16];
	uint32_t *head, *tail;   /* per transmission count */
	size_t nlevels;
};

void swim_bcast_init(struct swim_bcast *q, size_t max);
void swim_bcast_free(struct swim_bcast *q);
/* Queue an encoded message about subject, replacing any older one about the same
 * subject. When the queue is full the most-sent item makes room. 0 or -1 (too long, no memory). */
int swim_bcast_push(struct swim_bcast *q, const uint8_t subject[SWIM_ADDR_LEN],
                    const uint8_t *msg, size_t len);
/* Append to buf[*off..cap) the least-sent (then newest) items that fit; each one appended
 * counts a transmission, and an item sent limit times leaves the queue. Returns how many. */
size_t swim_bcast_fill(struct swim_bcast *q, uint8_t *buf, size_t cap, size_t *off,
                       unsigned limit);
size_t swim_bcast_len(const struct swim_bcast *q);
/* Retransmission limit: mult * ceil(log10(n + 1)). */
unsigned swim_retransmit_limit(unsigned mult, size_t n);

#endif
