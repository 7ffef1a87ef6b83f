/* eth_arpc.c: the non-blocking JSON-RPC client: curl multi driven by the poll loop. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "curl_loop.h"
#include "eth_rpc.h"
#include "eth_rpc_int.h"

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
};

static void check_done(void *arg);

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
	while (a->jobs)
		job_free(a->jobs);
	curl_loop_fini(&a->cl);
	curl_slist_free_all(a->hdrs);
	free(a->url);
	free(a);
}

size_t eth_arpc_pending(const struct eth_arpc *a)
{
	return a->njobs;
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

int eth_arpc_call(struct eth_arpc *a, const char *method, json_t *params, eth_arpc_cb cb,
                  void *arg, struct eth_rpc_err *e)
{
	if (params && !json_is_array(params)) {
		json_decref(params);
		return eth_rpc_errf(e, ETH_RPC_BAD_ANSWER, "RPC params must be an array");
	}
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
	return submit(a, n, methods, params, 1, NULL, cb, arg, e);
}
