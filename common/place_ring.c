/* place_ring.c: the spread ring (points, radix sort, bucket index) and the host-port set. */
#include <stdlib.h>
#include <string.h>

#include "place.h"
#include "place_int.h"

/*
 * Every active node (live or not) gets PLACE_RING_POINTS points. They are generated in (node, point)
 * order and sorted stably by position (a counting sort on the top bits, then insertion
 * sort inside each bucket), so equal positions stay ordered by node index, then point
 * number. The bucket starts double as the lookup index.
 */
int place_ring_build(struct place_ctx *c)
{
	size_t n = c->nring * PLACE_RING_POINTS;
	c->ring_len = n;
	if (n == 0 || c->bucket)
		return 0;
	unsigned bits = 1; /* about four points a bucket: small counts, short insertion sorts */
	while (bits < 20 && ((size_t)4 << bits) < n)
		bits++;
	size_t nb = (size_t)1 << bits;
	uint64_t *nh = malloc(c->nring * sizeof *nh);
	c->ring_pos = malloc(n * sizeof *c->ring_pos);
	c->ring_node = malloc(n * sizeof *c->ring_node);
	c->bucket = calloc(nb + 1, sizeof *c->bucket);
	if (!nh || !c->ring_pos || !c->ring_node || !c->bucket) {
		free(nh);
		return -1;
	}
	c->bucket_bits = bits;
	/* Points are cheap: count them, then compute them again to place them, rather than
	 * holding a second copy of the ring. */
	for (size_t k = 0; k < c->nring; k++) {
		nh[k] = place_hash_str(c->res->nodes[c->ringset[k]]->address);
		for (uint32_t i = 0; i < PLACE_RING_POINTS; i++)
			c->bucket[place_ring_point(nh[k], i) >> (64 - bits)]++;
	}
	uint32_t sum = 0; /* inclusive prefix sums: bucket[b] = end of bucket b */
	for (size_t b = 0; b < nb; b++) {
		sum += c->bucket[b];
		c->bucket[b] = sum;
	}
	c->bucket[nb] = sum;
	for (size_t k = c->nring; k-- > 0;) { /* backwards with decrement: stable */
		for (uint32_t i = PLACE_RING_POINTS; i-- > 0;) {
			uint64_t p = place_ring_point(nh[k], i);
			uint32_t to = --c->bucket[p >> (64 - bits)];
			c->ring_pos[to] = p;
			c->ring_node[to] = c->ringset[k];
		}
	}
	free(nh);
	for (size_t b = 0; b < nb; b++) {
		for (size_t i = c->bucket[b] + 1; i < c->bucket[b + 1]; i++) {
			uint64_t p = c->ring_pos[i];
			uint32_t q = c->ring_node[i];
			size_t j = i;
			for (; j > c->bucket[b] && c->ring_pos[j - 1] > p; j--) {
				c->ring_pos[j] = c->ring_pos[j - 1];
				c->ring_node[j] = c->ring_node[j - 1];
			}
			c->ring_pos[j] = p;
			c->ring_node[j] = q;
		}
	}
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
	free(c->ring_pos);
	free(c->ring_node);
	free(c->bucket);
	free(c->node_points);
	free(c->upos);
	free(c->ports);
}
