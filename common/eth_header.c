/* eth_header.c: recompute a block's hash from its header fields, to catch a lying endpoint. */
#include <stdio.h>
#include <string.h>

#include "eth_header.h"
#include "eth_keccak.h"
#include "eth_rlp.h"
#include "eth_util.h"

/* How a field is encoded: bytes of a fixed length, bytes of any length, or a number. */
enum hkind { H_FIXED, H_DATA, H_QTY };

struct hfield {
	const char *name;
	enum hkind kind;
	size_t len; /* H_FIXED: bytes; H_DATA: at most */
};

#define HEADER_BASE 15 /* fields every block has; the rest came with later forks */

static const struct hfield fields[] = {
	{"parentHash", H_FIXED, 32},
	{"sha3Uncles", H_FIXED, 32},
	{"miner", H_FIXED, 20},
	{"stateRoot", H_FIXED, 32},
	{"transactionsRoot", H_FIXED, 32},
	{"receiptsRoot", H_FIXED, 32},
	{"logsBloom", H_FIXED, 256},
	{"difficulty", H_QTY, 0},
	{"number", H_QTY, 0},
	{"gasLimit", H_QTY, 0},
	{"gasUsed", H_QTY, 0},
	{"timestamp", H_QTY, 0},
	{"extraData", H_DATA, 1024},
	{"mixHash", H_FIXED, 32},
	{"nonce", H_FIXED, 8},
	{"baseFeePerGas", H_QTY, 0},        /* London */
	{"withdrawalsRoot", H_FIXED, 32},   /* Shanghai */
	{"blobGasUsed", H_QTY, 0},          /* Cancun */
	{"excessBlobGas", H_QTY, 0},        /* Cancun */
	{"parentBeaconBlockRoot", H_FIXED, 32}, /* Cancun */
	{"requestsHash", H_FIXED, 32},      /* Prague */
};

#define NFIELDS (sizeof fields / sizeof fields[0])

/* Append field f's value s to b; -1 when s is not such a value. */
static int put_field(struct eth_buf *b, const struct hfield *f, const char *s)
{
	uint8_t w[1024];
	long n;
	switch (f->kind) {
	case H_FIXED:
		if (eth_hex_decode_exact(s, w, f->len) < 0)
			return -1;
		return rlp_put_bytes(b, w, f->len);
	case H_DATA:
		if ((n = eth_hex_decode(s, w, f->len)) < 0)
			return -1;
		return rlp_put_bytes(b, w, (size_t)n);
	case H_QTY:
		if (eth_qty_parse_u256(s, w) < 0)
			return -1;
		return rlp_put_u256(b, w);
	}
	return -1;
}

int eth_header_hash(const json_t *block, uint8_t out[32], char *why, size_t len)
{
	struct eth_buf b;
	int rc = -1, ended = 0;
	if (!json_is_object(block)) {
		snprintf(why, len, "the block is not an object");
		return -1;
	}
	eth_buf_init(&b);
	size_t off = rlp_list_begin(&b);
	for (size_t i = 0; i < NFIELDS; i++) {
		const json_t *v = json_object_get(block, fields[i].name);
		if (!v || json_is_null(v)) {
			if (i < HEADER_BASE) {
				snprintf(why, len, "the block has no %s", fields[i].name);
				goto done;
			}
			ended = 1;
			continue;
		}
		if (ended) {
			snprintf(why, len, "the block has %s but not %s before it", fields[i].name,
			         fields[i - 1].name);
			goto done;
		}
		if (!json_is_string(v) || put_field(&b, &fields[i], json_string_value(v)) < 0) {
			snprintf(why, len, "the block's %s is malformed", fields[i].name);
			goto done;
		}
	}
	if (rlp_list_end(&b, off) < 0 || b.err) {
		snprintf(why, len, "out of memory");
		goto done;
	}
	eth_keccak256(b.p, b.len, out);
	rc = 0;
done:
	eth_buf_free(&b);
	return rc;
}

int eth_header_check(const json_t *block, char *why, size_t len)
{
	uint8_t want[32], got[32];
	char g[67], w[67];
	const json_t *h = json_object_get(block, "hash");
	if (!json_is_string(h) || eth_hex_decode_exact(json_string_value(h), want, 32) < 0) {
		snprintf(why, len, "the block's hash is malformed");
		return -1;
	}
	if (eth_header_hash(block, got, why, len) < 0)
		return -1;
	if (memcmp(want, got, 32) == 0)
		return 1;
	eth_hex_encode(want, 32, w, sizeof w);
	eth_hex_encode(got, 32, g, sizeof g);
	snprintf(why, len, "the block's hash %s is not the keccak of its header, %s", w, g);
	return 0;
}
