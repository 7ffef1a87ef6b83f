/* place_cache.c: the reference placement and spread ring kept between computations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "place.h"
#include "place_int.h"

struct place_cache {
	unsigned char key[PLACE_HASH_LEN]; /* of the input the contents belong to */
	int valid;                         /* key, ref and ring belong together */
	int keep_ref;                      /* 0: a one-call cache, no copy when all live */
	struct place_result *ref;          /* detached: services and nodes are NULL */
	struct place_ring ring;
};

struct place_cache *place_cache_new(void)
{
	struct place_cache *c = calloc(1, sizeof *c);
	if (c)
		c->keep_ref = 1;
	return c;
}

struct place_cache *place_cache_once(void)
{
	return calloc(1, sizeof(struct place_cache));
}

static void cache_clear(struct place_cache *c)
{
	place_result_free(c->ref);
	c->ref = NULL;
	free(c->ring.pos);
	free(c->ring.node);
	free(c->ring.bucket);
	c->ring = (struct place_ring){0};
	c->valid = 0;
}

void place_cache_free(struct place_cache *c)
{
	if (!c)
		return;
	cache_clear(c);
	free(c);
}

/* ---- the key: every input field but live, in input order ---- */

static void key_u64(crypto_generichash_state *st, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	crypto_generichash_update(st, b, sizeof b);
}

static void key_str(crypto_generichash_state *st, const char *s)
{
	crypto_generichash_update(st, (const unsigned char *)s, strlen(s) + 1);
}

static void key_labels(crypto_generichash_state *st, const struct place_label *l, size_t n)
{
	key_u64(st, n);
	for (size_t k = 0; k < n; k++) {
		key_str(st, l[k].key);
		key_str(st, l[k].value);
	}
}

/* Equal keys: the same nodes (liveness aside) and services, in the same order. */
static int input_key(const struct place_input *in, unsigned char key[PLACE_HASH_LEN])
{
	crypto_generichash_state st;
	if (crypto_generichash_init(&st, NULL, 0, PLACE_HASH_LEN) != 0)
		return -1;
	key_u64(&st, in->nnodes);
	for (size_t i = 0; i < in->nnodes; i++) {
		const struct place_node *n = &in->nodes[i];
		key_str(&st, n->address);
		key_u64(&st, n->cpu_millis);
		key_u64(&st, n->mem_mib);
		key_u64(&st, n->active != 0);
		key_u64(&st, n->activation);
		key_labels(&st, n->labels, n->nlabels);
	}
	key_u64(&st, in->nservices);
	for (size_t i = 0; i < in->nservices; i++) {
		const struct place_service *s = &in->services[i];
		key_str(&st, s->name);
		key_u64(&st, s->replicas);
		key_u64(&st, s->cpu_millis);
		key_u64(&st, s->mem_mib);
		key_u64(&st, (uint64_t)s->priority);
		key_u64(&st, (uint64_t)(int64_t)s->strategy);
		key_u64(&st, s->exclusive != 0);
		key_u64(&st, s->generation);
		key_u64(&st, s->nports);
		for (size_t k = 0; k < s->nports; k++)
			key_u64(&st, (uint64_t)s->ports[k].host << 24 | (uint64_t)s->ports[k].container << 8 |
			                 s->ports[k].proto);
		key_labels(&st, s->selector, s->nselector);
	}
	return crypto_generichash_final(&st, key, PLACE_HASH_LEN) != 0 ? -1 : 0;
}

/* A copy of r's counts, first, slots and service hashes: no pointer into any input. */
static struct place_result *detach(const struct place_result *r)
{
	struct place_result *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->nservices = r->nservices;
	d->nslots = r->nslots;
	d->nnodes = r->nnodes;
	d->placed = r->placed;
	d->pending = r->pending;
	memcpy(d->hash, r->hash, sizeof d->hash);
	memcpy(d->hash_hex, r->hash_hex, sizeof d->hash_hex);
	d->first = malloc((r->nservices + 1) * sizeof *d->first);
	d->slots = malloc((r->nslots ? r->nslots : 1) * sizeof *d->slots);
	d->svc_hash = malloc((r->nservices ? r->nservices : 1) * PLACE_HASH_LEN);
	if (!d->first || !d->slots || !d->svc_hash) {
		place_result_free(d);
		return NULL;
	}
	memcpy(d->first, r->first, (r->nservices + 1) * sizeof *d->first);
	memcpy(d->slots, r->slots, r->nslots * sizeof *d->slots);
	memcpy(d->svc_hash, r->svc_hash, r->nservices * PLACE_HASH_LEN);
	return d;
}

/* The reference: in with every active node live, computed with c's ring. */
static int compute_ref(const struct place_input *in, struct place_cache *c, char *err,
                       size_t errlen)
{
	struct place_node *all = malloc((in->nnodes ? in->nnodes : 1) * sizeof *all);
	if (!all) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(all, in->nodes, in->nnodes * sizeof *all);
	for (size_t i = 0; i < in->nnodes; i++)
		all[i].live = 1;
	struct place_input ain = *in;
	ain.nodes = all;
	struct place_result *ref = NULL;
	int rc = place_run(&ain, NULL, 0, &c->ring, &ref, err, errlen);
	free(all);
	if (rc < 0)
		return -1;
	/* ref borrows ain's nodes: keep only what the next computations read. */
	c->ref = detach(ref);
	place_result_free(ref);
	if (!c->ref) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int place_compute_cached(const struct place_input *in, struct place_cache *c,
                         struct place_result **out, char *err, size_t errlen)
{
	*out = NULL;
	if (place_validate(in, err, errlen) < 0)
		return -1;
	unsigned char key[PLACE_HASH_LEN];
	if (input_key(in, key) < 0) {
		snprintf(err, errlen, "cannot hash the input");
		return -1;
	}
	if (!c->valid || memcmp(key, c->key, sizeof key) != 0) {
		cache_clear(c);
		memcpy(c->key, key, sizeof key);
	}
	c->valid = 1;
	size_t down = 0;
	for (size_t i = 0; i < in->nnodes; i++)
		down += in->nodes[i].active && !in->nodes[i].live;
	int rc;
	if (down == 0) {
		/* This is the reference itself: the kept one, or computed now (and kept). */
		rc = place_run(in, c->ref, 1, &c->ring, out, err, errlen);
		if (rc == 0 && c->keep_ref && !c->ref && !(c->ref = detach(*out))) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		}
	} else {
		/* Some active node is not live: first the reference placement as if it were.
		 * Nodes and services sort the same way in both, so their slots line up. */
		rc = c->ref ? 0 : compute_ref(in, c, err, errlen);
		if (rc == 0)
			rc = place_run(in, c->ref, 0, &c->ring, out, err, errlen);
	}
	if (rc < 0) {
		place_result_free(*out);
		*out = NULL;
		cache_clear(c);
	}
	return rc;
}
