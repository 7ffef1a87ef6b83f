/* docker_api.c: Docker Engine API requests over a Unix socket, libcurl multi driven by loop.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "curl_loop.h"
#include "docker_api.h"
#include "docker_json.h"
#include "errf.h"
#include "parse.h"

struct docker_req {
	struct docker *d;
	CURL *easy;
	struct curl_slist *headers;
	char *buf;            /* answer bytes not yet consumed */
	size_t len, cap, limit;
	int overflow;         /* the answer broke its limit: the transfer was aborted */
	int dead;             /* finished or cancelled: freed when no dispatch is running */
	int paused;           /* write_cb paused the transfer: the buffer was full */
	int held;             /* on_data took less than offered: nothing more until docker_resume */
	char *up;             /* docker_upload: body bytes not yet sent (DOCKER_STREAM_BUF) */
	size_t up_len;
	int up_eof;           /* the body is complete */
	int up_paused;        /* read_cb paused the upload: nothing to send yet */
	docker_room_cb on_room;
	int want_room;        /* read_cb made room: on_room is told from pump */
	docker_line_cb on_line;
	docker_data_cb on_data;
	docker_done_cb done;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	struct docker_req *next;
};

struct docker {
	struct curl_loop cl;  /* cl.m: the multi handle */
	char sock[256];
	char prefix[16];      /* "/v1.41" or "" */
	int depth;            /* >0 while callbacks of ours are running */
	size_t live;
	struct docker_req *reqs;
};

static void pump(void *arg);

/* Append answer bytes; abort (return 0) past the request's limit. */
static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct docker_req *r = userdata;
	size_t n = size * nmemb;
	if (r->len + n > r->limit && r->on_data) {
		long status = 0;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300) {
			r->paused = 1; /* curl offers the same bytes again once unpaused */
			return CURL_WRITEFUNC_PAUSE;
		}
	}
	if (r->len + n > r->limit) {
		r->overflow = 1;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n + 1)
			cap *= 2;
		char *b = realloc(r->buf, cap);
		if (!b)
			return 0;
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, ptr, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return n;
}

struct docker *docker_new(struct loop *l, const char *sock, char *err, size_t errlen)
{
	if (curl_loop_global_init() < 0) {
		errf(err, errlen, "curl_global_init failed");
		return NULL;
	}
	struct docker *d = calloc(1, sizeof *d);
	if (!d) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	if (str_copy(d->sock, sizeof d->sock, sock) < 0 || strlen(sock) >= 108) {
		errf(err, errlen, "Docker socket path is too long");
		free(d);
		return NULL;
	}
	if (curl_loop_init(&d->cl, l, pump, d) < 0) {
		errf(err, errlen, "curl_multi_init failed");
		free(d);
		return NULL;
	}
	curl_multi_setopt(d->cl.m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 64L);
	return d;
}

static void req_free(struct docker_req *r)
{
	free(r->up);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->buf);
	free(r);
}

/* Free finished and cancelled requests once no callback can still hold them. */
static void reap(struct docker *d)
{
	if (d->depth > 0)
		return;
	struct docker_req **pp = &d->reqs;
	while (*pp) {
		struct docker_req *r = *pp;
		if (r->dead) {
			*pp = r->next;
			req_free(r);
		} else
			pp = &r->next;
	}
}

void docker_cancel(struct docker *d, struct docker_req *r)
{
	if (!r || r->dead)
		return;
	curl_multi_remove_handle(d->cl.m, r->easy);
	r->dead = 1;
	d->live--;
	reap(d);
}

void docker_cancel_all(struct docker *d)
{
	for (struct docker_req *r = d->reqs; r; r = r->next)
		docker_cancel(d, r);
}

size_t docker_inflight(const struct docker *d)
{
	return d->live;
}

void docker_free(struct docker *d)
{
	if (!d)
		return;
	d->depth++;
	docker_cancel_all(d);
	d->depth--;
	reap(d);
	curl_loop_fini(&d->cl);
	free(d);
}

void docker_set_api(struct docker *d, unsigned major, unsigned minor)
{
	if (major == 0 && minor == 0)
		d->prefix[0] = '\0';
	else
		snprintf(d->prefix, sizeof d->prefix, "/v%u.%u", major % 100, minor % 1000);
}

int docker_urlencode(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		            (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
		if (o + (plain ? 1 : 3) >= outlen)
			return -1;
		if (plain)
			out[o++] = (char)*p;
		else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

struct docker_req *docker_request(struct docker *d, const char *method, const char *path,
                                  const char *body, uint64_t timeout_ms, docker_line_cb on_line,
                                  docker_done_cb done, void *arg)
{
	char url[2048];
	int n = snprintf(url, sizeof url, "http://docker%s%s", d->prefix, path);
	if (n < 0 || (size_t)n >= sizeof url)
		return NULL;
	struct docker_req *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->d = d;
	r->on_line = on_line;
	r->done = done;
	r->arg = arg;
	r->limit = on_line ? DOCKER_LINE_MAX : DOCKER_BODY_MAX;
	r->easy = curl_easy_init();
	r->headers = curl_slist_append(NULL, "Expect:");
	if (r->headers && body)
		r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
	if (!r->easy || !r->headers) {
		req_free(r);
		return NULL;
	}
	CURL *e = r->easy;
	curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
	if (timeout_ms)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, body ? (long)strlen(body) : 0L);
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body ? body : "");
	} else
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (curl_multi_add_handle(d->cl.m, e) != CURLM_OK) {
		req_free(r);
		return NULL;
	}
	r->next = d->reqs;
	d->reqs = r;
	d->live++;
	return r;
}

struct docker_req *docker_stream(struct docker *d, const char *path, docker_data_cb on_data,
                                 docker_done_cb done, void *arg)
{
	struct docker_req *r = docker_request(d, "GET", path, NULL, 0, NULL, done, arg);
	if (r) {
		r->on_data = on_data;
		r->limit = DOCKER_STREAM_BUF;
	}
	return r;
}

/* The upload's next body bytes: pause while none are buffered and the body is not complete. */
static size_t read_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct docker_req *r = userdata;
	size_t n = size * nmemb;
	if (r->up_len == 0) {
		if (r->up_eof)
			return 0;
		r->up_paused = 1;
		return CURL_READFUNC_PAUSE;
	}
	if (n > r->up_len)
		n = r->up_len;
	memcpy(ptr, r->up, n);
	memmove(r->up, r->up + n, r->up_len - n);
	r->up_len -= n;
	if (r->on_room)
		r->want_room = 1;
	return n;
}

struct docker_req *docker_upload(struct docker *d, const char *path, docker_line_cb on_line,
                                 docker_room_cb on_room, docker_done_cb done, void *arg)
{
	struct docker_req *r = docker_request(d, "POST", path, NULL, 0, on_line, done, arg);
	if (!r)
		return NULL;
	r->up = malloc(DOCKER_STREAM_BUF);
	struct curl_slist *h = curl_slist_append(r->headers, "Content-Type: application/x-tar");
	if (h)
		r->headers = curl_slist_append(h, "Transfer-Encoding: chunked");
	if (!r->up || !h || !r->headers) {
		docker_cancel(d, r);
		return NULL;
	}
	r->on_room = on_room;
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, -1L);
	curl_easy_setopt(r->easy, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(r->easy, CURLOPT_READDATA, r);
	return r;
}

static void upload_wake(struct docker_req *r)
{
	if (r->up_paused) {
		r->up_paused = 0;
		curl_easy_pause(r->easy, CURLPAUSE_CONT);
	}
}

size_t docker_upload_write(struct docker *d, struct docker_req *r, const void *data, size_t len)
{
	(void)d;
	if (!r || r->dead || !r->up || r->up_eof)
		return 0;
	size_t room = DOCKER_STREAM_BUF - r->up_len;
	if (len > room)
		len = room;
	memcpy(r->up + r->up_len, data, len);
	r->up_len += len;
	if (len)
		upload_wake(r);
	return len;
}

size_t docker_upload_room(const struct docker_req *r)
{
	return r && !r->dead && r->up ? DOCKER_STREAM_BUF - r->up_len : 0;
}

void docker_upload_end(struct docker *d, struct docker_req *r)
{
	(void)d;
	if (!r || r->dead || !r->up)
		return;
	r->up_eof = 1;
	upload_wake(r);
}

/* Hand complete lines of a stream to its callback; stops if the request dies. */
static void deliver_lines(struct docker *d, struct docker_req *r)
{
	size_t off = 0;
	while (!r->dead && off < r->len) {
		char *nl = memchr(r->buf + off, '\n', r->len - off);
		if (!nl)
			break;
		size_t ll = (size_t)(nl - (r->buf + off));
		*nl = '\0';
		if (ll > 0 && r->buf[off + ll - 1] == '\r')
			r->buf[off + --ll] = '\0';
		size_t start = off;
		off = (size_t)(nl - r->buf) + 1;
		if (ll > 0)
			r->on_line(d, r->buf + start, ll, r->arg);
	}
	if (off > 0 && !r->dead) {
		memmove(r->buf, r->buf + off, r->len - off);
		r->len -= off;
		if (r->buf)
			r->buf[r->len] = '\0';
	}
}

/* Offer a raw stream's bytes (a 2xx answer's only) to on_data; unpause the transfer once they
 * are taken. Unpausing may refill the buffer at once, so it goes round. */
static void deliver_data(struct docker *d, struct docker_req *r)
{
	long status = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300)
		return;
	while (!r->dead && !r->held) {
		if (r->len > 0) {
			size_t took = r->on_data(d, r->buf, r->len, r->arg);
			if (r->dead)
				return;
			if (took > r->len)
				took = r->len;
			memmove(r->buf, r->buf + took, r->len - took);
			r->len -= took;
			if (r->len > 0) {
				r->held = 1;
				return;
			}
		}
		if (!r->paused)
			return;
		r->paused = 0;
		curl_easy_pause(r->easy, CURLPAUSE_CONT);
		if (r->len == 0)
			return;
	}
}

void docker_resume(struct docker *d, struct docker_req *r)
{
	if (!r || r->dead || !r->on_data)
		return;
	r->held = 0;
	d->depth++;
	deliver_data(d, r);
	d->depth--;
	reap(d);
}

static void finish(struct docker *d, struct docker_req *r, CURLcode rc)
{
	long status = 0;
	char err[CURL_ERROR_SIZE + 64] = "";
	curl_multi_remove_handle(d->cl.m, r->easy);
	if (r->on_line)
		deliver_lines(d, r);
	else if (r->on_data && !r->held)
		deliver_data(d, r);
	if (r->dead)
		return;
	r->dead = 1;
	d->live--;
	if (r->overflow)
		snprintf(err, sizeof err, "answer from Docker exceeds %zu bytes", r->limit);
	else if (rc != CURLE_OK)
		snprintf(err, sizeof err, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
	else
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (r->done)
		r->done(d, err[0] ? 0 : (int)status, r->buf ? r->buf : "", r->len,
		        err[0] ? err : NULL, r->arg);
}

/* After curl did work: deliver stream lines, then finished transfers. */
static void pump(void *arg)
{
	struct docker *d = arg;
	d->depth++;
	for (struct docker_req *r = d->reqs; r; r = r->next) {
		if (!r->dead && r->want_room) {
			r->want_room = 0;
			r->on_room(d, r->arg);
		}
		if (!r->dead && r->on_line)
			deliver_lines(d, r);
		else if (!r->dead && r->on_data && !r->held)
			deliver_data(d, r);
	}
	struct docker_req *r;
	CURLcode rc;
	while ((r = curl_loop_next_done(&d->cl, &rc)))
		if (!r->dead)
			finish(d, r, rc);
	d->depth--;
	reap(d);
}

/* ---- one request to completion, for command-line tools (never from inside a loop) ---- */

struct docker_call {
	struct loop *loop;
	int status, finished;
	char *answer;
	char err[CURL_ERROR_SIZE + 64];
};

static void docker_call_done(struct docker *d, int status, const char *body, size_t len,
                             const char *err, void *arg)
{
	(void)d;
	struct docker_call *c = arg;
	c->finished = 1;
	c->status = status;
	if (err)
		snprintf(c->err, sizeof c->err, "%s", err);
	else if ((c->answer = malloc(len + 1))) {
		memcpy(c->answer, body, len);
		c->answer[len] = '\0';
	}
	loop_stop(c->loop);
}

int docker_call(const char *sock, const char *method, const char *path, const void *body,
                size_t bodylen, const char *ctype, uint64_t timeout_ms, int *status, char **answer,
                char *err, size_t errlen)
{
	struct docker_call c = {0};
	struct docker *d = NULL;
	struct docker_req *r;
	int rc = -1;
	*status = 0;
	if (answer)
		*answer = NULL;
	if (!(c.loop = loop_new())) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!(d = docker_new(c.loop, sock, err, errlen)))
		goto out;
	if (!(r = docker_request(d, method, path, NULL, timeout_ms, NULL, docker_call_done, &c))) {
		snprintf(err, errlen, "cannot start %s %s", method, path);
		goto out;
	}
	if (body) {
		/* docker_request sends only JSON text; a raw body (a tar archive) replaces its empty
		 * one before the transfer starts. body stays the caller's until we return. */
		char ct[128];
		snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
		struct curl_slist *h = curl_slist_append(r->headers, ct);
		curl_multi_remove_handle(d->cl.m, r->easy);
		if (h)
			r->headers = h;
		curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodylen);
		if (!h || curl_multi_add_handle(d->cl.m, r->easy) != CURLM_OK) {
			snprintf(err, errlen, "cannot start %s %s", method, path);
			goto out;
		}
	}
	if (loop_run(c.loop) < 0 || !c.finished) {
		snprintf(err, errlen, "the wait for Docker's answer failed");
		goto out;
	}
	if (c.err[0]) {
		snprintf(err, errlen, "%s", c.err);
		goto out;
	}
	*status = c.status;
	if (answer) {
		*answer = c.answer;
		c.answer = NULL;
	}
	rc = 0;
out:
	free(c.answer);
	docker_free(d);
	loop_free(c.loop);
	return rc;
}
