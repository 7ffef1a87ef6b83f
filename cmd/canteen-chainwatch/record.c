/* record.c: Canteen contract data (paged views, event logs) into chain.sock NODE/SERVICE objects. */
#include <stdio.h>
#include <string.h>

#include "chainwatch.h"
#include "errf.h"
#include "eth_abi.h"
#include "eth_keccak.h"
#include "rec.h"

/* The types come from rec.h, the one owner of the contract's records (tests/chainwatch.bats
 * checks them against the contract end to end). */
#define NODE_T REC_NODE_ABI
#define SERVICE_T REC_SERVICE_ABI

enum { T_NODE, T_SERVICE, T_NAME, T_SCALED, T_COUNT };
static const char *type_src[T_COUNT] = {"(" NODE_T ")", "(" SERVICE_T ")", "(string)",
                                        "(string,uint32,uint64)"};
static struct abi_type *types[T_COUNT];

enum { EV_NODE_UP, EV_NODE_RM, EV_SVC_UP, EV_SVC_RM, EV_SVC_SCALED };
static const char *event_sigs[CW_NTOPICS] = {
	"NodeUpserted(address," NODE_T ")",
	"NodeRemoved(address)",
	"ServiceUpserted(bytes32," SERVICE_T ")",
	"ServiceRemoved(bytes32,string)",
	"ServiceScaled(bytes32,string,uint32,uint64)",
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

void cw_event_topics(uint8_t topics[CW_NTOPICS][32])
{
	for (int i = 0; i < CW_NTOPICS; i++)
		eth_keccak256(event_sigs[i], strlen(event_sigs[i]), topics[i]);
}

/* ---- logs ---- */

/* ServiceScaled (name, replicas, generation) over the record the state holds: the
 * service.upsert a full record would have made. NULL and err when there is none to
 * scale (a record left out as malformed) or the values break the record's rules. */
static json_t *scaled(const struct chainwatch *cw, const struct abi_value *v, uint64_t block,
                      char *err, size_t errlen)
{
	const struct abi_value *name = v->items[0];
	int over1, over2;
	uint64_t replicas = abi_get_u64(v->items[1], &over1), gen = abi_get_u64(v->items[2], &over2);
	if (!rec_name_ok(abi_get_str(name), name->len)) {
		errf(err, errlen, "service scale with an invalid name");
		return NULL;
	}
	const json_t *old = json_object_get(cw->st.services, abi_get_str(name));
	if (!old) {
		errf(err, errlen, "scale of service %s, which the state does not hold", abi_get_str(name));
		return NULL;
	}
	json_t *svc = json_deep_copy(old);
	json_object_set_new(svc, "replicas", json_integer((json_int_t)replicas));
	json_object_set_new(svc, "generation", json_integer((json_int_t)gen));
	if (over1 || over2 || rec_service_check(svc, err, errlen) < 0) {
		if (over1 || over2)
			errf(err, errlen, "service scale of %s out of range", abi_get_str(name));
		json_decref(svc);
		return NULL;
	}
	return json_pack("{s:s, s:I, s:o}", "type", "service.upsert", "block", (json_int_t)block,
	                 "service", svc);
}

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
	for (int i = 0; i < CW_NTOPICS; i++)
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
	if (kind == EV_NODE_RM) {
		char addr_hex[43];
		eth_addr_format(t1 + 12, addr_hex);
		ev = json_pack("{s:s, s:I, s:s}", "type", "node.remove", "block", (json_int_t)block,
		               "address", addr_hex);
		goto out;
	}
	int type = kind == EV_NODE_UP ? T_NODE : kind == EV_SVC_UP ? T_SERVICE
	         : kind == EV_SVC_SCALED ? T_SCALED : T_NAME;
	if (abi_decode(types[type], buf.p, buf.len, &v, err, errlen) < 0)
		goto out;
	if (kind == EV_SVC_SCALED) {
		ev = scaled(cw, v, block, err, errlen);
		goto out;
	}
	if (kind == EV_SVC_RM) {
		const struct abi_value *name = v->items[0];
		if (!rec_name_ok(abi_get_str(name), name->len)) {
			snprintf(err, errlen, "service removal with an invalid name");
			goto out;
		}
		ev = json_pack("{s:s, s:I, s:s%}", "type", "service.remove", "block", (json_int_t)block,
		               "name", abi_get_str(name), name->len);
		goto out;
	}
	rec = kind == EV_NODE_UP ? rec_node_from_abi(v->items[0], err, errlen)
	                : rec_service_from_abi(v->items[0], err, errlen);
	if (rec) {
		ev = json_pack("{s:s, s:I, s:o}", "type", kind == EV_NODE_UP ? "node.upsert" : "service.upsert",
		               "block", (json_int_t)block, kind == EV_NODE_UP ? "node" : "service", rec);
	} else if (kind == EV_NODE_UP) {
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
