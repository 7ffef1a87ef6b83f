/* place_out.c: canonical serialization and hash of a placement, lookups, disruption counts. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "place.h"
#include "place_int.h"

#define OUT_BUF 65536

struct out {
	char buf[OUT_BUF];
	size_t len;
	place_write_fn write;
	void *arg;
	int failed;
};

static void out_flush(struct out *o)
{
	if (o->len && !o->failed && o->write(o->arg, o->buf, o->len) < 0)
		o->failed = 1;
	o->len = 0;
}

static void out_str(struct out *o, const char *s, size_t n)
{
	while (n) {
		if (o->len == OUT_BUF)
			out_flush(o);
		size_t k = OUT_BUF - o->len < n ? OUT_BUF - o->len : n;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
	}
}

/* v in decimal at p (at most 20 bytes, no terminator); returns the length. */
static size_t u64_str(char *p, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(p, tmp + i, sizeof tmp - i);
	return sizeof tmp - i;
}

static void out_u64(struct out *o, uint64_t v)
{
	char tmp[20];
	out_str(o, tmp, u64_str(tmp, v));
}

/* Service i's lines into o (alen: each node address's length). */
static void out_service(struct out *o, const struct place_result *r, size_t i, const size_t *alen)
{
	const struct place_service *s = r->services[i];
	size_t nl = strlen(s->name);
	uint32_t nrep = (uint32_t)(r->first[i + 1] - r->first[i]);
	char gen[24]; /* " <generation>" */
	size_t gl = u64_str(gen + 1, s->generation) + 1;
	gen[0] = ' ';
	for (uint32_t k = 0; k < nrep && !o->failed; k++) {
		const struct place_slot *sl = &r->slots[r->first[i] + k];
		if (sl->node != PLACE_NONE && nl + alen[sl->node] + gl + 14 <= OUT_BUF) {
			/* The common line, written in place. */
			if (o->len + nl + alen[sl->node] + gl + 14 > OUT_BUF)
				out_flush(o);
			char *p = o->buf + o->len;
			memcpy(p, s->name, nl);
			p += nl;
			*p++ = ' ';
			p += u64_str(p, k);
			*p++ = ' ';
			memcpy(p, r->nodes[sl->node]->address, alen[sl->node]);
			p += alen[sl->node];
			memcpy(p, gen, gl);
			p += gl;
			*p++ = '\n';
			o->len = (size_t)(p - o->buf);
			continue;
		}
		out_str(o, s->name, nl);
		out_str(o, " ", 1);
		out_u64(o, k);
		out_str(o, " ", 1);
		if (sl->node != PLACE_NONE) {
			out_str(o, r->nodes[sl->node]->address, alen[sl->node]);
			out_str(o, gen, gl);
		} else {
			const char *why = place_reason_str(sl->reason);
			out_str(o, "-", 1);
			out_str(o, gen, gl);
			out_str(o, " ", 1);
			out_str(o, why, strlen(why));
		}
		out_str(o, "\n", 1);
	}
}

/* Each node address's length; owned by the caller, NULL on no memory. */
static size_t *address_lengths(const struct place_result *r)
{
	size_t *alen = malloc((r->nnodes ? r->nnodes : 1) * sizeof *alen);
	for (size_t n = 0; alen && n < r->nnodes; n++)
		alen[n] = strlen(r->nodes[n]->address);
	return alen;
}

/* One line per replica, services by name, replicas by index:
 *   "<service> <replica> <node> <generation>\n"          placed
 *   "<service> <replica> - <generation> <reason>\n"      pending
 * after the header line "canteen-placement 1\n". */
int place_serialize(const struct place_result *r, place_write_fn write, void *arg)
{
	static const char header[] = "canteen-placement 1\n";
	struct out *o = malloc(sizeof *o);
	size_t *alen = address_lengths(r);
	if (!o || !alen) {
		free(o);
		free(alen);
		return -1;
	}
	o->len = 0;
	o->write = write;
	o->arg = arg;
	o->failed = 0;
	out_str(o, header, sizeof header - 1);
	for (size_t i = 0; i < r->nservices && !o->failed; i++)
		out_service(o, r, i, alen);
	out_flush(o);
	int rc = o->failed ? -1 : 0;
	free(alen);
	free(o);
	return rc;
}

static int hash_write(void *arg, const char *data, size_t len)
{
	return crypto_generichash_update(arg, (const unsigned char *)data, len);
}

/* Whether service i has the same slots in a and b (field by field: slots have padding). */
static int same_slots(const struct place_result *a, const struct place_result *b, size_t i)
{
	size_t n = b->first[i + 1] - b->first[i];
	if (a->first[i + 1] - a->first[i] != n)
		return 0;
	const struct place_slot *x = a->slots + a->first[i], *y = b->slots + b->first[i];
	for (size_t k = 0; k < n; k++)
		if (x[k].node != y[k].node || x[k].reason != y[k].reason)
			return 0;
	return 1;
}

/*
 * r->svc_hash[i]: BLAKE2b-256 of service i's lines, copied from ref's when the service's
 * slots are the same there (ref: a placement of the same services, or NULL); r->hash:
 * BLAKE2b-256 of "canteen-placement 2\n" and the services' hashes in order.
 */
int place_hash_result(struct place_result *r, const struct place_result *ref)
{
	static const char header[] = "canteen-placement 2\n";
	crypto_generichash_state st, all;
	int rc = -1;
	struct out *o = malloc(sizeof *o);
	size_t *alen = address_lengths(r);
	r->svc_hash = malloc((r->nservices ? r->nservices : 1) * PLACE_HASH_LEN);
	if (!o || !alen || !r->svc_hash || crypto_generichash_init(&all, NULL, 0, sizeof r->hash) != 0)
		goto done;
	crypto_generichash_update(&all, (const unsigned char *)header, sizeof header - 1);
	for (size_t i = 0; i < r->nservices; i++) {
		unsigned char *h = r->svc_hash + i * PLACE_HASH_LEN;
		if (ref && ref->svc_hash && i < ref->nservices && same_slots(ref, r, i)) {
			memcpy(h, ref->svc_hash + i * PLACE_HASH_LEN, PLACE_HASH_LEN);
		} else {
			o->len = 0;
			o->write = hash_write;
			o->arg = &st;
			o->failed = 0;
			if (crypto_generichash_init(&st, NULL, 0, PLACE_HASH_LEN) != 0)
				goto done;
			out_service(o, r, i, alen);
			out_flush(o);
			if (o->failed || crypto_generichash_final(&st, h, PLACE_HASH_LEN) != 0)
				goto done;
		}
		crypto_generichash_update(&all, h, PLACE_HASH_LEN);
	}
	if (crypto_generichash_final(&all, r->hash, sizeof r->hash) != 0)
		goto done;
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof r->hash; i++) {
		r->hash_hex[2 * i] = hex[r->hash[i] >> 4];
		r->hash_hex[2 * i + 1] = hex[r->hash[i] & 15];
	}
	r->hash_hex[64] = '\0';
	rc = 0;
done:
	free(o);
	free(alen);
	return rc;
}

static const char *service_name(const struct place_result *r, size_t i)
{
	return r->services[i]->name;
}

static const char *node_address(const struct place_result *r, size_t i)
{
	return r->nodes[i]->address;
}

/* Binary search of a sorted name list read through key(r, i); index or -1. */
static long find_sorted(const struct place_result *r, size_t n,
                        const char *(*key)(const struct place_result *, size_t), const char *want)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(key(r, mid), want);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

long place_find_service(const struct place_result *r, const char *name)
{
	return find_sorted(r, r->nservices, service_name, name);
}

const char *place_slot_node(const struct place_result *r, const struct place_slot *s)
{
	return s->node == PLACE_NONE ? NULL : r->nodes[s->node]->address;
}

size_t place_moved(const struct place_result *before, const struct place_result *after)
{
	size_t moved = 0, j = 0;
	for (size_t i = 0; i < before->nservices; i++) {
		const struct place_service *s = before->services[i];
		while (j < after->nservices && strcmp(after->services[j]->name, s->name) < 0)
			j++;
		if (j == after->nservices || strcmp(after->services[j]->name, s->name) != 0)
			continue;
		size_t nb = before->first[i + 1] - before->first[i];
		size_t na = after->first[j + 1] - after->first[j];
		size_t n = nb < na ? nb : na;
		for (size_t k = 0; k < n; k++) {
			const char *a = place_slot_node(before, &before->slots[before->first[i] + k]);
			const char *b = place_slot_node(after, &after->slots[after->first[j] + k]);
			if (a && (!b || strcmp(a, b) != 0))
				moved++;
		}
	}
	return moved;
}

size_t place_count_on(const struct place_result *r, const char *address)
{
	long n = find_sorted(r, r->nnodes, node_address, address);
	size_t count = 0;
	if (n < 0)
		return 0;
	for (size_t i = 0; i < r->nslots; i++)
		if (r->slots[i].node == (uint32_t)n)
			count++;
	return count;
}
