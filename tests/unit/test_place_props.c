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
		                                  .active = 1, .live = 1, .activation = i + 1};
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

/* Services of one replica each on n nodes (where roundrobin's bound binds most). */
static void singles(struct tl_cluster *c, size_t n, size_t nsvcs, int strategy)
{
	steady(c, n, 0, 1, 10, 10, strategy);
	c->svcs = realloc(c->svcs, nsvcs * sizeof *c->svcs);
	c->names = realloc(c->names, (n + 1 + nsvcs) * TL_NAME);
	if (!c->svcs || !c->names)
		exit(1);
	for (size_t i = 0; i <= n; i++)
		c->nodes[i].address = c->names + i * TL_NAME;
	for (size_t i = 0; i < nsvcs; i++) {
		char *name = c->names + (n + 1 + i) * TL_NAME;
		snprintf(name, TL_NAME, "one%zu", i);
		c->svcs[i] = (struct place_service){.name = name, .replicas = 1, .cpu_millis = 10,
		                                    .mem_mib = 16, .strategy = strategy, .generation = 1};
	}
	c->nsvcs = nsvcs;
}

/* The spare node (index nnodes) joins: replicas moved and those now on the newcomer. */
static void join_once(struct tl_cluster *c, size_t *moved, size_t *ideal)
{
	struct place_result *base = tl_place(c);
	c->nnodes++;
	struct place_result *r = tl_place(c);
	*moved = place_moved(base, r);
	*ideal = place_count_on(r, c->nodes[c->nnodes - 1].address);
	c->nnodes--;
	place_result_free(r);
	place_result_free(base);
}

/* Binpack fills the nodes that became active first (the contract's activation) first, so a
 * node joining, the newest, takes only what fits nowhere else: with room to spare it
 * moves nothing, and at full load it takes pending replicas and moves almost none (a
 * replica moves when the newcomer, holding some, is busier than its node). Clusters
 * whose services have no more replicas than nodes (more would lower the per-node cap of
 * a service, which moves replicas whatever the strategy). */
static void test_binpack_join(void)
{
	struct tl_cluster c;
	size_t moved, ideal;
	tl_seed(303);
	steady(&c, 60, 50, 10, 50, 250, PLACE_BINPACK);
	join_once(&c, &moved, &ideal);
	ok(moved == 0, "binpack: node join, 60 nodes at 50%% CPU: moved %zu (the new node holds %zu)",
	   moved, ideal);
	tl_free(&c);
	static const unsigned loads[][2] = {{5, 60}, {80, 110}};
	for (size_t l = 0; l < 2; l++) {
		size_t tm = 0, ti = 0, pend = 0;
		tl_seed(313 + l);
		for (int k = 0; k < 100; k++) {
			size_t n = (size_t)tl_in(3, 40);
			steady(&c, n, (unsigned)tl_in(loads[l][0], loads[l][1]), (uint32_t)(n < 8 ? n : 8),
			       10, 2000, PLACE_BINPACK);
			struct place_result *base = tl_place(&c);
			pend += base->pending;
			place_result_free(base);
			join_once(&c, &moved, &ideal);
			tm += moved;
			ti += ideal;
			tl_free(&c);
		}
		ok(l == 0 ? tm == 0 : pend > 0 && ti > 0 && tm * 50 <= ti,
		   "binpack: 100 random clusters at %u-%u%% CPU, a node joins each: moved %zu; the new "
		   "nodes took %zu replicas (%zu were pending before)", loads[l][0], loads[l][1], tm, ti, pend);
	}
}

/* A node joining moves about what it then holds. Beyond that ideal: replicas that had
 * walked past a node the newcomer relieves may step back to a nearer one (with
 * roundrobin also past a node its bound had closed). */
static void test_node_join(int st)
{
	const char *sn = place_strategy_str(st);
	struct tl_cluster c;
	size_t moved, ideal, tm = 0, ti = 0;
	double worst = 0;
	tl_seed(303);
	steady(&c, 60, 50, 10, 50, 250, st);
	join_once(&c, &moved, &ideal);
	ok(ideal > 0 && moved <= ideal + ideal / 4 + 1,
	   "%s: node join, 60 nodes at 50%% CPU: moved %zu, ideal %zu (the replicas now on the new "
	   "node), ratio %.3f", sn, moved, ideal, ideal ? (double)moved / (double)ideal : 0.0);
	tl_free(&c);

	/* Random clusters: 3-40 nodes, 5-60% CPU, 1-8 replicas a service. */
	tl_seed(313);
	for (int k = 0; k < 100; k++) {
		steady(&c, (size_t)tl_in(3, 40), (unsigned)tl_in(5, 60), (uint32_t)tl_in(1, 8), 10, 300, st);
		join_once(&c, &moved, &ideal);
		tm += moved;
		ti += ideal;
		if (ideal && (double)moved / (double)ideal > worst)
			worst = (double)moved / (double)ideal;
		tl_free(&c);
	}
	ok(ti > 0 && tm <= ti + ti / 4,
	   "%s: 100 random clusters, a node joins each: moved %zu, ideal %zu, ratio %.3f (<= 1.25; "
	   "the worst join %.2f)", sn, tm, ti, ti ? (double)tm / (double)ti : 0.0, worst);

	/* One-replica services, 20 a node. */
	tm = ti = 0;
	for (size_t n = 20; n <= 200; n *= 10) {
		singles(&c, n, n * 20, st);
		join_once(&c, &moved, &ideal);
		tm += moved;
		ti += ideal;
		tl_free(&c);
	}
	ok(ti > 0 && tm <= ti + ti / 2,
	   "%s: one-replica services, 20 a node, on 20 and 200 nodes: a join moved %zu, ideal %zu, "
	   "ratio %.3f (<= 1.5)", sn, tm, ti, ti ? (double)tm / (double)ti : 0.0);
}

/* Scale every third service up by `by` and back: replicas moved each way (of those that
 * stay), and whether the way back restores the hash. */
static void scale_there_and_back(struct tl_cluster *c, uint32_t by, size_t *added, size_t *up_moved,
                                 size_t *down_moved, int *restored, size_t *placed)
{
	struct place_result *base = tl_place(c);
	*added = 0;
	for (size_t i = 0; i < c->nsvcs; i += 3) {
		c->svcs[i].replicas += by;
		*added += by;
	}
	struct place_result *up = tl_place(c);
	for (size_t i = 0; i < c->nsvcs; i += 3)
		c->svcs[i].replicas -= by;
	struct place_result *down = tl_place(c);
	*up_moved = place_moved(base, up);
	*down_moved = place_moved(up, down);
	*restored = strcmp(down->hash_hex, base->hash_hex) == 0;
	*placed = base->placed;
	place_result_free(base);
	place_result_free(up);
	place_result_free(down);
}

static int cmp_place_order(const void *a, const void *b)
{
	const struct place_service *x = *(const struct place_service *const *)a;
	const struct place_service *y = *(const struct place_service *const *)b;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Replicas of service name (its first `upto`) on another node in b than in a. */
static size_t moved_of(const struct place_result *a, const struct place_result *b, const char *name,
                       uint32_t upto)
{
	size_t ia = 0, ib = 0, m = 0;
	while (ia < a->nservices && strcmp(a->services[ia]->name, name) != 0)
		ia++;
	while (ib < b->nservices && strcmp(b->services[ib]->name, name) != 0)
		ib++;
	if (ia == a->nservices || ib == b->nservices)
		return SIZE_MAX;
	for (uint32_t k = 0; k < upto; k++) {
		const char *x = place_slot_node(a, &a->slots[a->first[ia] + k]);
		const char *y = place_slot_node(b, &b->slots[b->first[ib] + k]);
		m += (x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0);
	}
	return m;
}

/* Binpack fills one order of nodes with the services in placement order, so a service
 * taking more room changes where every later one lands: scaling moves none of the
 * replicas of the services placed before it (nor its own, unless its per-node cap
 * grows), and scaling back restores the placement. */
static void test_binpack_scale(void)
{
	struct tl_cluster c;
	size_t bad = 0, later = 0, cases = 0;
	tl_seed(404);
	for (int k = 0; k < 40; k++) {
		steady(&c, (size_t)tl_in(5, 80), (unsigned)tl_in(10, 70), 10, 50, 250, PLACE_BINPACK);
		const struct place_service **ord = tl_calloc(c.nsvcs, sizeof *ord);
		for (size_t i = 0; i < c.nsvcs; i++)
			ord[i] = &c.svcs[i];
		qsort(ord, c.nsvcs, sizeof *ord, cmp_place_order);
		struct place_service *mid = (struct place_service *)ord[c.nsvcs / 2];
		struct place_result *base = tl_place(&c);
		uint32_t was = mid->replicas;
		mid->replicas += 4;
		struct place_result *up = tl_place(&c);
		/* Its own replicas stay unless its per-node cap ceil(replicas / nodes) grew. */
		size_t n = c.nnodes;
		int same_cap = (was + 4 + n - 1) / n == (was + n - 1) / n;
		for (size_t i = 0; i < c.nsvcs / 2; i++)
			bad += moved_of(base, up, ord[i]->name, ord[i]->replicas);
		if (same_cap)
			bad += moved_of(base, up, mid->name, was);
		for (size_t i = c.nsvcs / 2 + 1; i < c.nsvcs; i++)
			later += moved_of(base, up, ord[i]->name, ord[i]->replicas);
		mid->replicas = was;
		struct place_result *down = tl_place(&c);
		bad += strcmp(down->hash_hex, base->hash_hex) != 0;
		cases++;
		place_result_free(base);
		place_result_free(up);
		place_result_free(down);
		free(ord);
		tl_free(&c);
	}
	ok(bad == 0, "binpack: %zu clusters, the middle service in placement order up by 4 and back: "
	   "no replica of it or of the services before it moved, the placement restored (%zu "
	   "replicas of later services moved)", cases, later);
}

/* Spread: scaling moves no replica that stays, ever. Roundrobin: its bound rises and
 * falls with the number of roundrobin replicas, so a replica its bound had turned from
 * a node may step back (up) or on (down): a few in a thousand, a few in a hundred where
 * every service has one replica and the bound binds most. */
static void test_scale(int st)
{
	const char *sn = place_strategy_str(st);
	int spread = st == PLACE_SPREAD, restored;
	struct tl_cluster c;
	size_t added, um, dm, placed;
	tl_seed(404);
	steady(&c, 80, 40, 10, 50, 250, st);
	scale_there_and_back(&c, 4, &added, &um, &dm, &restored, &placed);
	size_t most = spread ? 0 : placed / 500;
	ok(um <= most && dm <= most && restored,
	   "%s: 80 nodes, every third service up by 4 (%zu new replicas) and back: %zu and %zu of "
	   "%zu replicas moved (at most %zu), the placement restored", sn, added, um, dm, placed, most);
	tl_free(&c);

	for (size_t n = 20; n <= 200; n *= 10) {
		singles(&c, n, n * 20, st);
		scale_there_and_back(&c, 1, &added, &um, &dm, &restored, &placed);
		most = spread ? 0 : placed * 3 / 100;
		ok(um <= most && dm <= most && restored,
		   "%s: %zu one-replica services on %zu nodes, every third up by 1 and back: %zu and "
		   "%zu moved (at most %zu), the placement restored", sn, placed, n, um, dm, most);
		tl_free(&c);
	}

	/* Small clusters, one replica at a time from 1 to 3 per node and more (the per-node cap
	 * grows on the way). */
	tl_seed(405);
	size_t steps = 0, bad = 0, moved = 0, total = 0;
	for (int k = 0; k < 100; k++) {
		steady(&c, (size_t)tl_in(2, 6), 5, 1, 10, 50, st);
		struct place_result *base = tl_place(&c);
		for (uint32_t n = 2; n <= 3 * c.nnodes + 1; n++) {
			for (size_t i = 0; i < c.nsvcs; i++)
				c.svcs[i].replicas = n;
			struct place_result *up = tl_place(&c);
			size_t m = place_moved(base, up);
			bad += m != 0;
			moved += m;
			total += base->placed;
			steps++;
			place_result_free(base);
			base = up;
		}
		place_result_free(base);
		tl_free(&c);
	}
	most = spread ? 0 : total / 1000;
	ok(steps > 500 && (spread ? bad == 0 : moved <= most),
	   "%s: %zu scale steps of every service by one replica on 2-6 nodes: %zu moved a replica, "
	   "%zu of %zu replicas moved (at most %zu)", sn, steps, bad, moved, total, most);
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
	for (int st = PLACE_SPREAD; st <= PLACE_ROUNDROBIN; st++) {
		test_node_join(st);
		test_scale(st);
	}
	test_binpack_join();
	test_binpack_scale();
	test_return();
	return done_testing();
}
