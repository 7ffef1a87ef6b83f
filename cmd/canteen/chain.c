/* chain.c: the CLI's contract access (calls, transactions, errors) and `contract deploy`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "cmd.h"
#include "eth_abi.h"
#include "eth_tx.h"

/* Every endpoint that answers is on the chain canteen.conf names (or, for a deployment
 * without one, all on one chain); one away is passed over while another answers. */
static int check_chain_id(struct chain *c, int needs)
{
	struct eth_rpc_err e, first;
	uint64_t id = 0, got;
	size_t n = eth_rpc_endpoints(c->rpc), answered = 0, seen = 0;
	uint64_t want = c->cli->conf.chain_id;
	for (size_t i = 0; i < n; i++) {
		json_t *res;
		if (eth_rpc_call_at(c->rpc, i, "eth_chainId", NULL, &res, &e) < 0) {
			if (e.kind != ETH_RPC_TRANSPORT && e.kind != ETH_RPC_HTTP)
				return chain_fail(c, "eth_chainId", &e);
			if (i == 0)
				first = e;
			continue;
		}
		int bad = eth_qty_parse(json_string_value(res), &got) < 0;
		json_decref(res);
		if (bad) {
			eth_rpc_errf(&e, ETH_RPC_BAD_ANSWER, "eth_chainId answered something that is not a quantity");
			return chain_fail(c, "eth_chainId", &e);
		}
		if (want && got != want) {
			cli_err("the RPC endpoint %s is on chain %llu, but chain_id is %llu: refusing to act",
			        eth_rpc_url_at(c->rpc, i), (unsigned long long)got, (unsigned long long)want);
			return CLI_FAIL;
		}
		if (answered++ && got != id) {
			cli_err("the RPC endpoints %s and %s are on chains %llu and %llu: refusing to act",
			        eth_rpc_url_at(c->rpc, seen), eth_rpc_url_at(c->rpc, i), (unsigned long long)id,
			        (unsigned long long)got);
			return CLI_FAIL;
		}
		if (answered == 1) {
			id = got;
			seen = i;
		}
	}
	if (!answered)
		return chain_fail(c, "eth_chainId", &first);
	if (!want && (needs & CHAIN_NEED_CONTRACT)) {
		cli_err("chain_id is not set (the RPC endpoint %s says it is on chain %llu): give "
		        "chain_id in canteen.conf, --chain-id or CANTEEN_CHAIN_ID",
		        eth_rpc_url_at(c->rpc, seen), (unsigned long long)id);
		return CLI_USAGE;
	}
	c->chain_id = id;
	return CLI_OK;
}

/* The contract address holds code, and that code speaks CHAIN_CONTRACT_VERSION. */
static int check_contract(struct chain *c)
{
	struct eth_rpc_err e;
	struct eth_buf code, data;
	json_t *out = NULL;
	char err[256], ver[80];
	const char *a = c->cli->conf.contract;
	int rc = CLI_FAIL;
	eth_buf_init(&code);
	eth_buf_init(&data);
	if (eth_get_code(c->rpc, c->contract, &code, &e) < 0) {
		rc = chain_fail(c, "eth_getCode", &e);
		goto done;
	}
	if (code.len == 0) {
		cli_err("no contract at %s on chain %llu", a, (unsigned long long)c->chain_id);
		goto done;
	}
	json_t *none = json_array();
	int bad = !none || abi_call_encode(c->abi, "version", none, &data, err, sizeof err) < 0;
	json_decref(none);
	if (bad) {
		cli_err("the embedded contract ABI has no version(): %s", none ? err : "out of memory");
		goto done;
	}
	eth_buf_reset(&code);
	/* Version 1 had no version(): the call reverts or returns nothing. */
	if (eth_call(c->rpc, NULL, c->contract, data.p, data.len, "latest", &code, &e) < 0) {
		if (e.kind != ETH_RPC_ERROR) {
			rc = chain_fail(c, "version", &e);
			goto done;
		}
		snprintf(ver, sizeof ver, "1");
	} else if (code.len == 0 ||
	           abi_call_decode(c->abi, "version", code.p, code.len, &out, err, sizeof err) < 0) {
		snprintf(ver, sizeof ver, "1");
	} else {
		json_t *v = json_array_get(out, 0);
		if (json_is_integer(v))
			snprintf(ver, sizeof ver, "%lld", (long long)json_integer_value(v));
		else
			snprintf(ver, sizeof ver, "%.60s", json_is_string(v) ? json_string_value(v) : "unknown");
	}
	char mine[24];
	snprintf(mine, sizeof mine, "%d", CHAIN_CONTRACT_VERSION);
	if (strcmp(ver, mine) != 0)
		cli_err("contract %s speaks version %s, this canteen speaks %d", a, ver, CHAIN_CONTRACT_VERSION);
	else
		rc = CLI_OK;
done:
	json_decref(out);
	eth_buf_free(&code);
	eth_buf_free(&data);
	return rc;
}

int chain_open(struct chain *c, struct cli *cli, int needs)
{
	struct eth_rpc_opts o;
	struct eth_rpc_err e;
	json_error_t je;
	char err[512];
	memset(c, 0, sizeof *c);
	c->cli = cli;
	c->abi = json_loads(chain_abi_json(), 0, &je);
	if (!json_is_array(c->abi)) {
		cli_err("the embedded contract ABI is broken: %s", je.text);
		return CLI_FAIL;
	}
	if (needs & CHAIN_NEED_CONTRACT) {
		if (!cli->conf.contract[0]) {
			cli_err("no contract address given (--contract, contract in canteen.conf or CANTEEN_CONTRACT)");
			return CLI_USAGE;
		}
		if (eth_addr_parse(cli->conf.contract, c->contract) < 0) {
			cli_err("'%s' is not a contract address (0x and 40 hex digits)", cli->conf.contract);
			return CLI_USAGE;
		}
	}
	if (needs & CHAIN_NEED_KEY) {
		if (!cli->conf.key_file[0]) {
			cli_err("no key file given (--key-file, key_file in canteen.conf or CANTEEN_KEY_FILE)");
			return CLI_USAGE;
		}
		if (!(c->key = eth_key_load(cli->conf.key_file, err, sizeof err))) {
			cli_err("%s", err);
			return CLI_FAIL;
		}
	}
	eth_rpc_opts_default(&o);
	o.timeout_ms = cli->conf.rpc_timeout_ms;
	o.allow_http = cli->conf.allow_insecure_rpc != 0;
	if (!(c->rpc = eth_rpc_new(cli->conf.rpc_url, &o, &e))) {
		cli_err("%s", e.msg);
		return CLI_USAGE;
	}
	int rc = check_chain_id(c, needs);
	if (rc == CLI_OK && (needs & CHAIN_NEED_CONTRACT))
		rc = check_contract(c);
	return rc;
}

void chain_close(struct chain *c)
{
	eth_rpc_free(c->rpc);
	eth_key_free(c->key);
	json_decref(c->abi);
	memset(c, 0, sizeof *c);
}

int chain_fail(struct chain *c, const char *what, const struct eth_rpc_err *e)
{
	char why[512];
	if (e->has_revert) {
		abi_revert_reason(e->revert, e->revert_len, c ? c->abi : NULL, why, sizeof why);
		cli_err("%s reverted: %s", what, why);
	} else if (e->kind == ETH_RPC_TRANSPORT) {
		cli_err("%s", e->msg);
	} else {
		cli_err("%s failed: %s", what, e->msg);
	}
	return CLI_FAIL;
}

int chain_tx_fail(struct chain *c, const char *what, const struct eth_rpc_err *e,
                  const struct eth_receipt *rc)
{
	char tx[67] = "", why[512];
	if (rc->has_tx)
		eth_hex_encode(rc->tx_hash, 32, tx, sizeof tx);
	if (!rc->block) /* the message names the transaction when there is one */
		return chain_fail(c, what, e);
	if (!e->has_revert) { /* out of gas */
		cli_err("%s failed: %s (transaction %s, block %llu)", what, e->msg, tx,
		        (unsigned long long)rc->block);
		return CLI_FAIL;
	}
	abi_revert_reason(e->revert, e->revert_len, c ? c->abi : NULL, why, sizeof why);
	cli_err("%s reverted on chain, gas spent: %llu: %s (transaction %s, block %llu)", what,
	        (unsigned long long)rc->gas_used, why, tx, (unsigned long long)rc->block);
	return CLI_FAIL;
}

void chain_done_fill(struct chain_done *out, const struct eth_receipt *rc)
{
	out->block = rc->block;
	out->gas_used = rc->gas_used;
	eth_hex_encode(rc->tx_hash, 32, out->tx, sizeof out->tx);
}

void chain_send_opts(const struct chain *c, struct eth_send_opts *o)
{
	memset(o, 0, sizeof *o);
	o->chain_id = c->chain_id ? c->chain_id : c->cli->conf.chain_id;
	o->gas_limit = c->cli->gas_limit;
	o->max_fee = c->cli->conf.max_fee_gwei * 1000000000ull;
	o->max_priority_fee = c->cli->conf.max_priority_fee_gwei * 1000000000ull;
}

/* The event each transaction of the CLI must leave in its receipt. */
static const struct {
	const char *fn, *event;
} fn_events[] = {
	{"setAdmin", "AdminChanged"},        {"setRegistrationOpen", "RegistrationOpenChanged"},
	{"registerNode", "NodeUpserted"},    {"approveNode", "NodeUpserted"},
	{"revokeNode", "NodeRemoved"},       {"unregisterNode", "NodeRemoved"},
	{"addService", "ServiceUpserted"},   {"updateService", "ServiceUpserted"},
	{"scaleService", "ServiceScaled"},   {"removeService", "ServiceRemoved"},
	{"readmitNode", "NodeRevoked"},      {"transferOwnership", "OwnershipTransferred"},
};

/* The receipt carries the event fn emits, from addr; prints why not. */
static int check_event(struct chain *c, const char *fn, const uint8_t addr[ETH_ADDR_LEN],
                       const struct eth_receipt *rc)
{
	const char *ev = NULL;
	uint8_t topic[32];
	char a[43], tx[67];
	for (size_t i = 0; i < sizeof fn_events / sizeof fn_events[0]; i++)
		if (strcmp(fn, fn_events[i].fn) == 0)
			ev = fn_events[i].event;
	const json_t *item = ev ? abi_find(c->abi, "event", ev) : NULL;
	if (!item || abi_item_hash(item, topic) < 0) {
		cli_err("no event is known for %s in the embedded ABI", fn);
		return CLI_FAIL;
	}
	if (eth_receipt_has_log(rc, addr, topic))
		return CLI_OK;
	eth_addr_format(addr, a);
	eth_hex_encode(rc->tx_hash, 32, tx, sizeof tx);
	cli_err("%s: transaction %s was mined in block %llu but %s emitted no %s event: nothing "
	        "changed as asked", fn, tx, (unsigned long long)rc->block, a, ev);
	return CLI_FAIL;
}

/* Selector + arguments of fn, encoded from JSON args (stolen). */
static int encode_call(struct chain *c, const char *fn, json_t *args, struct eth_buf *out)
{
	char err[256];
	int rc = abi_call_encode(c->abi, fn, args, out, err, sizeof err);
	if (rc < 0)
		cli_err("cannot encode a call of %s: %s", fn, err);
	json_decref(args);
	return rc;
}

/* The return data of view fn at block (NULL: latest) into ret; prints why it failed. */
static int call_raw(struct chain *c, const char *fn, json_t *args, const char *block,
                    struct eth_buf *ret)
{
	struct eth_buf data;
	struct eth_rpc_err e;
	int rc = CLI_FAIL;
	eth_buf_init(&data);
	eth_buf_reset(ret);
	if (encode_call(c, fn, args, &data) < 0)
		goto done;
	if (eth_call(c->rpc, NULL, c->contract, data.p, data.len, block, ret, &e) < 0)
		rc = chain_fail(c, fn, &e);
	else if (ret->len == 0)
		cli_err("%s returned nothing: is %s the canteen contract?", fn, c->cli->conf.contract);
	else
		rc = CLI_OK;
done:
	eth_buf_free(&data);
	return rc;
}

int chain_view(struct chain *c, const char *fn, json_t *args, const char *block, json_t **out)
{
	struct eth_buf ret;
	char err[256];
	*out = NULL;
	eth_buf_init(&ret);
	int rc = call_raw(c, fn, args, block, &ret);
	if (rc == CLI_OK && abi_call_decode(c->abi, fn, ret.p, ret.len, out, err, sizeof err) < 0) {
		cli_err("cannot decode what %s returned: %s", fn, err);
		rc = CLI_FAIL;
	}
	eth_buf_free(&ret);
	return rc;
}

/* The revert data is the contract's error named error (its selector), whatever its arguments. */
static int is_error(const struct chain *c, const struct eth_rpc_err *e, const char *error)
{
	uint8_t h[32];
	const json_t *item = error ? abi_find(c->abi, "error", error) : NULL;
	return item && e->has_revert && e->revert_len >= 4 && abi_item_hash(item, h) == 0 &&
	       memcmp(h, e->revert, 4) == 0;
}

int chain_send_unless(struct chain *c, const char *fn, json_t *args, const char *error,
                      struct eth_receipt *rc)
{
	struct eth_buf data;
	struct eth_rpc_err e;
	struct eth_send_opts o;
	int ret = CLI_FAIL;
	memset(rc, 0, sizeof *rc);
	eth_buf_init(&data);
	if (encode_call(c, fn, args, &data) == 0) {
		chain_send_opts(c, &o);
		if (eth_transact(c->rpc, c->key, c->contract, data.p, data.len, &o, rc, &e) < 0) {
			if (is_error(c, &e, error))
				ret = CHAIN_REVERTED;
			else
				chain_tx_fail(c, fn, &e, rc);
		} else {
			ret = check_event(c, fn, c->contract, rc);
		}
	}
	eth_buf_free(&data);
	return ret;
}

int chain_send(struct chain *c, const char *fn, json_t *args, struct eth_receipt *rc)
{
	return chain_send_unless(c, fn, args, NULL, rc);
}

int chain_transact(struct cli *cli, const char *fn, json_t *args, struct eth_receipt *rc)
{
	struct chain c;
	int ret = chain_open(&c, cli, CHAIN_NEED_CONTRACT | CHAIN_NEED_KEY);
	if (ret == CLI_OK) {
		ret = chain_send(&c, fn, args, rc);
		args = NULL;
	}
	json_decref(args);
	chain_close(&c);
	return ret;
}

void chain_fmt_cpu(json_int_t millis, char *out, size_t outlen)
{
	if (millis % 1000)
		snprintf(out, outlen, "%lldm", (long long)millis);
	else
		snprintf(out, outlen, "%lld", (long long)(millis / 1000));
}

/* One page of fn at block tag into ret: CLI_OK, or the node's error in e (not printed). */
static int list_page(struct chain *c, const char *fn, json_int_t off, json_int_t n, const char *tag,
                     struct eth_buf *ret, struct eth_rpc_err *e)
{
	struct eth_buf data;
	eth_buf_init(&data);
	eth_buf_reset(ret);
	int rc = encode_call(c, fn, json_pack("[I,I]", off, n), &data);
	if (rc == 0)
		rc = eth_call(c->rpc, NULL, c->contract, data.p, data.len, tag, ret, e) < 0 ? -2 : 0;
	eth_buf_free(&data);
	return rc;
}

int chain_list(struct chain *c, const char *fn, json_t **out)
{
	struct eth_rpc_err e;
	uint64_t block;
	char tag[24], err[256];
	json_int_t page = CHAIN_PAGE;
	int services = strcmp(fn, "getServices") == 0, rc = CLI_OK;
	size_t left_out = 0;
	*out = NULL;
	/* One block for every page, so the list is one consistent state. */
	if (eth_block_number(c->rpc, &block, &e) < 0)
		return chain_fail(c, "eth_blockNumber", &e);
	eth_qty_format(block, tag, sizeof tag);
	json_t *all = json_array();
	struct eth_buf ret;
	eth_buf_init(&ret);
	for (json_int_t off = 0; all && rc == CLI_OK;) {
		size_t raw = 0, skipped = 0;
		json_t *items = NULL;
		int got = list_page(c, fn, off, page, tag, &ret, &e);
		if (got == -2 && (e.kind == ETH_RPC_TOO_LARGE || (e.kind == ETH_RPC_ERROR && !e.has_revert)) &&
		    page > 1) {
			/* Big records can make a page cost more gas than the node allows a call
			 * (or answer more than it sends): fewer records per call, down to one. */
			page /= 2;
			continue;
		}
		if (got == -1) {
			rc = CLI_FAIL;
			break;
		}
		if (got == -2) {
			rc = chain_fail(c, fn, &e);
			break;
		}
		/* The records are decoded as chainwatch decodes them (rec.h), so the CLI and
		 * chain.sock agree about every record. */
		if (!(items = rec_decode_page(services, ret.p, ret.len, &raw, &skipped, err, sizeof err))) {
			cli_err("cannot decode what %s returned (is %s the canteen contract?): %s", fn,
			        c->cli->conf.contract, err);
			rc = CLI_FAIL;
		} else if (skipped && left_out++ == 0) {
			cli_err("warning: left out a malformed record: %s", err);
		}
		if (items)
			json_array_extend(all, items);
		json_decref(items);
		if (raw < (size_t)page)
			break;
		off += page;
	}
	eth_buf_free(&ret);
	if (rc != CLI_OK || !all) {
		json_decref(all);
		return rc == CLI_OK ? CLI_FAIL : rc;
	}
	*out = all;
	return CLI_OK;
}

void chain_print_json(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (s)
		puts(s);
	free(s);
}

/* ---- canteen contract deploy | admin | registration ---- */

int contract_parse(struct contract_cmd *c, int argc, char **argv)
{
	uint8_t a[ETH_ADDR_LEN];
	memset(c, 0, sizeof *c);
	if (argc >= 2 && strcmp(argv[1], "deploy") == 0) {
		if (argc != 2) {
			cli_err("contract deploy takes no arguments");
			return CLI_USAGE;
		}
		c->op = CONTRACT_DEPLOY;
		return CLI_OK;
	}
	if (argc == 4 && strcmp(argv[1], "admin") == 0 &&
	    (strcmp(argv[2], "add") == 0 || strcmp(argv[2], "rm") == 0) && eth_addr_parse(argv[3], a) == 0) {
		c->op = CONTRACT_ADMIN;
		c->on = argv[2][0] == 'a';
		eth_addr_format(a, c->address);
		return CLI_OK;
	}
	if (argc == 3 && strcmp(argv[1], "registration") == 0 &&
	    (strcmp(argv[2], "open") == 0 || strcmp(argv[2], "close") == 0)) {
		c->op = CONTRACT_REGISTRATION;
		c->on = argv[2][0] == 'o';
		return CLI_OK;
	}
	cli_err("unknown or incomplete contract command");
	fprintf(stderr, "%s\n", USAGE_CONTRACT);
	return CLI_USAGE;
}

static int contract_deploy(struct cli *cli, struct chain_done *out)
{
	struct chain c;
	struct eth_buf code;
	struct eth_rpc_err e;
	struct eth_receipt rc;
	struct eth_send_opts o;
	int ret = chain_open(&c, cli, CHAIN_NEED_KEY);
	eth_buf_init(&code);
	if (ret != CLI_OK)
		goto done;
	ret = CLI_FAIL;
	if (eth_hex_decode_buf(chain_bin_hex(), &code) < 0 || code.len == 0) {
		cli_err("the embedded contract bytecode is broken");
		goto done;
	}
	chain_send_opts(&c, &o);
	if (eth_transact(c.rpc, c.key, NULL, code.p, code.len, &o, &rc, &e) < 0) {
		chain_tx_fail(&c, "deployment", &e, &rc);
		goto done;
	}
	if (!rc.has_contract) {
		cli_err("the deployment receipt names no contract address");
		goto done;
	}
	/* The new contract announced its owner: a receipt without it deployed nothing. */
	if (check_event(&c, "transferOwnership", rc.contract, &rc) != CLI_OK)
		goto done;
	out->chain_id = c.chain_id;
	eth_addr_format(rc.contract, out->address);
	chain_done_fill(out, &rc);
	memcpy(out->owner, c.key->address_hex, sizeof out->owner);
	ret = CLI_OK;
done:
	eth_buf_free(&code);
	chain_close(&c);
	return ret;
}

int contract_run(struct cli *cli, const struct contract_cmd *c, struct chain_done *out)
{
	struct eth_receipt rc;
	int ret;
	memset(out, 0, sizeof *out);
	if (c->op == CONTRACT_DEPLOY)
		return contract_deploy(cli, out);
	if (c->op == CONTRACT_ADMIN)
		ret = chain_transact(cli, "setAdmin", json_pack("[s,b]", c->address, c->on), &rc);
	else
		ret = chain_transact(cli, "setRegistrationOpen", json_pack("[b]", c->on), &rc);
	if (ret == CLI_OK)
		chain_done_fill(out, &rc);
	return ret;
}

int cmd_contract(struct cli *cli, int argc, char **argv)
{
	struct contract_cmd c;
	struct chain_done d;
	char what[96];
	int ret = contract_parse(&c, argc, argv);
	if (ret == CLI_OK)
		ret = contract_run(cli, &c, &d);
	if (ret != CLI_OK)
		return ret;
	if (c.op == CONTRACT_DEPLOY) {
		if (cli->json) {
			json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:s, s:I}", "address", d.address, "tx", d.tx,
			                      "block", (json_int_t)d.block, "gas_used", (json_int_t)d.gas_used,
			                      "owner", d.owner, "chain_id", (json_int_t)d.chain_id);
			chain_print_json(j);
			json_decref(j);
		} else {
			puts(d.address);
		}
		return CLI_OK;
	}
	if (c.op == CONTRACT_ADMIN)
		snprintf(what, sizeof what, "%s %s", c.address, c.on ? "is an admin" : "is no longer an admin");
	else
		snprintf(what, sizeof what, "%s", c.on ? "registration open: new nodes are active at once"
		                                       : "registration closed: new nodes wait for approval");
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:I, s:s}", "done", what, "block", (json_int_t)d.block, "tx", d.tx);
		chain_print_json(j);
		json_decref(j);
	} else {
		printf("%s (transaction %s)\n", what, d.tx);
	}
	return CLI_OK;
}
