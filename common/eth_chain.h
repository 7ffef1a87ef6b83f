/* eth_chain.h: blocking Ethereum helpers for the CLI: chain id, nonce, fees, calls, sending. */
#ifndef CANTEEN_ETH_CHAIN_H
#define CANTEEN_ETH_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "eth_key.h"
#include "eth_rpc.h"
#include "eth_util.h"

struct eth_fees {
	int eip1559;               /* the chain has a base fee */
	uint64_t base_fee;         /* next block's, when eip1559 */
	uint64_t max_priority_fee;
	uint64_t max_fee;          /* 2 * base fee + priority fee */
	uint64_t gas_price;        /* legacy chains */
};

struct eth_receipt {
	int status; /* 1 success, 0 reverted */
	uint64_t block;
	uint64_t gas_used;
	int has_contract;
	uint8_t contract[ETH_ADDR_LEN];
	uint8_t tx_hash[32];
	size_t nlogs;
};

int eth_chain_id(struct eth_rpc *r, uint64_t *id, struct eth_rpc_err *e);
int eth_block_number(struct eth_rpc *r, uint64_t *n, struct eth_rpc_err *e);
/* Pending nonce of addr. */
int eth_get_nonce(struct eth_rpc *r, const uint8_t addr[ETH_ADDR_LEN], uint64_t *nonce,
                  struct eth_rpc_err *e);
/* Base fee from the latest block and the node's priority fee suggestion (falling back
 * to eth_feeHistory); eth_gasPrice when the chain has no base fee. One batch request. */
int eth_get_fees(struct eth_rpc *r, struct eth_fees *f, struct eth_rpc_err *e);
/* to NULL: contract creation. A revert fills e->revert. */
int eth_estimate_gas(struct eth_rpc *r, const uint8_t *from, const uint8_t *to, const uint8_t *data,
                     size_t len, uint64_t *gas, struct eth_rpc_err *e);
/* eth_call at block ("latest", or a quantity "0x..."); the return data into out. */
int eth_call(struct eth_rpc *r, const uint8_t *from, const uint8_t *to, const uint8_t *data,
             size_t len, const char *block, struct eth_buf *out, struct eth_rpc_err *e);
int eth_send_raw(struct eth_rpc *r, const uint8_t *raw, size_t len, uint8_t hash[32],
                 struct eth_rpc_err *e);
/* Poll for the receipt until timeout_ms passes (then ETH_RPC_TRANSPORT "timed out"). */
int eth_wait_receipt(struct eth_rpc *r, const uint8_t hash[32], uint64_t timeout_ms,
                     struct eth_receipt *rc, struct eth_rpc_err *e);

struct eth_send_opts {
	uint64_t chain_id;     /* 0: ask the node */
	uint64_t gas_limit;    /* 0: estimate, plus a margin */
	int legacy;            /* force a legacy EIP-155 transaction */
	uint64_t timeout_ms;   /* receipt wait; 0: 60 s */
};

/*
 * Sign and send a call (to) or a creation (to NULL) from key, wait for the receipt.
 * A revert, at estimation or on chain, returns -1 with e->has_revert and the revert
 * data (a transaction that reverted on chain is replayed with eth_call to get it).
 */
int eth_transact(struct eth_rpc *r, const struct eth_key *key, const uint8_t *to,
                 const uint8_t *data, size_t len, const struct eth_send_opts *o,
                 struct eth_receipt *rc, struct eth_rpc_err *e);

#endif
