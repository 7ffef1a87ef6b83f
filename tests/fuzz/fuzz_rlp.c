/* fuzz_rlp.c: RLP decoding and signed transaction parsing of untrusted bytes never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth_rlp.h"
#include "eth_tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walk every item; re-encode and require the same bytes (decoding is canonical-only). */
static void reencode(const struct rlp_item *it, struct eth_buf *b, int depth)
{
	if (depth > RLP_MAX_DEPTH)
		abort();
	if (!it->is_list) {
		rlp_put_bytes(b, it->p, it->len);
		return;
	}
	size_t off = rlp_list_begin(b), pos = 0;
	struct rlp_item sub;
	int r;
	while ((r = rlp_list_next(it, &pos, &sub)) == 1)
		reencode(&sub, b, depth + 1);
	if (r < 0)
		abort(); /* rlp_decode validated the whole tree */
	rlp_list_end(b, off);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rlp_item it;
	if (rlp_decode(data, size, &it) == 0) {
		struct eth_buf b;
		eth_buf_init(&b);
		reencode(&it, &b, 0);
		if (b.err || b.len != size || memcmp(b.p, data, size) != 0)
			abort();
		eth_buf_free(&b);
	}
	struct eth_tx tx;
	uint8_t from[20], hash[32];
	char err[128];
	eth_tx_decode(data, size, &tx, from, hash, err, sizeof err);
	return 0;
}
