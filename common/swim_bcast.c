/* swim_bcast.c: the SWIM dissemination queue (least-sent first, newest first among equals). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "swim_bcast.h"

#define NIL UINT32_MAX

void swim_bcast_init(struct swim_bcast *q, size_t max)
{
	memset(q, 0, sizeof *q);
	q->max = max ? max : 1;
	if (q->max > NIL - 1)
		q->max = NIL - 1;
	q->next_id = 1;
	q->free = NIL;
	/* Subjects are members' addresses, which their owners choose: a keyed hash keeps one
	 * who grinds addresses from lengthening a chain. */
	randombytes_buf(q->hkey, sizeof q->hkey);
}

void swim_bcast_free(struct swim_bcast *q)
{
	free(q->items);
	free(q->hash);
	free(q->head);
	free(q->tail);
	memset(q, 0, sizeof *q);
}

size_t swim_bcast_len(const struct swim_bcast *q) { return q->n; }

static size_t bucket(const struct swim_bcast *q, const uint8_t subject[SWIM_ADDR_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, subject, SWIM_ADDR_LEN, q->hkey);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | h[i];
	return (size_t)(v & (q->hcap - 1));
}

static uint32_t *chain_of(struct swim_bcast *q, uint32_t i)
{
	uint32_t *p = &q->hash[bucket(q, q->items[i].subject)];
	while (*p != i)
		p = &q->items[*p].hnext;
	return p;
}

static uint32_t find(struct swim_bcast *q, const uint8_t subject[SWIM_ADDR_LEN])
{
	if (!q->hcap)
		return NIL;
	for (uint32_t i = q->hash[bucket(q, subject)]; i != NIL; i = q->items[i].hnext)
		if (memcmp(q->items[i].subject, subject, SWIM_ADDR_LEN) == 0)
			return i;
	return NIL;
}

/* Grow the hash to at least twice the slots, re-chaining every live item. */
static int rehash(struct swim_bcast *q, size_t slots)
{
	size_t hc = q->hcap ? q->hcap : 32;
	while (hc < 2 * slots)
		hc *= 2;
	if (hc == q->hcap)
		return 0;
	uint32_t *nh = malloc(hc * sizeof *nh);
	if (!nh)
		return -1;
	for (size_t i = 0; i < hc; i++)
		nh[i] = NIL;
	free(q->hash);
	q->hash = nh;
	q->hcap = hc;
	for (size_t l = 0; l < q->nlevels; l++)
		for (uint32_t i = q->head[l]; i != NIL; i = q->items[i].next) {
			size_t b = bucket(q, q->items[i].subject);
			q->items[i].hnext = q->hash[b];
			q->hash[b] = i;
		}
	return 0;
}

static int levels_reserve(struct swim_bcast *q, size_t level)
{
	if (level < q->nlevels)
		return 0;
	size_t nl = q->nlevels ? q->nlevels : 8;
	while (nl <= level)
		nl *= 2;
	uint32_t *nh = realloc(q->head, nl * sizeof *nh);
	if (!nh)
		return -1;
	q->head = nh;
	uint32_t *nt = realloc(q->tail, nl * sizeof *nt);
	if (!nt)
		return -1;
	q->tail = nt;
	for (size_t l = q->nlevels; l < nl; l++)
		q->head[l] = q->tail[l] = NIL;
	q->nlevels = nl;
	return 0;
}

static void level_unlink(struct swim_bcast *q, uint32_t i)
{
	struct swim_bcast_item *it = &q->items[i];
	size_t l = it->transmits;
	if (it->prev != NIL)
		q->items[it->prev].next = it->next;
	else
		q->head[l] = it->next;
	if (it->next != NIL)
		q->items[it->next].prev = it->prev;
	else
		q->tail[l] = it->prev;
}

/* Into its level's list by id, newest first: new items go to the head; an item sent once
 * more mostly lands at one end, so walk from the nearer one. */
static void level_link(struct swim_bcast *q, uint32_t i)
{
	struct swim_bcast_item *it = &q->items[i];
	size_t l = it->transmits;
	uint32_t after = NIL; /* the item it follows */
	if (q->tail[l] != NIL && q->items[q->tail[l]].id > it->id) {
		after = q->tail[l];
	} else if (q->head[l] != NIL && q->items[q->head[l]].id > it->id) {
		after = q->head[l];
		while (q->items[after].next != NIL && q->items[q->items[after].next].id > it->id)
			after = q->items[after].next;
	}
	it->prev = after;
	it->next = after == NIL ? q->head[l] : q->items[after].next;
	if (after == NIL)
		q->head[l] = i;
	else
		q->items[after].next = i;
	if (it->next == NIL)
		q->tail[l] = i;
	else
		q->items[it->next].prev = i;
}

/* An item out of its level list leaves the hash and its slot goes to the free list. */
static void release(struct swim_bcast *q, uint32_t i)
{
	uint32_t *p = chain_of(q, i);
	*p = q->items[i].hnext;
	q->items[i].next = q->free;
	q->free = i;
	q->n--;
}

static void remove_item(struct swim_bcast *q, uint32_t i)
{
	level_unlink(q, i);
	release(q, i);
}

static uint32_t slot_new(struct swim_bcast *q)
{
	if (q->free != NIL) {
		uint32_t i = q->free;
		q->free = q->items[i].next;
		return i;
	}
	if (q->top == q->cap) {
		size_t nc = q->cap ? q->cap * 2 : 16;
		if (nc > q->max)
			nc = q->max;
		struct swim_bcast_item *ni = realloc(q->items, nc * sizeof *ni);
		if (!ni)
			return NIL;
		q->items = ni;
		q->cap = nc;
	}
	if (rehash(q, q->cap) < 0)
		return NIL;
	return (uint32_t)q->top++;
}

int swim_bcast_push(struct swim_bcast *q, const uint8_t subject[SWIM_ADDR_LEN],
                    const uint8_t *msg, size_t len)
{
	if (len == 0 || len > SWIM_BCAST_MSG_MAX || levels_reserve(q, 0) < 0)
		return -1;
	uint32_t old = find(q, subject);
	if (old != NIL)
		remove_item(q, old);
	if (q->n == q->max) {
		/* The most sent, then the oldest of those: the tail of the highest level. */
		for (size_t l = q->nlevels; l-- > 0;)
			if (q->tail[l] != NIL) {
				remove_item(q, q->tail[l]);
				break;
			}
	}
	uint32_t i = slot_new(q);
	if (i == NIL)
		return -1;
	struct swim_bcast_item *it = &q->items[i];
	memcpy(it->subject, subject, SWIM_ADDR_LEN);
	memcpy(it->msg, msg, len);
	it->len = (uint16_t)len;
	it->transmits = 0;
	it->id = q->next_id++;
	level_link(q, i);
	size_t b = bucket(q, subject);
	it->hnext = q->hash[b];
	q->hash[b] = i;
	q->n++;
	return 0;
}

size_t swim_bcast_fill(struct swim_bcast *q, uint8_t *buf, size_t cap, size_t *off,
                       unsigned limit)
{
	uint32_t taken[SWIM_BODY_MAX]; /* every item is at least a byte long */
	size_t sent = 0;
	for (size_t l = 0; l < q->nlevels && *off < cap && sent < SWIM_BODY_MAX; l++)
		for (uint32_t i = q->head[l]; i != NIL && *off < cap && sent < SWIM_BODY_MAX;) {
			struct swim_bcast_item *it = &q->items[i];
			uint32_t next = it->next;
			if (it->len <= cap - *off) {
				memcpy(buf + *off, it->msg, it->len);
				*off += it->len;
				level_unlink(q, i);
				taken[sent++] = i;
			}
			i = next;
		}
	/* Each item sent moves up a level (or leaves at the limit), after the walk so that
	 * none goes twice into one packet. */
	for (size_t k = 0; k < sent; k++) {
		uint32_t i = taken[k];
		struct swim_bcast_item *it = &q->items[i];
		it->transmits++;
		if (it->transmits >= limit || levels_reserve(q, it->transmits) < 0)
			release(q, i); /* already out of its level list */
		else
			level_link(q, i);
	}
	/* Whatever reached a limit that has since come down leaves too. */
	for (size_t l = limit; l < q->nlevels; l++)
		while (q->head[l] != NIL)
			remove_item(q, q->head[l]);
	return sent;
}
unsigned swim_retransmit_limit(unsigned mult, size_t n)
{
	unsigned digits = 0;
	/* ceil(log10(n + 1)) without floating point: the number of decimal digits of n. */
	for (size_t v = n; v > 0; v /= 10)
		digits++;
	if (digits == 0)
		digits = 1;
	return mult * digits;
}
