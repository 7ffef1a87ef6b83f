/* eth_util.c: hex conversion and the bounded growable buffer shared by the eth_ modules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth_keccak.h"
#include "eth_util.h"

void eth_buf_init(struct eth_buf *b)
{
	memset(b, 0, sizeof *b);
}

void eth_buf_free(struct eth_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

void eth_buf_reset(struct eth_buf *b)
{
	b->len = 0;
	b->err = 0;
}

static int buf_reserve(struct eth_buf *b, size_t n)
{
	if (b->err)
		return -1;
	if (n > ETH_BUF_MAX || b->len > ETH_BUF_MAX - n) {
		b->err = 1;
		return -1;
	}
	size_t need = b->len + n;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if (cap > ETH_BUF_MAX)
		cap = ETH_BUF_MAX;
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->err = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

int eth_buf_put(struct eth_buf *b, const void *data, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

int eth_buf_put_byte(struct eth_buf *b, uint8_t c)
{
	return eth_buf_put(b, &c, 1);
}

int eth_buf_put_zeros(struct eth_buf *b, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memset(b->p + b->len, 0, n);
	b->len += n;
	return 0;
}

int eth_buf_insert(struct eth_buf *b, size_t off, const void *data, size_t n)
{
	if (off > b->len) {
		b->err = 1;
		return -1;
	}
	if (buf_reserve(b, n) < 0)
		return -1;
	memmove(b->p + off + n, b->p + off, b->len - off);
	memcpy(b->p + off, data, n);
	b->len += n;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const char *skip_0x(const char *s)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return s + 2;
	return s;
}

long eth_hex_decode(const char *s, uint8_t *out, size_t outlen)
{
	if (!s)
		return -1;
	s = skip_0x(s);
	size_t n = strlen(s);
	if (n % 2 || n / 2 > outlen)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

int eth_hex_decode_exact(const char *s, uint8_t *out, size_t outlen)
{
	if (!s || strlen(skip_0x(s)) != 2 * outlen)
		return -1;
	return eth_hex_decode(s, out, outlen) == (long)outlen ? 0 : -1;
}

int eth_hex_decode_buf(const char *s, struct eth_buf *out)
{
	eth_buf_reset(out);
	if (!s)
		return -1;
	size_t n = strlen(skip_0x(s));
	if (n % 2 || eth_buf_put_zeros(out, n / 2) < 0)
		return -1;
	if (n == 0)
		return 0;
	return eth_hex_decode(s, out->p, out->len) == (long)out->len ? 0 : -1;
}

void eth_hex_encode(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	static const char digits[] = "0123456789abcdef";
	if (outlen < 3) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	if (n > (outlen - 3) / 2)
		n = (outlen - 3) / 2;
	out[0] = '0';
	out[1] = 'x';
	for (size_t i = 0; i < n; i++) {
		out[2 + 2 * i] = digits[p[i] >> 4];
		out[3 + 2 * i] = digits[p[i] & 15];
	}
	out[2 + 2 * n] = '\0';
}

char *eth_hex_alloc(const uint8_t *p, size_t n)
{
	if (n > ETH_BUF_MAX)
		return NULL;
	size_t len = 2 * n + 3;
	char *s = malloc(len);
	if (s)
		eth_hex_encode(p, n, s, len);
	return s;
}

/* EIP-55: in a mixed-case address, letter i is upper case iff nibble i of
 * keccak256(lowercase hex) is 8 or more. All-lower and all-upper carry no checksum. */
static int checksum_ok(const char *hex)
{
	char lower[41];
	int upper = 0, low = 0;
	uint8_t h[32];
	for (int i = 0; i < 40; i++) {
		char c = hex[i];
		upper |= c >= 'A' && c <= 'F';
		low |= c >= 'a' && c <= 'f';
		lower[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
	}
	lower[40] = '\0';
	if (!upper || !low)
		return 1;
	eth_keccak256(lower, 40, h);
	for (int i = 0; i < 40; i++) {
		int nib = i % 2 ? h[i / 2] & 15 : h[i / 2] >> 4;
		if (hex[i] >= 'a' && hex[i] <= 'f' && nib >= 8)
			return 0;
		if (hex[i] >= 'A' && hex[i] <= 'F' && nib < 8)
			return 0;
	}
	return 1;
}

int eth_addr_parse(const char *s, uint8_t addr[ETH_ADDR_LEN])
{
	if (!s || !(s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
		return -1;
	if (eth_hex_decode_exact(s, addr, ETH_ADDR_LEN) < 0 || !checksum_ok(s + 2))
		return -1;
	return 0;
}

void eth_addr_format(const uint8_t addr[ETH_ADDR_LEN], char out[43])
{
	eth_hex_encode(addr, ETH_ADDR_LEN, out, 43);
}

int eth_qty_parse_u256(const char *s, uint8_t out[32])
{
	if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || s[2] == '\0')
		return -1;
	s += 2;
	size_t n = strlen(s);
	while (n > 1 && *s == '0') {
		s++;
		n--;
	}
	if (n > 64)
		return -1;
	memset(out, 0, 32);
	for (size_t i = 0; i < n; i++) {
		int v = hexval(s[n - 1 - i]);
		if (v < 0)
			return -1;
		out[31 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
	}
	return 0;
}

int eth_qty_parse(const char *s, uint64_t *out)
{
	uint8_t w[32];
	if (eth_qty_parse_u256(s, w) < 0)
		return -1;
	return eth_u256_to_u64(w, out);
}

void eth_qty_format(uint64_t v, char *out, size_t outlen)
{
	snprintf(out, outlen, "0x%llx", (unsigned long long)v);
}

void eth_u256_from_u64(uint64_t v, uint8_t out[32])
{
	memset(out, 0, 32);
	for (int i = 0; i < 8; i++)
		out[31 - i] = (uint8_t)(v >> (8 * i));
}

int eth_u256_to_u64(const uint8_t in[32], uint64_t *v)
{
	for (int i = 0; i < 24; i++)
		if (in[i])
			return -1;
	uint64_t r = 0;
	for (int i = 24; i < 32; i++)
		r = r << 8 | in[i];
	*v = r;
	return 0;
}
