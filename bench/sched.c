/* sched.c: benchmark of the placement function: time at 1M replicas, after a death, disruption. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "place.h"

/* xorshift64*: reproducible clusters for a given seed. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}
static uint64_t rnd_in(uint64_t lo, uint64_t hi) { return lo + rnd() % (hi - lo + 1); }

struct cluster {
	struct place_node *nodes;
	struct place_service *svcs;
	struct place_port *ports;
	char *names;
	size_t nnodes, nsvcs;
};

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);
	if (!p) {
		fprintf(stderr, "bench/sched: out of memory\n");
		exit(1);
	}
	return p;
}

#define NAME_LEN 48

/* nnodes nodes of cpu/mem capacity; services added until total CPU asked reaches
 * load percent of the cluster (or nsvcs services of fixed replicas when fixed > 0). */
static void make_cluster(struct cluster *c, uint64_t seed, size_t nnodes, uint64_t cpu,
                         uint64_t mem, unsigned load, size_t nsvcs, uint32_t fixed,
                         uint64_t cpu_lo, uint64_t cpu_hi, int strategy)
{
	rng_state = seed * 0x9e3779b97f4a7c15ULL + 1;
	c->nnodes = nnodes;
	c->nodes = xcalloc(nnodes, sizeof *c->nodes);
	c->names = xcalloc(nnodes + nsvcs, NAME_LEN);
	for (size_t i = 0; i < nnodes; i++) {
		char *a = c->names + i * NAME_LEN;
		snprintf(a, NAME_LEN, "0x%016llx%016llx%08llx", (unsigned long long)rnd(),
		         (unsigned long long)rnd(), (unsigned long long)(rnd() & 0xffffffffULL));
		c->nodes[i] = (struct place_node){.address = a, .cpu_millis = cpu, .mem_mib = mem,
		                                  .active = 1, .live = 1, .activation = i + 1};
	}
	c->svcs = xcalloc(nsvcs, sizeof *c->svcs);
	c->ports = xcalloc(nsvcs, sizeof *c->ports);
	uint64_t budget = cpu * nnodes / 100 * load, used = 0;
	size_t n = 0;
	while (n < nsvcs && (fixed || used < budget)) {
		char *name = c->names + (nnodes + n) * NAME_LEN;
		snprintf(name, NAME_LEN, "svc-%06zu", n);
		struct place_service *s = &c->svcs[n];
		s->name = name;
		s->replicas = fixed ? fixed : (uint32_t)rnd_in(1, 10);
		s->cpu_millis = rnd_in(cpu_lo, cpu_hi);
		s->mem_mib = rnd_in(64, 512);
		s->priority = (int64_t)rnd_in(0, 3);
		s->strategy = strategy;
		s->generation = 1;
		if (rnd() % 20 == 0) {
			c->ports[n] = (struct place_port){(uint16_t)rnd_in(8000, 8999), 80, PLACE_TCP};
			s->ports = &c->ports[n];
			s->nports = 1;
		}
		used += s->cpu_millis * s->replicas;
		n++;
	}
	c->nsvcs = n;
}

static void free_cluster(struct cluster *c)
{
	free(c->nodes);
	free(c->svcs);
	free(c->ports);
	free(c->names);
}

/* With a cache, as canteen-sched computes; without, from scratch. */
static struct place_result *run_cached(const struct cluster *c, struct place_cache *cache)
{
	struct place_input in = {c->svcs, c->nsvcs, c->nodes, c->nnodes};
	struct place_result *r;
	char err[256];
	int rc = cache ? place_compute_cached(&in, cache, &r, err, sizeof err)
	               : place_compute(&in, &r, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "bench/sched: %s\n", err);
		exit(1);
	}
	return r;
}

static struct place_result *run(const struct cluster *c) { return run_cached(c, NULL); }

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100 nodes of 16 cores at 70% CPU (services of 1-10 replicas of 50-250m); kill each
 * of the first kills nodes in turn: sum(moved) / sum(replicas that were on the killed
 * node), and the worst single kill. */
static double disruption(int strategy, int kills, double *worst, double *join, size_t *jmoved_out,
                         size_t *share_out)
{
	struct cluster c;
	make_cluster(&c, 42, 100, 16000, 1 << 20, 70, 100000, 0, 50, 250, strategy);
	struct place_result *base = run(&c);
	size_t moved = 0, lost = 0;
	*worst = 0;
	for (int k = 0; k < kills; k++) {
		c.nodes[k].live = 0;
		struct place_result *r = run(&c);
		size_t on = place_count_on(base, c.nodes[k].address), m = place_moved(base, r);
		moved += m;
		lost += on;
		if (on && (double)m / (double)on > *worst)
			*worst = (double)m / (double)on;
		place_result_free(r);
		c.nodes[k].live = 1;
	}
	/* Joins: each of those nodes joins the cluster without it, as the newest node (the
	 * contract's activation): moved / its share after. */
	size_t jmoved = 0, share = 0;
	for (int k = 0; k < kills; k++) {
		uint64_t activation = c.nodes[k].activation;
		c.nodes[k].activation = c.nnodes + 1;
		struct place_result *after = run(&c);
		c.nodes[k].active = 0;
		struct place_result *r = run(&c);
		jmoved += place_moved(r, after);
		share += place_count_on(after, c.nodes[k].address);
		place_result_free(r);
		place_result_free(after);
		c.nodes[k].active = 1;
		c.nodes[k].activation = activation;
	}
	*join = share ? (double)jmoved / (double)share : 0;
	*jmoved_out = jmoved;
	*share_out = share;
	place_result_free(base);
	free_cluster(&c);
	return lost ? (double)moved / (double)lost : 0;
}

int main(int argc, char **argv)
{
	size_t nodes = 10000, services = 10000;
	uint32_t replicas = 100;
	const char *only = NULL;
	if (argc >= 4) {
		nodes = strtoul(argv[1], NULL, 10);
		services = strtoul(argv[2], NULL, 10);
		replicas = (uint32_t)strtoul(argv[3], NULL, 10);
		only = argc == 5 ? argv[4] : NULL;
	}
	if ((argc != 1 && argc != 4 && argc != 5) || !nodes || nodes > PLACE_MAX_NODES ||
	    (uint64_t)services * replicas > PLACE_MAX_SLOTS || replicas > PLACE_MAX_REPLICAS) {
		fprintf(stderr, "usage: sched [NODES SERVICES REPLICAS [STRATEGY]]\n");
		return 2;
	}
	static const int order[] = {PLACE_ROUNDROBIN, PLACE_BINPACK, PLACE_SPREAD};
	for (size_t i = 0; i < 3; i++) {
		int st = order[i];
		if (only && strcmp(only, place_strategy_str(st)) != 0)
			continue;
		struct cluster c;
		/* CPU per replica averages 450m: 70% of 64 cores per node at 10k x 100. */
		make_cluster(&c, 7, nodes, 64000, 262144, 0, services, replicas, 100, 800, st);
		/* CPU time of this (single-threaded) process: what one core spends. */
		double t0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
		struct place_cache *cache = place_cache_new();
		if (!cache) {
			fprintf(stderr, "bench/sched: out of memory\n");
			return 1;
		}
		struct place_result *r = run_cached(&c, cache);
		double secs = clock_s(CLOCK_PROCESS_CPUTIME_ID) - t0;
		double wall = clock_s(CLOCK_MONOTONIC) - w0;
		/* The node of the first replica dies at full size: the recompute's time and how
		 * much it moved. */
		size_t dead = 0;
		const char *first = r->nslots ? place_slot_node(r, &r->slots[0]) : NULL;
		while (first && dead + 1 < c.nnodes && strcmp(c.nodes[dead].address, first) != 0)
			dead++;
		c.nodes[dead].live = 0;
		double d0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		struct place_result *dr = run_cached(&c, cache);
		double dsecs = clock_s(CLOCK_PROCESS_CPUTIME_ID) - d0;
		size_t lost = place_count_on(r, c.nodes[dead].address), dmoved = place_moved(r, dr);
		/* Uncached, the same answer. */
		double u0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		struct place_result *ur = run(&c);
		double usecs = clock_s(CLOCK_PROCESS_CPUTIME_ID) - u0;
		if (strcmp(ur->hash_hex, dr->hash_hex) != 0) {
			fprintf(stderr, "bench/sched: cached and uncached placements differ\n");
			return 1;
		}
		place_result_free(ur);
		place_result_free(dr);
		c.nodes[dead].live = 1;
		/* And back: the reference again. */
		double b0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		struct place_result *br = run_cached(&c, cache);
		double bsecs = clock_s(CLOCK_PROCESS_CPUTIME_ID) - b0;
		if (strcmp(br->hash_hex, r->hash_hex) != 0) {
			fprintf(stderr, "bench/sched: the placement after the return differs\n");
			return 1;
		}
		place_result_free(br);
		place_cache_free(cache);
		double worst, join;
		size_t jmoved, jshare;
		double ratio = disruption(st, 20, &worst, &join, &jmoved, &jshare);
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("{\"strategy\":\"%s\",\"replicas\":%zu,\"nodes\":%zu,\"seconds\":%.3f,"
		       "\"wall_seconds\":%.3f,\"placed\":%zu,\"pending\":%zu,\"death_seconds\":%.3f,"
		       "\"death_uncached_seconds\":%.3f,\"return_seconds\":%.3f,"
		       "\"death_moved\":%zu,\"death_lost\":%zu,\"disruption\":%.3f,\"disruption_worst\":%.3f,\"join\":%.3f,"
		       "\"join_moved\":%zu,\"join_share\":%zu,"
		       "\"maxrss_mib\":%ld,\"hash\":\"%s\"}\n",
		       place_strategy_str(st), r->nslots, nodes, secs, wall, r->placed, r->pending, dsecs,
		       usecs, bsecs, dmoved, lost, ratio, worst, join, jmoved, jshare, ru.ru_maxrss / 1024,
		       r->hash_hex);
		fflush(stdout);
		place_result_free(r);
		free_cluster(&c);
	}
	return 0;
}
