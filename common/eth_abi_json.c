/* eth_abi_json.c: ABI values from and to JSON, contract ABI parameters, revert reasons. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "eth_abi.h"
#include "eth_keccak.h"

/* ---- 256-bit decimal arithmetic on big-endian words ---- */

/* w = w * 10 + d; -1 on overflow. */
static int word_mul10_add(uint8_t w[32], unsigned d)
{
	unsigned carry = d;
	for (int i = 31; i >= 0; i--) {
		unsigned v = w[i] * 10u + carry;
		w[i] = (uint8_t)v;
		carry = v >> 8;
	}
	return carry ? -1 : 0;
}

/* w = w / 10, returns the remainder. */
static unsigned word_div10(uint8_t w[32])
{
	unsigned rem = 0;
	for (int i = 0; i < 32; i++) {
		unsigned v = rem << 8 | w[i];
		w[i] = (uint8_t)(v / 10);
		rem = v % 10;
	}
	return rem;
}

static void word_negate(uint8_t w[32])
{
	unsigned carry = 1;
	for (int i = 31; i >= 0; i--) {
		unsigned v = (uint8_t)~w[i] + carry;
		w[i] = (uint8_t)v;
		carry = v >> 8;
	}
}

static int word_is_zero(const uint8_t w[32])
{
	for (int i = 0; i < 32; i++)
		if (w[i])
			return 0;
	return 1;
}

void abi_word_decimal(const uint8_t w[32], int is_signed, char *out, size_t outlen)
{
	uint8_t v[32];
	char digits[80];
	size_t n = 0;
	int neg = is_signed && (w[0] & 0x80);
	memcpy(v, w, 32);
	if (neg)
		word_negate(v);
	do
		digits[n++] = (char)('0' + word_div10(v));
	while (!word_is_zero(v) && n < sizeof digits);
	size_t k = 0;
	if (neg && k + 1 < outlen)
		out[k++] = '-';
	while (n && k + 1 < outlen)
		out[k++] = digits[--n];
	if (outlen)
		out[k < outlen ? k : outlen - 1] = '\0';
}

/* "123", "-5", "0x1f" into a word; signed values become two's complement. */
static int word_from_string(const char *s, int allow_neg, uint8_t w[32])
{
	int neg = 0;
	if (*s == '-' && allow_neg) {
		neg = 1;
		s++;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (eth_qty_parse_u256(s, w) < 0)
			return -1;
	} else {
		if (!*s)
			return -1;
		memset(w, 0, 32);
		for (; *s; s++)
			if (*s < '0' || *s > '9' || word_mul10_add(w, (unsigned)(*s - '0')) < 0)
				return -1;
	}
	if (neg) {
		if (w[0] & 0x80) {
			/* Only -2^255 has its magnitude's top bit set. */
			uint8_t rest[32] = {0};
			memcpy(rest + 1, w + 1, 31);
			if (w[0] != 0x80 || !word_is_zero(rest))
				return -1;
		}
		word_negate(w);
	}
	return 0;
}

/* ---- JSON to values ---- */

static struct abi_value *int_from_json(const struct abi_type *t, const json_t *j, char *err,
                                       size_t errlen)
{
	uint8_t w[32];
	int is_signed = t->kind == ABI_INT;
	if (json_is_integer(j)) {
		json_int_t v = json_integer_value(j);
		if (v < 0 && !is_signed)
			goto bad;
		eth_u256_from_u64((uint64_t)v, w);
		if (v < 0)
			memset(w, 0xff, 24);
	} else if (!json_is_string(j) || word_from_string(json_string_value(j), is_signed, w) < 0) {
		goto bad;
	}
	if (!is_signed && t->size < 256) {
		for (unsigned i = 0; i < (256 - t->size) / 8; i++)
			if (w[i])
				goto bad;
	}
	struct abi_value *v = abi_u256(w);
	if (v)
		v->kind = t->kind;
	return v;
bad:
	errf(err, errlen, "not a valid %sint%u value", is_signed ? "" : "u", t->size);
	return NULL;
}

static struct abi_value *bytes_from_json(const struct abi_type *t, const json_t *j, char *err,
                                         size_t errlen)
{
	struct eth_buf b;
	struct abi_value *v = NULL;
	eth_buf_init(&b);
	if (!json_is_string(j) || eth_hex_decode_buf(json_string_value(j), &b) < 0) {
		errf(err, errlen, "bytes must be a hex string");
		goto done;
	}
	if (t->kind == ABI_BYTESN) {
		if (b.len != t->size) {
			errf(err, errlen, "bytes%u needs %u bytes, got %zu", t->size, t->size, b.len);
			goto done;
		}
		v = abi_bytesn(b.p, b.len);
	} else {
		v = abi_bytes(b.p, b.len);
	}
done:
	eth_buf_free(&b);
	return v;
}

struct abi_value *abi_value_from_json(const struct abi_type *t, const json_t *j, char *err,
                                      size_t errlen)
{
	uint8_t a[ETH_ADDR_LEN];
	switch (t->kind) {
	case ABI_UINT:
	case ABI_INT: return int_from_json(t, j, err, errlen);
	case ABI_ADDRESS:
		if (!json_is_string(j) || eth_addr_parse(json_string_value(j), a) < 0)
			break;
		return abi_addr(a);
	case ABI_BOOL:
		if (!json_is_boolean(j))
			break;
		return abi_bool(json_is_true(j));
	case ABI_BYTESN:
	case ABI_BYTES: return bytes_from_json(t, j, err, errlen);
	case ABI_STRING:
		if (!json_is_string(j))
			break;
		return abi_strn(json_string_value(j), json_string_length(j));
	case ABI_ARRAY:
	case ABI_TUPLE: {
		size_t n = t->kind == ABI_TUPLE ? t->ncomps : (size_t)t->fixed;
		if (!json_is_array(j) || (t->kind == ABI_TUPLE || t->fixed >= 0 ? json_array_size(j) != n : 0)) {
			errf(err, errlen, "expected a JSON array of %zu items", n);
			return NULL;
		}
		struct abi_value *list = abi_list(t->kind);
		for (size_t i = 0; list && i < json_array_size(j); i++) {
			const struct abi_type *it = t->kind == ABI_TUPLE ? t->comps[i] : t->elem;
			struct abi_value *item = abi_value_from_json(it, json_array_get(j, i), err, errlen);
			if (!item || abi_push(list, item) < 0) {
				abi_value_free(list);
				return NULL;
			}
		}
		return list;
	}
	}
	char name[64];
	abi_type_name(t, name, sizeof name);
	errf(err, errlen, "not a valid %s value", name);
	return NULL;
}

/* ---- values to JSON ---- */

static json_t *word_to_json(const uint8_t w[32], int is_signed)
{
	uint64_t u;
	uint8_t tmp[32];
	memcpy(tmp, w, 32);
	int neg = is_signed && (w[0] & 0x80);
	if (neg)
		word_negate(tmp);
	if (eth_u256_to_u64(tmp, &u) == 0 && u <= (uint64_t)INT64_MAX)
		return json_integer(neg ? -(json_int_t)u : (json_int_t)u);
	char dec[80];
	abi_word_decimal(w, is_signed, dec, sizeof dec);
	return json_string(dec);
}

json_t *abi_value_to_json(const struct abi_type *t, const struct abi_value *v)
{
	char buf[80];
	switch (t->kind) {
	case ABI_UINT: return word_to_json(v->word, 0);
	case ABI_INT: return word_to_json(v->word, 1);
	case ABI_ADDRESS:
		eth_addr_format(v->word + 12, buf);
		return json_string(buf);
	case ABI_BOOL: return json_boolean(v->word[31]);
	case ABI_BYTESN:
		eth_hex_encode(v->word, t->size, buf, sizeof buf);
		return json_string(buf);
	case ABI_BYTES: {
		char *h = eth_hex_alloc(v->data, v->len);
		json_t *j = h ? json_string(h) : NULL;
		free(h);
		return j;
	}
	case ABI_STRING: return json_stringn((const char *)v->data, v->len);
	case ABI_ARRAY:
	case ABI_TUPLE: {
		json_t *a = json_array();
		for (size_t i = 0; a && i < v->n; i++) {
			const struct abi_type *it = t->kind == ABI_TUPLE ? t->comps[i] : t->elem;
			if (json_array_append_new(a, abi_value_to_json(it, v->items[i])) < 0) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	}
	return NULL;
}

/* ---- named tuples, guided by a JSON ABI parameter ---- */

struct abi_value *abi_value_from_param(const json_t *param, const struct abi_type *t,
                                       const json_t *j, char *err, size_t errlen)
{
	json_t *comps = json_object_get(param, "components");
	if (t->kind == ABI_TUPLE && json_is_object(j)) {
		struct abi_value *list = abi_list(ABI_TUPLE);
		for (size_t i = 0; list && i < t->ncomps; i++) {
			json_t *c = json_array_get(comps, i);
			const char *name = json_string_value(json_object_get(c, "name"));
			json_t *item = name ? json_object_get(j, name) : NULL;
			if (!item) {
				errf(err, errlen, "missing field '%s'", name ? name : "?");
				abi_value_free(list);
				return NULL;
			}
			struct abi_value *v = abi_value_from_param(c, t->comps[i], item, err, errlen);
			if (!v || abi_push(list, v) < 0) {
				abi_value_free(list);
				return NULL;
			}
		}
		if (list && json_object_size(j) != t->ncomps) {
			errf(err, errlen, "unknown fields in tuple");
			abi_value_free(list);
			return NULL;
		}
		return list;
	}
	if ((t->kind == ABI_TUPLE || t->kind == ABI_ARRAY) && json_is_array(j) && comps) {
		size_t n = json_array_size(j);
		if (t->kind == ABI_TUPLE ? n != t->ncomps : t->fixed >= 0 && n != (size_t)t->fixed) {
			errf(err, errlen, "wrong number of items");
			return NULL;
		}
		struct abi_value *list = abi_list(t->kind);
		for (size_t i = 0; list && i < n; i++) {
			const json_t *sub = t->kind == ABI_TUPLE ? json_array_get(comps, i) : param;
			const struct abi_type *st = t->kind == ABI_TUPLE ? t->comps[i] : t->elem;
			struct abi_value *v = abi_value_from_param(sub, st, json_array_get(j, i), err, errlen);
			if (!v || abi_push(list, v) < 0) {
				abi_value_free(list);
				return NULL;
			}
		}
		return list;
	}
	return abi_value_from_json(t, j, err, errlen);
}

json_t *abi_value_to_param(const json_t *param, const struct abi_type *t,
                           const struct abi_value *v)
{
	json_t *comps = json_object_get(param, "components");
	if (!comps || (t->kind != ABI_TUPLE && t->kind != ABI_ARRAY))
		return abi_value_to_json(t, v);
	json_t *out = t->kind == ABI_TUPLE ? json_object() : json_array();
	for (size_t i = 0; out && i < v->n; i++) {
		if (t->kind == ABI_ARRAY) {
			if (json_array_append_new(out, abi_value_to_param(param, t->elem, v->items[i])) < 0)
				goto fail;
			continue;
		}
		json_t *c = json_array_get(comps, i);
		const char *name = json_string_value(json_object_get(c, "name"));
		char fallback[24];
		if (!name || !*name) {
			snprintf(fallback, sizeof fallback, "%zu", i);
			name = fallback;
		}
		if (json_object_set_new(out, name, abi_value_to_param(c, t->comps[i], v->items[i])) < 0)
			goto fail;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* ---- contract JSON ABI ---- */

struct abi_type *abi_tuple_from_json(const json_t *params, char *err, size_t errlen)
{
	if (!json_is_array(params)) {
		errf(err, errlen, "ABI parameters must be an array");
		return NULL;
	}
	struct abi_type *t = abi_type_parse("()", err, errlen);
	if (!t)
		return NULL;
	t->comps = calloc(json_array_size(params) + 1, sizeof *t->comps);
	if (!t->comps) {
		abi_type_free(t);
		return NULL;
	}
	for (size_t i = 0; i < json_array_size(params); i++) {
		struct abi_type *c = abi_type_from_json(json_array_get(params, i), err, errlen);
		if (!c) {
			abi_type_free(t);
			return NULL;
		}
		t->comps[t->ncomps++] = c;
	}
	return t;
}

struct abi_type *abi_type_from_json(const json_t *param, char *err, size_t errlen)
{
	const char *type = json_string_value(json_object_get(param, "type"));
	if (!type) {
		errf(err, errlen, "ABI parameter without a type");
		return NULL;
	}
	if (strncmp(type, "tuple", 5) != 0)
		return abi_type_parse(type, err, errlen);
	/* "tuple[2][]": build the tuple, then wrap it with the suffix parsed on a stand-in. */
	struct abi_type *tuple = abi_tuple_from_json(json_object_get(param, "components"), err, errlen);
	if (!tuple || type[5] == '\0')
		return tuple;
	char stand_in[128];
	if (snprintf(stand_in, sizeof stand_in, "bool%s", type + 5) >= (int)sizeof stand_in) {
		abi_type_free(tuple);
		errf(err, errlen, "ABI type too long");
		return NULL;
	}
	struct abi_type *outer = abi_type_parse(stand_in, err, errlen);
	if (!outer) {
		abi_type_free(tuple);
		return NULL;
	}
	struct abi_type *in = outer;
	while (in->elem && in->elem->kind == ABI_ARRAY)
		in = in->elem;
	abi_type_free(in->elem);
	in->elem = tuple;
	return outer;
}

/* ---- calls and events by name ---- */

const json_t *abi_find(const json_t *abi, const char *type, const char *name)
{
	size_t i;
	json_t *item;
	json_array_foreach(abi, i, item) {
		const char *t = json_string_value(json_object_get(item, "type"));
		const char *n = json_string_value(json_object_get(item, "name"));
		if (t && n && strcmp(t, type) == 0 && strcmp(n, name) == 0)
			return item;
	}
	return NULL;
}

int abi_item_hash(const json_t *item, uint8_t out[32])
{
	char err[128], tn[2048], sig[2304];
	const char *name = json_string_value(json_object_get(item, "name"));
	struct abi_type *t = abi_tuple_from_json(json_object_get(item, "inputs"), err, sizeof err);
	int rc = -1;
	if (name && t && abi_type_name(t, tn, sizeof tn) == 0 &&
	    snprintf(sig, sizeof sig, "%s%s", name, tn) < (int)sizeof sig) {
		eth_keccak256(sig, strlen(sig), out);
		rc = 0;
	}
	abi_type_free(t);
	return rc;
}

/* {"type":"tuple","components":params}: the parameter form of a whole list. */
static json_t *tuple_param(json_t *params)
{
	return json_pack("{s:s, s:O}", "type", "tuple", "components", params ? params : json_null());
}

int abi_call_encode(const json_t *abi, const char *fn, const json_t *args, struct eth_buf *out,
                    char *err, size_t errlen)
{
	const json_t *f = abi_find(abi, "function", fn);
	uint8_t h[32];
	if (!f || abi_item_hash(f, h) < 0)
		return errf(err, errlen, "the contract ABI has no function %s", fn);
	json_t *inputs = json_object_get(f, "inputs"), *param = tuple_param(inputs);
	struct abi_type *t = abi_tuple_from_json(inputs, err, errlen);
	struct abi_value *v = t && param ? abi_value_from_param(param, t, args, err, errlen) : NULL;
	int rc = -1;
	if (v) {
		eth_buf_put(out, h, 4);
		rc = abi_encode(t, v, out, err, errlen);
	}
	abi_value_free(v);
	abi_type_free(t);
	json_decref(param);
	return rc;
}

/* Decode data as the tuple params into a JSON array, one item per parameter. */
static int decode_params(json_t *params, const uint8_t *data, size_t len, json_t **out, char *err,
                         size_t errlen)
{
	json_t *param = tuple_param(params);
	struct abi_type *t = abi_tuple_from_json(params, err, errlen);
	struct abi_value *v = NULL;
	int rc = -1;
	*out = NULL;
	if (t && param && abi_decode(t, data, len, &v, err, errlen) == 0) {
		*out = json_array();
		for (size_t i = 0; *out && i < t->ncomps; i++)
			if (json_array_append_new(*out, abi_value_to_param(json_array_get(params, i), t->comps[i],
			                                                   v->items[i])) < 0) {
				json_decref(*out);
				*out = NULL;
			}
		rc = *out ? 0 : errf(err, errlen, "cannot represent the decoded values as JSON");
	}
	abi_value_free(v);
	abi_type_free(t);
	json_decref(param);
	return rc;
}

int abi_call_decode(const json_t *abi, const char *fn, const uint8_t *data, size_t len,
                    json_t **out, char *err, size_t errlen)
{
	const json_t *f = abi_find(abi, "function", fn);
	*out = NULL;
	if (!f)
		return errf(err, errlen, "the contract ABI has no function %s", fn);
	return decode_params(json_object_get(f, "outputs"), data, len, out, err, errlen);
}

/* Decode the data part and the indexed topics of one event into a named object. */
static int decode_event(const json_t *ev, const uint8_t (*topics)[32], size_t ntopics,
                        const uint8_t *data, size_t len, json_t **out, char *err, size_t errlen)
{
	json_t *inputs = json_object_get(ev, "inputs"), *plain = json_array(), *vals = NULL;
	size_t i, ti = 1;
	json_t *in;
	int rc = -1;
	*out = json_object();
	json_array_foreach(inputs, i, in) {
		if (!json_is_true(json_object_get(in, "indexed")))
			json_array_append(plain, in);
	}
	if (!*out || !plain || decode_params(plain, data, len, &vals, err, errlen) < 0)
		goto done;
	size_t k = 0;
	json_array_foreach(inputs, i, in) {
		const char *name = json_string_value(json_object_get(in, "name"));
		json_t *v;
		if (!json_is_true(json_object_get(in, "indexed"))) {
			v = json_incref(json_array_get(vals, k++));
		} else {
			if (ti >= ntopics) {
				errf(err, errlen, "event has fewer topics than indexed fields");
				goto done;
			}
			struct abi_type *t = abi_type_from_json(in, err, errlen);
			struct abi_value *av = NULL;
			if (t && !abi_type_is_dynamic(t) && t->kind != ABI_TUPLE && t->kind != ABI_ARRAY &&
			    abi_decode(t, topics[ti], 32, &av, err, errlen) == 0) {
				v = abi_value_to_json(t, av);
			} else {
				char h[67];
				eth_hex_encode(topics[ti], 32, h, sizeof h);
				v = json_string(h);
			}
			abi_value_free(av);
			abi_type_free(t);
			ti++;
		}
		json_object_set_new(*out, name && *name ? name : "_", v);
	}
	rc = 0;
done:
	json_decref(plain);
	json_decref(vals);
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int abi_log_decode(const json_t *abi, const uint8_t (*topics)[32], size_t ntopics,
                   const uint8_t *data, size_t len, const char **name, json_t **out, char *err,
                   size_t errlen)
{
	size_t i;
	json_t *item;
	*out = NULL;
	*name = NULL;
	if (ntopics == 0)
		return errf(err, errlen, "anonymous log (no topics)");
	json_array_foreach(abi, i, item) {
		const char *type = json_string_value(json_object_get(item, "type"));
		uint8_t h[32];
		if (!type || strcmp(type, "event") != 0 || abi_item_hash(item, h) < 0 ||
		    memcmp(h, topics[0], 32) != 0)
			continue;
		*name = json_string_value(json_object_get(item, "name"));
		return decode_event(item, topics, ntopics, data, len, out, err, errlen);
	}
	return errf(err, errlen, "log of an event the ABI does not know");
}

/* ---- revert reasons ---- */

static const char *panic_meaning(uint64_t code)
{
	switch (code) {
	case 0x00: return "generic compiler panic";
	case 0x01: return "assertion failed";
	case 0x11: return "arithmetic overflow or underflow";
	case 0x12: return "division or modulo by zero";
	case 0x21: return "invalid enum value";
	case 0x22: return "corrupt storage byte array";
	case 0x31: return "pop on an empty array";
	case 0x32: return "array index out of bounds";
	case 0x41: return "out of memory";
	case 0x51: return "call to an uninitialised function";
	default: return "unknown panic code";
	}
}

/* Append v as a short human form to out at *n. */
static void append_arg(const struct abi_type *t, const struct abi_value *v, char *out,
                       size_t outlen, size_t *n)
{
	json_t *j = abi_value_to_json(t, v);
	char *s = NULL;
	if (j && json_is_string(j) && t->kind == ABI_STRING) {
		s = json_dumps(j, JSON_ENCODE_ANY);
	} else if (j && json_is_string(j)) {
		s = strdup(json_string_value(j));
	} else if (j) {
		s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	}
	int w = snprintf(out + *n, outlen - *n, "%s", s ? s : "?");
	if (w > 0)
		*n += (size_t)w < outlen - *n ? (size_t)w : outlen - *n - 1;
	free(s);
	json_decref(j);
}

static int custom_error(const uint8_t *data, size_t len, const json_t *abi, char *out, size_t outlen)
{
	size_t i;
	json_t *item;
	json_array_foreach(abi, i, item) {
		const char *type = json_string_value(json_object_get(item, "type"));
		const char *name = json_string_value(json_object_get(item, "name"));
		uint8_t h[32];
		if (!type || strcmp(type, "error") != 0 || !name || abi_item_hash(item, h) < 0 ||
		    memcmp(h, data, 4) != 0)
			continue;
		char err[128];
		struct abi_type *t = abi_tuple_from_json(json_object_get(item, "inputs"), err, sizeof err);
		struct abi_value *v = NULL;
		size_t n = 0;
		int w = snprintf(out, outlen, "%s(", name);
		n = w > 0 && (size_t)w < outlen ? (size_t)w : 0;
		if (t && abi_decode(t, data + 4, len - 4, &v, err, sizeof err) == 0) {
			for (size_t k = 0; k < v->n && n + 2 < outlen; k++) {
				if (k) {
					out[n++] = ',';
					out[n++] = ' ';
					out[n] = '\0';
				}
				append_arg(t->comps[k], v->items[k], out, outlen, &n);
			}
		}
		if (n + 1 < outlen) {
			out[n++] = ')';
			out[n] = '\0';
		}
		abi_value_free(v);
		abi_type_free(t);
		return 0;
	}
	return -1;
}

const char *abi_revert_reason(const uint8_t *data, size_t len, const json_t *abi, char *out,
                              size_t outlen)
{
	static const uint8_t error_sel[4] = {0x08, 0xc3, 0x79, 0xa0}; /* Error(string) */
	static const uint8_t panic_sel[4] = {0x4e, 0x48, 0x7b, 0x71}; /* Panic(uint256) */
	char err[128];
	struct abi_type *t = NULL;
	struct abi_value *v = NULL;
	if (outlen == 0)
		return out;
	if (len == 0) {
		snprintf(out, outlen, "reverted without a reason");
		return out;
	}
	if (len >= 4 && memcmp(data, error_sel, 4) == 0) {
		t = abi_type_parse("(string)", err, sizeof err);
		if (t && abi_decode(t, data + 4, len - 4, &v, err, sizeof err) == 0) {
			snprintf(out, outlen, "%s", abi_get_str(v->items[0]));
			goto done;
		}
	} else if (len >= 4 && memcmp(data, panic_sel, 4) == 0) {
		t = abi_type_parse("(uint256)", err, sizeof err);
		if (t && abi_decode(t, data + 4, len - 4, &v, err, sizeof err) == 0) {
			int over;
			uint64_t code = abi_get_u64(v->items[0], &over);
			snprintf(out, outlen, "panic 0x%02llx (%s)", (unsigned long long)code,
			         over ? "unknown panic code" : panic_meaning(code));
			goto done;
		}
	} else if (len >= 4 && json_is_array(abi) && custom_error(data, len, abi, out, outlen) == 0) {
		goto done;
	}
	char hex[16];
	eth_hex_encode(data, len < 4 ? len : 4, hex, sizeof hex);
	snprintf(out, outlen, "reverted with unknown error %s", hex);
done:
	abi_value_free(v);
	abi_type_free(t);
	return out;
}
