/* follow.c: the follower: snapshot at a block, then logs in adaptive ranges, reorgs, RPC outages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chainwatch.h"
#include "errf.h"
#include "eth_abi.h"
#include "eth_keccak.h"
#include "log.h"
#include "rec.h"

static void round_start(struct loop *l, void *arg);
static void snap_page(struct chainwatch *cw);
static void follow_begin(struct chainwatch *cw);

/* ---- scheduling and failures ---- */

static void schedule(struct chainwatch *cw, uint64_t ms)
{
	loop_timer_cancel(cw->loop, cw->timer);
	cw->timer = loop_timer_add(cw->loop, ms, round_start, cw);
	if (!cw->timer)
		fatalx("out of memory");
}

static void round_done(struct chainwatch *cw, uint64_t next_ms)
{
	cw->busy = 0;
	schedule(cw, next_ms);
}

/* The node answered: leave the outage, if we were in one. */
static void rpc_ok(struct chainwatch *cw)
{
	if (!cw->rpc_down)
		return;
	cw->rpc_down = 0;
	cw->retry_ms = cw->poll_ms;
	log_info("rpc: %s answers again; catching up from block %llu", "node",
	         (unsigned long long)cw->st.block);
	if (cw->down_published)
		cw_publish(cw, json_pack("{s:s}", "type", "rpc.up"));
	cw->down_published = 0;
}

/* A round failed: publish rpc.down once per outage (never an empty state: the last good
 * state stays), then retry with back-off. Before the first snapshot there is nothing to
 * keep and the snapshot must be the first line of --stdout: the outage is only logged. */
static void round_fail(struct chainwatch *cw, const char *what, const struct eth_rpc_err *e)
{
	char msg[640];
	snprintf(msg, sizeof msg, "%s: %s", what, e ? e->msg : "malformed answer");
	cw->rpc_errors++;
	if (e && (e->kind == ETH_RPC_TRANSPORT || e->kind == ETH_RPC_HTTP || e->kind == ETH_RPC_QUORUM)) {
		if (!cw->rpc_down) {
			cw->rpc_down = 1;
			log_warnx("rpc down: %s (%s)", msg, cw->st.valid ? "keeping the last state" : "no state yet");
			if (cw->st.valid) {
				cw_publish(cw, json_pack("{s:s, s:s}", "type", "rpc.down", "error", msg));
				cw->down_published = 1;
			}
		}
	} else {
		rpc_ok(cw);
		log_warnx("%s", msg);
	}
	uint64_t cap = cw->poll_ms > 5000 ? cw->poll_ms : 5000;
	uint64_t wait = cw->retry_ms;
	cw->retry_ms = cw->retry_ms * 2 > cap ? cap : cw->retry_ms * 2;
	round_done(cw, wait);
}

/* Start one call; a failure to even start counts as a failed round. */
static void call(struct chainwatch *cw, const char *method, json_t *params, eth_arpc_cb cb)
{
	struct eth_rpc_err e;
	if (eth_arpc_call(cw->rpc, method, params, cb, cw, &e) < 0)
		round_fail(cw, method, &e);
}

static json_t *block_params(uint64_t n)
{
	char q[24];
	eth_qty_format(n, q, sizeof q);
	return json_pack("[s, b]", q, 0);
}

/* The "hash" of an eth_getBlockByNumber answer into out; -1 if none (no such block). */
static int block_hash(const json_t *res, char out[67])
{
	uint8_t h[32];
	const char *s = json_string_value(json_object_get(res, "hash"));
	if (!s || eth_hex_decode_exact(s, h, 32) < 0)
		return -1;
	eth_hex_encode(h, 32, out, 67);
	return 0;
}

/* The node's head into cw->head (for stats), head - conf into target. */
static int head_of(struct chainwatch *cw, const json_t *res, uint64_t conf, uint64_t *target)
{
	uint64_t head;
	const char *s = json_string_value(res);
	if (!s || eth_qty_parse(s, &head) < 0)
		return -1;
	cw->head = head;
	*target = head > conf ? head - conf : 0;
	return 0;
}

/* ---- snapshot: getNodes pages, then the services' logs folded and checked, at one block ---- */

static void snap_reset(struct chainwatch *cw)
{
	json_decref(cw->snap.nodes);
	json_decref(cw->snap.names);
	rec_fold_free(&cw->snap.fold);
	memset(&cw->snap, 0, sizeof cw->snap);
}

static void snap_finish(struct chainwatch *cw)
{
	int first = !cw->st.valid;
	size_t nn = json_array_size(cw->snap.nodes), ns = json_object_size(cw->snap.fold.services);
	size_t held = json_object_size(cw->snap.fold.meta);
	cw_state_replace(cw, cw->snap.nodes, &cw->snap.fold, cw->snap.block, cw->snap.hash, !first);
	cw->snap.nodes = NULL;
	cw->need_snapshot = 0;
	snap_reset(cw);
	log_info("snapshot at block %llu %s: %zu nodes, %zu services (from logs since block %llu, "
	         "checked against the contract)%s", (unsigned long long)cw->st.block, cw->st.hash, nn, ns,
	         (unsigned long long)cw->deploy_block, held != ns ? "; some records left out" : "");
	if (first) {
		cw_stdout_snapshot(cw);
		cw_release_waiting(cw);
		cw_endpoints_publish(cw);
	} else {
		cw_publish(cw, json_pack("{s:s, s:I, s:s}", "type", "head", "block",
		                         (json_int_t)cw->st.block, "hash", cw->st.hash));
	}
	round_done(cw, 0);
}

/* The snapshot is not the chain's state (or not readable as such): start over later. */
static void snap_fail(struct chainwatch *cw, const char *why)
{
	struct eth_rpc_err be = {.kind = ETH_RPC_BAD_ANSWER};
	snprintf(be.msg, sizeof be.msg, "at block %llu (is %s a Canteen contract?): %s",
	         (unsigned long long)cw->snap.block, cw->contract_hex, why);
	snap_reset(cw);
	round_fail(cw, "snapshot", &be);
}

/* eth_call of data at the snapshot's block hash (EIP-1898: a reorg mid-snapshot fails the
 * call instead of mixing two chains). */
static void snap_call(struct chainwatch *cw, const uint8_t *data, size_t len, eth_arpc_cb cb)
{
	char *hex = eth_hex_alloc(data, len);
	if (!hex)
		fatalx("out of memory");
	json_t *params = json_pack("[{s:s, s:s}, {s:s}]", "to", cw->contract_hex, "data", hex,
	                           "blockHash", cw->snap.hash);
	free(hex);
	call(cw, "eth_call", params, cb);
}

/* The return data of an eth_call answer into out; -1 if it is not hex. */
static int call_data(const json_t *res, struct eth_buf *out)
{
	const char *hex = json_string_value(res);
	return hex ? eth_hex_decode_buf(hex, out) : -1;
}

static void snap_logs(struct chainwatch *cw);
static void snap_states(struct chainwatch *cw);

static void on_snap_states(json_t *res, const struct eth_rpc_err *e, void *arg)
{
	struct chainwatch *cw = arg;
	struct eth_buf data;
	char err[512];
	uint64_t per = cw->snap.page ? cw->snap.page : CW_PAGE;
	size_t total = json_array_size(cw->snap.names);
	uint64_t n = total - cw->snap.offset < per ? total - cw->snap.offset : per;
	if (!res && (e->kind == ETH_RPC_ERROR || e->kind == ETH_RPC_TOO_LARGE) && per > 1) {
		cw->snap.page = per / 2;
		return snap_states(cw);
	}
	if (!res)
		return round_fail(cw, "serviceStates", e);
	rpc_ok(cw);
	eth_buf_init(&data);
	int bad = call_data(res, &data) < 0
	              ? errf(err, sizeof err, "serviceStates answered no hex data")
	              : rec_fold_states_check(&cw->snap.fold, cw->snap.names, cw->snap.offset, n, data.p,
	                                      data.len, err, sizeof err);
	eth_buf_free(&data);
	if (bad < 0)
		return snap_fail(cw, err);
	cw->snap.offset += n;
	snap_states(cw);
}

/* serviceStates of the fold's names, a page at a time; then the snapshot is done. */
static void snap_states(struct chainwatch *cw)
{
	struct eth_buf cd;
	char err[256];
	size_t total = json_array_size(cw->snap.names);
	uint64_t per = cw->snap.page ? cw->snap.page : CW_PAGE;
	if (cw->snap.offset >= total)
		return snap_finish(cw);
	uint64_t n = total - cw->snap.offset < per ? total - cw->snap.offset : per;
	eth_buf_init(&cd);
	if (rec_fold_states_call(cw->snap.names, cw->snap.offset, n, &cd, err, sizeof err) < 0)
		fatalx("encoding serviceStates: %s", err);
	snap_call(cw, cd.p, cd.len, on_snap_states);
	eth_buf_free(&cd);
}

static void on_snap_count(json_t *res, const struct eth_rpc_err *e, void *arg)
{
	struct chainwatch *cw = arg;
	struct eth_buf data;
	char err[256];
	if (!res)
		return round_fail(cw, "serviceCount", e);
	rpc_ok(cw);
	eth_buf_init(&data);
	int bad = call_data(res, &data) < 0
	              ? errf(err, sizeof err, "serviceCount answered no hex data")
	              : rec_fold_count_check(&cw->snap.fold, data.p, data.len, err, sizeof err);
	eth_buf_free(&data);
	if (bad < 0)
		return snap_fail(cw, err);
	if (!(cw->snap.names = rec_fold_names(&cw->snap.fold)))
		fatalx("out of memory");
	cw->snap.phase = CW_SNAP_STATES;
	cw->snap.offset = 0;
	cw->snap.page = 0;
	snap_states(cw);
}

/* Every log from the asked range, in order, not removed. */
static int snap_logs_ok(const struct chainwatch *cw, const json_t *logs)
{
	uint64_t prev_b = 0, prev_i = 0;
	size_t i;
	const json_t *lg;
	json_array_foreach(logs, i, lg) {
		uint64_t b, li;
		if (eth_qty_parse(json_string_value(json_object_get(lg, "blockNumber")), &b) < 0 ||
		    eth_qty_parse(json_string_value(json_object_get(lg, "logIndex")), &li) < 0 ||
		    json_is_true(json_object_get(lg, "removed")) || b < cw->snap.from || b > cw->snap.lto ||
		    (i > 0 && (b < prev_b || (b == prev_b && li <= prev_i))))
			return 0;
		prev_b = b;
		prev_i = li;
	}
	return 1;
}

static void on_snap_logs(json_t *res, const struct eth_rpc_err *e, void *arg)
{
	struct chainwatch *cw = arg;
	uint64_t span = cw->snap.lto - cw->snap.from + 1;
	char err[256];
	size_t i;
	const json_t *lg;
	if (!res) {
		/* Providers cap a range's blocks or results (or time out on it): a smaller range,
		 * down to one block; a refused connection is an outage. */
		int slow = e->kind == ETH_RPC_TRANSPORT &&
		           (strcasestr(e->msg, "timeout") || strcasestr(e->msg, "timed out"));
		if ((e->kind != ETH_RPC_TRANSPORT || slow) && e->kind != ETH_RPC_QUORUM && span > 1) {
			cw->snap.lrange = span / 2;
			log_info("snapshot: eth_getLogs over %llu blocks failed (%s); trying %llu",
			         (unsigned long long)span, e->msg, (unsigned long long)cw->snap.lrange);
			return snap_logs(cw);
		}
		return round_fail(cw, "eth_getLogs", e);
	}
	rpc_ok(cw);
	if (!json_is_array(res) || !snap_logs_ok(cw, res))
		return snap_fail(cw, "eth_getLogs answered logs outside the range asked, or out of order");
	json_array_foreach(res, i, lg) {
		int skip;
		json_t *ev = cw_fold_log(cw, &cw->snap.fold, lg, &skip, err, sizeof err);
		if (!ev && !skip)
			log_warnx("snapshot: ignoring a log: %s", err);
		json_decref(ev);
	}
	size_t n = json_array_size(res);
	log_debug("snapshot: %zu logs in blocks %llu-%llu", n, (unsigned long long)cw->snap.from,
	          (unsigned long long)cw->snap.lto);
	cw->snap.from = cw->snap.lto + 1;
	/* The range adapts toward CW_LOGS_TARGET logs an answer, as when following: an answer,
	 * raw and parsed, is what a snapshot's memory peaks at (6,000 logs in one took 40 MiB,
	 * bench/scale-chain). It grows back after a refusal: the cap may have been one busy
	 * moment's. */
	if (n > CW_LOGS_TARGET && span > 1)
		cw->snap.lrange = span / 2;
	else if (n < CW_LOGS_TARGET / 4 && span >= cw->snap.lrange && cw->snap.lrange < CW_SNAP_RANGE)
		cw->snap.lrange = cw->snap.lrange * 2 > CW_SNAP_RANGE ? CW_SNAP_RANGE : cw->snap.lrange * 2;
	snap_logs(cw);
}

/* The services' logs from deployBlock to the snapshot's block, a range at a time; then
 * serviceCount. */
static void snap_logs(struct chainwatch *cw)
{
	char from[24], to[24], t[REC_FOLD_NEVENTS][67];
	if (cw->snap.from > cw->snap.block) {
		char sel[11];
		uint8_t data[4];
		cw->snap.phase = CW_SNAP_COUNT;
		rec_fold_selector("serviceCount()", sel);
		eth_hex_decode_exact(sel, data, 4);
		return snap_call(cw, data, 4, on_snap_count);
	}
	uint64_t r = cw->snap.lrange ? cw->snap.lrange : CW_SNAP_RANGE;
	cw->snap.lto = cw->snap.block - cw->snap.from + 1 > r ? cw->snap.from + r - 1 : cw->snap.block;
	eth_qty_format(cw->snap.from, from, sizeof from);
	eth_qty_format(cw->snap.lto, to, sizeof to);
	for (int i = 0; i < REC_FOLD_NEVENTS; i++)
		eth_hex_encode(cw->topics[CW_NTOPICS - REC_FOLD_NEVENTS + i], 32, t[i], sizeof t[i]);
	json_t *params = json_pack("[{s:s, s:s, s:s, s:[[s,s,s]]}]", "fromBlock", from, "toBlock", to,
	                           "address", cw->contract_hex, "topics", t[0], t[1], t[2]);
	call(cw, "eth_getLogs", params, on_snap_logs);
}

static void snap_services(struct chainwatch *cw);

static void on_deploy_block(json_t *res, const struct eth_rpc_err *e, void *arg)
{
	struct chainwatch *cw = arg;
	uint8_t w[32];
	if (!res)
		return round_fail(cw, "deployBlock", e);
	rpc_ok(cw);
	const char *hex = json_string_value(res);
	if (!hex || eth_hex_decode_exact(hex, w, 32) < 0 || eth_u256_to_u64(w, &cw->deploy_block) < 0 ||
	    cw->deploy_block > cw->snap.block)
		return snap_fail(cw, "deployBlock answered no block number before the snapshot's");
	cw->has_deploy_block = 1;
	snap_services(cw);
}

/* The nodes are read: fold the services' logs (from deployBlock, read once). */
static void snap_services(struct chainwatch *cw)
{
	if (!cw->has_deploy_block) {
		char sel[11];
		uint8_t data[4];
		rec_fold_selector("deployBlock()", sel);
		eth_hex_decode_exact(sel, data, 4);
		return snap_call(cw, data, 4, on_deploy_block);
	}
	if (rec_fold_init(&cw->snap.fold) < 0)
		fatalx("out of memory");
	cw->snap.phase = CW_SNAP_LOGS;
	cw->snap.from = cw->deploy_block;
	cw->snap.lrange = CW_SNAP_RANGE_FIRST;
	snap_logs(cw);
}

static void on_snap_page(json_t *res, const struct eth_rpc_err *e, void *arg)
{
	struct chainwatch *cw = arg;
	struct eth_buf data;
	char err[256];
	size_t n = 0, skipped = 0;
	uint64_t per = cw->snap.page ? cw->snap.page : CW_PAGE;
	if (!res && (e->kind == ETH_RPC_ERROR || e->kind == ETH_RPC_TOO_LARGE) && per > 1) {
		/* Big records can make a page cost more gas than the node allows a call:
		 * fewer records per call, down to one. */
		cw->snap.page = per / 2;
		log_info("getNodes of %llu records failed (%s); trying %llu", (unsigned long long)per,
		         e->msg, (unsigned long long)cw->snap.page);
		return snap_page(cw);
	}
	if (!res)
		return round_fail(cw, "getNodes", e);
	rpc_ok(cw);
	eth_buf_init(&data);
	json_t *page = NULL;
	if (call_data(res, &data) == 0)
		page = rec_decode_page(0, data.p, data.len, &n, &skipped, err, sizeof err);
	else
		snprintf(err, sizeof err, "not hex data");
	eth_buf_free(&data);
	if (!page)
		return snap_fail(cw, err);
	if (skipped)
		log_warnx("snapshot at block %llu: left out %zu malformed node record(s): %s",
		          (unsigned long long)cw->snap.block, skipped, err);
	json_array_extend(cw->snap.nodes, page);
	json_decref(page);
	cw->snap.offset += n;
	if (n < per) {
		cw->snap.page = 0;
		return snap_services(cw);
	}
	snap_page(cw);
}

static void snap_page(struct chainwatch *cw)
{
	struct eth_buf cd;
	char err[256];
	eth_buf_init(&cd);
	uint64_t page = cw->snap.page ? cw->snap.page : CW_PAGE;
	struct abi_value *args = abi_tuple(2, abi_uint(cw->snap.offset), abi_uint(page));
	if (!args || abi_encode_call("getNodes(uint256,uint256)", args, &cd, err, sizeof err) < 0)
		fatalx("encoding a view call: %s", args ? err : "out of memory");
	abi_value_free(args);
	snap_call(cw, cd.p, cd.len, on_snap_page);
	eth_buf_free(&cd);
}

static void on_snap_block(json_t *res, const struct eth_rpc_err *e, void *arg)
{
	struct chainwatch *cw = arg;
	if (!res)
		return round_fail(cw, "eth_getBlockByNumber", e);
	rpc_ok(cw);
	if (block_hash(res, cw->snap.hash) < 0) /* reorged away meanwhile: start over */
		return round_done(cw, cw->poll_ms);
	cw->snap.nodes = json_array();
	snap_page(cw);
}

static void on_snap_head(json_t *res, const struct eth_rpc_err *e, void *arg)
{
	struct chainwatch *cw = arg;
	if (!res)
		return round_fail(cw, "eth_blockNumber", e);
	rpc_ok(cw);
	snap_reset(cw);
	if (head_of(cw, res, cw->confirmations, &cw->snap.block) < 0) {
		struct eth_rpc_err be = {.kind = ETH_RPC_BAD_ANSWER, .msg = "not a block number"};
		return round_fail(cw, "eth_blockNumber", &be);
	}
	/* --snapshot-block: the first snapshot only, and never beyond the confirmed head. */
	if (cw->has_start_block && !cw->st.valid && cw->start_block < cw->snap.block)
		cw->snap.block = cw->start_block;
	call(cw, "eth_getBlockByNumber", block_params(cw->snap.block), on_snap_block);
}

/* ---- following: logs from the block after the state's, up to head - confirmations ---- */

static void reorg(struct chainwatch *cw, const char *how)
{
	cw->reorgs++;
	log_warnx("reorg: %s (our block %llu %s); re-reading the state", how,
	          (unsigned long long)cw->st.block, cw->st.hash);
	cw->need_snapshot = 1;
	round_done(cw, 0);
}

static void apply_logs(struct chainwatch *cw, const json_t *logs)
{
	size_t i;
	const json_t *lg;
	char err[256];
	json_array_foreach(logs, i, lg) {
		int skip;
		err[0] = '\0';
		json_t *ev = cw_decode_log(cw, lg, &skip, err, sizeof err);
		if (!ev) {
			if (!skip)
				log_warnx("ignoring a log: %s", err);
			continue;
		}
		if (err[0])
			log_warnx("malformed record in a log: %s; the node is dropped", err);
		cw_state_apply(&cw->st, ev);
		cw_publish(cw, ev);
		cw->events++;
	}
}

static void on_follow_check(size_t n, json_t **res, const struct eth_rpc_err *errs,
                            const struct eth_rpc_err *e, void *arg)
{
	struct chainwatch *cw = arg;
	char h_to[67], h_last[67];
	json_t *logs = cw->pending_logs;
	cw->pending_logs = NULL;
	if (!res || n != 2 || !res[0] || !res[1]) {
		json_decref(logs);
		return round_fail(cw, "eth_getBlockByNumber", res ? (res[0] ? &errs[1] : &errs[0]) : e);
	}
	rpc_ok(cw);
	if (block_hash(res[0], h_to) < 0 || strcmp(h_to, cw->target_hash) != 0 ||
	    block_hash(res[1], h_last) < 0 || strcmp(h_last, cw->st.hash) != 0) {
		json_decref(logs);
		return reorg(cw, "the chain changed while reading logs");
	}
	apply_logs(cw, logs);
	log_debug("blocks %llu..%llu: %zu logs (range %llu)", (unsigned long long)cw->st.block + 1,
	          (unsigned long long)cw->target, json_array_size(logs), (unsigned long long)cw->range);
	json_decref(logs);
	cw->st.block = cw->target;
	memcpy(cw->st.hash, cw->target_hash, sizeof cw->st.hash);
	cw_publish(cw, json_pack("{s:s, s:I, s:s}", "type", "head", "block", (json_int_t)cw->st.block,
	                         "hash", cw->st.hash));
	round_done(cw, cw->st.block < cw->head_target ? 0 : cw->poll_ms);
}

/* Every log must be from the range, in order, not removed, and those of the range's last
 * block from the hash we read for it. */
static int logs_consistent(const struct chainwatch *cw, const json_t *logs)
{
	uint64_t prev_b = 0, prev_i = 0;
	size_t i;
	const json_t *lg;
	json_array_foreach(logs, i, lg) {
		uint64_t b, li;
		const char *bh = json_string_value(json_object_get(lg, "blockHash"));
		if (eth_qty_parse(json_string_value(json_object_get(lg, "blockNumber")), &b) < 0 ||
		    eth_qty_parse(json_string_value(json_object_get(lg, "logIndex")), &li) < 0 || !bh ||
		    json_is_true(json_object_get(lg, "removed")) || b <= cw->st.block || b > cw->target ||
		    (i > 0 && (b < prev_b || (b == prev_b && li <= prev_i))))
			return 0;
		if (b == cw->target && strcasecmp(bh, cw->target_hash) != 0)
			return 0;
		prev_b = b;
		prev_i = li;
	}
	return 1;
}

static void on_logs(json_t *res, const struct eth_rpc_err *e, void *arg)
{
	struct chainwatch *cw = arg;
	uint64_t span = cw->target - cw->st.block;
	if (!res) {
		/* Too many results, too large, too slow: a smaller range, unless already one block.
		 * A refused connection is an outage; a time-out may be the range (the next round
		 * starts with eth_blockNumber, which tells an outage apart). */
		int slow = e->kind == ETH_RPC_TRANSPORT &&
		           (strcasestr(e->msg, "timeout") || strcasestr(e->msg, "timed out"));
		if ((e->kind != ETH_RPC_TRANSPORT || slow) && e->kind != ETH_RPC_QUORUM && span > CW_RANGE_MIN) {
			cw->range = span / 2 ? span / 2 : 1;
			log_info("eth_getLogs over %llu blocks failed (%s); trying %llu",
			         (unsigned long long)span, e->msg, (unsigned long long)cw->range);
			return round_done(cw, 0);
		}
		return round_fail(cw, "eth_getLogs", e);
	}
	rpc_ok(cw);
	if (!json_is_array(res) || !logs_consistent(cw, res)) {
		if (json_is_array(res))
			return reorg(cw, "logs disagree with the block hashes");
		struct eth_rpc_err be = {.kind = ETH_RPC_BAD_ANSWER, .msg = "not an array of logs"};
		return round_fail(cw, "eth_getLogs", &be);
	}
	size_t n = json_array_size(res);
	if (n > CW_LOGS_TARGET && cw->range > CW_RANGE_MIN)
		cw->range = span / 2 ? span / 2 : 1;
	else if (n < CW_LOGS_TARGET / 4 && span >= cw->range && cw->range < CW_RANGE_MAX)
		cw->range = cw->range * 2 > CW_RANGE_MAX ? CW_RANGE_MAX : cw->range * 2;
	cw->pending_logs = json_incref(res);
	/* Read both ends again: unchanged means the logs belong to the chain we hold. */
	const char *methods[2] = {"eth_getBlockByNumber", "eth_getBlockByNumber"};
	json_t *params[2] = {block_params(cw->target), block_params(cw->st.block)};
	struct eth_rpc_err be;
	if (eth_arpc_batch(cw->rpc, 2, methods, params, on_follow_check, cw, &be) < 0) {
		json_decref(cw->pending_logs);
		cw->pending_logs = NULL;
		round_fail(cw, "eth_getBlockByNumber", &be);
	}
}

static void on_target_block(json_t *res, const struct eth_rpc_err *e, void *arg)
{
	struct chainwatch *cw = arg;
	char from[24], to[24], t[CW_NTOPICS][67];
	if (!res)
		return round_fail(cw, "eth_getBlockByNumber", e);
	rpc_ok(cw);
	if (block_hash(res, cw->target_hash) < 0)
		return reorg(cw, "the target block vanished");
	eth_qty_format(cw->st.block + 1, from, sizeof from);
	eth_qty_format(cw->target, to, sizeof to);
	for (int i = 0; i < CW_NTOPICS; i++)
		eth_hex_encode(cw->topics[i], 32, t[i], sizeof t[i]);
	json_t *params = json_pack("[{s:s, s:s, s:s, s:[[s,s,s,s,s]]}]", "fromBlock", from, "toBlock", to,
	                           "address", cw->contract_hex, "topics", t[0], t[1], t[2], t[3], t[4]);
	call(cw, "eth_getLogs", params, on_logs);
}

static void on_follow_head(size_t n, json_t **res, const struct eth_rpc_err *errs,
                           const struct eth_rpc_err *e, void *arg)
{
	struct chainwatch *cw = arg;
	char h[67];
	if (!res || n != 2 || !res[0] || !res[1])
		return round_fail(cw, "eth_blockNumber", res ? (res[0] ? &errs[1] : &errs[0]) : e);
	rpc_ok(cw);
	if (head_of(cw, res[0], cw->confirmations, &cw->head_target) < 0) {
		struct eth_rpc_err be = {.kind = ETH_RPC_BAD_ANSWER, .msg = "not a block number"};
		return round_fail(cw, "eth_blockNumber", &be);
	}
	if (block_hash(res[1], h) < 0 || strcmp(h, cw->st.hash) != 0)
		return reorg(cw, "our last block's hash changed");
	if (cw->head_target <= cw->st.block)
		return round_done(cw, cw->poll_ms);
	cw->target = cw->head_target - cw->st.block > cw->range ? cw->st.block + cw->range
	                                                        : cw->head_target;
	call(cw, "eth_getBlockByNumber", block_params(cw->target), on_target_block);
}

static void follow_begin(struct chainwatch *cw)
{
	const char *methods[2] = {"eth_blockNumber", "eth_getBlockByNumber"};
	json_t *params[2] = {json_array(), block_params(cw->st.block)};
	struct eth_rpc_err e;
	if (eth_arpc_batch(cw->rpc, 2, methods, params, on_follow_head, cw, &e) < 0)
		round_fail(cw, "eth_blockNumber", &e);
}

/* ---- start-up checks: the endpoint's chain, code at the address, its version ---- */

/* A check failed for good: the configuration names the wrong chain or contract. */
static void check_refuse(struct chainwatch *cw)
{
	cw->exit_code = EXIT_CONFIG;
	cw->busy = 0;
	loop_stop(cw->loop);
}

static void on_check(size_t n, json_t **res, const struct eth_rpc_err *errs,
                     const struct eth_rpc_err *e, void *arg)
{
	struct chainwatch *cw = arg;
	uint64_t id, ver = 0;
	uint8_t word[32];
	if (!res || n != 3 || !res[0] || !res[1])
		return round_fail(cw, "start-up check", res ? (res[0] ? &errs[1] : &errs[0]) : e);
	if (eth_qty_parse(json_string_value(res[0]), &id) < 0) {
		struct eth_rpc_err be = {.kind = ETH_RPC_BAD_ANSWER, .msg = "not a chain id"};
		return round_fail(cw, "eth_chainId", &be);
	}
	rpc_ok(cw);
	if (cw->chain_id && id != cw->chain_id) {
		log_warnx("the RPC endpoint is on chain %llu, but chain_id is %llu: refusing to follow it",
		          (unsigned long long)id, (unsigned long long)cw->chain_id);
		return check_refuse(cw);
	}
	const char *code = json_string_value(res[1]);
	if (!code || strcmp(code, "0x") == 0 || strcmp(code, "0x0") == 0) {
		/* Maybe not deployed yet, or the node is still syncing: wait, serve nothing. */
		struct eth_rpc_err be = {.kind = ETH_RPC_BAD_ANSWER};
		snprintf(be.msg, sizeof be.msg, "no contract at %s on chain %llu; waiting for one",
		         cw->contract_hex, (unsigned long long)id);
		return round_fail(cw, "start-up check", &be);
	}
	/* Version 1 had no version(): the call reverts or returns nothing. */
	if (!res[2] && errs[2].kind != ETH_RPC_ERROR)
		return round_fail(cw, "version", &errs[2]);
	const char *hex = json_string_value(res[2]);
	if (hex && eth_hex_decode_exact(hex, word, 32) == 0 && eth_u256_to_u64(word, &ver) < 0)
		ver = UINT64_MAX;
	if (ver != CW_CONTRACT_VERSION) {
		log_warnx("contract %s speaks version %llu, this canteen-chainwatch speaks %d", cw->contract_hex,
		          (unsigned long long)(ver ? ver : 1), CW_CONTRACT_VERSION);
		return check_refuse(cw);
	}
	cw->checked = 1;
	log_info("contract %s on chain %llu speaks version %llu", cw->contract_hex, (unsigned long long)id,
	         (unsigned long long)ver);
	round_done(cw, 0);
}

static void check_start(struct chainwatch *cw)
{
	uint8_t sel[32];
	char data[11];
	eth_keccak256("version()", 9, sel);
	eth_hex_encode(sel, 4, data, sizeof data);
	const char *methods[3] = {"eth_chainId", "eth_getCode", "eth_call"};
	json_t *params[3] = {json_array(), json_pack("[s,s]", cw->contract_hex, "latest"),
	                     json_pack("[{s:s, s:s}, s]", "to", cw->contract_hex, "data", data, "latest")};
	struct eth_rpc_err e;
	if (eth_arpc_batch(cw->rpc, 3, methods, params, on_check, cw, &e) < 0)
		round_fail(cw, "start-up check", &e);
}

static void round_start(struct loop *l, void *arg)
{
	struct chainwatch *cw = arg;
	(void)l;
	cw->timer = 0;
	if (cw->busy)
		return;
	cw->busy = 1;
	if (!cw->checked)
		check_start(cw);
	else if (!cw->st.valid || cw->need_snapshot)
		call(cw, "eth_blockNumber", json_array(), on_snap_head);
	else
		follow_begin(cw);
}

void cw_follow_start(struct chainwatch *cw)
{
	cw->range = 64;
	cw->retry_ms = cw->poll_ms;
	cw_event_topics(cw->topics);
	schedule(cw, 0);
}
