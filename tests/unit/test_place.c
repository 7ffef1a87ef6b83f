/* test_place.c: placement golden vectors, order independence and the documented rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "place.h"
#include "rec.h"
#include "place_testlib.h"
#include "tap.h"

#define GOLDEN_DIR "tests/unit/place_golden/"

static const struct place_label zone_a[] = {{"zone", "a"}}, zone_b[] = {{"zone", "b"}};
static const struct place_label ssd_a[] = {{"disk", "ssd"}, {"zone", "a"}};
static const struct place_port p8080[] = {{8080, 80, PLACE_TCP}};
static const struct place_port p53[] = {{53, 53, PLACE_UDP}, {53, 53, PLACE_TCP}};

/* Case 1: every strategy on a healthy five-node cluster, one node suspect-but-live,
 * one dead. */
static struct place_node basic_nodes[] = {
	{"0x1111111111111111111111111111111111111111", 4000, 8192, zone_a, 1, 1, 1, 0, 0},
	{"0x2222222222222222222222222222222222222222", 4000, 8192, zone_b, 1, 1, 1, 0, 0},
	{"0x3333333333333333333333333333333333333333", 8000, 16384, ssd_a, 2, 1, 1, 0, 0},
	{"0x4444444444444444444444444444444444444444", 2000, 4096, zone_b, 1, 1, 0, 0, 0},
	{"0x5555555555555555555555555555555555555555", 4000, 8192, NULL, 0, 1, 1, 0, 0},
	{"0x6666666666666666666666666666666666666666", 64000, 65536, NULL, 0, 0, 1, 0, 0},
};
static struct place_service basic_svcs[] = {
	{"web", 4, 500, 256, p8080, 1, 0, PLACE_SPREAD, 0, NULL, 0, 3, 0},
	{"db", 2, 2000, 4096, NULL, 0, 10, PLACE_BINPACK, 0, ssd_a, 1, 1, 0},
	{"batch", 7, 1000, 512, NULL, 0, -1, PLACE_ROUNDROBIN, 0, NULL, 0, 2, 0},
	{"dns", 3, 100, 64, p53, 2, 5, PLACE_SPREAD, 1, NULL, 0, 7, 0},
	{"cache", 6, 250, 1024, NULL, 0, 0, PLACE_SPREAD, 0, zone_b, 1, 1, 0},
};

/* Case 2: pressure: every pending reason. Two of four active nodes dead. */
static struct place_node tight_nodes[] = {
	{"0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1000, 1024, zone_a, 1, 1, 1, 0, 0},
	{"0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 1000, 4096, zone_a, 1, 1, 1, 0, 0},
	{"0xcccccccccccccccccccccccccccccccccccccccc", 4000, 4096, zone_b, 1, 1, 0, 0, 0},
	{"0xdddddddddddddddddddddddddddddddddddddddd", 4000, 4096, zone_b, 1, 1, 0, 0, 0},
};
static struct place_service tight_svcs[] = {
	{"big-cpu", 1, 2000, 64, NULL, 0, 9, PLACE_SPREAD, 0, NULL, 0, 1, 0},
	{"big-mem", 1, 100, 2048, NULL, 0, 8, PLACE_SPREAD, 0, NULL, 0, 1, 0},
	{"ported", 3, 100, 64, p8080, 1, 7, PLACE_SPREAD, 0, NULL, 0, 1, 0},
	{"zone-b", 2, 100, 64, NULL, 0, 6, PLACE_SPREAD, 0, zone_b, 1, 1, 0},
	{"quorum", 1, 100, 64, NULL, 0, 5, PLACE_SPREAD, 1, NULL, 0, 1, 0},
	{"filler", 8, 400, 256, NULL, 0, 0, PLACE_SPREAD, 0, NULL, 0, 4, 0},
	{"after", 2, 400, 256, NULL, 0, -5, PLACE_BINPACK, 0, NULL, 0, 1, 0},
};

/* Case 3: more replicas than nodes (anti-affinity relaxes to ceil(replicas/nodes)). */
static struct place_node few_nodes[] = {
	{"0x0101010101010101010101010101010101010101", 16000, 16384, NULL, 0, 1, 1, 0, 0},
	{"0x0202020202020202020202020202020202020202", 16000, 16384, NULL, 0, 1, 1, 0, 0},
	{"0x0303030303030303030303030303030303030303", 16000, 16384, NULL, 0, 1, 1, 0, 0},
};
static struct place_service few_svcs[] = {
	{"many", 8, 100, 64, NULL, 0, 0, PLACE_SPREAD, 0, NULL, 0, 1, 0},
	{"rr", 5, 100, 64, NULL, 0, 0, PLACE_ROUNDROBIN, 0, NULL, 0, 1, 0},
	{"bp", 4, 100, 64, NULL, 0, 0, PLACE_BINPACK, 0, NULL, 0, 1, 0},
	{"zero", 0, 100, 64, NULL, 0, 0, PLACE_SPREAD, 0, NULL, 0, 1, 0},
};

struct golden {
	const char *name;
	struct place_service *svcs;
	size_t nsvcs;
	struct place_node *nodes;
	size_t nnodes;
};

#define G(n, s, d) {n, s, sizeof s / sizeof s[0], d, sizeof d / sizeof d[0]}
static const struct golden goldens[] = {
	G("basic", basic_svcs, basic_nodes),
	G("tight", tight_svcs, tight_nodes),
	G("few", few_svcs, few_nodes),
};

struct membuf {
	char *p;
	size_t len, cap;
};

static int mem_write(void *arg, const char *data, size_t len)
{
	struct membuf *m = arg;
	if (m->len + len + 1 > m->cap) {
		size_t nc = (m->len + len + 1) * 2;
		char *np = realloc(m->p, nc);
		if (!np)
			return -1;
		m->p = np;
		m->cap = nc;
	}
	memcpy(m->p + m->len, data, len);
	m->len += len;
	m->p[m->len] = '\0';
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct membuf m = {0};
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		mem_write(&m, buf, n);
	fclose(f);
	return m.p ? m.p : calloc(1, 1);
}

static void spit(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

static struct place_result *compute(struct place_service *s, size_t ns, struct place_node *n,
                                    size_t nn)
{
	struct place_input in = {s, ns, n, nn};
	struct place_result *r = NULL;
	char err[256];
	if (place_compute(&in, &r, err, sizeof err) < 0)
		diag("place_compute: %s", err);
	return r;
}

static void shuffle(void *base, size_t n, size_t size)
{
	char tmp[256];
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(tl_rnd() % i);
		memcpy(tmp, (char *)base + (i - 1) * size, size);
		memcpy((char *)base + (i - 1) * size, (char *)base + j * size, size);
		memcpy((char *)base + j * size, tmp, size);
	}
}

/* Shuffle services, nodes and every node's labels (copied), 100 ways: same hash. */
static void test_shuffles(const struct golden *g, const char *want)
{
	struct place_service *s = malloc(g->nsvcs * sizeof *s);
	struct place_node *n = malloc(g->nnodes * sizeof *n);
	struct place_label *labels = calloc(g->nnodes * 4 + 1, sizeof *labels);
	int same = 1;
	tl_seed(77);
	for (int round = 0; round < 100; round++) {
		memcpy(s, g->svcs, g->nsvcs * sizeof *s);
		memcpy(n, g->nodes, g->nnodes * sizeof *n);
		for (size_t i = 0; i < g->nnodes; i++) {
			if (n[i].nlabels)
				memcpy(&labels[i * 4], n[i].labels, n[i].nlabels * sizeof *labels);
			shuffle(&labels[i * 4], n[i].nlabels, sizeof *labels);
			n[i].labels = &labels[i * 4];
		}
		shuffle(s, g->nsvcs, sizeof *s);
		shuffle(n, g->nnodes, sizeof *n);
		struct place_result *r = compute(s, g->nsvcs, n, g->nnodes);
		if (!r || strcmp(r->hash_hex, want) != 0)
			same = 0;
		place_result_free(r);
	}
	ok(same, "%s: 100 shuffles of services, nodes and labels give hash %.16s...", g->name, want);
	free(s);
	free(n);
	free(labels);
}

/* The documented hash, from the serialization: BLAKE2b-256 of "canteen-placement 2\n" and
 * the BLAKE2b-256 of each service's lines (services in order; a service with no replica
 * has no lines, so the hash of nothing). Written to hex (65 bytes). */
static void hash_from_lines(const struct place_result *r, const char *text, char *hex)
{
	crypto_generichash_state all;
	unsigned char h[32];
	crypto_generichash_init(&all, NULL, 0, sizeof h);
	crypto_generichash_update(&all, (const unsigned char *)"canteen-placement 2\n", 20);
	const char *p = strchr(text, '\n') + 1;
	for (size_t i = 0; i < r->nservices; i++) {
		const char *q = p;
		for (size_t k = r->first[i]; k < r->first[i + 1]; k++)
			q = strchr(q, '\n') + 1;
		crypto_generichash(h, sizeof h, (const unsigned char *)p, (size_t)(q - p), NULL, 0);
		crypto_generichash_update(&all, h, sizeof h);
		p = q;
	}
	crypto_generichash_final(&all, h, sizeof h);
	for (size_t i = 0; i < sizeof h; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
}

static void test_golden(const struct golden *g)
{
	struct place_result *r = compute(g->svcs, g->nsvcs, g->nodes, g->nnodes);
	ok(r != NULL, "%s: computed", g->name);
	if (!r)
		return;
	struct membuf m = {0};
	ok(place_serialize(r, mem_write, &m) == 0, "%s: serialized", g->name);
	char tpath[256], hpath[256];
	snprintf(tpath, sizeof tpath, GOLDEN_DIR "%s.txt", g->name);
	snprintf(hpath, sizeof hpath, GOLDEN_DIR "%s.hash", g->name);
	if (getenv("PLACE_GOLDEN_WRITE")) {
		spit(tpath, m.p, m.len);
		char line[80];
		int k = snprintf(line, sizeof line, "%s\n", r->hash_hex);
		spit(hpath, line, (size_t)k);
	}
	char *want = slurp(tpath), *wanth = slurp(hpath);
	ok(want && strcmp(want, m.p) == 0, "%s: placement equals %s", g->name, tpath);
	if (want && strcmp(want, m.p) != 0)
		diag("got:\n%s", m.p);
	ok(wanth && strncmp(wanth, r->hash_hex, 64) == 0 && wanth[64] == '\n',
	   "%s: hash equals %s", g->name, hpath);
	char hex[65];
	hash_from_lines(r, m.p, hex);
	is_str(r->hash_hex, hex, "%s: hash is the hash of the services' lines' hashes", g->name);
	test_shuffles(g, r->hash_hex);
	free(want);
	free(wanth);
	free(m.p);
	place_result_free(r);
}

static const char *slot_node(const struct place_result *r, const char *svc, uint32_t k)
{
	long i = place_find_service(r, svc);
	if (i < 0 || k >= r->services[i]->replicas)
		return "(none)";
	const char *a = place_slot_node(r, &r->slots[r->first[i] + k]);
	return a ? a : "pending";
}

static const char *slot_reason(const struct place_result *r, const char *svc, uint32_t k)
{
	long i = place_find_service(r, svc);
	if (i < 0 || k >= r->services[i]->replicas)
		return "(none)";
	return place_reason_str(r->slots[r->first[i] + k].reason);
}

/* The rules, on the golden inputs, independent of the hash function. */
static void test_rules(void)
{
	struct place_result *r = compute(tight_svcs, 7, tight_nodes, 4);
	if (!r) {
		ok(0, "tight computes");
		return;
	}
	is_str(slot_reason(r, "big-cpu", 0), "insufficient cpu", "no node has 2000m: insufficient cpu");
	is_str(slot_reason(r, "big-mem", 0), "placed", "big-mem fits the 4 GiB node");
	is_str(slot_node(r, "big-mem", 0), tight_nodes[1].address, "big-mem on the only node with memory");
	int conflicts = 0;
	for (uint32_t k = 0; k < 3; k++)
		conflicts += strcmp(slot_reason(r, "ported", k), "port conflict") == 0;
	is_int(conflicts, 1, "three replicas of a host port, two live nodes: one port conflict");
	is_str(slot_reason(r, "zone-b", 0), "no live nodes", "selector matches only dead nodes");
	is_str(slot_reason(r, "quorum", 0), "no majority", "exclusive with 2 of 4 live: no majority");
	const char *pn[3] = {slot_node(r, "ported", 0), slot_node(r, "ported", 1), slot_node(r, "ported", 2)};
	int distinct = 1;
	for (int a = 0; a < 3; a++)
		for (int b = a + 1; b < 3; b++)
			if (strcmp(pn[a], "pending") != 0 && strcmp(pn[a], pn[b]) == 0)
				distinct = 0;
	ok(distinct, "placed replicas of one service on different nodes");
	is_int(r->placed + r->pending, r->nslots, "every slot placed or pending");
	char why[256] = "";
	ok(!tl_check(r, why, sizeof why), "tight: invariants hold %s", why);
	place_result_free(r);

	r = compute(few_svcs, 4, few_nodes, 3);
	if (r) {
		size_t on[3] = {0};
		for (uint32_t k = 0; k < 8; k++)
			for (int n = 0; n < 3; n++)
				on[n] += strcmp(slot_node(r, "many", k), few_nodes[n].address) == 0;
		ok(on[0] <= 3 && on[1] <= 3 && on[2] <= 3 && on[0] + on[1] + on[2] == 8,
		   "8 replicas on 3 nodes: at most ceil(8/3)=3 each (%zu %zu %zu)", on[0], on[1], on[2]);
		size_t rr[3] = {0};
		for (uint32_t k = 0; k < 5; k++)
			for (int n = 0; n < 3; n++)
				rr[n] += strcmp(slot_node(r, "rr", k), few_nodes[n].address) == 0;
		ok(rr[0] <= 2 && rr[1] <= 2 && rr[2] <= 2 && rr[0] + rr[1] + rr[2] == 5,
		   "roundrobin: 5 replicas on 3 nodes, at most ceil(5/4 x 5/3) = 2 each (%zu %zu %zu)",
		   rr[0], rr[1], rr[2]);
		ok(!tl_check(r, why, sizeof why), "few: invariants hold %s", why);
		place_result_free(r);
	}

	r = compute(basic_svcs, 5, basic_nodes, 6);
	if (r) {
		is_str(slot_node(r, "db", 0), basic_nodes[2].address, "binpack db: only ssd node");
		is_str(slot_node(r, "db", 1), basic_nodes[2].address,
		       "db: 2 replicas, 1 eligible node: both on it (ceil(2/1) per node)");
		for (uint32_t k = 0; k < 7; k++)
			ok(strcmp(slot_node(r, "batch", k), basic_nodes[3].address) != 0 &&
			   strcmp(slot_node(r, "batch", k), basic_nodes[5].address) != 0,
			   "batch/%u avoids the dead and the inactive node", k);
		is_str(slot_reason(r, "dns", 0), "placed", "exclusive placed with 4 of 5 active live");
		ok(!tl_check(r, why, sizeof why), "basic: invariants hold %s", why);
		place_result_free(r);
	}
}

/* A service with a host port on 20 nodes, replicas = nodes (full house) and half of
 * that; kill each node in turn. Full house: exactly one replica must go pending. */
static size_t kill_each_node(uint32_t replicas, int *pend_ok)
{
	struct place_node n[20];
	char addr[20][43];
	struct place_service web = basic_svcs[0];
	web.replicas = replicas;
	for (int i = 0; i < 20; i++) {
		snprintf(addr[i], sizeof addr[i], "0x%040x", i + 1);
		n[i] = (struct place_node){addr[i], 4000, 8192, NULL, 0, 1, 1, 0, 0};
	}
	struct place_result *before = compute(&web, 1, n, 20);
	size_t moved = 0;
	*pend_ok = before != NULL;
	for (int dead = 0; dead < 20 && before; dead++) {
		n[dead].live = 0;
		struct place_result *after = compute(&web, 1, n, 20);
		if (!after)
			break;
		moved += place_moved(before, after);
		*pend_ok &= after->pending == (replicas == 20 ? 1u : 0u);
		for (size_t k = 0; k < after->nslots; k++)
			if (after->slots[k].node == PLACE_NONE)
				*pend_ok &= after->slots[k].reason == PLACE_PORT_CONFLICT;
		place_result_free(after);
		n[dead].live = 1;
	}
	place_result_free(before);
	return moved;
}

static void test_host_port_deaths(void)
{
	int pend_ok;
	size_t moved = kill_each_node(10, &pend_ok);
	ok(pend_ok && moved <= 12, "10 replicas on 20 nodes, each node killed: %zu moved (ideal 10)", moved);
	moved = kill_each_node(20, &pend_ok);
	ok(pend_ok, "20 replicas with a host port, 19 live nodes: exactly one pending, port conflict");
	/* Stateless placement cannot always pick the replica that lost its node as the one
	 * left pending: measured, bounded. */
	ok(moved <= 60, "full house, each of 20 nodes killed: %zu moved (ideal 20)", moved);
}

static void test_errors(void)
{
	char err[256];
	struct place_result *r = (void *)1;
	struct place_node dup[] = {basic_nodes[0], basic_nodes[0]};
	struct place_input in = {NULL, 0, dup, 2};
	ok(place_compute(&in, &r, err, sizeof err) < 0 && r == NULL, "duplicate address rejected: %s", err);
	struct place_service sdup[] = {basic_svcs[0], basic_svcs[0]};
	struct place_input in2 = {sdup, 2, basic_nodes, 6};
	ok(place_compute(&in2, &r, err, sizeof err) < 0, "duplicate service rejected: %s", err);
	struct place_service bad = basic_svcs[0];
	bad.name = "has space";
	struct place_input in3 = {&bad, 1, basic_nodes, 6};
	ok(place_compute(&in3, &r, err, sizeof err) < 0, "name with a space rejected: %s", err);
	bad = basic_svcs[0];
	bad.replicas = PLACE_MAX_REPLICAS + 1;
	ok(place_compute(&in3, &r, err, sizeof err) < 0, "too many replicas rejected: %s", err);
	struct place_input empty = {NULL, 0, NULL, 0};
	ok(place_compute(&empty, &r, err, sizeof err) == 0 && r && r->nslots == 0,
	   "empty input gives an empty placement");
	place_result_free(r);
	int st = -1;
	ok(rec_strategy_parse("binpack", &st) == 0 && st == PLACE_BINPACK, "strategy parses");
	ok(rec_strategy_parse("random", &st) < 0, "unknown strategy rejected");
}

static void test_hash_kat(void)
{
	/* Pinned values of the documented hashes: another implementation must match. */
	is_int(place_mix64(0), 0, "mix64(0) = 0");
	ok(place_mix64(1) == 0x5692161d100b05e5ULL, "mix64(1) = 0x5692161d100b05e5");
	ok(place_hash_str("") == place_mix64(0xcbf29ce484222325ULL), "hash(\"\") = mix64(FNV offset)");
	ok(place_hash_str("a") == place_mix64(0xaf63dc4c8601ec8cULL), "hash(\"a\") = mix64(FNV-1a(\"a\"))");
	ok(place_ring_point(0, 0) == place_mix64(0x9e3779b97f4a7c15ULL), "point(h,0)");
	ok(place_replica_key(0, 1) == place_mix64(2 * 0xd6e8feb86659fd93ULL), "key(h,1)");
}

/*
 * A death under pressure, every strategy: two nodes of 1000m, a high-priority replica and
 * a low one of 600m each (one a node). The high one's node dies: it takes the other
 * node's room, which the low one's pinned replica held (priority wins), and the low one
 * is pending. With a third node of room, the high one goes there and the low one stays.
 */
static void test_priority_eviction(void)
{
	static const char *const sn[] = {"spread", "roundrobin", "binpack"};
	for (int st = PLACE_SPREAD; st <= PLACE_BINPACK; st++) {
		struct place_node n[] = {
			{"0x0a", 1000, 4096, NULL, 0, 1, 1, 0, 0},
			{"0x0b", 1000, 4096, NULL, 0, 1, 1, 0, 0},
			{"0x0c", 1000, 4096, NULL, 0, 0, 1, 0, 0},
		};
		struct place_service sv[] = {
			{"high", 1, 600, 64, NULL, 0, 5, st, 0, NULL, 0, 1, 0},
			{"low", 1, 600, 64, NULL, 0, 1, st, 0, NULL, 0, 1, 0},
		};
		struct place_result *base = compute(sv, 2, n, 2);
		const char *hn = base ? slot_node(base, "high", 0) : "(none)";
		const char *ln = base ? slot_node(base, "low", 0) : "(none)";
		ok(base && strcmp(hn, ln) != 0 && strcmp(ln, "pending") != 0,
		   "%s: high on %s, low on %s", sn[st], hn, ln);
		size_t hi = strcmp(hn, n[0].address) == 0 ? 0 : 1;
		n[hi].live = 0;
		struct place_result *r = compute(sv, 2, n, 2);
		ok(r && strcmp(slot_node(r, "high", 0), ln) == 0 &&
		   strcmp(slot_node(r, "low", 0), "pending") == 0 &&
		   strcmp(slot_reason(r, "low", 0), "insufficient cpu") == 0,
		   "%s: high's node dies, no other room: high takes low's node, low pending (%s, %s)",
		   sn[st], r ? slot_node(r, "high", 0) : "-", r ? slot_reason(r, "low", 0) : "-");
		place_result_free(r);
		/* The same with a third node (it was there all along, with room). */
		n[hi].live = 1;
		n[2].active = 1;
		place_result_free(base);
		base = compute(sv, 2, n, 3);
		hn = base ? slot_node(base, "high", 0) : "(none)";
		ln = base ? slot_node(base, "low", 0) : "(none)";
		for (size_t k = 0; k < 3; k++)
			if (strcmp(n[k].address, hn) == 0)
				n[k].live = 0;
		r = compute(sv, 2, n, 3);
		ok(r && strcmp(slot_node(r, "low", 0), ln) == 0 &&
		   strcmp(slot_node(r, "high", 0), "pending") != 0 &&
		   strcmp(slot_node(r, "high", 0), ln) != 0,
		   "%s: with room elsewhere, high moves there and low stays on %s", sn[st], ln);
		place_result_free(r);
		place_result_free(base);
	}
}

/* roundrobin's bound: no node takes more than ceil(5/4 x the roundrobin replicas per
 * usable node) while another fits; spread, with the same walks, has no such bound. */
static void test_roundrobin_bound(void)
{
	enum { NODES = 12, SVCS = 240 };
	static struct place_node nodes[NODES + 1];
	static struct place_service svcs[SVCS + 1];
	static char names[NODES + SVCS + 2][48];
	static const struct place_label gpu[] = {{"gpu", "yes"}};
	for (size_t i = 0; i < NODES; i++) {
		snprintf(names[i], sizeof names[i], "0x%040zx", i * 0x1234567 + 1);
		nodes[i] = (struct place_node){.address = names[i], .cpu_millis = 64000,
		                              .mem_mib = 1 << 20, .active = 1, .live = 1};
	}
	nodes[3].labels = gpu;
	nodes[3].nlabels = 1;
	for (size_t i = 0; i < SVCS; i++) {
		snprintf(names[NODES + i], sizeof names[0], "one-%zu", i);
		svcs[i] = (struct place_service){.name = names[NODES + i], .replicas = 1,
		                                 .cpu_millis = 10, .mem_mib = 16, .generation = 1};
	}
	size_t most[2] = {0}, bound = (5 * SVCS + 4 * NODES - 1) / (4 * NODES);
	for (int st = 0; st < 2; st++) {
		for (size_t i = 0; i < SVCS; i++)
			svcs[i].strategy = st ? PLACE_ROUNDROBIN : PLACE_SPREAD;
		struct place_result *r = compute(svcs, SVCS, nodes, NODES);
		for (size_t n = 0; r && n < NODES; n++) {
			size_t k = place_count_on(r, nodes[n].address);
			most[st] = k > most[st] ? k : most[st];
		}
		place_result_free(r);
	}
	ok(most[1] <= bound && most[0] > bound,
	   "240 one-replica services on 12 nodes: roundrobin's busiest node holds %zu (bound %zu), "
	   "spread's %zu", most[1], bound, most[0]);

	/* A roundrobin service whose selector matches one node goes there beyond the bound:
	 * the bound only steers, it never leaves a replica pending. */
	svcs[SVCS] = (struct place_service){.name = "gpu-jobs", .replicas = 40, .cpu_millis = 10,
	                                    .mem_mib = 16, .strategy = PLACE_ROUNDROBIN,
	                                    .selector = gpu, .nselector = 1, .generation = 1};
	struct place_result *r = compute(svcs, SVCS + 1, nodes, NODES);
	size_t on = 0;
	for (uint32_t k = 0; r && k < 40; k++)
		on += strcmp(slot_node(r, "gpu-jobs", k), nodes[3].address) == 0;
	ok(r && r->pending == 0 && on == 40 && place_count_on(r, nodes[3].address) > bound,
	   "a roundrobin service only one node may run: all 40 there, past the bound");
	place_result_free(r);

	/* Only roundrobin replicas count: 600 spread replicas change nothing of the bound. */
	for (size_t i = 0; i < SVCS; i++)
		svcs[i].strategy = PLACE_ROUNDROBIN;
	r = compute(svcs, SVCS, nodes, NODES);
	char h[65];
	snprintf(h, sizeof h, "%s", r ? r->hash_hex : "");
	place_result_free(r);
	svcs[SVCS] = (struct place_service){.name = "a-spread", .replicas = 600, .cpu_millis = 1,
	                                    .mem_mib = 1, .strategy = PLACE_SPREAD, .generation = 1};
	r = compute(svcs, SVCS + 1, nodes, NODES);
	size_t same = 0;
	struct place_result *alone = compute(svcs, SVCS, nodes, NODES);
	for (size_t i = 0; r && alone && i < SVCS; i++)
		same += strcmp(slot_node(r, svcs[i].name, 0), slot_node(alone, svcs[i].name, 0)) == 0;
	ok(r && alone && same == SVCS && strcmp(alone->hash_hex, h) == 0,
	   "a spread service's replicas leave roundrobin's bound alone (%zu of 240 unchanged)", same);
	place_result_free(alone);
	place_result_free(r);
}

int main(void)
{
	test_hash_kat();
	for (size_t i = 0; i < sizeof goldens / sizeof goldens[0]; i++)
		test_golden(&goldens[i]);
	test_rules();
	test_host_port_deaths();
	test_priority_eviction();
	test_roundrobin_bound();
	test_errors();
	return done_testing();
}
