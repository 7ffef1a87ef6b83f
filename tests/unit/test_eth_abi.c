/* test_eth_abi.c: ABI type parsing, encoding vectors, round trips, strict decoding, reverts. */
#include <stdlib.h>
#include <string.h>

#include "eth_abi.h"
#include "eth_keccak.h"
#include "tap.h"

static char hexbuf[8192];

static const char *hex(const struct eth_buf *b)
{
	eth_hex_encode(b->p, b->len, hexbuf, sizeof hexbuf);
	return hexbuf;
}

/* Encode JSON args for a signature (no selector), as hex. */
static const char *enc(const char *sig, const char *json)
{
	char err[256];
	struct eth_buf b;
	json_error_t je;
	struct abi_type *t = abi_sig_parse(sig, NULL, err, sizeof err);
	json_t *j = json_loads(json, 0, &je);
	struct abi_value *v = t && j ? abi_value_from_json(t, j, err, sizeof err) : NULL;
	eth_buf_init(&b);
	const char *out = v && abi_encode(t, v, &b, err, sizeof err) == 0 ? hex(&b) : NULL;
	if (!out)
		diag("encode %s: %s", sig, err);
	eth_buf_free(&b);
	abi_value_free(v);
	json_decref(j);
	abi_type_free(t);
	return out;
}

/* Decode hex as type and dump JSON (or NULL). */
static char *dec(const char *type, const char *h)
{
	char err[256];
	struct eth_buf b;
	struct abi_value *v = NULL;
	struct abi_type *t = abi_type_parse(type, err, sizeof err);
	eth_buf_init(&b);
	char *s = NULL;
	if (t && eth_hex_decode_buf(h, &b) == 0 && abi_decode(t, b.p, b.len, &v, err, sizeof err) == 0) {
		json_t *j = abi_value_to_json(t, v);
		s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(j);
	}
	abi_value_free(v);
	abi_type_free(t);
	eth_buf_free(&b);
	return s;
}

static void roundtrip(const char *sig, const char *json)
{
	const char *h = enc(sig, json);
	char hcopy[8192];
	if (!h) {
		ok(0, "round trip %s: encode failed", sig);
		return;
	}
	memcpy(hcopy, h, strlen(h) + 1);
	char *back = dec(strchr(sig, '('), hcopy);
	is_str(back, json, "round trip %s", sig);
	free(back);
}

int main(void)
{
	char err[256], name[256];
	uint8_t sel[4];

	/* Types. */
	static const char *good[] = {"uint256", "uint8", "int", "address", "bool", "bytes32", "bytes",
	                             "string", "uint256[]", "string[3]", "(uint8,(bool,string[])[])[2]"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct abi_type *t = abi_type_parse(good[i], err, sizeof err);
		ok(t != NULL, "type %s parses", good[i]);
		abi_type_free(t);
	}
	struct abi_type *t = abi_type_parse("int", err, sizeof err);
	ok(t && abi_type_name(t, name, sizeof name) == 0 && strcmp(name, "int256") == 0, "int is int256");
	abi_type_free(t);
	static const char *bad[] = {"uint7", "uint264", "bytes33", "bytes0", "uint08", "(uint8", "uint8[",
	                            "uint8[0x1]", "string[99999]", "foo", "uint8,", "(((((((((((((((((((bool)))))))))))))))))))"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct abi_type *b = abi_type_parse(bad[i], err, sizeof err);
		ok(b == NULL, "type %s refused: %s", bad[i], err);
		abi_type_free(b);
	}
	t = abi_sig_parse("transfer(address,uint)", sel, err, sizeof err);
	ok(t && memcmp(sel, "\xa9\x05\x9c\xbb", 4) == 0, "selector uses the canonical signature");
	abi_type_free(t);

	/* Encoding vectors (cast abi-encode gives the same; tests/eth_cast.bats checks more). */
	is_str(enc("f(uint256,string,address[])", "[1,\"hello\",[\"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\"]]"),
	       "0x0000000000000000000000000000000000000000000000000000000000000001"
	       "0000000000000000000000000000000000000000000000000000000000000060"
	       "00000000000000000000000000000000000000000000000000000000000000a0"
	       "0000000000000000000000000000000000000000000000000000000000000005"
	       "68656c6c6f000000000000000000000000000000000000000000000000000000"
	       "0000000000000000000000000000000000000000000000000000000000000001"
	       "00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8",
	       "uint256, string, address[]");
	is_str(enc("f(int8,bool,bytes3)", "[-1,true,\"0x616263\"]"),
	       "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	       "0000000000000000000000000000000000000000000000000000000000000001"
	       "6162630000000000000000000000000000000000000000000000000000000000",
	       "int8 -1 sign-extends, bytes3 left-aligned");
	ok(enc("f(uint8)", "[256]") == NULL, "256 does not fit uint8");
	ok(enc("f(int8)", "[-129]") == NULL, "-129 does not fit int8");
	ok(enc("f(uint256)", "[\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"]") != NULL,
	   "2^256-1 as a decimal string fits uint256");
	ok(enc("f(uint256)", "[\"115792089237316195423570985008687907853269984665640564039457584007913129639936\"]") == NULL,
	   "2^256 does not");
	ok(enc("f(bytes2)", "[\"0x010203\"]") == NULL, "bytes2 with 3 bytes refused");
	ok(enc("f(uint8[2])", "[[1,2,3]]") == NULL, "fixed array with the wrong count refused");

	/* Round trips through decode. */
	roundtrip("f(uint256,string,address[])", "[1,\"hello\",[\"0x70997970c51812dc3a010c7d01b50e0d17dc79c8\"]]");
	roundtrip("f((uint8,string)[],bytes,int32)", "[[[7,\"hi\"],[8,\"\"]],\"0x0102\",-5]");
	roundtrip("f(string[2],(bool,uint64[])[1])", "[[\"a\",\"bb\"],[[false,[1,2,\"18446744073709551615\"]]]]");
	roundtrip("f(uint256)", "[\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"]");
	roundtrip("f(int256)", "[\"-57896044618658097711785492504343953926634992332820282019728792003956564819968\"]");
	roundtrip("f()", "[]");

	/* Strict decoding of hostile data. */
	char *s;
	ok((s = dec("(string)", "0x00000000000000000000000000000000000000000000000000000000000000ff")) == NULL,
	   "offset past the end refused");
	free(s);
	ok((s = dec("(string)", "0x0000000000000000000000000000000000000000000000000000000000000020"
	                         "00000000000000000000000000000000000000000000000000000000ffffffff")) == NULL,
	   "string length past the end refused");
	free(s);
	ok((s = dec("(uint256[])", "0x0000000000000000000000000000000000000000000000000000000000000020"
	                            "000000000000000000000000000000000000000000000000000000000fffffff")) == NULL,
	   "array count beyond the data refused without allocating it");
	free(s);
	ok((s = dec("(bool)", "0x0000000000000000000000000000000000000000000000000000000000000002")) == NULL,
	   "bool 2 refused");
	free(s);
	ok((s = dec("(address)", "0x0000000000000000000000010000000000000000000000000000000000000000")) == NULL,
	   "address with dirty high bytes refused");
	free(s);
	ok((s = dec("(uint8)", "0x0000000000000000000000000000000000000000000000000000000000000100")) == NULL,
	   "uint8 256 refused");
	free(s);
	ok((s = dec("(uint256)", "0x00")) == NULL, "short data refused");
	free(s);
	/* Many array elements all pointing at one big inner array: bounded work. */
	{
		struct eth_buf b;
		eth_buf_init(&b);
		uint8_t w[32];
		size_t n = 2000;
		eth_u256_from_u64(32, w);
		eth_buf_put(&b, w, 32); /* offset of the outer array */
		eth_u256_from_u64(n, w);
		eth_buf_put(&b, w, 32);
		for (size_t i = 0; i < n; i++) {
			eth_u256_from_u64(n * 32, w); /* every element: the same inner array */
			eth_buf_put(&b, w, 32);
		}
		eth_u256_from_u64(n, w);
		eth_buf_put(&b, w, 32);
		eth_buf_put_zeros(&b, n * 32);
		struct abi_type *tt = abi_type_parse("(uint256[][])", err, sizeof err);
		struct abi_value *v = NULL;
		int r = abi_decode(tt, b.p, b.len, &v, err, sizeof err);
		ok(r < 0, "aliased offsets cannot blow up the decoder: %s", err);
		abi_value_free(v);
		abi_type_free(tt);
		eth_buf_free(&b);
	}

	/* Named tuples from a contract ABI parameter. */
	json_error_t je;
	json_t *param = json_loads("{\"type\":\"tuple\",\"components\":[{\"name\":\"name\",\"type\":\"string\"},"
	                           "{\"name\":\"ports\",\"type\":\"tuple[]\",\"components\":[{\"name\":\"host\",\"type\":\"uint16\"},"
	                           "{\"name\":\"proto\",\"type\":\"uint8\"}]}]}", 0, &je);
	t = abi_type_from_json(param, err, sizeof err);
	ok(t && abi_type_name(t, name, sizeof name) == 0 && strcmp(name, "(string,(uint16,uint8)[])") == 0,
	   "tuple type from a JSON ABI: %s", name);
	json_t *arg = json_loads("{\"name\":\"web\",\"ports\":[{\"host\":80,\"proto\":1}]}", 0, &je);
	struct abi_value *v = abi_value_from_param(param, t, arg, err, sizeof err);
	json_t *back = v ? abi_value_to_param(param, t, v) : NULL;
	ok(back && json_equal(back, arg), "named tuple round trip");
	json_decref(back);
	abi_value_free(v);
	json_object_del(arg, "ports");
	ok(abi_value_from_param(param, t, arg, err, sizeof err) == NULL, "missing field refused: %s", err);
	json_decref(arg);
	json_decref(param);
	abi_type_free(t);

	/* Events: an indexed address from the topics, a string from the data. */
	{
		json_t *eabi = json_loads("[{\"type\":\"event\",\"name\":\"E\",\"inputs\":["
		                          "{\"name\":\"who\",\"type\":\"address\",\"indexed\":true},"
		                          "{\"name\":\"key\",\"type\":\"string\",\"indexed\":true},"
		                          "{\"name\":\"what\",\"type\":\"string\",\"indexed\":false}]}]", 0, &je);
		uint8_t topics[3][32];
		struct eth_buf d;
		const char *ename;
		json_t *fields;
		abi_item_hash(json_array_get(eabi, 0), topics[0]);
		eth_keccak256("E(address,string,string)", 24, topics[2]);
		ok(memcmp(topics[0], topics[2], 32) == 0, "event topic is keccak of the signature");
		memset(topics[1], 0, 32);
		topics[1][31] = 0x42;
		memset(topics[2], 0xee, 32);
		eth_buf_init(&d);
		t = abi_type_parse("(string)", err, sizeof err);
		v = abi_tuple(1, abi_str("hello"));
		abi_encode(t, v, &d, err, sizeof err);
		ok(abi_log_decode(eabi, (const uint8_t (*)[32])topics, 3, d.p, d.len, &ename, &fields, err,
		                  sizeof err) == 0 && strcmp(ename, "E") == 0, "log decodes: %s", err);
		char *fs = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
		is_str(fs, "{\"key\":\"0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\","
		           "\"what\":\"hello\",\"who\":\"0x0000000000000000000000000000000000000042\"}",
		       "fields from topics and data");
		free(fs);
		json_decref(fields);
		ok(abi_log_decode(eabi, (const uint8_t (*)[32])topics, 2, d.p, d.len, &ename, &fields, err,
		                  sizeof err) < 0, "missing topic refused: %s", err);
		topics[0][0] ^= 1;
		ok(abi_log_decode(eabi, (const uint8_t (*)[32])topics, 3, d.p, d.len, &ename, &fields, err,
		                  sizeof err) < 0, "unknown event refused: %s", err);
		abi_value_free(v);
		abi_type_free(t);
		eth_buf_free(&d);
		json_decref(eabi);
	}

	/* Aliased offsets: 64 + 64 items all pointing at one 1024-byte string (a spec the
	 * contract takes as called) decode, whatever the input's size. */
	{
		struct eth_buf al;
		struct abi_value *av = NULL;
		uint8_t w[32] = {0};
		char aerr[128] = "";
		struct abi_type *at = abi_type_parse("(string[],string[])", aerr, sizeof aerr);
		size_t arr = 64, head = 32 + 64 * 32; /* one array: length word, 64 offsets */
		eth_buf_init(&al);
		for (int k = 0; k < 2; k++) { /* the two arrays' offsets, then both arrays */
			w[30] = (uint8_t)((64 + k * head) >> 8), w[31] = (uint8_t)(64 + k * head);
			eth_buf_put(&al, w, 32);
		}
		for (int k = 0; k < 2; k++) {
			memset(w, 0, 32);
			w[31] = (uint8_t)arr;
			eth_buf_put(&al, w, 32);
			size_t str = 64 + 2 * head - (64 + k * head) - 32; /* the string, from this array's items */
			for (size_t i = 0; i < arr; i++) {
				w[30] = (uint8_t)(str >> 8), w[31] = (uint8_t)str;
				eth_buf_put(&al, w, 32);
			}
		}
		memset(w, 0, 32);
		w[30] = 4; /* 1024 */
		eth_buf_put(&al, w, 32);
		eth_buf_put_zeros(&al, 1024);
		ok(at && abi_decode(at, al.p, al.len, &av, aerr, sizeof aerr) == 0 && av->items[1]->n == 64 &&
		   av->items[1]->items[63]->len == 1024,
		   "%zu bytes with aliased offsets decode to 128 KiB of strings %s", al.len, aerr);
		abi_value_free(av);
		abi_type_free(at);
		eth_buf_free(&al);
	}

	/* Revert reasons. */
	char out[256];
	struct eth_buf rb;
	eth_buf_init(&rb);
	eth_hex_decode_buf("0x08c379a0000000000000000000000000000000000000000000000000000000000000002000000000"
	                   "00000000000000000000000000000000000000000000000000000004626f6f6d000000000000000000"
	                   "00000000000000000000000000000000000000000000", &rb);
	is_str(abi_revert_reason(rb.p, rb.len, NULL, out, sizeof out), "boom", "Error(string)");
	eth_hex_decode_buf("0x4e487b710000000000000000000000000000000000000000000000000000000000000011", &rb);
	is_str(abi_revert_reason(rb.p, rb.len, NULL, out, sizeof out),
	       "panic 0x11 (arithmetic overflow or underflow)", "Panic(uint256)");
	json_t *abi = json_loads("[{\"type\":\"error\",\"name\":\"NotAdmin\",\"inputs\":[{\"name\":\"caller\",\"type\":\"address\"}]},"
	                         "{\"type\":\"error\",\"name\":\"StringTooLong\",\"inputs\":[{\"name\":\"f\",\"type\":\"string\"},{\"name\":\"m\",\"type\":\"uint256\"}]}]", 0, &je);
	eth_hex_decode_buf("0x17a842420000000000000000000000009965507d1a55bcc2695c58ba16fb37d819b0a4dc", &rb);
	is_str(abi_revert_reason(rb.p, rb.len, abi, out, sizeof out),
	       "NotAdmin(0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc)", "custom error by selector");
	is_str(abi_revert_reason(rb.p, rb.len, NULL, out, sizeof out),
	       "reverted with unknown error 0x17a84242", "unknown custom error without an ABI");
	is_str(abi_revert_reason(rb.p, 0, abi, out, sizeof out), "reverted without a reason", "empty revert");
	is_str(abi_revert_reason(rb.p, 10, abi, out, sizeof out), "NotAdmin()", "truncated custom error args");
	json_decref(abi);
	eth_buf_free(&rb);
	return done_testing();
}
