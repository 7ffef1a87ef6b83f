/* place_testlib.h: random cluster generator and invariant checks for the placement tests. */
#ifndef PLACE_TESTLIB_H
#define PLACE_TESTLIB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "place.h"

static uint64_t tl_state;
static inline void tl_seed(uint64_t s) { tl_state = s * 0x9e3779b97f4a7c15ULL + 0x1234567ULL; }
static inline uint64_t tl_rnd(void)
{
	tl_state ^= tl_state >> 12;
	tl_state ^= tl_state << 25;
	tl_state ^= tl_state >> 27;
	return tl_state * 0x2545f4914f6cdd1dULL;
}
static inline uint64_t tl_in(uint64_t lo, uint64_t hi) { return lo + tl_rnd() % (hi - lo + 1); }

#define TL_NAME 48
#define TL_MAXL 3

struct tl_cluster {
	struct place_node *nodes;
	struct place_service *svcs;
	struct place_label *nlabels, *sel;
	struct place_port *ports;
	char *names;
	size_t nnodes, nsvcs;
};

static const char *const tl_lk[] = {"zone", "disk", "gpu"};
static const char *const tl_lv[] = {"a", "b", "c"};

static inline void *tl_calloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);
	if (!p) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	return p;
}

/* A random cluster: small pools of ports and labels so conflicts and selectors bite. */
static inline void tl_random(struct tl_cluster *c, size_t maxnodes, size_t maxsvcs, uint32_t maxrep)
{
	memset(c, 0, sizeof *c);
	c->nnodes = (size_t)tl_in(0, maxnodes);
	c->nsvcs = (size_t)tl_in(0, maxsvcs);
	c->nodes = tl_calloc(c->nnodes, sizeof *c->nodes);
	c->svcs = tl_calloc(c->nsvcs, sizeof *c->svcs);
	c->nlabels = tl_calloc(c->nnodes * TL_MAXL, sizeof *c->nlabels);
	c->sel = tl_calloc(c->nsvcs * 2, sizeof *c->sel);
	c->ports = tl_calloc(c->nsvcs * 2, sizeof *c->ports);
	c->names = tl_calloc(c->nnodes + c->nsvcs, TL_NAME);
	for (size_t i = 0; i < c->nnodes; i++) {
		char *a = c->names + i * TL_NAME;
		snprintf(a, TL_NAME, "0x%016llx%016llx%08llx", (unsigned long long)tl_rnd(),
		         (unsigned long long)tl_rnd(), (unsigned long long)(tl_rnd() & 0xffffffffULL));
		struct place_node *n = &c->nodes[i];
		n->address = a;
		n->cpu_millis = tl_in(0, 8) * 500;
		n->mem_mib = tl_in(0, 8) * 512;
		n->active = tl_in(0, 9) != 0;
		n->live = tl_in(0, 5) != 0;
		n->labels = &c->nlabels[i * TL_MAXL];
		for (size_t k = 0; k < TL_MAXL; k++)
			if (tl_in(0, 1))
				c->nlabels[i * TL_MAXL + n->nlabels++] =
				    (struct place_label){tl_lk[k], tl_lv[tl_in(0, 2)]};
	}
	for (size_t i = 0; i < c->nsvcs; i++) {
		char *name = c->names + (c->nnodes + i) * TL_NAME;
		snprintf(name, TL_NAME, "s%zu-%llu", i, (unsigned long long)tl_in(0, 999));
		struct place_service *s = &c->svcs[i];
		s->name = name;
		s->replicas = (uint32_t)tl_in(0, maxrep);
		s->cpu_millis = tl_in(0, 6) * 250;
		s->mem_mib = tl_in(0, 6) * 256;
		s->priority = (int64_t)tl_in(0, 4) - 2;
		s->strategy = (int)tl_in(0, 5) < 4 ? PLACE_SPREAD : (int)tl_in(1, 2);
		s->exclusive = tl_in(0, 7) == 0;
		s->generation = tl_in(1, 5);
		s->ports = &c->ports[i * 2];
		for (size_t k = 0, np = (size_t)tl_in(0, 3); k < np && k < 2; k++)
			c->ports[i * 2 + s->nports++] =
			    (struct place_port){(uint16_t)tl_in(0, 4) * 1000, 80, (uint8_t)tl_in(0, 1)};
		if (s->nports == 2 && c->ports[i * 2].host == c->ports[i * 2 + 1].host &&
		    c->ports[i * 2].proto == c->ports[i * 2 + 1].proto)
			s->nports = 1;
		s->selector = &c->sel[i * 2];
		if (tl_in(0, 3) == 0)
			c->sel[i * 2 + s->nselector++] =
			    (struct place_label){tl_lk[tl_in(0, 2)], tl_lv[tl_in(0, 2)]};
	}
}

static inline void tl_free(struct tl_cluster *c)
{
	free(c->nodes);
	free(c->svcs);
	free(c->nlabels);
	free(c->sel);
	free(c->ports);
	free(c->names);
}

static inline struct place_result *tl_place(const struct tl_cluster *c)
{
	struct place_input in = {c->svcs, c->nsvcs, c->nodes, c->nnodes};
	struct place_result *r = NULL;
	char err[256];
	if (place_compute(&in, &r, err, sizeof err) < 0) {
		printf("# place_compute: %s\n", err);
		return NULL;
	}
	return r;
}

static inline int tl_matches(const struct place_node *n, const struct place_service *s)
{
	for (size_t k = 0; k < s->nselector; k++) {
		int hit = 0;
		for (size_t j = 0; j < n->nlabels; j++)
			hit |= strcmp(n->labels[j].key, s->selector[k].key) == 0 &&
			       strcmp(n->labels[j].value, s->selector[k].value) == 0;
		if (!hit)
			return 0;
	}
	return 1;
}

/* Every invariant of canteen-sched(8) checked from the outside. Returns a description of
 * the first violation in why, or 0. */
static inline int tl_check(const struct place_result *r, char *why, size_t whylen)
{
	size_t nn = r->nnodes, ns = r->nservices;
	uint64_t *cpu = tl_calloc(nn, sizeof *cpu), *mem = tl_calloc(nn, sizeof *mem);
	uint32_t *count = tl_calloc(nn * (ns ? ns : 1), sizeof *count);
	uint8_t *port = tl_calloc(nn * 2 * 65536 / 8 + 1, 1);
	size_t active = 0, live = 0;
	int bad = 0;
	for (size_t n = 0; n < nn; n++) {
		active += r->nodes[n]->active != 0;
		live += r->nodes[n]->active && r->nodes[n]->live;
	}
	int majority = live * 2 > active;
	uint32_t *elig = tl_calloc(ns ? ns : 1, sizeof *elig);
	for (size_t i = 0; i < ns; i++)
		for (size_t n = 0; n < nn; n++)
			elig[i] += r->nodes[n]->active && r->nodes[n]->live && tl_matches(r->nodes[n], r->services[i]);
#define FAIL(...) do { if (!bad) snprintf(why, whylen, __VA_ARGS__); bad = 1; } while (0)
	for (size_t i = 0; i < ns; i++) {
		const struct place_service *s = r->services[i];
		for (uint32_t k = 0; k < s->replicas; k++) {
			const struct place_slot *sl = &r->slots[r->first[i] + k];
			if (sl->node == PLACE_NONE)
				continue;
			const struct place_node *n = r->nodes[sl->node];
			if (!n->active || !n->live || !tl_matches(n, s))
				FAIL("%s/%u on an ineligible node", s->name, k);
			if (s->exclusive && !majority)
				FAIL("%s/%u exclusive placed without majority", s->name, k);
			cpu[sl->node] += s->cpu_millis;
			mem[sl->node] += s->mem_mib;
			count[sl->node * ns + i]++;
			for (size_t p = 0; p < s->nports; p++) {
				if (!s->ports[p].host)
					continue;
				size_t bit = (sl->node * 2 + s->ports[p].proto) * 65536 + s->ports[p].host;
				if (port[bit / 8] & (1u << (bit % 8)))
					FAIL("port %u conflict on %s", s->ports[p].host, n->address);
				port[bit / 8] |= (uint8_t)(1u << (bit % 8));
			}
		}
	}
	for (size_t n = 0; n < nn; n++) {
		if (cpu[n] > r->nodes[n]->cpu_millis || mem[n] > r->nodes[n]->mem_mib)
			FAIL("capacity exceeded on %s", r->nodes[n]->address);
		for (size_t i = 0; i < ns; i++) {
			uint32_t m = elig[i] ? (r->services[i]->replicas + elig[i] - 1) / elig[i] : 1;
			if (count[n * ns + i] > (m ? m : 1))
				FAIL("anti-affinity: %u of %s on one node (max %u)", count[n * ns + i],
				     r->services[i]->name, m);
		}
	}
	/* Pending only when nothing fits, with the documented reason. */
	for (size_t i = 0; i < ns; i++) {
		const struct place_service *s = r->services[i];
		uint32_t m = elig[i] ? (s->replicas + elig[i] - 1) / elig[i] : 1;
		for (uint32_t k = 0; k < s->replicas; k++) {
			const struct place_slot *sl = &r->slots[r->first[i] + k];
			if (sl->node != PLACE_NONE)
				continue;
			int want;
			if (s->exclusive && !majority)
				want = PLACE_NO_MAJORITY;
			else if (!elig[i])
				want = PLACE_NO_LIVE_NODES;
			else {
				int c_ok = 0, both = 0, fits = 0;
				for (size_t n = 0; n < nn; n++) {
					const struct place_node *nd = r->nodes[n];
					if (!nd->active || !nd->live || !tl_matches(nd, s) || count[n * ns + i] >= m)
						continue;
					if (cpu[n] + s->cpu_millis > nd->cpu_millis)
						continue;
					c_ok = 1;
					if (mem[n] + s->mem_mib > nd->mem_mib)
						continue;
					both = 1;
					int pf = 1;
					for (size_t p = 0; p < s->nports; p++) {
						size_t bit = (n * 2 + s->ports[p].proto) * 65536 + s->ports[p].host;
						if (s->ports[p].host && (port[bit / 8] & (1u << (bit % 8))))
							pf = 0;
					}
					fits |= pf;
				}
				if (fits)
					FAIL("%s/%u pending although a node fits", s->name, k);
				want = !c_ok ? PLACE_INSUFFICIENT_CPU : !both ? PLACE_INSUFFICIENT_MEMORY
				                                              : PLACE_PORT_CONFLICT;
			}
			/* The reason is decided when the replica fails; resources only shrink after,
			 * so the reason seen now may be an earlier one in the cpu, memory, port order. */
			int exact = want == PLACE_NO_MAJORITY || want == PLACE_NO_LIVE_NODES ||
			            sl->reason == PLACE_NO_MAJORITY || sl->reason == PLACE_NO_LIVE_NODES;
			if (exact ? sl->reason != want : sl->reason < want)
				FAIL("%s/%u pending '%s', expected '%s'", s->name, k,
				     place_reason_str(sl->reason), place_reason_str(want));
			/* A lower priority replica of the same size placed where this one could go. */
			for (size_t j = 0; j < ns && !(s->exclusive && !majority); j++) {
				const struct place_service *o = r->services[j];
				if (o->priority >= s->priority || o->cpu_millis != s->cpu_millis ||
				    o->mem_mib != s->mem_mib)
					continue;
				for (uint32_t q = 0; q < o->replicas; q++) {
					uint32_t n = r->slots[r->first[j] + q].node;
					if (n == PLACE_NONE || !tl_matches(r->nodes[n], s) || count[n * ns + i] >= m)
						continue;
					int pf = 1;
					for (size_t p = 0; p < s->nports; p++) {
						size_t bit = (n * 2 + s->ports[p].proto) * 65536 + s->ports[p].host;
						if (s->ports[p].host && (port[bit / 8] & (1u << (bit % 8))))
							pf = 0;
					}
					if (pf)
						FAIL("%s/%u pending while lower priority %s/%u placed", s->name, k,
						     o->name, q);
				}
			}
		}
	}
#undef FAIL
	free(cpu);
	free(mem);
	free(count);
	free(port);
	free(elig);
	return bad;
}

#endif
