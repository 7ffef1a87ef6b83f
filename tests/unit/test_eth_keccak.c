/* test_eth_keccak.c: Keccak-256 known answers (Ethereum padding), block edges, selectors. */
#include <string.h>

#include "eth_keccak.h"
#include "eth_util.h"
#include "tap.h"

static const char *hash_hex(const void *p, size_t n)
{
	static char out[80];
	uint8_t h[32];
	eth_keccak256(p, n, h);
	eth_hex_encode(h, 32, out, sizeof out);
	return out;
}

int main(void)
{
	uint8_t buf[1000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i % 251);

	is_str(hash_hex("", 0), "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
	       "keccak256 of the empty string (not SHA3-256's a7ffc6f8...)");
	is_str(hash_hex("abc", 3), "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45",
	       "keccak256(abc)");
	const char *fox = "The quick brown fox jumps over the lazy dog";
	is_str(hash_hex(fox, strlen(fox)),
	       "0x4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15", "keccak256(fox)");
	/* Around the 136-byte rate: padding in the same block, a full block, the next one. */
	static const struct { size_t n; const char *h; } edges[] = {
		{135, "0xcbdfd9dee5faad3818d6b06f95a219fd290b0e1706f6a82e5a595b9ce9faca62"},
		{136, "0x7ce759f1ab7f9ce437719970c26b0a66ff11fe3e38e17df89cf5d29c7d7f807e"},
		{137, "0xac73d4fae68b8453f764007c1a20ce95994187861f0c3227a3a8e99a73a3b1db"},
		{272, "0x8e2476e65823b24d96ebe239f2c1534cdf763e689e2410c3b1cb0c74e6177bfc"},
		{1000, "0xaf692982e84a5a9688359025660a7857cd28ee7c8d867cfa1677baf2e6d1f63b"},
	};
	for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
		is_str(hash_hex(buf, edges[i].n), edges[i].h, "keccak256 of %zu bytes", edges[i].n);

	/* Incremental hashing in odd pieces equals one-shot. */
	uint8_t a[32], b[32];
	struct eth_keccak k;
	eth_keccak_init(&k);
	for (size_t off = 0, step = 1; off < sizeof buf; off += step, step = step * 3 % 97 + 1)
		eth_keccak_update(&k, buf + off, off + step > sizeof buf ? sizeof buf - off : step);
	eth_keccak_final(&k, a);
	eth_keccak256(buf, sizeof buf, b);
	ok(memcmp(a, b, 32) == 0, "incremental updates equal the one-shot hash");

	uint8_t sel[4];
	eth_selector("transfer(address,uint256)", sel);
	ok(memcmp(sel, "\xa9\x05\x9c\xbb", 4) == 0, "selector of transfer(address,uint256) is a9059cbb");
	eth_selector("Error(string)", sel);
	ok(memcmp(sel, "\x08\xc3\x79\xa0", 4) == 0, "selector of Error(string) is 08c379a0");
	return done_testing();
}
