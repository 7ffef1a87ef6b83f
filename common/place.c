/* place.c: the placement function: validation, ordering, spread/roundrobin/binpack. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "place.h"
#include "rec.h"
#include "place_int.h"

/* ---- the fixed hashes (canteen-sched(8), "HASHES") ---- */

uint64_t place_mix64(uint64_t z)
{
	z ^= z >> 30;
	z *= 0xbf58476d1ce4e5b9ULL;
	z ^= z >> 27;
	z *= 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z;
}

uint64_t place_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return place_mix64(h);
}

uint64_t place_ring_point(uint64_t node_hash, uint32_t i)
{
	return place_mix64(node_hash + ((uint64_t)i + 1) * 0x9e3779b97f4a7c15ULL);
}

uint64_t place_replica_key(uint64_t service_hash, uint32_t replica)
{
	return place_mix64(service_hash + ((uint64_t)replica + 1) * 0xd6e8feb86659fd93ULL);
}

/* ---- names ---- */

static const char *const reason_names[] = {
	[PLACE_OK] = "placed",
	[PLACE_INSUFFICIENT_CPU] = "insufficient cpu",
	[PLACE_INSUFFICIENT_MEMORY] = "insufficient memory",
	[PLACE_PORT_CONFLICT] = "port conflict",
	[PLACE_NO_LIVE_NODES] = "no live nodes",
	[PLACE_NO_MAJORITY] = "no majority",
};

const char *place_reason_str(int reason)
{
	if (reason < 0 || reason > PLACE_NO_MAJORITY)
		return "unknown";
	return reason_names[reason];
}

const char *place_strategy_str(int strategy)
{
	const char *n = rec_strategy_name(strategy);
	return n ? n : "unknown";
}

/* ---- validation and ordering ---- */

/* Printable ASCII without spaces, not starting with '-': safe in the serialization. */
static int word_ok(const char *s)
{
	if (!s || !*s || *s == '-')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}

int place_validate(const struct place_input *in, char *err, size_t errlen)
{
	if (in->nnodes > PLACE_MAX_NODES) {
		snprintf(err, errlen, "too many nodes (%zu, at most %d)", in->nnodes, PLACE_MAX_NODES);
		return -1;
	}
	for (size_t i = 0; i < in->nnodes; i++) {
		const struct place_node *n = &in->nodes[i];
		if (!word_ok(n->address)) {
			snprintf(err, errlen, "node %zu has an invalid address", i);
			return -1;
		}
		if (n->cpu_millis > PLACE_MAX_AMOUNT || n->mem_mib > PLACE_MAX_AMOUNT) {
			snprintf(err, errlen, "node %s: capacity too large", n->address);
			return -1;
		}
		for (size_t k = 0; k < n->nlabels; k++)
			if (!n->labels[k].key || !n->labels[k].value) {
				snprintf(err, errlen, "node %s: label without key or value", n->address);
				return -1;
			}
	}
	uint64_t slots = 0;
	for (size_t i = 0; i < in->nservices; i++) {
		const struct place_service *s = &in->services[i];
		if (!word_ok(s->name)) {
			snprintf(err, errlen, "service %zu has an invalid name", i);
			return -1;
		}
		if (s->replicas > PLACE_MAX_REPLICAS || s->cpu_millis > PLACE_MAX_AMOUNT ||
		    s->mem_mib > PLACE_MAX_AMOUNT || s->nports > PLACE_MAX_PORTS ||
		    s->strategy < PLACE_SPREAD || s->strategy > PLACE_BINPACK) {
			snprintf(err, errlen, "service %s: replicas, resources, ports or strategy out of range",
			       s->name);
			return -1;
		}
		for (size_t k = 0; k < s->nports; k++)
			if (s->ports[k].proto > PLACE_UDP) {
				snprintf(err, errlen, "service %s: bad port protocol", s->name);
				return -1;
			}
		for (size_t k = 0; k < s->nselector; k++)
			if (!s->selector[k].key || !s->selector[k].value) {
				snprintf(err, errlen, "service %s: selector without key or value", s->name);
				return -1;
			}
		slots += s->replicas;
	}
	if (slots > PLACE_MAX_SLOTS) {
		snprintf(err, errlen, "too many replicas in total (%llu, at most %d)",
		       (unsigned long long)slots, PLACE_MAX_SLOTS);
		return -1;
	}
	return 0;
}

static int cmp_node_ptr(const void *a, const void *b)
{
	const struct place_node *x = *(const struct place_node *const *)a;
	const struct place_node *y = *(const struct place_node *const *)b;
	return strcmp(x->address, y->address);
}

static int cmp_service_name(const void *a, const void *b)
{
	const struct place_service *x = *(const struct place_service *const *)a;
	const struct place_service *y = *(const struct place_service *const *)b;
	return strcmp(x->name, y->name);
}

/* Placement order: priority high to low, then name. Sorts canonical indices. */
struct order_arg {
	const struct place_service **svc;
	uint32_t idx;
};

static int cmp_priority(const void *a, const void *b)
{
	const struct order_arg *x = a, *y = b;
	int64_t px = x->svc[x->idx]->priority, py = y->svc[y->idx]->priority;
	if (px != py)
		return px > py ? -1 : 1;
	return strcmp(x->svc[x->idx]->name, y->svc[y->idx]->name);
}

/* ---- per-node bookkeeping ---- */

static int node_fits(struct place_ctx *c, uint32_t n)
{
	const struct place_service *s = c->svc;
	struct place_nstate *ns = &c->ns[n];
	if (!ns->usable || (c->has_selector && ns->elig_stamp != c->serial))
		return 0;
	if (ns->svc_stamp == c->serial && ns->svc_count >= c->maxper)
		return 0;
	if (c->rr_on && ns->rr_count >= c->rr_cap)
		return 0;
	if (ns->free_cpu < s->cpu_millis || ns->free_mem < s->mem_mib)
		return 0;
	if (c->use_res && (ns->free_cpu - s->cpu_millis < ns->res_cpu ||
	                   ns->free_mem - s->mem_mib < ns->res_mem))
		return 0;
	if (s->nports && !place_ports_free(c, n))
		return 0;
	return 1;
}

static int node_take(struct place_ctx *c, uint32_t n)
{
	const struct place_service *s = c->svc;
	struct place_nstate *ns = &c->ns[n];
	ns->free_cpu -= s->cpu_millis;
	ns->free_mem -= s->mem_mib;
	ns->used_cpu += s->cpu_millis;
	if (ns->svc_stamp != c->serial) {
		ns->svc_stamp = c->serial;
		ns->svc_count = 0;
	}
	ns->svc_count++;
	if (s->strategy == PLACE_ROUNDROBIN)
		ns->rr_count++;
	return s->nports ? place_ports_take(c, n) : 0;
}

/* Why nothing fits: first cause that rules out every eligible node. */
static int pending_reason(struct place_ctx *c)
{
	const struct place_service *s = c->svc;
	int cpu = 0, both = 0;
	for (size_t k = 0; k < c->nelig; k++) {
		struct place_nstate *ns = &c->ns[c->elig[k]];
		if (ns->svc_stamp == c->serial && ns->svc_count >= c->maxper)
			continue;
		if (ns->free_cpu >= s->cpu_millis) {
			cpu = 1;
			if (ns->free_mem >= s->mem_mib) {
				both = 1;
				break;
			}
		}
	}
	if (!cpu)
		return PLACE_INSUFFICIENT_CPU;
	if (!both)
		return PLACE_INSUFFICIENT_MEMORY;
	return PLACE_PORT_CONFLICT;
}

/* ---- strategies ---- */

/* Every replica not placed yet is pending, for why. */
static void pend_rest(struct place_slot *slots, uint32_t from, uint32_t replicas, int why)
{
	for (uint32_t r = from; r < replicas; r++)
		if (slots[r].node == PLACE_NONE)
			slots[r].reason = (uint8_t)why;
}


#define WALK_CAP 1024 /* ring steps counted exactly; farther candidates rank by distance */

/* roundrobin's bound: ceil(5/4 x the roundrobin replicas per usable node) */
#define RR_BOUND_NUM 5
#define RR_BOUND_DEN 4

/* One try of a replica's walk: the per-node cap of its service, and whether
 * roundrobin's bound applies. */
struct cap_try {
	uint32_t per;
	int bound;
};

/*
 * Exact spread choice for a replica: among fitting eligible nodes, the least
 * (capped steps, distance, node). A node's distance is from key to its first point at or
 * after key; its steps are the ring points between key's successor and that point.
 * past: steps the walk has already passed (at the cap, steps are not computed: all count
 * as capped and distance decides, as they would on the walk).
 */
static int spread_scan(struct place_ctx *c, uint64_t key, uint32_t past, uint32_t *node,
                       uint32_t *steps, uint64_t *dist)
{
	uint32_t best = PLACE_NONE, bests = WALK_CAP;
	uint64_t bestd = 0, d;
	size_t start = past < WALK_CAP ? place_ring_find(c, key) : 0;
	for (size_t k = 0; k < c->nelig; k++) {
		uint32_t n = c->elig[k], st = WALK_CAP;
		if (!node_fits(c, n))
			continue;
		if (place_node_distance(c, n, key, &d) < 0)
			return -1;
		if (past < WALK_CAP) {
			size_t at = place_ring_index(c, n, key + d);
			size_t gap = at >= start ? at - start : at + c->ring_len - start;
			st = gap < WALK_CAP ? (uint32_t)gap : WALK_CAP;
		}
		if (best == PLACE_NONE || st < bests || (st == bests && d < bestd)) {
			best = n;
			bests = st;
			bestd = d;
		}
	}
	*node = best;
	*steps = bests;
	*dist = bestd;
	return 0;
}

/* One replica's walk: its nearest candidate point whose node has not been ruled out. */
struct walk {
	uint64_t dist, key;
	uint32_t replica, node, steps;
	size_t at;          /* ring index, or SIZE_MAX when the candidate came from a scan */
};

/* Advance w until its candidate fits (skipping ruled-out nodes is exact: they stay
 * ruled out). 0, 1 when no eligible node fits at all, -1 on no memory. */
static int walk_settle(struct place_ctx *c, struct walk *w)
{
	if (w->at != SIZE_MAX) {
		for (;;) {
			if (node_fits(c, w->node))
				return 0;
			if (++w->steps >= c->ring_len)
				return 1;
			if (w->steps >= WALK_CAP)
				break;
			if (++w->at == c->ring_len)
				w->at = 0;
			w->node = c->ring_node[w->at];
			w->dist = c->ring_pos[w->at] - w->key;
		}
		w->at = SIZE_MAX;
	}
	if (spread_scan(c, w->key, w->steps, &w->node, &w->steps, &w->dist) < 0)
		return -1;
	return w->node == PLACE_NONE ? 1 : 0;
}

/* Replica r's walk from its key: the first candidate, not yet checked for fit. */
static void walk_start(struct place_ctx *c, struct walk *w, uint64_t sh, uint32_t r, int scan_only)
{
	w->key = place_replica_key(sh, r);
	w->replica = r;
	w->steps = 0;
	w->at = SIZE_MAX;
	if (!scan_only) {
		w->at = place_ring_find(c, w->key);
		w->node = c->ring_node[w->at];
		w->dist = c->ring_pos[w->at] - w->key;
	}
}

#define PREFETCH_AHEAD 8 /* replicas: the ring is far larger than the caches */

/* Start loading what replica r + PREFETCH_AHEAD's walk will read first (its bucket) and
 * what replica r + PREFETCH_AHEAD / 2's will (its first point, node and node state):
 * only a hint, the result does not depend on it. */
static void ring_prefetch(const struct place_ctx *c, uint64_t sh, uint32_t r, uint32_t replicas)
{
	unsigned bsh = 64 - c->bucket_bits;
	if (r + PREFETCH_AHEAD < replicas)
		__builtin_prefetch(&c->bucket[place_replica_key(sh, r + PREFETCH_AHEAD) >> bsh]);
	if (r + PREFETCH_AHEAD / 2 < replicas) {
		uint32_t at = c->bucket[place_replica_key(sh, r + PREFETCH_AHEAD / 2) >> bsh];
		if (at < c->ring_len) {
			__builtin_prefetch(&c->ring_pos[at]);
			__builtin_prefetch(&c->ring_node[at]);
		}
	}
	if (r + 1 < replicas) {
		size_t at = place_ring_find(c, place_replica_key(sh, r + 1));
		__builtin_prefetch(&c->ns[c->ring_node[at]]);
	}
}

/*
 * Spread a service. Every replica walks clockwise from its key over the points of all
 * active nodes (dead ones too, so a death shifts nobody's steps) to the first node that
 * fits (exactly, whatever the walk turns into: a scan past WALK_CAP points, or from the
 * start for a selector matching few nodes). Replicas whose reference node is usable and
 * fits are placed first; then the others in index order, each under the cap of its
 * prefix, ceil((r + 1) / |E|) replicas a node, or if nothing fits that way under the
 * service's cap ceil(replicas / |E|). Replica r thus depends only on replicas 0..r (and
 * the pins): scaling up or down moves no replica that stays.
 * balanced (roundrobin): both tries first count a node holding rr_cap roundrobin
 * replicas as full, then the service's cap is tried without that bound.
 */
static int spread_service(struct place_ctx *c, struct place_slot *slots, int balanced)
{
	const struct place_service *s = c->svc;
	uint64_t sh = place_hash_str(s->name);
	int scan_only = c->has_selector && (uint64_t)c->nelig * c->nelig < c->nring, rc;
	if (place_ring_build(c) < 0)
		return -1;
	/* Prefetch only when placing every replica: pinned ones read nothing of the ring. */
	int prefetch = !scan_only;
	for (uint32_t r = 0; prefetch && r < s->replicas; r++)
		prefetch = slots[r].node == PLACE_NONE;
	uint32_t cap = c->maxper;
	for (uint32_t r = 0; r < s->replicas; r++) {
		if (prefetch)
			ring_prefetch(c, sh, r, s->replicas);
		if (slots[r].node != PLACE_NONE)
			continue;
		uint32_t prefix = (uint32_t)(((uint64_t)r + c->nelig) / c->nelig);
		/* The caps tried in turn: the prefix's, then the service's; a roundrobin
		 * service tries both under its bound first, then the service's without it. */
		struct cap_try tries[3];
		int ntries = 0;
		if (prefix < cap)
			tries[ntries++] = (struct cap_try){prefix, balanced};
		tries[ntries++] = (struct cap_try){cap, balanced};
		if (balanced)
			tries[ntries++] = (struct cap_try){cap, 0};
		struct walk w;
		rc = 1;
		for (int t = 0; t < ntries && rc == 1; t++) {
			c->maxper = tries[t].per;
			c->rr_on = tries[t].bound;
			walk_start(c, &w, sh, r, scan_only);
			rc = walk_settle(c, &w);
		}
		c->maxper = cap;
		c->rr_on = 0;
		if (rc < 0)
			return -1;
		if (rc == 1) {
			/* Nothing fits under the service's cap, and room only shrinks: every replica
			 * not yet placed is pending, for the same reason. */
			pend_rest(slots, r, s->replicas, pending_reason(c));
			return 0;
		}
		slots[r] = (struct place_slot){w.node, PLACE_OK};
		if (node_take(c, w.node) < 0)
			return -1;
	}
	return 0;
}

/* Binpack order: higher CPU utilisation first, then the node active longer (lower
 * activation), then larger CPU capacity, then index. */
static int binpack_better(const struct place_ctx *c, uint32_t a, uint32_t b)
{
	const struct place_nstate *x = &c->ns[a], *y = &c->ns[b];
	if (x->cap_cpu == y->cap_cpu) {
		if (x->used_cpu != y->used_cpu)
			return x->used_cpu > y->used_cpu;
	} else {
		uint64_t cx = x->cap_cpu ? x->cap_cpu : 1, cy = y->cap_cpu ? y->cap_cpu : 1;
		unsigned __int128 l = (unsigned __int128)x->used_cpu * cy;
		unsigned __int128 r = (unsigned __int128)y->used_cpu * cx;
		if (l != r)
			return l > r;
	}
	if (x->activation != y->activation)
		return x->activation < y->activation;
	if (x->cap_cpu != y->cap_cpu)
		return x->cap_cpu > y->cap_cpu;
	return a < b;
}

/* Sift h[i] down a heap of n whose root is its worst node in binpack order. */
static void worst_down(const struct place_ctx *c, uint32_t *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && binpack_better(c, h[m], h[l]))
			m = l;
		if (r < n && binpack_better(c, h[m], h[r]))
			m = r;
		if (m == i)
			return;
		uint32_t t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void worst_up(const struct place_ctx *c, uint32_t *h, size_t i)
{
	while (i) {
		size_t p = (i - 1) / 2;
		if (!binpack_better(c, h[p], h[i]))
			return;
		uint32_t t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

static int cmp_age(const void *a, const void *b, void *arg)
{
	const struct place_ctx *c = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint64_t sx = c->ns[x].activation, sy = c->ns[y].activation;
	if (sx != sy)
		return sx < sy ? -1 : 1;
	return x < y ? -1 : x > y;
}

/*
 * Binpack a service. The best fitting node only gets better as it takes replicas, and
 * the others do not change, so it takes replicas until it stops fitting, then the next
 * best takes over: each node used takes at least one replica. So only the best k of
 * the nodes that fit matter, k the replicas to place: kept in a heap whose root is the
 * worst of them (a node not better than it is not even checked for fit), then sorted
 * best first and walked.
 */
static int binpack_service(struct place_ctx *c, struct place_slot *slots)
{
	const struct place_service *s = c->svc;
	size_t want = 0, n = 0;
	for (uint32_t r = 0; r < s->replicas; r++)
		want += slots[r].node == PLACE_NONE;
	if (!want)
		return 0;
	uint32_t *h = c->heap;
	/* The heap keeps the same nodes whatever the order they come in; in activation
	 * order, among nodes of equal utilisation (at first, all of them) each comes after
	 * those kept and is passed over without a fit check. */
	if (!c->by_age) {
		if (!(c->by_age = malloc((c->nusable ? c->nusable : 1) * sizeof *c->by_age)))
			return -1;
		memcpy(c->by_age, c->usable, c->nusable * sizeof *c->by_age);
		qsort_r(c->by_age, c->nusable, sizeof *c->by_age, cmp_age, c);
	}
	for (size_t k = 0; k < c->nusable; k++) {
		uint32_t e = c->by_age[k];
		if (c->has_selector && c->ns[e].elig_stamp != c->serial)
			continue;
		if (n == want && !binpack_better(c, e, h[0]))
			continue;
		if (!node_fits(c, e))
			continue;
		if (n < want) {
			h[n] = e;
			worst_up(c, h, n++);
		} else {
			h[0] = e;
			worst_down(c, h, n, 0);
		}
	}
	for (size_t m = n; m > 1; m--) { /* heap sort: the worst to the end, best first */
		uint32_t t = h[0];
		h[0] = h[m - 1];
		h[m - 1] = t;
		worst_down(c, h, m - 1, 0);
	}
	size_t at = 0;
	for (uint32_t r = 0; r < s->replicas; r++) {
		if (slots[r].node != PLACE_NONE)
			continue;
		while (at < n && !node_fits(c, h[at]))
			at++;
		if (at == n) {
			pend_rest(slots, r, s->replicas, pending_reason(c));
			return 0;
		}
		slots[r] = (struct place_slot){h[at], PLACE_OK};
		if (node_take(c, h[at]) < 0)
			return -1;
	}
	return 0;
}

static int run_strategy(struct place_ctx *c, struct place_slot *slots)
{
	if (c->svc->strategy == PLACE_BINPACK)
		return binpack_service(c, slots);
	return spread_service(c, slots, c->svc->strategy == PLACE_ROUNDROBIN);
}

/* Whether replica r's reference node p is one it may keep (usable and eligible). */
static int pin_usable(const struct place_ctx *c, uint32_t p)
{
	return p != PLACE_NONE && c->ns[p].usable &&
	       (!c->has_selector || c->ns[p].elig_stamp == c->serial);
}

/* Whether a replica of the current service whose reference node is p stays on p although
 * p is not live: the service is stateful and p has been dead for less than its hold. The
 * room it takes there was the reference's, where every pinned replica fitted; no strategy
 * places anything on a node that is not live, so nothing else competes for it. */
static int pin_held(const struct place_ctx *c, uint32_t p)
{
	if (p == PLACE_NONE || c->ns[p].usable || !c->svc->hold_s)
		return 0;
	const struct place_node *n = c->res->nodes[p];
	return n->active && !n->live && n->dead_s < c->svc->hold_s;
}

/*
 * Replicas whose reference node (the placement with every active node live) is usable
 * and fits stay there, whatever the strategy: a death moves the dead node's replicas
 * and, capacity allowing, no others; the strategy places only the rest. Those first try
 * the room no later service's pinned replicas hold (so a moved replica does not push out
 * a pinned one), then, if nothing fits that way, any room (higher priority wins).
 */
static int place_one_service(struct place_ctx *c, struct place_slot *slots,
                             const struct place_slot *ref)
{
	const struct place_service *s = c->svc;
	for (uint32_t r = 0; r < s->replicas; r++)
		slots[r] = (struct place_slot){PLACE_NONE, PLACE_OK};
	if (!ref)
		return run_strategy(c, slots);
	for (uint32_t r = 0; r < s->replicas; r++) {
		uint32_t p = ref[r].node;
		if (pin_held(c, p)) {
			slots[r] = (struct place_slot){p, PLACE_OK};
			continue;
		}
		if (!pin_usable(c, p))
			continue;
		c->ns[p].res_cpu -= s->cpu_millis;
		c->ns[p].res_mem -= s->mem_mib;
	}
	size_t left = 0;
	for (uint32_t r = 0; r < s->replicas; r++) {
		uint32_t p = ref[r].node;
		if (slots[r].node != PLACE_NONE)
			continue; /* held on its dead node */
		if (!pin_usable(c, p) || !node_fits(c, p)) {
			left++;
			continue;
		}
		slots[r] = (struct place_slot){p, PLACE_OK};
		if (node_take(c, p) < 0)
			return -1;
	}
	if (!left)
		return 0;
	c->use_res = 1;
	int rc = run_strategy(c, slots);
	c->use_res = 0;
	for (uint32_t r = 0; rc == 0 && r < s->replicas; r++)
		if (slots[r].node == PLACE_NONE)
			return run_strategy(c, slots);
	return rc;
}

static int label_match(const struct place_node *n, const struct place_label *sel)
{
	for (size_t k = 0; k < n->nlabels; k++)
		if (strcmp(n->labels[k].key, sel->key) == 0 && strcmp(n->labels[k].value, sel->value) == 0)
			return 1;
	return 0;
}

/* Set up c for service s; returns a pending reason for all replicas, or PLACE_OK. */
static int begin_service(struct place_ctx *c, const struct place_service *s)
{
	c->svc = s;
	c->serial++;
	c->has_selector = s->nselector > 0;
	if (s->exclusive && !c->majority)
		return PLACE_NO_MAJORITY;
	if (!c->has_selector) {
		c->elig = c->usable;
		c->nelig = c->nusable;
	} else {
		c->elig = c->elig_buf;
		c->nelig = 0;
		for (size_t k = 0; k < c->nusable; k++) {
			uint32_t n = c->usable[k];
			size_t m = 0;
			while (m < s->nselector && label_match(c->res->nodes[n], &s->selector[m]))
				m++;
			if (m == s->nselector) {
				c->ns[n].elig_stamp = c->serial;
				c->elig[c->nelig++] = n;
			}
		}
	}
	if (c->nelig == 0)
		return PLACE_NO_LIVE_NODES;
	c->maxper = (uint32_t)((s->replicas + c->nelig - 1) / c->nelig);
	if (c->maxper == 0)
		c->maxper = 1;
	return PLACE_OK;
}

static int setup_nodes(struct place_ctx *c, const struct place_input *in)
{
	struct place_result *r = c->res;
	r->nnodes = in->nnodes;
	r->nodes = malloc((in->nnodes ? in->nnodes : 1) * sizeof *r->nodes);
	c->ns = calloc(in->nnodes ? in->nnodes : 1, sizeof *c->ns);
	c->usable = malloc((in->nnodes ? in->nnodes : 1) * sizeof *c->usable);
	c->ringset = malloc((in->nnodes ? in->nnodes : 1) * sizeof *c->ringset);
	c->elig_buf = malloc((in->nnodes ? in->nnodes : 1) * sizeof *c->elig_buf);
	c->heap = malloc((in->nnodes ? in->nnodes : 1) * sizeof *c->heap);
	if (!r->nodes || !c->ns || !c->usable || !c->ringset || !c->elig_buf || !c->heap)
		return -1;
	for (size_t i = 0; i < in->nnodes; i++)
		r->nodes[i] = &in->nodes[i];
	qsort(r->nodes, in->nnodes, sizeof *r->nodes, cmp_node_ptr);
	size_t active = 0, live = 0;
	for (size_t i = 0; i < in->nnodes; i++) {
		const struct place_node *n = r->nodes[i];
		if (i && strcmp(r->nodes[i - 1]->address, n->address) == 0)
			return -2;
		c->ns[i].free_cpu = c->ns[i].cap_cpu = n->cpu_millis;
		c->ns[i].free_mem = n->mem_mib;
		c->ns[i].activation = n->activation;
		if (!n->active)
			continue;
		active++;
		c->ringset[c->nring++] = (uint32_t)i;
		if (n->live) {
			c->ns[i].usable = 1;
			live++;
			c->usable[c->nusable++] = (uint32_t)i;
		}
	}
	c->majority = live * 2 > active;
	return 0;
}

static int setup_services(struct place_ctx *c, const struct place_input *in, uint32_t **order)
{
	struct place_result *r = c->res;
	size_t ns = in->nservices ? in->nservices : 1;
	r->nservices = in->nservices;
	r->services = malloc(ns * sizeof *r->services);
	r->first = malloc((ns + 1) * sizeof *r->first);
	struct order_arg *o = malloc(ns * sizeof *o);
	*order = malloc(ns * sizeof **order);
	if (!r->services || !r->first || !o || !*order) {
		free(o);
		return -1;
	}
	for (size_t i = 0; i < in->nservices; i++)
		r->services[i] = &in->services[i];
	qsort(r->services, in->nservices, sizeof *r->services, cmp_service_name);
	size_t at = 0;
	for (size_t i = 0; i < in->nservices; i++) {
		if (i && strcmp(r->services[i - 1]->name, r->services[i]->name) == 0) {
			free(o);
			return -2;
		}
		r->first[i] = at;
		at += r->services[i]->replicas;
		o[i] = (struct order_arg){r->services, (uint32_t)i};
	}
	r->first[in->nservices] = at;
	r->nslots = at;
	qsort(o, in->nservices, sizeof *o, cmp_priority);
	for (size_t i = 0; i < in->nservices; i++)
		(*order)[i] = o[i].idx;
	free(o);
	r->slots = malloc((at ? at : 1) * sizeof *r->slots);
	return r->slots ? 0 : -1;
}

void place_result_free(struct place_result *r)
{
	if (!r)
		return;
	free(r->services);
	free(r->first);
	free(r->slots);
	free(r->nodes);
	free(r->svc_hash);
	free(r);
}

/* Hold the room of every replica that may keep its reference node (usable, and its
 * service not refused for want of a majority); place_one_service releases a service's
 * share before placing it. Selectors do not change with liveness: a reference node
 * matched the service's. Pinned replicas fitted together in the reference, so a node's
 * reservations never exceed its capacity. */
static void reserve_pins(struct place_ctx *c, const struct place_result *ref)
{
	for (size_t i = 0; i < c->res->nservices; i++) {
		const struct place_service *s = c->res->services[i];
		if (s->exclusive && !c->majority)
			continue;
		const struct place_slot *rs = ref->slots + ref->first[i];
		for (uint32_t r = 0; r < s->replicas; r++) {
			uint32_t p = rs[r].node;
			if (p == PLACE_NONE || !c->ns[p].usable)
				continue;
			c->ns[p].res_cpu += s->cpu_millis;
			c->ns[p].res_mem += s->mem_mib;
		}
	}
}

/*
 * ref: the reference placement of the same input with every active node live, or NULL
 * (only its counts, first, slots and svc_hash are read); exact: every active node is
 * live, so ref is the answer. ring: a spread ring of this input's active nodes to use
 * (taken), and where the ring built or used is left; or NULL.
 */
int place_run(const struct place_input *in, const struct place_result *ref, int exact,
              struct place_ring *ring, struct place_result **out, char *err, size_t errlen)
{
	*out = NULL;
	struct place_ctx c;
	memset(&c, 0, sizeof c);
	uint32_t *order = NULL;
	int rc = -1, st;
	if (ring && ring->bucket) {
		c.ring_pos = ring->pos;
		c.ring_node = ring->node;
		c.bucket = ring->bucket;
		c.bucket_bits = ring->bits;
		*ring = (struct place_ring){0};
	}
	c.res = calloc(1, sizeof *c.res);
	if (!c.res)
		goto nomem;
	if ((st = setup_nodes(&c, in)) == -2) {
		snprintf(err, errlen, "duplicate node address");
		goto done;
	} else if (st < 0) {
		goto nomem;
	}
	if ((st = setup_services(&c, in, &order)) == -2) {
		snprintf(err, errlen, "duplicate service name");
		goto done;
	} else if (st < 0) {
		goto nomem;
	}
	uint64_t rr_total = 0;
	for (size_t i = 0; i < c.res->nservices; i++)
		if (c.res->services[i]->strategy == PLACE_ROUNDROBIN)
			rr_total += c.res->services[i]->replicas;
	if (c.nusable) {
		uint64_t b = (RR_BOUND_NUM * rr_total + RR_BOUND_DEN * c.nusable - 1) /
		             (RR_BOUND_DEN * c.nusable);
		c.rr_cap = b ? (uint32_t)b : 1;
	}
	if (ref && exact)
		memcpy(c.res->slots, ref->slots, c.res->nslots * sizeof *c.res->slots);
	else if (ref)
		reserve_pins(&c, ref);
	for (size_t i = 0; i < c.res->nservices && !(ref && exact); i++) {
		const struct place_service *s = c.res->services[order[i]];
		struct place_slot *slots = c.res->slots + c.res->first[order[i]];
		int why = begin_service(&c, s);
		if (why != PLACE_OK) {
			for (uint32_t k = 0; k < s->replicas; k++)
				slots[k] = (struct place_slot){PLACE_NONE, (uint8_t)why};
			continue;
		}
		if (place_one_service(&c, slots, ref ? ref->slots + ref->first[order[i]] : NULL) < 0)
			goto nomem;
	}
	for (size_t i = 0; i < c.res->nslots; i++) {
		if (c.res->slots[i].node == PLACE_NONE)
			c.res->pending++;
		else
			c.res->placed++;
	}
	if (place_hash_result(c.res, ref) < 0)
		goto nomem;
	*out = c.res;
	c.res = NULL;
	rc = 0;
	goto done;
nomem:
	snprintf(err, errlen, "out of memory");
done:
	if (ring && c.bucket && !ring->bucket) {
		*ring = (struct place_ring){c.ring_pos, c.ring_node, c.bucket, c.bucket_bits};
		c.ring_pos = NULL;
		c.ring_node = NULL;
		c.bucket = NULL;
	}
	place_ctx_free(&c);
	place_result_free(c.res);
	free(order);
	return rc;
}

int place_compute(const struct place_input *in, struct place_result **out, char *err,
                  size_t errlen)
{
	*out = NULL;
	struct place_cache *cache = place_cache_once();
	if (!cache) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = place_compute_cached(in, cache, out, err, errlen);
	place_cache_free(cache);
	return rc;
}
