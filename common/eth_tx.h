/* eth_tx.h: Ethereum transactions (EIP-1559 type 2, legacy EIP-155), signing, recovery. */
#ifndef CANTEEN_ETH_TX_H
#define CANTEEN_ETH_TX_H

#include <stddef.h>
#include <stdint.h>

#include "eth_util.h"

#define ETH_TX_LEGACY 0
#define ETH_TX_1559 2

/* data is borrowed; for a contract creation set has_to = 0 and data = init code. */
struct eth_tx {
	int type;
	uint64_t chain_id;
	uint64_t nonce;
	uint64_t gas_limit;
	uint64_t gas_price;        /* legacy */
	uint64_t max_priority_fee; /* type 2, wei per gas */
	uint64_t max_fee;          /* type 2, wei per gas */
	int has_to;
	uint8_t to[ETH_ADDR_LEN];
	uint8_t value[32];         /* big-endian wei */
	const uint8_t *data;
	size_t data_len;
};

/*
 * Sign tx with a 32-byte secret key: raw receives the bytes for eth_sendRawTransaction
 * (replacing its contents), hash the transaction hash. Signatures are deterministic
 * (RFC 6979) and low-s, so the bytes equal what other conforming signers produce.
 */
int eth_tx_sign(const struct eth_tx *tx, const uint8_t key[32], struct eth_buf *raw,
                uint8_t hash[32], char *err, size_t errlen);

/*
 * Parse signed raw bytes (type 2 or legacy with EIP-155), recover the sender. tx->data
 * points into raw. Strict: anything malformed, or a signature that does not recover,
 * is an error.
 */
int eth_tx_decode(const uint8_t *raw, size_t len, struct eth_tx *tx, uint8_t from[ETH_ADDR_LEN],
                  uint8_t hash[32], char *err, size_t errlen);

/* Address of a secret key (keccak of the uncompressed public key, last 20 bytes). */
int eth_key_to_address(const uint8_t key[32], uint8_t addr[ETH_ADDR_LEN]);
/* Recoverable signature of a 32-byte hash: sig = r || s || recid (0 or 1). */
int eth_sign_hash(const uint8_t key[32], const uint8_t hash[32], uint8_t sig[65]);
/* Address that produced sig over hash; -1 if it does not recover. */
int eth_recover(const uint8_t hash[32], const uint8_t sig[65], uint8_t addr[ETH_ADDR_LEN]);
/* Address of a contract created by sender with nonce (keccak(rlp([sender, nonce]))). */
void eth_create_address(const uint8_t sender[ETH_ADDR_LEN], uint64_t nonce,
                        uint8_t out[ETH_ADDR_LEN]);

#endif
