/* eth_rlp.c: RLP encoder over eth_buf and a strict zero-copy decoder. */
#include <string.h>

#include "eth_rlp.h"

/* Header for a payload of n bytes: short form below 56, else length-of-length. */
static size_t rlp_header(uint8_t *h, uint8_t base, size_t n)
{
	if (n < 56) {
		h[0] = (uint8_t)(base + n);
		return 1;
	}
	uint8_t tmp[8];
	size_t k = 0;
	for (size_t v = n; v; v >>= 8)
		tmp[k++] = (uint8_t)v;
	h[0] = (uint8_t)(base + 55 + k);
	for (size_t i = 0; i < k; i++)
		h[1 + i] = tmp[k - 1 - i];
	return 1 + k;
}

int rlp_put_bytes(struct eth_buf *b, const uint8_t *p, size_t n)
{
	if (n == 1 && p[0] < 0x80)
		return eth_buf_put_byte(b, p[0]);
	uint8_t h[9];
	size_t hl = rlp_header(h, 0x80, n);
	eth_buf_put(b, h, hl);
	return eth_buf_put(b, p, n);
}

int rlp_put_str(struct eth_buf *b, const char *s)
{
	return rlp_put_bytes(b, (const uint8_t *)s, strlen(s));
}

int rlp_put_uint(struct eth_buf *b, uint64_t v)
{
	uint8_t w[32];
	eth_u256_from_u64(v, w);
	return rlp_put_u256(b, w);
}

int rlp_put_u256(struct eth_buf *b, const uint8_t be[32])
{
	size_t i = 0;
	while (i < 32 && be[i] == 0)
		i++;
	return rlp_put_bytes(b, be + i, 32 - i);
}

size_t rlp_list_begin(struct eth_buf *b)
{
	return b->len;
}

int rlp_list_end(struct eth_buf *b, size_t off)
{
	if (b->err || off > b->len)
		return -1;
	uint8_t h[9];
	size_t hl = rlp_header(h, 0xc0, b->len - off);
	return eth_buf_insert(b, off, h, hl);
}

/* Parse the item at in[0..n): payload offset and length, total size. */
static int rlp_item_at(const uint8_t *in, size_t n, struct rlp_item *it, size_t *total)
{
	if (n == 0)
		return -1;
	uint8_t c = in[0];
	size_t hl, len;
	if (c < 0x80) {
		it->is_list = 0;
		it->p = in;
		it->len = 1;
		*total = 1;
		return 0;
	}
	it->is_list = c >= 0xc0;
	uint8_t base = it->is_list ? 0xc0 : 0x80;
	if (c - base < 56) {
		hl = 1;
		len = (size_t)(c - base);
		/* A single byte below 0x80 must be encoded as itself. */
		if (!it->is_list && len == 1 && (n < 2 || in[1] < 0x80))
			return -1;
	} else {
		size_t k = (size_t)(c - base - 55);
		if (k > sizeof(size_t) || k >= n || in[1] == 0)
			return -1;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | in[1 + i];
		if (len < 56)
			return -1;
		hl = 1 + k;
	}
	if (len > n - hl)
		return -1;
	it->p = in + hl;
	it->len = len;
	*total = hl + len;
	return 0;
}

/* Validate nested lists to RLP_MAX_DEPTH so later iteration cannot fail on depth. */
static int rlp_check(const struct rlp_item *it, int depth)
{
	if (!it->is_list)
		return 0;
	if (depth >= RLP_MAX_DEPTH)
		return -1;
	size_t pos = 0;
	while (pos < it->len) {
		struct rlp_item sub;
		size_t total;
		if (rlp_item_at(it->p + pos, it->len - pos, &sub, &total) < 0)
			return -1;
		if (rlp_check(&sub, depth + 1) < 0)
			return -1;
		pos += total;
	}
	return 0;
}

int rlp_decode(const uint8_t *in, size_t n, struct rlp_item *out)
{
	size_t total;
	if (rlp_item_at(in, n, out, &total) < 0 || total != n)
		return -1;
	return rlp_check(out, 0);
}

int rlp_list_next(const struct rlp_item *list, size_t *pos, struct rlp_item *item)
{
	if (!list->is_list || *pos > list->len)
		return -1;
	if (*pos == list->len)
		return 0;
	size_t total;
	if (rlp_item_at(list->p + *pos, list->len - *pos, item, &total) < 0)
		return -1;
	*pos += total;
	return 1;
}

int rlp_item_u256(const struct rlp_item *it, uint8_t be[32])
{
	if (it->is_list || it->len > 32 || (it->len > 0 && it->p[0] == 0))
		return -1;
	memset(be, 0, 32);
	memcpy(be + 32 - it->len, it->p, it->len);
	return 0;
}

int rlp_item_uint(const struct rlp_item *it, uint64_t *v)
{
	uint8_t be[32];
	if (rlp_item_u256(it, be) < 0)
		return -1;
	return eth_u256_to_u64(be, v);
}
