/* fuzz_rpc_answer.c: the JSON-RPC answer path (single and batch answers, error objects, revert data)
 * and the Ethereum decoders that read results (quantities, hex data, revert reasons). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth_abi.h"
#include "eth_rpc_int.h"
#include "eth_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t n = 1 + data[0] % 4;
	int batch = (data[0] >> 2) & 1;
	uint64_t first = data[1];
	json_t *results[4];
	struct eth_rpc_err errs[4], e;
	memset(errs, 0, sizeof errs);
	memset(&e, 0, sizeof e);
	int rc = rpc_parse(data + 2, size - 2, n, batch, first, results, (data[0] & 8) ? errs : NULL,
	                   &e);
	char why[256];
	for (size_t i = 0; i < n; i++)
		if (errs[i].has_revert) {
			if (errs[i].revert_len > sizeof errs[i].revert)
				abort();
			abi_revert_reason(errs[i].revert, errs[i].revert_len, NULL, why, sizeof why);
		}
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			if (results[i])
				abort(); /* nothing is handed out on failure */
		/* A failure always says why, also when the node's error object has "message":""
		 * (corpus/rpc_answer/empty_message, found by this target). */
		if (e.msg[0] == '\0')
			abort();
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(results[i]);
		if (s) {
			/* What canteen does with string results: quantities and data. */
			uint64_t q;
			uint8_t w[32];
			(void)eth_qty_parse(s, &q);
			(void)eth_qty_parse_u256(s, w);
			struct eth_buf b;
			eth_buf_init(&b);
			if (eth_hex_decode_buf(s, &b) == 0) {
				char out[256];
				abi_revert_reason(b.p, b.len, NULL, out, sizeof out);
			}
			eth_buf_free(&b);
		}
		json_decref(results[i]);
	}
	return 0;
}
