/* record.c: Canteen contract data (paged views, event logs) into chain.sock NODE/SERVICE objects. */
#include <stdio.h>
#include <string.h>

#include "chainwatch.h"
#include "eth_abi.h"
#include "eth_keccak.h"

/* Must match contracts/Canteen.sol (tests/chainwatch.bats checks it end to end). */
#define NODE_T "(address,string,bytes32,uint32,uint32,string[],bool)"
#define SERVICE_T "(string,string,string[],string[],uint32,uint32,uint32,(uint16,uint16,uint8)[]," \
                  "int32,uint8,bool,string[],uint64)"

enum { T_NODES, T_SERVICES, T_NODE, T_SERVICE, T_NAME, T_COUNT };
static const char *type_src[T_COUNT] = {
	"(" NODE_T "[])", "(" SERVICE_T "[])", "(" NODE_T ")", "(" SERVICE_T ")", "(string)",
};
static struct abi_type *types[T_COUNT];

static const char *event_sigs[4] = {
	"NodeUpserted(address," NODE_T ")",
	"NodeRemoved(address)",
	"ServiceUpserted(bytes32," SERVICE_T ")",
	"ServiceRemoved(bytes32,string)",
};

int cw_types_init(char *err, size_t errlen)
{
	for (int i = 0; i < T_COUNT; i++) {
		types[i] = abi_type_parse(type_src[i], err, errlen);
		if (!types[i])
			return -1;
	}
	return 0;
}

void cw_types_free(void)
{
	for (int i = 0; i < T_COUNT; i++) {
		abi_type_free(types[i]);
		types[i] = NULL;
	}
}

void cw_event_topics(uint8_t topics[4][32])
{
	for (int i = 0; i < 4; i++)
		eth_keccak256(event_sigs[i], strlen(event_sigs[i]), topics[i]);
}

/* ---- values into JSON, checked ---- */

/* A string value as JSON: valid UTF-8, no NUL; NULL otherwise. */
static json_t *str_json(const struct abi_value *v)
{
	if (v->kind != ABI_STRING || memchr(abi_get_str(v), '\0', v->len))
		return NULL;
	return json_stringn(abi_get_str(v), v->len);
}

static int u32_of(const struct abi_value *v, json_int_t *out)
{
	int overflow;
	uint64_t x = abi_get_u64(v, &overflow);
	if (overflow || x > UINT32_MAX)
		return -1;
	*out = (json_int_t)x;
	return 0;
}

static json_t *str_list(const struct abi_value *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < v->n; i++) {
		json_t *s = str_json(v->items[i]);
		if (!s || json_array_append_new(a, s) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* ["k=v", ...] into {"k":"v"}; NULL if an item is not k=v with a non-empty key. */
static json_t *kv_object(const struct abi_value *v)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < v->n; i++) {
		const struct abi_value *it = v->items[i];
		const char *s = abi_get_str(it);
		const char *eq = memchr(s, '=', it->len);
		char key[300];
		size_t kl = eq ? (size_t)(eq - s) : 0;
		json_t *val = NULL;
		if (kl == 0 || kl >= sizeof key || memchr(s, '\0', it->len))
			goto bad;
		memcpy(key, s, kl);
		key[kl] = '\0';
		val = json_stringn(eq + 1, it->len - kl - 1);
		if (!val || json_object_set_new(o, key, val) < 0)
			goto bad;
	}
	return o;
bad:
	json_decref(o);
	return NULL;
}

static int valid_name(const char *s, size_t n)
{
	if (n == 0 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0)))
			return 0;
	}
	return 1;
}

static json_t *node_json(const struct abi_value *t, char *err, size_t errlen)
{
	char addr[43], pub[67];
	json_int_t cpu, mem;
	if (t->kind != ABI_TUPLE || t->n != 7) {
		snprintf(err, errlen, "node record has the wrong shape");
		return NULL;
	}
	eth_addr_format(t->items[0]->word + 12, addr);
	eth_hex_encode(t->items[2]->word, 32, pub, sizeof pub);
	json_t *endpoint = str_json(t->items[1]);
	json_t *labels = kv_object(t->items[5]);
	if (!endpoint || !labels || u32_of(t->items[3], &cpu) < 0 || u32_of(t->items[4], &mem) < 0) {
		snprintf(err, errlen, "node %s: malformed endpoint, labels or resources", addr);
		json_decref(endpoint);
		json_decref(labels);
		return NULL;
	}
	return json_pack("{s:s, s:o, s:s, s:I, s:I, s:o, s:b}", "address", addr, "endpoint", endpoint,
	                 "swim_pubkey", pub + 2, "cpu_millis", cpu, "mem_mib", mem, "labels", labels,
	                 "active", t->items[6]->word[31] != 0);
}

static json_t *ports_json(const struct abi_value *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < v->n; i++) {
		const struct abi_value *p = v->items[i];
		json_int_t host, ctr, proto;
		if (u32_of(p->items[0], &host) < 0 || u32_of(p->items[1], &ctr) < 0 ||
		    u32_of(p->items[2], &proto) < 0 || proto > 1 ||
		    json_array_append_new(a, json_pack("{s:I, s:I, s:s}", "host", host, "container", ctr,
		                                       "proto", proto ? "udp" : "tcp")) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *service_json(const struct abi_value *t, char *err, size_t errlen)
{
	static const char *strategies[] = {"spread", "roundrobin", "binpack"};
	json_int_t rep, cpu, mem, strategy;
	int overflow;
	if (t->kind != ABI_TUPLE || t->n != 13) {
		snprintf(err, errlen, "service record has the wrong shape");
		return NULL;
	}
	const struct abi_value *name = t->items[0];
	if (name->kind != ABI_STRING || !valid_name(abi_get_str(name), name->len)) {
		snprintf(err, errlen, "service record with an invalid name");
		return NULL;
	}
	uint64_t gen = abi_get_u64(t->items[12], &overflow);
	/* int32 arrives sign-extended to 256 bits: the low four bytes are the value. */
	const uint8_t *pw = t->items[8]->word + 28;
	int32_t prio = (int32_t)((uint32_t)pw[0] << 24 | (uint32_t)pw[1] << 16 | (uint32_t)pw[2] << 8 | pw[3]);
	json_t *image = str_json(t->items[1]), *cmd = str_list(t->items[2]), *env = str_list(t->items[3]);
	json_t *ports = ports_json(t->items[7]), *sel = kv_object(t->items[11]);
	if (!image || !cmd || !env || !ports || !sel || u32_of(t->items[4], &rep) < 0 ||
	    u32_of(t->items[5], &cpu) < 0 || u32_of(t->items[6], &mem) < 0 ||
	    u32_of(t->items[9], &strategy) < 0 || strategy > 2 || overflow || gen > INT64_MAX) {
		snprintf(err, errlen, "service %s: malformed record", abi_get_str(name));
		json_decref(image);
		json_decref(cmd);
		json_decref(env);
		json_decref(ports);
		json_decref(sel);
		return NULL;
	}
	return json_pack("{s:s%, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:I, s:s, s:b, s:o, s:I}",
	                 "name", abi_get_str(name), name->len, "image", image, "command", cmd,
	                 "env", env, "replicas", rep, "cpu_millis", cpu, "mem_mib", mem,
	                 "ports", ports, "priority", (json_int_t)prio, "strategy", strategies[strategy],
	                 "exclusive", t->items[10]->word[31] != 0, "selector", sel,
	                 "generation", (json_int_t)gen);
}

typedef json_t *(*rec_fn)(const struct abi_value *, char *, size_t);

json_t *cw_decode_page(int services, const uint8_t *data, size_t len, size_t *raw,
                       size_t *skipped, char *err, size_t errlen)
{
	struct abi_value *v = NULL;
	rec_fn fn = services ? service_json : node_json;
	char why[256];
	*raw = *skipped = 0;
	if (abi_decode(types[services ? T_SERVICES : T_NODES], data, len, &v, err, errlen) < 0)
		return NULL;
	const struct abi_value *list = v->items[0];
	json_t *out = json_array();
	*raw = list->n;
	/* Anyone may register a node, with any bytes in its strings: one malformed record
	 * is left out (as its log would be), it must not keep the whole state away. */
	for (size_t i = 0; out && i < list->n; i++) {
		json_t *rec = fn(list->items[i], why, sizeof why);
		if (!rec) {
			if ((*skipped)++ == 0)
				snprintf(err, errlen, "%s", why);
			continue;
		}
		if (json_array_append_new(out, rec) < 0) {
			json_decref(out);
			out = NULL;
		}
	}
	abi_value_free(v);
	return out;
}

json_t *cw_decode_nodes(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	size_t raw, skipped;
	return cw_decode_page(0, data, len, &raw, &skipped, err, errlen);
}

json_t *cw_decode_services(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	size_t raw, skipped;
	return cw_decode_page(1, data, len, &raw, &skipped, err, errlen);
}

/* ---- logs ---- */

static int topic_of(const json_t *topics, size_t i, uint8_t out[32])
{
	const char *s = json_string_value(json_array_get(topics, i));
	return s ? eth_hex_decode_exact(s, out, 32) : -1;
}

json_t *cw_decode_log(const struct chainwatch *cw, const json_t *log, int *skip, char *err,
                      size_t errlen)
{
	uint8_t addr[ETH_ADDR_LEN], t0[32], t1[32];
	uint64_t block;
	const json_t *topics = json_object_get(log, "topics");
	const char *a = json_string_value(json_object_get(log, "address"));
	const char *bn = json_string_value(json_object_get(log, "blockNumber"));
	const char *data = json_string_value(json_object_get(log, "data"));
	json_t *ev = NULL, *rec = NULL;
	struct abi_value *v = NULL;
	struct eth_buf buf;
	*skip = 0;
	eth_buf_init(&buf);
	if (!a || eth_addr_parse(a, addr) < 0 || !bn || eth_qty_parse(bn, &block) < 0 || !data ||
	    !json_is_array(topics) || topic_of(topics, 0, t0) < 0 || eth_hex_decode_buf(data, &buf) < 0) {
		snprintf(err, errlen, "malformed log object");
		goto out;
	}
	if (memcmp(addr, cw->contract, ETH_ADDR_LEN) != 0) {
		snprintf(err, errlen, "log from another address %s", a);
		goto out;
	}
	int kind = -1;
	for (int i = 0; i < 4; i++)
		if (memcmp(t0, cw->topics[i], 32) == 0)
			kind = i;
	if (kind < 0) {
		*skip = 1;
		goto out;
	}
	if (json_array_size(topics) != 2 || topic_of(topics, 1, t1) < 0) {
		snprintf(err, errlen, "log with malformed topics");
		goto out;
	}
	if (kind == 1) {
		char addr_hex[43];
		eth_addr_format(t1 + 12, addr_hex);
		ev = json_pack("{s:s, s:I, s:s}", "type", "node.remove", "block", (json_int_t)block,
		               "address", addr_hex);
		goto out;
	}
	int type = kind == 0 ? T_NODE : kind == 2 ? T_SERVICE : T_NAME;
	if (abi_decode(types[type], buf.p, buf.len, &v, err, errlen) < 0)
		goto out;
	if (kind == 3) {
		const struct abi_value *name = v->items[0];
		if (!valid_name(abi_get_str(name), name->len)) {
			snprintf(err, errlen, "service removal with an invalid name");
			goto out;
		}
		ev = json_pack("{s:s, s:I, s:s%}", "type", "service.remove", "block", (json_int_t)block,
		               "name", abi_get_str(name), name->len);
		goto out;
	}
	rec = kind == 0 ? node_json(v->items[0], err, errlen) : service_json(v->items[0], err, errlen);
	if (rec) {
		ev = json_pack("{s:s, s:I, s:o}", "type", kind == 0 ? "node.upsert" : "service.upsert",
		               "block", (json_int_t)block, kind == 0 ? "node" : "service", rec);
	} else if (kind == 0) {
		/* A snapshot leaves such a record out: drop the node here too (err still says
		 * why), so a server that followed the logs and one that starts later agree. */
		char addr_hex[43];
		eth_addr_format(t1 + 12, addr_hex);
		ev = json_pack("{s:s, s:I, s:s}", "type", "node.remove", "block", (json_int_t)block,
		               "address", addr_hex);
	}
out:
	abi_value_free(v);
	eth_buf_free(&buf);
	return ev;
}
