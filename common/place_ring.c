/* place_ring.c: the spread ring (points, radix sort, bucket index) and the host-port set. */
#include <stdlib.h>
#include <string.h>

#include "place.h"
#include "place_int.h"

#define RING_TOP_BITS 13 /* first pass: buckets whose counts stay in the L1 cache */
#define RING_SUB_BITS 8  /* second pass, inside one first-pass bucket */

/* Sort pos/node[lo, hi) (all sharing their top RING_TOP_BITS bits) stably into
 * c->ring_pos/ring_node at the same indices: a counting pass on the next bits, then
 * insertion sort of the small runs. */
static void ring_sort_bucket(struct place_ctx *c, const uint64_t *pos, const uint32_t *node,
                             size_t lo, size_t hi)
{
	uint32_t cnt[(1 << RING_SUB_BITS) + 1];
	const unsigned sh = 64 - RING_TOP_BITS - RING_SUB_BITS;
	if (hi - lo <= 32) { /* few: insertion sort alone */
		memcpy(c->ring_pos + lo, pos + lo, (hi - lo) * sizeof *pos);
		memcpy(c->ring_node + lo, node + lo, (hi - lo) * sizeof *node);
	} else {
		memset(cnt, 0, sizeof cnt);
		for (size_t i = lo; i < hi; i++)
			cnt[((pos[i] >> sh) & ((1u << RING_SUB_BITS) - 1)) + 1]++;
		for (size_t d = 1; d <= (1u << RING_SUB_BITS); d++)
			cnt[d] += cnt[d - 1];
		for (size_t i = lo; i < hi; i++) {
			size_t to = lo + cnt[(pos[i] >> sh) & ((1u << RING_SUB_BITS) - 1)]++;
			c->ring_pos[to] = pos[i];
			c->ring_node[to] = node[i];
		}
	}
	for (size_t i = lo + 1; i < hi; i++) {
		uint64_t p = c->ring_pos[i];
		uint32_t q = c->ring_node[i];
		size_t j = i;
		for (; j > lo && c->ring_pos[j - 1] > p; j--) {
			c->ring_pos[j] = c->ring_pos[j - 1];
			c->ring_node[j] = c->ring_node[j - 1];
		}
		c->ring_pos[j] = p;
		c->ring_node[j] = q;
	}
}

/*
 * Every active node (live or not) gets PLACE_RING_POINTS points. They are generated in
 * (node, point) order and sorted stably by position (counting passes on the top bits,
 * then insertion sort of the small runs left), so equal positions stay ordered by node
 * index, then point number. The lookup index (bucket) holds, for each value of the top
 * bucket_bits bits, the first ring index whose position has them or more.
 */
int place_ring_build(struct place_ctx *c)
{
	size_t n = c->nring * PLACE_RING_POINTS;
	c->ring_len = n;
	if (n == 0 || c->bucket)
		return 0;
	unsigned bits = 1; /* about four points a bucket: short scans on lookup */
	while (bits < 20 && ((size_t)4 << bits) < n)
		bits++;
	size_t nb = (size_t)1 << bits, ntop = (size_t)1 << RING_TOP_BITS;
	const unsigned tsh = 64 - RING_TOP_BITS;
	uint64_t *nh = malloc(c->nring * sizeof *nh), *tpos = malloc(n * sizeof *tpos);
	uint32_t *tnode = malloc(n * sizeof *tnode), *top = calloc(ntop + 1, sizeof *top);
	c->ring_pos = malloc(n * sizeof *c->ring_pos);
	c->ring_node = malloc(n * sizeof *c->ring_node);
	c->bucket = malloc((nb + 1) * sizeof *c->bucket);
	if (!nh || !tpos || !tnode || !top || !c->ring_pos || !c->ring_node || !c->bucket) {
		free(nh);
		free(tpos);
		free(tnode);
		free(top);
		return -1;
	}
	c->bucket_bits = bits;
	/* Points are cheap: count them, then compute them again to place them. */
	for (size_t k = 0; k < c->nring; k++) {
		nh[k] = place_hash_str(c->res->nodes[c->ringset[k]]->address);
		for (uint32_t i = 0; i < PLACE_RING_POINTS; i++)
			top[(place_ring_point(nh[k], i) >> tsh) + 1]++;
	}
	for (size_t b = 1; b <= ntop; b++)
		top[b] += top[b - 1];
	for (size_t k = 0; k < c->nring; k++) { /* in generation order: stable */
		for (uint32_t i = 0; i < PLACE_RING_POINTS; i++) {
			uint64_t p = place_ring_point(nh[k], i);
			uint32_t to = top[p >> tsh]++;
			tpos[to] = p;
			tnode[to] = c->ringset[k];
		}
	}
	free(nh);
	/* top[b] is now the end of bucket b */
	for (size_t b = 0; b < ntop; b++)
		ring_sort_bucket(c, tpos, tnode, b ? top[b - 1] : 0, top[b]);
	free(tpos);
	free(tnode);
	free(top);
	size_t at = 0;
	for (size_t b = 0; b < nb; b++) {
		while (at < n && (c->ring_pos[at] >> (64 - bits)) < b)
			at++;
		c->bucket[b] = (uint32_t)at;
	}
	c->bucket[nb] = (uint32_t)n;
	return 0;
}

/* Per ring node, its points ascending: built on the first exact scan only. */
static int node_points_build(struct place_ctx *c)
{
	size_t n = c->ring_len;
	uint32_t *fill = calloc(c->nring ? c->nring : 1, sizeof *fill);
	c->node_points = malloc((n ? n : 1) * sizeof *c->node_points);
	c->upos = malloc((c->res->nnodes ? c->res->nnodes : 1) * sizeof *c->upos);
	if (!fill || !c->node_points || !c->upos) {
		free(fill);
		return -1;
	}
	for (size_t k = 0; k < c->nring; k++)
		c->upos[c->ringset[k]] = (uint32_t)k;
	for (size_t i = 0; i < n; i++) {
		uint32_t u = c->upos[c->ring_node[i]];
		c->node_points[(size_t)u * PLACE_RING_POINTS + fill[u]++] = c->ring_pos[i];
	}
	free(fill);
	return 0;
}

/* Index of the first point at or after key, wrapping to 0. */
size_t place_ring_find(const struct place_ctx *c, uint64_t key)
{
	size_t i = c->bucket[key >> (64 - c->bucket_bits)];
	while (i < c->ring_len && c->ring_pos[i] < key)
		i++;
	return i == c->ring_len ? 0 : i;
}

/* Ring index of node n's point at pos (equal positions are ordered by node). */
size_t place_ring_index(const struct place_ctx *c, uint32_t n, uint64_t pos)
{
	size_t lo = 0, hi = c->ring_len;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->ring_pos[mid] < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + 1 < c->ring_len && c->ring_node[lo] != n)
		lo++;
	return lo;
}

/* Clockwise distance from key to node n's nearest point at or after it; -1 on no memory. */
int place_node_distance(struct place_ctx *c, uint32_t n, uint64_t key, uint64_t *dist)
{
	if (!c->node_points && node_points_build(c) < 0)
		return -1;
	const uint64_t *p = c->node_points + (size_t)c->upos[n] * PLACE_RING_POINTS;
	size_t lo = 0, hi = PLACE_RING_POINTS;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	*dist = (lo == PLACE_RING_POINTS ? p[0] : p[lo]) - key;
	return 0;
}

/* ---- host ports: an open-addressing set of (node, proto, port) + 1 ---- */

static uint64_t port_key(uint32_t n, const struct place_port *p)
{
	return (((uint64_t)n << 17) | ((uint64_t)p->proto << 16) | p->host) + 1;
}

static int ports_has(const struct place_ctx *c, uint64_t k)
{
	if (!c->ports_cap)
		return 0;
	size_t mask = c->ports_cap - 1;
	for (size_t i = place_mix64(k) & mask;; i = (i + 1) & mask) {
		if (c->ports[i] == k)
			return 1;
		if (c->ports[i] == 0)
			return 0;
	}
}

static void ports_put(struct place_ctx *c, uint64_t k)
{
	size_t mask = c->ports_cap - 1;
	size_t i = place_mix64(k) & mask;
	while (c->ports[i] != 0 && c->ports[i] != k)
		i = (i + 1) & mask;
	if (c->ports[i] == 0) {
		c->ports[i] = k;
		c->ports_len++;
	}
}

static int ports_grow(struct place_ctx *c)
{
	size_t ncap = c->ports_cap ? c->ports_cap * 2 : 256;
	uint64_t *old = c->ports;
	size_t ocap = c->ports_cap;
	c->ports = calloc(ncap, sizeof *c->ports);
	if (!c->ports) {
		c->ports = old;
		return -1;
	}
	c->ports_cap = ncap;
	c->ports_len = 0;
	for (size_t i = 0; i < ocap; i++)
		if (old[i])
			ports_put(c, old[i]);
	free(old);
	return 0;
}

int place_ports_free(struct place_ctx *c, uint32_t n)
{
	const struct place_service *s = c->svc;
	for (size_t k = 0; k < s->nports; k++)
		if (s->ports[k].host && ports_has(c, port_key(n, &s->ports[k])))
			return 0;
	return 1;
}

int place_ports_take(struct place_ctx *c, uint32_t n)
{
	const struct place_service *s = c->svc;
	for (size_t k = 0; k < s->nports; k++) {
		if (!s->ports[k].host)
			continue;
		if ((c->ports_len + 1) * 2 > c->ports_cap && ports_grow(c) < 0)
			return -1;
		ports_put(c, port_key(n, &s->ports[k]));
	}
	return 0;
}

void place_ctx_free(struct place_ctx *c)
{
	free(c->ns);
	free(c->usable);
	free(c->ringset);
	free(c->elig_buf);
	free(c->heap);
	free(c->by_age);
	free(c->ring_pos);
	free(c->ring_node);
	free(c->bucket);
	free(c->node_points);
	free(c->upos);
	free(c->ports);
}
