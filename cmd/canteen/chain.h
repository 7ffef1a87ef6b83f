/* chain.h: what the canteen CLI's chain commands (contract, node, service, events) share. */
#ifndef CANTEEN_CHAIN_H
#define CANTEEN_CHAIN_H

#include <jansson.h>

#include "cli.h"
#include "cmd.h"
#include "eth_chain.h"
#include "eth_key.h"
#include "eth_rpc.h"
#include "rec.h"

/* The embedded artifacts (chain_artifacts.c). */
const char *chain_abi_json(void);
const char *chain_bin_hex(void);

#define CHAIN_NEED_CONTRACT 1
#define CHAIN_NEED_KEY 2

/* The contract interface this CLI speaks (Canteen.sol's version()). */
#define CHAIN_CONTRACT_VERSION 6

struct chain {
	struct cli *cli;
	uint64_t chain_id; /* checked against the endpoint */
	struct eth_rpc *rpc;
	json_t *abi;
	uint8_t contract[ETH_ADDR_LEN];
	struct eth_key *key;
};

/* Connects what needs says and checks the endpoint before anything is done: its chain
 * id against chain_id (required with CHAIN_NEED_CONTRACT; without, 0 takes the node's),
 * and with CHAIN_NEED_CONTRACT that the address holds code speaking
 * CHAIN_CONTRACT_VERSION. On failure prints the error and returns CLI_FAIL/CLI_USAGE
 * (chain_close is still safe). */
int chain_open(struct chain *c, struct cli *cli, int needs);
void chain_close(struct chain *c);

/* Call a view function: args is a JSON array (stolen; tuples as objects keyed by field
 * name); *out is the array of outputs (tuples as objects). block NULL = latest. */
int chain_view(struct chain *c, const char *fn, json_t *args, const char *block, json_t **out);
/* Send a transaction calling fn; prints errors (revert reason by name, gas spent, the
 * transaction hash). Succeeds only when the receipt carries the event fn emits, from the
 * contract. */
int chain_send(struct chain *c, const char *fn, json_t *args, struct eth_receipt *rc);
/* chain_send, except that a revert with the contract's error named error (before the send
 * or mined) is not printed: CHAIN_REVERTED, for a caller that retries. */
#define CHAIN_REVERTED 3
int chain_send_unless(struct chain *c, const char *fn, json_t *args, const char *error,
                      struct eth_receipt *rc);
/* chain_open (contract and key), chain_send, chain_close: one transaction. args stolen. */
int chain_transact(struct cli *cli, const char *fn, json_t *args, struct eth_receipt *rc);
/* Print an RPC failure as one sentence; returns CLI_FAIL. */
int chain_fail(struct chain *c, const char *what, const struct eth_rpc_err *e);
/* Print a failed eth_transact (before sending, or mined and failed, naming the gas spent
 * and the transaction); returns CLI_FAIL. */
int chain_tx_fail(struct chain *c, const char *what, const struct eth_rpc_err *e,
                  const struct eth_receipt *rc);
/* The transact options from the configuration (chain id, fee caps, --gas-limit). */
void chain_send_opts(const struct chain *c, struct eth_send_opts *o);

/* Records per getNodes call (names per serviceStates call) at first; halved while the
 * node refuses a page (out of gas, too large an answer). */
#define CHAIN_PAGE 200

/* Every record of the paged getter "getNodes" at one block, as NODE objects
 * (rec_decode_page); *out owned. */
int chain_list(struct chain *c, const char *fn, json_t **out);

/* ---- services, from the contract's logs (chain_fold.c, rec_fold.h) ---- */
/* Blocks per eth_getLogs at most; halved while the endpoint refuses a range. */
#define CHAIN_LOG_RANGE 10000
/* chain_service_read: a change of the service waits in the pool, its spec in no log yet. */
#define CHAIN_PENDING 4
/* Every service at the latest block as SERVICE objects (*out owned): the logs from
 * deployBlock folded, checked against serviceCount and serviceStates at that block. */
int chain_services(struct chain *c, json_t **out);
/* The service's ServiceSpec (the contract's field names) with "generation", as of the
 * pending block (*spec owned): its logs (by nameHash) folded and checked at the latest
 * block, and a scale waiting in the pool applied; CHAIN_PENDING when an update waits. */
int chain_service_read(struct chain *c, const char *name, json_t **spec);
/* The same for the spec before it: the one of the ServiceUpserted before the last (or before
 * the update waiting in the pool), with the current replicas and generation; CLI_FAIL
 * (printed) when the service was never updated since it was last deployed. */
int chain_service_read_prev(struct chain *c, const char *name, json_t **spec);
/* The service's generation at the pending block; CLI_FAIL (printed) when there is none. */
int chain_service_generation(struct chain *c, const char *name, json_int_t *gen);
/* Wait up to ms for a new block: CLI_OK, or CLI_FAIL when none came. */
int chain_wait_block(struct chain *c, uint64_t ms);

/* The block, gas and transaction hash of a receipt into out. */
void chain_done_fill(struct chain_done *out, const struct eth_receipt *rc);

/* Print one JSON object as a line. */
void chain_print_json(json_t *j);
/* Millicores as "4" or "250m". */
void chain_fmt_cpu(json_int_t millis, char *out, size_t outlen);

#endif
