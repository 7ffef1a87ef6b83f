/* test_swim_wire.c: the SWIM codec (round trips, strict rejection) and the dissemination queue. */
#include <stdlib.h>
#include <string.h>

#include "swim_bcast.h"
#include "swim_wire.h"
#include "tap.h"

static struct swim_body body;

static void addr_of(uint8_t a[SWIM_ADDR_LEN], int v) { memset(a, v, SWIM_ADDR_LEN); }

static void test_round_trip(void)
{
	uint8_t buf[SWIM_BODY_MAX], a[20], b[20], c[20];
	size_t off = 0, hdr;
	addr_of(a, 0xaa);
	addr_of(b, 0xbb);
	addr_of(c, 0xcc);
	ok(swim_wire_probe(buf, sizeof buf, &off, SWIM_MSG_PING, 0xdeadbeef) == 0, "ping encodes");
	ok(swim_wire_ping_req(buf, sizeof buf, &off, 7, b, 400, 1) == 0, "ping-req encodes");
	ok(swim_wire_probe(buf, sizeof buf, &off, SWIM_MSG_ACK, 8) == 0, "ack encodes");
	ok(swim_wire_probe(buf, sizeof buf, &off, SWIM_MSG_NACK, 9) == 0, "nack encodes");
	ok(swim_wire_alive(buf, sizeof buf, &off, a, 3, (const uint8_t *)"hi", 2, 1) == 0,
	   "alive with meta encodes");
	ok(swim_wire_alive(buf, sizeof buf, &off, c, 4, NULL, 0, 0) == 0, "alive without meta");
	ok(swim_wire_suspect_dead(buf, sizeof buf, &off, SWIM_MSG_SUSPECT, b, 5, a) == 0, "suspect");
	ok(swim_wire_suspect_dead(buf, sizeof buf, &off, SWIM_MSG_DEAD, c, 6, a) == 0, "dead");
	ok(swim_wire_left(buf, sizeof buf, &off, a, 7) == 0, "left");
	ok(swim_wire_pp_begin(buf, sizeof buf, &off, 1, &hdr) == 0, "push-pull header");
	struct swim_entry e = {.state = SWIM_SUSPECT, .incarnation = 9, .has_meta = 1, .meta_len = 3,
	                       .meta = (const uint8_t *)"xyz"};
	memcpy(e.addr, b, 20);
	ok(swim_wire_pp_entry(buf, sizeof buf, &off, hdr, &e) == 0, "push-pull entry 1");
	e.state = SWIM_LEFT;
	e.has_meta = 0;
	ok(swim_wire_pp_entry(buf, sizeof buf, &off, hdr, &e) == 0, "push-pull entry 2");

	char err[128] = "";
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) == 0, "decodes (%s)", err);
	is_int(body.nmsg, 10, "ten messages");
	is_int(body.msg[0].type, SWIM_MSG_PING, "ping type");
	ok(body.msg[0].probe == 0xdeadbeef, "ping probe id");
	ok(body.msg[1].type == SWIM_MSG_PING_REQ && body.msg[1].probe == 7 &&
	       body.msg[1].timeout_ms == 400 && body.msg[1].flags == SWIM_PR_NACK &&
	       memcmp(body.msg[1].target, b, 20) == 0,
	   "ping-req fields");
	ok(body.msg[2].type == SWIM_MSG_ACK && body.msg[2].probe == 8, "ack fields");
	ok(body.msg[3].type == SWIM_MSG_NACK && body.msg[3].probe == 9, "nack fields");
	ok(body.msg[4].e.incarnation == 3 && body.msg[4].e.has_meta && body.msg[4].e.meta_len == 2 &&
	       memcmp(body.msg[4].e.meta, "hi", 2) == 0 && memcmp(body.msg[4].e.addr, a, 20) == 0,
	   "alive fields and meta");
	ok(!body.msg[5].e.has_meta && body.msg[5].e.meta_len == 0, "alive without meta");
	ok(body.msg[6].type == SWIM_MSG_SUSPECT && body.msg[6].e.incarnation == 5 &&
	       memcmp(body.msg[6].from, a, 20) == 0 && body.msg[6].e.state == SWIM_SUSPECT,
	   "suspect fields");
	ok(body.msg[7].type == SWIM_MSG_DEAD && body.msg[7].e.state == SWIM_DEAD, "dead fields");
	ok(body.msg[8].type == SWIM_MSG_LEFT && body.msg[8].e.incarnation == 7, "left fields");
	ok(body.msg[9].type == SWIM_MSG_PUSHPULL && body.msg[9].count == 2 &&
	       (body.msg[9].flags & SWIM_PP_REPLY),
	   "push-pull header fields");
	const struct swim_entry *d0 = &body.entries[body.msg[9].first];
	ok(d0->state == SWIM_SUSPECT && d0->incarnation == 9 && d0->meta_len == 3 &&
	       memcmp(d0->meta, "xyz", 3) == 0,
	   "push-pull entry fields");
	ok(d0[1].state == SWIM_LEFT && !d0[1].has_meta, "second entry");

	/* Every proper prefix is rejected, as is any trailing byte. */
	int prefixes_ok = 1;
	for (size_t n = 0; n < off; n++) {
		int is_boundary = 0;
		/* A prefix that ends exactly between messages is a valid, shorter body. */
		size_t o = 0;
		for (size_t i = 0; i < 9 && o < n; i++) {
			static const size_t sizes[] = {5, 28, 5, 5, 34, 32, 49, 49, 29};
			o += sizes[i];
			if (o == n)
				is_boundary = 1;
		}
		int rc = swim_wire_decode(buf, n, &body, NULL, 0);
		if ((rc == 0) != is_boundary)
			prefixes_ok = 0;
	}
	ok(prefixes_ok, "truncated bodies are rejected unless cut between messages");
	buf[off] = 0;
	ok(swim_wire_decode(buf, off + 1, &body, NULL, 0) < 0, "a trailing byte is rejected");
}

static void test_rejects(void)
{
	uint8_t buf[SWIM_BODY_MAX + 8] = {0}, a[20];
	size_t off;
	char err[128];
	addr_of(a, 1);
	ok(swim_wire_decode(buf, 0, &body, err, sizeof err) < 0, "empty body rejected");
	buf[0] = 0;
	ok(swim_wire_decode(buf, 1, &body, err, sizeof err) < 0, "type 0 rejected (%s)", err);
	buf[0] = 10;
	ok(swim_wire_decode(buf, 5, &body, err, sizeof err) < 0, "type 10 rejected");

	off = 0;
	swim_wire_ping_req(buf, sizeof buf, &off, 1, a, 10, 1);
	buf[off - 1] = 0x02;
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) < 0, "unknown ping-req flag rejected");

	off = 0;
	swim_wire_alive(buf, sizeof buf, &off, a, 1, NULL, 0, 0);
	buf[29] = 2;
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) < 0, "meta flag 2 rejected");
	buf[29] = 0;
	buf[31] = 1;
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) < 0, "absent meta with a length rejected");

	uint8_t meta[SWIM_META_MAX + 1];
	memset(meta, 'm', sizeof meta);
	off = 0;
	ok(swim_wire_alive(buf, sizeof buf, &off, a, 1, meta, SWIM_META_MAX + 1, 1) < 0,
	   "encoder refuses 513 bytes of meta");
	ok(swim_wire_alive(buf, sizeof buf, &off, a, 1, meta, SWIM_META_MAX, 1) == 0,
	   "512 bytes of meta is fine");
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) == 0, "and decodes");
	buf[30] = 0x02; /* length 0x0201 = 513 */
	buf[31] = 0x01;
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) < 0, "513 bytes of meta rejected (%s)",
	   err);

	/* Incarnations are 64 bits, up to SWIM_INC_MAX: no wrap at 2^32. */
	off = 0;
	swim_wire_alive(buf, sizeof buf, &off, a, 0x100000000ULL, NULL, 0, 0);
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) == 0 &&
	   body.msg[0].e.incarnation == 0x100000000ULL, "an incarnation past 2^32 round-trips");
	off = 0;
	swim_wire_suspect_dead(buf, sizeof buf, &off, SWIM_MSG_DEAD, a, SWIM_INC_MAX, a);
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) == 0, "SWIM_INC_MAX is accepted");
	off = 0;
	swim_wire_suspect_dead(buf, sizeof buf, &off, SWIM_MSG_DEAD, a, SWIM_INC_MAX + 1, a);
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) < 0, "above SWIM_INC_MAX rejected (%s)",
	   err);
	off = 0;
	swim_wire_left(buf, sizeof buf, &off, a, UINT64_MAX);
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) < 0, "a LEFT at 2^64-1 rejected");

	size_t hdr;
	off = 0;
	swim_wire_pp_begin(buf, sizeof buf, &off, 0, &hdr);
	struct swim_entry e = {.state = SWIM_ALIVE};
	swim_wire_pp_entry(buf, sizeof buf, &off, hdr, &e);
	buf[3 + 20] = 5;
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) < 0, "member state 5 rejected");
	buf[3 + 20] = 0;
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) < 0, "member state 0 rejected");
	buf[1] = 0x80;
	buf[3 + 20] = 1;
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) < 0, "unknown push-pull flag rejected");
	buf[1] = 0;
	buf[2] = 2;
	ok(swim_wire_decode(buf, off, &body, err, sizeof err) < 0, "entry count past the end");

	off = 0;
	int n = 0;
	while (swim_wire_probe(buf, sizeof buf, &off, SWIM_MSG_ACK, 1) == 0 && n < 65)
		n++;
	ok(swim_wire_decode(buf, 65 * 5, &body, err, sizeof err) < 0, "65 messages rejected");
	ok(swim_wire_decode(buf, 64 * 5, &body, err, sizeof err) == 0, "64 messages accepted");
	ok(swim_wire_decode(buf, SWIM_BODY_MAX + 1, &body, err, sizeof err) < 0, "oversized body");
	off = SWIM_BODY_MAX - 3;
	ok(swim_wire_probe(buf, SWIM_BODY_MAX, &off, SWIM_MSG_PING, 1) < 0 && off == SWIM_BODY_MAX - 3,
	   "encoder stops at the capacity and writes nothing");
}

static void test_hex(void)
{
	uint8_t a[20];
	char hex[43];
	ok(swim_addr_parse("0x00112233445566778899aabbccddeeff00112233", a) == 0, "address parses");
	swim_addr_hex(a, hex);
	is_str(hex, "0x00112233445566778899aabbccddeeff00112233", "and prints back");
	ok(swim_addr_parse("0x00112233445566778899AABBCCDDEEFF00112233", a) < 0, "uppercase refused");
	ok(swim_addr_parse("00112233445566778899aabbccddeeff00112233", a) < 0, "no 0x refused");
	ok(swim_addr_parse("0x00112233445566778899aabbccddeeff0011223", a) < 0, "39 digits refused");
	ok(swim_addr_parse("", a) < 0, "empty refused");
	uint8_t k[2];
	ok(swim_hex_parse("aBcD", k, 2) == 0 && k[0] == 0xab && k[1] == 0xcd, "key hex, any case");
	ok(swim_hex_parse("abc", k, 2) < 0 && swim_hex_parse("abcg", k, 2) < 0, "bad key hex");
}

static void test_bcast(void)
{
	struct swim_bcast q;
	uint8_t a[20], b[20], c[20], buf[SWIM_BODY_MAX];
	size_t off;
	addr_of(a, 1);
	addr_of(b, 2);
	addr_of(c, 3);
	is_int(swim_retransmit_limit(4, 1), 4, "limit n=1");
	is_int(swim_retransmit_limit(4, 9), 4, "limit n=9: 4 * ceil(log10 10)");
	is_int(swim_retransmit_limit(4, 10), 8, "limit n=10: 4 * ceil(log10 11)");
	is_int(swim_retransmit_limit(3, 100), 9, "limit n=100");
	swim_bcast_init(&q, 2);
	swim_bcast_push(&q, a, (const uint8_t *)"AAAAA", 5);
	swim_bcast_push(&q, b, (const uint8_t *)"BBBBB", 5);
	swim_bcast_push(&q, a, (const uint8_t *)"aaaaa", 5);
	is_int(swim_bcast_len(&q), 2, "a newer update about the same member replaces the older");
	off = 0;
	is_int(swim_bcast_fill(&q, buf, 5, &off, 3), 1, "only one fits in 5 bytes");
	ok(memcmp(buf, "aaaaa", 5) == 0, "the newest goes first");
	off = 0;
	is_int(swim_bcast_fill(&q, buf, sizeof buf, &off, 3), 2, "both fit in a big packet");
	ok(memcmp(buf, "BBBBB", 5) == 0, "the least sent goes first");
	swim_bcast_push(&q, c, (const uint8_t *)"CCCCC", 5);
	is_int(swim_bcast_len(&q), 2, "a full queue drops its most-sent item");
	for (int i = 0; i < 3; i++) {
		off = 0;
		swim_bcast_fill(&q, buf, sizeof buf, &off, 3);
	}
	is_int(swim_bcast_len(&q), 0, "items leave after the retransmit limit");
	swim_bcast_free(&q);
}

/* The queue as first written: one array, every selection a scan. The real one must pick
 * exactly the same items in the same order. */
struct ref_item {
	uint8_t subject[20], msg[64];
	size_t len;
	unsigned transmits;
	uint64_t id;
};
struct ref_q {
	struct ref_item it[64];
	size_t n, max;
	uint64_t next_id;
};

static void ref_remove(struct ref_q *r, size_t i) { r->it[i] = r->it[--r->n]; }

static void ref_push(struct ref_q *r, const uint8_t *subject, const uint8_t *msg, size_t len)
{
	for (size_t i = 0; i < r->n; i++)
		if (memcmp(r->it[i].subject, subject, 20) == 0) {
			ref_remove(r, i);
			break;
		}
	if (r->n == r->max) {
		size_t w = 0;
		for (size_t i = 1; i < r->n; i++)
			if (r->it[i].transmits > r->it[w].transmits ||
			    (r->it[i].transmits == r->it[w].transmits && r->it[i].id < r->it[w].id))
				w = i;
		ref_remove(r, w);
	}
	struct ref_item *it = &r->it[r->n++];
	memcpy(it->subject, subject, 20);
	memcpy(it->msg, msg, len);
	it->len = len;
	it->transmits = 0;
	it->id = r->next_id++;
}

static size_t ref_fill(struct ref_q *r, uint8_t *buf, size_t cap, size_t *off, unsigned limit)
{
	uint8_t taken[64] = {0};
	size_t sent = 0;
	for (;;) {
		size_t best = r->n;
		for (size_t i = 0; i < r->n; i++) {
			if (taken[i] || *off > cap || r->it[i].len > cap - *off)
				continue;
			if (best == r->n || r->it[i].transmits < r->it[best].transmits ||
			    (r->it[i].transmits == r->it[best].transmits && r->it[i].id > r->it[best].id))
				best = i;
		}
		if (best == r->n)
			break;
		taken[best] = 1;
		memcpy(buf + *off, r->it[best].msg, r->it[best].len);
		*off += r->it[best].len;
		r->it[best].transmits++;
		sent++;
	}
	for (size_t i = r->n; i-- > 0;)
		if (r->it[i].transmits >= limit)
			ref_remove(r, i);
	return sent;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random pushes (a few subjects, so replacements; a small maximum, so evictions) and
 * fills (random room, a limit that moves up and down): the same bytes out every time. */
static void test_bcast_model(void)
{
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
#define RND() xorshift(&rng)
	int same = 1;
	size_t ops = 0, evict_runs = 0;
	for (int run = 0; run < 40 && same; run++) {
		struct swim_bcast q;
		struct ref_q r = {.max = 4 + RND() % 60, .next_id = 1};
		swim_bcast_init(&q, r.max);
		unsigned subjects = 2 + (unsigned)(RND() % 90);
		evict_runs += subjects > r.max;
		for (int op = 0; op < 3000 && same; op++, ops++) {
			if (RND() % 3) {
				uint8_t subj[20] = {0}, msg[64];
				size_t at = (size_t)(RND() % 20);
				subj[at] = (uint8_t)(RND() % subjects);
				size_t len = 1 + (size_t)(RND() % 60);
				for (size_t i = 0; i < len; i++)
					msg[i] = (uint8_t)RND();
				ref_push(&r, subj, msg, len);
				swim_bcast_push(&q, subj, msg, len);
			} else {
				uint8_t b1[512], b2[512];
				size_t cap = (size_t)(RND() % 400), o0 = (size_t)(RND() % 4), o1 = o0, o2 = o0;
				unsigned limit = 1 + (unsigned)(RND() % 8);
				size_t s1 = ref_fill(&r, b1, cap, &o1, limit);
				size_t s2 = swim_bcast_fill(&q, b2, cap, &o2, limit);
				same = s1 == s2 && o1 == o2 && memcmp(b1 + o0, b2 + o0, o1 - o0) == 0;
				if (!same)
					diag("run %d op %d: cap %zu limit %u: %zu items %zu bytes, expected %zu %zu",
					     run, op, cap, limit, s2, o2, s1, o1);
			}
			if (same && r.n != swim_bcast_len(&q)) {
				diag("run %d op %d: %zu queued, expected %zu", run, op, swim_bcast_len(&q), r.n);
				same = 0;
			}
		}
		swim_bcast_free(&q);
	}
	ok(same, "40 random runs, %zu operations (%zu runs with evictions): the queue picks "
	         "exactly what a full scan picks", ops, evict_runs);
#undef RND
}

int main(void)
{
	test_round_trip();
	test_rejects();
	test_hex();
	test_bcast();
	test_bcast_model();
	return done_testing();
}
