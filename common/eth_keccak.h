/* eth_keccak.h: Keccak-256 as Ethereum uses it (original padding 0x01, not SHA3's 0x06). */
#ifndef CANTEEN_ETH_KECCAK_H
#define CANTEEN_ETH_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define ETH_KECCAK_RATE 136 /* bytes: 1600 - 2 * 256 bits */

/* Incremental hashing; the struct lives wherever the caller wants it. */
struct eth_keccak {
	uint64_t st[25];
	size_t pos; /* bytes absorbed into the current block */
};

void eth_keccak_init(struct eth_keccak *k);
void eth_keccak_update(struct eth_keccak *k, const void *data, size_t len);
/* Writes 32 bytes and wipes the state. */
void eth_keccak_final(struct eth_keccak *k, uint8_t out[32]);

/* One-shot. */
void eth_keccak256(const void *data, size_t len, uint8_t out[32]);
/* First four bytes of keccak256(signature), e.g. "transfer(address,uint256)". */
void eth_selector(const char *signature, uint8_t out[4]);

#endif
