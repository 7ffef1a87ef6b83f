/* test_place_dead.c: stateful holds (a replica waits for its dead server) and the death table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "place.h"
#include "place_dead.h"
#include "place_testlib.h"
#include "tap.h"

#define A1 "0x1111111111111111111111111111111111111111"
#define A2 "0x2222222222222222222222222222222222222222"
#define A3 "0x3333333333333333333333333333333333333333"
#define A4 "0x4444444444444444444444444444444444444444"

static struct place_result *run(struct place_service *s, size_t ns, struct place_node *n,
                                size_t nn)
{
	struct place_input in = {s, ns, n, nn};
	struct place_result *r = NULL;
	char err[256];
	if (place_compute(&in, &r, err, sizeof err) < 0)
		printf("# place_compute: %s\n", err);
	return r;
}

static const char *node_of(const struct place_result *r, const char *svc, uint32_t k)
{
	long i = place_find_service(r, svc);
	if (i < 0 || k >= r->first[i + 1] - r->first[i])
		return "(none)";
	const char *n = place_slot_node(r, &r->slots[r->first[i] + k]);
	return n ? n : "(pending)";
}

/* Four servers, a stateful db (3 replicas, hold 120 s) and a stateless web (4). */
static void test_hold(void)
{
	struct place_node nodes[] = {
		{A1, 4000, 4096, NULL, 0, 1, 1, 0, 0}, {A2, 4000, 4096, NULL, 0, 1, 1, 0, 0},
		{A3, 4000, 4096, NULL, 0, 1, 1, 0, 0}, {A4, 4000, 4096, NULL, 0, 1, 1, 0, 0}};
	struct place_service svcs[] = {
		{.name = "db", .replicas = 3, .cpu_millis = 500, .mem_mib = 256, .hold_s = 120},
		{.name = "web", .replicas = 4, .cpu_millis = 100, .mem_mib = 64}};
	struct place_result *all = run(svcs, 2, nodes, 4);
	if (!all) {
		ok(0, "reference placement");
		return;
	}
	/* The server of db/1 dies. */
	const char *victim = node_of(all, "db", 1);
	size_t vi = 0;
	while (vi < 4 && strcmp(nodes[vi].address, victim) != 0)
		vi++;
	nodes[vi].live = 0;
	nodes[vi].dead_s = 30;
	struct place_result *r = run(svcs, 2, nodes, 4);
	int same = 1;
	for (uint32_t k = 0; r && k < 3; k++)
		same &= strcmp(node_of(r, "db", k), node_of(all, "db", k)) == 0;
	ok(r && same, "dead for 30 s of a 120 s hold: every db replica where it was (db/1 on its dead server)");
	int web_moved = 1;
	for (uint32_t k = 0; r && k < 4; k++)
		web_moved &= strcmp(node_of(r, "web", k), victim) != 0;
	ok(r && web_moved, "the stateless service's replica left the dead server at once");
	place_result_free(r);

	nodes[vi].dead_s = 119;
	r = run(svcs, 2, nodes, 4);
	is_str(r ? node_of(r, "db", 1) : "", victim, "119 s: still held");
	place_result_free(r);

	nodes[vi].dead_s = 120;
	r = run(svcs, 2, nodes, 4);
	ok(r && strcmp(node_of(r, "db", 1), victim) != 0 && strcmp(node_of(r, "db", 1), "(pending)") != 0,
	   "120 s: db/1 moved to a live server (%s)", r ? node_of(r, "db", 1) : "");
	ok(r && strcmp(node_of(r, "db", 0), node_of(all, "db", 0)) == 0 &&
	       strcmp(node_of(r, "db", 2), node_of(all, "db", 2)) == 0,
	   "and db/0, db/2 did not move");
	place_result_free(r);

	/* Hold 0: moves at once, as before. */
	svcs[0].hold_s = 0;
	nodes[vi].dead_s = 1;
	r = run(svcs, 2, nodes, 4);
	ok(r && strcmp(node_of(r, "db", 1), victim) != 0, "hold 0: db/1 moves at once");
	place_result_free(r);
	svcs[0].hold_s = 120;

	/* An inactive (removed) server holds nothing. */
	same = 1;
	nodes[vi].active = 0;
	r = run(svcs, 2, nodes, 4);
	for (uint32_t k = 0; r && k < 3; k++)
		if (strcmp(node_of(r, "db", k), victim) == 0)
			same = 0;
	ok(r && same, "a server no longer active holds no replica");
	place_result_free(r);
	nodes[vi].active = 1;

	/* Back within the hold: the very placement of before the death. */
	nodes[vi].live = 1;
	nodes[vi].dead_s = 0;
	r = run(svcs, 2, nodes, 4);
	is_str(r ? r->hash_hex : "", all->hash_hex, "the server back: the placement of before, byte for byte");
	place_result_free(r);

	/* Scaling down keeps the lowest indexes where they were. */
	svcs[0].replicas = 2;
	r = run(svcs, 2, nodes, 4);
	ok(r && strcmp(node_of(r, "db", 0), node_of(all, "db", 0)) == 0 &&
	       strcmp(node_of(r, "db", 1), node_of(all, "db", 1)) == 0 &&
	       r->first[place_find_service(r, "db") + 1] - r->first[place_find_service(r, "db")] == 2,
	   "3 -> 2 replicas: db/2 goes, db/0 and db/1 stay where they were");
	place_result_free(r);
	place_result_free(all);
}

/* Over random clusters: a held replica is on its reference node, nothing else is on a
 * node that is not live, and the input order does not matter. */
static void test_hold_props(void)
{
	int bad = 0;
	size_t held = 0;
	char why[256] = "";
	for (uint64_t seed = 1; seed <= 2000; seed++) {
		tl_seed(seed * 7919);
		struct tl_cluster c;
		tl_random(&c, 16, 10, 8);
		for (size_t i = 0; i < c.nnodes; i++)
			c.nodes[i].dead_s = c.nodes[i].live ? 0 : (uint32_t)tl_in(0, 300);
		for (size_t i = 0; i < c.nsvcs; i++)
			c.svcs[i].hold_s = tl_in(0, 2) ? (uint32_t)tl_in(0, 300) : 0;
		struct place_result *r = tl_place(&c);
		for (size_t i = 0; i < c.nnodes; i++)
			c.nodes[i].live = 1;
		struct place_result *ref = tl_place(&c);
		if (!r || !ref) {
			bad++;
			snprintf(why, sizeof why, "seed %llu: place_compute failed", (unsigned long long)seed);
			goto next;
		}
		size_t active = 0, live = 0;
		for (size_t n = 0; n < r->nnodes; n++) {
			active += r->nodes[n]->active != 0;
			live += r->nodes[n]->active && r->nodes[n]->live;
		}
		for (size_t i = 0; i < r->nservices; i++) {
			const struct place_service *s = r->services[i];
			int refused = s->exclusive && live * 2 <= active;
			for (uint32_t k = 0; k < s->replicas; k++) {
				uint32_t p = ref->slots[ref->first[i] + k].node, got = r->slots[r->first[i] + k].node;
				const struct place_node *pn = p == PLACE_NONE ? NULL : r->nodes[p];
				int must = !refused && pn && pn->active && !pn->live && pn->dead_s < s->hold_s;
				if (must && got != p && !bad++)
					snprintf(why, sizeof why, "seed %llu: %s/%u not held on its dead node",
					         (unsigned long long)seed, s->name, k);
				held += must;
				if (!must && got != PLACE_NONE && !r->nodes[got]->live && !bad++)
					snprintf(why, sizeof why, "seed %llu: %s/%u on a dead node it may not wait on",
					         (unsigned long long)seed, s->name, k);
			}
		}
	next:
		place_result_free(r);
		place_result_free(ref);
		tl_free(&c);
	}
	ok(!bad, "2000 random clusters: holds kept, nothing else on a dead node (%zu held)%s%s", held,
	   bad ? ": " : "", why);
}

static void test_table(void)
{
	char dir[] = "/tmp/test_place_dead.XXXXXX", path[128];
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/sched.dead", dir);
	struct place_dead *d = place_dead_new();
	struct place_node n[] = {{A1, 0, 0, NULL, 0, 1, 1, 0, 0}, {A2, 0, 0, NULL, 0, 1, 0, 0, 0},
	                         {A3, 0, 0, NULL, 0, 0, 0, 0, 0}};
	struct place_service s[] = {{.name = "db", .replicas = 1, .hold_s = 60}};
	is_int(place_dead_update(d, n, 3, 100000), 1, "a new death changes the table");
	is_int((int)place_dead_count(d), 1, "only the active dead server counts");
	is_int(place_dead_update(d, n, 3, 145500), 0, "45.5 s later: unchanged");
	is_int((int)n[1].dead_s, 45, "dead_s counts whole seconds");
	is_int((int)place_dead_next_ms(d, n, 3, s, 1, 145500), 14500, "the hold ends in 14.5 s");
	char err[256] = "";
	/* Saved at wall time 1,000,000 ms; a new process, whose monotonic clock reads 5,000
	 * 30 s of wall time later, sees the same death 75.5 s old. */
	is_int(place_dead_save(d, path, 1000000, 145500, err, sizeof err), 0, "saved %s", err);
	struct place_dead *e = place_dead_new();
	is_int(place_dead_load(e, path, 1030000, 5000, err, sizeof err), 0, "loaded %s", err);
	n[1].dead_s = 0;
	place_dead_update(e, n, 3, 5000);
	is_int((int)n[1].dead_s, 75, "a restart does not count the death from zero");
	is_int((int)place_dead_next_ms(e, n, 3, s, 1, 5000), 0, "past the hold: nothing to wait for");
	/* The wall clock went back: never early. */
	struct place_dead *f = place_dead_new();
	place_dead_load(f, path, 900000, 5000, err, sizeof err);
	place_dead_update(f, n, 3, 5000);
	is_int((int)n[1].dead_s, 0, "a saved time in the future counts as now");
	/* Back alive: out of the table. */
	n[1].live = 1;
	is_int(place_dead_update(d, n, 3, 150000), 1, "a return changes the table");
	is_int((int)place_dead_count(d), 0, "and empties it");
	/* Bad files: refused, nothing taken. */
	static const char *const bad[] = {"[]", "{\"nope\":1}", "{\"" A2 "\":-1}",
	                                  "{\"" A2 "\":\"1\"}", "{\"" A2 "\":1,\"" A2 "\":2}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		FILE *fp = fopen(path, "w");
		fputs(bad[i], fp);
		fclose(fp);
		struct place_dead *g = place_dead_new();
		n[1].live = 0;
		int rc = place_dead_load(g, path, 1030000, 5000, err, sizeof err);
		place_dead_update(g, n, 3, 5000);
		ok(rc < 0 && n[1].dead_s == 0, "refused: %s (%s)", bad[i], err);
		place_dead_free(g);
	}
	unlink(path);
	is_int(place_dead_load(f, path, 0, 0, err, sizeof err), 0, "a missing file is no error");
	rmdir(dir);
	place_dead_free(d);
	place_dead_free(e);
	place_dead_free(f);
}

int main(void)
{
	test_hold();
	test_hold_props();
	test_table();
	return done_testing();
}
