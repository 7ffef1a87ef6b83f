/* test_swim_crypto.c: SWIM key files, sealing and opening, tampering, direction and replay. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "swim_crypto.h"
#include "tap.h"

static char dir[] = "/tmp/test_swim_crypto.XXXXXX";

static void path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("write");
		fchmod(fd, mode);
		close(fd);
	}
}

static void test_key_files(struct swim_keys *a, struct swim_keys *b)
{
	char pa[256], pb[256], px[256], err[256];
	uint8_t pka[32], pkb[32];
	struct stat st;
	path_in(pa, sizeof pa, "a.key");
	path_in(pb, sizeof pb, "b.key");
	ok(swim_keys_generate(pa, 0, pka, err, sizeof err) == 0, "key pair a written (%s)", err);
	ok(stat(pa, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	ok(swim_keys_generate(pa, 0, pka, err, sizeof err) < 0, "an existing file is not replaced");
	ok(swim_keys_generate(pa, 1, pka, err, sizeof err) == 0, "unless forced");
	ok(swim_keys_generate(pb, 0, pkb, err, sizeof err) == 0, "key pair b written");
	ok(swim_keys_load(pa, a, err, sizeof err) == 0, "a loads (%s)", err);
	ok(memcmp(a->pk, pka, 32) == 0, "its public key is the one printed");
	ok(swim_keys_load(pb, b, err, sizeof err) == 0, "b loads");

	struct swim_keys x;
	chmod(pa, 0640);
	ok(swim_keys_load(pa, &x, err, sizeof err) < 0 && strstr(err, "readable by others"),
	   "a group-readable key file is refused (%s)", err);
	chmod(pa, 0600);
	path_in(px, sizeof px, "mismatch.key");
	char text[300], pkhex[65], skhex[65];
	sodium_bin2hex(pkhex, sizeof pkhex, pkb, 32);
	sodium_bin2hex(skhex, sizeof skhex, a->sk, 32);
	snprintf(text, sizeof text, "public %s\nsecret %s\n", pkhex, skhex);
	write_file(px, text, 0600);
	ok(swim_keys_load(px, &x, err, sizeof err) < 0 && strstr(err, "does not belong"),
	   "a public key from another pair is refused");
	write_file(px, "public zz\nsecret 00\n", 0600);
	ok(swim_keys_load(px, &x, err, sizeof err) < 0, "malformed hex refused (%s)", err);
	write_file(px, "# only a comment\n", 0600);
	ok(swim_keys_load(px, &x, err, sizeof err) < 0, "missing keys refused");
	path_in(px, sizeof px, "missing.key");
	ok(swim_keys_load(px, &x, err, sizeof err) < 0, "missing file refused");
}

/* Every shared key of these tests comes from this pool (a test's own context). */
static struct swim_key_pool pool;

/* A wall clock in microseconds for the tests (2027). */
#define T0 1800000000000000ULL

/* Sequence numbers carry the sender's clock: one recorded before the receiver restarted
 * (a fresh replay window) is refused once it is older than SWIM_SEQ_SKEW_MS. */
static void test_stale(struct swim_keys *a, struct swim_keys *b)
{
	uint8_t A[20], B[20];
	memset(A, 0x11, 20);
	memset(B, 0x22, 20);
	struct swim_peer_key ab, ba;
	swim_peer_key_init(&ab, &pool, a, A, b->pk, B);
	swim_peer_key_init(&ba, &pool, b, B, a->pk, A);
	const uint8_t msg[] = "\x01\x00\x00\x00\x07";
	uint8_t pkt[SWIM_PKT_MAX], body[SWIM_PKT_MAX];
	size_t blen;
	uint64_t seq, skew = (uint64_t)SWIM_SEQ_SKEW_MS * 1000;
	size_t n = swim_seal(&ab, A, B, T0, msg, 5, pkt);
	/* ba is a receiver that has just restarted: its window is empty. */
	is_int(swim_open(&ba, B, pkt, n, T0 + skew + 1, body, &blen, &seq), SWIM_DROP_STALE,
	       "a packet sealed more than SWIM_SEQ_SKEW_MS ago is stale, even to an empty window");
	is_int(swim_open(&ba, B, pkt, n, T0 - skew - 1, body, &blen, &seq), SWIM_DROP_STALE,
	       "one from too far in the future is stale");
	is_int(swim_open(&ba, B, pkt, n, T0 + skew, body, &blen, &seq), SWIM_DROP_NONE,
	       "at the edge of the bound it is accepted");
	ok(swim_seq_fresh(T0, T0) && swim_seq_fresh(T0 + skew, T0) && !swim_seq_fresh(0, T0),
	   "swim_seq_fresh bounds both ways");
	ok(swim_seq_next(T0, T0 + 5) == T0 + 5, "the next seq is the clock when it moved on");
	ok(swim_seq_next(T0 + 5, T0) == T0 + 6, "or one above the last when it did not");
	swim_peer_key_free(&ab);
	swim_peer_key_free(&ba);
}

static void test_seal_open(struct swim_keys *a, struct swim_keys *b)
{
	uint8_t A[20], B[20], C[20];
	memset(A, 0x11, 20);
	memset(B, 0x22, 20);
	memset(C, 0x05, 20);
	struct swim_peer_key ab, ba, ba2;
	ok(swim_peer_key_init(&ab, &pool, a, A, b->pk, B) == 0, "a's shared key with b");
	ok(swim_peer_key_init(&ba, &pool, b, B, a->pk, A) == 0, "b's shared key with a");
	ok(swim_peer_key_init(&ba2, &pool, b, B, a->pk, A) == 0, "another copy for replays");

	const uint8_t msg[] = "\x01\x00\x00\x00\x07";
	uint8_t pkt[SWIM_PKT_MAX], body[SWIM_PKT_MAX], from[20];
	size_t blen, n = swim_seal(&ab, A, B, T0 + 100, msg, 5, pkt);
	uint64_t seq;
	is_int(n, SWIM_PKT_OVERHEAD + 5, "sealed size is body + overhead");
	is_int(swim_packet_sender(pkt, n, from), SWIM_DROP_NONE, "header parses");
	ok(memcmp(from, A, 20) == 0, "sender address in the clear");
	is_int(swim_open(&ba, B, pkt, n, T0, body, &blen, &seq), SWIM_DROP_NONE, "b opens it");
	ok(blen == 5 && memcmp(body, msg, 5) == 0 && seq == T0 + 100, "body and seq intact");
	is_int(swim_open(&ba, B, pkt, n, T0, body, &blen, &seq), SWIM_DROP_REPLAY, "the same packet again is a replay");

	int tamper_ok = 1;
	for (size_t i = 0; i < n; i++) {
		uint8_t t[SWIM_PKT_MAX];
		memcpy(t, pkt, n);
		t[i] ^= 0x01;
		enum swim_drop d = swim_open(&ba2, B, t, n, T0, body, &blen, &seq);
		if (d == SWIM_DROP_NONE)
			tamper_ok = 0;
	}
	ok(tamper_ok, "flipping any bit of the packet makes it fail");
	is_int(swim_open(&ba2, B, pkt, n - 1, T0, body, &blen, &seq), SWIM_DROP_AUTH, "cut short: MAC fails");
	is_int(swim_open(&ba2, B, pkt, 20, T0, body, &blen, &seq), SWIM_DROP_SHORT, "tiny: short");
	is_int(swim_packet_sender(pkt, SWIM_PKT_MAX + 1, from), SWIM_DROP_OVERSIZED, "oversized");
	is_int(swim_open(&ab, A, pkt, n, T0, body, &blen, &seq), SWIM_DROP_SELF,
	       "a packet claiming to be from ourselves");
	/* b's answer to a, bounced back to b: sealed under the same shared key, but the
	 * direction bit is b->a, so b refuses it; relabelling the sender breaks the MAC. */
	n = swim_seal(&ba, B, A, T0 + 200, msg, 5, pkt);
	memcpy(pkt + 3, A, 20);
	is_int(swim_open(&ba2, B, pkt, n, T0, body, &blen, &seq), SWIM_DROP_DIRECTION, "reflected packet refused");

	/* A third key cannot read or forge a<->b traffic. */
	uint8_t cpk[32], csk[32];
	crypto_box_keypair(cpk, csk);
	struct swim_keys c = {.sk = csk};
	memcpy(c.pk, cpk, 32);
	struct swim_peer_key cb;
	swim_peer_key_init(&cb, &pool, &c, A, b->pk, B);
	n = swim_seal(&cb, A, B, T0 + 300, msg, 5, pkt);
	is_int(swim_open(&ba2, B, pkt, n, T0, body, &blen, &seq), SWIM_DROP_AUTH, "foreign key claiming a: MAC fails");
	/* C registered a's public key under its own address: a's packets relabelled as C's
	 * still fail, because the shared key is bound to the addresses. */
	struct swim_peer_key bc;
	swim_peer_key_init(&bc, &pool, b, B, a->pk, C);
	n = swim_seal(&ab, A, B, T0 + 400, msg, 5, pkt);
	memcpy(pkt + 3, C, 20);
	is_int(swim_open(&bc, B, pkt, n, T0, body, &blen, &seq), SWIM_DROP_AUTH,
	       "relabelled to an address holding the same public key: MAC fails");
	swim_peer_key_free(&bc);
	uint8_t big[SWIM_BODY_MAX + 1] = {0};
	is_int(swim_seal(&ab, A, B, 1, big, sizeof big, pkt), 0, "a body over the limit is not sealed");
	n = swim_seal(&ab, A, B, 2, big, SWIM_BODY_MAX, pkt);
	is_int(n, SWIM_PKT_MAX, "the largest body fills exactly 1400 bytes");
	swim_peer_key_free(&ab);
	swim_peer_key_free(&ba);
	swim_peer_key_free(&ba2);
	swim_peer_key_free(&cb);
}

static void test_replay_window(void)
{
	struct swim_replay r = {0, 0};
	ok(!swim_replay_check(&r, 0), "seq 0 never accepted");
	ok(swim_replay_check(&r, 1000), "first");
	ok(!swim_replay_check(&r, 1000), "same again refused");
	ok(swim_replay_check(&r, 998), "slightly older, unseen: accepted (reordering)");
	ok(!swim_replay_check(&r, 998), "but only once");
	ok(swim_replay_check(&r, 1001), "newer");
	ok(!swim_replay_check(&r, 1001 - 64), "64 behind the newest: out of the window");
	ok(swim_replay_check(&r, 1001 - 63), "63 behind: inside the window");
	ok(swim_replay_check(&r, 5000), "a jump ahead");
	ok(!swim_replay_check(&r, 1001), "old ones now refused");
}

/* The shared key is derived at the first packet, not at admission, and lives in a slab:
 * 300 peers cost nothing until they speak, then three slabs, freed as the keys go. */
static void test_lazy_pool(struct swim_keys *a, struct swim_keys *b)
{
	enum { NP = 300 };
	static struct swim_peer_key peers[NP];
	uint8_t A[20], addr[20], pkt[SWIM_PKT_MAX], body[SWIM_PKT_MAX];
	const uint8_t msg[] = "\x01\x00\x00\x00\x07";
	memset(A, 0x11, 20);
	int init_ok = 1;
	for (int i = 0; i < NP; i++) {
		memset(addr, 0x30, 20);
		addr[0] = (uint8_t)(i >> 8);
		addr[1] = (uint8_t)i;
		init_ok &= swim_peer_key_init(&peers[i], &pool, a, A, b->pk, addr) == 0;
	}
	ok(init_ok && swim_key_pool_count(&pool) == 0, "300 peers set up, no key derived yet");
	int sealed = 1;
	for (int i = 0; i < NP; i++)
		sealed &= swim_seal(&peers[i], A, peers[i].addr, T0 + (uint64_t)i, msg, 5, pkt) > 0;
	ok(sealed, "a packet sealed to each");
	is_int((long long)swim_key_pool_count(&pool), NP, "300 keys derived, one each");
	/* The receiving side derives its key at the first packet it opens. */
	struct swim_peer_key rx;
	swim_peer_key_init(&rx, &pool, b, peers[7].addr, a->pk, A);
	size_t n = swim_seal(&peers[7], A, peers[7].addr, T0 + 1000, msg, 5, pkt), blen;
	uint64_t seq;
	is_int(swim_open(&rx, peers[7].addr, pkt, n, T0, body, &blen, &seq), SWIM_DROP_NONE,
	       "opened with a key derived on the way in");
	ok(blen == 5 && memcmp(body, msg, 5) == 0, "body intact");
	uint8_t *kept = peers[NP - 1].shared, copy[32];
	memcpy(copy, kept, 32);
	for (int i = 0; i < NP - 1; i++)
		swim_peer_key_free(&peers[i]);
	is_int((long long)swim_key_pool_count(&pool), 2, "freed keys leave the pool");
	ok(memcmp(kept, copy, 32) == 0, "a key still held is untouched by the others' freeing");
	swim_peer_key_free(&peers[NP - 1]);
	swim_peer_key_free(&rx);
	swim_peer_key_free(&rx); /* twice is harmless */
	is_int((long long)swim_key_pool_count(&pool), 0, "every key back");
	ok(pool.slabs == NULL, "empty slabs are returned to the system");
}

/* Small-order public keys give a zero shared secret whatever the secret key: refused at
 * set-up by our own check, which agrees with libsodium's key agreement on every one of
 * them and on random keys. */
static void test_weak(struct swim_keys *a)
{
	static const char *hex[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	uint8_t A[20], B[20], pk[32], out[32];
	memset(A, 0x11, 20);
	memset(B, 0x22, 20);
	int refused = 1, libsodium_fails = 1;
	for (size_t i = 0; i < sizeof hex / sizeof *hex; i++)
		for (int top = 0; top < 2; top++) {
			sodium_hex2bin(pk, 32, hex[i], 64, NULL, NULL, NULL);
			pk[31] = (uint8_t)(pk[31] | (top ? 0x80 : 0));
			struct swim_peer_key p;
			refused &= swim_pubkey_weak(pk) && swim_peer_key_init(&p, &pool, a, A, pk, B) < 0;
			libsodium_fails &= crypto_box_beforenm(out, pk, a->sk) != 0;
		}
	ok(refused, "the 7 small-order keys, top bit clear or set, are refused");
	ok(libsodium_fails, "libsodium's key agreement fails on each of the 14 as well");
	int agree = 1;
	for (int i = 0; i < 10000; i++) {
		randombytes_buf(pk, 32);
		if (i % 4 == 1) { /* near the rules' edges: one byte off */
			sodium_hex2bin(pk, 32, hex[4 + i % 3], 64, NULL, NULL, NULL);
			pk[1 + (size_t)i % 30] ^= (uint8_t)(1 + i % 255);
		} else if (i % 4 == 2) {
			memset(pk, 0, 32);
			pk[(size_t)i % 32] = (uint8_t)(2 + i % 250);
		}
		agree &= swim_pubkey_weak(pk) == (crypto_box_beforenm(out, pk, a->sk) != 0);
	}
	ok(agree, "10,000 other keys (random, and one byte off the rules): our check and "
	          "libsodium agree on every one");
	ok(swim_pubkey_weak(a->pk) == 0, "a real public key is not weak");
}

int main(void)
{
	struct swim_keys a, b;
	if (!mkdtemp(dir) || swim_crypto_init() < 0)
		return 1;
	test_key_files(&a, &b);
	test_seal_open(&a, &b);
	test_stale(&a, &b);
	test_replay_window();
	test_lazy_pool(&a, &b);
	test_weak(&a);
	swim_key_pool_free(&pool);
	swim_keys_free(&a);
	swim_keys_free(&b);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
