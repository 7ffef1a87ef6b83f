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
	swim_peer_key_init(&ab, a, A, b->pk, B);
	swim_peer_key_init(&ba, b, B, a->pk, A);
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
	ok(swim_peer_key_init(&ab, a, A, b->pk, B) == 0, "a's shared key with b");
	ok(swim_peer_key_init(&ba, b, B, a->pk, A) == 0, "b's shared key with a");
	ok(swim_peer_key_init(&ba2, b, B, a->pk, A) == 0, "another copy for replays");

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
	swim_peer_key_init(&cb, &c, A, b->pk, B);
	n = swim_seal(&cb, A, B, T0 + 300, msg, 5, pkt);
	is_int(swim_open(&ba2, B, pkt, n, T0, body, &blen, &seq), SWIM_DROP_AUTH, "foreign key claiming a: MAC fails");
	/* C registered a's public key under its own address: a's packets relabelled as C's
	 * still fail, because the shared key is bound to the addresses. */
	struct swim_peer_key bc;
	swim_peer_key_init(&bc, b, B, a->pk, C);
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

int main(void)
{
	struct swim_keys a, b;
	if (!mkdtemp(dir) || swim_crypto_init() < 0)
		return 1;
	test_key_files(&a, &b);
	test_seal_open(&a, &b);
	test_stale(&a, &b);
	test_replay_window();
	swim_keys_free(&a);
	swim_keys_free(&b);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
