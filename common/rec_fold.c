/* rec_fold.c: services from the contract's logs (version 4): decode, fold, check against serviceStates. */
#include <string.h>

#include "errf.h"
#include "eth_abi.h"
#include "eth_keccak.h"
#include "rec_fold.h"

static const char *const event_sigs[REC_FOLD_NEVENTS] = {
	"ServiceUpserted(bytes32,uint64,bytes)",
	"ServiceScaled(bytes32,string,uint64,uint32)",
	"ServiceRemoved(bytes32,string,uint64)",
};
static const char *const data_types[REC_FOLD_NEVENTS] = {
	"(uint64,bytes)",
	"(string,uint64,uint32)",
	"(string,uint64)",
};

int rec_fold_init(struct rec_fold *f)
{
	f->services = json_object();
	f->meta = json_object();
	if (f->services && f->meta)
		return 0;
	rec_fold_free(f);
	return -1;
}

void rec_fold_free(struct rec_fold *f)
{
	json_decref(f->services);
	json_decref(f->meta);
	f->services = f->meta = NULL;
}

void rec_fold_topics(uint8_t topics[REC_FOLD_NEVENTS][32])
{
	for (int i = 0; i < REC_FOLD_NEVENTS; i++)
		eth_keccak256(event_sigs[i], strlen(event_sigs[i]), topics[i]);
}

void rec_fold_selector(const char *sig, char out[11])
{
	uint8_t h[32];
	eth_keccak256(sig, strlen(sig), h);
	eth_hex_encode(h, 4, out, 11);
}

void rec_fold_change_free(struct rec_fold_change *c)
{
	json_decref(c->service);
	c->service = NULL;
}

/* A name of the contract's grammar whose keccak256 is the log's nameHash into c->name. */
static int take_name(const struct abi_value *v, const uint8_t hash[32], struct rec_fold_change *c,
                     char *err, size_t errlen)
{
	uint8_t h[32];
	if (v->kind != ABI_STRING || !rec_name_ok(abi_get_str(v), v->len))
		return errf(err, errlen, "service log with an invalid name");
	eth_keccak256(v->data, v->len, h);
	if (memcmp(h, hash, 32) != 0)
		return errf(err, errlen, "service log whose name %s is not its nameHash", abi_get_str(v));
	memcpy(c->name, v->data, v->len);
	c->name[v->len] = '\0';
	return 0;
}

static int u64_of(const struct abi_value *v, uint64_t max, uint64_t *out)
{
	int over = 0;
	*out = abi_get_u64(v, &over);
	return over || *out > max ? -1 : 0;
}

/* ServiceUpserted: (generation, spec bytes). */
static int decode_upsert(const struct abi_value *v, const uint8_t hash[32], struct rec_fold_change *c,
                         char *err, size_t errlen)
{
	struct abi_value *spec = NULL;
	uint8_t h[32];
	const struct abi_value *bytes = v->items[1];
	if (u64_of(v->items[0], REC_MAX_GENERATION, &c->generation) < 0)
		return errf(err, errlen, "service log with a generation out of range");
	struct abi_type *t = abi_type_parse(REC_SPEC_ABI, err, errlen);
	if (!t)
		return -1;
	int rc = abi_decode(t, bytes->data, bytes->len, &spec, err, errlen);
	abi_type_free(t);
	if (rc < 0)
		return -1;
	rc = take_name(spec->items[0], hash, c, err, errlen);
	if (rc == 0) {
		eth_keccak256(bytes->data, bytes->len, h);
		eth_hex_encode(h, REC_FOLD_HASH_LEN, c->hash, sizeof c->hash);
		c->replicas = abi_get_u64(spec->items[4], &(int){0});
		c->service = rec_service_from_spec(spec, c->generation, err, errlen);
	}
	abi_value_free(spec);
	return rc;
}

/* What a container of a service runs: the keys the previous record keeps. */
static const char *const run_keys[] = {"image", "command", "env", "cpu_millis", "mem_mib",
                                       "ports", "health", "volumes", "read_only"};

static int runs_same(const json_t *a, const json_t *b)
{
	for (size_t i = 0; i < sizeof run_keys / sizeof run_keys[0]; i++) {
		const json_t *x = json_object_get(a, run_keys[i]), *y = json_object_get(b, run_keys[i]);
		if ((x || y) && !(x && y && json_equal(x, y)))
			return 0;
	}
	return 1;
}

/* An upsert's "previous": what the record before it ran, with its generation, when this
 * one runs something else; else the record before's own "previous" (a change of replicas,
 * priority or placement keeps the version to return to). */
static int add_previous(const struct rec_fold *f, json_t *svc)
{
	const json_t *old = json_object_get(f->services, json_string_value(json_object_get(svc, "name")));
	if (!old)
		return 0;
	if (runs_same(old, svc)) {
		json_t *keep = json_object_get(old, "previous");
		return keep ? json_object_set(svc, "previous", keep) : 0;
	}
	json_t *prev = json_pack("{s:O}", "generation", json_object_get(old, "generation"));
	for (size_t i = 0; prev && i < sizeof run_keys / sizeof run_keys[0]; i++) {
		json_t *v = json_object_get(old, run_keys[i]);
		if (v && json_object_set(prev, run_keys[i], v) < 0) {
			json_decref(prev);
			prev = NULL;
		}
	}
	return prev ? json_object_set_new(svc, "previous", prev) : -1;
}

/* ServiceScaled: the record the fold holds, with the new replicas and generation. */
static int decode_scale(const struct rec_fold *f, struct rec_fold_change *c, char *err, size_t errlen)
{
	const json_t *m = json_object_get(f->meta, c->name);
	if (!m)
		return errf(err, errlen, "scale of service %s, which the state does not hold", c->name);
	snprintf(c->hash, sizeof c->hash, "%s", json_string_value(json_array_get(m, 2)));
	const json_t *old = json_object_get(f->services, c->name);
	if (!old)
		return errf(err, errlen, "scale of service %s, whose record was left out", c->name);
	json_t *svc = json_deep_copy(old);
	if (!svc)
		return errf(err, errlen, "out of memory");
	json_object_set_new(svc, "replicas", json_integer((json_int_t)c->replicas));
	json_object_set_new(svc, "generation", json_integer((json_int_t)c->generation));
	if (rec_service_check(svc, err, errlen) < 0) {
		json_decref(svc);
		return 0; /* held by the contract, left out here (err says why) */
	}
	c->service = svc;
	return 0;
}

int rec_fold_decode(const struct rec_fold *f, const uint8_t (*topics)[32], size_t ntopics,
                    const uint8_t *data, size_t len, struct rec_fold_change *c, char *err,
                    size_t errlen)
{
	uint8_t want[REC_FOLD_NEVENTS][32];
	struct abi_value *v = NULL;
	int kind = -1, rc = -1;
	memset(c, 0, sizeof *c);
	if (err && errlen)
		err[0] = '\0';
	rec_fold_topics(want);
	for (int i = 0; ntopics > 0 && i < REC_FOLD_NEVENTS; i++)
		if (memcmp(topics[0], want[i], 32) == 0)
			kind = i;
	if (kind < 0)
		return errf(err, errlen, "not a service event");
	if (ntopics != 2)
		return errf(err, errlen, "service log with malformed topics");
	c->kind = (enum rec_fold_kind)kind;
	struct abi_type *t = abi_type_parse(data_types[kind], err, errlen);
	if (!t || abi_decode(t, data, len, &v, err, errlen) < 0)
		goto out;
	switch (c->kind) {
	case REC_FOLD_UPSERT:
		rc = decode_upsert(v, topics[1], c, err, errlen);
		if (rc == 0 && c->service && add_previous(f, c->service) < 0) {
			rc = errf(err, errlen, "out of memory");
			json_decref(c->service);
			c->service = NULL;
		}
		break;
	case REC_FOLD_SCALE:
		if (take_name(v->items[0], topics[1], c, err, errlen) < 0)
			break;
		if (u64_of(v->items[1], REC_MAX_GENERATION, &c->generation) < 0 ||
		    u64_of(v->items[2], REC_U32_MAX, &c->replicas) < 0 || c->replicas == 0) {
			errf(err, errlen, "scale of service %s out of range", c->name);
			break;
		}
		rc = decode_scale(f, c, err, errlen);
		break;
	case REC_FOLD_REMOVE:
		if (take_name(v->items[0], topics[1], c, err, errlen) < 0)
			break;
		if (u64_of(v->items[1], REC_MAX_GENERATION, &c->generation) < 0) {
			errf(err, errlen, "removal of service %s out of range", c->name);
			break;
		}
		rc = 0;
		break;
	}
out:
	abi_value_free(v);
	abi_type_free(t);
	if (rc < 0)
		rec_fold_change_free(c);
	return rc;
}

int rec_fold_apply(struct rec_fold *f, struct rec_fold_change *c)
{
	json_t *svc = c->service;
	c->service = NULL;
	if (c->kind == REC_FOLD_REMOVE) {
		json_object_del(f->services, c->name);
		json_object_del(f->meta, c->name);
		return 0;
	}
	json_t *m = json_pack("[I,I,s]", (json_int_t)c->generation, (json_int_t)c->replicas, c->hash);
	if (!m || json_object_set_new(f->meta, c->name, m) < 0) {
		json_decref(svc);
		return -1;
	}
	if (!svc) {
		json_object_del(f->services, c->name);
		return 0;
	}
	return json_object_set_new(f->services, c->name, svc);
}

json_t *rec_fold_event(const struct rec_fold_change *c, uint64_t block)
{
	if (c->kind == REC_FOLD_REMOVE || !c->service)
		return json_pack("{s:s, s:I, s:s}", "type", "service.remove", "block", (json_int_t)block,
		                 "name", c->name);
	return json_pack("{s:s, s:I, s:O}", "type", "service.upsert", "block", (json_int_t)block,
	                 "service", c->service);
}

/* ---- checking ---- */

json_t *rec_fold_names(const struct rec_fold *f)
{
	json_t *names = json_array(), *v;
	const char *k;
	json_object_foreach(f->meta, k, v) {
		if (!names || json_array_append_new(names, json_string(k)) < 0) {
			json_decref(names);
			return NULL;
		}
	}
	return names;
}

static int put_word(struct eth_buf *out, uint64_t v)
{
	uint8_t w[32] = {0};
	for (int i = 0; i < 8; i++)
		w[31 - i] = (uint8_t)(v >> (8 * i));
	return eth_buf_put(out, w, 32);
}

int rec_fold_states_call(const json_t *names, size_t off, size_t n, struct eth_buf *out,
                         char *err, size_t errlen)
{
	uint8_t sel[32], h[32];
	const char *sig = "serviceStates(bytes32[])";
	if (n > REC_FOLD_STATES_MAX || off + n > json_array_size(names))
		return errf(err, errlen, "serviceStates page out of range");
	eth_keccak256(sig, strlen(sig), sel);
	eth_buf_reset(out);
	eth_buf_put(out, sel, 4);
	put_word(out, 32);
	put_word(out, n);
	for (size_t i = off; i < off + n; i++) {
		const char *s = json_string_value(json_array_get(names, i));
		eth_keccak256(s, s ? strlen(s) : 0, h);
		eth_buf_put(out, h, 32);
	}
	return out->err ? errf(err, errlen, "out of memory") : 0;
}

int rec_fold_states_check(const struct rec_fold *f, const json_t *names, size_t off, size_t n,
                          const uint8_t *ret, size_t len, char *err, size_t errlen)
{
	struct abi_value *v = NULL;
	char hex[2 * REC_FOLD_HASH_LEN + 3];
	int rc = -1;
	struct abi_type *t = abi_type_parse("((bool,uint64,uint32,bytes20)[])", err, errlen);
	if (!t || abi_decode(t, ret, len, &v, err, errlen) < 0)
		goto out;
	const struct abi_value *list = v->items[0];
	if (list->n != n) {
		errf(err, errlen, "serviceStates answered %zu states for %zu names", list->n, n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = json_string_value(json_array_get(names, off + i));
		const json_t *m = json_object_get(f->meta, name ? name : "");
		const struct abi_value *s = list->items[i];
		int over = 0;
		uint64_t gen = abi_get_u64(s->items[1], &over), reps = abi_get_u64(s->items[2], &over);
		eth_hex_encode(s->items[3]->word, REC_FOLD_HASH_LEN, hex, sizeof hex);
		if (!m) {
			errf(err, errlen, "service %s is not in the logs", name ? name : "?");
			goto out;
		}
		if (s->items[0]->word[31] != 1) {
			errf(err, errlen, "service %s is in the logs but not on the chain", name ? name : "?");
			goto out;
		}
		if (gen != (uint64_t)json_integer_value(json_array_get(m, 0)) ||
		    reps != (uint64_t)json_integer_value(json_array_get(m, 1)) ||
		    strcmp(hex, json_string_value(json_array_get(m, 2))) != 0) {
			errf(err, errlen, "service %s: the logs give generation %lld, %lld replicas, spec %s; "
			     "the chain holds generation %llu, %llu replicas, spec %s", name,
			     (long long)json_integer_value(json_array_get(m, 0)),
			     (long long)json_integer_value(json_array_get(m, 1)),
			     json_string_value(json_array_get(m, 2)), (unsigned long long)gen,
			     (unsigned long long)reps, hex);
			goto out;
		}
	}
	rc = 0;
out:
	abi_value_free(v);
	abi_type_free(t);
	return rc;
}

int rec_fold_count_check(const struct rec_fold *f, const uint8_t *ret, size_t len, char *err,
                         size_t errlen)
{
	uint64_t n;
	if (len != 32 || eth_u256_to_u64(ret, &n) < 0)
		return errf(err, errlen, "serviceCount answered %zu bytes, not a number", len);
	if (n != json_object_size(f->meta))
		return errf(err, errlen, "the chain holds %llu services, the logs give %zu",
		            (unsigned long long)n, json_object_size(f->meta));
	return 0;
}
