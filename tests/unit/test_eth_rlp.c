/* test_eth_rlp.c: RLP encoding vectors, strict decoding, non-canonical and truncated input. */
#include <string.h>

#include "eth_rlp.h"
#include "tap.h"

static const char *hex(const struct eth_buf *b)
{
	static char out[512];
	eth_hex_encode(b->p, b->len, out, sizeof out);
	return out;
}

static int decodes(const char *h)
{
	uint8_t in[256];
	struct rlp_item it;
	long n = eth_hex_decode(h, in, sizeof in);
	return n >= 0 && rlp_decode(in, (size_t)n, &it) == 0;
}

int main(void)
{
	struct eth_buf b;
	eth_buf_init(&b);

	rlp_put_bytes(&b, (const uint8_t *)"", 0);
	is_str(hex(&b), "0x80", "empty string is 0x80");
	eth_buf_reset(&b);
	rlp_put_uint(&b, 0);
	is_str(hex(&b), "0x80", "integer 0 is the empty string");
	eth_buf_reset(&b);
	rlp_put_uint(&b, 0x7f);
	is_str(hex(&b), "0x7f", "a byte below 0x80 is itself");
	eth_buf_reset(&b);
	rlp_put_uint(&b, 0x80);
	is_str(hex(&b), "0x8180", "0x80 gets a one-byte header");
	eth_buf_reset(&b);
	rlp_put_uint(&b, 1024);
	is_str(hex(&b), "0x820400", "1024");
	eth_buf_reset(&b);
	rlp_put_str(&b, "dog");
	is_str(hex(&b), "0x83646f67", "\"dog\"");
	eth_buf_reset(&b);
	/* [ [], [[]], [ [], [[]] ] ]: the set-theoretic three. */
	size_t l0 = rlp_list_begin(&b);
	size_t l1 = rlp_list_begin(&b);
	rlp_list_end(&b, l1);
	l1 = rlp_list_begin(&b);
	size_t l2 = rlp_list_begin(&b);
	rlp_list_end(&b, l2);
	rlp_list_end(&b, l1);
	l1 = rlp_list_begin(&b);
	l2 = rlp_list_begin(&b);
	rlp_list_end(&b, l2);
	l2 = rlp_list_begin(&b);
	size_t l3 = rlp_list_begin(&b);
	rlp_list_end(&b, l3);
	rlp_list_end(&b, l2);
	rlp_list_end(&b, l1);
	rlp_list_end(&b, l0);
	is_str(hex(&b), "0xc7c0c1c0c3c0c1c0", "nested empty lists");
	eth_buf_reset(&b);
	const char *lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
	rlp_put_str(&b, lorem);
	ok(b.len == 2 + strlen(lorem) && b.p[0] == 0xb8 && b.p[1] == 56, "56-byte string uses the long form");

	/* Decoding: round trip and strictness. */
	struct rlp_item it, sub;
	ok(rlp_decode(b.p, b.len, &it) == 0 && !it.is_list && it.len == 56 &&
	       memcmp(it.p, lorem, 56) == 0, "long string decodes");
	ok(rlp_decode(b.p, b.len - 1, &it) < 0, "truncated payload refused");
	ok(decodes("0xc7c0c1c0c3c0c1c0"), "nested lists decode");
	ok(!decodes("0x8100"), "0x00 wrapped as a string is non-canonical");
	ok(!decodes("0x817f"), "0x7f wrapped as a string is non-canonical");
	ok(decodes("0x8180"), "0x80 wrapped is canonical");
	ok(!decodes("0xb80100"), "long form for a 1-byte payload refused");
	ok(!decodes("0xb90000"), "length with a leading zero refused");
	ok(!decodes("0xbf0100000000000000"), "absurd length refused");
	ok(!decodes("0x8001"), "trailing bytes refused");
	ok(!decodes("0xc281"), "list whose item overruns refused");
	ok(!decodes(""), "empty input refused");

	/* Integers from items. */
	uint64_t v;
	uint8_t in[16];
	long n = eth_hex_decode("0xc4820400c0", in, sizeof in);
	size_t pos = 0;
	ok(rlp_decode(in, (size_t)n, &it) == 0 && it.is_list, "list decodes");
	ok(rlp_list_next(&it, &pos, &sub) == 1 && rlp_item_uint(&sub, &v) == 0 && v == 1024, "first item is 1024");
	ok(rlp_list_next(&it, &pos, &sub) == 1 && sub.is_list && sub.len == 0, "second item is []");
	ok(rlp_list_next(&it, &pos, &sub) == 0, "then the end");
	struct rlp_item z = {0, (const uint8_t *)"\x00\x01", 2};
	ok(rlp_item_uint(&z, &v) < 0, "integer with a leading zero refused");

	/* Deep nesting is bounded. */
	uint8_t deep[64];
	for (int i = 0; i < 40; i++)
		deep[i] = (uint8_t)(0xc0 + 39 - i);
	ok(rlp_decode(deep, 40, &it) < 0, "nesting beyond RLP_MAX_DEPTH refused");

	eth_buf_free(&b);
	return done_testing();
}
