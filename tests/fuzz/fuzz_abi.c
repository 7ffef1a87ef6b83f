/* fuzz_abi.c: ABI decoding of untrusted data, type parsing and revert reasons never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth_abi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Types shaped like what canteen decodes (contract records) plus the tricky cases. */
static const char *const types[] = {
	"(string)", "(uint256)", "(bool,address,bytes32)", "(string[])", "(uint256[][])",
	"((string,string,string[],string[],uint32,uint32,uint32,(uint16,uint16,uint8)[],int32,uint8,bool,string[],uint64)[])",
	"((address,string,bytes32,uint32,uint32,string[],bool,uint64)[])", "(bytes,int8,uint8[3])",
	"((uint8,string)[2][])", "(string[2][2])",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], out[512];
	if (size < 1)
		return 0;
	size_t which = data[0] % (sizeof types / sizeof types[0] + 1);
	data++;
	size--;
	if (which == sizeof types / sizeof types[0]) {
		/* The rest as a type string. */
		char s[256];
		size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
		memcpy(s, data, n);
		s[n] = '\0';
		struct abi_type *t = abi_type_parse(s, err, sizeof err);
		if (t) {
			char name[1024];
			abi_type_name(t, name, sizeof name);
		}
		abi_type_free(t);
		return 0;
	}
	struct abi_type *t = abi_type_parse(types[which], err, sizeof err);
	struct abi_value *v = NULL;
	if (t && abi_decode(t, data, size, &v, err, sizeof err) == 0) {
		/* What decodes must encode again and decode to the same JSON. */
		struct eth_buf b;
		eth_buf_init(&b);
		if (abi_encode(t, v, &b, err, sizeof err) != 0)
			abort();
		struct abi_value *v2 = NULL;
		if (abi_decode(t, b.p, b.len, &v2, err, sizeof err) != 0)
			abort();
		json_t *j1 = abi_value_to_json(t, v), *j2 = abi_value_to_json(t, v2);
		if (j1 && j2 && !json_equal(j1, j2))
			abort();
		json_decref(j1);
		json_decref(j2);
		abi_value_free(v2);
		eth_buf_free(&b);
	}
	abi_value_free(v);
	abi_type_free(t);
	abi_revert_reason(data, size, NULL, out, sizeof out);
	return 0;
}
