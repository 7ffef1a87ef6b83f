/* eth_keccak.c: the Keccak-f[1600] permutation and the Keccak-256 sponge. */
#include <string.h>

#include "eth_keccak.h"

static const uint64_t round_consts[24] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
	0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
	0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
	0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
	0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* Rotation offsets r[x + 5y] of the rho step. */
static const unsigned rho[25] = {
	0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
};

static uint64_t rotl(uint64_t v, unsigned n)
{
	return n ? (v << n) | (v >> (64 - n)) : v;
}

static void keccak_f(uint64_t a[25])
{
	uint64_t c[5], d[5], b[25];
	for (int round = 0; round < 24; round++) {
		for (int x = 0; x < 5; x++)
			c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
		for (int x = 0; x < 5; x++)
			d[x] = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
		for (int i = 0; i < 25; i++)
			a[i] ^= d[i % 5];
		/* rho and pi: b[y, 2x + 3y] = rotl(a[x, y], r[x, y]) */
		for (int x = 0; x < 5; x++)
			for (int y = 0; y < 5; y++)
				b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], rho[x + 5 * y]);
		/* chi */
		for (int y = 0; y < 5; y++)
			for (int x = 0; x < 5; x++)
				a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
		a[0] ^= round_consts[round];
	}
}

/* Lanes are little-endian whatever the host is. */
static void absorb_byte(struct eth_keccak *k, size_t pos, uint8_t v)
{
	k->st[pos / 8] ^= (uint64_t)v << (8 * (pos % 8));
}

void eth_keccak_init(struct eth_keccak *k)
{
	memset(k, 0, sizeof *k);
}

void eth_keccak_update(struct eth_keccak *k, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i++) {
		absorb_byte(k, k->pos++, p[i]);
		if (k->pos == ETH_KECCAK_RATE) {
			keccak_f(k->st);
			k->pos = 0;
		}
	}
}

void eth_keccak_final(struct eth_keccak *k, uint8_t out[32])
{
	absorb_byte(k, k->pos, 0x01);
	absorb_byte(k, ETH_KECCAK_RATE - 1, 0x80);
	keccak_f(k->st);
	for (int i = 0; i < 32; i++)
		out[i] = (uint8_t)(k->st[i / 8] >> (8 * (i % 8)));
	memset(k, 0, sizeof *k);
}

void eth_keccak256(const void *data, size_t len, uint8_t out[32])
{
	struct eth_keccak k;
	eth_keccak_init(&k);
	eth_keccak_update(&k, data, len);
	eth_keccak_final(&k, out);
}

void eth_selector(const char *signature, uint8_t out[4])
{
	uint8_t h[32];
	eth_keccak256(signature, strlen(signature), h);
	memcpy(out, h, 4);
}
