/* logs.c: "logs" on dockerd.sock and over the channel: replicas' output from whichever server runs them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_logs.h"
#include "errf.h"
#include "link.h"
#include "log.h"
#include "parse.h"
#include "rec.h"

#define LOGS_JOBS_MAX 1024      /* replicas being followed for dockerd.sock clients, in all */
#define LOGS_TARGETS_MAX 256    /* replicas one request names */
#define LOGS_SERVES_MAX 64      /* streams served to peers, in all */
#define LOGS_LINE_MAX 16384     /* bytes of one output line; a longer one is split */
#define LOGS_TAIL_MAX 1000000   /* lines --tail asks for at most */
#define LOGS_CONN_HIGH (1024 * 1024) /* bytes queued for a client above which its sources wait */
#define LOGS_CHECK_MS 20        /* how often waiting sources look at their client's queue */

/* What a request asks of one replica's output. */
struct logs_want {
	char service[REC_MAX_NAME + 1];
	unsigned replica;
	int follow;
	long long since;   /* unix seconds; 0: from the start */
	long long tail;    /* lines from the end; -1: all */
};

/* One replica for one dockerd.sock client: from our Docker, or over a link. */
struct logjob {
	struct dd *dd;
	struct ipc_conn *conn;
	unsigned group;               /* one request's jobs share it */
	struct logs_want w;
	char node[43];
	struct docker_req *dreq;      /* local */
	struct docker_demux mux;
	struct link *link;            /* remote */
	uint32_t stream;
	int sent;                     /* the request went out on the link */
	int counted;                  /* counted in the link's streams (from attaching to it) */
	char line[LOGS_LINE_MAX];
	size_t llen;
	int dead;
	struct logjob *next;
};

/* One stream a peer asked for, served from our Docker. */
struct serve {
	struct dd *dd;
	struct link *link;
	uint32_t stream;
	struct docker_req *dreq;
	struct docker_demux mux;
	int dead;
	struct serve *next;
};

/* ---- Docker's log endpoint ---- */

static const struct ctr *ctr_of(const struct dd *dd, const char *service, unsigned replica)
{
	const struct ctr *best = NULL;
	for (const struct ctr *c = dd->ctrs; c; c = c->next)
		if (c->lab.labels_ok && c->lab.replica == replica && strcmp(c->lab.service, service) == 0 &&
		    (!best || c->state == DOCKER_RUNNING))
			best = c;
	return best;
}

static struct docker_req *fetch(struct dd *dd, const struct logs_want *w, docker_data_cb on_data,
                                docker_done_cb done, void *arg, char *err, size_t errlen)
{
	char path[256], tail[32] = "all";
	const struct ctr *c = ctr_of(dd, w->service, w->replica);
	if (!c) {
		snprintf(err, errlen, "no container of %s.%u on this server", w->service, w->replica);
		return NULL;
	}
	if (dd->dk_state != DK_READY) {
		snprintf(err, errlen, "Docker is not reachable on this server");
		return NULL;
	}
	if (w->tail >= 0)
		snprintf(tail, sizeof tail, "%lld", w->tail);
	snprintf(path, sizeof path, "/containers/%s/logs?stdout=1&stderr=1&follow=%d&since=%lld&tail=%s",
	         c->id, w->follow, w->since, tail);
	struct docker_req *r = docker_stream(dd->dk, path, on_data, done, arg);
	if (!r)
		snprintf(err, errlen, "cannot start a Docker request");
	return r;
}

/* The request's fields, strictly: {"op":"logs","service","replica","follow","since","tail"}
 * (targets, on dockerd.sock, in place of replica). */
static int want_parse(json_t *o, struct logs_want *w, int with_replica, json_t **targets,
                      char *err, size_t errlen)
{
	json_t *idv = NULL;
	const char *op, *svc;
	json_int_t replica = 0, since = 0, tail = -1;
	int follow = 0;
	json_error_t je;
	int rc = with_replica
	             ? json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:s, s:I, s?b, s?I, s?I}", "op", &op,
	                              "service", &svc, "replica", &replica, "follow", &follow,
	                              "since", &since, "tail", &tail)
	             : json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:s, s:o, s?b, s?I, s?I, s?O}", "op",
	                              &op, "service", &svc, "targets", targets, "follow", &follow,
	                              "since", &since, "tail", &tail, "id", &idv);
	if (rc < 0)
		return errf(err, errlen, "logs: %s", je.text);
	if (!rec_name_ok(svc, strlen(svc)))
		return errf(err, errlen, "logs: \"service\" is not a service name");
	if (replica < 0 || replica >= REC_RUN_REPLICAS_MAX)
		return errf(err, errlen, "logs: \"replica\" out of range");
	if (since < 0 || since > 100000000000LL)
		return errf(err, errlen, "logs: \"since\" must be unix seconds");
	if (tail < -1 || tail > LOGS_TAIL_MAX)
		return errf(err, errlen, "logs: \"tail\" must be -1 (all) or 0 to %d", LOGS_TAIL_MAX);
	memset(w, 0, sizeof *w);
	str_copy(w->service, sizeof w->service, svc);
	w->replica = (unsigned)replica;
	w->follow = follow;
	w->since = since;
	w->tail = tail;
	return 0;
}

/* ---- serving a peer ---- */

static void serve_end(struct serve *s, const char *error)
{
	if (s->dead)
		return;
	s->dead = 1;
	s->dd->nserves--;
	if (s->dreq)
		docker_cancel(s->dd->dk, s->dreq);
	s->dreq = NULL;
	if (s->link) {
		link_end(s->link, s->stream, error);
		link_streams(s->link, -1);
	}
	dd_reap_soon(s->dd);
}

static void serve_out(const char *data, size_t len, int stream, void *arg)
{
	(void)stream;
	struct serve *s = arg;
	while (len > 0 && !s->dead && link_is_open(s->link)) {
		size_t n = len < CHAN_FRAME_MAX ? len : CHAN_FRAME_MAX;
		if (link_send(s->link, CHAN_DATA, s->stream, data, n) < 0)
			return;
		data += n;
		len -= n;
	}
}

static size_t serve_data(struct docker *d, const char *data, size_t len, void *arg)
{
	(void)d;
	struct serve *s = arg;
	char err[128];
	if (s->dead || !link_is_open(s->link))
		return len;
	if (link_queued(s->link) > LINK_OUTQ_HIGH)
		return 0; /* held until the peer reads: logs_on_drain resumes it */
	if (docker_demux_feed(&s->mux, data, len, serve_out, s, err, sizeof err) < 0)
		serve_end(s, err);
	return len;
}

static void serve_done(struct docker *d, int status, const char *body, size_t len,
                       const char *err, void *arg)
{
	(void)d;
	struct serve *s = arg;
	char msg[256], derr[128];
	s->dreq = NULL;
	if (s->dead)
		return;
	if (status >= 200 && status < 300) {
		if (len && docker_demux_feed(&s->mux, body, len, serve_out, s, derr, sizeof derr) < 0) {
			serve_end(s, derr);
			return;
		}
		serve_end(s, NULL);
		return;
	}
	if (status == 0)
		snprintf(msg, sizeof msg, "Docker: %s", err ? err : "transfer failed");
	else
		docker_parse_error(body, len, msg, sizeof msg);
	serve_end(s, msg);
}

static struct serve *serve_find(struct dd *dd, struct link *k, uint32_t stream)
{
	for (struct serve *s = dd->serves; s; s = s->next)
		if (!s->dead && s->link == k && s->stream == stream)
			return s;
	return NULL;
}

static void serve_req(struct dd *dd, struct link *k, uint32_t stream, const uint8_t *p,
                      size_t len)
{
	char err[256];
	struct logs_want w;
	if (len > CHAN_REQ_MAX) {
		link_close(k, "a request over CHAN_REQ_MAX");
		return;
	}
	if (serve_find(dd, k, stream)) {
		link_close(k, "a request on a stream already open");
		return;
	}
	json_t *o = ipc_parse_line((const char *)p, len, err, sizeof err);
	if (!o) {
		link_close(k, "a request that is not a JSON object");
		return;
	}
	const char *op = json_string_value(json_object_get(o, "op"));
	if (!op || strcmp(op, "logs") != 0) {
		link_end(k, stream, "unknown op (logs)");
		goto out;
	}
	if (want_parse(o, &w, 1, NULL, err, sizeof err) < 0) {
		link_end(k, stream, err);
		goto out;
	}
	if (link_nstreams(k) >= LINK_STREAMS_MAX || dd->nserves >= LOGS_SERVES_MAX) {
		link_end(k, stream, "too many streams open: try again later");
		goto out;
	}
	struct serve *s = calloc(1, sizeof *s);
	if (!s) {
		link_end(k, stream, "out of memory");
		goto out;
	}
	s->dd = dd;
	s->link = k;
	s->stream = stream;
	s->next = dd->serves;
	dd->serves = s;
	dd->nserves++;
	link_streams(k, 1);
	if (!(s->dreq = fetch(dd, &w, serve_data, serve_done, s, err, sizeof err)))
		serve_end(s, err);
out:
	json_decref(o);
}

/* ---- jobs of dockerd.sock clients ---- */

static void job_send(struct logjob *j, json_t *ev)
{
	if (ev && j->conn && !j->dead)
		ipc_send(j->conn, ev); /* a failure closes conn: logs_conn_closed marks us dead */
	json_decref(ev);
}

/* A line as a JSON string: bytes that are not UTF-8 become '?'. */
static json_t *text_of(const char *s, size_t n)
{
	json_t *t = json_stringn(s, n);
	if (t)
		return t;
	char *c = malloc(n ? n : 1);
	if (!c)
		return NULL;
	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	t = json_stringn(c, n);
	free(c);
	return t;
}

static void job_line(struct logjob *j)
{
	size_t n = j->llen;
	if (n && j->line[n - 1] == '\r')
		n--;
	json_t *line = text_of(j->line, n);
	j->llen = 0;
	if (!line)
		return;
	job_send(j, json_pack("{s:s,s:s,s:i,s:s,s:o}", "type", "log", "service", j->w.service,
	                      "replica", (int)j->w.replica, "node", j->node, "line", line));
}

static void job_bytes(const char *data, size_t len, int stream, void *arg)
{
	(void)stream;
	struct logjob *j = arg;
	for (size_t i = 0; i < len && !j->dead; i++) {
		if (data[i] == '\n') {
			job_line(j);
			continue;
		}
		j->line[j->llen++] = data[i];
		if (j->llen == LOGS_LINE_MAX)
			job_line(j);
	}
}

/* The last job of its group ends the answer. */
static void job_end(struct logjob *j, const char *error)
{
	if (j->dead)
		return;
	if (j->llen)
		job_line(j);
	if (j->dead)
		return;
	struct ipc_conn *c = j->conn;
	json_t *ev = json_pack("{s:s,s:s,s:i,s:s}", "type", "log.end", "service", j->w.service,
	                       "replica", (int)j->w.replica, "node", j->node);
	if (ev && error)
		json_object_set_new(ev, "error", json_string(error));
	job_send(j, ev);
	if (j->dead)
		return;
	j->dead = 1;
	if (j->link && j->counted)
		link_streams(j->link, -1);
	int last = 1;
	for (struct logjob *o = j->dd->jobs; o; o = o->next)
		last &= o->dead || o->group != j->group;
	if (last && c) {
		json_t *end = json_pack("{s:s}", "type", "end");
		ipc_send(c, end);
		json_decref(end);
	}
	dd_reap_soon(j->dd);
}

static void logs_wait(struct dd *dd);

/* Is j's client behind? Then its source waits (logs_check looks again). */
static int job_behind(struct logjob *j)
{
	if (j->dead || !j->conn || ipc_conn_queued(j->conn) <= LOGS_CONN_HIGH)
		return 0;
	logs_wait(j->dd);
	return 1;
}

static size_t job_data(struct docker *d, const char *data, size_t len, void *arg)
{
	(void)d;
	struct logjob *j = arg;
	char err[128];
	if (d && job_behind(j))
		return 0;
	if (!j->dead && docker_demux_feed(&j->mux, data, len, job_bytes, j, err, sizeof err) < 0) {
		docker_cancel(j->dd->dk, j->dreq);
		j->dreq = NULL;
		job_end(j, err);
	}
	return len;
}

static void job_done(struct docker *d, int status, const char *body, size_t len,
                     const char *err, void *arg)
{
	(void)d;
	struct logjob *j = arg;
	char msg[256];
	j->dreq = NULL;
	if (status >= 200 && status < 300) {
		if (len)
			job_data(NULL, body, len, j); /* the rest, whatever the client holds */
		job_end(j, NULL);
		return;
	}
	if (status == 0)
		snprintf(msg, sizeof msg, "Docker: %s", err ? err : "transfer failed");
	else
		docker_parse_error(body, len, msg, sizeof msg);
	job_end(j, msg);
}

static void job_send_req(struct logjob *j)
{
	json_t *o = json_pack("{s:s,s:s,s:i,s:b,s:I,s:I}", "op", "logs", "service", j->w.service,
	                      "replica", (int)j->w.replica, "follow", j->w.follow, "since",
	                      (json_int_t)j->w.since, "tail", (json_int_t)j->w.tail);
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	j->stream = link_stream_new(j->link);
	j->sent = 1;
	if (!t || link_send(j->link, CHAN_REQ, j->stream, t, strlen(t)) < 0)
		job_end(j, "cannot send the request");
	free(t);
}

static void job_start(struct dd *dd, struct logjob *j)
{
	char err[256];
	uint8_t a[SWIM_ADDR_LEN];
	if (strcmp(j->node, dd->node) == 0) {
		if (!(j->dreq = fetch(dd, &j->w, job_data, job_done, j, err, sizeof err)))
			job_end(j, err);
		return;
	}
	const struct dd_peer *p = swim_addr_parse(j->node, a) == 0 ? peer_find(dd, a) : NULL;
	if (!dd->chan_on) {
		job_end(j, "the channel is off on this server (no swim key or no node address)");
		return;
	}
	if (!p) {
		job_end(j, "not an admitted server");
		return;
	}
	if (!(j->link = link_to(dd, p, err, sizeof err))) {
		job_end(j, err);
		return;
	}
	/* Counted now, so that link_to opens another link rather than pass LINK_STREAMS_MAX. */
	link_streams(j->link, 1);
	j->counted = 1;
	if (link_is_open(j->link))
		job_send_req(j);
}

/* {"op":"logs","service","targets":[{"replica","node"}],"follow","since","tail"} */
void logs_op(struct dd *dd, struct ipc_conn *c, json_t *msg)
{
	struct logs_want w;
	json_t *targets = NULL, *t;
	char err[256];
	size_t i;
	if (want_parse(msg, &w, 0, &targets, err, sizeof err) < 0) {
		ipc_reply_error(c, msg, "%s", err);
		return;
	}
	if (!json_is_array(targets) || json_array_size(targets) > LOGS_TARGETS_MAX) {
		ipc_reply_error(c, msg, "logs: \"targets\" must be an array of at most %d", LOGS_TARGETS_MAX);
		return;
	}
	json_array_foreach(targets, i, t) {
		json_int_t r;
		const char *node;
		json_error_t je;
		uint8_t a[SWIM_ADDR_LEN];
		if (json_unpack_ex(t, &je, JSON_STRICT, "{s:I, s:s}", "replica", &r, "node", &node) < 0 ||
		    r < 0 || r >= REC_RUN_REPLICAS_MAX || swim_addr_parse(node, a) < 0) {
			ipc_reply_error(c, msg, "logs: target %zu must be {\"replica\":N,\"node\":\"0x..\"}", i);
			return;
		}
	}
	if (dd->logs_njobs + json_array_size(targets) > LOGS_JOBS_MAX) {
		ipc_reply_error(c, msg, "logs: %d replicas are followed already: try again later",
		                LOGS_JOBS_MAX);
		return;
	}
	json_t *ok = json_pack("{s:s,s:i}", "type", "logs", "replicas", (int)json_array_size(targets));
	int rc = ipc_reply(c, msg, ok);
	json_decref(ok);
	if (rc < 0)
		return;
	if (json_array_size(targets) == 0) {
		json_t *end = json_pack("{s:s}", "type", "end");
		ipc_send(c, end);
		json_decref(end);
		return;
	}
	unsigned group = ++dd->logs_group;
	json_array_foreach(targets, i, t) {
		struct logjob *j = calloc(1, sizeof *j);
		if (!j)
			break;
		j->dd = dd;
		j->conn = c;
		j->group = group;
		j->w = w;
		j->w.replica = (unsigned)json_integer_value(json_object_get(t, "replica"));
		str_copy(j->node, sizeof j->node, json_string_value(json_object_get(t, "node")));
		for (char *p = j->node; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
		j->next = dd->jobs;
		dd->jobs = j;
		dd->logs_njobs++;
	}
	/* Started once all are listed: the group's end is sent after the last. */
	for (struct logjob *j = dd->jobs; j; j = j->next)
		if (j->group == group && !j->dead && !j->dreq && !j->link)
			job_start(dd, j);
}

void logs_conn_closed(struct dd *dd, struct ipc_conn *c)
{
	for (struct logjob *j = dd->jobs; j; j = j->next) {
		if (j->conn != c)
			continue;
		j->conn = NULL;
		if (j->dead)
			continue;
		j->dead = 1;
		if (j->dreq)
			docker_cancel(dd->dk, j->dreq);
		j->dreq = NULL;
		if (j->link && j->sent && link_is_open(j->link))
			link_send(j->link, CHAN_END, j->stream, "{}", 2);
		if (j->link && j->counted)
			link_streams(j->link, -1);
	}
	dd_reap_soon(dd);
}

/* ---- what links deliver ---- */

static struct logjob *job_find(struct dd *dd, struct link *k, uint32_t stream)
{
	for (struct logjob *j = dd->jobs; j; j = j->next)
		if (!j->dead && j->link == k && j->sent && j->stream == stream)
			return j;
	return NULL;
}

void logs_on_frame(struct dd *dd, struct link *k, uint8_t type, uint32_t stream,
                   const uint8_t *payload, size_t len)
{
	if (link_is_server(k)) {
		if (type == CHAN_REQ)
			serve_req(dd, k, stream, payload, len);
		else if (type == CHAN_END) {
			struct serve *s = serve_find(dd, k, stream);
			if (s) {
				s->link = NULL; /* the peer ended it: no END back */
				link_streams(k, -1);
				serve_end(s, NULL);
			}
		} else
			link_close(k, "an unexpected frame type from a client");
		return;
	}
	struct logjob *j = job_find(dd, k, stream);
	if (type == CHAN_DATA) {
		if (j)
			job_bytes((const char *)payload, len, 1, j);
		if (j && job_behind(j))
			link_read_pause(k, 1);
	} else if (type == CHAN_END) {
		if (!j)
			return;
		char err[256];
		json_t *o = len <= CHAN_REQ_MAX ? ipc_parse_line((const char *)payload, len, err, sizeof err)
		                                : NULL;
		const char *e = o ? json_string_value(json_object_get(o, "error")) : "a malformed end";
		char why[300];
		if (e)
			snprintf(why, sizeof why, "%s", e);
		json_decref(o);
		job_end(j, e ? why : NULL);
	} else
		link_close(k, "an unexpected frame type from a server");
}

void logs_on_open(struct dd *dd, struct link *k)
{
	for (struct logjob *j = dd->jobs; j; j = j->next)
		if (!j->dead && j->link == k && !j->sent)
			job_send_req(j);
}

void logs_on_drain(struct dd *dd, struct link *k)
{
	for (struct serve *s = dd->serves; s; s = s->next)
		if (!s->dead && s->link == k && s->dreq)
			docker_resume(dd->dk, s->dreq);
}

void logs_on_close(struct dd *dd, struct link *k, const char *why)
{
	char msg[300];
	snprintf(msg, sizeof msg, "channel: %s", why);
	for (struct logjob *j = dd->jobs; j; j = j->next)
		if (!j->dead && j->link == k) {
			j->counted = 0; /* no stream count to give back on a closed link */
			job_end(j, msg);
		}
	for (struct serve *s = dd->serves; s; s = s->next)
		if (!s->dead && s->link == k) {
			s->link = NULL;
			serve_end(s, NULL);
		}
	for (struct logjob *j = dd->jobs; j; j = j->next)
		if (j->link == k)
			j->link = NULL;
	for (struct serve *s = dd->serves; s; s = s->next)
		if (s->link == k)
			s->link = NULL;
}

/* Sources wait while their client is behind: resume those whose client caught up. */
static void logs_check(struct loop *l, void *arg)
{
	(void)l;
	struct dd *dd = arg;
	int waiting = 0;
	dd->logs_timer = 0;
	for (struct logjob *j = dd->jobs; j; j = j->next) {
		if (j->dead || !j->conn)
			continue;
		if (ipc_conn_queued(j->conn) > LOGS_CONN_HIGH / 2) {
			waiting |= (j->dreq != NULL) || (j->link && link_read_paused(j->link));
			continue;
		}
		if (j->dreq)
			docker_resume(dd->dk, j->dreq);
		else if (j->link && link_read_paused(j->link))
			link_read_pause(j->link, 0);
	}
	if (waiting)
		logs_wait(dd);
}

static void logs_wait(struct dd *dd)
{
	if (!dd->logs_timer)
		dd->logs_timer = loop_timer_add(dd->loop, LOGS_CHECK_MS, logs_check, dd);
}

void logs_reap(struct dd *dd)
{
	struct logjob **jp = &dd->jobs;
	while (*jp) {
		struct logjob *j = *jp;
		if (j->dead) {
			*jp = j->next;
			if (j->dreq)
				docker_cancel(dd->dk, j->dreq);
			dd->logs_njobs--;
			free(j);
		} else
			jp = &j->next;
	}
	struct serve **sp = &dd->serves;
	while (*sp) {
		struct serve *s = *sp;
		if (s->dead) {
			*sp = s->next;
			if (s->dreq)
				docker_cancel(dd->dk, s->dreq);
			free(s);
		} else
			sp = &s->next;
	}
}

void logs_free(struct dd *dd)
{
	if (dd->logs_timer)
		loop_timer_cancel(dd->loop, dd->logs_timer);
	dd->logs_timer = 0;
	for (struct logjob *j = dd->jobs; j; j = j->next)
		j->dead = 1;
	for (struct serve *s = dd->serves; s; s = s->next)
		s->dead = 1;
	logs_reap(dd);
}
