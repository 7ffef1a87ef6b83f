/* eth_rlp.h: Recursive Length Prefix encoding and strict, bounds-checked decoding. */
#ifndef CANTEEN_ETH_RLP_H
#define CANTEEN_ETH_RLP_H

#include <stddef.h>
#include <stdint.h>

#include "eth_util.h"

#define RLP_MAX_DEPTH 32

/*
 * Encoding appends to an eth_buf (check b->err, or the last return, once at the end).
 * A list: off = rlp_list_begin(b); ...items...; rlp_list_end(b, off).
 */
int rlp_put_bytes(struct eth_buf *b, const uint8_t *p, size_t n);
int rlp_put_str(struct eth_buf *b, const char *s);
/* Integers as minimal big-endian byte strings (0 is the empty string). */
int rlp_put_uint(struct eth_buf *b, uint64_t v);
int rlp_put_u256(struct eth_buf *b, const uint8_t be[32]);
size_t rlp_list_begin(struct eth_buf *b);
int rlp_list_end(struct eth_buf *b, size_t off);

/*
 * Decoding. An item points into the caller's input (nothing is copied or allocated).
 * rlp_decode reads exactly one item that must span all of in[0..n).
 * Strict: non-canonical forms (a single byte < 0x80 wrapped as a string, long form
 * for short payloads, leading zero bytes in a length) are errors.
 */
struct rlp_item {
	int is_list;
	const uint8_t *p; /* payload */
	size_t len;
};

int rlp_decode(const uint8_t *in, size_t n, struct rlp_item *out);
/* Iterate a list: *pos starts at 0; returns 1 with the next item, 0 at the end, -1 on error. */
int rlp_list_next(const struct rlp_item *list, size_t *pos, struct rlp_item *item);
/* Item as an integer: a string of at most 8 bytes with no leading zero. */
int rlp_item_uint(const struct rlp_item *it, uint64_t *v);
/* Item as an integer of up to 32 bytes, right-aligned into be. */
int rlp_item_u256(const struct rlp_item *it, uint8_t be[32]);

#endif
