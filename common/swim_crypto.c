/* swim_crypto.c: SWIM packet sealing with libsodium crypto_box (precomputed), key files, replay. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "errf.h"
#include "keyfile.h"
#include "swim_crypto.h"

static const uint8_t magic[3] = {'c', 's', 2};

int swim_crypto_init(void) { return sodium_init() < 0 ? -1 : 0; }

static void hex_of(const uint8_t *in, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

int swim_keys_generate(const char *path, int force, uint8_t pk_out[SWIM_KEY_LEN], char *err,
                       size_t errlen)
{
	uint8_t *sk = sodium_malloc(SWIM_KEY_LEN);
	char text[256], pkhex[2 * SWIM_KEY_LEN + 1], skhex[2 * SWIM_KEY_LEN + 1];
	int rc = -1;
	if (swim_crypto_init() < 0 || !sk) {
		errf(err, errlen, "libsodium could not be initialised");
		goto out;
	}
	crypto_box_keypair(pk_out, sk);
	hex_of(pk_out, SWIM_KEY_LEN, pkhex);
	hex_of(sk, SWIM_KEY_LEN, skhex);
	int n = snprintf(text, sizeof text,
	                 "# canteen swim key pair (libsodium crypto_box, X25519)\npublic %s\nsecret %s\n",
	                 pkhex, skhex);
	if (keyfile_write(path, text, (size_t)n, force, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	sodium_memzero(text, sizeof text);
	sodium_memzero(skhex, sizeof skhex);
	sodium_free(sk);
	return rc;
}

/* One "name HEX" line into out (n bytes); 1 if it matched name, 0 if not, -1 if bad. */
static int key_line(const char *line, const char *name, uint8_t *out, size_t n)
{
	size_t nl = strlen(name);
	if (strncmp(line, name, nl) != 0 || line[nl] != ' ')
		return 0;
	return swim_hex_parse(line + nl + 1, out, n) < 0 ? -1 : 1;
}

static int parse_keys(char *text, struct swim_keys *k, char *err, size_t errlen,
                      const char *path)
{
	int have_pk = 0, have_sk = 0, lineno = 0;
	char *save = text;
	while (save && *save) {
		char *line = save, *nl = strchr(line, '\n');
		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		int a = key_line(line, "public", k->pk, SWIM_KEY_LEN);
		int b = a ? 0 : key_line(line, "secret", k->sk, SWIM_KEY_LEN);
		if (a < 0 || b < 0 || (a == 0 && b == 0)) {
			errf(err, errlen, "%s:%d: expected 'public HEX' or 'secret HEX' (64 hex digits)",
			     path, lineno);
			return -1;
		}
		have_pk |= a;
		have_sk |= b;
	}
	if (!have_pk || !have_sk) {
		errf(err, errlen, "%s: needs both a public and a secret line", path);
		return -1;
	}
	uint8_t derived[SWIM_KEY_LEN];
	crypto_scalarmult_base(derived, k->sk);
	if (sodium_memcmp(derived, k->pk, SWIM_KEY_LEN) != 0) {
		errf(err, errlen, "%s: the public key does not belong to the secret key", path);
		return -1;
	}
	return 0;
}

int swim_keys_load(const char *path, struct swim_keys *k, char *err, size_t errlen)
{
	char text[1024];
	ssize_t n = -1;
	int rc = -1;
	memset(k, 0, sizeof *k);
	if (swim_crypto_init() < 0 || !(k->sk = sodium_malloc(SWIM_KEY_LEN))) {
		errf(err, errlen, "libsodium could not be initialised");
		return -1;
	}
	n = keyfile_read(path, text, sizeof text, err, errlen);
	if (n < 0)
		goto out;
	if (memchr(text, '\0', (size_t)n)) {
		errf(err, errlen, "%s: not a key file", path);
		goto out;
	}
	rc = parse_keys(text, k, err, errlen, path);
out:
	sodium_memzero(text, sizeof text);
	if (rc < 0)
		swim_keys_free(k);
	return rc;
}

void swim_keys_free(struct swim_keys *k)
{
	sodium_free(k->sk); /* wipes */
	k->sk = NULL;
}

/* The u-coordinates of small order, little-endian; bit 255 is ignored (RFC 7748), and 0,
 * 1, p - 1, p and p + 1 (p = 2^255 - 19) are checked by rule in swim_pubkey_weak. */
static const uint8_t order8[2][SWIM_KEY_LEN] = {
	{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
	 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
	{0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b,
	 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
};

int swim_pubkey_weak(const uint8_t pk[SWIM_KEY_LEN])
{
	uint8_t u[SWIM_KEY_LEN];
	memcpy(u, pk, sizeof u);
	u[31] &= 0x7f;
	int zeros = 1, ffs = 1; /* bytes 1..30 all 0x00 / all 0xff */
	for (int i = 1; i < 31; i++) {
		zeros &= u[i] == 0x00;
		ffs &= u[i] == 0xff;
	}
	if (zeros && u[31] == 0 && u[0] <= 1)
		return 1; /* 0, 1 */
	if (ffs && u[31] == 0x7f && u[0] >= 0xec && u[0] <= 0xee)
		return 1; /* p - 1, p, p + 1 */
	for (int k = 0; k < 2; k++)
		if (memcmp(u, order8[k], sizeof u) == 0)
			return 1;
	return 0;
}

struct swim_key_slab {
	struct swim_key_slab *next;
	uint8_t *mem;       /* SWIM_KEY_SLAB keys, sodium_malloc'd */
	uint64_t used[SWIM_KEY_SLAB / 64];
	size_t n;
};

static uint8_t *slot_get(struct swim_key_pool *pool)
{
	struct swim_key_slab *s = pool->slabs;
	while (s && s->n == SWIM_KEY_SLAB)
		s = s->next;
	if (!s) {
		if (!(s = calloc(1, sizeof *s)))
			return NULL;
		if (!(s->mem = sodium_malloc((size_t)SWIM_KEY_SLAB * crypto_box_BEFORENMBYTES))) {
			free(s);
			return NULL;
		}
		s->next = pool->slabs;
		pool->slabs = s;
	}
	for (size_t w = 0; w < SWIM_KEY_SLAB / 64; w++) {
		if (s->used[w] == UINT64_MAX)
			continue;
		size_t b = 0;
		while (s->used[w] >> b & 1)
			b++;
		s->used[w] |= (uint64_t)1 << b;
		s->n++;
		return s->mem + (w * 64 + b) * crypto_box_BEFORENMBYTES;
	}
	return NULL; /* not reached: n < SWIM_KEY_SLAB */
}

static void slot_put(struct swim_key_pool *pool, uint8_t *key)
{
	for (struct swim_key_slab **sp = &pool->slabs; *sp; sp = &(*sp)->next) {
		struct swim_key_slab *s = *sp;
		size_t size = (size_t)SWIM_KEY_SLAB * crypto_box_BEFORENMBYTES;
		if (key < s->mem || key >= s->mem + size)
			continue;
		size_t i = (size_t)(key - s->mem) / crypto_box_BEFORENMBYTES;
		sodium_memzero(key, crypto_box_BEFORENMBYTES);
		s->used[i / 64] &= ~((uint64_t)1 << (i % 64));
		if (--s->n == 0) {
			*sp = s->next;
			sodium_free(s->mem); /* wipes */
			free(s);
		}
		return;
	}
}

void swim_key_pool_free(struct swim_key_pool *pool)
{
	while (pool->slabs) {
		struct swim_key_slab *s = pool->slabs;
		pool->slabs = s->next;
		sodium_free(s->mem);
		free(s);
	}
}

size_t swim_key_pool_count(const struct swim_key_pool *pool)
{
	size_t n = 0;
	for (const struct swim_key_slab *s = pool->slabs; s; s = s->next)
		n += s->n;
	return n;
}

int swim_peer_key_init(struct swim_peer_key *p, struct swim_key_pool *pool,
                       const struct swim_keys *self, const uint8_t self_addr[SWIM_ADDR_LEN],
                       const uint8_t pk[SWIM_KEY_LEN], const uint8_t addr[SWIM_ADDR_LEN])
{
	memset(p, 0, sizeof *p);
	memcpy(p->pk, pk, SWIM_KEY_LEN);
	memcpy(p->addr, addr, SWIM_ADDR_LEN);
	memcpy(p->self_addr, self_addr, SWIM_ADDR_LEN);
	p->self = self;
	p->pool = pool;
	return swim_pubkey_weak(pk) ? -1 : 0;
}

int swim_peer_key_derive(struct swim_peer_key *p)
{
	if (p->shared)
		return 0;
	if (!p->self || !p->pool)
		return -1;
	uint8_t raw[crypto_box_BEFORENMBYTES], *key = slot_get(p->pool);
	int rc = -1;
	if (!key || crypto_box_beforenm(raw, p->pk, p->self->sk) != 0)
		goto out;
	int self_first = memcmp(p->self_addr, p->addr, SWIM_ADDR_LEN) < 0;
	crypto_generichash_state h;
	crypto_generichash_init(&h, raw, crypto_box_BEFORENMBYTES, crypto_box_BEFORENMBYTES);
	crypto_generichash_update(&h, (const uint8_t *)"canteen-swim-v1", 15);
	crypto_generichash_update(&h, self_first ? p->self_addr : p->addr, SWIM_ADDR_LEN);
	crypto_generichash_update(&h, self_first ? p->addr : p->self_addr, SWIM_ADDR_LEN);
	crypto_generichash_final(&h, key, crypto_box_BEFORENMBYTES);
	sodium_memzero(&h, sizeof h);
	p->shared = key;
	key = NULL;
	rc = 0;
out:
	sodium_memzero(raw, sizeof raw);
	if (key)
		slot_put(p->pool, key);
	return rc;
}

void swim_peer_key_free(struct swim_peer_key *p)
{
	if (p->shared && p->pool)
		slot_put(p->pool, p->shared);
	p->shared = NULL;
}

static int direction_bit(const uint8_t from[SWIM_ADDR_LEN], const uint8_t to[SWIM_ADDR_LEN])
{
	return memcmp(from, to, SWIM_ADDR_LEN) < 0 ? 0 : 1;
}

size_t swim_seal(struct swim_peer_key *p, const uint8_t self[SWIM_ADDR_LEN],
                 const uint8_t peer[SWIM_ADDR_LEN], uint64_t seq, const uint8_t *body,
                 size_t body_len, uint8_t *out)
{
	uint8_t plain[SWIM_PKT_MAX];
	if (body_len > SWIM_BODY_MAX || swim_peer_key_derive(p) < 0)
		return 0;
	memcpy(out, magic, 3);
	memcpy(out + 3, self, SWIM_ADDR_LEN);
	uint8_t *nonce = out + 3 + SWIM_ADDR_LEN;
	randombytes_buf(nonce, crypto_box_NONCEBYTES);
	nonce[0] = (uint8_t)((nonce[0] & 0xfe) | direction_bit(self, peer));
	for (int i = 0; i < 8; i++)
		plain[i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(plain + 8, body, body_len);
	crypto_box_easy_afternm(out + SWIM_PKT_HDR, plain, 8 + body_len, nonce, p->shared);
	sodium_memzero(plain, 8 + body_len);
	return SWIM_PKT_OVERHEAD + body_len;
}

const char *swim_drop_name(int reason)
{
	static const char *names[SWIM_DROP_NREASONS] = {
		"none", "short", "oversized", "header", "unknown_sender", "self",
		"direction", "auth", "replay", "stale", "decode",
	};
	return reason >= 0 && reason < SWIM_DROP_NREASONS ? names[reason] : "?";
}

enum swim_drop swim_packet_sender(const uint8_t *pkt, size_t len, uint8_t from[SWIM_ADDR_LEN])
{
	if (len > SWIM_PKT_MAX)
		return SWIM_DROP_OVERSIZED;
	if (len < SWIM_PKT_OVERHEAD + 1)
		return SWIM_DROP_SHORT;
	if (memcmp(pkt, magic, 3) != 0)
		return SWIM_DROP_HEADER;
	memcpy(from, pkt + 3, SWIM_ADDR_LEN);
	return SWIM_DROP_NONE;
}

int swim_seq_fresh(uint64_t seq, uint64_t now_us)
{
	uint64_t skew = (uint64_t)SWIM_SEQ_SKEW_MS * 1000u;
	return seq > now_us ? seq - now_us <= skew : now_us - seq <= skew;
}

uint64_t swim_seq_next(uint64_t last, uint64_t now_us)
{
	return now_us > last ? now_us : last + 1;
}

enum swim_drop swim_open(struct swim_peer_key *p, const uint8_t self[SWIM_ADDR_LEN],
                         const uint8_t *pkt, size_t len, uint64_t now_us, uint8_t *body,
                         size_t *body_len, uint64_t *seq)
{
	uint8_t from[SWIM_ADDR_LEN], plain[SWIM_PKT_MAX];
	enum swim_drop d = swim_packet_sender(pkt, len, from);
	if (d != SWIM_DROP_NONE)
		return d;
	if (memcmp(from, self, SWIM_ADDR_LEN) == 0)
		return SWIM_DROP_SELF;
	if (memcmp(from, p->addr, SWIM_ADDR_LEN) != 0)
		return SWIM_DROP_UNKNOWN_SENDER;
	const uint8_t *nonce = pkt + 3 + SWIM_ADDR_LEN;
	if ((nonce[0] & 1) != direction_bit(from, self))
		return SWIM_DROP_DIRECTION;
	size_t clen = len - SWIM_PKT_HDR;
	if (swim_peer_key_derive(p) < 0)
		return SWIM_DROP_AUTH;
	if (crypto_box_open_easy_afternm(plain, pkt + SWIM_PKT_HDR, clen, nonce, p->shared) != 0)
		return SWIM_DROP_AUTH;
	size_t plen = clen - crypto_box_MACBYTES;
	uint64_t s = 0;
	for (int i = 0; i < 8; i++)
		s = s << 8 | plain[i];
	if (!swim_seq_fresh(s, now_us))
		return SWIM_DROP_STALE;
	if (!swim_replay_check(&p->replay, s))
		return SWIM_DROP_REPLAY;
	*seq = s;
	*body_len = plen - 8;
	memcpy(body, plain + 8, *body_len);
	return SWIM_DROP_NONE;
}

int swim_replay_check(struct swim_replay *r, uint64_t seq)
{
	if (seq == 0)
		return 0;
	if (seq > r->top) {
		uint64_t shift = seq - r->top;
		r->bits = shift >= 64 ? 0 : r->bits << shift;
		r->bits |= 1;
		r->top = seq;
		return 1;
	}
	uint64_t back = r->top - seq;
	if (back >= 64 || (r->bits >> back & 1))
		return 0;
	r->bits |= (uint64_t)1 << back;
	return 1;
}
