/* chain_fold.c: the CLI reads services from the contract's logs, checked against its storage (rec_fold.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "chain.h"
#include "eth_abi.h"
#include "eth_keccak.h"
#include "rec_fold.h"

/* deployBlock() of the contract. */
static int deploy_block(struct chain *c, const char *tag, uint64_t *out)
{
	json_t *res = NULL;
	int rc = chain_view(c, "deployBlock", json_array(), tag, &res);
	if (rc == CLI_OK) {
		json_int_t v = json_integer_value(json_array_get(res, 0));
		if (!json_is_integer(json_array_get(res, 0)) || v < 0) {
			cli_err("deployBlock answered something that is not a block number");
			rc = CLI_FAIL;
		}
		*out = (uint64_t)v;
	}
	json_decref(res);
	return rc;
}

/* Logs of the service events (of one name when key is set) in [from, to] into f; for each
 * ServiceUpserted of key, its spec bytes into last_spec (and what last_spec held into
 * prev_spec, when given; a ServiceRemoved empties both). Ranges of at most
 * CHAIN_LOG_RANGE blocks, halved when the endpoint refuses one, grown back after. */
static int fold_logs(struct chain *c, struct rec_fold *f, uint64_t from, uint64_t to,
                     const uint8_t *key, struct eth_buf *last_spec, struct eth_buf *prev_spec)
{
	uint8_t topics[REC_FOLD_NEVENTS][32];
	char t[REC_FOLD_NEVENTS][67], k[67], a[43], q1[24], q2[24], err[256];
	uint64_t range = CHAIN_LOG_RANGE;
	rec_fold_topics(topics);
	for (int i = 0; i < REC_FOLD_NEVENTS; i++)
		eth_hex_encode(topics[i], 32, t[i], sizeof t[i]);
	if (key)
		eth_hex_encode(key, 32, k, sizeof k);
	eth_addr_format(c->contract, a);
	while (from <= to) {
		struct eth_rpc_err e;
		json_t *res = NULL;
		uint64_t end = to - from + 1 > range ? from + range - 1 : to;
		eth_qty_format(from, q1, sizeof q1);
		eth_qty_format(end, q2, sizeof q2);
		json_t *p = key ? json_pack("[{s:s, s:s, s:s, s:[[s,s,s],s]}]", "fromBlock", q1, "toBlock", q2,
		                            "address", a, "topics", t[0], t[1], t[2], k)
		                : json_pack("[{s:s, s:s, s:s, s:[[s,s,s]]}]", "fromBlock", q1, "toBlock", q2,
		                            "address", a, "topics", t[0], t[1], t[2]);
		if (eth_rpc_call(c->rpc, "eth_getLogs", p, &res, &e) < 0) {
			if (e.kind != ETH_RPC_TRANSPORT && e.kind != ETH_RPC_QUORUM && end > from) {
				range = (end - from + 1) / 2;
				continue;
			}
			return chain_fail(c, "eth_getLogs", &e);
		}
		size_t i;
		json_t *lg;
		int bad = !json_is_array(res);
		json_array_foreach(res, i, lg) {
			uint8_t tp[4][32];
			struct eth_buf data;
			struct rec_fold_change ch;
			const json_t *jt = json_object_get(lg, "topics");
			size_t nt = json_array_size(jt);
			eth_buf_init(&data);
			bad = nt == 0 || nt > 4 || json_is_true(json_object_get(lg, "removed")) ||
			      eth_hex_decode_buf(json_string_value(json_object_get(lg, "data")), &data) < 0;
			for (size_t j = 0; !bad && j < nt; j++)
				bad = eth_hex_decode_exact(json_string_value(json_array_get(jt, j)), tp[j], 32) < 0;
			if (!bad && rec_fold_decode(f, (const uint8_t(*)[32])tp, nt, data.p, data.len, &ch, err,
			                            sizeof err) < 0) {
				cli_err("warning: ignoring a log: %s", err);
			} else if (!bad) {
				if (ch.kind == REC_FOLD_REMOVE && last_spec && prev_spec) {
					eth_buf_reset(last_spec);
					eth_buf_reset(prev_spec);
				}
				if (ch.kind == REC_FOLD_UPSERT && last_spec) {
					if (prev_spec) {
						eth_buf_reset(prev_spec);
						if (last_spec->len)
							eth_buf_put(prev_spec, last_spec->p, last_spec->len);
					}
					/* The spec bytes are data's second value: offset, length, bytes. */
					eth_buf_reset(last_spec);
					uint64_t len = 0;
					if (data.len >= 96 && eth_u256_to_u64(data.p + 64, &len) == 0 && len <= data.len - 96)
						eth_buf_put(last_spec, data.p + 96, (size_t)len);
				}
				bad = rec_fold_apply(f, &ch) < 0;
				rec_fold_change_free(&ch);
			}
			eth_buf_free(&data);
			if (bad)
				break;
		}
		json_decref(res);
		if (bad) {
			cli_err("eth_getLogs answered a malformed log (is %s the canteen contract?)",
			        c->cli->conf.contract);
			return CLI_FAIL;
		}
		from = end + 1;
		range = range * 2 > CHAIN_LOG_RANGE ? CHAIN_LOG_RANGE : range * 2;
	}
	return CLI_OK;
}

/* serviceStates of names at tag equals the fold; pages halve when refused. */
static int check_states(struct chain *c, const struct rec_fold *f, const json_t *names, const char *tag)
{
	size_t total = json_array_size(names), page = CHAIN_PAGE;
	char err[512];
	for (size_t off = 0; off < total;) {
		struct eth_buf cd, ret;
		struct eth_rpc_err e;
		size_t n = total - off < page ? total - off : page;
		eth_buf_init(&cd);
		eth_buf_init(&ret);
		int rc = rec_fold_states_call(names, off, n, &cd, err, sizeof err) < 0 ? -1
		       : eth_call(c->rpc, NULL, c->contract, cd.p, cd.len, tag, &ret, &e) < 0 ? -2
		       : rec_fold_states_check(f, names, off, n, ret.p, ret.len, err, sizeof err) < 0 ? -1 : 0;
		eth_buf_free(&cd);
		eth_buf_free(&ret);
		if (rc == -2 && (e.kind == ETH_RPC_TOO_LARGE || (e.kind == ETH_RPC_ERROR && !e.has_revert)) &&
		    page > 1) {
			page /= 2;
			continue;
		}
		if (rc == -2)
			return chain_fail(c, "serviceStates", &e);
		if (rc < 0) {
			cli_err("the services in the logs differ from the contract's at block %s: %s", tag, err);
			return CLI_FAIL;
		}
		off += n;
	}
	return CLI_OK;
}

int chain_services(struct chain *c, json_t **out)
{
	struct rec_fold f;
	struct eth_rpc_err e;
	uint64_t block, from;
	char tag[24];
	json_t *res = NULL, *names = NULL;
	*out = NULL;
	if (rec_fold_init(&f) < 0)
		return CLI_FAIL;
	/* One block for the logs and the check, so the list is one consistent state. */
	int rc = eth_block_number(c->rpc, &block, &e) < 0 ? chain_fail(c, "eth_blockNumber", &e) : CLI_OK;
	if (rc == CLI_OK) {
		eth_qty_format(block, tag, sizeof tag);
		rc = deploy_block(c, tag, &from);
	}
	if (rc == CLI_OK)
		rc = fold_logs(c, &f, from, block, NULL, NULL, NULL);
	if (rc == CLI_OK)
		rc = chain_view(c, "serviceCount", json_array(), tag, &res);
	if (rc == CLI_OK && json_integer_value(json_array_get(res, 0)) != (json_int_t)json_object_size(f.meta)) {
		cli_err("the services in the logs differ from the contract's at block %s: the chain holds "
		        "%lld, the logs give %zu", tag, (long long)json_integer_value(json_array_get(res, 0)),
		        json_object_size(f.meta));
		rc = CLI_FAIL;
	}
	if (rc == CLI_OK && !(names = rec_fold_names(&f)))
		rc = CLI_FAIL;
	if (rc == CLI_OK)
		rc = check_states(c, &f, names, tag);
	if (rc == CLI_OK) {
		const char *k;
		json_t *v;
		*out = json_array();
		json_object_foreach(f.services, k, v) json_array_append(*out, v);
		if (json_object_size(f.services) < json_object_size(f.meta))
			cli_err("warning: left out %zu service record(s) that break the rules",
			        json_object_size(f.meta) - json_object_size(f.services));
	}
	json_decref(res);
	json_decref(names);
	rec_fold_free(&f);
	return rc;
}

/* serviceState(name) at tag: exists, generation, replicas, spec hash (hex of 20 bytes). */
static int service_state(struct chain *c, const char *name, const char *tag, int *exists,
                         json_int_t *gen, json_int_t *replicas, char hash[43])
{
	json_t *res = NULL;
	int rc = chain_view(c, "serviceState", json_pack("[s]", name), tag, &res);
	if (rc == CLI_OK) {
		json_t *s = json_array_get(res, 0);
		const char *h = json_string_value(json_object_get(s, "specHash"));
		*exists = json_is_true(json_object_get(s, "exists"));
		*gen = json_integer_value(json_object_get(s, "generation"));
		*replicas = json_integer_value(json_object_get(s, "replicas"));
		if (!h || strlen(h) != 2 * REC_FOLD_HASH_LEN + 2) {
			cli_err("serviceState answered a record this CLI does not understand");
			rc = CLI_FAIL;
		} else {
			memcpy(hash, h, 43);
		}
	}
	json_decref(res);
	return rc;
}

int chain_service_generation(struct chain *c, const char *name, json_int_t *gen)
{
	int exists;
	json_int_t reps;
	char hash[43];
	/* The pending block: changes already sent count. */
	int rc = service_state(c, name, "pending", &exists, gen, &reps, hash);
	if (rc == CLI_OK && !exists) {
		cli_err("there is no service %s", name);
		rc = CLI_FAIL;
	}
	return rc;
}

/* The spec bytes (the ServiceSpec tuple) as the contract's JSON (field names). */
static json_t *spec_json(struct chain *c, const struct eth_buf *spec)
{
	char err[256];
	struct abi_value *v = NULL;
	const json_t *fn = abi_find(c->abi, "function", "addService");
	const json_t *param = json_array_get(json_object_get(fn, "inputs"), 0);
	struct abi_type *t = param ? abi_type_from_json(param, err, sizeof err) : NULL;
	json_t *o = NULL;
	if (t && abi_decode(t, spec->p, spec->len, &v, err, sizeof err) == 0)
		o = abi_value_to_param(param, t, v);
	abi_value_free(v);
	abi_type_free(t);
	return o;
}

/* The spec bytes of a transaction waiting in the pool (the pending block, where the
 * endpoint shows it) that set the spec whose hash is want ("0x" + 40 hex): an addService
 * or updateService to our contract, whose spec runs from its offset to the end of the
 * input, as the contract hashes it. 0 and the bytes in out, or -1 when none is seen. */
static int pending_spec(struct chain *c, const char *want, struct eth_buf *out)
{
	struct eth_rpc_err e;
	json_t *blk = NULL, *tx;
	char a[43], sel_add[11], sel_upd[11];
	size_t i;
	int found = -1;
	eth_addr_format(c->contract, a);
	rec_fold_selector("addService(" REC_SPEC_ABI ")", sel_add);
	rec_fold_selector("updateService(" REC_SPEC_ABI ",uint64)", sel_upd);
	if (eth_rpc_call(c->rpc, "eth_getBlockByNumber", json_pack("[s,b]", "pending", 1), &blk, &e) < 0)
		return -1;
	json_array_foreach(json_object_get(blk, "transactions"), i, tx) {
		const char *to = json_string_value(json_object_get(tx, "to"));
		const char *in = json_string_value(json_object_get(tx, "input"));
		struct eth_buf b;
		uint8_t h[32];
		uint64_t off;
		char hex[2 * REC_FOLD_HASH_LEN + 3];
		if (!to || !in || strcasecmp(to, a) != 0 || strlen(in) < 10 ||
		    (strncasecmp(in, sel_add, 10) != 0 && strncasecmp(in, sel_upd, 10) != 0))
			continue;
		eth_buf_init(&b);
		if (eth_hex_decode_buf(in, &b) == 0 && b.len >= 36 && eth_u256_to_u64(b.p + 4, &off) == 0 &&
		    off <= b.len - 4) {
			eth_keccak256(b.p + 4 + off, b.len - 4 - (size_t)off, h);
			eth_hex_encode(h, REC_FOLD_HASH_LEN, hex, sizeof hex);
			if (strcasecmp(hex, want) == 0) {
				eth_buf_reset(out);
				eth_buf_put(out, b.p + 4 + off, b.len - 4 - (size_t)off);
				found = out->err ? -1 : 0;
			}
		}
		eth_buf_free(&b);
	}
	json_decref(blk);
	return found;
}

/* chain_service_read, or with prev set chain_service_read_prev. */
static int service_read(struct chain *c, const char *name, int prev, json_t **spec)
{
	struct rec_fold f;
	struct eth_rpc_err e;
	struct eth_buf last, before;
	uint64_t block, from;
	uint8_t key[32];
	char tag[24], hash[43], phash[43];
	int exists, pexists;
	json_int_t gen, reps, pgen, preps;
	*spec = NULL;
	eth_keccak256(name, strlen(name), key);
	eth_buf_init(&last);
	eth_buf_init(&before);
	if (rec_fold_init(&f) < 0)
		return CLI_FAIL;
	int rc = eth_block_number(c->rpc, &block, &e) < 0 ? chain_fail(c, "eth_blockNumber", &e) : CLI_OK;
	if (rc == CLI_OK) {
		eth_qty_format(block, tag, sizeof tag);
		rc = deploy_block(c, tag, &from);
	}
	if (rc == CLI_OK)
		rc = service_state(c, name, tag, &exists, &gen, &reps, hash);
	if (rc == CLI_OK && !exists) {
		cli_err("there is no service %s", name);
		rc = CLI_FAIL;
	}
	if (rc == CLI_OK)
		rc = fold_logs(c, &f, from, block, key, &last, &before);
	if (rc == CLI_OK) {
		json_t *names = json_pack("[s]", name);
		rc = check_states(c, &f, names, tag);
		json_decref(names);
	}
	if (rc == CLI_OK)
		rc = service_state(c, name, "pending", &pexists, &pgen, &preps, phash);
	/* An update waits in the pool: its spec is in no log yet, but in the transaction
	 * (checked by the hash the pending state holds); else wait for it to be mined. */
	if (rc == CLI_OK && pexists && pgen != gen && strcasecmp(phash, hash) != 0) {
		struct eth_buf pend;
		eth_buf_init(&pend);
		if (pending_spec(c, phash, &pend) < 0) {
			rc = CHAIN_PENDING;
		} else {
			eth_buf_reset(&before);
			if (last.len)
				eth_buf_put(&before, last.p, last.len);
			eth_buf_reset(&last);
			eth_buf_put(&last, pend.p, pend.len);
		}
		eth_buf_free(&pend);
	}
	if (rc == CLI_OK && !pexists) {
		cli_err("there is no service %s (a removal waits in the pool)", name);
		rc = CLI_FAIL;
	}
	if (rc == CLI_OK && prev && before.len == 0) {
		cli_err("service %s has no previous spec to roll back to (not updated since it was deployed)",
		        name);
		rc = CLI_FAIL;
	}
	if (rc == CLI_OK && !(*spec = spec_json(c, prev ? &before : &last))) {
		cli_err("the spec of service %s in the logs does not decode", name);
		rc = CLI_FAIL;
	}
	if (rc == CLI_OK) {
		/* A scale (mined, or waiting in the pool) changes only the replicas. */
		json_object_set_new(*spec, "replicas", json_integer(preps));
		json_object_set_new(*spec, "generation", json_integer(pgen));
	}
	eth_buf_free(&last);
	eth_buf_free(&before);
	rec_fold_free(&f);
	return rc;
}

int chain_service_read(struct chain *c, const char *name, json_t **spec)
{
	return service_read(c, name, 0, spec);
}

int chain_service_read_prev(struct chain *c, const char *name, json_t **spec)
{
	return service_read(c, name, 1, spec);
}

int chain_wait_block(struct chain *c, uint64_t ms)
{
	struct eth_rpc_err e;
	uint64_t first, now;
	if (eth_block_number(c->rpc, &first, &e) < 0)
		return chain_fail(c, "eth_blockNumber", &e);
	for (uint64_t waited = 0; waited < ms; waited += 200) {
		struct timespec ts = {0, 200 * 1000000L};
		nanosleep(&ts, NULL);
		if (eth_block_number(c->rpc, &now, &e) < 0)
			return chain_fail(c, "eth_blockNumber", &e);
		if (now > first)
			return CLI_OK;
	}
	return CLI_FAIL;
}
