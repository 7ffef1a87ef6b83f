/* test_place_props.c: seeded property tests over random clusters, and disruption measured. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "place.h"
#include "place_testlib.h"
#include "tap.h"

#define CASES 3000

/* Invariants on thousands of random small clusters; reproducible from the seed. */
static void test_properties(void)
{
	int bad = 0, reorder_bad = 0;
	uint64_t placed = 0, pending = 0;
	char why[256] = "";
	for (uint64_t seed = 1; seed <= CASES; seed++) {
		tl_seed(seed);
		struct tl_cluster c;
		tl_random(&c, 24, 16, 12);
		struct place_result *r = tl_place(&c);
		if (!r) {
			if (!bad)
				snprintf(why, sizeof why, "seed %llu: place_compute failed", (unsigned long long)seed);
			bad++;
			tl_free(&c);
			continue;
		}
		char w[200];
		if (tl_check(r, w, sizeof w)) {
			if (!bad)
				snprintf(why, sizeof why, "seed %llu: %s", (unsigned long long)seed, w);
			bad++;
		}
		placed += r->placed;
		pending += r->pending;
		/* Reversed input order: byte-identical result. */
		char h[65];
		memcpy(h, r->hash_hex, sizeof h);
		for (size_t i = 0; i < c.nnodes / 2; i++) {
			struct place_node t = c.nodes[i];
			c.nodes[i] = c.nodes[c.nnodes - 1 - i];
			c.nodes[c.nnodes - 1 - i] = t;
		}
		for (size_t i = 0; i < c.nsvcs / 2; i++) {
			struct place_service t = c.svcs[i];
			c.svcs[i] = c.svcs[c.nsvcs - 1 - i];
			c.svcs[c.nsvcs - 1 - i] = t;
		}
		struct place_result *r2 = tl_place(&c);
		if (!r2 || strcmp(r2->hash_hex, h) != 0)
			reorder_bad++;
		place_result_free(r2);
		place_result_free(r);
		tl_free(&c);
	}
	ok(bad == 0, "%d random clusters: capacity, ports, anti-affinity, eligibility, pending reasons, "
	   "priority (%llu placed, %llu pending) %s", CASES, (unsigned long long)placed,
	   (unsigned long long)pending, why);
	ok(placed > 1000 && pending > 100, "the random clusters exercise both outcomes");
	is_int(reorder_bad, 0, "reversed input order gives the same hash in every case");
}

/* A cluster of n equal nodes and services of 1-maxrep replicas up to load percent. */
static void steady(struct tl_cluster *c, size_t n, unsigned load, uint32_t maxrep, uint64_t lo,
                   uint64_t hi, int strategy)
{
	memset(c, 0, sizeof *c);
	c->nodes = tl_calloc(n + 1, sizeof *c->nodes);
	c->names = tl_calloc(n + 1 + 20000, TL_NAME);
	c->svcs = tl_calloc(20000, sizeof *c->svcs);
	c->nnodes = n;
	for (size_t i = 0; i <= n; i++) {
		char *a = c->names + i * TL_NAME;
		snprintf(a, TL_NAME, "0x%016llx%016llx%08llx", (unsigned long long)tl_rnd(),
		         (unsigned long long)tl_rnd(), (unsigned long long)(tl_rnd() & 0xffffffffULL));
		c->nodes[i] = (struct place_node){.address = a, .cpu_millis = 16000, .mem_mib = 1 << 20,
		                                  .active = 1, .live = 1};
	}
	uint64_t budget = 16000ULL * n * load / 100, used = 0;
	while (used < budget && c->nsvcs < 20000) {
		char *name = c->names + (n + 1 + c->nsvcs) * TL_NAME;
		snprintf(name, TL_NAME, "svc%zu", c->nsvcs);
		struct place_service *s = &c->svcs[c->nsvcs++];
		*s = (struct place_service){.name = name, .replicas = (uint32_t)tl_in(1, maxrep),
		                            .cpu_millis = tl_in(lo, hi), .mem_mib = 64,
		                            .priority = (int64_t)tl_in(0, 2), .strategy = strategy,
		                            .generation = 1};
		used += s->cpu_millis * s->replicas;
	}
}

/* Kill nodes [0, kills) one at a time; add up replicas moved and replicas lost. */
static void kill_each(struct tl_cluster *c, const struct place_result *base, size_t kills,
                      size_t *moved, size_t *lost)
{
	*moved = *lost = 0;
	for (size_t k = 0; k < kills; k++) {
		c->nodes[k].live = 0;
		struct place_result *r = tl_place(c);
		*moved += place_moved(base, r);
		*lost += place_count_on(base, c->nodes[k].address);
		place_result_free(r);
		c->nodes[k].live = 1;
	}
}

static void test_node_death(int st)
{
	const char *sn = place_strategy_str(st);
	struct tl_cluster c;
	/* Plenty of room and one replica per service: only the dead node's replicas move. */
	tl_seed(101);
	steady(&c, 50, 30, 1, 100, 300, st);
	struct place_result *base = tl_place(&c);
	size_t moved, lost;
	kill_each(&c, base, 10, &moved, &lost);
	ok(lost > 0 && moved == lost, "%s: node death, room to spare: moved %zu = %zu on the dead nodes",
	   sn, moved, lost);
	place_result_free(base);
	tl_free(&c);

	/* Small clusters where replicas outnumber nodes (so a death raises the per-node cap):
	 * with room to spare, still only the dead node's replicas move. */
	tl_seed(151);
	size_t smoved = 0, slost = 0, bad = 0;
	for (int k = 0; k < 300; k++) {
		steady(&c, (size_t)tl_in(2, 6), 5, 12, 10, 50, st);
		base = tl_place(&c);
		kill_each(&c, base, c.nnodes, &moved, &lost);
		smoved += moved;
		slost += lost;
		bad += moved != lost;
		place_result_free(base);
		tl_free(&c);
	}
	ok(slost > 0 && bad == 0, "%s: 300 small clusters, up to 12 replicas a service: every death "
	   "moved only its own replicas (%zu moved, %zu on the dead nodes, %zu clusters off)", sn,
	   smoved, slost, bad);

	/* The figure: 100 nodes at 70% CPU, services of 1-10 replicas. */
	tl_seed(202);
	steady(&c, 100, 70, 10, 50, 250, st);
	base = tl_place(&c);
	kill_each(&c, base, 100, &moved, &lost);
	double ratio = lost ? (double)moved / (double)lost : 99;
	ok(base->pending == 0 && ratio <= 1.05,
	   "%s: node death at 70%% CPU on 100 nodes: moved/ideal = %zu/%zu = %.3f (<= 1.05)", sn,
	   moved, lost, ratio);
	place_result_free(base);
	tl_free(&c);
}

/* Random clusters of mixed strategies with room to spare, a random node dying (and
 * sometimes a second one): only the dead nodes' replicas move, and their return gives the
 * placement back byte for byte. */
static void test_random_deaths(void)
{
	size_t bad = 0, back_bad = 0, lost_all = 0;
	char why[160] = "";
	tl_seed(171);
	for (int k = 0; k < 200; k++) {
		struct tl_cluster c;
		steady(&c, (size_t)tl_in(3, 30), (unsigned)tl_in(5, 40), (uint32_t)tl_in(1, 8), 10, 300,
		       PLACE_SPREAD);
		for (size_t i = 0; i < c.nsvcs; i++)
			c.svcs[i].strategy = (int)tl_in(0, 2);
		struct place_result *base = tl_place(&c);
		size_t a = (size_t)tl_in(0, c.nnodes - 1), b = (size_t)tl_in(0, c.nnodes - 1);
		int two = tl_in(0, 2) == 0 && a != b;
		c.nodes[a].live = 0;
		if (two)
			c.nodes[b].live = 0;
		struct place_result *r = tl_place(&c);
		size_t lost = place_count_on(base, c.nodes[a].address) +
		              (two ? place_count_on(base, c.nodes[b].address) : 0);
		size_t moved = place_moved(base, r);
		lost_all += lost;
		if (moved != lost && !bad++)
			snprintf(why, sizeof why, "case %d: moved %zu, %zu on the dead", k, moved, lost);
		c.nodes[a].live = c.nodes[b].live = 1;
		struct place_result *back = tl_place(&c);
		back_bad += strcmp(back->hash_hex, base->hash_hex) != 0;
		place_result_free(back);
		place_result_free(r);
		place_result_free(base);
		tl_free(&c);
	}
	ok(lost_all > 0 && bad == 0, "200 random mixed clusters, random deaths: only the dead nodes' "
	   "replicas moved (%zu clusters off) %s", bad, why);
	is_int((int)back_bad, 0, "200 random mixed clusters: the dead nodes' return restores the hash");
}

static void test_node_join(void)
{
	struct tl_cluster c;
	tl_seed(303);
	steady(&c, 60, 50, 10, 50, 250, PLACE_SPREAD);
	struct place_result *base = tl_place(&c);
	c.nnodes++; /* the spare node joins */
	struct place_result *r = tl_place(&c);
	size_t moved = place_moved(base, r), ideal = place_count_on(r, c.nodes[60].address);
	/* Beyond the ideal: replicas that had walked past a node the newcomer relieves may
	 * step back to a nearer one. */
	ok(ideal > 0 && moved <= ideal + ideal / 4 + 1,
	   "node join: moved %zu, ideal %zu (the replicas now on the new node), ratio %.3f", moved,
	   ideal, ideal ? (double)moved / (double)ideal : 0.0);
	place_result_free(r);
	place_result_free(base);
	tl_free(&c);
}

static void test_scale(void)
{
	struct tl_cluster c;
	tl_seed(404);
	steady(&c, 80, 40, 10, 50, 250, PLACE_SPREAD);
	struct place_result *base = tl_place(&c);
	/* Scale up: the new replicas are the ideal change; count existing ones that move. */
	size_t added = 0;
	for (size_t i = 0; i < c.nsvcs; i += 3) {
		c.svcs[i].replicas += 4;
		added += 4;
	}
	struct place_result *up = tl_place(&c);
	size_t moved = place_moved(base, up);
	ok(moved == 0, "scale up by %zu replicas: %zu existing replicas moved (ideal 0)", added, moved);
	/* Scale down back: replicas that remain should stay where they were. */
	for (size_t i = 0; i < c.nsvcs; i += 3)
		c.svcs[i].replicas -= 4;
	struct place_result *down = tl_place(&c);
	moved = place_moved(up, down);
	ok(moved == 0, "scale down by %zu replicas: %zu remaining replicas moved (ideal 0)", added, moved);
	ok(strcmp(down->hash_hex, base->hash_hex) == 0, "scaling up then down restores the placement");
	place_result_free(base);
	place_result_free(up);
	place_result_free(down);
	tl_free(&c);

	/* Small clusters, one replica at a time from 1 to 3 per node and more (the per-node cap
	 * grows on the way): no existing replica ever moves. */
	tl_seed(405);
	size_t steps = 0, bad = 0;
	for (int k = 0; k < 100; k++) {
		steady(&c, (size_t)tl_in(2, 6), 5, 1, 10, 50, PLACE_SPREAD);
		base = tl_place(&c);
		for (uint32_t n = 2; n <= 3 * c.nnodes + 1; n++) {
			for (size_t i = 0; i < c.nsvcs; i++)
				c.svcs[i].replicas = n;
			up = tl_place(&c);
			bad += place_moved(base, up) != 0;
			steps++;
			place_result_free(base);
			base = up;
		}
		place_result_free(base);
		tl_free(&c);
	}
	ok(steps > 500 && bad == 0, "%zu single-replica scale steps on 2-6 nodes: %zu moved a replica", steps, bad);
}

/* Suspect members are live to the placement; only dead/left flips live to 0. A node's
 * return gives the original placement back. */
static void test_return(void)
{
	struct tl_cluster c;
	tl_seed(505);
	steady(&c, 30, 50, 5, 100, 400, PLACE_SPREAD);
	struct place_result *base = tl_place(&c);
	c.nodes[3].live = 0;
	struct place_result *gone = tl_place(&c);
	c.nodes[3].live = 1;
	struct place_result *back = tl_place(&c);
	ok(strcmp(gone->hash_hex, base->hash_hex) != 0 && strcmp(back->hash_hex, base->hash_hex) == 0,
	   "a node that returns gets its replicas back (same hash)");
	place_result_free(base);
	place_result_free(gone);
	place_result_free(back);
	tl_free(&c);
}

int main(void)
{
	test_properties();
	test_node_death(PLACE_SPREAD);
	test_node_death(PLACE_ROUNDROBIN);
	test_node_death(PLACE_BINPACK);
	test_random_deaths();
	test_node_join();
	test_scale();
	test_return();
	return done_testing();
}
