/* eth_abi.c: ABI type parsing, value constructors, head/tail encoding and strict decoding. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "eth_abi.h"
#include "eth_keccak.h"

/* ---- types ---- */

void abi_type_free(struct abi_type *t)
{
	if (!t)
		return;
	abi_type_free(t->elem);
	for (size_t i = 0; i < t->ncomps; i++)
		abi_type_free(t->comps[i]);
	free(t->comps);
	free(t);
}

static struct abi_type *type_new(enum abi_kind kind, unsigned size)
{
	struct abi_type *t = calloc(1, sizeof *t);
	if (t) {
		t->kind = kind;
		t->size = size;
		t->fixed = -1;
	}
	return t;
}

/* Optional decimal size after a base name; 0 if absent, -1 if malformed. */
static long parse_size(const char **s)
{
	long v = 0;
	int digits = 0;
	while (**s >= '0' && **s <= '9') {
		if (digits == 0 && **s == '0')
			return -1;
		v = v * 10 + (**s - '0');
		if (v > 1000000)
			return -1;
		(*s)++;
		digits++;
	}
	return digits ? v : 0;
}

static int word_match(const char **s, const char *w)
{
	size_t n = strlen(w);
	if (strncmp(*s, w, n) != 0)
		return 0;
	*s += n;
	return 1;
}

static struct abi_type *parse_base(const char **s, char *err, size_t errlen)
{
	const char *start = *s;
	long n;
	if (word_match(s, "uint") || word_match(s, "int")) {
		int is_uint = start[0] == 'u';
		if ((n = parse_size(s)) < 0 || n > 256 || n % 8 || (n == 0 && **s >= '0' && **s <= '9'))
			goto bad;
		return type_new(is_uint ? ABI_UINT : ABI_INT, n ? (unsigned)n : 256);
	}
	if (word_match(s, "address"))
		return type_new(ABI_ADDRESS, 160);
	if (word_match(s, "bool"))
		return type_new(ABI_BOOL, 8);
	if (word_match(s, "string"))
		return type_new(ABI_STRING, 0);
	if (word_match(s, "bytes")) {
		if ((n = parse_size(s)) < 0 || n > 32)
			goto bad;
		return type_new(n ? ABI_BYTESN : ABI_BYTES, (unsigned)n);
	}
bad:
	errf(err, errlen, "unknown ABI type at '%.40s'", start);
	return NULL;
}

static struct abi_type *parse_type(const char **s, int depth, char *err, size_t errlen);

static struct abi_type *parse_tuple(const char **s, int depth, char *err, size_t errlen)
{
	struct abi_type *t = type_new(ABI_TUPLE, 0);
	if (!t)
		return NULL;
	(*s)++; /* '(' */
	if (**s == ')') {
		(*s)++;
		return t;
	}
	for (;;) {
		struct abi_type *c = parse_type(s, depth + 1, err, errlen);
		if (!c)
			goto fail;
		struct abi_type **nc = realloc(t->comps, (t->ncomps + 1) * sizeof *nc);
		if (!nc) {
			abi_type_free(c);
			goto fail;
		}
		t->comps = nc;
		t->comps[t->ncomps++] = c;
		if (**s == ',') {
			(*s)++;
			continue;
		}
		if (**s == ')') {
			(*s)++;
			return t;
		}
		errf(err, errlen, "expected ',' or ')' in ABI type at '%.40s'", *s);
		goto fail;
	}
fail:
	abi_type_free(t);
	return NULL;
}

static struct abi_type *parse_type(const char **s, int depth, char *err, size_t errlen)
{
	if (depth > ABI_MAX_DEPTH) {
		errf(err, errlen, "ABI type nested too deeply");
		return NULL;
	}
	struct abi_type *t = **s == '(' ? parse_tuple(s, depth, err, errlen) : parse_base(s, err, errlen);
	int dims = 0;
	while (t && **s == '[') {
		(*s)++;
		long k = -1;
		if (**s != ']') {
			if (**s == '0' && (*s)[1] == ']')
				k = 0, (*s)++;
			else if ((k = parse_size(s)) <= 0 || k > ABI_MAX_FIXED)
				k = -2;
		}
		if (k == -2 || **s != ']' || ++dims + depth > ABI_MAX_DEPTH) {
			errf(err, errlen, "bad array suffix in ABI type");
			abi_type_free(t);
			return NULL;
		}
		(*s)++;
		struct abi_type *a = type_new(ABI_ARRAY, 0);
		if (!a) {
			abi_type_free(t);
			return NULL;
		}
		a->fixed = k;
		a->elem = t;
		t = a;
	}
	return t;
}

struct abi_type *abi_type_parse(const char *s, char *err, size_t errlen)
{
	const char *p = s;
	struct abi_type *t = parse_type(&p, 0, err, errlen);
	if (t && *p) {
		errf(err, errlen, "junk after ABI type: '%.40s'", p);
		abi_type_free(t);
		return NULL;
	}
	if (!t && err && errlen && !err[0])
		errf(err, errlen, "out of memory");
	return t;
}

static int emit(char *out, size_t outlen, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int emit(char *out, size_t outlen, size_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(out + *n, outlen - *n, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= outlen - *n)
		return -1;
	*n += (size_t)w;
	return 0;
}

static int type_name_at(const struct abi_type *t, char *out, size_t outlen, size_t *n)
{
	switch (t->kind) {
	case ABI_UINT: return emit(out, outlen, n, "uint%u", t->size);
	case ABI_INT: return emit(out, outlen, n, "int%u", t->size);
	case ABI_ADDRESS: return emit(out, outlen, n, "address");
	case ABI_BOOL: return emit(out, outlen, n, "bool");
	case ABI_BYTESN: return emit(out, outlen, n, "bytes%u", t->size);
	case ABI_BYTES: return emit(out, outlen, n, "bytes");
	case ABI_STRING: return emit(out, outlen, n, "string");
	case ABI_ARRAY:
		if (type_name_at(t->elem, out, outlen, n) < 0)
			return -1;
		if (t->fixed < 0)
			return emit(out, outlen, n, "[]");
		return emit(out, outlen, n, "[%ld]", t->fixed);
	case ABI_TUPLE:
		if (emit(out, outlen, n, "(") < 0)
			return -1;
		for (size_t i = 0; i < t->ncomps; i++)
			if ((i && emit(out, outlen, n, ",") < 0) || type_name_at(t->comps[i], out, outlen, n) < 0)
				return -1;
		return emit(out, outlen, n, ")");
	}
	return -1;
}

int abi_type_name(const struct abi_type *t, char *out, size_t outlen)
{
	size_t n = 0;
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	return type_name_at(t, out, outlen, &n);
}

struct abi_type *abi_sig_parse(const char *sig, uint8_t selector[4], char *err, size_t errlen)
{
	const char *paren = strchr(sig, '(');
	if (!paren || paren == sig) {
		errf(err, errlen, "bad function signature '%.60s'", sig);
		return NULL;
	}
	struct abi_type *t = abi_type_parse(paren, err, errlen);
	if (!t)
		return NULL;
	if (t->kind != ABI_TUPLE) {
		errf(err, errlen, "bad function signature '%.60s'", sig);
		abi_type_free(t);
		return NULL;
	}
	if (selector) {
		char canon[4096];
		size_t nl = (size_t)(paren - sig);
		if (nl >= sizeof canon / 2 || abi_type_name(t, canon + nl, sizeof canon - nl) < 0) {
			errf(err, errlen, "function signature too long");
			abi_type_free(t);
			return NULL;
		}
		memcpy(canon, sig, nl);
		eth_selector(canon, selector);
	}
	return t;
}

int abi_type_is_dynamic(const struct abi_type *t)
{
	switch (t->kind) {
	case ABI_BYTES:
	case ABI_STRING: return 1;
	case ABI_ARRAY: return t->fixed < 0 || abi_type_is_dynamic(t->elem);
	case ABI_TUPLE:
		for (size_t i = 0; i < t->ncomps; i++)
			if (abi_type_is_dynamic(t->comps[i]))
				return 1;
		return 0;
	default: return 0;
	}
}

/* Bytes a static type takes in the head (dynamic types: 32). Bounded by the parser's
 * limits: at most 4096^16 words would overflow, so saturate. */
static size_t head_size(const struct abi_type *t)
{
	if (abi_type_is_dynamic(t))
		return 32;
	size_t s = 0;
	switch (t->kind) {
	case ABI_ARRAY: {
		size_t e = head_size(t->elem);
		return e > ETH_BUF_MAX / ABI_MAX_FIXED ? ETH_BUF_MAX : e * (size_t)t->fixed;
	}
	case ABI_TUPLE:
		for (size_t i = 0; i < t->ncomps; i++) {
			s += head_size(t->comps[i]);
			if (s > ETH_BUF_MAX)
				return ETH_BUF_MAX;
		}
		return s;
	default: return 32;
	}
}

/* ---- values ---- */

static struct abi_value *val_new(enum abi_kind kind)
{
	struct abi_value *v = calloc(1, sizeof *v);
	if (v)
		v->kind = kind;
	return v;
}

void abi_value_free(struct abi_value *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		abi_value_free(v->items[i]);
	free(v->items);
	free(v->data);
	free(v);
}

struct abi_value *abi_u256(const uint8_t be[32])
{
	struct abi_value *v = val_new(ABI_UINT);
	if (v)
		memcpy(v->word, be, 32);
	return v;
}

struct abi_value *abi_uint(uint64_t x)
{
	uint8_t w[32];
	eth_u256_from_u64(x, w);
	return abi_u256(w);
}

struct abi_value *abi_int(int64_t x)
{
	struct abi_value *v = val_new(ABI_INT);
	if (v) {
		eth_u256_from_u64((uint64_t)x, v->word);
		if (x < 0)
			memset(v->word, 0xff, 24);
	}
	return v;
}

struct abi_value *abi_addr(const uint8_t addr[ETH_ADDR_LEN])
{
	struct abi_value *v = val_new(ABI_ADDRESS);
	if (v)
		memcpy(v->word + 12, addr, ETH_ADDR_LEN);
	return v;
}

struct abi_value *abi_bool(int b)
{
	struct abi_value *v = val_new(ABI_BOOL);
	if (v)
		v->word[31] = b ? 1 : 0;
	return v;
}

struct abi_value *abi_bytesn(const uint8_t *p, size_t n)
{
	if (n > 32)
		return NULL;
	struct abi_value *v = val_new(ABI_BYTESN);
	if (v) {
		memcpy(v->word, p, n);
		v->len = n;
	}
	return v;
}

static struct abi_value *val_data(enum abi_kind kind, const void *p, size_t n)
{
	if (n > ETH_BUF_MAX)
		return NULL;
	struct abi_value *v = val_new(kind);
	if (!v)
		return NULL;
	v->data = malloc(n + 1);
	if (!v->data) {
		free(v);
		return NULL;
	}
	if (n)
		memcpy(v->data, p, n);
	v->data[n] = '\0';
	v->len = n;
	return v;
}

struct abi_value *abi_bytes(const uint8_t *p, size_t n)
{
	return val_data(ABI_BYTES, p, n);
}

struct abi_value *abi_strn(const char *s, size_t n)
{
	return val_data(ABI_STRING, s, n);
}

struct abi_value *abi_str(const char *s)
{
	return s ? abi_strn(s, strlen(s)) : NULL;
}

struct abi_value *abi_list(enum abi_kind kind)
{
	return kind == ABI_ARRAY || kind == ABI_TUPLE ? val_new(kind) : NULL;
}

int abi_push(struct abi_value *list, struct abi_value *item)
{
	if (!list || !item) {
		abi_value_free(item);
		return -1;
	}
	if (list->n % 16 == 0) {
		struct abi_value **ni = realloc(list->items, (list->n + 16) * sizeof *ni);
		if (!ni) {
			abi_value_free(item);
			return -1;
		}
		list->items = ni;
	}
	list->items[list->n++] = item;
	return 0;
}

struct abi_value *abi_tuple(size_t n, ...)
{
	struct abi_value *t = val_new(ABI_TUPLE);
	int failed = !t;
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		struct abi_value *item = va_arg(ap, struct abi_value *);
		if (failed)
			abi_value_free(item);
		else if (abi_push(t, item) < 0)
			failed = 1;
	}
	va_end(ap);
	if (failed) {
		abi_value_free(t);
		return NULL;
	}
	return t;
}

uint64_t abi_get_u64(const struct abi_value *v, int *overflow)
{
	uint64_t x = 0;
	int o = eth_u256_to_u64(v->word, &x) < 0;
	if (overflow)
		*overflow = o;
	return o ? UINT64_MAX : x;
}

const char *abi_get_str(const struct abi_value *v)
{
	return v->data ? (const char *)v->data : "";
}

/* ---- encoding ---- */

/* Does the word hold a valid uintN / intN? */
static int word_fits(const uint8_t w[32], unsigned bits, int is_signed)
{
	unsigned free_bytes = (256 - bits) / 8;
	if (free_bytes == 0)
		return 1;
	uint8_t fill = is_signed && (w[free_bytes] & 0x80) ? 0xff : 0;
	for (unsigned i = 0; i < free_bytes; i++)
		if (w[i] != fill)
			return 0;
	return 1;
}

static int encode_value(const struct abi_type *t, const struct abi_value *v, struct eth_buf *out,
                        int depth, char *err, size_t errlen);

/* Heads then tails of a sequence of n items: tuple components or array elements. */
static int encode_seq(const struct abi_type *tuple, const struct abi_type *elem,
                      struct abi_value *const *items, size_t n, struct eth_buf *out, int depth,
                      char *err, size_t errlen)
{
	size_t start = out->len;
	size_t *slots = calloc(n ? n : 1, sizeof *slots);
	if (!slots)
		return errf(err, errlen, "out of memory");
	int rc = -1;
	for (size_t i = 0; i < n; i++) {
		const struct abi_type *t = tuple ? tuple->comps[i] : elem;
		if (abi_type_is_dynamic(t)) {
			slots[i] = out->len;
			eth_buf_put_zeros(out, 32);
		} else if (encode_value(t, items[i], out, depth + 1, err, errlen) < 0) {
			goto done;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct abi_type *t = tuple ? tuple->comps[i] : elem;
		if (!abi_type_is_dynamic(t))
			continue;
		if (out->err)
			break;
		uint8_t w[32];
		eth_u256_from_u64(out->len - start, w);
		memcpy(out->p + slots[i], w, 32);
		if (encode_value(t, items[i], out, depth + 1, err, errlen) < 0)
			goto done;
	}
	rc = out->err ? errf(err, errlen, "ABI encoding too large") : 0;
done:
	free(slots);
	return rc;
}

static int encode_value(const struct abi_type *t, const struct abi_value *v, struct eth_buf *out,
                        int depth, char *err, size_t errlen)
{
	uint8_t w[32];
	if (!v)
		return errf(err, errlen, "missing ABI value");
	if (depth > ABI_MAX_DEPTH)
		return errf(err, errlen, "ABI value nested too deeply");
	if (v->kind != t->kind)
		return errf(err, errlen, "ABI value kind %d does not match type kind %d", v->kind,
		            t->kind);
	switch (t->kind) {
	case ABI_UINT:
	case ABI_INT:
		if (!word_fits(v->word, t->size, t->kind == ABI_INT))
			return errf(err, errlen, "value does not fit in %sint%u",
			            t->kind == ABI_UINT ? "u" : "", t->size);
		return eth_buf_put(out, v->word, 32);
	case ABI_ADDRESS:
	case ABI_BOOL:
		return eth_buf_put(out, v->word, 32);
	case ABI_BYTESN:
		if (v->len != t->size)
			return errf(err, errlen, "bytes%u needs exactly %u bytes, got %zu", t->size,
			            t->size, v->len);
		return eth_buf_put(out, v->word, 32);
	case ABI_BYTES:
	case ABI_STRING:
		eth_u256_from_u64(v->len, w);
		eth_buf_put(out, w, 32);
		eth_buf_put(out, v->data, v->len);
		eth_buf_put_zeros(out, (32 - v->len % 32) % 32);
		return out->err ? errf(err, errlen, "ABI encoding too large") : 0;
	case ABI_ARRAY:
		if (t->fixed >= 0 && v->n != (size_t)t->fixed)
			return errf(err, errlen, "array needs %ld items, got %zu", t->fixed, v->n);
		if (t->fixed < 0) {
			eth_u256_from_u64(v->n, w);
			eth_buf_put(out, w, 32);
		}
		return encode_seq(NULL, t->elem, v->items, v->n, out, depth, err, errlen);
	case ABI_TUPLE:
		if (v->n != t->ncomps)
			return errf(err, errlen, "tuple needs %zu items, got %zu", t->ncomps, v->n);
		return encode_seq(t, NULL, v->items, v->n, out, depth, err, errlen);
	}
	return errf(err, errlen, "bad ABI type");
}

int abi_encode(const struct abi_type *t, const struct abi_value *v, struct eth_buf *out, char *err,
               size_t errlen)
{
	return encode_value(t, v, out, 0, err, errlen);
}

int abi_encode_call(const char *sig, const struct abi_value *args, struct eth_buf *out, char *err,
                    size_t errlen)
{
	uint8_t sel[4];
	struct abi_type *t = abi_sig_parse(sig, sel, err, errlen);
	if (!t)
		return -1;
	eth_buf_put(out, sel, 4);
	int rc = abi_encode(t, args, out, err, errlen);
	abi_type_free(t);
	return rc;
}

/* ---- decoding ---- */

struct dec {
	size_t values;   /* produced so far */
	size_t max_values; /* a few per input word: aliased offsets cannot multiply work */
	size_t bytes;    /* copied so far */
	size_t budget;   /* byte budget: a few times the input (ABI_MIN_BUDGET at least) */
	char *err;
	size_t errlen;
};

static struct abi_value *dec_value(struct dec *d, const struct abi_type *t, const uint8_t *p,
                                   size_t len, size_t pos, int depth);

static int read_word_len(struct dec *d, const uint8_t *p, size_t len, size_t pos, size_t *out)
{
	uint64_t v;
	if (pos > len || len - pos < 32)
		return errf(d->err, d->errlen, "ABI data too short");
	if (eth_u256_to_u64(p + pos, &v) < 0 || v > len)
		return errf(d->err, d->errlen, "ABI offset or length out of range");
	*out = (size_t)v;
	return 0;
}

/* A sequence whose heads start at p[0]; offsets are relative to p. */
static struct abi_value *dec_seq(struct dec *d, enum abi_kind kind, const struct abi_type *tuple,
                                 const struct abi_type *elem, size_t n, const uint8_t *p,
                                 size_t len, int depth)
{
	struct abi_value *list = val_new(kind);
	if (!list)
		goto oom;
	list->items = calloc(n ? n : 1, sizeof *list->items);
	if (!list->items)
		goto oom;
	size_t head = 0;
	for (size_t i = 0; i < n; i++) {
		const struct abi_type *t = tuple ? tuple->comps[i] : elem;
		struct abi_value *item;
		if (abi_type_is_dynamic(t)) {
			size_t off;
			if (read_word_len(d, p, len, head, &off) < 0)
				goto fail;
			item = dec_value(d, t, p + off, len - off, 0, depth + 1);
			head += 32;
		} else {
			size_t hs = head_size(t);
			if (head > len || len - head < hs) {
				errf(d->err, d->errlen, "ABI data too short");
				goto fail;
			}
			item = dec_value(d, t, p, len, head, depth + 1);
			head += hs;
		}
		if (!item)
			goto fail;
		list->items[list->n++] = item;
	}
	return list;
oom:
	errf(d->err, d->errlen, "out of memory");
fail:
	abi_value_free(list);
	return NULL;
}

static struct abi_value *dec_scalar(struct dec *d, const struct abi_type *t, const uint8_t *w)
{
	int okv = 1;
	switch (t->kind) {
	case ABI_UINT: okv = word_fits(w, t->size, 0); break;
	case ABI_INT: okv = word_fits(w, t->size, 1); break;
	case ABI_ADDRESS: okv = word_fits(w, 160, 0); break;
	case ABI_BOOL: okv = word_fits(w, 8, 0) && w[31] <= 1; break;
	case ABI_BYTESN:
		for (unsigned i = t->size; i < 32; i++)
			okv = okv && w[i] == 0;
		break;
	default: break;
	}
	if (!okv) {
		char name[32];
		abi_type_name(t, name, sizeof name);
		errf(d->err, d->errlen, "ABI value out of range for %s", name);
		return NULL;
	}
	struct abi_value *v = val_new(t->kind);
	if (!v) {
		errf(d->err, d->errlen, "out of memory");
		return NULL;
	}
	memcpy(v->word, w, 32);
	if (t->kind == ABI_BYTESN)
		v->len = t->size;
	return v;
}

/* Decode t whose head is at p[pos]; p[0..len) is the region offsets are relative to. */
static struct abi_value *dec_value(struct dec *d, const struct abi_type *t, const uint8_t *p,
                                   size_t len, size_t pos, int depth)
{
	if (depth > ABI_MAX_DEPTH) {
		errf(d->err, d->errlen, "ABI data nested too deeply");
		return NULL;
	}
	if (++d->values > d->max_values) {
		errf(d->err, d->errlen, "ABI data holds too many values");
		return NULL;
	}
	if (pos > len || len - pos < 32) {
		errf(d->err, d->errlen, "ABI data too short");
		return NULL;
	}
	size_t n;
	switch (t->kind) {
	case ABI_BYTES:
	case ABI_STRING:
		if (read_word_len(d, p, len, pos, &n) < 0)
			return NULL;
		if (n > len - pos - 32) {
			errf(d->err, d->errlen, "ABI bytes length out of range");
			return NULL;
		}
		d->bytes += n;
		if (d->bytes > d->budget) {
			errf(d->err, d->errlen, "ABI data expands too much");
			return NULL;
		}
		{
			struct abi_value *v = val_data(t->kind, p + pos + 32, n);
			if (!v)
				errf(d->err, d->errlen, "out of memory");
			return v;
		}
	case ABI_ARRAY:
		if (t->fixed < 0) {
			if (read_word_len(d, p, len, pos, &n) < 0)
				return NULL;
			size_t rest = len - pos - 32, hs = head_size(t->elem);
			if (n > rest / (hs ? hs : 32)) {
				errf(d->err, d->errlen, "ABI array length out of range");
				return NULL;
			}
			return dec_seq(d, ABI_ARRAY, NULL, t->elem, n, p + pos + 32, rest, depth);
		}
		return dec_seq(d, ABI_ARRAY, NULL, t->elem, (size_t)t->fixed, p + pos, len - pos, depth);
	case ABI_TUPLE:
		return dec_seq(d, ABI_TUPLE, t, NULL, t->ncomps, p + pos, len - pos, depth);
	default:
		return dec_scalar(d, t, p + pos);
	}
}

int abi_decode(const struct abi_type *t, const uint8_t *data, size_t len, struct abi_value **out,
               char *err, size_t errlen)
{
	struct dec d = {0, 0, 0, 4 * len + ABI_MIN_BUDGET, err, errlen};
	d.max_values = len / 32 * 4 + 4096;
	if (d.max_values > ABI_MAX_VALUES)
		d.max_values = ABI_MAX_VALUES;
	*out = NULL;
	if (t->kind == ABI_TUPLE && t->ncomps == 0) {
		*out = val_new(ABI_TUPLE);
		return *out ? 0 : errf(err, errlen, "out of memory");
	}
	if (t->kind == ABI_TUPLE)
		*out = dec_seq(&d, ABI_TUPLE, t, NULL, t->ncomps, data, len, 0);
	else if (abi_type_is_dynamic(t)) {
		/* A lone dynamic value is encoded as a one-element tuple: offset first. */
		size_t off;
		if (read_word_len(&d, data, len, 0, &off) < 0)
			return -1;
		*out = dec_value(&d, t, data + off, len - off, 0, 0);
	} else
		*out = dec_value(&d, t, data, len, 0, 0);
	return *out ? 0 : -1;
}
