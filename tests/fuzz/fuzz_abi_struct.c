/* fuzz_abi_struct.c: structure-aware ABI fuzzing: values built from the input for canteen's record types
 * encode, decode back to the same value, and the encoding with one word changed never crashes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth_abi.h"
#include "rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
	"((string,string,string[],string[],uint32,uint32,uint32,(uint16,uint16,uint8)[],int32,uint8,bool,string[],uint64)[])",
	"((address,string,bytes32,uint32,uint32,string[],bool,uint64)[])",
	"(" REC_SPEC_ABI ")", /* contract version 5's ServiceSpec, with its Options */
	"(bytes,int8,uint8[3],int256,uint256)", "((uint8,string)[2][])", "(string[2][2],bytes4)",
	"(int64[],bool[],address[2])",
};

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* A word that is valid for an intN/uintN of this many bits. */
static void int_word(struct in *in, unsigned bits, int sign, uint8_t w[32])
{
	for (int i = 0; i < 32; i++)
		w[i] = take(in);
	unsigned zero = 256 - bits; /* high bits that must be 0 (or the sign) */
	int neg = sign && (w[32 - bits / 8] & 0x80);
	for (unsigned b = 0; b < zero; b++)
		if (neg)
			w[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		else
			w[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
}

static struct abi_value *build(const struct abi_type *t, struct in *in, int depth)
{
	uint8_t w[32], buf[64];
	switch (t->kind) {
	case ABI_UINT:
	case ABI_INT:
		int_word(in, t->size, t->kind == ABI_INT, w);
		{
			struct abi_value *v = abi_u256(w);
			if (v)
				v->kind = t->kind;
			return v;
		}
	case ABI_ADDRESS:
		for (int i = 0; i < 20; i++)
			buf[i] = take(in);
		return abi_addr(buf);
	case ABI_BOOL: return abi_bool(take(in) & 1);
	case ABI_BYTESN:
		for (unsigned i = 0; i < t->size; i++)
			buf[i] = take(in);
		return abi_bytesn(buf, t->size);
	case ABI_BYTES:
	case ABI_STRING: {
		size_t n = take(in) % 64;
		for (size_t i = 0; i < n; i++) {
			buf[i] = take(in);
			if (t->kind == ABI_STRING && buf[i] == 0)
				buf[i] = 'x';
		}
		return t->kind == ABI_STRING ? abi_strn((const char *)buf, n) : abi_bytes(buf, n);
	}
	case ABI_ARRAY: {
		struct abi_value *l = abi_list(ABI_ARRAY);
		long n = t->fixed >= 0 ? t->fixed : (long)(take(in) % (depth > 2 ? 2 : 5));
		for (long i = 0; l && i < n; i++)
			if (abi_push(l, build(t->elem, in, depth + 1)) < 0)
				return NULL;
		return l;
	}
	case ABI_TUPLE: {
		struct abi_value *l = abi_list(ABI_TUPLE);
		for (size_t i = 0; l && i < t->ncomps; i++)
			if (abi_push(l, build(t->comps[i], in, depth + 1)) < 0)
				return NULL;
		return l;
	}
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct abi_type *ts[sizeof types / sizeof types[0]];
	char err[256];
	if (!ts[0])
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (!(ts[i] = abi_type_parse(types[i], err, sizeof err)))
				abort();
	if (size < 3)
		return 0;
	const struct abi_type *t = ts[data[0] % (sizeof types / sizeof types[0])];
	uint16_t where = (uint16_t)(data[1] | data[2] << 8);
	struct in in = {data + 3, size - 3};
	struct abi_value *v = build(t, &in, 0), *v2 = NULL, *v3 = NULL;
	if (!v)
		abort();
	struct eth_buf b;
	eth_buf_init(&b);
	if (abi_encode(t, v, &b, err, sizeof err) != 0) {
		fprintf(stderr, "encode: %s\n", err);
		abort();
	}
	if (abi_decode(t, b.p, b.len, &v2, err, sizeof err) != 0) {
		fprintf(stderr, "decode: %s\n", err);
		abort(); /* what we encode we must decode */
	}
	/* JSON has no invalid UTF-8: such a string makes both NULL, alike. */
	json_t *j1 = abi_value_to_json(t, v), *j2 = abi_value_to_json(t, v2);
	if (!j1 != !j2 || (j1 && !json_equal(j1, j2)))
		abort();
	json_decref(j1);
	json_decref(j2);
	/* One word of the encoding changed (an offset, a length, a value) by the rest. */
	if (b.len >= 32) {
		size_t at = (size_t)where % (b.len / 32) * 32;
		for (size_t i = 0; i < 32; i++)
			b.p[at + i] ^= take(&in);
		if (abi_decode(t, b.p, b.len, &v3, err, sizeof err) == 0) {
			json_t *j3 = abi_value_to_json(t, v3);
			json_decref(j3);
		}
	}
	abi_value_free(v3);
	abi_value_free(v2);
	abi_value_free(v);
	eth_buf_free(&b);
	return 0;
}
