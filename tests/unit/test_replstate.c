/* test_replstate.c: the replica-state summary: round trips, what does not fit, hostile input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replstate.h"
#include "tap.h"

static struct replstate_entry ent(const char *svc, unsigned r, enum replstate_state st,
                                  unsigned restarts, int64_t since, const char *why)
{
	struct replstate_entry e = {.hash = replstate_hash(svc), .replica = r, .state = st,
	                            .restarts = restarts, .since = since};
	size_t n = strlen(why) < REPLSTATE_REASON_MAX ? strlen(why) : REPLSTATE_REASON_MAX;
	memcpy(e.reason, why, n);
	e.reason[n] = '\0';
	return e;
}

static int refused(const char *s, const char *want)
{
	struct replstate rs;
	char err[256] = "";
	int rc = replstate_decode(s, strlen(s), &rs, err, sizeof err);
	if (rc == 0 || !strstr(err, want)) {
		printf("#   '%s': rc %d, err '%s' (want '%s')\n", s, rc, err, want);
		return 0;
	}
	return 1;
}

static void round_trip(void)
{
	struct replstate_entry v[] = {
	    ent("web", 0, RS_RUNNING, 0, 1700000000, "ignored for running"),
	    ent("web", 1, RS_CRASHLOOP, 3, 1700000100, "crash loop: exit 1, next restart in 16 s"),
	    ent("db", 0, RS_PENDING, 0, 0, "pull of nosuch:1 failed: manifest unknown"),
	    ent("db", 1, RS_CREATED, 0, 1700000050, ""),
	};
	char out[REPLSTATE_MAX + 1];
	size_t len = replstate_encode(v, 4, out, sizeof out);
	is_int(len, strlen(out), "length returned");
	ok(strncmp(out, "R2 1700000000 4 1 1 1 1\n", 24) == 0, "header: base, total, counts: %.23s", out);
	struct replstate rs;
	char err[256];
	is_int(replstate_decode(out, len, &rs, err, sizeof err), 0, "decodes its own output");
	is_int(rs.total, 4, "total");
	is_int(rs.n, 4, "every replica shown");
	is_int(rs.e[0].state, RS_CRASHLOOP, "failing first");
	is_str(rs.e[0].reason, "crash loop: exit 1, next restart in 16 s", "reason kept");
	is_int(rs.e[0].since, 1700000100, "since restored from the base");
	is_int(rs.e[0].restarts, 3, "restarts");
	is_int(rs.e[0].hash, replstate_hash("web"), "hash");
	is_int(rs.e[1].state, RS_PENDING, "then pending");
	is_int(rs.e[1].since, 0, "unknown since stays unknown");
	is_str(rs.e[1].reason, "pull of nosuch:1 failed: manifest unknown", "pending reason");
	is_int(rs.e[3].state, RS_RUNNING, "running last");
	is_str(rs.e[3].reason, "", "no reason on a running replica");
	is_int(replstate_hash(""), 0x811c9dc5u, "FNV-1a of nothing");
	is_int(replstate_hash("a"), 0xe40c292cu, "FNV-1a of a");
	is_str(replstate_state_name(RS_CRASHLOOP), "crashloop", "state name");
	is_int(replstate_state_of("exited"), RS_EXITED, "state of a name");
	is_int(replstate_state_of("sleeping"), -1, "unknown name");
}

/* Health rides on running replicas only, as one character after the state. */
static void health(void)
{
	struct replstate_entry v[] = {
	    ent("web", 0, RS_RUNNING, 0, 1700000000, ""), ent("web", 1, RS_RUNNING, 2, 1700000000, ""),
	    ent("web", 2, RS_RUNNING, 0, 1700000000, ""), ent("web", 3, RS_RUNNING, 0, 1700000000, ""),
	    ent("web", 4, RS_EXITED, 1, 1700000000, "exited 1"),
	};
	v[0].health = RH_HEALTHY;
	v[1].health = RH_UNHEALTHY;
	v[2].health = RH_STARTING;
	v[4].health = RH_UNHEALTHY; /* not running: not said */
	char out[REPLSTATE_MAX + 1];
	size_t len = replstate_encode(v, 5, out, sizeof out);
	struct replstate rs;
	char err[200] = "";
	ok(replstate_decode(out, len, &rs, err, sizeof err) == 0 && rs.n == 5, "health round trip: %s", err);
	ok(strstr(out, " r! ") && strstr(out, " r+ ") && strstr(out, " r~ ") && strstr(out, " r 0") &&
	   !strstr(out, "e!"), "codes: %s", out);
	ok(rs.e[0].replica == 1 && rs.e[0].health == RH_UNHEALTHY && rs.e[1].replica == 4,
	   "the unhealthy one is listed with the failing ones, first");
	int seen[5] = {0};
	for (size_t i = 0; i < rs.n; i++)
		seen[rs.e[i].replica] = (int)rs.e[i].health + 1;
	ok(seen[0] == RH_HEALTHY + 1 && seen[2] == RH_STARTING + 1 && seen[3] == RH_NONE + 1 &&
	   seen[4] == RH_NONE + 1, "each replica's health");
	is_str(replstate_health_name(RH_UNHEALTHY), "unhealthy", "health name");
	ok(replstate_health_of("healthy") == RH_HEALTHY && replstate_health_of("none") == RH_NONE &&
	   replstate_health_of("bogus") < 0, "health by name");
}

static void truncation(void)
{
	struct replstate_entry v[200];
	char name[16], why[200];
	memset(why, 'x', sizeof why - 1);
	why[sizeof why - 1] = '\0';
	why[3] = '\n';
	why[4] = (char)0xc3;
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "svc%d", i);
		v[i] = ent(name, (unsigned)i, i % 10 == 0 ? RS_EXITED : RS_RUNNING, 1, 1700000000 + i, why);
	}
	char out[REPLSTATE_MAX + 1];
	size_t len = replstate_encode(v, 200, out, sizeof out);
	ok(len <= REPLSTATE_MAX, "200 replicas fit in %d bytes: %zu", REPLSTATE_MAX, len);
	struct replstate rs;
	char err[256];
	is_int(replstate_decode(out, len, &rs, err, sizeof err), 0, "decodes: %s", err);
	is_int(rs.total, 200, "the total still counts every replica");
	is_int(rs.counts[RSC_RUNNING], 180, "running count");
	is_int(rs.counts[RSC_FAILING], 20, "failing count");
	ok(rs.n > 0 && rs.n < 200, "only what fits is listed (%zu)", rs.n);
	is_int(rs.e[0].state, RS_EXITED, "failing ones first");
	is_int(strlen(rs.e[0].reason), REPLSTATE_REASON_MAX, "reason cut at %d", REPLSTATE_REASON_MAX);
	ok(rs.e[0].reason[3] == '?' && rs.e[0].reason[4] == '?', "newline and non-ASCII replaced");
	char small[40];
	len = replstate_encode(v, 200, small, sizeof small);
	ok(len < sizeof small && replstate_decode(small, len, &rs, err, sizeof err) == 0 && rs.n == 0,
	   "a small buffer gets the counts only: '%s'", small);
	is_int(replstate_encode(v, 0, out, sizeof out), strlen("R2 0 0 0 0 0 0"), "nothing to say");
	is_str(out, "R2 0 0 0 0 0 0", "an empty server");
}

static void hostile(void)
{
	char big[REPLSTATE_MAX + 20];
	memset(big, ' ', sizeof big - 1);
	memcpy(big, "R1 0 0 0 0 0 0", 14);
	big[sizeof big - 1] = '\0';
	ok(refused(big, "limit is 512"), "oversized");
	ok(refused("", "no R1"), "empty");
	ok(refused("R3 0 0 0 0 0 0", "no R1 or R2"), "another version");
	ok(refused("R1 0 1 0 0 0 0\n0000000g 0 r 0 -", "hex"), "bad hash");
	ok(refused("R1 0 1 1 0 0 0\n0000000A 0 r 0 -", "hex"), "upper-case hash");
	ok(refused("R1 0 3 1 1 1 1", "add up"), "counts over the total (lying counts)");
	ok(refused("R1 0 2 1 0 0 0\n00000001 0 r 0 -\n00000002 0 r 0 -", "more running"),
	   "more running lines than counted");
	ok(refused("R1 0 2 2 0 0 0\n00000001 0 r 0 -\n00000001 0 r 0 -", "twice"), "a replica twice");
	ok(refused("R1 0 1 1 0 0 0\n00000001 0 q 0 -", "unknown state"), "unknown state");
	ok(refused("R1 0 1 1 0 0 0\n00000001 100000 r 0 -", "replica index"), "replica too big");
	ok(refused("R1 0 1 1 0 0 0\n00000001 01 r 0 -", "replica index"), "leading zero");
	ok(refused("R1 0 1 1 0 0 0\n00000001 -1 r 0 -", "replica index"), "a sign");
	ok(refused("R1 0 1 1 0 0 0\n00000001 0 r 99999999999 -", "restart"), "restarts overflow");
	ok(refused("R1 0 1 1 0 0 0\n00000001 0 r 0 -\n", "hex"), "a trailing newline");
	ok(refused("R1 0 1 1 0 0 0\n00000001 0 r 0 - why", "reason on a running"), "reason on running");
	ok(refused("R1 0 1 0 0 0 1\n00000001 0 e 0 - bad\tbyte", "printable"), "a control byte");
	ok(refused("R1 0 1 0 0 0 1\n00000001 0 e! 0 -", "health on a exited"), "health on an exited replica");
	ok(refused("R1 0 1 1 0 0 0\n00000001 0 r+! 0 -", "restart count"), "two health codes");
	ok(refused("R1 0 1 1 0 0 0\n00000001 0 r? 0 -", "restart count"), "an unknown health code");
	struct replstate one;
	const char *sp = "R1 0 1 0 0 0 1\n00000001 0 e 0 -  ";
	ok(replstate_decode(sp, strlen(sp), &one, NULL, 0) == 0 && strcmp(one.e[0].reason, " ") == 0,
	   "a reason of one space is a reason");
	ok(refused("R1 0 1 0 0 0 1\n00000001 0 e 0 - ", "junk"), "an empty reason");
	ok(refused("R1 4102444800 1 0 0 0 1\n00000001 0 e 0 1", "since"), "since past 2100");
	ok(refused("R1 0 16385 0 0 0 0", "total"), "total over the limit");
	ok(refused("R1 0 1 0 0 0 0 7", "junk"), "junk after counts");
	ok(refused("R1 0 1 0 0 0 0\n00000001  0 x 0 -", "replica index"), "double space");
	char many[REPLSTATE_MAX + 32];
	int off = snprintf(many, sizeof many, "R1 0 40 40 0 0 0");
	for (int i = 0; i < REPLSTATE_ENTRIES_MAX; i++)
		off += snprintf(many + off, sizeof many - (size_t)off, "\n%08x 0 r 0 -", i);
	struct replstate full;
	char ferr[128];
	ok(off <= REPLSTATE_MAX && replstate_decode(many, (size_t)off, &full, ferr, sizeof ferr) == 0 &&
	   full.n == REPLSTATE_ENTRIES_MAX, "the most lines that fit decode (%d bytes)", off);
	snprintf(many + off, sizeof many - (size_t)off, "\n%08x 0 r 0 -", 999);
	ok(refused(many, "limit is 512"), "one more line does not fit");
	struct replstate rs;
	char err[128];
	const char *ok1 = "R1 1700000000 2 1 0 0 0\n00000001 7 r 4 5\n00000002 3 x 0 -";
	is_int(replstate_decode(ok1, strlen(ok1), &rs, err, sizeof err), 0, "the 'other' class: %s", err);
	is_int(rs.e[0].since, 1700000005, "offset added to base");
}

/* R2 carries each replica's generation; R1 (the previous version) still decodes, with 0. */
static void generations(void)
{
	struct replstate_entry v[] = {ent("web", 0, RS_RUNNING, 0, 1700000000, ""),
	                              ent("web", 1, RS_PENDING, 0, 0, "pulling x")};
	v[0].generation = 9007199254740992ULL; /* 2^53, the largest */
	v[1].generation = 7;
	char out[REPLSTATE_MAX + 1], err[200] = "";
	size_t len = replstate_encode(v, 2, out, sizeof out);
	struct replstate rs;
	ok(replstate_decode(out, len, &rs, err, sizeof err) == 0 && rs.n == 2, "R2 round trip: %s", err);
	ok(rs.e[0].generation == 7 && rs.e[1].generation == 9007199254740992ULL, "generations kept: %s", out);
	v[0].generation = 9007199254740993ULL; /* past 2^53: said as unknown */
	len = replstate_encode(v, 2, out, sizeof out);
	ok(replstate_decode(out, len, &rs, err, sizeof err) == 0 && rs.e[1].generation == 0,
	   "a generation past 2^53 goes out as 0: %s", out);
	const char *r1 = "R1 1700000000 1 1 0 0 0\n00000001 7 r+ 4 5";
	ok(replstate_decode(r1, strlen(r1), &rs, err, sizeof err) == 0 && rs.n == 1 &&
	   rs.e[0].generation == 0 && rs.e[0].health == RH_HEALTHY, "an R1 summary decodes, generation 0");
	ok(refused("R2 0 1 1 0 0 0\n00000001 0 r 0 -", "generation"), "R2 without a generation");
	ok(refused("R2 0 1 1 0 0 0\n00000001 0 9007199254740993 r 0 -", "generation"), "R2 generation past 2^53");
	ok(refused("R2 0 1 1 0 0 0\n00000001 0 07 r 0 -", "generation"), "R2 generation with a leading zero");
	ok(refused("R2 0 1 1 0 0 0\n00000001 0 -1 r 0 -", "generation"), "R2 negative generation");
}

/* A rolled-back replica: '^' after its generation; R1 and generation 0 have none. */
static void rolled_back(void)
{
	struct replstate_entry v[] = {ent("web", 0, RS_RUNNING, 0, 1700000000, ""),
	                              ent("web", 1, RS_RUNNING, 0, 1700000000, "")};
	v[0].generation = 5;
	v[0].rolled_back = 1;
	v[1].generation = 5;
	char out[REPLSTATE_MAX + 1], err[200] = "";
	size_t len = replstate_encode(v, 2, out, sizeof out);
	struct replstate rs;
	ok(strstr(out, " 0 5^ r ") != NULL && strstr(out, " 1 5 r ") != NULL, "'^' on the rolled-back line only: %s", out);
	ok(replstate_decode(out, len, &rs, err, sizeof err) == 0 && rs.n == 2, "round trip: %s", err);
	ok((rs.e[0].replica == 0 ? rs.e[0].rolled_back && !rs.e[1].rolled_back
	                         : rs.e[1].rolled_back && !rs.e[0].rolled_back), "rolled_back kept");
	v[0].generation = 0; /* unknown generation: nothing to have rolled back from */
	len = replstate_encode(v, 1, out, sizeof out);
	ok(strchr(out, '^') == NULL, "no '^' with generation 0: %s", out);
	ok(refused("R2 0 1 1 0 0 0\n00000001 0 0^ r 0 -", "rollback of generation 0"), "'^' on generation 0");
	ok(refused("R2 0 1 1 0 0 0\n00000001 0 4^^ r 0 -", "state"), "'^' twice");
	ok(refused("R2 0 1 1 0 0 0\n00000001 0 ^4 r 0 -", "generation"), "'^' before the generation");
	ok(refused("R1 0 1 1 0 0 0\n00000001 0^ r 0 -", "state"), "'^' in R1");
}

/* More running replicas than lines fit: grouped, every one still shown. */
static void grouped(void)
{
	struct replstate_entry v[80];
	size_t n = 0;
	for (unsigned r = 0; r < 60; r += 3) { /* web: 20 replicas, every third index, healthy */
		v[n] = ent("web", r, RS_RUNNING, 2, 1700000000, "");
		v[n].health = RH_HEALTHY;
		v[n++].generation = 7;
	}
	for (unsigned r = 0; r < 40; r++) { /* db: 40 in a row */
		v[n] = ent("db", 39 - r, RS_RUNNING, 0, 1700000000, "");
		v[n++].generation = 2;
	}
	for (unsigned r = 0; r < 10; r++) { /* api: 10 rolled back */
		v[n] = ent("api", r, RS_RUNNING, 0, 1700000000, "");
		v[n].generation = 5;
		v[n++].rolled_back = 1;
	}
	v[n] = ent("web", 60, RS_EXITED, 3, 1700000005, "exited 1");
	v[n++].generation = 7;
	char out[REPLSTATE_MAX + 1], err[200] = "", want[64];
	size_t len = replstate_encode(v, n, out, sizeof out);
	struct replstate rs;
	struct replstate_entry e;
	ok(len <= REPLSTATE_MAX, "71 replicas in %zu bytes", len);
	is_int(replstate_decode(out, len, &rs, err, sizeof err), 0, "decodes: %s", err);
	is_int(replstate_len(&rs), 71, "every replica shown (%zu lines, %zu grouped)", rs.n, rs.ng);
	snprintf(want, sizeof want, "\n=%08x 2 r 0-39", (unsigned)replstate_hash("db"));
	ok(strstr(out, want) != NULL, "a row of indexes as a range: %s", want);
	snprintf(want, sizeof want, "\n=%08x 7 r+ 0,3,6,", (unsigned)replstate_hash("web"));
	ok(strstr(out, want) != NULL, "others as a list: %s", want);
	ok(replstate_find(&rs, replstate_hash("web"), 57, &e) && e.state == RS_RUNNING &&
	   e.health == RH_HEALTHY && e.generation == 7 && e.brief && !e.rolled_back, "web 57: running, healthy, 7");
	ok(!replstate_find(&rs, replstate_hash("web"), 56, &e), "web 56: not there");
	ok(replstate_find(&rs, replstate_hash("db"), 39, &e) && e.generation == 2 && e.health == RH_NONE, "db 39");
	ok(replstate_find(&rs, replstate_hash("api"), 3, &e) && e.rolled_back && e.generation == 5, "api 3: rolled back");
	ok(replstate_find(&rs, replstate_hash("web"), 60, &e) && e.state == RS_EXITED && !e.brief &&
	   strcmp(e.reason, "exited 1") == 0 && e.restarts == 3, "the failing one keeps its line and reason");
	/* Fewer: a line each, as before. */
	len = replstate_encode(v + n - 5, 5, out, sizeof out);
	ok(strchr(out, '=') == NULL, "5 replicas: no group line");
	/* 300 running in a row of one service: at most REPLSTATE_GROUPED_MAX listed, all decodable. */
	struct replstate_entry *w = calloc(300, sizeof *w);
	for (unsigned r = 0; r < 300; r++) {
		w[r] = ent("big", r, RS_RUNNING, 0, 0, "");
		w[r].generation = 1;
	}
	len = replstate_encode(w, 300, out, sizeof out);
	is_int(replstate_decode(out, len, &rs, err, sizeof err), 0, "300: decodes: %s", err);
	ok(rs.total == 300 && replstate_len(&rs) == REPLSTATE_GROUPED_MAX, "300: %zu of them listed, total 300",
	   replstate_len(&rs));
	free(w);
	char hs[9];
	snprintf(hs, sizeof hs, "%08x", 1u);
	ok(refused("R2 0 3 3 0 0 0\n=00000001 1 r 3,2", "increasing"), "group: decreasing");
	ok(refused("R2 0 3 3 0 0 0\n=00000001 1 r 2,2", "increasing"), "group: twice");
	ok(refused("R2 0 3 3 0 0 0\n=00000001 1 r 4-4", "a < b"), "group: a-a");
	ok(refused("R2 0 3 3 0 0 0\n=00000001 1 r 5-4", "a < b"), "group: b < a");
	ok(refused("R2 0 999 999 0 0 0\n=00000001 1 r 0-300", "more than 256"), "group: past the limit");
	ok(refused("R2 0 3 3 0 0 0\n=00000001 1 r! 1", "unhealthy"), "group: unhealthy");
	ok(refused("R2 0 3 0 0 0 3\n=00000001 1 e 1", "other than running"), "group: exited");
	ok(refused("R1 0 3 3 0 0 0\n=00000001 r 1", "hex"), "group: in R1");
	ok(refused("R2 0 3 3 0 0 0\n00000001 1 1 r 0 -\n=00000001 1 r 0,1", "twice"), "group: a replica of a line");
	ok(refused("R2 0 3 3 0 0 0\n=00000001 1 r 0-1\n=00000001 2 r 1", "twice"), "group: a replica of another group");
	ok(refused("R2 0 3 2 0 0 0\n=00000001 1 r 0-2", "more running"), "group: more than counted");
	ok(refused("R2 0 3 3 0 0 0\n=00000001 1 r ", "missing"), "group: no replicas");
	ok(refused("R2 0 3 3 0 0 0\n=00000001 1 r 1,", "missing"), "group: a trailing comma");
	ok(refused("R2 0 3 3 0 0 0\n=00000001 1 r 1 x", "junk"), "group: junk");
	ok(refused("R2 0 3 3 0 0 0\n=00000001 0^ r 1", "generation 0"), "group: rollback of 0");
}

int main(void)
{
	grouped();
	round_trip();
	generations();
	rolled_back();
	health();
	truncation();
	hostile();
	return done_testing();
}
