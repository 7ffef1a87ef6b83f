/* eth_rpc.c: JSON-RPC requests and answers, and the blocking libcurl client. */
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "conf.h"
#include "errf.h"
#include "curl_loop.h"
#include "eth_rpc.h"
#include "eth_rpc_int.h"

int eth_rpc_errf(struct eth_rpc_err *e, enum eth_rpc_kind kind, const char *fmt, ...)
{
	if (!e)
		return -1;
	e->kind = kind;
	e->has_revert = 0;
	e->revert_len = 0;
	va_list ap;
	va_start(ap, fmt);
	verrf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

void eth_rpc_opts_default(struct eth_rpc_opts *o)
{
	memset(o, 0, sizeof *o);
	o->connect_timeout_ms = 3000;
	o->timeout_ms = 10000;
	o->retries = 2;
	o->backoff_ms = 200;
}

void eth_rpc_url_redact(const char *url, char *out, size_t outlen)
{
	if (!outlen)
		return;
	out[0] = '\0';
	if (!url)
		return;
	const char *sep = strstr(url, "://");
	const char *host = sep ? sep + 3 : url;
	size_t hl = strcspn(host, "/?#");
	const char *at = memchr(host, '@', hl);
	int more = host[hl] != '\0' && strcmp(host + hl, "/") != 0;
	if (at) { /* user:password@ is a secret too */
		hl -= (size_t)(at + 1 - host);
		host = at + 1;
		more = 1;
	}
	int sl = sep ? (int)(sep - url) : 0;
	if (sl > 16)
		sl = 16;
	if (hl > 200)
		hl = 200;
	snprintf(out, outlen, "%.*s%s%.*s%s", sl, url, sep ? "://" : "", (int)hl, host,
	         more ? "/..." : "");
}

/* Is the host of an http:// URL (after the scheme) a loopback address? */
static int host_is_loopback(const char *host)
{
	char h[256];
	size_t n = strcspn(host, "/?#");
	if (memchr(host, '@', n))
		return 0; /* keep it simple: no user part on a loopback URL either */
	if (n >= sizeof h)
		return 0;
	memcpy(h, host, n);
	h[n] = '\0';
	if (h[0] == '[') {
		char *end = strchr(h, ']');
		if (!end || (end[1] != '\0' && end[1] != ':'))
			return 0;
		*end = '\0';
		return strcmp(h + 1, "::1") == 0;
	}
	char *colon = strchr(h, ':');
	if (colon)
		*colon = '\0';
	if (strcasecmp(h, "localhost") == 0)
		return 1;
	unsigned a, b, c, d;
	char tail;
	return sscanf(h, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
	       c < 256 && d < 256;
}

int eth_rpc_check_url(const char *url, int allow_http, struct eth_rpc_err *e)
{
	char shown[ETH_RPC_SHOWN_MAX];
	if (!url || !*url)
		return eth_rpc_errf(e, ETH_RPC_TRANSPORT, "no RPC URL given (--rpc, rpc_url or CANTEEN_RPC)");
	eth_rpc_url_redact(url, shown, sizeof shown);
	if (strncmp(url, "https://", 8) == 0)
		return 0;
	if (strncmp(url, "http://", 7) != 0)
		return eth_rpc_errf(e, ETH_RPC_TRANSPORT, "RPC URL must start with http:// or https://: %s",
		                    shown);
	if (!allow_http && !host_is_loopback(url + 7))
		return eth_rpc_errf(e, ETH_RPC_TRANSPORT,
		                    "plain http:// is only for a loopback RPC endpoint: use https:// for %s "
		                    "(or allow_insecure_rpc = yes)", shown);
	return 0;
}

uint64_t rpc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The answer cap of one method: ETH_RPC_ANSWER_SCALAR unless it returns more. */
static size_t method_cap(const char *m)
{
	static const struct {
		const char *method;
		size_t cap;
	} caps[] = {
		{"eth_call", ETH_RPC_ANSWER_CALL},
		{"eth_getLogs", ETH_RPC_ANSWER_LOGS},
		{"eth_getBlockByNumber", ETH_RPC_ANSWER_OBJECT},
		{"eth_getBlockByHash", ETH_RPC_ANSWER_OBJECT},
		{"eth_getTransactionByHash", ETH_RPC_ANSWER_OBJECT},
		{"eth_getTransactionReceipt", ETH_RPC_ANSWER_OBJECT},
		{"eth_getCode", ETH_RPC_ANSWER_OBJECT},
	};
	for (size_t i = 0; m && i < sizeof caps / sizeof caps[0]; i++)
		if (strcmp(m, caps[i].method) == 0)
			return caps[i].cap;
	return ETH_RPC_ANSWER_SCALAR;
}

size_t rpc_answer_cap(size_t n, const char *const *methods)
{
	size_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		sum += method_cap(methods[i]);
		if (sum >= ETH_BUF_MAX)
			return ETH_BUF_MAX;
	}
	return sum;
}

/* ---- requests and answers ---- */

char *rpc_build(size_t n, const char *const *methods, json_t **params, int batch, uint64_t first_id)
{
	json_t *arr = batch ? json_array() : NULL, *one = NULL;
	char *s = NULL;
	int bad = batch && !arr;
	for (size_t i = 0; i < n; i++) {
		json_t *p = params && params[i] ? params[i] : json_array();
		if (params)
			params[i] = NULL;
		json_t *req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id",
		                        (json_int_t)(first_id + i), "method", methods[i], "params", p);
		if (!req || bad) {
			json_decref(req);
			bad = 1;
			continue;
		}
		if (batch)
			json_array_append_new(arr, req);
		else
			one = req;
	}
	if (!bad)
		s = json_dumps(batch ? arr : one, JSON_COMPACT);
	json_decref(arr);
	json_decref(one);
	return s;
}

/* Fill e from a JSON-RPC error object; the data of a revert is kept as bytes. */
static void rpc_error_from(const json_t *err, struct eth_rpc_err *e)
{
	const char *msg = json_string_value(json_object_get(err, "message"));
	json_t *code = json_object_get(err, "code");
	eth_rpc_errf(e, ETH_RPC_ERROR, "%s", msg && msg[0] ? msg : "error without a message");
	e->code = json_is_integer(code) ? (long)json_integer_value(code) : 0;
	json_t *data = json_object_get(err, "data");
	if (json_is_object(data))
		data = json_object_get(data, "data");
	const char *hex = json_string_value(data);
	/* Hardhat answers a call that ran out of gas ("Transaction ran out of gas") with revert
	 * data "0x": no revert of the contract's, so that callers read smaller pages. */
	int oog = msg && (strcasestr(msg, "out of gas") || strcasestr(msg, "outofgas"));
	if (hex && hex[0] == '0' && hex[1] == 'x' && !(oog && hex[2] == '\0')) {
		long n = eth_hex_decode(hex, e->revert, sizeof e->revert);
		if (n >= 0) {
			e->has_revert = 1;
			e->revert_len = (size_t)n;
		}
	}
}

/* One answer object: result (owned) or error. */
static int rpc_one(json_t *ans, json_t **result, struct eth_rpc_err *e)
{
	json_t *err = json_object_get(ans, "error");
	if (err && !json_is_null(err)) {
		if (!json_is_object(err))
			return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "malformed error in RPC answer");
		rpc_error_from(err, e);
		return -1;
	}
	json_t *res = json_object_get(ans, "result");
	if (!res)
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "RPC answer has neither result nor error");
	*result = json_incref(res);
	if (e)
		e->kind = ETH_RPC_OK;
	return 0;
}

int rpc_parse(const uint8_t *body, size_t len, size_t n, int batch, uint64_t first_id,
              json_t **results, struct eth_rpc_err *errs, struct eth_rpc_err *e)
{
	json_error_t jerr;
	for (size_t i = 0; i < n; i++)
		results[i] = NULL;
	json_t *root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!root)
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "RPC answer is not JSON: %s", jerr.text);
	int rc = -1;
	if (!batch) {
		/* A node may answer a single call with a bare error object without our id. */
		json_t *id = json_object_get(root, "id");
		if (!json_is_object(root))
			eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "RPC answer is not an object");
		else if (json_is_integer(id) && (uint64_t)json_integer_value(id) != first_id)
			eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "RPC answer carries the wrong id");
		else
			rc = rpc_one(root, &results[0], e);
		if (rc < 0 && errs)
			errs[0] = *e;
		json_decref(root);
		return rc;
	}
	if (!json_is_array(root)) {
		/* Some nodes answer a whole batch with one error object. */
		if (json_is_object(root) && json_is_object(json_object_get(root, "error")))
			rpc_error_from(json_object_get(root, "error"), e);
		else
			eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "RPC batch answer is not an array");
		json_decref(root);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (errs)
			eth_rpc_errf(&errs[i], ETH_RPC_BAD_ANSWER, "no answer for this call in the batch");
	size_t k;
	json_t *ans;
	json_array_foreach(root, k, ans) {
		json_t *id = json_object_get(ans, "id");
		if (!json_is_integer(id))
			continue;
		uint64_t v = (uint64_t)json_integer_value(id);
		if (v < first_id || v - first_id >= n || results[v - first_id])
			continue;
		size_t i = (size_t)(v - first_id);
		struct eth_rpc_err tmp;
		memset(&tmp, 0, offsetof(struct eth_rpc_err, revert));
		rpc_one(ans, &results[i], &tmp); /* on error results[i] stays NULL */
		if (errs)
			errs[i] = tmp;
	}
	json_decref(root);
	if (e)
		e->kind = ETH_RPC_OK;
	return 0;
}

/* curl result + HTTP status into e; returns 1 if worth retrying, 0 if final, -1 if ok. */
int rpc_classify(int curl_code, long http, const struct rpc_body *body, struct eth_rpc_err *e,
                 const char *url, const char *what, uint64_t timeout_ms)
{
	CURLcode c = (CURLcode)curl_code;
	if (body->overflow) {
		eth_rpc_errf(e, ETH_RPC_TOO_LARGE,
		             "RPC endpoint %.200s answered %s with more than %zu KiB: refused", url, what,
		             body->max / 1024);
		return 0;
	}
	if (c == CURLE_OPERATION_TIMEDOUT) {
		eth_rpc_errf(e, ETH_RPC_TRANSPORT, "RPC endpoint %.200s timed out: no answer to %s within %llu ms",
		             url, what, (unsigned long long)timeout_ms);
		return 1;
	}
	if (c != CURLE_OK) {
		eth_rpc_errf(e, ETH_RPC_TRANSPORT, "cannot reach RPC endpoint %.200s: %s", url,
		             curl_easy_strerror(c));
		return c == CURLE_URL_MALFORMAT || c == CURLE_UNSUPPORTED_PROTOCOL ? 0 : 1;
	}
	if (http == 429 || http >= 500) {
		eth_rpc_errf(e, ETH_RPC_TRANSPORT, "RPC endpoint %.200s answered HTTP %ld", url, http);
		e->code = http;
		return 1;
	}
	if (http != 200) {
		eth_rpc_errf(e, ETH_RPC_HTTP, "RPC endpoint %.200s answered HTTP %ld", url, http);
		e->code = http;
		return 0;
	}
	return -1;
}

size_t rpc_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct rpc_body *b = arg;
	size_t n = size * nmemb;
	if (n > b->max || b->buf.len > b->max - n || eth_buf_put(&b->buf, ptr, n) < 0) {
		b->overflow = 1;
		return 0;
	}
	return n;
}

int rpc_setup_easy(CURL *h, const char *url, const struct eth_rpc_opts *o, uint64_t timeout_ms,
                   struct curl_slist *hdrs, struct rpc_body *body, const char *req)
{
	uint64_t connect = o->connect_timeout_ms < timeout_ms ? o->connect_timeout_ms : timeout_ms;
	int bad = 0;
	bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS) != CURLE_OK;
#endif
	bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, req) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rpc_write_cb) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, body) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(connect ? connect : 1)) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms ? timeout_ms : 1)) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "canteen/" CANTEEN_VERSION) != CURLE_OK;
	return bad ? -1 : 0;
}

struct curl_slist *rpc_headers(void)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct curl_slist *h2 = h ? curl_slist_append(h, "Accept: application/json") : NULL;
	if (!h2)
		curl_slist_free_all(h);
	return h2;
}

/* ---- blocking client ---- */

struct eth_rpc {
	CURL *h;
	char *url;
	char shown[ETH_RPC_SHOWN_MAX]; /* redacted, for messages */
	struct eth_rpc_opts o;
	struct curl_slist *hdrs;
	uint64_t next_id;
	struct eth_rpc *next; /* the list's next endpoint (set on the first) */
};

static struct eth_rpc *rpc_new_one(const char *url, const struct eth_rpc_opts *o,
                                   struct eth_rpc_err *e)
{
	if (eth_rpc_check_url(url, o && o->allow_http, e) < 0)
		return NULL;
	if (curl_loop_global_init() < 0) {
		eth_rpc_errf(e, ETH_RPC_TRANSPORT, "libcurl failed to initialise");
		return NULL;
	}
	struct eth_rpc *r = calloc(1, sizeof *r);
	if (!r || !(r->url = strdup(url)) || !(r->h = curl_easy_init()) || !(r->hdrs = rpc_headers())) {
		eth_rpc_errf(e, ETH_RPC_TRANSPORT, "out of memory");
		eth_rpc_free(r);
		return NULL;
	}
	if (o)
		r->o = *o;
	else
		eth_rpc_opts_default(&r->o);
	r->next_id = 1;
	eth_rpc_url_redact(url, r->shown, sizeof r->shown);
	return r;
}

struct eth_rpc *eth_rpc_new(const char *url, const struct eth_rpc_opts *o, struct eth_rpc_err *e)
{
	char urls[CONF_RPC_MAX][CONF_STR_MAX], err[256];
	size_t n;
	if (!url || !*url)
		return rpc_new_one(url, o, e); /* says what is missing */
	if (conf_rpc_urls(url, urls, &n, err, sizeof err) < 0) {
		eth_rpc_errf(e, ETH_RPC_TRANSPORT, "rpc_url: %s", err);
		return NULL;
	}
	struct eth_rpc *first = NULL, **tail = &first;
	for (size_t i = 0; i < n || i == 0; i++) {
		if (!(*tail = rpc_new_one(n ? urls[i] : url, o, e))) {
			eth_rpc_free(first);
			return NULL;
		}
		tail = &(*tail)->next;
	}
	return first;
}

size_t eth_rpc_endpoints(const struct eth_rpc *r)
{
	size_t n = 0;
	for (; r; r = r->next)
		n++;
	return n;
}

static struct eth_rpc *nth(struct eth_rpc *r, size_t i)
{
	while (r && i--)
		r = r->next;
	return r;
}

const char *eth_rpc_url_at(const struct eth_rpc *r, size_t i)
{
	const struct eth_rpc *p = nth((struct eth_rpc *)r, i);
	return p ? p->shown : "";
}

void eth_rpc_free(struct eth_rpc *r)
{
	if (!r)
		return;
	eth_rpc_free(r->next);
	if (r->h)
		curl_easy_cleanup(r->h);
	curl_slist_free_all(r->hdrs);
	free(r->url);
	free(r);
}

const char *eth_rpc_url(const struct eth_rpc *r)
{
	return r->shown;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0)
		;
}

/* POST req, with retries, all within the call's timeout; the answer body is left in body. */
static int rpc_post(struct eth_rpc *r, const char *req, const char *what, struct rpc_body *body,
                    struct eth_rpc_err *e)
{
	uint64_t deadline = rpc_now_ms() + r->o.timeout_ms;
	for (unsigned attempt = 0;; attempt++) {
		uint64_t now = rpc_now_ms();
		if (now >= deadline)
			return -1; /* e holds why the last attempt failed */
		eth_buf_reset(&body->buf);
		body->overflow = 0;
		if (rpc_setup_easy(r->h, r->url, &r->o, deadline - now, r->hdrs, body, req) < 0)
			return eth_rpc_errf(e, ETH_RPC_TRANSPORT, "libcurl refused an option");
		CURLcode c = curl_easy_perform(r->h);
		long http = 0;
		curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &http);
		int retry = rpc_classify(c, http, body, e, r->shown, what, r->o.timeout_ms);
		if (retry < 0)
			return 0;
		if (!retry || attempt >= r->o.retries)
			return -1;
		uint64_t delay = r->o.backoff_ms << (attempt < 10 ? attempt : 10);
		now = rpc_now_ms();
		if (now + delay >= deadline)
			return -1;
		sleep_ms(delay);
	}
}

static int rpc_do_one(struct eth_rpc *r, size_t n, const char *const *methods, json_t **params,
                      int batch, json_t **results, struct eth_rpc_err *errs, struct eth_rpc_err *e)
{
	struct rpc_body body;
	uint64_t first = r->next_id;
	r->next_id += n;
	char *req = rpc_build(n, methods, params, batch, first);
	if (!req)
		return eth_rpc_errf(e, ETH_RPC_TRANSPORT, "out of memory building the request");
	eth_buf_init(&body.buf);
	body.max = rpc_answer_cap(n, methods);
	int rc = rpc_post(r, req, batch ? "a batch" : methods[0], &body, e);
	if (rc == 0)
		rc = rpc_parse(body.buf.p, body.buf.len, n, batch, first, results, errs, e);
	eth_buf_free(&body.buf);
	free(req);
	return rc;
}

/* The first endpoint, then, while one cannot be reached, the next ones. params are stolen. */
static int rpc_do(struct eth_rpc *r, size_t n, const char *const *methods, json_t **params,
                  int batch, json_t **results, struct eth_rpc_err *errs, struct eth_rpc_err *e)
{
	int rc = -1;
	struct eth_rpc_err first;
	for (struct eth_rpc *p = r; p; p = p->next) {
		json_t *copy[ETH_RPC_MAX_BATCH]; /* rpc_do_one steals them */
		for (size_t i = 0; i < n; i++)
			copy[i] = params ? json_incref(params[i]) : NULL;
		rc = rpc_do_one(p, n, methods, copy, batch, results, errs, e);
		if (rc == 0 || (e->kind != ETH_RPC_TRANSPORT && e->kind != ETH_RPC_HTTP))
			break;
		if (p == r)
			first = *e;
		if (!p->next)
			*e = first; /* every endpoint away: the first one's error */
	}
	for (size_t i = 0; params && i < n; i++)
		json_decref(params[i]);
	return rc;
}

int eth_rpc_call_at(struct eth_rpc *r, size_t i, const char *method, json_t *params, json_t **result,
                    struct eth_rpc_err *e)
{
	*result = NULL;
	struct eth_rpc *p = nth(r, i);
	if (!p || (params && !json_is_array(params))) {
		json_decref(params);
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, p ? "RPC params must be an array" : "no such endpoint");
	}
	return rpc_do_one(p, 1, &method, &params, 0, result, NULL, e);
}

int eth_rpc_call(struct eth_rpc *r, const char *method, json_t *params, json_t **result,
                 struct eth_rpc_err *e)
{
	*result = NULL;
	if (params && !json_is_array(params)) {
		json_decref(params);
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "RPC params must be an array");
	}
	return rpc_do(r, 1, &method, &params, 0, result, NULL, e);
}

int eth_rpc_batch(struct eth_rpc *r, size_t n, const char *const *methods, json_t **params,
                  json_t **results, struct eth_rpc_err *errs, struct eth_rpc_err *e)
{
	if (n == 0 || n > ETH_RPC_MAX_BATCH) {
		for (size_t i = 0; params && i < n; i++)
			json_decref(params[i]);
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "a batch holds 1 to %d calls", ETH_RPC_MAX_BATCH);
	}
	return rpc_do(r, n, methods, params, 1, results, errs, e);
}
