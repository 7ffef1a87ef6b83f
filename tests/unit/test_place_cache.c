/* test_place_cache.c: place_compute_cached gives place_compute's answer through any change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "place.h"
#include "place_testlib.h"
#include "tap.h"

static struct place_result *cached(const struct tl_cluster *c, struct place_cache *cache)
{
	struct place_input in = {c->svcs, c->nsvcs, c->nodes, c->nnodes};
	struct place_result *r = NULL;
	char err[256];
	if (place_compute_cached(&in, cache, &r, err, sizeof err) < 0) {
		printf("# place_compute_cached: %s\n", err);
		return NULL;
	}
	return r;
}

/* One random change to anything the placement reads; names which kind it was. */
static int mutate(struct tl_cluster *c)
{
	int kind = (int)tl_in(0, 13);
	struct place_node *n = c->nnodes ? &c->nodes[tl_in(0, c->nnodes - 1)] : NULL;
	struct place_service *s = c->nsvcs ? &c->svcs[tl_in(0, c->nsvcs - 1)] : NULL;
	if (kind <= 4 && n) /* liveness, the change the cache is for: most often */
		n->live = !n->live;
	else if (kind == 5 && n)
		n->active = !n->active;
	else if (kind == 6 && n)
		n->cpu_millis = tl_in(0, 8) * 500;
	else if (kind == 7 && n)
		n->mem_mib = tl_in(0, 8) * 512;
	else if (kind == 8 && n && n->nlabels)
		((struct place_label *)n->labels)[0].value = tl_lv[tl_in(0, 2)];
	else if (kind == 9 && s)
		s->replicas = (uint32_t)tl_in(0, 12);
	else if (kind == 10 && s)
		s->cpu_millis = tl_in(0, 6) * 250;
	else if (kind == 11 && s)
		s->priority = (int64_t)tl_in(0, 4) - 2;
	else if (kind == 12 && s)
		s->strategy = (int)tl_in(0, 2);
	else if (kind == 13 && s && s->nports)
		((struct place_port *)s->ports)[0].host = (uint16_t)(tl_in(0, 4) * 1000);
	return kind;
}

/* Hundreds of random clusters, each through a run of random changes with one cache:
 * after every change the cached answer is byte for byte the fresh one. */
static void test_random_changes(void)
{
	size_t steps = 0, bad = 0, failed = 0;
	char why[160] = "";
	for (uint64_t seed = 1; seed <= 400; seed++) {
		tl_seed(seed + 7000);
		struct tl_cluster c;
		tl_random(&c, 16, 10, 10);
		struct place_cache *cache = place_cache_new();
		for (int k = 0; k < 40 && cache; k++) {
			int kind = k ? mutate(&c) : -1;
			struct place_result *a = cached(&c, cache), *b = tl_place(&c);
			steps++;
			if (!a || !b) {
				failed++;
			} else if (strcmp(a->hash_hex, b->hash_hex) != 0 || a->placed != b->placed) {
				if (!bad++)
					snprintf(why, sizeof why, "seed %llu step %d (change %d)",
					         (unsigned long long)seed, k, kind);
			}
			place_result_free(a);
			place_result_free(b);
		}
		place_cache_free(cache);
		tl_free(&c);
	}
	is_int((int)failed, 0, "every computation succeeded");
	ok(steps > 10000 && bad == 0, "%zu random changes (liveness, activity, capacity, labels, "
	   "replicas, cpu, priority, strategy, ports): cached = fresh every time %s", steps, why);
}

/* A node dies, another dies, both return: the cached answers are the fresh ones, and the
 * return gives the first placement back. */
static void test_deaths_and_return(void)
{
	tl_seed(99);
	struct tl_cluster c;
	tl_random(&c, 24, 16, 12);
	for (size_t i = 0; i < c.nnodes; i++)
		c.nodes[i].live = c.nodes[i].active = 1;
	struct place_cache *cache = place_cache_new();
	struct place_result *base = cached(&c, cache);
	c.nodes[1].live = 0;
	struct place_result *one = cached(&c, cache), *one_f = tl_place(&c);
	c.nodes[2].live = 0;
	struct place_result *two = cached(&c, cache), *two_f = tl_place(&c);
	c.nodes[1].live = c.nodes[2].live = 1;
	struct place_result *back = cached(&c, cache);
	ok(base && one && two && back && one_f && two_f, "computed");
	if (base && one && two && back && one_f && two_f) {
		is_str(one->hash_hex, one_f->hash_hex, "one death: cached = fresh");
		is_str(two->hash_hex, two_f->hash_hex, "two deaths: cached = fresh");
		is_str(back->hash_hex, base->hash_hex, "both back: the first placement again");
		ok(strcmp(one->hash_hex, base->hash_hex) != 0, "a death changed the placement");
	}
	struct place_result *rs[] = {base, one, one_f, two, two_f, back};
	for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++)
		place_result_free(rs[i]);
	place_cache_free(cache);
	tl_free(&c);
}

/* Bad input through the cache: an error, and the cache still answers right after. */
static void test_bad_input(void)
{
	struct place_node nodes[] = {
		{"0x01", 1000, 1000, NULL, 0, 1, 1, 0, 0},
		{"0x01", 1000, 1000, NULL, 0, 1, 0, 0, 0},
	};
	struct place_service svc = {"web", 2, 100, 100, NULL, 0, 0, PLACE_SPREAD, 0, NULL, 0, 1, 0};
	struct place_input in = {&svc, 1, nodes, 2};
	struct place_cache *cache = place_cache_new();
	struct place_result *r = NULL;
	char err[256] = "";
	ok(place_compute_cached(&in, cache, &r, err, sizeof err) < 0 && r == NULL,
	   "duplicate address: refused (%s)", err);
	nodes[1].address = "0x02";
	ok(place_compute_cached(&in, cache, &r, err, sizeof err) == 0 && r && r->placed == 2 && r->pending == 0,
	   "then a good input: both replicas on the one live node");
	place_result_free(r);
	place_cache_free(cache);
}

int main(void)
{
	test_random_changes();
	test_deaths_and_return();
	test_bad_input();
	return done_testing();
}
