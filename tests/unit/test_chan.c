/* test_chan.c: the channel's handshake and frames: both sides agree, strangers, replays and tampering fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chan.h"
#include "tap.h"

static void keys_new(struct swim_keys *k)
{
	k->sk = sodium_malloc(SWIM_KEY_LEN);
	crypto_box_keypair(k->pk, k->sk);
}

static const uint8_t addr_c[SWIM_ADDR_LEN] = {1, 2, 3};
static const uint8_t addr_s[SWIM_ADDR_LEN] = {9, 8, 7};

struct pair {
	struct chan_sess *c, *s;
	uint8_t hello[CHAN_HELLO_LEN], reply[CHAN_REPLY_LEN], confirm[CHAN_CONFIRM_LEN];
};

/* A whole handshake; 0 when both ends are open. */
static int handshake(struct pair *p, struct swim_keys *ck, struct swim_keys *sk)
{
	char err[128];
	uint8_t a[SWIM_ADDR_LEN], b[SWIM_ADDR_LEN];
	p->c = chan_new();
	p->s = chan_new();
	chan_hello(p->c, addr_c, addr_s, p->hello);
	if (chan_hello_parse(p->hello, a, b, err, sizeof err) < 0 || memcmp(a, addr_c, 20) ||
	    memcmp(b, addr_s, 20))
		return -1;
	if (chan_accept(p->s, sk, ck->pk, p->hello, p->reply, err, sizeof err) < 0)
		return -1;
	if (chan_finish(p->c, ck, sk->pk, p->reply, p->confirm, err, sizeof err) < 0)
		return -1;
	return chan_confirm(p->s, p->confirm, err, sizeof err);
}

static void pair_free(struct pair *p)
{
	chan_free(p->c);
	chan_free(p->s);
}

static void test_frames(struct pair *p)
{
	static uint8_t w[CHAN_WIRE_MAX], w2[CHAN_WIRE_MAX], pl[CHAN_FRAME_MAX], big[CHAN_FRAME_MAX + 1];
	char err[128];
	uint8_t type;
	uint32_t stream;
	size_t plen;
	size_t n = chan_seal(p->c, CHAN_REQ, 7, (const uint8_t *)"{\"op\":\"logs\"}", 13, w);
	is_int(n, 4 + CHAN_SEAL_OVERHEAD + CHAN_FRAME_HDR + 13, "a frame is length, seal, header, payload");
	is_int(chan_frame_len(w), n, "its length prefix says so");
	ok(chan_open(p->s, w, n, &type, &stream, pl, &plen, err, sizeof err) == 0 && type == CHAN_REQ &&
	       stream == 7 && plen == 13 && memcmp(pl, "{\"op\":\"logs\"}", 13) == 0,
	   "the server opens the client's frame");
	ok(chan_open(p->s, w, n, &type, &stream, pl, &plen, err, sizeof err) < 0,
	   "the same frame again is refused (%s)", err);
	n = chan_seal(p->s, CHAN_DATA, 7, (const uint8_t *)"hello\n", 6, w);
	ok(chan_open(p->c, w, n, &type, &stream, pl, &plen, err, sizeof err) == 0 && plen == 6,
	   "the client opens the server's frame");
	/* Reordering: frames 2 and 3 opened as 3 then 2. */
	size_t n2 = chan_seal(p->s, CHAN_DATA, 7, (const uint8_t *)"a", 1, w);
	size_t n3 = chan_seal(p->s, CHAN_DATA, 7, (const uint8_t *)"b", 1, w2);
	ok(chan_open(p->c, w2, n3, &type, &stream, pl, &plen, err, sizeof err) < 0,
	   "a frame out of order fails (%s)", err);
	(void)n2;
	ok(chan_seal(p->s, CHAN_DATA, 1, big, CHAN_FRAME_MAX + 1, w) == 0,
	   "a payload over CHAN_FRAME_MAX is not sealed");
	ok(chan_seal(p->s, CHAN_DATA, 1, big, CHAN_FRAME_MAX, w) == CHAN_WIRE_MAX,
	   "a payload of CHAN_FRAME_MAX is");
}

static void test_tamper(struct swim_keys *ck, struct swim_keys *sk)
{
	static uint8_t w[CHAN_WIRE_MAX], pl[CHAN_FRAME_MAX];
	struct pair p;
	char err[128];
	uint8_t type;
	uint32_t stream;
	size_t plen;
	ok(handshake(&p, ck, sk) == 0, "handshake for tampering");
	size_t n = chan_seal(p.c, CHAN_REQ, 1, (const uint8_t *)"{}", 2, w);
	w[n - 1] ^= 1;
	ok(chan_open(p.s, w, n, &type, &stream, pl, &plen, err, sizeof err) < 0,
	   "a flipped bit fails authentication (%s)", err);
	pair_free(&p);
	ok(handshake(&p, ck, sk) == 0, "handshake for a changed length");
	n = chan_seal(p.c, CHAN_REQ, 1, (const uint8_t *)"{}", 2, w);
	w[3] += 1; /* the length is additional data: a frame cannot be cut or padded */
	ok(chan_open(p.s, w, n + 1, &type, &stream, pl, &plen, err, sizeof err) < 0,
	   "a changed length prefix fails");
	pair_free(&p);
}

static void test_lengths(void)
{
	uint8_t h[4] = {0, 0, 0, 0};
	is_int(chan_frame_len(h), 0, "length 0 is refused");
	h[3] = CHAN_FRAME_HDR + CHAN_SEAL_OVERHEAD - 1;
	is_int(chan_frame_len(h), 0, "a length below header and seal is refused");
	h[3] = CHAN_FRAME_HDR + CHAN_SEAL_OVERHEAD;
	is_int(chan_frame_len(h), 4 + CHAN_FRAME_HDR + CHAN_SEAL_OVERHEAD, "the shortest frame");
	uint32_t big = CHAN_FRAME_HDR + CHAN_FRAME_MAX + CHAN_SEAL_OVERHEAD + 1;
	uint8_t b[4] = {(uint8_t)(big >> 24), (uint8_t)(big >> 16), (uint8_t)(big >> 8), (uint8_t)big};
	is_int(chan_frame_len(b), 0, "one byte over the largest frame is refused");
	uint8_t f[4] = {0xff, 0xff, 0xff, 0xff};
	is_int(chan_frame_len(f), 0, "4 GiB is refused");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	struct swim_keys ck, sk, other;
	keys_new(&ck);
	keys_new(&sk);
	keys_new(&other);
	struct pair p;
	char err[128];
	ok(handshake(&p, &ck, &sk) == 0, "client and server open a channel");
	test_frames(&p);
	pair_free(&p);
	test_tamper(&ck, &sk);
	test_lengths();

	/* A stranger claiming the client's address, with its own key: the server computes with the
	 * registered key, so the keys differ; the stranger cannot check the reply, and a confirm
	 * made anyway is refused. */
	uint8_t a[20], b[20];
	p.c = chan_new();
	p.s = chan_new();
	chan_hello(p.c, addr_c, addr_s, p.hello);
	ok(chan_accept(p.s, &sk, ck.pk, p.hello, p.reply, err, sizeof err) == 0, "server replies");
	ok(chan_finish(p.c, &other, sk.pk, p.reply, p.confirm, err, sizeof err) < 0,
	   "the stranger cannot check the reply (%s)", err);
	randombytes_buf(p.confirm, sizeof p.confirm);
	ok(chan_confirm(p.s, p.confirm, err, sizeof err) < 0, "a made-up confirm is refused (%s)", err);
	pair_free(&p);

	/* A server without the registered key: the client refuses its reply. */
	p.c = chan_new();
	p.s = chan_new();
	chan_hello(p.c, addr_c, addr_s, p.hello);
	ok(chan_accept(p.s, &other, ck.pk, p.hello, p.reply, err, sizeof err) == 0, "impostor replies");
	ok(chan_finish(p.c, &ck, sk.pk, p.reply, p.confirm, err, sizeof err) < 0,
	   "the client refuses a server that does not hold the registered key (%s)", err);
	pair_free(&p);

	/* Replay: a recorded hello and confirm sent to a fresh server session fail. */
	struct pair rec;
	ok(handshake(&rec, &ck, &sk) == 0, "a session recorded");
	struct chan_sess *s2 = chan_new();
	uint8_t reply2[CHAN_REPLY_LEN];
	ok(chan_accept(s2, &sk, ck.pk, rec.hello, reply2, err, sizeof err) == 0,
	   "the replayed hello gets a reply");
	ok(memcmp(reply2, rec.reply, 32) != 0, "with a fresh ephemeral key");
	ok(chan_confirm(s2, rec.confirm, err, sizeof err) < 0, "the replayed confirm is refused (%s)",
	   err);
	chan_free(s2);
	/* And a recorded reply replayed to a fresh client hello fails. */
	struct chan_sess *c2 = chan_new();
	uint8_t h2[CHAN_HELLO_LEN], conf2[CHAN_CONFIRM_LEN];
	chan_hello(c2, addr_c, addr_s, h2);
	ok(chan_finish(c2, &ck, sk.pk, rec.reply, conf2, err, sizeof err) < 0,
	   "a replayed reply is refused by a client (%s)", err);
	chan_free(c2);
	pair_free(&rec);

	/* Hello checks; a low-order ephemeral key. */
	uint8_t h[CHAN_HELLO_LEN];
	struct chan_sess *c = chan_new(), *s = chan_new();
	chan_hello(c, addr_c, addr_s, h);
	h[0] = 'x';
	ok(chan_hello_parse(h, a, b, err, sizeof err) < 0, "bad magic refused (%s)", err);
	h[0] = 'c';
	h[2] = 2;
	ok(chan_hello_parse(h, a, b, err, sizeof err) < 0, "another version refused (%s)", err);
	h[2] = CHAN_VERSION;
	memset(h + 3 + 40, 0, 32);
	uint8_t r[CHAN_REPLY_LEN];
	ok(chan_accept(s, &sk, ck.pk, h, r, err, sizeof err) < 0, "an all-zero ephemeral key is refused (%s)",
	   err);
	uint8_t cf[CHAN_CONFIRM_LEN] = {0}, w[64];
	ok(chan_confirm(s, cf, err, sizeof err) < 0, "a confirm without a handshake is refused");
	ok(chan_seal(c, CHAN_REQ, 1, (const uint8_t *)"{}", 2, w) == 0, "nothing is sealed before open");
	chan_free(c);
	chan_free(s);
	swim_keys_free(&ck);
	swim_keys_free(&sk);
	swim_keys_free(&other);
	return done_testing();
}
