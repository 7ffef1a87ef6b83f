/* eth_arpc.c: the non-blocking JSON-RPC client: curl multi driven by the poll loop. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "curl_loop.h"
#include "eth_header.h"
#include "eth_rpc.h"
#include "eth_rpc_int.h"
#include "loop.h"

struct arpc_job {
	struct eth_arpc *a;
	CURL *h;
	char *req;
	struct rpc_body body;
	size_t n;
	int batch;
	uint64_t first_id;
	eth_arpc_cb cb;
	eth_arpc_batch_cb bcb;
	void *arg;
	unsigned attempt;
	uint64_t deadline;    /* monotonic ms: the call's whole time, retries included */
	char what[48];        /* the method, or "a batch", for messages */
	uint64_t retry_timer; /* waiting to retry: not in the multi handle */
	struct arpc_job *prev, *next;
};

struct qcall;

/* One endpoint of a quorum client, as its answers have shown it. */
struct quorum_ep {
	struct eth_arpc *a;
	enum eth_arpc_health health; /* last reported (UP also before any report) */
	uint64_t set_aside_until;    /* monotonic ms: proven to lie, its answers not counted */
	char lie[300];               /* what proved it */
};

struct eth_arpc {
	struct loop *l;
	struct curl_loop cl; /* cl.m: the multi handle */
	char *url;
	char shown[ETH_RPC_SHOWN_MAX]; /* redacted, for messages */
	struct eth_rpc_opts o;
	struct curl_slist *hdrs;
	uint64_t next_id;
	struct arpc_job *jobs;
	size_t njobs;
	/* A quorum client (eth_arpc_new_quorum) has no URL of its own: its endpoints. */
	struct quorum_ep *eps;
	size_t neps, quorum;
	eth_arpc_report_cb report;
	void *report_arg;
	struct qcall *qcalls; /* calls some endpoint has not answered yet */
	size_t nqcalls;
};

static void check_done(void *arg);
static void qcall_free(struct qcall *c);

struct eth_arpc *eth_arpc_new(struct loop *l, const char *url, const struct eth_rpc_opts *o,
                              struct eth_rpc_err *e)
{
	if (eth_rpc_check_url(url, o && o->allow_http, e) < 0)
		return NULL;
	if (curl_loop_global_init() < 0) {
		eth_rpc_errf(e, ETH_RPC_TRANSPORT, "libcurl failed to initialise");
		return NULL;
	}
	struct eth_arpc *a = calloc(1, sizeof *a);
	if (!a || !(a->url = strdup(url)) || curl_loop_init(&a->cl, l, check_done, a) < 0 ||
	    !(a->hdrs = rpc_headers())) {
		eth_rpc_errf(e, ETH_RPC_TRANSPORT, "out of memory");
		eth_arpc_free(a);
		return NULL;
	}
	a->l = l;
	a->next_id = 1;
	eth_rpc_url_redact(url, a->shown, sizeof a->shown);
	if (o)
		a->o = *o;
	else
		eth_rpc_opts_default(&a->o);
	return a;
}

static void job_free(struct arpc_job *j)
{
	struct eth_arpc *a = j->a;
	if (j->retry_timer)
		loop_timer_cancel(a->l, j->retry_timer);
	else if (j->h)
		curl_multi_remove_handle(a->cl.m, j->h);
	if (j->h)
		curl_easy_cleanup(j->h);
	if (j->prev)
		j->prev->next = j->next;
	else
		a->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	a->njobs--;
	eth_buf_free(&j->body.buf);
	free(j->req);
	free(j);
}

void eth_arpc_free(struct eth_arpc *a)
{
	if (!a)
		return;
	for (size_t i = 0; a->eps && i < a->neps; i++)
		eth_arpc_free(a->eps[i].a); /* drops their jobs: no callback runs */
	while (a->qcalls)
		qcall_free(a->qcalls);
	free(a->eps);
	while (a->jobs)
		job_free(a->jobs);
	curl_loop_fini(&a->cl);
	curl_slist_free_all(a->hdrs);
	free(a->url);
	free(a);
}

size_t eth_arpc_pending(const struct eth_arpc *a)
{
	return a->eps ? a->nqcalls : a->njobs;
}

static int job_start(struct arpc_job *j)
{
	uint64_t now = rpc_now_ms();
	eth_buf_reset(&j->body.buf);
	j->body.overflow = 0;
	if (now >= j->deadline ||
	    rpc_setup_easy(j->h, j->a->url, &j->a->o, j->deadline - now, j->a->hdrs, &j->body, j->req) < 0)
		return -1;
	curl_easy_setopt(j->h, CURLOPT_PRIVATE, j);
	return curl_multi_add_handle(j->a->cl.m, j->h) == CURLM_OK ? 0 : -1;
}

/* Deliver the outcome of a finished job to its callback, then free it. */
static void job_finish(struct arpc_job *j, const struct eth_rpc_err *fail)
{
	json_t *one = NULL, **results = NULL;
	struct eth_rpc_err e, *errs = NULL;
	memset(&e, 0, offsetof(struct eth_rpc_err, revert));
	if (fail) {
		e = *fail;
	} else if (!(results = calloc(j->n, sizeof *results)) ||
	           (j->batch && !(errs = calloc(j->n, sizeof *errs)))) {
		eth_rpc_errf(&e, ETH_RPC_TRANSPORT, "out of memory");
		fail = &e;
	} else if (rpc_parse(j->body.buf.p, j->body.buf.len, j->n, j->batch, j->first_id, results,
	                     errs, &e) < 0) {
		fail = &e;
	}
	if (!j->batch) {
		one = results ? results[0] : NULL;
		if (j->cb)
			j->cb(fail ? NULL : one, fail || !one ? &e : NULL, j->arg);
	} else if (j->bcb) {
		j->bcb(j->n, fail ? NULL : results, fail ? NULL : errs, fail ? &e : NULL, j->arg);
	}
	for (size_t i = 0; results && i < j->n; i++)
		json_decref(results[i]);
	free(results);
	free(errs);
	job_free(j);
}

static void on_retry(struct loop *l, void *arg)
{
	struct arpc_job *j = arg;
	(void)l;
	j->retry_timer = 0;
	if (job_start(j) < 0) {
		struct eth_rpc_err e;
		eth_rpc_errf(&e, ETH_RPC_TRANSPORT, "cannot restart an RPC request");
		job_finish(j, &e);
	}
}

/* After curl did work: classify finished jobs, retry or deliver them. */
static void check_done(void *arg)
{
	struct eth_arpc *a = arg;
	struct arpc_job *j;
	CURLcode c;
	while ((j = curl_loop_next_done(&a->cl, &c))) {
		long http = 0;
		curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &http);
		curl_multi_remove_handle(a->cl.m, j->h);
		struct eth_rpc_err e;
		memset(&e, 0, offsetof(struct eth_rpc_err, revert));
		int retry = rpc_classify(c, http, &j->body, &e, a->shown, j->what, a->o.timeout_ms);
		uint64_t delay = a->o.backoff_ms << (j->attempt < 10 ? j->attempt : 10);
		if (retry > 0 && j->attempt < a->o.retries && rpc_now_ms() + delay < j->deadline) {
			j->attempt++;
			j->retry_timer = loop_timer_add(a->l, delay ? delay : 1, on_retry, j);
			if (j->retry_timer)
				continue;
		}
		job_finish(j, retry >= 0 ? &e : NULL);
	}
}

static int submit(struct eth_arpc *a, size_t n, const char *const *methods, json_t **params,
                  int batch, eth_arpc_cb cb, eth_arpc_batch_cb bcb, void *arg,
                  struct eth_rpc_err *e)
{
	struct arpc_job *j = calloc(1, sizeof *j);
	if (!j) {
		for (size_t i = 0; params && i < n; i++)
			json_decref(params[i]);
		return eth_rpc_errf(e, ETH_RPC_TRANSPORT, "out of memory");
	}
	j->a = a;
	j->n = n;
	j->batch = batch;
	j->first_id = a->next_id;
	a->next_id += n;
	j->cb = cb;
	j->bcb = bcb;
	j->arg = arg;
	j->deadline = rpc_now_ms() + a->o.timeout_ms;
	snprintf(j->what, sizeof j->what, "%s", batch ? "a batch" : methods[0]);
	eth_buf_init(&j->body.buf);
	j->body.max = rpc_answer_cap(n, methods);
	j->req = rpc_build(n, methods, params, batch, j->first_id);
	j->next = a->jobs;
	if (a->jobs)
		a->jobs->prev = j;
	a->jobs = j;
	a->njobs++;
	if (!j->req || !(j->h = curl_easy_init()) || job_start(j) < 0) {
		job_free(j);
		return eth_rpc_errf(e, ETH_RPC_TRANSPORT, "cannot start an RPC request");
	}
	return 0;
}

/* ---- the quorum client: the same calls to every endpoint, answers compared ---- */

enum qkind { QK_HEAD, QK_BLOCK, QK_LOGS, QK_WHOLE };
/* QA_LIE: an answer of an endpoint proven to lie, not counted. */
enum qstate { QA_PENDING, QA_RESULT, QA_ERROR, QA_DOWN, QA_LIE };

struct qans {
	enum qstate state;
	int header;   /* QK_BLOCK results: eth_header_check's verdict (1 the hash is the header's) */
	json_t *res;  /* QA_RESULT: the answer */
	json_t *key;  /* QA_RESULT: what is compared (answer_key) */
	struct eth_rpc_err err; /* QA_ERROR, QA_DOWN */
};

struct qleg {
	struct qcall *c;
	size_t ep;
};

struct qcall {
	struct eth_arpc *q;
	size_t n;
	int batch;
	eth_arpc_cb cb;
	eth_arpc_batch_cb bcb;
	void *arg;
	size_t pending;     /* endpoints yet to answer */
	int delivered;      /* the caller's callback ran */
	enum qkind *kind;   /* [n] */
	char (*what)[48];   /* [n] method names, for messages */
	json_t **made;      /* [n] answers made here (the quorum-th head) */
	const json_t **win; /* [n] the key the quorum agreed on (borrowed), NULL if none */
	struct qans *ans;   /* [neps * n]: endpoint ep, call i at ep * n + i */
	struct qleg *legs;  /* [neps] */
	struct qcall *prev, *next;
};

static enum qkind method_kind(const char *m)
{
	if (strcmp(m, "eth_blockNumber") == 0)
		return QK_HEAD;
	if (strcmp(m, "eth_getBlockByNumber") == 0 || strcmp(m, "eth_getBlockByHash") == 0)
		return QK_BLOCK;
	if (strcmp(m, "eth_getLogs") == 0)
		return QK_LOGS;
	return QK_WHOLE;
}

/* What two answers must share to be alike (owned), or NULL when res is malformed. */
static json_t *answer_key(enum qkind k, json_t *res)
{
	static const char *const log_fields[] = {"address", "topics", "data", "blockNumber",
	                                         "blockHash", "transactionHash", "transactionIndex",
	                                         "logIndex", "removed"};
	uint64_t v;
	size_t i;
	json_t *lg;
	switch (k) {
	case QK_HEAD:
		return eth_qty_parse(json_string_value(res), &v) == 0 ? json_incref(res) : NULL;
	case QK_BLOCK:
		if (json_is_null(res))
			return json_null();
		return json_is_string(json_object_get(res, "hash")) ? json_incref(json_object_get(res, "hash"))
		                                                    : NULL;
	case QK_LOGS: {
		json_t *out = json_is_array(res) ? json_array() : NULL;
		json_array_foreach(res, i, lg) {
			json_t *o = json_object();
			for (size_t f = 0; o && f < sizeof log_fields / sizeof log_fields[0]; f++) {
				json_t *x = json_object_get(lg, log_fields[f]);
				if (x)
					json_object_set(o, log_fields[f], x);
			}
			if (!o || json_array_append_new(out, o) < 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	case QK_WHOLE:
		break;
	}
	return json_incref(res);
}

static void qcall_free(struct qcall *c)
{
	struct eth_arpc *q = c->q;
	for (size_t i = 0; c->ans && i < q->neps * c->n; i++) {
		json_decref(c->ans[i].res);
		json_decref(c->ans[i].key);
	}
	for (size_t i = 0; c->made && i < c->n; i++)
		json_decref(c->made[i]);
	if (c->prev)
		c->prev->next = c->next;
	else
		q->qcalls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	q->nqcalls--;
	free(c->kind);
	free(c->what);
	free(c->made);
	free(c->win);
	free(c->ans);
	free(c->legs);
	free(c);
}

/* Endpoints whose answer to call i is alike to endpoint ep's. */
static size_t alike(const struct qcall *c, size_t i, size_t ep)
{
	size_t m = 0;
	const json_t *k = c->ans[ep * c->n + i].key;
	for (size_t o = 0; o < c->q->neps; o++) {
		const struct qans *x = &c->ans[o * c->n + i];
		if (x->state == QA_RESULT && json_equal(x->key, k))
			m++;
	}
	return m;
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

static int set_aside(const struct eth_arpc *q, size_t ep);

/* Endpoints yet to answer call i whose answer would count (none set aside for a lie). */
static size_t open_legs(const struct qcall *c, size_t i)
{
	size_t m = 0;
	for (size_t ep = 0; ep < c->q->neps; ep++)
		m += c->ans[ep * c->n + i].state == QA_PENDING && !set_aside(c->q, ep);
	return m;
}

/* The answer to call i a quorum gave (borrowed), or NULL while there is none: the most
 * endpoints alike, at least quorum, and more than any other answer could still gather. */
static json_t *decide(struct qcall *c, size_t i)
{
	struct eth_arpc *q = c->q;
	size_t best = SIZE_MAX, w = 0, s = 0, nh = 0;
	uint64_t heads[ETH_ARPC_MAX_ENDPOINTS];
	if (c->kind[i] == QK_HEAD) {
		/* Heads differ while blocks spread: the quorum-th highest is one at least a
		 * quorum of endpoints has reached. */
		if (c->made[i])
			return c->made[i];
		for (size_t ep = 0; ep < q->neps; ep++)
			if (c->ans[ep * c->n + i].state == QA_RESULT &&
			    eth_qty_parse(json_string_value(c->ans[ep * c->n + i].res), &heads[nh]) == 0)
				nh++;
		if (nh < q->quorum)
			return NULL;
		qsort(heads, nh, sizeof heads[0], cmp_desc);
		char h[24];
		eth_qty_format(heads[q->quorum - 1], h, sizeof h);
		c->made[i] = json_string(h);
		return c->made[i];
	}
	for (size_t ep = 0; ep < q->neps; ep++) {
		size_t m;
		if (c->ans[ep * c->n + i].state == QA_RESULT && (m = alike(c, i, ep)) > w) {
			w = m;
			best = ep;
		}
	}
	if (best == SIZE_MAX)
		return NULL;
	const json_t *k = c->ans[best * c->n + i].key;
	for (size_t ep = 0; ep < q->neps; ep++) {
		size_t m;
		if (c->ans[ep * c->n + i].state == QA_RESULT && !json_equal(c->ans[ep * c->n + i].key, k) &&
		    (m = alike(c, i, ep)) > s)
			s = m;
	}
	if (w < q->quorum || w <= s + open_legs(c, i))
		return NULL;
	c->win[i] = k;
	return c->ans[best * c->n + i].res;
}

/* Why call i has no answer, once every endpoint answered. */
static void no_quorum(const struct qcall *c, size_t i, struct eth_rpc_err *e)
{
	struct eth_arpc *q = c->q;
	size_t nres = 0, nerr = 0, keys = 0;
	const struct eth_rpc_err *first_err = NULL, *first_down = NULL;
	for (size_t ep = 0; ep < q->neps; ep++) {
		const struct qans *x = &c->ans[ep * c->n + i];
		if (x->state == QA_RESULT) {
			nres++;
			int seen = 0;
			for (size_t o = 0; o < ep && !seen; o++)
				seen = c->ans[o * c->n + i].state == QA_RESULT &&
				       json_equal(c->ans[o * c->n + i].key, x->key);
			keys += !seen;
		} else if (x->state == QA_ERROR) {
			nerr++;
			if (!first_err)
				first_err = &x->err;
		} else if (x->state == QA_DOWN && !first_down) {
			first_down = &x->err;
		}
	}
	memset(e, 0, offsetof(struct eth_rpc_err, revert));
	if (nerr >= q->quorum && first_err)
		*e = *first_err;
	else if (keys > 1)
		eth_rpc_errf(e, ETH_RPC_QUORUM,
		             "no quorum on %s: %zu endpoints gave %zu different answers (quorum %zu of %zu)",
		             c->what[i], nres, keys, q->quorum, q->neps);
	else
		eth_rpc_errf(e, ETH_RPC_TRANSPORT, "only %zu of %zu endpoints answered %s alike (quorum %zu)%s%.300s",
		             nres, q->neps, c->what[i], q->quorum, first_down ? ": " : "",
		             first_down ? first_down->msg : (first_err ? first_err->msg : ""));
}

/* Short text of an answer's key, for messages. */
static void key_text(const json_t *k, char *out, size_t len)
{
	if (json_is_string(k))
		snprintf(out, len, "%.80s", json_string_value(k));
	else if (json_is_null(k))
		snprintf(out, len, "null");
	else
		snprintf(out, len, "another answer");
}

/* How endpoint ep fared in call c, with why: DOWN when it failed to answer, DISAGREE,
 * UP when an answer of it was compared and agreed (or it answered after DOWN), else was:
 * a head, or an error the node gave, tells nothing. */
static enum eth_arpc_health fared(const struct qcall *c, size_t ep, enum eth_arpc_health was,
                                  char *why, size_t len)
{
	char got[96], want[96];
	int agreed = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->ans[ep * c->n + i].state == QA_LIE) {
			snprintf(why, len, "%s", c->q->eps[ep].lie);
			return ETH_ARPC_LIED;
		}
	for (size_t i = 0; i < c->n; i++) {
		const struct qans *x = &c->ans[ep * c->n + i];
		if (x->state == QA_DOWN) {
			snprintf(why, len, "%s", x->err.msg);
			return ETH_ARPC_DOWN;
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct qans *x = &c->ans[ep * c->n + i];
		if (x->state == QA_ERROR && x->err.kind == ETH_RPC_BAD_ANSWER) {
			snprintf(why, len, "%s answered something malformed: %.300s", c->what[i], x->err.msg);
			return ETH_ARPC_DISAGREE;
		}
		if (x->state != QA_RESULT || c->kind[i] == QK_HEAD)
			continue;
		if (c->win[i] && !json_equal(x->key, c->win[i])) {
			key_text(x->key, got, sizeof got);
			key_text(c->win[i], want, sizeof want);
			snprintf(why, len, "%s answered %s where a quorum answered %s", c->what[i], got, want);
			return ETH_ARPC_DISAGREE;
		}
		if (c->win[i]) {
			agreed = 1;
			continue;
		}
		for (size_t o = 0; o < c->q->neps; o++) {
			const struct qans *y = &c->ans[o * c->n + i];
			if (y->state == QA_RESULT && !json_equal(y->key, x->key)) {
				key_text(x->key, got, sizeof got);
				snprintf(why, len, "%s answered %s, other endpoints otherwise, and no quorum agreed",
				         c->what[i], got);
				return ETH_ARPC_DISAGREE;
			}
		}
	}
	return agreed || was == ETH_ARPC_DOWN ? ETH_ARPC_UP : was;
}

/* Every endpoint answered: tell of those whose health changed. */
static void report_health(struct qcall *c)
{
	struct eth_arpc *q = c->q;
	char why[700];
	for (size_t ep = 0; ep < q->neps; ep++) {
		struct quorum_ep *p = &q->eps[ep];
		enum eth_arpc_health was = p->health, h = fared(c, ep, was, why, sizeof why);
		p->health = h;
		if (h == was || (h == ETH_ARPC_UP && (was == ETH_ARPC_DISAGREE || was == ETH_ARPC_LIED)) ||
		    !q->report)
			continue;
		if (h == ETH_ARPC_UP)
			snprintf(why, sizeof why, "answers again");
		q->report(ep, p->a->shown, h, why, q->report_arg);
	}
}

/* After an endpoint answered: deliver once a quorum agreed on every call (or every
 * endpoint answered); free the call once every endpoint answered. */
static void qcall_check(struct qcall *c)
{
	size_t n = c->n, decided = 0;
	if (!c->delivered) {
		json_t **results = calloc(n, sizeof *results);
		struct eth_rpc_err *errs = calloc(n, sizeof *errs);
		struct eth_rpc_err oom;
		if (!results || !errs) {
			eth_rpc_errf(&oom, ETH_RPC_TRANSPORT, "out of memory");
			c->delivered = 1;
			if (c->batch && c->bcb)
				c->bcb(n, NULL, NULL, &oom, c->arg);
			else if (!c->batch && c->cb)
				c->cb(NULL, &oom, c->arg);
		} else {
			for (size_t i = 0; i < n; i++)
				decided += (results[i] = decide(c, i)) != NULL;
			if (decided == n || c->pending == 0) {
				for (size_t i = 0; i < n; i++)
					if (!results[i])
						no_quorum(c, i, &errs[i]);
				c->delivered = 1;
				if (c->batch && c->bcb)
					c->bcb(n, results, errs, NULL, c->arg);
				else if (!c->batch && c->cb)
					c->cb(results[0], results[0] ? NULL : &errs[0], c->arg);
			}
		}
		free(results);
		free(errs);
	}
	if (c->pending == 0) {
		report_health(c);
		qcall_free(c);
	}
}

/* Whether endpoint ep is set aside for a proven lie. */
static int set_aside(const struct eth_arpc *q, size_t ep)
{
	return q->eps[ep].set_aside_until > mono_ms();
}

/* Set endpoint ep aside for ETH_ARPC_LIAR_HOLD_MS: none of its answers count, in this call
 * or in any other still open. */
static void set_liar(struct eth_arpc *q, size_t ep, const char *what, const char *why)
{
	struct quorum_ep *p = &q->eps[ep];
	p->set_aside_until = mono_ms() + ETH_ARPC_LIAR_HOLD_MS;
	snprintf(p->lie, sizeof p->lie, "proven wrong: its %.40s answer: %.200s", what, why);
	for (struct qcall *o = q->qcalls; o; o = o->next)
		for (size_t i = 0; i < o->n; i++)
			if (o->ans[ep * o->n + i].state == QA_RESULT)
				o->ans[ep * o->n + i].state = QA_LIE;
}

/* A block whose hash is not the hash of its header is a lie we can prove, but only where
 * another endpoint's block of that call is its header's hash: a chain whose headers this
 * code cannot recompute (another layout) then proves nothing against anyone. A block this
 * code cannot hash at all (a field missing or named otherwise) proves nothing either: an
 * honest provider may word its answer differently. */
static void prove(struct qcall *c)
{
	struct eth_arpc *q = c->q;
	for (size_t i = 0; i < c->n; i++) {
		int verified = 0;
		if (c->kind[i] != QK_BLOCK)
			continue;
		for (size_t ep = 0; ep < q->neps && !verified; ep++) {
			const struct qans *x = &c->ans[ep * c->n + i];
			verified = (x->state == QA_RESULT || x->state == QA_LIE) && x->header == 1;
		}
		for (size_t ep = 0; verified && ep < q->neps; ep++) {
			const struct qans *x = &c->ans[ep * c->n + i];
			char why[300];
			if (x->state != QA_RESULT || json_is_null(x->res) || x->header != 0 ||
			    eth_header_check(x->res, why, sizeof why) != 0)
				continue;
			set_liar(q, ep, c->what[i], why);
		}
	}
}

/* One endpoint's answers to call c (results NULL: all failed with e). */
static void leg_done(struct qleg *lg, json_t **results, const struct eth_rpc_err *errs,
                     const struct eth_rpc_err *e)
{
	struct qcall *c = lg->c;
	for (size_t i = 0; i < c->n; i++) {
		struct qans *x = &c->ans[lg->ep * c->n + i];
		const struct eth_rpc_err *why = results ? &errs[i] : e;
		if (results && results[i] && (x->key = answer_key(c->kind[i], results[i]))) {
			x->state = set_aside(c->q, lg->ep) ? QA_LIE : QA_RESULT;
			x->res = json_incref(results[i]);
			if (c->kind[i] == QK_BLOCK && !json_is_null(results[i])) {
				char unused[300];
				x->header = eth_header_check(results[i], unused, sizeof unused);
			}
			continue;
		}
		if (results && results[i]) {
			eth_rpc_errf(&x->err, ETH_RPC_BAD_ANSWER, "a malformed %s answer", c->what[i]);
		} else if (why) {
			x->err = *why;
		} else {
			eth_rpc_errf(&x->err, ETH_RPC_BAD_ANSWER, "no answer");
		}
		x->state = x->err.kind == ETH_RPC_TRANSPORT || x->err.kind == ETH_RPC_HTTP ? QA_DOWN : QA_ERROR;
	}
	c->pending--;
	prove(c);
	qcall_check(c);
}

static void leg_one(json_t *result, const struct eth_rpc_err *e, void *arg)
{
	json_t *r[1] = {result};
	struct eth_rpc_err errs[1];
	if (!result)
		errs[0] = *e;
	leg_done(arg, r, errs, NULL);
}

static void leg_batch(size_t n, json_t **results, const struct eth_rpc_err *errs,
                      const struct eth_rpc_err *e, void *arg)
{
	(void)n;
	leg_done(arg, results, errs, e);
}

static int quorum_submit(struct eth_arpc *q, size_t n, const char *const *methods, json_t **params,
                         int batch, eth_arpc_cb cb, eth_arpc_batch_cb bcb, void *arg,
                         struct eth_rpc_err *e)
{
	struct qcall *c = calloc(1, sizeof *c);
	int rc = -1;
	if (!c || !(c->kind = calloc(n, sizeof *c->kind)) || !(c->what = calloc(n, sizeof *c->what)) ||
	    !(c->made = calloc(n, sizeof *c->made)) || !(c->win = calloc(n, sizeof *c->win)) ||
	    !(c->ans = calloc(q->neps * n, sizeof *c->ans)) || !(c->legs = calloc(q->neps, sizeof *c->legs))) {
		eth_rpc_errf(e, ETH_RPC_TRANSPORT, "out of memory");
		goto done;
	}
	c->q = q;
	c->n = n;
	c->batch = batch;
	c->cb = cb;
	c->bcb = bcb;
	c->arg = arg;
	c->next = q->qcalls;
	if (q->qcalls)
		q->qcalls->prev = c;
	q->qcalls = c;
	q->nqcalls++;
	for (size_t i = 0; i < n; i++) {
		c->kind[i] = method_kind(methods[i]);
		snprintf(c->what[i], sizeof c->what[i], "%s", methods[i]);
	}
	const struct eth_rpc_err *first = NULL;
	for (size_t ep = 0; ep < q->neps; ep++) {
		json_t *p[ETH_RPC_MAX_BATCH];
		struct eth_rpc_err *le = &c->ans[ep * n].err;
		for (size_t i = 0; i < n; i++)
			p[i] = json_incref(params[i]);
		c->legs[ep].c = c;
		c->legs[ep].ep = ep;
		int started = batch ? eth_arpc_batch(q->eps[ep].a, n, methods, p, leg_batch, &c->legs[ep], le)
		                    : eth_arpc_call(q->eps[ep].a, methods[0], p[0], leg_one, &c->legs[ep], le);
		if (started == 0) {
			c->pending++;
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			c->ans[ep * n + i].state = QA_DOWN;
			c->ans[ep * n + i].err = *le;
		}
		if (!first)
			first = le;
	}
	if (c->pending == 0) {
		*e = *first;
		qcall_free(c);
		c = NULL;
		goto done;
	}
	rc = 0;
	c = NULL;
done:
	if (c && !c->q) { /* not linked yet: a part failed to allocate */
		free(c->kind);
		free(c->what);
		free(c->made);
		free(c->win);
		free(c->ans);
		free(c->legs);
		free(c);
	}
	for (size_t i = 0; params && i < n; i++)
		json_decref(params[i]);
	return rc;
}

struct eth_arpc *eth_arpc_new_quorum(struct loop *l, const char *const *urls, size_t n,
                                     size_t quorum, const struct eth_rpc_opts *o,
                                     eth_arpc_report_cb report, void *report_arg,
                                     struct eth_rpc_err *e)
{
	if (n == 0 || n > ETH_ARPC_MAX_ENDPOINTS) {
		eth_rpc_errf(e, ETH_RPC_TRANSPORT, "1 to %d endpoints, not %zu", ETH_ARPC_MAX_ENDPOINTS, n);
		return NULL;
	}
	if (quorum == 0 || quorum > n) {
		eth_rpc_errf(e, ETH_RPC_TRANSPORT, "a quorum of %zu out of %zu endpoints is impossible", quorum, n);
		return NULL;
	}
	struct eth_arpc *q = calloc(1, sizeof *q);
	if (!q || !(q->eps = calloc(n, sizeof *q->eps))) {
		free(q);
		eth_rpc_errf(e, ETH_RPC_TRANSPORT, "out of memory");
		return NULL;
	}
	q->l = l;
	q->quorum = quorum;
	q->report = report;
	q->report_arg = report_arg;
	for (size_t i = 0; i < n; i++) {
		if (!(q->eps[i].a = eth_arpc_new(l, urls[i], o, e))) {
			eth_arpc_free(q);
			return NULL;
		}
		q->neps++;
		q->eps[i].health = ETH_ARPC_UP;
	}
	snprintf(q->shown, sizeof q->shown, "%zu endpoints", n);
	return q;
}

int eth_arpc_call(struct eth_arpc *a, const char *method, json_t *params, eth_arpc_cb cb,
                  void *arg, struct eth_rpc_err *e)
{
	if (params && !json_is_array(params)) {
		json_decref(params);
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "RPC params must be an array");
	}
	if (a->eps)
		return quorum_submit(a, 1, &method, &params, 0, cb, NULL, arg, e);
	return submit(a, 1, &method, &params, 0, cb, NULL, arg, e);
}

int eth_arpc_batch(struct eth_arpc *a, size_t n, const char *const *methods, json_t **params,
                   eth_arpc_batch_cb cb, void *arg, struct eth_rpc_err *e)
{
	if (n == 0 || n > ETH_RPC_MAX_BATCH) {
		for (size_t i = 0; params && i < n; i++)
			json_decref(params[i]);
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "a batch holds 1 to %d calls", ETH_RPC_MAX_BATCH);
	}
	if (a->eps)
		return quorum_submit(a, n, methods, params, 1, NULL, cb, arg, e);
	return submit(a, n, methods, params, 1, NULL, cb, arg, e);
}
