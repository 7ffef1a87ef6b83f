/* eth_tool.c: command-line access to canteen's Ethereum library for tests (compared with cast). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth_abi.h"
#include "eth_keccak.h"
#include "eth_key.h"
#include "eth_rlp.h"
#include "eth_rpc.h"
#include "eth_tx.h"
#include "loop.h"
#include "parse.h"

static int usage(void)
{
	fprintf(stderr,
	        "usage: eth_tool keccak TEXT | keccak-hex HEX | abi-encode SIG JSON-ARGS |\n"
	        "       abi-decode TYPE HEX | calldata SIG JSON-ARGS | to-rlp JSON | from-rlp HEX |\n"
	        "       address KEY-HEX | key-file PATH |\n"
	        "       mktx --key HEX --chain N --nonce N --gas N [--to ADDR] [--data HEX]\n"
	        "            [--value N] [--legacy --gas-price N | --max-fee N --priority-fee N] |\n"
	        "       decode-tx HEX | rpc URL METHOD JSON-PARAMS | arpc URL METHOD JSON-PARAMS [N] |\n"
	        "       revert HEX [ABI-FILE] | decode-logs ABI-FILE < LOGS-JSON\n");
	return 2;
}

static void print_hex(const uint8_t *p, size_t n)
{
	char *h = eth_hex_alloc(p, n);
	if (h)
		puts(h);
	free(h);
}

static int fail(const char *what, const char *err)
{
	fprintf(stderr, "eth_tool: %s: %s\n", what, err);
	return 1;
}

static json_t *load_json(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!j)
		fprintf(stderr, "eth_tool: bad JSON: %s\n", je.text);
	return j;
}

static int cmd_abi(int argc, char **argv, int with_selector)
{
	char err[256];
	uint8_t sel[4];
	struct eth_buf out;
	if (argc != 4)
		return usage();
	struct abi_type *t = abi_sig_parse(argv[2], sel, err, sizeof err);
	if (!t)
		return fail("signature", err);
	json_t *j = load_json(argv[3]);
	struct abi_value *v = j ? abi_value_from_json(t, j, err, sizeof err) : NULL;
	int rc = 1;
	eth_buf_init(&out);
	if (with_selector)
		eth_buf_put(&out, sel, 4);
	if (!v)
		fail("arguments", j ? err : "not JSON");
	else if (abi_encode(t, v, &out, err, sizeof err) < 0)
		fail("encode", err);
	else {
		print_hex(out.p, out.len);
		rc = 0;
	}
	eth_buf_free(&out);
	abi_value_free(v);
	json_decref(j);
	abi_type_free(t);
	return rc;
}

static int cmd_abi_decode(int argc, char **argv)
{
	char err[256];
	struct eth_buf in;
	struct abi_value *v = NULL;
	if (argc != 4)
		return usage();
	struct abi_type *t = abi_type_parse(argv[2], err, sizeof err);
	if (!t)
		return fail("type", err);
	eth_buf_init(&in);
	int rc = 1;
	if (eth_hex_decode_buf(argv[3], &in) < 0)
		fail("data", "not hex");
	else if (abi_decode(t, in.p, in.len, &v, err, sizeof err) < 0)
		fail("decode", err);
	else {
		json_t *j = abi_value_to_json(t, v);
		char *s = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
		if (s)
			puts(s);
		rc = s ? 0 : 1;
		free(s);
		json_decref(j);
	}
	abi_value_free(v);
	eth_buf_free(&in);
	abi_type_free(t);
	return rc;
}

static int rlp_from_json(const json_t *j, struct eth_buf *b, int depth)
{
	if (depth > RLP_MAX_DEPTH)
		return -1;
	if (json_is_string(j)) {
		struct eth_buf tmp;
		eth_buf_init(&tmp);
		int rc = eth_hex_decode_buf(json_string_value(j), &tmp);
		if (rc == 0)
			rlp_put_bytes(b, tmp.p, tmp.len);
		eth_buf_free(&tmp);
		return rc;
	}
	if (!json_is_array(j))
		return -1;
	size_t off = rlp_list_begin(b), i;
	json_t *item;
	json_array_foreach(j, i, item) {
		if (rlp_from_json(item, b, depth + 1) < 0)
			return -1;
	}
	return rlp_list_end(b, off);
}

static json_t *rlp_to_json(const struct rlp_item *it)
{
	if (!it->is_list) {
		char *h = eth_hex_alloc(it->p, it->len);
		json_t *s = h ? json_string(h) : NULL;
		free(h);
		return s;
	}
	json_t *a = json_array();
	struct rlp_item sub;
	size_t pos = 0;
	int r;
	while (a && (r = rlp_list_next(it, &pos, &sub)) == 1)
		json_array_append_new(a, rlp_to_json(&sub));
	return a;
}

static int cmd_rlp(int argc, char **argv, int decode)
{
	struct eth_buf b;
	int rc = 1;
	if (argc != 3)
		return usage();
	eth_buf_init(&b);
	if (decode) {
		struct rlp_item it;
		if (eth_hex_decode_buf(argv[2], &b) < 0 || rlp_decode(b.p, b.len, &it) < 0) {
			fail("from-rlp", "malformed RLP");
		} else {
			json_t *j = rlp_to_json(&it);
			char *s = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
			if (s)
				puts(s);
			rc = s ? 0 : 1;
			free(s);
			json_decref(j);
		}
	} else {
		json_t *j = load_json(argv[2]);
		if (j && rlp_from_json(j, &b, 0) == 0 && !b.err) {
			print_hex(b.p, b.len);
			rc = 0;
		} else {
			fail("to-rlp", "expected nested JSON arrays of hex strings");
		}
		json_decref(j);
	}
	eth_buf_free(&b);
	return rc;
}

static int num_opt(const char *s, uint64_t *v)
{
	char err[128];
	if (parse_u64(s, 0, UINT64_MAX, v, err, sizeof err) < 0) {
		fprintf(stderr, "eth_tool: %s\n", err);
		return -1;
	}
	return 0;
}

static int cmd_mktx(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},      {"chain", required_argument, NULL, 'c'},
		{"nonce", required_argument, NULL, 'n'},    {"gas", required_argument, NULL, 'g'},
		{"to", required_argument, NULL, 't'},       {"data", required_argument, NULL, 'd'},
		{"value", required_argument, NULL, 'v'},    {"legacy", no_argument, NULL, 'l'},
		{"gas-price", required_argument, NULL, 'p'}, {"max-fee", required_argument, NULL, 'm'},
		{"priority-fee", required_argument, NULL, 'P'}, {NULL, 0, NULL, 0},
	};
	struct eth_tx tx;
	struct eth_buf data, raw;
	struct eth_key *key = NULL;
	char err[256];
	uint8_t hash[32];
	uint64_t value = 0;
	int ch, rc = 1;
	memset(&tx, 0, sizeof tx);
	tx.type = ETH_TX_1559;
	eth_buf_init(&data);
	eth_buf_init(&raw);
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int bad = 0;
		switch (ch) {
		case 'k':
			eth_key_free(key);
			if (!(key = eth_key_from_hex(optarg, err, sizeof err)))
				return fail("key", err);
			break;
		case 'c': bad = num_opt(optarg, &tx.chain_id); break;
		case 'n': bad = num_opt(optarg, &tx.nonce); break;
		case 'g': bad = num_opt(optarg, &tx.gas_limit); break;
		case 't':
			tx.has_to = 1;
			bad = eth_addr_parse(optarg, tx.to);
			break;
		case 'd': bad = eth_hex_decode_buf(optarg, &data); break;
		case 'v': bad = num_opt(optarg, &value); break;
		case 'l': tx.type = ETH_TX_LEGACY; break;
		case 'p': bad = num_opt(optarg, &tx.gas_price); break;
		case 'm': bad = num_opt(optarg, &tx.max_fee); break;
		case 'P': bad = num_opt(optarg, &tx.max_priority_fee); break;
		default: bad = 1;
		}
		if (bad) {
			eth_key_free(key);
			eth_buf_free(&data);
			return usage();
		}
	}
	eth_u256_from_u64(value, tx.value);
	tx.data = data.p;
	tx.data_len = data.len;
	if (!key)
		fail("mktx", "--key is required");
	else if (eth_tx_sign(&tx, key->secret, &raw, hash, err, sizeof err) < 0)
		fail("sign", err);
	else {
		print_hex(raw.p, raw.len);
		rc = 0;
	}
	eth_key_free(key);
	eth_buf_free(&data);
	eth_buf_free(&raw);
	return rc;
}

static int cmd_decode_tx(int argc, char **argv)
{
	struct eth_buf raw;
	struct eth_tx tx;
	uint8_t from[20], hash[32];
	char err[256], a[43], h[67], to[43];
	if (argc != 3)
		return usage();
	eth_buf_init(&raw);
	int rc = 1;
	if (eth_hex_decode_buf(argv[2], &raw) < 0)
		fail("decode-tx", "not hex");
	else if (eth_tx_decode(raw.p, raw.len, &tx, from, hash, err, sizeof err) < 0)
		fail("decode-tx", err);
	else {
		char *data = eth_hex_alloc(tx.data, tx.data_len);
		eth_addr_format(from, a);
		eth_hex_encode(hash, 32, h, sizeof h);
		eth_addr_format(tx.to, to);
		printf("{\"type\":%d,\"chain_id\":%llu,\"nonce\":%llu,\"gas\":%llu,\"from\":\"%s\","
		       "\"to\":\"%s\",\"hash\":\"%s\",\"data\":\"%s\"}\n",
		       tx.type, (unsigned long long)tx.chain_id, (unsigned long long)tx.nonce,
		       (unsigned long long)tx.gas_limit, a, tx.has_to ? to : "", h, data ? data : "");
		free(data);
		rc = 0;
	}
	eth_buf_free(&raw);
	return rc;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	if (s)
		puts(s);
	free(s);
}

static int cmd_rpc(int argc, char **argv)
{
	struct eth_rpc_err e;
	json_t *res;
	if (argc != 5)
		return usage();
	struct eth_rpc *r = eth_rpc_new(argv[2], NULL, &e);
	if (!r)
		return fail("rpc", e.msg);
	json_t *params = load_json(argv[4]);
	int rc = params ? eth_rpc_call(r, argv[3], params, &res, &e) : -1;
	if (rc == 0) {
		print_json(res);
		json_decref(res);
	} else if (params) {
		fail("rpc", e.msg);
	}
	eth_rpc_free(r);
	return rc == 0 ? 0 : 1;
}

/* The loop-driven client: N concurrent copies of one call; prints each result. */
struct arpc_run {
	struct loop *l;
	int left, failed;
};

static void arpc_done(json_t *result, const struct eth_rpc_err *e, void *arg)
{
	struct arpc_run *run = arg;
	if (result)
		print_json(result);
	else {
		fprintf(stderr, "eth_tool: arpc: %s\n", e->msg);
		run->failed = 1;
	}
	if (--run->left == 0)
		loop_stop(run->l);
}

static int cmd_arpc(int argc, char **argv)
{
	struct eth_rpc_err e;
	struct eth_rpc_opts o;
	if (argc != 5 && argc != 6)
		return usage();
	int n = argc == 6 ? (int)strtol(argv[5], NULL, 10) : 1;
	if (n < 1 || n > 100)
		return usage();
	struct arpc_run run = {loop_new(), n, 0};
	eth_rpc_opts_default(&o);
	o.retries = 1;
	o.backoff_ms = 50;
	struct eth_arpc *a = run.l ? eth_arpc_new(run.l, argv[2], &o, &e) : NULL;
	if (!a) {
		loop_free(run.l);
		return fail("arpc", run.l ? e.msg : "no loop");
	}
	for (int i = 0; i < n; i++) {
		json_t *params = load_json(argv[4]);
		if (!params || eth_arpc_call(a, argv[3], params, arpc_done, &run, &e) < 0) {
			run.failed = 1;
			run.left -= n - i;
			break;
		}
	}
	if (run.left > 0)
		loop_run(run.l);
	eth_arpc_free(a);
	loop_free(run.l);
	return run.failed;
}

/* A JSON array of logs (eth_getLogs / receipt "logs") on stdin; one decoded event a line. */
static int cmd_decode_logs(int argc, char **argv)
{
	json_error_t je;
	char err[256];
	if (argc != 3)
		return usage();
	json_t *abi = json_load_file(argv[2], 0, &je);
	json_t *logs = json_loadf(stdin, 0, &je);
	int rc = abi && json_is_array(logs) ? 0 : 1;
	size_t i;
	json_t *log;
	json_array_foreach(logs, i, log) {
		uint8_t topics[4][32];
		size_t nt = 0, k;
		json_t *t;
		struct eth_buf data;
		eth_buf_init(&data);
		json_array_foreach(json_object_get(log, "topics"), k, t) {
			if (nt < 4 && eth_hex_decode_exact(json_string_value(t), topics[nt], 32) == 0)
				nt++;
		}
		const char *name;
		json_t *fields;
		if (eth_hex_decode_buf(json_string_value(json_object_get(log, "data")), &data) < 0 ||
		    abi_log_decode(abi, (const uint8_t (*)[32])topics, nt, data.p, data.len, &name, &fields,
		                   err, sizeof err) < 0) {
			fail("decode-logs", err);
			rc = 1;
		} else {
			json_t *o = json_pack("{s:s, s:o}", "event", name, "fields", fields);
			print_json(o);
			json_decref(o);
		}
		eth_buf_free(&data);
	}
	json_decref(abi);
	json_decref(logs);
	return rc;
}

static int cmd_revert(int argc, char **argv)
{
	struct eth_buf b;
	char out[512];
	json_t *abi = NULL;
	if (argc != 3 && argc != 4)
		return usage();
	if (argc == 4) {
		json_error_t je;
		if (!(abi = json_load_file(argv[3], 0, &je)))
			return fail("abi", je.text);
	}
	eth_buf_init(&b);
	int rc = 1;
	if (eth_hex_decode_buf(argv[2], &b) < 0)
		fail("revert", "not hex");
	else {
		puts(abi_revert_reason(b.p, b.len, abi, out, sizeof out));
		rc = 0;
	}
	eth_buf_free(&b);
	json_decref(abi);
	return rc;
}

int main(int argc, char **argv)
{
	uint8_t h[32];
	char err[256];
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	if (strcmp(cmd, "keccak") == 0 && argc == 3) {
		eth_keccak256(argv[2], strlen(argv[2]), h);
		print_hex(h, 32);
		return 0;
	}
	if (strcmp(cmd, "keccak-hex") == 0 && argc == 3) {
		struct eth_buf b;
		eth_buf_init(&b);
		if (eth_hex_decode_buf(argv[2], &b) < 0)
			return fail("keccak-hex", "not hex");
		eth_keccak256(b.p, b.len, h);
		eth_buf_free(&b);
		print_hex(h, 32);
		return 0;
	}
	if (strcmp(cmd, "abi-encode") == 0)
		return cmd_abi(argc, argv, 0);
	if (strcmp(cmd, "calldata") == 0)
		return cmd_abi(argc, argv, 1);
	if (strcmp(cmd, "abi-decode") == 0)
		return cmd_abi_decode(argc, argv);
	if (strcmp(cmd, "to-rlp") == 0)
		return cmd_rlp(argc, argv, 0);
	if (strcmp(cmd, "from-rlp") == 0)
		return cmd_rlp(argc, argv, 1);
	if ((strcmp(cmd, "address") == 0 || strcmp(cmd, "key-file") == 0) && argc == 3) {
		struct eth_key *k = cmd[0] == 'a' ? eth_key_from_hex(argv[2], err, sizeof err)
		                                  : eth_key_load(argv[2], err, sizeof err);
		if (!k)
			return fail(cmd, err);
		puts(k->address_hex);
		eth_key_free(k);
		return 0;
	}
	if (strcmp(cmd, "mktx") == 0)
		return cmd_mktx(argc, argv);
	if (strcmp(cmd, "decode-tx") == 0)
		return cmd_decode_tx(argc, argv);
	if (strcmp(cmd, "rpc") == 0)
		return cmd_rpc(argc, argv);
	if (strcmp(cmd, "arpc") == 0)
		return cmd_arpc(argc, argv);
	if (strcmp(cmd, "revert") == 0)
		return cmd_revert(argc, argv);
	if (strcmp(cmd, "decode-logs") == 0)
		return cmd_decode_logs(argc, argv);
	return usage();
}
