/* eth_header.h: a block header's hash recomputed from the fields an RPC answer gives. */
#ifndef CANTEEN_ETH_HEADER_H
#define CANTEEN_ETH_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * The keccak of the RLP of a block's header, from the fields of an eth_getBlockBy* answer:
 * the fifteen of every block (parentHash ... nonce), then those later forks appended, in
 * their order, as far as the answer has them (baseFeePerGas, withdrawalsRoot, blobGasUsed,
 * excessBlobGas, parentBeaconBlockRoot, requestsHash). 0 with out; -1 with why when a
 * field is missing, malformed, or a later one is there without an earlier one: a header
 * of a layout this code does not know, which proves nothing either way.
 */
int eth_header_hash(const json_t *block, uint8_t out[32], char *why, size_t len);

/*
 * Whether the answer's "hash" is the hash of its header: 1 it is, 0 it is not (why says
 * both), -1 it cannot be told (why says which field).
 */
int eth_header_check(const json_t *block, char *why, size_t len);

#endif
