/* test_converge.c: convergence from any state over the pure cores (swim_core, place), many seeds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "place.h"
#include "swim_core.h"
#include "swim_wire.h"
#include "tap.h"

/*
 * Each seed builds a cluster of SWIM members in a simulated network with a virtual clock
 * and puts it in a random wrong state, before and while it runs: members believed
 * suspect, dead or left by others (with incarnations up to SWIM_INC_JUMP_MAX above the
 * truth), members paused (a stopped process that later continues with its old state),
 * members restarted (fresh state), lost packets and one-way partitions. Once the faults
 * stop, every member must see every other alive within CONV_BOUND_MS, and the placement
 * each member computes from its own view (place_compute over a random set of services,
 * live = not dead or left in its view) must be the one computed from the truth, byte for
 * byte (same hash), whatever the order of its inputs.
 *
 * CANTEEN_CONVERGE_SEEDS (default 1000) sets the number of seeds; a failure prints the
 * seed, and CANTEEN_CONVERGE_SEED=N replays that one alone (CONV_DEBUG=1 also prints every
 * member's view of a seed that failed, and each seed's time). bench/converge runs 20000.
 *
 * The reconcile policy (cmd/canteen-dockerd/reconcile.c) is not here: it acts through
 * Docker and the loop, not as a pure function; tests/converge.bats covers it end to end.
 */

#define MAXN 9
#define CONV_FAULT_MS 40000u     /* faults are injected during this much virtual time */
#define CONV_BOUND_MS 150000u    /* every view right within this after the faults stop */
#define MAXSVC 8

struct pkt {
	int from, to;
	uint64_t at;
	size_t len;
	uint8_t body[SWIM_BODY_MAX];
};

struct node {
	struct swim *s;
	uint8_t addr[SWIM_ADDR_LEN];
	char hex[2 + 2 * SWIM_ADDR_LEN + 1];
	int up, idx;
	uint64_t restarts;
};

static struct node nodes[MAXN];
static int nn;
static uint64_t now;
static struct pkt *q;
static size_t nq, capq;
static int blocked[MAXN][MAXN];
static unsigned loss_pct;
static uint64_t rng;
static struct swim_body decoded;

static uint64_t rnd64(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}
static uint64_t rin(uint64_t lo, uint64_t hi) { return lo + rnd64() % (hi - lo + 1); }

static int idx_of(const uint8_t a[SWIM_ADDR_LEN])
{
	for (int i = 0; i < nn; i++)
		if (memcmp(nodes[i].addr, a, SWIM_ADDR_LEN) == 0)
			return i;
	return -1;
}

static void on_send(void *arg, const uint8_t to[SWIM_ADDR_LEN], const uint8_t *body, size_t len)
{
	struct node *n = arg;
	int t = idx_of(to);
	if (t < 0 || len > SWIM_BODY_MAX || blocked[n->idx][t] || (loss_pct && rin(0, 99) < loss_pct))
		return;
	if (nq == capq) {
		capq = capq ? capq * 2 : 256;
		q = realloc(q, capq * sizeof *q);
		if (!q) {
			printf("Bail out! out of memory\n");
			exit(1);
		}
	}
	struct pkt *p = &q[nq++];
	p->from = n->idx;
	p->to = t;
	p->at = now + rin(1, 20);
	p->len = len;
	memcpy(p->body, body, len);
}

static void on_change(void *arg, const struct swim_member *m, int old, int meta_changed)
{
	(void)arg;
	(void)old;
	(void)meta_changed;
	if (m->state < SWIM_ALIVE || m->state > SWIM_LEFT) {
		printf("Bail out! member in state %d\n", m->state);
		exit(1);
	}
}

static const struct swim_config cfg = {
	.probe_interval_ms = 1000, .probe_timeout_ms = 500, .gossip_interval_ms = 200,
	.pushpull_interval_ms = 30000, .indirect_checks = 3, .suspicion_min_mult = 4,
	.suspicion_max_mult = 6, .retransmit_mult = 4, .gossip_nodes = 3, .awareness_max = 8,
};

/* A fresh process for member i, which knows every admitted member and nothing else. */
static void boot(int i)
{
	struct swim_io io = {on_send, on_change, &nodes[i]};
	if (nodes[i].s)
		swim_free(nodes[i].s);
	nodes[i].s = swim_new(&cfg, nodes[i].addr, &io, rnd64() | 1, now);
	if (!nodes[i].s) {
		printf("Bail out! swim_new\n");
		exit(1);
	}
	for (int j = 0; j < nn; j++)
		if (j != i)
			swim_admit(nodes[i].s, nodes[j].addr);
	nodes[i].up = 1;
}

static void cluster(int n)
{
	for (int i = 0; i < nn; i++)
		swim_free(nodes[i].s);
	memset(nodes, 0, sizeof nodes);
	memset(blocked, 0, sizeof blocked);
	nq = 0;
	loss_pct = 0;
	nn = n;
	for (int i = 0; i < n; i++) {
		for (int b = 0; b < SWIM_ADDR_LEN; b++)
			nodes[i].addr[b] = (uint8_t)rnd64();
		nodes[i].idx = i;
		nodes[i].hex[0] = '0';
		nodes[i].hex[1] = 'x';
		for (int b = 0; b < SWIM_ADDR_LEN; b++)
			snprintf(nodes[i].hex + 2 + 2 * b, 3, "%02x", nodes[i].addr[b]);
	}
	for (int i = 0; i < n; i++)
		boot(i);
}

static void deliver_due(void)
{
	static struct pkt *due;
	static size_t capd;
	size_t w = 0, nd = 0;
	for (size_t i = 0; i < nq; i++) {
		if (q[i].at > now) {
			q[w++] = q[i];
			continue;
		}
		if (nd == capd) {
			capd = capd ? capd * 2 : 256;
			due = realloc(due, capd * sizeof *due);
			if (!due) {
				printf("Bail out! out of memory\n");
				exit(1);
			}
		}
		due[nd++] = q[i];
	}
	nq = w;
	for (size_t i = 0; i < nd; i++) {
		struct pkt *p = &due[i];
		if (nodes[p->to].up && swim_wire_decode(p->body, p->len, &decoded, NULL, 0) == 0)
			swim_handle(nodes[p->to].s, nodes[p->from].addr, &decoded, now);
	}
}

static void run_until(uint64_t until)
{
	for (;;) {
		uint64_t t = until;
		for (size_t i = 0; i < nq; i++)
			if (q[i].at < t)
				t = q[i].at;
		for (int i = 0; i < nn; i++)
			if (nodes[i].up) {
				uint64_t d = swim_next_deadline(nodes[i].s);
				if (d < t)
					t = d;
			}
		if (t < now)
			t = now;
		if (t >= until && t != now) {
			now = until;
			break;
		}
		now = t;
		deliver_due();
		for (int i = 0; i < nn; i++)
			if (nodes[i].up && swim_next_deadline(nodes[i].s) <= now)
				swim_tick(nodes[i].s, now);
		if (now >= until)
			break;
	}
}

static int view(int i, int j)
{
	const struct swim_member *m = swim_find(nodes[i].s, nodes[j].addr);
	return m ? m->state : -1;
}

static int converged(void)
{
	for (int i = 0; i < nn; i++)
		for (int j = 0; j < nn; j++)
			if (i != j && view(i, j) != SWIM_ALIVE)
				return 0;
	return 1;
}

/* What an admitted member k can make member i believe about member j. */
static void false_claim(int i, int k, int j)
{
	uint8_t body[SWIM_BODY_MAX];
	size_t off = 0;
	const struct swim_member *m = swim_find(nodes[i].s, nodes[j].addr);
	uint64_t inc = (m ? m->incarnation : 0) + rin(0, 3) * rin(0, SWIM_INC_JUMP_MAX / 3);
	int kind = (int)rin(0, 2);
	int rc;
	if (kind == 2 && k == j)
		rc = swim_wire_left(body, sizeof body, &off, nodes[j].addr, inc);
	else
		rc = swim_wire_suspect_dead(body, sizeof body, &off,
		                            kind == 0 ? SWIM_MSG_SUSPECT : SWIM_MSG_DEAD, nodes[j].addr,
		                            inc, nodes[k].addr);
	if (rc == 0 && swim_wire_decode(body, off, &decoded, NULL, 0) == 0)
		swim_handle(nodes[i].s, nodes[k].addr, &decoded, now);
}

/* One random fault now. LEFT is said only by its subject (k == j), as the rules allow. */
static void fault(void)
{
	int i = (int)rin(0, (uint64_t)nn - 1), j = (int)rin(0, (uint64_t)nn - 1);
	int k = (int)rin(0, (uint64_t)nn - 1);
	switch (rin(0, 9)) {
	case 0: case 1: case 2: case 3:
		if (i != j && nodes[i].up)
			false_claim(i, k == i ? j : k, j);
		break;
	case 4:
		nodes[i].up = 0; /* a paused process: keeps its state, misses everything */
		break;
	case 5:
		if (!nodes[i].up)
			nodes[i].up = 1;
		break;
	case 6:
		nodes[i].restarts++;
		boot(i);
		break;
	case 7:
		if (i != j)
			blocked[i][j] = !blocked[i][j];
		break;
	case 8:
		loss_pct = (unsigned)rin(0, 30);
		break;
	default:
		break;
	}
}

/* ---- placement from each member's view ---- */

struct svcset {
	struct place_service s[MAXSVC];
	char names[MAXSVC][32];
	struct place_port ports[MAXSVC];
	size_t n;
};

static void random_services(struct svcset *ss)
{
	memset(ss, 0, sizeof *ss);
	ss->n = (size_t)rin(1, MAXSVC);
	for (size_t i = 0; i < ss->n; i++) {
		struct place_service *s = &ss->s[i];
		snprintf(ss->names[i], sizeof ss->names[i], "svc%zu", i);
		s->name = ss->names[i];
		s->replicas = (uint32_t)rin(0, 12);
		s->cpu_millis = rin(0, 4) * 250;
		s->mem_mib = rin(0, 4) * 128;
		s->priority = (int64_t)rin(0, 4) - 2;
		s->strategy = (int)rin(0, 2);
		s->exclusive = rin(0, 5) == 0;
		s->generation = rin(1, 9);
		if (rin(0, 2) == 0) {
			ss->ports[i] = (struct place_port){(uint16_t)(8000 + rin(0, 3)), 80, 0};
			s->ports = &ss->ports[i];
			s->nports = 1;
		}
	}
}

/* The placement as member me sees it (me < 0: the truth, every member live), with the
 * inputs in a shuffled order. Returns the hash's hex, or "" on error. */
static void placement(const struct svcset *ss, const uint64_t *cpu, int me, char hex[65])
{
	struct place_node pn[MAXN];
	struct place_service ps[MAXSVC];
	int order[MAXN];
	for (int i = 0; i < nn; i++)
		order[i] = i;
	for (int i = nn - 1; i > 0; i--) {
		int r = (int)rin(0, (uint64_t)i), t = order[i];
		order[i] = order[r];
		order[r] = t;
	}
	for (int k = 0; k < nn; k++) {
		int j = order[k];
		int st = me < 0 || me == j ? SWIM_ALIVE : view(me, j);
		pn[k] = (struct place_node){.address = nodes[j].hex, .cpu_millis = cpu[j],
		                            .mem_mib = 4096, .active = 1,
		                            .live = st == SWIM_ALIVE || st == SWIM_SUSPECT};
	}
	size_t off = (size_t)rin(0, ss->n - 1);
	for (size_t i = 0; i < ss->n; i++)
		ps[i] = ss->s[(i + off) % ss->n];
	struct place_input in = {ps, ss->n, pn, (size_t)nn};
	struct place_result *r = NULL;
	char err[256];
	hex[0] = '\0';
	if (place_compute(&in, &r, err, sizeof err) < 0) {
		printf("# place_compute: %s\n", err);
		return;
	}
	memcpy(hex, r->hash_hex, 65);
	place_result_free(r);
}

/* ---- one seed ---- */

struct outcome {
	int swim_ok, place_ok, wrong_before;
	uint64_t took_ms;
	char why[160];
};

static void run_seed(uint64_t seed, struct outcome *o)
{
	memset(o, 0, sizeof *o);
	rng = seed * 0x9e3779b97f4a7c15ULL + 0x5851f42d4c957f2dULL;
	now = 1000000 + rin(0, 1000000);
	cluster((int)rin(2, MAXN));
	struct svcset ss;
	random_services(&ss);
	uint64_t cpu[MAXN];
	for (int i = 0; i < nn; i++)
		cpu[i] = rin(1, 8) * 500;
	run_until(now + rin(0, 5000));
	/* Wrong before: a burst of false claims, then faults while it runs. */
	for (unsigned f = 0, nf = (unsigned)rin(nn, 4 * (uint64_t)nn); f < nf; f++)
		false_claim((int)rin(0, (uint64_t)nn - 1), (int)rin(0, (uint64_t)nn - 1),
		            (int)rin(0, (uint64_t)nn - 1));
	o->wrong_before = !converged();
	uint64_t end = now + rin(0, CONV_FAULT_MS);
	while (now < end) {
		run_until(now + rin(1, 2000));
		fault();
	}
	/* The faults stop: every process runs, the network heals. */
	for (int i = 0; i < nn; i++)
		nodes[i].up = 1;
	memset(blocked, 0, sizeof blocked);
	loss_pct = 0;
	uint64_t start = now;
	while (!converged() && now - start <= CONV_BOUND_MS)
		run_until(now + 100);
	o->took_ms = now - start;
	o->swim_ok = converged();
	if (!o->swim_ok) {
		for (int i = 0; i < nn && !o->why[0]; i++)
			for (int j = 0; j < nn; j++)
				if (i != j && view(i, j) != SWIM_ALIVE) {
					snprintf(o->why, sizeof o->why, "member %d sees %d in state %d", i, j,
					         view(i, j));
					if (getenv("CONV_DEBUG"))
						for (int a = 0; a < nn; a++) {
							printf("# view of %d:", a);
							for (int b2 = 0; b2 < nn; b2++) {
								const struct swim_member *mm = swim_find(nodes[a].s, nodes[b2].addr);
								printf(" %d:%d@%llu", b2, mm->state, (unsigned long long)mm->incarnation);
							}
							printf(" restarts %llu\n", (unsigned long long)nodes[a].restarts);
						}
					break;
				}
		return;
	}
	char truth[65], mine[65];
	placement(&ss, cpu, -1, truth);
	o->place_ok = truth[0] != '\0';
	for (int i = 0; i < nn && o->place_ok; i++) {
		placement(&ss, cpu, i, mine);
		if (strcmp(mine, truth) != 0) {
			o->place_ok = 0;
			snprintf(o->why, sizeof o->why, "member %d places %.16s, the truth is %.16s", i,
			         mine, truth);
		}
	}
}

/* Attack the check itself: a view left wrong must give another placement somewhere. */
static void test_check_bites(void)
{
	rng = 7;
	now = 1000000;
	cluster(4);
	run_until(now + 10000);
	ok(converged(), "a healthy cluster converges");
	struct svcset ss;
	memset(&ss, 0, sizeof ss);
	ss.n = 1;
	snprintf(ss.names[0], sizeof ss.names[0], "web");
	ss.s[0] = (struct place_service){.name = ss.names[0], .replicas = 4, .generation = 1};
	uint64_t cpu[MAXN] = {1000, 1000, 1000, 1000};
	char truth[65], mine[65];
	placement(&ss, cpu, -1, truth);
	nodes[3].up = 0;
	false_claim(0, 1, 3);
	false_claim(0, 2, 3);
	while (view(0, 3) != SWIM_DEAD)
		false_claim(0, 1, 3);
	ok(!converged(), "a member believed dead is seen as not converged");
	placement(&ss, cpu, 0, mine);
	ok(strcmp(mine, truth) != 0, "and its believer's placement differs from the truth");
	nodes[3].up = 1;
	uint64_t start = now;
	while (!converged() && now - start <= CONV_BOUND_MS)
		run_until(now + 100);
	ok(converged(), "once it runs again, it refutes and every view is right (%llu ms)",
	   (unsigned long long)(now - start));
	placement(&ss, cpu, 0, mine);
	is_str(mine, truth, "and the placement is the truth's");
}


/* ---- regressions: views no member could correct before (found by the seeds above) ---- */

static int settle(int i, int j, uint64_t limit)
{
	uint64_t start = now;
	while (view(i, j) != SWIM_ALIVE && now - start <= limit)
		run_until(now + 100);
	return view(i, j) == SWIM_ALIVE;
}

/* Member i's copy of j pushed to DEAD at held + step, by member k (a third party). */
static void claim_at(int i, int k, int j, uint8_t type, uint64_t step)
{
	uint8_t body[SWIM_BODY_MAX];
	size_t off = 0;
	const struct swim_member *m = swim_find(nodes[i].s, nodes[j].addr);
	if (type == SWIM_MSG_LEFT)
		swim_wire_left(body, sizeof body, &off, nodes[j].addr, m->incarnation + step);
	else if (type == SWIM_MSG_ALIVE)
		swim_wire_alive(body, sizeof body, &off, nodes[j].addr, m->incarnation + step, NULL, 0, 0);
	else
		swim_wire_suspect_dead(body, sizeof body, &off, type, nodes[j].addr,
		                       m->incarnation + step, nodes[k].addr);
	if (swim_wire_decode(body, off, &decoded, NULL, 0) == 0)
		swim_handle(nodes[i].s, nodes[k].addr, &decoded, now);
}

static void test_regressions(void)
{
	/* 1. Seed 50: third-party claims climbed member 0's copy of member 3 more than
	 * SWIM_INC_JUMP_MAX above 3's own incarnation; 3 ignored 0's hints as unbelievable
	 * and 0 held it dead for ever. */
	rng = 50;
	now = 1000000;
	cluster(4);
	run_until(now + 10000);
	claim_at(0, 1, 3, SWIM_MSG_SUSPECT, SWIM_INC_JUMP_MAX);
	claim_at(0, 1, 3, SWIM_MSG_DEAD, SWIM_INC_JUMP_MAX);
	ok(view(0, 3) == SWIM_DEAD &&
	   swim_find(nodes[0].s, nodes[3].addr)->incarnation >
	       swim_self(nodes[3].s)->incarnation + SWIM_INC_JUMP_MAX,
	   "a member's copy of another climbed past its own incarnation + SWIM_INC_JUMP_MAX");
	ok(settle(0, 3, 10000), "the subject answers the hint with its own word: alive again (%llu)",
	   (unsigned long long)swim_find(nodes[0].s, nodes[3].addr)->incarnation);
	ok(settle(0, 3, 1) && converged(), "and every view is right");

	/* 2. Seed 66: a member held dead high restarts from incarnation 0. */
	now = 2000000;
	cluster(3);
	run_until(now + 10000);
	for (int r = 0; r < 3; r++)
		claim_at(0, 1, 2, SWIM_MSG_ALIVE, SWIM_INC_JUMP_MAX);
	claim_at(0, 1, 2, SWIM_MSG_DEAD, 0);
	boot(2);
	ok(view(0, 2) == SWIM_DEAD && swim_self(nodes[2].s)->incarnation == 0 &&
	   swim_find(nodes[0].s, nodes[2].addr)->incarnation > SWIM_INC_JUMP_MAX,
	   "held dead at %llu, the member restarts at 0",
	   (unsigned long long)swim_find(nodes[0].s, nodes[2].addr)->incarnation);
	ok(settle(0, 2, 10000), "it is seen alive again within 10 s");

	/* 3. Seed 18230: a member holds another LEFT below the incarnation everyone else
	 * has, more than SWIM_INC_JUMP_MAX below: third parties cannot carry the subject's
	 * refutation to it and it never contacts a member that left. */
	now = 3000000;
	cluster(6);
	run_until(now + 10000);
	claim_at(0, 2, 2, SWIM_MSG_LEFT, 0); /* 0 believes 2 left (2 said so) */
	nodes[0].up = 0;
	for (int r = 0; r < 2; r++)
		claim_at(2, 1, 2, SWIM_MSG_ALIVE, SWIM_INC_JUMP_MAX); /* 2 refutes, twice */
	run_until(now + 20000); /* its gossip is spent while 0 hears nothing */
	nodes[0].up = 1;
	ok(view(0, 2) == SWIM_LEFT && view(1, 2) == SWIM_ALIVE &&
	   swim_self(nodes[2].s)->incarnation >
	       swim_find(nodes[0].s, nodes[2].addr)->incarnation + SWIM_INC_JUMP_MAX,
	   "a member holds another LEFT far below the subject's incarnation");
	ok(settle(0, 2, 10000), "the subject answers its stale hint: alive again within 10 s");
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return def;
	char *end;
	unsigned long long x = strtoull(v, &end, 10);
	return *end ? def : (uint64_t)x;
}

int main(void)
{
	test_check_bites();
	test_regressions();
	uint64_t one = env_u64("CANTEEN_CONVERGE_SEED", 0);
	uint64_t first = one ? one : 1, nseeds = one ? 1 : env_u64("CANTEEN_CONVERGE_SEEDS", 1000);
	uint64_t bad_swim = 0, bad_place = 0, wrong = 0, worst = 0, worst_seed = 0, total = 0;
	struct outcome o;
	for (uint64_t seed = first; seed < first + nseeds; seed++) {
		run_seed(seed, &o);
		wrong += (uint64_t)o.wrong_before;
		if (!o.swim_ok || !o.place_ok) {
			if (!o.swim_ok)
				bad_swim++;
			else
				bad_place++;
			if (bad_swim + bad_place <= 5)
				diag("seed %llu: %s (after %llu ms)", (unsigned long long)seed, o.why,
				     (unsigned long long)o.took_ms);
			continue;
		}
		total += o.took_ms;
		if (getenv("CONV_DEBUG"))
			printf("# took %llu\n", (unsigned long long)o.took_ms);
		if (o.took_ms > worst) {
			worst = o.took_ms;
			worst_seed = seed;
		}
	}
	ok(wrong * 2 > nseeds, "most seeds start from a wrong view (%llu of %llu)",
	   (unsigned long long)wrong, (unsigned long long)nseeds);
	is_int(bad_swim, 0, "every view right within %u ms of the faults stopping, over %llu seeds",
	       CONV_BOUND_MS, (unsigned long long)nseeds);
	is_int(bad_place, 0, "every member's placement equals the truth's, over %llu seeds",
	       (unsigned long long)nseeds);
	diag("convergence after faults: worst %llu ms (seed %llu), mean %llu ms",
	     (unsigned long long)worst, (unsigned long long)worst_seed,
	     (unsigned long long)(nseeds > bad_swim + bad_place ?
	                          total / (nseeds - bad_swim - bad_place) : 0));
	for (int i = 0; i < nn; i++)
		swim_free(nodes[i].s);
	free(q);
	return done_testing();
}
