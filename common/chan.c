/* chan.c: the channel between admitted servers: handshake on the chain's swim keys, sealed frames. */
#include <string.h>

#include <sodium.h>

#include "chan.h"
#include "errf.h"

typedef crypto_secretstream_xchacha20poly1305_state ss_state;

static const uint8_t magic[3] = {'c', 'c', CHAN_VERSION};
static const char kdf_ctx[crypto_kdf_CONTEXTBYTES] = {'c', 'n', 't', 'n', 'c', 'h', 'a', 'n'};

enum { KEY_C2S = 1, KEY_S2C, CONF_S, CONF_C };

struct chan_sess {
	uint8_t e_pk[32], e_sk[32];       /* our ephemeral key */
	uint8_t hello[CHAN_HELLO_LEN];
	uint8_t th[32];                   /* transcript hash */
	uint8_t k_rx[32];                 /* the key of the peer's stream, until its header */
	uint8_t conf_peer[32];            /* the peer's confirmation key (server side) */
	ss_state tx, rx;
	int open;
	uint8_t plain[CHAN_FRAME_HDR + CHAN_FRAME_MAX];
};

struct chan_sess *chan_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	struct chan_sess *s = sodium_malloc(sizeof *s);
	if (s)
		sodium_memzero(s, sizeof *s);
	return s;
}

void chan_free(struct chan_sess *s)
{
	if (s)
		sodium_free(s); /* sodium_free wipes */
}

void chan_hello(struct chan_sess *s, const uint8_t self[SWIM_ADDR_LEN],
                const uint8_t peer[SWIM_ADDR_LEN], uint8_t out[CHAN_HELLO_LEN])
{
	crypto_box_keypair(s->e_pk, s->e_sk);
	memcpy(out, magic, 3);
	memcpy(out + 3, self, SWIM_ADDR_LEN);
	memcpy(out + 3 + SWIM_ADDR_LEN, peer, SWIM_ADDR_LEN);
	memcpy(out + 3 + 2 * SWIM_ADDR_LEN, s->e_pk, 32);
	memcpy(s->hello, out, CHAN_HELLO_LEN);
}

int chan_hello_parse(const uint8_t in[CHAN_HELLO_LEN], uint8_t client[SWIM_ADDR_LEN],
                     uint8_t server[SWIM_ADDR_LEN], char *err, size_t errlen)
{
	if (memcmp(in, magic, 2) != 0)
		return errf(err, errlen, "not a canteen channel hello");
	if (in[2] != CHAN_VERSION)
		return errf(err, errlen, "channel version %u (this server speaks %u)", in[2],
		            CHAN_VERSION);
	memcpy(client, in + 3, SWIM_ADDR_LEN);
	memcpy(server, in + 3 + SWIM_ADDR_LEN, SWIM_ADDR_LEN);
	return 0;
}

/*
 * The shared part of both sides: th from the hello and e_S, master from the four DH results
 * (in the order ee, es, se, ss whichever side computes them), and the four derived keys.
 * dh[] holds the pairs (secret, public) for ee, es, se, ss as this side sees them.
 */
static int derive(struct chan_sess *s, const uint8_t e_s_pk[32], const uint8_t *sec[4],
                  const uint8_t *pub[4], uint8_t keys[4][32])
{
	uint8_t ikm[4 * 32], master[crypto_kdf_KEYBYTES];
	crypto_generichash_state h;
	int rc = -1;
	crypto_generichash_init(&h, NULL, 0, sizeof s->th);
	crypto_generichash_update(&h, s->hello, CHAN_HELLO_LEN);
	crypto_generichash_update(&h, e_s_pk, 32);
	crypto_generichash_final(&h, s->th, sizeof s->th);
	for (int i = 0; i < 4; i++)
		if (crypto_scalarmult(ikm + 32 * i, sec[i], pub[i]) != 0)
			goto out; /* a low-order point: refused */
	crypto_generichash(master, sizeof master, ikm, sizeof ikm, s->th, sizeof s->th);
	for (int i = 0; i < 4; i++)
		crypto_kdf_derive_from_key(keys[i], 32, (uint64_t)(i + 1), kdf_ctx, master);
	rc = 0;
out:
	sodium_memzero(ikm, sizeof ikm);
	sodium_memzero(master, sizeof master);
	return rc;
}

static void tag_of(const uint8_t key[32], const uint8_t th[32], const uint8_t header[24],
                   uint8_t tag[16])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, key, 32, 16);
	crypto_generichash_update(&h, th, 32);
	crypto_generichash_update(&h, header, 24);
	crypto_generichash_final(&h, tag, 16);
}

int chan_accept(struct chan_sess *s, const struct swim_keys *self,
                const uint8_t client_pk[SWIM_KEY_LEN], const uint8_t hello[CHAN_HELLO_LEN],
                uint8_t reply[CHAN_REPLY_LEN], char *err, size_t errlen)
{
	uint8_t keys[4][32];
	const uint8_t *e_c = hello + 3 + 2 * SWIM_ADDR_LEN;
	memcpy(s->hello, hello, CHAN_HELLO_LEN);
	crypto_box_keypair(s->e_pk, s->e_sk);
	const uint8_t *sec[4] = {s->e_sk, self->sk, s->e_sk, self->sk};
	const uint8_t *pub[4] = {e_c, e_c, client_pk, client_pk};
	if (derive(s, s->e_pk, sec, pub, keys) < 0)
		return errf(err, errlen, "the client's key is unusable");
	memcpy(reply, s->e_pk, 32);
	crypto_secretstream_xchacha20poly1305_init_push(&s->tx, reply + 32, keys[KEY_S2C - 1]);
	tag_of(keys[CONF_S - 1], s->th, reply + 32, reply + 56);
	memcpy(s->k_rx, keys[KEY_C2S - 1], 32);
	memcpy(s->conf_peer, keys[CONF_C - 1], 32);
	sodium_memzero(keys, sizeof keys);
	sodium_memzero(s->e_sk, sizeof s->e_sk);
	return 0;
}

int chan_finish(struct chan_sess *s, const struct swim_keys *self,
                const uint8_t server_pk[SWIM_KEY_LEN], const uint8_t reply[CHAN_REPLY_LEN],
                uint8_t confirm[CHAN_CONFIRM_LEN], char *err, size_t errlen)
{
	uint8_t keys[4][32], tag[16];
	int rc = -1;
	const uint8_t *e_s = reply;
	const uint8_t *sec[4] = {s->e_sk, s->e_sk, self->sk, self->sk};
	const uint8_t *pub[4] = {e_s, server_pk, e_s, server_pk};
	if (derive(s, e_s, sec, pub, keys) < 0) {
		errf(err, errlen, "the server's key is unusable");
		goto out;
	}
	tag_of(keys[CONF_S - 1], s->th, reply + 32, tag);
	if (crypto_verify_16(tag, reply + 56) != 0) {
		errf(err, errlen, "the server did not prove its key");
		goto out;
	}
	if (crypto_secretstream_xchacha20poly1305_init_pull(&s->rx, reply + 32,
	                                                    keys[KEY_S2C - 1]) != 0) {
		errf(err, errlen, "bad stream header from the server");
		goto out;
	}
	crypto_secretstream_xchacha20poly1305_init_push(&s->tx, confirm, keys[KEY_C2S - 1]);
	tag_of(keys[CONF_C - 1], s->th, confirm, confirm + 24);
	s->open = 1;
	rc = 0;
out:
	sodium_memzero(keys, sizeof keys);
	sodium_memzero(s->e_sk, sizeof s->e_sk);
	return rc;
}

int chan_confirm(struct chan_sess *s, const uint8_t confirm[CHAN_CONFIRM_LEN], char *err,
                 size_t errlen)
{
	uint8_t tag[16];
	if (s->open)
		return errf(err, errlen, "the channel is already open");
	tag_of(s->conf_peer, s->th, confirm, tag);
	if (crypto_verify_16(tag, confirm + 24) != 0)
		return errf(err, errlen, "the client did not prove its key");
	if (crypto_secretstream_xchacha20poly1305_init_pull(&s->rx, confirm, s->k_rx) != 0)
		return errf(err, errlen, "bad stream header from the client");
	sodium_memzero(s->k_rx, sizeof s->k_rx);
	sodium_memzero(s->conf_peer, sizeof s->conf_peer);
	s->open = 1;
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t chan_seal(struct chan_sess *s, uint8_t type, uint32_t stream, const uint8_t *payload,
                 size_t len, uint8_t *out)
{
	if (!s->open || len > CHAN_FRAME_MAX)
		return 0;
	uint8_t m[CHAN_FRAME_HDR + CHAN_FRAME_MAX];
	m[0] = type;
	put32(m + 1, stream);
	if (len)
		memcpy(m + CHAN_FRAME_HDR, payload, len);
	size_t mlen = CHAN_FRAME_HDR + len;
	put32(out, (uint32_t)(mlen + CHAN_SEAL_OVERHEAD));
	crypto_secretstream_xchacha20poly1305_push(&s->tx, out + 4, NULL, m, mlen, out, 4, 0);
	sodium_memzero(m, mlen);
	return 4 + mlen + CHAN_SEAL_OVERHEAD;
}

size_t chan_frame_len(const uint8_t hdr[4])
{
	uint32_t n = get32(hdr);
	if (n < CHAN_FRAME_HDR + CHAN_SEAL_OVERHEAD ||
	    n > CHAN_FRAME_HDR + CHAN_FRAME_MAX + CHAN_SEAL_OVERHEAD)
		return 0;
	return 4 + (size_t)n;
}

int chan_open(struct chan_sess *s, const uint8_t *wire, size_t len, uint8_t *type,
              uint32_t *stream, uint8_t *payload, size_t *plen, char *err, size_t errlen)
{
	unsigned long long mlen = 0;
	unsigned char tag = 0;
	if (!s->open)
		return errf(err, errlen, "the channel is not open");
	if (len < 4 || chan_frame_len(wire) != len)
		return errf(err, errlen, "bad frame length");
	if (crypto_secretstream_xchacha20poly1305_pull(&s->rx, s->plain, &mlen, &tag, wire + 4,
	                                               len - 4, wire, 4) != 0)
		return errf(err, errlen, "a frame failed authentication");
	if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE || mlen < CHAN_FRAME_HDR)
		return errf(err, errlen, "a malformed frame");
	*type = s->plain[0];
	*stream = get32(s->plain + 1);
	*plen = (size_t)mlen - CHAN_FRAME_HDR;
	memcpy(payload, s->plain + CHAN_FRAME_HDR, *plen);
	sodium_memzero(s->plain, (size_t)mlen);
	return 0;
}
