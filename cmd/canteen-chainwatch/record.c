/* record.c: Canteen contract data (paged views, event logs) into chain.sock NODE/SERVICE objects. */
#include <stdio.h>
#include <string.h>

#include "chainwatch.h"
#include "errf.h"
#include "eth_abi.h"
#include "eth_keccak.h"
#include "rec.h"
#include "rec_fold.h"

/* The types come from rec.h, the one owner of the contract's records (tests/chainwatch.bats
 * checks them against the contract end to end). */
#define NODE_T REC_NODE_ABI

enum { T_NODE, T_COUNT };
static const char *type_src[T_COUNT] = {"(" NODE_T ")"};
static struct abi_type *types[T_COUNT];

/* The order of cw->topics: the node events here, then rec_fold's service events. */
enum { EV_NODE_UP, EV_NODE_RM, EV_SVC_FIRST };
static const char *event_sigs[EV_SVC_FIRST] = {
	"NodeUpserted(address," NODE_T ")",
	"NodeRemoved(address)",
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
	uint8_t svc[REC_FOLD_NEVENTS][32];
	for (int i = 0; i < EV_SVC_FIRST; i++)
		eth_keccak256(event_sigs[i], strlen(event_sigs[i]), topics[i]);
	rec_fold_topics(svc);
	for (int i = 0; i < REC_FOLD_NEVENTS; i++)
		memcpy(topics[EV_SVC_FIRST + i], svc[i], 32);
}

/* ---- logs ---- */

static int topic_of(const json_t *topics, size_t i, uint8_t out[32])
{
	const char *s = json_string_value(json_array_get(topics, i));
	return s ? eth_hex_decode_exact(s, out, 32) : -1;
}

/* The parts of a log from our contract: block, topics (at most 4), data (into buf).
 * -1 with err when malformed or from another address. */
static int log_parts(const struct chainwatch *cw, const json_t *log, uint64_t *block,
                     uint8_t topics[4][32], size_t *nt, struct eth_buf *buf, char *err, size_t errlen)
{
	uint8_t addr[ETH_ADDR_LEN];
	const json_t *tp = json_object_get(log, "topics");
	const char *a = json_string_value(json_object_get(log, "address"));
	const char *bn = json_string_value(json_object_get(log, "blockNumber"));
	const char *data = json_string_value(json_object_get(log, "data"));
	*nt = json_array_size(tp);
	if (!a || eth_addr_parse(a, addr) < 0 || !bn || eth_qty_parse(bn, block) < 0 || !data ||
	    !json_is_array(tp) || *nt == 0 || *nt > 4 || eth_hex_decode_buf(data, buf) < 0)
		return errf(err, errlen, "malformed log object");
	for (size_t i = 0; i < *nt; i++)
		if (topic_of(tp, i, topics[i]) < 0)
			return errf(err, errlen, "log with malformed topics");
	if (memcmp(addr, cw->contract, ETH_ADDR_LEN) != 0)
		return errf(err, errlen, "log from another address %s", a);
	return 0;
}

json_t *cw_fold_log(const struct chainwatch *cw, struct rec_fold *f, const json_t *log, int *skip,
                    char *err, size_t errlen)
{
	uint8_t topics[4][32];
	size_t nt;
	uint64_t block;
	struct eth_buf buf;
	struct rec_fold_change c;
	json_t *ev = NULL;
	*skip = 0;
	eth_buf_init(&buf);
	if (log_parts(cw, log, &block, topics, &nt, &buf, err, errlen) < 0)
		goto out;
	int ours = 0;
	for (int i = EV_SVC_FIRST; i < CW_NTOPICS; i++)
		ours |= memcmp(topics[0], cw->topics[i], 32) == 0;
	if (!ours) {
		*skip = 1;
		goto out;
	}
	if (rec_fold_decode(f, (const uint8_t(*)[32])topics, nt, buf.p, buf.len, &c, err, errlen) < 0)
		goto out;
	ev = rec_fold_event(&c, block);
	if (!ev || rec_fold_apply(f, &c) < 0) {
		json_decref(ev);
		ev = NULL;
		errf(err, errlen, "out of memory");
	}
	rec_fold_change_free(&c);
out:
	eth_buf_free(&buf);
	return ev;
}

json_t *cw_decode_log(struct chainwatch *cw, const json_t *log, int *skip, char *err, size_t errlen)
{
	uint8_t topics[4][32];
	size_t nt;
	uint64_t block;
	json_t *ev = NULL, *rec = NULL;
	struct abi_value *v = NULL;
	struct eth_buf buf;
	*skip = 0;
	eth_buf_init(&buf);
	if (log_parts(cw, log, &block, topics, &nt, &buf, err, errlen) < 0)
		goto out;
	if (memcmp(topics[0], cw->topics[EV_NODE_UP], 32) != 0 &&
	    memcmp(topics[0], cw->topics[EV_NODE_RM], 32) != 0) {
		/* A service event, or none of ours: the state's services are a fold. */
		struct rec_fold f = {cw->st.services, cw->st.svc_meta};
		ev = cw_fold_log(cw, &f, log, skip, err, errlen);
		goto out;
	}
	int kind = memcmp(topics[0], cw->topics[EV_NODE_UP], 32) == 0 ? EV_NODE_UP : EV_NODE_RM;
	if (nt != 2) {
		snprintf(err, errlen, "log with malformed topics");
		goto out;
	}
	char addr_hex[43];
	eth_addr_format(topics[1] + 12, addr_hex);
	if (kind == EV_NODE_RM) {
		ev = json_pack("{s:s, s:I, s:s}", "type", "node.remove", "block", (json_int_t)block,
		               "address", addr_hex);
		goto out;
	}
	if (abi_decode(types[T_NODE], buf.p, buf.len, &v, err, errlen) < 0)
		goto out;
	rec = rec_node_from_abi(v->items[0], err, errlen);
	/* A malformed record: a snapshot leaves it out, so drop the node here too (err still
	 * says why), and a server that followed the logs and one that starts later agree. */
	ev = rec ? json_pack("{s:s, s:I, s:o}", "type", "node.upsert", "block", (json_int_t)block, "node", rec)
	         : json_pack("{s:s, s:I, s:s}", "type", "node.remove", "block", (json_int_t)block,
	                     "address", addr_hex);
out:
	abi_value_free(v);
	eth_buf_free(&buf);
	return ev;
}
