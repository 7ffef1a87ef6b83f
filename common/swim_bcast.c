/* swim_bcast.c: the SWIM dissemination queue (least-sent first, newest first among equals). */
#include <stdlib.h>
#include <string.h>

#include "swim_bcast.h"

void swim_bcast_init(struct swim_bcast *q, size_t max)
{
	memset(q, 0, sizeof *q);
	q->max = max ? max : 1;
	q->next_id = 1;
}

void swim_bcast_free(struct swim_bcast *q)
{
	free(q->items);
	q->items = NULL;
	q->n = q->cap = 0;
}

size_t swim_bcast_len(const struct swim_bcast *q) { return q->n; }

static void remove_at(struct swim_bcast *q, size_t i)
{
	q->items[i] = q->items[q->n - 1];
	q->n--;
}

int swim_bcast_push(struct swim_bcast *q, const uint8_t subject[SWIM_ADDR_LEN],
                    const uint8_t *msg, size_t len)
{
	if (len == 0 || len > SWIM_BCAST_MSG_MAX)
		return -1;
	for (size_t i = 0; i < q->n; i++)
		if (memcmp(q->items[i].subject, subject, SWIM_ADDR_LEN) == 0) {
			remove_at(q, i);
			break;
		}
	if (q->n == q->max) {
		size_t worst = 0;
		for (size_t i = 1; i < q->n; i++)
			if (q->items[i].transmits > q->items[worst].transmits ||
			    (q->items[i].transmits == q->items[worst].transmits &&
			     q->items[i].id < q->items[worst].id))
				worst = i;
		remove_at(q, worst);
	}
	if (q->n == q->cap) {
		size_t nc = q->cap ? q->cap * 2 : 16;
		if (nc > q->max)
			nc = q->max;
		struct swim_bcast_item *ni = realloc(q->items, nc * sizeof *ni);
		if (!ni)
			return -1;
		q->items = ni;
		q->cap = nc;
	}
	struct swim_bcast_item *it = &q->items[q->n++];
	memcpy(it->subject, subject, SWIM_ADDR_LEN);
	memcpy(it->msg, msg, len);
	it->len = (uint16_t)len;
	it->transmits = 0;
	it->id = q->next_id++;
	return 0;
}

static int before(const struct swim_bcast_item *a, const struct swim_bcast_item *b)
{
	if (a->transmits != b->transmits)
		return a->transmits < b->transmits;
	return a->id > b->id;
}

size_t swim_bcast_fill(struct swim_bcast *q, uint8_t *buf, size_t cap, size_t *off,
                       unsigned limit)
{
	size_t sent = 0;
	/* Selection by repeated scans: the queue holds at most one item per member. */
	uint8_t *taken = calloc(q->n ? q->n : 1, 1);
	if (!taken)
		return 0;
	for (;;) {
		size_t best = q->n;
		for (size_t i = 0; i < q->n; i++) {
			if (taken[i] || *off > cap || q->items[i].len > cap - *off)
				continue;
			if (best == q->n || before(&q->items[i], &q->items[best]))
				best = i;
		}
		if (best == q->n)
			break;
		taken[best] = 1;
		memcpy(buf + *off, q->items[best].msg, q->items[best].len);
		*off += q->items[best].len;
		q->items[best].transmits++;
		sent++;
	}
	/* Retire what reached the limit (walk backwards: remove_at moves the last item). */
	for (size_t i = q->n; i-- > 0;)
		if (q->items[i].transmits >= limit)
			remove_at(q, i);
	free(taken);
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
