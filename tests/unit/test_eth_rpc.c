/* test_eth_rpc.c: both JSON-RPC clients against a small real HTTP server in a child process. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eth_rpc.h"
#include "loop.h"
#include "tap.h"

/* ---- the server: one connection at a time, Connection: close ---- */

static int flaky_count;
static const char *persona = "honest"; /* what the eth_ methods answer: set before the fork */

static void reply(int fd, int status, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n", status, strlen(body));
	if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0)
		return;
}

/* The answer object for one request. */
static json_t *answer(json_t *req, int *status)
{
	const char *m = json_string_value(json_object_get(req, "method"));
	json_t *id = json_object_get(req, "id"), *params = json_object_get(req, "params");
	if (!m)
		m = "";
	if (strcmp(m, "echo") == 0)
		return json_pack("{s:s, s:O, s:O}", "jsonrpc", "2.0", "id", id, "result", params);
	if (strcmp(m, "flaky") == 0 && flaky_count++ < 2) {
		*status = 503;
		return NULL;
	}
	if (strcmp(m, "flaky") == 0)
		return json_pack("{s:s, s:O, s:s}", "jsonrpc", "2.0", "id", id, "result", "finally");
	if (strcmp(m, "revert") == 0)
		return json_pack("{s:s, s:O, s:{s:i, s:s, s:s}}", "jsonrpc", "2.0", "id", id, "error", "code", 3,
		                 "message", "execution reverted", "data", "0x17a84242");
	/* Hardhat: a call out of gas, and a revert without a reason, both with data "0x". */
	if (strcmp(m, "hh_oog") == 0 || strcmp(m, "hh_revert") == 0)
		return json_pack("{s:s, s:O, s:{s:i, s:s, s:{s:s, s:s}}}", "jsonrpc", "2.0", "id", id, "error",
		                 "code", -32000, "message",
		                 m[3] == 'o' ? "Transaction ran out of gas" : "Transaction reverted without a reason",
		                 "data", "message", "x", "data", "0x");
	if (strcmp(m, "slow") == 0) {
		sleep(2);
		return json_pack("{s:s, s:O, s:b}", "jsonrpc", "2.0", "id", id, "result", 1);
	}
	/* Quorum tests: "honest", "honest2" (another head, extra fields) and "liar". */
	int liar = strcmp(persona, "liar") == 0;
	if (strcmp(m, "eth_blockNumber") == 0)
		return json_pack("{s:s, s:O, s:s}", "jsonrpc", "2.0", "id", id, "result",
		                 liar ? "0x64" : strcmp(persona, "honest2") == 0 ? "0xc" : "0xa");
	if (strcmp(m, "eth_getBlockByNumber") == 0)
		return json_pack("{s:s, s:O, s:{s:s, s:s}}", "jsonrpc", "2.0", "id", id, "result", "hash",
		                 liar ? "0xbad0" : "0x0100", "who", persona);
	if (strcmp(m, "eth_call") == 0)
		return json_pack("{s:s, s:O, s:s}", "jsonrpc", "2.0", "id", id, "result", liar ? "0xdead" : "0xbeef");
	if (strcmp(m, "wrongid") == 0)
		return json_pack("{s:s, s:i, s:b}", "jsonrpc", "2.0", "id", 999999, "result", 1);
	return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error", "code", -32601,
	                 "message", "method not found");
}

static void serve_one(int fd)
{
	static char buf[1 << 16];
	size_t n = 0;
	char *body = NULL;
	long clen = -1;
	while (n < sizeof buf - 1) {
		ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
		if (r <= 0)
			return;
		n += (size_t)r;
		buf[n] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end && clen < 0) {
			char *cl = strcasestr(buf, "Content-Length:");
			clen = cl ? strtol(cl + 15, NULL, 10) : 0;
			body = end + 4;
		}
		if (body && (long)(n - (size_t)(body - buf)) >= clen)
			break;
	}
	if (!body)
		return;
	json_t *req = json_loadb(body, (size_t)clen, 0, NULL), *ans = NULL;
	int status = 200;
	if (json_is_array(req)) {
		/* Answer a batch in reverse order: clients must match by id. */
		ans = json_array();
		for (size_t i = json_array_size(req); i-- > 0;) {
			json_t *a = answer(json_array_get(req, i), &status);
			if (a)
				json_array_append_new(ans, a);
		}
	} else if (req && strcmp(json_string_value(json_object_get(req, "method")), "garbage") == 0) {
		reply(fd, 200, "this is not json");
		json_decref(req);
		return;
	} else if (req) {
		ans = answer(req, &status);
	}
	char *s = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
	reply(fd, status, s ? s : "");
	free(s);
	json_decref(ans);
	json_decref(req);
}

static pid_t start_server(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 64) < 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	*port = ntohs(sa.sin_port);
	pid_t pid = fork();
	if (pid == 0) {
		for (;;) {
			int c = accept(s, NULL, NULL);
			if (c < 0)
				continue;
			serve_one(c);
			close(c);
		}
	}
	close(s);
	return pid;
}

/* ---- the loop-driven client ---- */

struct async_run {
	struct loop *l;
	int left;
	int ok_results;
	char last_err[512];
	int batch_ok;
};

static void async_cb(json_t *result, const struct eth_rpc_err *e, void *arg)
{
	struct async_run *r = arg;
	if (result && json_is_array(result) && json_integer_value(json_array_get(result, 0)) == 42)
		r->ok_results++;
	if (!result && e)
		snprintf(r->last_err, sizeof r->last_err, "%s", e->msg);
	if (--r->left == 0)
		loop_stop(r->l);
}

static void async_batch_cb(size_t n, json_t **results, const struct eth_rpc_err *errs,
                           const struct eth_rpc_err *e, void *arg)
{
	struct async_run *r = arg;
	(void)e;
	r->batch_ok = results && n == 2 && json_is_array(results[0]) && !results[1] && errs[1].kind == ETH_RPC_ERROR;
	if (--r->left == 0)
		loop_stop(r->l);
}

/* ---- the quorum client ---- */

struct qrun {
	struct loop *l;
	struct eth_arpc *q;
	uint64_t deadline;
	int left;
	char result[64];
	struct eth_rpc_err err;
	char reports[1024];
};

static void q_cb(json_t *result, const struct eth_rpc_err *e, void *arg)
{
	struct qrun *r = arg;
	snprintf(r->result, sizeof r->result, "%s", json_string_value(result) ? json_string_value(result)
	                                          : json_is_object(result)     ? json_string_value(json_object_get(result, "hash"))
	                                                                       : "");
	if (!result)
		r->err = *e;
	r->left--;
}

static void q_report(size_t i, const char *shown, enum eth_arpc_health h, const char *why, void *arg)
{
	struct qrun *r = arg;
	size_t n = strlen(r->reports);
	(void)shown;
	(void)why;
	snprintf(r->reports + n, sizeof r->reports - n, "%zu:%s ", i,
	         h == ETH_ARPC_UP ? "up" : h == ETH_ARPC_DOWN ? "down" : "disagree");
}

/* Every endpoint answered (or 10 s passed): stop. */
static void q_poll(struct loop *l, void *arg)
{
	struct qrun *r = arg;
	if (eth_arpc_pending(r->q) == 0 || --r->deadline == 0)
		loop_stop(l);
	else
		loop_timer_add(l, 10, q_poll, r);
}

/* One call through q; the loop runs until its answer and every endpoint's. */
static void q_run(struct eth_arpc *q, struct qrun *r, const char *method)
{
	struct eth_rpc_err e;
	r->q = q;
	r->deadline = 1000;
	r->left = 1;
	r->result[0] = '\0';
	r->reports[0] = '\0';
	memset(&r->err, 0, offsetof(struct eth_rpc_err, revert));
	json_t *params = strcmp(method, "eth_getBlockByNumber") == 0 ? json_pack("[s,b]", "0x1", 0) : NULL;
	if (eth_arpc_call(q, method, params, q_cb, r, &e) < 0) {
		r->err = e;
		return;
	}
	loop_timer_add(r->l, 10, q_poll, r);
	loop_run(r->l);
}

static void quorum_tests(void)
{
	struct eth_rpc_opts o;
	struct eth_rpc_err e;
	struct qrun r;
	memset(&r, 0, sizeof r);
	r.l = loop_new();
	static const char *const who[3] = {"honest", "honest2", "liar"};
	pid_t pids[3];
	char urls[4][64];
	const char *list[4];
	for (int i = 0; i < 3; i++) {
		int port;
		persona = who[i];
		pids[i] = start_server(&port);
		snprintf(urls[i], sizeof urls[i], "http://127.0.0.1:%d", port);
		list[i] = urls[i];
	}
	persona = "honest";
	snprintf(urls[3], sizeof urls[3], "http://127.0.0.1:1"); /* nobody listens */
	list[3] = urls[3];
	eth_rpc_opts_default(&o);
	o.backoff_ms = 20;
	o.retries = 0;
	ok(eth_arpc_new_quorum(r.l, list, 3, 4, &o, NULL, NULL, &e) == NULL, "a quorum above the endpoints: %s",
	   e.msg);
	ok(eth_arpc_new_quorum(r.l, list, 3, 0, &o, NULL, NULL, &e) == NULL, "a quorum of 0 refused");

	/* two honest, a liar, a dead one; quorum 2 */
	struct eth_arpc *q = eth_arpc_new_quorum(r.l, list, 4, 2, &o, q_report, &r, &e);
	ok(q != NULL, "quorum client of 4");
	q_run(q, &r, "eth_call");
	is_str(r.result, "0xbeef", "eth_call: the answer two endpoints gave, not the liar's");
	ok(strstr(r.reports, "2:disagree") && strstr(r.reports, "3:down") && !strstr(r.reports, "0:") &&
	   !strstr(r.reports, "1:"), "the liar disagrees, the dead is down: %s", r.reports);
	q_run(q, &r, "eth_getBlockByNumber");
	is_str(r.result, "0x0100", "blocks alike by hash (other fields differ)");
	is_str(r.reports, "", "no change reported twice: '%s'", r.reports);
	q_run(q, &r, "eth_blockNumber");
	/* As soon as two answered: the lower of their heads; never the liar's 100. */
	ok(strcmp(r.result, "0xa") == 0 || strcmp(r.result, "0xc") == 0,
	   "the head: one two endpoints reached (of 10, 12, 100): %s", r.result);
	eth_arpc_free(q);

	/* one honest, the liar, the dead: a tie is no quorum, even of 1 */
	const char *three[3] = {list[0], list[2], list[3]};
	for (size_t quorum = 1; quorum <= 2; quorum++) {
		q = eth_arpc_new_quorum(r.l, three, 3, quorum, &o, q_report, &r, &e);
		q_run(q, &r, "eth_call");
		ok(r.result[0] == '\0' && r.err.kind == ETH_RPC_QUORUM && strstr(r.err.msg, "no quorum on eth_call"),
		   "quorum %zu: honest against liar is no answer: %s", quorum, r.err.msg);
		ok(strstr(r.reports, "0:disagree") && strstr(r.reports, "1:disagree") && strstr(r.reports, "2:down"),
		   "both that answered disagree, the dead is down: %s", r.reports);
		eth_arpc_free(q);
	}

	/* only the dead and one more: too few answers */
	const char *two[2] = {list[0], list[3]};
	q = eth_arpc_new_quorum(r.l, two, 2, 2, &o, q_report, &r, &e);
	q_run(q, &r, "eth_call");
	ok(r.err.kind == ETH_RPC_TRANSPORT && strstr(r.err.msg, "only 1 of 2 endpoints answered eth_call"),
	   "too few answers: %s", r.err.msg);
	eth_arpc_free(q);
	for (int i = 0; i < 3; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	loop_free(r.l);
}

static void on_deadline(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

int main(void)
{
	int port;
	char url[64];
	struct eth_rpc_err e;
	struct eth_rpc_opts o;
	json_t *res;
	signal(SIGPIPE, SIG_IGN);
	pid_t srv = start_server(&port);
	ok(srv > 0, "test server started on 127.0.0.1:%d", port);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);

	ok(eth_rpc_new("ftp://x", NULL, &e) == NULL, "non-HTTP URL refused: %s", e.msg);
	ok(eth_rpc_new("", NULL, &e) == NULL, "empty URL refused");

	/* Plain http only to loopback; URLs shown without path, query or user. */
	static const struct {
		const char *url;
		int ok;
	} urls[] = {
		{"http://127.0.0.1:8545", 1},       {"http://127.9.8.7/", 1},
		{"http://localhost:8545/x", 1},     {"http://LOCALHOST", 1},
		{"http://[::1]:8545/", 1},          {"https://rpc.example.org/v3/k", 1},
		{"http://10.0.0.1:8545", 0},        {"http://127.0.0.1.example.org/", 0},
		{"http://localhost.example.org", 0}, {"http://[::2]:8545", 0},
		{"http://user:pw@127.0.0.1/", 0},   {"http://0.0.0.0:8545", 0},
		{"http://1270.0.0.1/", 0},
	};
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
		ok((eth_rpc_check_url(urls[i].url, 0, &e) == 0) == urls[i].ok, "%s %s", urls[i].url,
		   urls[i].ok ? "accepted" : "refused");
	ok(eth_rpc_check_url("http://10.0.0.1:8545", 1, &e) == 0, "allow_http takes any host");
	ok(eth_rpc_check_url("http://10.0.0.1/v3/SECRET", 0, &e) < 0 && !strstr(e.msg, "SECRET"),
	   "the refusal does not show the path: %s", e.msg);
	static const char *const redact[][2] = {
		{"https://rpc.example.org/v3/SECRET?x=1", "https://rpc.example.org/..."},
		{"https://u:SECRET@rpc.example.org", "https://rpc.example.org/..."},
		{"http://127.0.0.1:8545", "http://127.0.0.1:8545"},
		{"http://127.0.0.1:8545/", "http://127.0.0.1:8545"},
		{"https://h?key=SECRET", "https://h/..."},
	};
	for (size_t i = 0; i < sizeof redact / sizeof redact[0]; i++) {
		char shown[ETH_RPC_SHOWN_MAX];
		eth_rpc_url_redact(redact[i][0], shown, sizeof shown);
		is_str(shown, redact[i][1], "redacted %s", redact[i][0]);
	}

	eth_rpc_opts_default(&o);
	o.backoff_ms = 20;
	/* Long enough to wait out the test server, which serves one request at a time
	 * and sleeps in "slow" below. */
	o.timeout_ms = 5000;
	struct eth_rpc *r = eth_rpc_new(url, &o, &e);
	o.timeout_ms = 1000;
	ok(r != NULL, "blocking client");
	ok(eth_rpc_call(r, "echo", json_pack("[i,s]", 42, "x"), &res, &e) == 0 &&
	       json_integer_value(json_array_get(res, 0)) == 42, "call and result");
	json_decref(res);
	ok(eth_rpc_call(r, "nope", NULL, &res, &e) < 0 && e.kind == ETH_RPC_ERROR && e.code == -32601,
	   "JSON-RPC error object: %s", e.msg);
	ok(eth_rpc_call(r, "revert", NULL, &res, &e) < 0 && e.has_revert && e.revert_len == 4 &&
	       e.revert[0] == 0x17, "revert data kept as bytes");
	ok(eth_rpc_call(r, "hh_oog", NULL, &res, &e) < 0 && e.kind == ETH_RPC_ERROR && !e.has_revert,
	   "hardhat's out of gas with data 0x is no revert: %s", e.msg);
	ok(eth_rpc_call(r, "hh_revert", NULL, &res, &e) < 0 && e.has_revert && e.revert_len == 0,
	   "hardhat's revert without a reason is one: %s", e.msg);
	ok(eth_rpc_call(r, "flaky", NULL, &res, &e) == 0 && strcmp(json_string_value(res), "finally") == 0,
	   "two HTTP 503s are retried away");
	json_decref(res);
	ok(eth_rpc_call(r, "garbage", NULL, &res, &e) < 0 && e.kind == ETH_RPC_BAD_ANSWER, "non-JSON answer: %s",
	   e.msg);
	ok(eth_rpc_call(r, "wrongid", NULL, &res, &e) < 0 && e.kind == ETH_RPC_BAD_ANSWER, "wrong id: %s", e.msg);
	o.retries = 0;
	struct eth_rpc *impatient = eth_rpc_new(url, &o, &e);
	ok(eth_rpc_call(impatient, "slow", NULL, &res, &e) < 0 && e.kind == ETH_RPC_TRANSPORT,
	   "total timeout: %s", e.msg);
	eth_rpc_free(impatient);

	const char *methods[3] = {"echo", "nope", "echo"};
	json_t *params[3] = {json_pack("[i]", 1), NULL, json_pack("[i]", 3)};
	json_t *results[3];
	struct eth_rpc_err errs[3];
	ok(eth_rpc_batch(r, 3, methods, params, results, errs, &e) == 0, "batch");
	ok(json_integer_value(json_array_get(results[0], 0)) == 1 && !results[1] &&
	       errs[1].kind == ETH_RPC_ERROR && json_integer_value(json_array_get(results[2], 0)) == 3,
	   "batch answers matched by id, failures per call");
	for (int i = 0; i < 3; i++)
		json_decref(results[i]);
	eth_rpc_free(r);

	/* rpc_timeout_ms is the whole call: retries fit inside it, never multiply it. */
	o.retries = 2;
	struct eth_rpc *impatient2 = eth_rpc_new(url, &o, &e);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int failed = eth_rpc_call(impatient2, "slow", NULL, &res, &e) < 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ok(failed && ms < 1300 && strstr(e.msg, "timed out: no answer to slow within 1000 ms"),
	   "retries stay within the call's time: %ld ms, %s", ms, e.msg);
	eth_rpc_free(impatient2);
	o.retries = 0;

	/* Unreachable: a port nobody listens on (the server's, after it is gone). */
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	o.retries = 1;
	r = eth_rpc_new(url, &o, &e);
	ok(eth_rpc_call(r, "echo", NULL, &res, &e) < 0 && e.kind == ETH_RPC_TRANSPORT &&
	       strstr(e.msg, "cannot reach"), "unreachable endpoint: %s", e.msg);
	eth_rpc_free(r);

	/* The loop-driven client: concurrent calls, a batch, errors, never blocking the loop. */
	flaky_count = 0;
	srv = start_server(&port);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	struct async_run run = {loop_new(), 0, 0, "", 0};
	o.retries = 2;
	struct eth_arpc *a = eth_arpc_new(run.l, url, &o, &e);
	ok(a != NULL, "loop-driven client");
	for (int i = 0; i < 5; i++) {
		run.left++;
		eth_arpc_call(a, "echo", json_pack("[i]", 42), async_cb, &run, &e);
	}
	run.left++;
	eth_arpc_call(a, "flaky", NULL, async_cb, &run, &e);
	run.left++;
	const char *bm[2] = {"echo", "nope"};
	json_t *bp[2] = {json_pack("[i]", 42), NULL};
	eth_arpc_batch(a, 2, bm, bp, async_batch_cb, &run, &e);
	ok(eth_arpc_pending(a) == 7, "7 requests pending");
	loop_timer_add(run.l, 10000, on_deadline, NULL);
	loop_run(run.l);
	is_int(run.left, 0, "every callback ran");
	is_int(run.ok_results, 5, "five concurrent results");
	ok(run.batch_ok, "batch through the loop");
	ok(eth_arpc_pending(a) == 0, "nothing pending");
	run.left = 1;
	eth_arpc_call(a, "nope", NULL, async_cb, &run, &e);
	loop_run(run.l);
	ok(strstr(run.last_err, "method not found") != NULL, "error through the loop: %s", run.last_err);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	run.left = 1;
	eth_arpc_call(a, "echo", NULL, async_cb, &run, &e);
	loop_run(run.l);
	ok(strstr(run.last_err, "cannot reach") != NULL, "unreachable through the loop: %s", run.last_err);
	/* Freeing with calls in flight drops them without callbacks. */
	run.left = 100;
	eth_arpc_call(a, "echo", NULL, async_cb, &run, &e);
	eth_arpc_free(a);
	is_int(run.left, 100, "free drops pending calls silently");
	loop_free(run.l);
	quorum_tests();
	return done_testing();
}
