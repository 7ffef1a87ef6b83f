/* eth_chain.c: the blocking transaction flow on top of eth_rpc: fees, nonce, sign, send, wait. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "eth_chain.h"
#include "eth_keccak.h"
#include "eth_tx.h"

static int qty_result(struct eth_rpc *r, const char *method, json_t *params, uint64_t *out,
                      struct eth_rpc_err *e)
{
	json_t *res;
	if (eth_rpc_call(r, method, params, &res, e) < 0)
		return -1;
	int rc = eth_qty_parse(json_string_value(res), out);
	json_decref(res);
	if (rc < 0)
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "%s answered something that is not a quantity",
		                    method);
	return 0;
}

int eth_chain_id(struct eth_rpc *r, uint64_t *id, struct eth_rpc_err *e)
{
	return qty_result(r, "eth_chainId", NULL, id, e);
}

int eth_block_number(struct eth_rpc *r, uint64_t *n, struct eth_rpc_err *e)
{
	return qty_result(r, "eth_blockNumber", NULL, n, e);
}

int eth_get_nonce(struct eth_rpc *r, const uint8_t addr[ETH_ADDR_LEN], uint64_t *nonce,
                  struct eth_rpc_err *e)
{
	char a[43];
	eth_addr_format(addr, a);
	return qty_result(r, "eth_getTransactionCount", json_pack("[s,s]", a, "pending"), nonce, e);
}

/* Median of the rewards eth_feeHistory reports, 0 if none. */
static uint64_t history_reward(json_t *hist)
{
	uint64_t v[16];
	size_t n = 0, i;
	json_t *row;
	json_array_foreach(json_object_get(hist, "reward"), i, row) {
		if (n < 16 && eth_qty_parse(json_string_value(json_array_get(row, 0)), &v[n]) == 0)
			n++;
	}
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && v[b - 1] > v[b]; b--) {
			uint64_t t = v[b];
			v[b] = v[b - 1];
			v[b - 1] = t;
		}
	return n ? v[n / 2] : 0;
}

int eth_get_fees(struct eth_rpc *r, struct eth_fees *f, struct eth_rpc_err *e)
{
	const char *methods[4] = {"eth_getBlockByNumber", "eth_maxPriorityFeePerGas", "eth_feeHistory",
	                          "eth_gasPrice"};
	json_t *params[4] = {json_pack("[s,b]", "latest", 0), NULL, json_pack("[i,s,[i]]", 4, "latest", 50),
	                     NULL};
	json_t *res[4];
	struct eth_rpc_err errs[4];
	memset(f, 0, sizeof *f);
	if (eth_rpc_batch(r, 4, methods, params, res, errs, e) < 0)
		return -1;
	int rc = -1;
	const char *base = json_string_value(json_object_get(res[0], "baseFeePerGas"));
	if (!res[0]) {
		*e = errs[0];
		goto done;
	}
	if (base && eth_qty_parse(base, &f->base_fee) == 0) {
		f->eip1559 = 1;
		/* The next block's base fee, when the node tells it. */
		json_t *bases = json_object_get(res[2], "baseFeePerGas");
		uint64_t next;
		if (json_array_size(bases) &&
		    eth_qty_parse(json_string_value(json_array_get(bases, json_array_size(bases) - 1)),
		                  &next) == 0)
			f->base_fee = next;
		if (!res[1] || eth_qty_parse(json_string_value(res[1]), &f->max_priority_fee) < 0)
			f->max_priority_fee = history_reward(res[2]);
		if (f->max_priority_fee == 0)
			f->max_priority_fee = 1000000000; /* 1 gwei when the node has no opinion */
		if (f->base_fee > (UINT64_MAX - f->max_priority_fee) / 2)
			goto bad;
		f->max_fee = 2 * f->base_fee + f->max_priority_fee;
	} else {
		if (!res[3]) {
			*e = errs[3];
			goto done;
		}
		if (eth_qty_parse(json_string_value(res[3]), &f->gas_price) < 0)
			goto bad;
	}
	rc = 0;
	goto done;
bad:
	eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "the node reported unusable fees");
done:
	for (int i = 0; i < 4; i++)
		json_decref(res[i]);
	return rc;
}

/* {"from":..,"to":..,"data":..} for eth_call / eth_estimateGas. */
static json_t *call_object(const uint8_t *from, const uint8_t *to, const uint8_t *data, size_t len)
{
	char a[43];
	json_t *o = json_object();
	char *hex = eth_hex_alloc(data, len);
	if (!o || !hex)
		goto fail;
	if (from) {
		eth_addr_format(from, a);
		json_object_set_new(o, "from", json_string(a));
	}
	if (to) {
		eth_addr_format(to, a);
		json_object_set_new(o, "to", json_string(a));
	}
	json_object_set_new(o, "data", json_string(hex));
	free(hex);
	return o;
fail:
	free(hex);
	json_decref(o);
	return NULL;
}

int eth_estimate_gas(struct eth_rpc *r, const uint8_t *from, const uint8_t *to, const uint8_t *data,
                     size_t len, uint64_t *gas, struct eth_rpc_err *e)
{
	json_t *o = call_object(from, to, data, len);
	if (!o)
		return eth_rpc_errf(e, ETH_RPC_TRANSPORT, "out of memory");
	return qty_result(r, "eth_estimateGas", json_pack("[o]", o), gas, e);
}

int eth_call(struct eth_rpc *r, const uint8_t *from, const uint8_t *to, const uint8_t *data,
             size_t len, const char *block, struct eth_buf *out, struct eth_rpc_err *e)
{
	json_t *o = call_object(from, to, data, len), *res;
	if (!o)
		return eth_rpc_errf(e, ETH_RPC_TRANSPORT, "out of memory");
	if (eth_rpc_call(r, "eth_call", json_pack("[o,s]", o, block ? block : "latest"), &res, e) < 0)
		return -1;
	int rc = eth_hex_decode_buf(json_string_value(res), out);
	json_decref(res);
	if (rc < 0)
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "eth_call answered something that is not hex data");
	return 0;
}

/* Send raw to endpoint i. */
static int send_one(struct eth_rpc *r, size_t i, const uint8_t *raw, size_t len, const char *hex,
                    uint8_t hash[32], struct eth_rpc_err *e)
{
	json_t *res;
	if (eth_rpc_call_at(r, i, "eth_sendRawTransaction", json_pack("[s]", hex), &res, e) < 0) {
		/* A retry after a lost answer finds our own transaction already in the pool. */
		if (e->kind == ETH_RPC_ERROR && (strcasestr(e->msg, "already known") ||
		                                 strcasestr(e->msg, "already imported") ||
		                                 strcasestr(e->msg, "known transaction"))) {
			eth_keccak256(raw, len, hash);
			return 0;
		}
		return -1;
	}
	int rc = eth_hex_decode_exact(json_string_value(res), hash, 32);
	json_decref(res);
	if (rc < 0)
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "eth_sendRawTransaction answered no hash");
	return 0;
}

int eth_send_raw(struct eth_rpc *r, const uint8_t *raw, size_t len, uint8_t hash[32],
                 struct eth_rpc_err *e)
{
	char *hex = eth_hex_alloc(raw, len);
	struct eth_rpc_err other;
	int sent = 0;
	if (!hex)
		return eth_rpc_errf(e, ETH_RPC_TRANSPORT, "out of memory");
	/* To every endpoint: one that drops it (or is down) does not keep it out. The
	 * first endpoint's error is the one told when none took it. */
	for (size_t i = 0; i < eth_rpc_endpoints(r); i++) {
		uint8_t h[32];
		if (send_one(r, i, raw, len, hex, h, sent || i ? &other : e) == 0 && !sent++)
			memcpy(hash, h, 32);
	}
	free(hex);
	return sent ? 0 : -1;
}

static int parse_receipt(json_t *j, struct eth_receipt *rc)
{
	uint64_t status;
	const char *ca = json_string_value(json_object_get(j, "contractAddress"));
	if (eth_qty_parse(json_string_value(json_object_get(j, "status")), &status) < 0 || status > 1 ||
	    eth_qty_parse(json_string_value(json_object_get(j, "blockNumber")), &rc->block) < 0 ||
	    eth_qty_parse(json_string_value(json_object_get(j, "gasUsed")), &rc->gas_used) < 0)
		return -1;
	rc->status = (int)status;
	rc->has_contract = ca && eth_addr_parse(ca, rc->contract) == 0;
	rc->nlogs = json_array_size(json_object_get(j, "logs"));
	size_t i;
	json_t *lg;
	json_array_foreach(json_object_get(j, "logs"), i, lg) {
		if (i == ETH_RECEIPT_MAX_LOGS)
			break;
		struct eth_log_id *l = &rc->logs[i];
		const char *t0 = json_string_value(json_array_get(json_object_get(lg, "topics"), 0));
		if (eth_addr_parse(json_string_value(json_object_get(lg, "address")), l->address) < 0)
			return -1;
		l->has_topic0 = t0 && eth_hex_decode_exact(t0, l->topic0, 32) == 0;
	}
	return 0;
}

int eth_receipt_has_log(const struct eth_receipt *rc, const uint8_t address[ETH_ADDR_LEN],
                        const uint8_t topic0[32])
{
	for (size_t i = 0; i < rc->nlogs && i < ETH_RECEIPT_MAX_LOGS; i++)
		if (rc->logs[i].has_topic0 && memcmp(rc->logs[i].address, address, ETH_ADDR_LEN) == 0 &&
		    memcmp(rc->logs[i].topic0, topic0, 32) == 0)
			return 1;
	return 0;
}

/* Has endpoint i seen the transaction? 1, 0, or -1 with e. */
static int tx_known_at(struct eth_rpc *r, size_t i, const char *h, struct eth_rpc_err *e)
{
	json_t *res;
	if (eth_rpc_call_at(r, i, "eth_getTransactionByHash", json_pack("[s]", h), &res, e) < 0)
		return -1;
	int known = json_is_object(res);
	const char *got = json_string_value(json_object_get(res, "hash"));
	if (known && (!got || strcasecmp(got, h) != 0))
		known = -1;
	json_decref(res);
	if (known < 0)
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "eth_getTransactionByHash answered another transaction");
	return known;
}

int eth_tx_known(struct eth_rpc *r, const uint8_t hash[32], struct eth_rpc_err *e)
{
	char h[67];
	struct eth_rpc_err other;
	int unsure = 0;
	eth_hex_encode(hash, 32, h, sizeof h);
	/* Known to any endpoint is in; unknown only when every one answered so. */
	for (size_t i = 0; i < eth_rpc_endpoints(r); i++) {
		int k = tx_known_at(r, i, h, unsure ? &other : e);
		if (k == 1)
			return 1;
		unsure |= k < 0;
	}
	return unsure ? -1 : 0;
}

int eth_get_code(struct eth_rpc *r, const uint8_t addr[ETH_ADDR_LEN], struct eth_buf *out,
                 struct eth_rpc_err *e)
{
	char a[43];
	json_t *res;
	eth_addr_format(addr, a);
	if (eth_rpc_call(r, "eth_getCode", json_pack("[s,s]", a, "latest"), &res, e) < 0)
		return -1;
	int rc = eth_hex_decode_buf(json_string_value(res), out);
	json_decref(res);
	if (rc < 0)
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "eth_getCode answered something that is not hex data");
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The receipt of h from endpoint i: 1 found (rc filled), 0 not yet, -1 with e. */
static int receipt_at(struct eth_rpc *r, size_t i, const char *h, struct eth_receipt *rc,
                      struct eth_rpc_err *e)
{
	json_t *res = NULL;
	if (eth_rpc_call_at(r, i, "eth_getTransactionReceipt", json_pack("[s]", h), &res, e) < 0)
		return -1;
	if (json_is_null(res)) {
		json_decref(res);
		return 0;
	}
	const char *th = json_string_value(json_object_get(res, "transactionHash"));
	int bad = parse_receipt(res, rc) < 0 || (th && strcasecmp(th, h) != 0);
	json_decref(res);
	if (bad)
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "malformed receipt for %s", h);
	return 1;
}

int eth_wait_receipt(struct eth_rpc *r, const uint8_t hash[32], uint64_t timeout_ms,
                     struct eth_receipt *rc, struct eth_rpc_err *e)
{
	char h[67];
	uint64_t deadline = now_ms() + timeout_ms, delay = 50;
	eth_hex_encode(hash, 32, h, sizeof h);
	memset(rc, 0, sizeof *rc);
	memcpy(rc->tx_hash, hash, 32);
	for (;;) {
		/* From any endpoint: the first that has it. The transaction is out: an endpoint
		 * briefly away is waited for, not reported as a failure of the transaction; one
		 * that answers wrongly fails the wait when no other one has the receipt. */
		int answered = 0, bad = 0;
		struct eth_rpc_err one, bad_e;
		for (size_t i = 0; i < eth_rpc_endpoints(r); i++) {
			int got = receipt_at(r, i, h, rc, &one);
			if (got == 1)
				return 0;
			memset(rc, 0, sizeof *rc);
			memcpy(rc->tx_hash, hash, 32);
			if (got == 0)
				answered = 1;
			else if (one.kind != ETH_RPC_TRANSPORT && !bad++)
				bad_e = one;
			else if (i == 0)
				*e = one;
		}
		if (bad && !answered) {
			*e = bad_e;
			return -1;
		}
		uint64_t now = now_ms();
		if (now >= deadline) {
			if (answered)
				return eth_rpc_errf(e, ETH_RPC_TRANSPORT, "transaction %s not mined within %llu ms", h,
				                    (unsigned long long)timeout_ms);
			return -1; /* e: why the first endpoint could not be asked */
		}
		if (delay > deadline - now)
			delay = deadline - now;
		struct timespec ts = {(time_t)(delay / 1000), (long)(delay % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		if (delay < 1000)
			delay *= 2;
	}
}

/* Refuse fees above the caps; lower max_fee to its cap when the base fee leaves room. */
static int fees_capped(struct eth_fees *f, const struct eth_send_opts *o, struct eth_rpc_err *e)
{
	uint64_t cap = o ? o->max_fee : 0, tip = o ? o->max_priority_fee : 0;
	const uint64_t gwei = 1000000000;
	if (!f->eip1559) {
		if (cap && f->gas_price > cap)
			return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER,
			                    "the node asks a gas price of %llu gwei, above max_fee_gwei = %llu: refused",
			                    (unsigned long long)(f->gas_price / gwei), (unsigned long long)(cap / gwei));
		return 0;
	}
	if (tip && f->max_priority_fee > tip)
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER,
		                    "the node asks a priority fee of %llu gwei, above max_priority_fee_gwei = %llu: refused",
		                    (unsigned long long)(f->max_priority_fee / gwei), (unsigned long long)(tip / gwei));
	if (cap && (f->base_fee > cap || f->max_priority_fee > cap - f->base_fee))
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER,
		                    "the node asks a fee of %llu gwei per gas (base %llu + priority %llu), above "
		                    "max_fee_gwei = %llu: refused",
		                    (unsigned long long)((f->base_fee + f->max_priority_fee) / gwei),
		                    (unsigned long long)(f->base_fee / gwei),
		                    (unsigned long long)(f->max_priority_fee / gwei), (unsigned long long)(cap / gwei));
	if (cap && f->max_fee > cap)
		f->max_fee = cap;
	return 0;
}

/* Is this error the node saying our nonce was taken? */
static int nonce_taken(const struct eth_rpc_err *e)
{
	return e->kind == ETH_RPC_ERROR &&
	       (strcasestr(e->msg, "nonce too low") || strcasestr(e->msg, "underpriced") ||
	        strcasestr(e->msg, "already known") || strcasestr(e->msg, "nonce has already been used"));
}

/*
 * Sign tx with a fresh nonce and send it until ours is in: 0 with hash set, or -1 with e.
 * A lost or refused send is settled by looking the hash up; a nonce another sender took
 * is the only reason to sign again.
 */
static int send_until_in(struct eth_rpc *r, const struct eth_key *key, struct eth_tx *tx,
                         struct eth_receipt *rc, struct eth_rpc_err *e)
{
	struct eth_buf raw;
	char err[256], h[67];
	int ret = -1;
	uint64_t next = 0; /* past the nonces found taken */
	eth_buf_init(&raw);
	for (int tries = 0; tries < ETH_SEND_TRIES; tries++) {
		struct eth_rpc_err se, le;
		if (eth_get_nonce(r, key->address, &tx->nonce, e) < 0)
			break;
		/* A lagging node may offer a nonce already taken again. */
		if (tx->nonce < next)
			tx->nonce = next;
		if (eth_tx_sign(tx, key->secret, &raw, rc->tx_hash, err, sizeof err) < 0) {
			eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "%s", err);
			break;
		}
		rc->has_tx = 1;
		eth_hex_encode(rc->tx_hash, 32, h, sizeof h);
		if (eth_send_raw(r, raw.p, raw.len, rc->tx_hash, &se) == 0) {
			ret = 0;
			break;
		}
		/* The answer may be lost although the transaction is in: ask. */
		int known = eth_tx_known(r, rc->tx_hash, &le);
		if (known == 1) {
			ret = 0;
			break;
		}
		if (known == 0 && nonce_taken(&se)) {
			next = tx->nonce + 1; /* another sender took the nonce: sign again */
			continue;
		}
		if (known < 0)
			eth_rpc_errf(e, se.kind, "%s; whether transaction %s is in is unknown (%s)", se.msg, h,
			             le.msg);
		else
			eth_rpc_errf(e, se.kind, "%s; transaction %s is not in", se.msg, h);
		break;
	}
	if (ret < 0 && e->kind == ETH_RPC_OK)
		eth_rpc_errf(e, ETH_RPC_ERROR, "the nonce was taken by another sender %d times in a row",
		             ETH_SEND_TRIES);
	eth_buf_free(&raw);
	return ret;
}

int eth_transact(struct eth_rpc *r, const struct eth_key *key, const uint8_t *to,
                 const uint8_t *data, size_t len, const struct eth_send_opts *o,
                 struct eth_receipt *rc, struct eth_rpc_err *e)
{
	struct eth_tx tx;
	struct eth_fees fees;
	char h[67];
	memset(&tx, 0, sizeof tx);
	memset(rc, 0, sizeof *rc);
	e->kind = ETH_RPC_OK;
	e->has_revert = 0;
	tx.chain_id = o ? o->chain_id : 0;
	if (!tx.chain_id && eth_chain_id(r, &tx.chain_id, e) < 0)
		return -1;
	if (eth_get_fees(r, &fees, e) < 0 || fees_capped(&fees, o, e) < 0)
		return -1;
	tx.gas_limit = o ? o->gas_limit : 0;
	if (!tx.gas_limit) {
		if (eth_estimate_gas(r, key->address, to, data, len, &tx.gas_limit, e) < 0)
			return -1;
		tx.gas_limit += tx.gas_limit / 5 + 10000; /* the estimate is a lower bound */
	}
	tx.type = fees.eip1559 && !(o && o->legacy) ? ETH_TX_1559 : ETH_TX_LEGACY;
	tx.max_priority_fee = fees.max_priority_fee;
	tx.max_fee = fees.max_fee;
	tx.gas_price = fees.eip1559 ? fees.max_fee : fees.gas_price;
	tx.has_to = to != NULL;
	if (to)
		memcpy(tx.to, to, ETH_ADDR_LEN);
	tx.data = data;
	tx.data_len = len;
	e->kind = ETH_RPC_OK;
	if (send_until_in(r, key, &tx, rc, e) < 0)
		return -1;
	uint8_t hash[32];
	memcpy(hash, rc->tx_hash, 32);
	eth_hex_encode(hash, 32, h, sizeof h);
	if (eth_wait_receipt(r, hash, o && o->timeout_ms ? o->timeout_ms : 60000, rc, e) < 0) {
		if (!strstr(e->msg, h)) {
			char why[sizeof e->msg];
			memcpy(why, e->msg, sizeof why);
			eth_rpc_errf(e, e->kind, "%.300s; transaction %s was sent, its receipt is unknown", why, h);
		}
		rc->has_tx = 1;
		memcpy(rc->tx_hash, hash, 32);
		rc->block = 0;
		return -1;
	}
	rc->has_tx = 1;
	rc->gas_limit = tx.gas_limit;
	if (rc->status == 1)
		return 0;
	if (rc->gas_used >= tx.gas_limit)
		return eth_rpc_errf(e, ETH_RPC_ERROR, "ran out of gas: used %llu of %llu",
		                    (unsigned long long)rc->gas_used, (unsigned long long)tx.gas_limit);
	/* Replay the call in the block that reverted it to learn why. */
	char blk[24];
	struct eth_buf out;
	eth_buf_init(&out);
	eth_qty_format(rc->block, blk, sizeof blk);
	int why = to && eth_call(r, key->address, to, data, len, blk, &out, e) < 0 && e->has_revert;
	eth_buf_free(&out);
	if (!why) {
		eth_rpc_errf(e, ETH_RPC_ERROR, "reverted on chain, gas spent: %llu",
		             (unsigned long long)rc->gas_used);
		e->has_revert = 1; /* with no data: "reverted without a reason" */
	}
	return -1;
}
