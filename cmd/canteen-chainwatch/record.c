/* record.c: Canteen contract data (paged views, event logs) into chain.sock NODE/SERVICE objects. */
#include <stdio.h>
#include <string.h>

#include "chainwatch.h"
#include "eth_abi.h"
#include "eth_keccak.h"
#include "rec.h"

/* The types come from rec.h, the one owner of the contract's records (tests/chainwatch.bats
 * checks them against the contract end to end). */
#define NODE_T REC_NODE_ABI
#define SERVICE_T REC_SERVICE_ABI

enum { T_NODE, T_SERVICE, T_NAME, T_COUNT };
static const char *type_src[T_COUNT] = {"(" NODE_T ")", "(" SERVICE_T ")", "(string)"};
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
		if (!rec_name_ok(abi_get_str(name), name->len)) {
			snprintf(err, errlen, "service removal with an invalid name");
			goto out;
		}
		ev = json_pack("{s:s, s:I, s:s%}", "type", "service.remove", "block", (json_int_t)block,
		               "name", abi_get_str(name), name->len);
		goto out;
	}
	rec = kind == 0 ? rec_node_from_abi(v->items[0], err, errlen)
	                : rec_service_from_abi(v->items[0], err, errlen);
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
