/* test_eth_tx.c: signed transaction bytes (as cast makes them), recovery, tampering, addresses. */
#include <string.h>

#include "eth_key.h"
#include "eth_tx.h"
#include "tap.h"

#define DEV0 "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

int main(void)
{
	char err[256], out[1024], a[43];
	uint8_t hash[32], from[20], to[20];
	struct eth_buf raw;
	struct eth_tx tx, back;
	uint8_t data[4] = {0xde, 0xad, 0xbe, 0xef};
	eth_buf_init(&raw);
	struct eth_key *k = eth_key_from_hex(DEV0, err, sizeof err);
	ok(k != NULL, "dev key 0 parses");
	if (!k)
		return done_testing();
	is_str(k->address_hex, "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "address of dev key 0");

	eth_addr_parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", to);
	memset(&tx, 0, sizeof tx);
	tx.type = ETH_TX_1559;
	tx.chain_id = 31337;
	tx.nonce = 3;
	tx.gas_limit = 50000;
	tx.max_fee = 2000000000;
	tx.max_priority_fee = 1000000000;
	tx.has_to = 1;
	memcpy(tx.to, to, 20);
	tx.data = data;
	tx.data_len = 4;
	ok(eth_tx_sign(&tx, k->secret, &raw, hash, err, sizeof err) == 0, "type 2 signs");
	eth_hex_encode(raw.p, raw.len, out, sizeof out);
	/* cast mktx --private-key DEV0 --chain 31337 --nonce 3 --gas-limit 50000
	 *   --gas-price 2000000000 --priority-gas-price 1000000000 0x7099... 0xdeadbeef */
	is_str(out, "0x02f870827a6903843b9aca00847735940082c3509470997970c51812dc3a010c7d01b50e0d17dc79c88084deadbeefc001a070924dcbe79243d3b19ee0a4d4044970e30d4ecee9a45809b7c680afcc173ee6a05e83ab20c780e29f89bc4fc2ecf2316d14db29cb25e7ec3a2a3a1cc3add55c0e",
	       "type 2 bytes equal cast mktx");
	uint8_t h2[32];
	ok(eth_tx_decode(raw.p, raw.len, &back, from, h2, err, sizeof err) == 0, "type 2 decodes");
	ok(memcmp(from, k->address, 20) == 0, "sender recovers to the signer");
	ok(memcmp(h2, hash, 32) == 0 && back.nonce == 3 && back.chain_id == 31337 && back.data_len == 4 &&
	       back.max_fee == 2000000000, "fields and hash survive");

	/* Tampering: a changed byte gives another sender or no sender at all. */
	raw.p[10] ^= 1;
	int r = eth_tx_decode(raw.p, raw.len, &back, from, h2, err, sizeof err);
	ok(r < 0 || memcmp(from, k->address, 20) != 0, "a flipped bit changes the recovered sender");
	raw.p[10] ^= 1;
	ok(eth_tx_decode(raw.p, raw.len - 1, &back, from, h2, err, sizeof err) < 0, "truncated refused: %s", err);

	/* Legacy, EIP-155. */
	tx.type = ETH_TX_LEGACY;
	tx.gas_price = 2000000000;
	eth_u256_from_u64(5, tx.value);
	ok(eth_tx_sign(&tx, k->secret, &raw, hash, err, sizeof err) == 0, "legacy signs");
	eth_hex_encode(raw.p, raw.len, out, sizeof out);
	is_str(out, "0xf86903847735940082c3509470997970c51812dc3a010c7d01b50e0d17dc79c80584deadbeef82f4f5a0748c8abd8e387a2e962ab813971879a71c7fe6224624ad5ec15ba0f4a6462afaa06dca3135a1b895e50af8c519df416cda7c52b851e90d834411c98df82e76a2c7",
	       "legacy bytes equal cast mktx --legacy");
	ok(eth_tx_decode(raw.p, raw.len, &back, from, h2, err, sizeof err) == 0 &&
	       memcmp(from, k->address, 20) == 0 && back.chain_id == 31337, "legacy decodes, chain id from v");

	/* Contract creation: empty "to". */
	tx.type = ETH_TX_1559;
	tx.has_to = 0;
	ok(eth_tx_sign(&tx, k->secret, &raw, hash, err, sizeof err) == 0 &&
	       eth_tx_decode(raw.p, raw.len, &back, from, h2, err, sizeof err) == 0 && !back.has_to,
	   "creation transaction round trip");

	/* Raw signatures and recovery. */
	uint8_t sig[65], msg[32] = {1, 2, 3};
	ok(eth_sign_hash(k->secret, msg, sig) == 0 && eth_recover(msg, sig, from) == 0 &&
	       memcmp(from, k->address, 20) == 0, "sign and recover a hash");
	sig[64] = 7;
	ok(eth_recover(msg, sig, from) < 0, "bad recovery id refused");
	sig[64] = 0;
	memset(sig + 32, 0xff, 32);
	ok(eth_recover(msg, sig, from) < 0, "high-s / invalid s refused");

	uint8_t zero[32] = {0};
	ok(eth_key_to_address(zero, from) < 0, "the zero key is not a key");

	ok(eth_addr_parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", from) == 0, "EIP-55 checksummed address");
	ok(eth_addr_parse("0x70997970c51812dc3A010C7d01b50e0d17dc79C8", from) < 0, "bad EIP-55 checksum refused");
	ok(eth_addr_parse("0x70997970c51812dc3a010c7d01b50e0d17dc79c8", from) == 0, "all lower case accepted");
	ok(eth_addr_parse("0x70997970C51812DC3A010C7D01B50E0D17DC79C8", from) == 0, "all upper case accepted");
	ok(eth_addr_parse("0x70997970c51812dc3a010c7d01b50e0d17dc79c", from) < 0, "39 digits refused");
	ok(eth_addr_parse("70997970c51812dc3a010c7d01b50e0d17dc79c8", from) < 0, "no 0x refused");

	eth_create_address(k->address, 0, from);
	eth_addr_format(from, a);
	is_str(a, "0x5fbdb2315678afecb367f032d93f642f64180aa3", "first contract of dev account 0");

	eth_key_free(k);
	eth_buf_free(&raw);
	return done_testing();
}
