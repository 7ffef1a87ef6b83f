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

/* The logs of a receipt the caller may look for: who emitted it and its first topic. */
#define ETH_RECEIPT_MAX_LOGS 16
struct eth_log_id {
	uint8_t address[ETH_ADDR_LEN];
	int has_topic0;
	uint8_t topic0[32];
};

/* What eth_transact learned. tx_hash is set once a transaction was signed (even when
 * it then failed); block is 0 until it is mined. */
struct eth_receipt {
	int status; /* 1 success, 0 reverted */
	uint64_t block;
	uint64_t gas_used;
	uint64_t gas_limit; /* what the transaction offered */
	int has_tx;         /* tx_hash is set */
	int has_contract;
	uint8_t contract[ETH_ADDR_LEN];
	uint8_t tx_hash[32];
	size_t nlogs;       /* all of them; the first ETH_RECEIPT_MAX_LOGS in logs */
	struct eth_log_id logs[ETH_RECEIPT_MAX_LOGS];
};

/* Did address emit a log with topic0 in rc? */
int eth_receipt_has_log(const struct eth_receipt *rc, const uint8_t address[ETH_ADDR_LEN],
                        const uint8_t topic0[32]);
/* Has the node seen the transaction (pending or mined)? 1 yes, 0 no, -1 with e. */
int eth_tx_known(struct eth_rpc *r, const uint8_t hash[32], struct eth_rpc_err *e);
/* eth_getCode at "latest" into out. */
int eth_get_code(struct eth_rpc *r, const uint8_t addr[ETH_ADDR_LEN], struct eth_buf *out,
                 struct eth_rpc_err *e);

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

/* Tries of eth_transact when its own transaction is not in (nonce taken by another). */
#define ETH_SEND_TRIES 5

struct eth_send_opts {
	uint64_t chain_id;     /* 0: ask the node */
	uint64_t gas_limit;    /* 0: estimate, plus a margin */
	int legacy;            /* force a legacy EIP-155 transaction */
	uint64_t timeout_ms;   /* receipt wait; 0: 60 s */
	uint64_t max_fee;      /* wei per gas the sender pays at most; 0: no cap */
	uint64_t max_priority_fee; /* wei per gas of tip at most; 0: no cap */
};

/*
 * Sign and send a call (to) or a creation (to NULL) from key, wait for the receipt.
 * Fees above the caps are refused (naming max_fee_gwei / max_priority_fee_gwei).
 * A send whose answer was lost or doubtful is settled by looking the transaction up by
 * its hash; when the nonce was taken by another sender, it is signed again with a fresh
 * nonce (ETH_SEND_TRIES in all). A revert at estimation returns -1 with e->has_revert
 * and rc->block 0; a transaction mined but failed returns -1 with rc filled (block,
 * status 0, gas_used, gas_limit): out of gas when gas_used reached gas_limit (e says
 * so, no revert), else with the revert data when the replay with eth_call gives it.
 */
int eth_transact(struct eth_rpc *r, const struct eth_key *key, const uint8_t *to,
                 const uint8_t *data, size_t len, const struct eth_send_opts *o,
                 struct eth_receipt *rc, struct eth_rpc_err *e);

#endif
