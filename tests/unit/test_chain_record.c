/* test_chain_record.c: canteen-chainwatch's decoding of Canteen views and logs (seeds made by anvil). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cmd/canteen-chainwatch/record.c"
#include "tap.h"

/* A page of getNodes (0) or of version 3's getServices (1), as rec decodes it. */
static json_t *decode_page(int services, const uint8_t *data, size_t len, char *err, size_t errlen)
{
	size_t raw, skipped;
	return rec_decode_page(services, data, len, &raw, &skipped, err, errlen);
}

#define SEEDS "tests/fuzz/corpus/chain_record/"

/* Whole file into a malloc'd buffer; *n its size. */
static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = f ? malloc(1 << 20) : NULL;
	*n = p ? fread(p, 1, 1 << 20, f) : 0;
	if (f)
		fclose(f);
	return p;
}

static json_t *decode_file(struct chainwatch *cw, const char *name, char *err, size_t errlen)
{
	size_t n;
	uint8_t *p = slurp(name, &n);
	json_t *out = NULL;
	int skip = 0;
	if (p && n > 0 && p[0] == 'n')
		out = decode_page(0, p + 1, n - 1, err, errlen);
	else if (p && n > 0 && p[0] == 's')
		out = decode_page(1, p + 1, n - 1, err, errlen);
	else if (p && n > 0) {
		json_t *log = json_loadb((const char *)p + 1, n - 1, 0, NULL);
		out = log ? cw_decode_log(cw, log, &skip, err, errlen) : NULL;
		json_decref(log);
	}
	free(p);
	return out;
}

static const char *sfield(json_t *o, const char *path)
{
	char key[64];
	const char *dot;
	while ((dot = strchr(path, '.'))) {
		size_t k = (size_t)(dot - path);
		memcpy(key, path, k);
		key[k] = '\0';
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return json_string_value(json_object_get(o, path));
}

int main(void)
{
	struct chainwatch cw;
	char err[256] = "";
	memset(&cw, 0, sizeof cw);
	cw.st.services = json_object(); /* the state's services: a fold (state.c) */
	cw.st.svc_meta = json_object();
	ok(cw_types_init(err, sizeof err) == 0, "contract types parse %s", err);
	eth_addr_parse("0x5fbdb2315678afecb367f032d93f642f64180aa3", cw.contract);
	cw_event_topics(cw.topics);

	/* ServiceScaled of a service the state's fold does not hold */
	json_t *scaled_ev = decode_file(&cw, SEEDS "service_scaled.json", err, sizeof err);
	ok(scaled_ev == NULL && strstr(err, "does not hold"), "a scale of a service the state lacks: %s", err);
	err[0] = '\0';

	json_t *ev = decode_file(&cw, SEEDS "service_upsert.json", err, sizeof err);
	ok(ev != NULL, "ServiceUpserted log decodes %s", err);
	json_t *svc = json_object_get(ev, "service");
	is_str(sfield(ev, "type"), "service.upsert", "type");
	is_str(sfield(svc, "name"), "ev", "name");
	is_int(json_integer_value(json_object_get(svc, "priority")), -7, "negative priority");
	is_str(sfield(svc, "strategy"), "binpack", "strategy by name");
	is_int(json_is_true(json_object_get(svc, "exclusive")), 1, "exclusive");
	is_str(sfield(svc, "selector.zone"), "b", "selector as an object");
	json_t *p1 = json_array_get(json_object_get(svc, "ports"), 1);
	is_str(sfield(p1, "proto"), "udp", "udp port");
	is_int(json_integer_value(json_object_get(p1, "container")), 53, "container port");
	is_int(json_integer_value(json_object_get(svc, "generation")), 1, "generation");
	is_int(json_integer_value(json_object_get(ev, "block")) > 0, 1, "block number");
	/* version 5's options: the keys not at their default */
	json_t *h = json_object_get(svc, "health"), *u = json_object_get(svc, "update");
	is_str(json_string_value(json_array_get(json_object_get(h, "cmd"), 1)), "test -f /tmp/ok",
	       "health cmd");
	is_int(json_integer_value(json_object_get(h, "interval_ms")), 5000, "health interval");
	is_int(json_integer_value(json_object_get(h, "retries")), 3, "health retries");
	ok(!json_object_get(h, "start_period_ms") && !json_object_get(h, "disabled"),
	   "defaults are left out");
	is_str(sfield(u, "failure_action"), "rollback", "failure action by name");
	is_int(json_integer_value(json_object_get(u, "max_failure_permille")), 250, "max failure permille");
	is_str(json_string_value(json_array_get(json_object_get(svc, "volumes"), 1)), "conf:/etc/db:ro",
	       "volumes");
	ok(json_is_true(json_object_get(svc, "stateful")) && json_is_true(json_object_get(svc, "read_only")),
	   "stateful, read_only");
	is_int(json_integer_value(json_object_get(svc, "failover_after_s")), 300, "failover_after_s");

	ok(json_object_get(cw.st.services, "ev") != NULL && json_object_get(cw.st.svc_meta, "ev") != NULL,
	   "the upsert is folded into the state");
	/* ServiceScaled: the record the state holds, with the new replicas and generation */
	scaled_ev = decode_file(&cw, SEEDS "service_scaled.json", err, sizeof err);
	ok(scaled_ev != NULL, "ServiceScaled log decodes %s", err);
	is_str(sfield(scaled_ev, "type"), "service.upsert", "a scale is a service.upsert");
	json_t *ssvc = json_object_get(scaled_ev, "service");
	is_int(json_integer_value(json_object_get(ssvc, "replicas")), 9, "scaled replicas");
	is_int(json_integer_value(json_object_get(ssvc, "generation")), 2, "scaled generation");
	is_int(json_integer_value(json_object_get(ssvc, "priority")), -7, "the rest of the record kept");
	is_int(json_integer_value(json_object_get(svc, "replicas")), 3, "the state's record untouched");
	json_decref(scaled_ev);
	json_decref(ev);

	ev = decode_file(&cw, SEEDS "node_upsert.json", err, sizeof err);
	is_str(sfield(ev, "type"), "node.upsert", "NodeUpserted log %s", err);
	is_str(sfield(ev, "node.address"), "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "node address");
	is_str(sfield(ev, "node.labels.disk"), "ssd", "labels");
	is_int(strlen(sfield(ev, "node.swim_pubkey") ? sfield(ev, "node.swim_pubkey") : ""), 64,
	       "public key: 64 hex digits");
	is_int(json_integer_value(json_object_get(json_object_get(ev, "node"), "activation")), 1,
	       "activation: the order of becoming active (contract version 6)");
	json_decref(ev);

	ev = decode_file(&cw, SEEDS "node_remove.json", err, sizeof err);
	is_str(sfield(ev, "address"), "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "node.remove %s", err);
	json_decref(ev);
	ev = decode_file(&cw, SEEDS "service_remove.json", err, sizeof err);
	is_str(sfield(ev, "name"), "ev", "service.remove %s", err);
	json_decref(ev);

	ok(json_object_get(cw.st.services, "ev") == NULL && json_object_get(cw.st.svc_meta, "ev") == NULL,
	   "the removal is folded into the state");
	ev = decode_file(&cw, SEEDS "nodes.bin", err, sizeof err);
	is_int(json_array_size(ev), 1, "getNodes page %s", err);
	is_int(json_integer_value(json_object_get(json_array_get(ev, 0), "activation")), 3, "the page's activation");
	json_decref(ev);
	/* An activation past 2^53 (a lying endpoint: the contract counts activations) leaves the record
	 * out, as any malformed one. */
	size_t pn;
	uint8_t *praw = slurp(SEEDS "nodes.bin", &pn);
	if (praw && pn > 1 + 11 * 32) {
		/* word 10 of the page (offset, length, the tuple's offset, then its head): activation */
		praw[1 + 10 * 32 + 24] = 0x01;
		size_t rawn, skipped;
		json_t *page = rec_decode_page(0, praw + 1, pn - 1, &rawn, &skipped, err, sizeof err);
		ok(page && json_array_size(page) == 0 && skipped == 1 && strstr(err, "activation"),
		   "an activation past 2^53 is refused: %s", err);
		json_decref(page);
	}
	free(praw);

	/* a log of another contract is refused; an unknown topic is skipped, not an error */
	size_t n;
	uint8_t *raw = slurp(SEEDS "service_upsert.json", &n);
	json_t *log = raw ? json_loadb((const char *)raw + 1, n - 1, 0, NULL) : NULL;
	free(raw);
	int skip = 0;
	json_object_set_new(log, "address", json_string("0x0000000000000000000000000000000000000001"));
	ok(cw_decode_log(&cw, log, &skip, err, sizeof err) == NULL && !skip, "foreign address refused: %s", err);
	json_object_set_new(log, "address", json_string("0x5fbdb2315678afecb367f032d93f642f64180aa3"));
	json_array_set_new(json_object_get(log, "topics"), 0,
	                   json_string("0x1111111111111111111111111111111111111111111111111111111111111111"));
	ok(cw_decode_log(&cw, log, &skip, err, sizeof err) == NULL && skip, "unknown event skipped");
	json_decref(log);

	/* truncated data is an error, never a crash */
	uint8_t *raw2;
	raw = slurp(SEEDS "nodes.bin", &n);
	for (size_t cut = 1; raw && cut < n; cut += 37)
		json_decref(decode_page(0, raw + 1, n - 1 - cut, err, sizeof err));
	raw2 = slurp(SEEDS "service_upsert.json", &n);
	log = raw2 ? json_loadb((const char *)raw2 + 1, n - 1, 0, NULL) : NULL;
	/* A copy: setting "data" frees the log's own string. */
	char *data = strdup(json_string_value(json_object_get(log, "data")) ? json_string_value(json_object_get(log, "data")) : "");
	char cut_data[8192];
	for (size_t cut = 2; data && cut < strlen(data) && cut < sizeof cut_data; cut += 64) {
		memcpy(cut_data, data, cut);
		cut_data[cut] = '\0';
		json_object_set_new(log, "data", json_string(cut_data));
		json_decref(cw_decode_log(&cw, log, &skip, err, sizeof err));
	}
	json_decref(log);
	free(data);
	free(raw2);
	free(raw);
	ok(1, "truncated pages do not crash");

	cw_types_free();
	json_decref(cw.st.services);
	json_decref(cw.st.svc_meta);
	/* Endpoints and labels are printable ASCII within the contract's limits. */
	char lab[REC_MAX_LABEL_LEN + 2], ep[REC_MAX_ENDPOINT + 2];
	memset(lab, 'v', sizeof lab);
	memcpy(lab, "k=", 2);
	memset(ep, '1', sizeof ep);
	ok(rec_label_ok(lab, REC_MAX_LABEL_LEN) && !rec_label_ok(lab, REC_MAX_LABEL_LEN + 1),
	   "a label of %d bytes, not %d", REC_MAX_LABEL_LEN, REC_MAX_LABEL_LEN + 1);
	ok(rec_label_ok("k=a b ~", 7) && !rec_label_ok("k=a\001", 4) && !rec_label_ok("k=\177", 3) &&
	   !rec_label_ok("k=\303\274", 4) && !rec_label_ok("=v", 2),
	   "a label is k=v of 0x20..0x7e");
	ok(rec_endpoint_ok(ep, REC_MAX_ENDPOINT) && !rec_endpoint_ok(ep, REC_MAX_ENDPOINT + 1) &&
	   !rec_endpoint_ok("a b", 3) && !rec_endpoint_ok("a\tb", 3) && !rec_endpoint_ok("", 0),
	   "an endpoint is 1 to %d bytes of 0x21..0x7e", REC_MAX_ENDPOINT);
	json_t *nd = json_pack("{s:s, s:s, s:i, s:i, s:{s:s}, s:b}", "address",
	                       "0x1111111111111111111111111111111111111111", "endpoint", "127.0.0.1:7946",
	                       "cpu_millis", 1, "mem_mib", 1, "labels", "zone", "a\033[2J", "active", 1);
	char why[256];
	ok(rec_node_check(nd, why, sizeof why) < 0 && strstr(why, "printable"),
	   "a NODE with a control byte in a label is refused: %s", why);
	json_object_set_new(json_object_get(nd, "labels"), "zone", json_string("a"));
	json_object_set_new(nd, "endpoint", json_string("host name:1"));
	ok(rec_node_check(nd, why, sizeof why) < 0 && strstr(why, "printable"),
	   "a NODE with a space in its endpoint is refused: %s", why);
	json_decref(nd);
	return done_testing();
}
