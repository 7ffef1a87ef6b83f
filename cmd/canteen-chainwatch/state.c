/* state.c: canteen-chainwatch's copy of the contract state, its snapshots and its events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chainwatch.h"
#include "log.h"

void cw_state_init(struct cw_state *s)
{
	memset(s, 0, sizeof *s);
	s->nodes = json_object();
	s->services = json_object();
	s->svc_meta = json_object();
	s->fed = json_object();
	if (!s->nodes || !s->services || !s->svc_meta || !s->fed)
		fatalx("out of memory");
}

void cw_state_clear(struct cw_state *s)
{
	json_decref(s->nodes);
	json_decref(s->services);
	json_decref(s->svc_meta);
	json_decref(s->fed);
	memset(s, 0, sizeof *s);
}

void cw_state_apply(struct cw_state *s, const json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *node = json_object_get(ev, "node"), *svc = json_object_get(ev, "service");
	if (!type)
		return;
	if (strcmp(type, "node.upsert") == 0)
		json_object_set(s->nodes, json_string_value(json_object_get(node, "address")), node);
	else if (strcmp(type, "node.remove") == 0)
		json_object_del(s->nodes, json_string_value(json_object_get(ev, "address")));
	else if (strcmp(type, "service.upsert") == 0)
		json_object_set(s->services, json_string_value(json_object_get(svc, "name")), svc);
	else if (strcmp(type, "service.remove") == 0)
		json_object_del(s->services, json_string_value(json_object_get(ev, "name")));
}

static int approved(const json_t *node)
{
	return json_is_true(json_object_get(node, "active"));
}

json_t *cw_state_snapshot(const struct cw_state *s)
{
	json_t *nodes = json_array(), *svcs = json_array(), *v;
	const char *k;
	json_object_foreach(s->nodes, k, v) if (approved(v)) json_array_append(nodes, v);
	json_object_foreach(s->services, k, v) json_array_append(svcs, v);
	json_t *st = json_pack("{s:s, s:I, s:s, s:o, s:o}", "type", "state", "block",
	                       (json_int_t)s->block, "block_hash", s->hash, "nodes", nodes,
	                       "services", svcs);
	/* One line at most (room left for seq, rpc_up and the request's id): a bigger state
	 * is read by subscribing, a record per line. */
	size_t size = st ? json_dumpb(st, NULL, 0, JSON_COMPACT) : 0;
	if (size > CW_STATE_LINE_MAX) {
		json_decref(st);
		char msg[200];
		snprintf(msg, sizeof msg, "the state is %zu bytes, more than one line (%d): subscribe "
		         "to read it a record per line", size, CW_STATE_LINE_MAX);
		st = json_pack("{s:s, s:s}", "type", "error", "error", msg);
	}
	return st;
}

/* Each line of the feed's snapshot goes to emit (which steals it; last is set for
 * snapshot.end): snapshot.begin, the approved nodes, the services, snapshot.end. One
 * record per line, so no state of the contract makes a line longer than one record. */
typedef int (*emit_fn)(void *arg, json_t *line, int last);

static int snapshot_lines(const struct chainwatch *cw, emit_fn emit, void *arg)
{
	const struct cw_state *s = &cw->st;
	json_int_t seq = (json_int_t)ipc_server_seq(cw->srv), nn = 0;
	json_int_t ns = (json_int_t)json_object_size(s->services);
	const char *k;
	json_t *v;
	json_object_foreach(s->nodes, k, v) nn += approved(v);
	json_t *begin = json_pack("{s:s, s:I, s:I, s:s, s:I, s:I}", "type", "snapshot.begin", "seq",
	                          seq, "block", (json_int_t)s->block, "block_hash", s->hash, "nodes",
	                          nn, "services", ns);
	if (begin && s->cached)
		json_object_set_new(begin, "cached", json_true());
	if (emit(arg, begin, 0) < 0)
		return -1;
	json_object_foreach(s->nodes, k, v) {
		if (approved(v) && emit(arg, json_pack("{s:s, s:O}", "type", "node", "node", v), 0) < 0)
			return -1;
	}
	json_object_foreach(s->services, k, v) {
		if (emit(arg, json_pack("{s:s, s:O}", "type", "service", "service", v), 0) < 0)
			return -1;
	}
	return emit(arg, json_pack("{s:s, s:I, s:I, s:I}", "type", "snapshot.end", "block",
	                           (json_int_t)s->block, "nodes", nn, "services", ns), 1);
}

/* To a subscriber: the end line through ipc_subscribe, which stamps the seq of the last
 * event the snapshot reflects and marks the connection subscribed. */
static int emit_conn(void *arg, json_t *line, int last)
{
	struct ipc_conn *c = arg;
	if (!line) {
		ipc_conn_close(c); /* our own failure: ipc_send and ipc_subscribe drop on theirs */
		return -1;
	}
	int rc = last ? ipc_subscribe(c, line) : ipc_send(c, line);
	json_decref(line);
	return rc;
}

int cw_subscribe(struct chainwatch *cw, struct ipc_conn *c)
{
	return snapshot_lines(cw, emit_conn, c);
}

static int emit_stdout(void *arg, json_t *line, int last)
{
	struct chainwatch *cw = arg;
	if (last && line)
		json_object_set_new(line, "seq", json_integer((json_int_t)ipc_server_seq(cw->srv)));
	if (line)
		cw_write_stdout(cw, line);
	json_decref(line);
	return 0;
}

void cw_stdout_snapshot(struct chainwatch *cw)
{
	if (cw->stdout_fd >= 0)
		snapshot_lines(cw, emit_stdout, cw);
}

void cw_write_stdout(struct chainwatch *cw, json_t *obj)
{
	if (cw->stdout_fd < 0)
		return;
	char *s = json_dumps(obj, JSON_COMPACT);
	if (!s)
		return;
	size_t len = strlen(s), off = 0;
	s[len] = '\n'; /* json_dumps's NUL becomes the newline; len + 1 bytes go out */
	while (off < len + 1) {
		ssize_t n = write(cw->stdout_fd, s + off, len + 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(s);
}

/* The event the feed carries for ev (a new reference), or NULL when it carries none:
 * a pending node is not in the feed, so its upserts and removal are not either. */
static json_t *feed_event(struct cw_state *s, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *node = json_object_get(ev, "node");
	const char *addr = json_string_value(json_object_get(node ? node : ev, "address"));
	if (!type || !addr || (strcmp(type, "node.upsert") != 0 && strcmp(type, "node.remove") != 0))
		return json_incref(ev);
	int was = json_object_get(s->fed, addr) != NULL;
	if (strcmp(type, "node.upsert") == 0 && approved(node)) {
		json_object_set_new(s->fed, addr, json_true());
		return json_incref(ev);
	}
	if (!was)
		return NULL;
	/* Approved before, not now (a record no longer approved, or removed). */
	json_t *rm = json_pack("{s:s, s:O?, s:s}", "type", "node.remove", "block",
	                       json_object_get(ev, "block"), "address", addr);
	json_object_del(s->fed, addr);
	return rm;
}

void cw_publish(struct chainwatch *cw, json_t *ev)
{
	if (!ev)
		return;
	const char *type = json_string_value(json_object_get(ev, "type"));
	if (type && (strncmp(type, "node.", 5) == 0 || strncmp(type, "service.", 8) == 0))
		cw_cache_dirty(cw);
	json_t *out = feed_event(&cw->st, ev);
	if (out)
		ipc_publish(cw->srv, out); /* also mirrored to --stdout */
	json_decref(out);
	json_decref(ev);
}

void cw_state_refeed(struct cw_state *s)
{
	const char *k;
	json_t *v;
	json_object_clear(s->fed);
	json_object_foreach(s->nodes, k, v) if (approved(v)) json_object_set_new(s->fed, k, json_true());
}

/* Publish what differs between the old and the new object sets as upserts/removals. */
static void publish_diff(struct chainwatch *cw, json_t *old, json_t *new, uint64_t block,
                         const char *up, const char *rm, const char *field, const char *keyname)
{
	const char *k;
	json_t *v;
	json_object_foreach(old, k, v) {
		if (!json_object_get(new, k))
			cw_publish(cw, json_pack("{s:s, s:I, s:s}", "type", rm, "block", (json_int_t)block,
			                         keyname, k));
	}
	json_object_foreach(new, k, v) {
		if (!json_equal(json_object_get(old, k), v))
			cw_publish(cw, json_pack("{s:s, s:I, s:O}", "type", up, "block", (json_int_t)block,
			                         field, v));
	}
}

/* An array of records into an object keyed by one string field; steals arr. */
static json_t *keyed(json_t *arr, const char *key)
{
	json_t *o = json_object(), *v;
	size_t i;
	json_array_foreach(arr, i, v) json_object_set(o, json_string_value(json_object_get(v, key)), v);
	json_decref(arr);
	return o;
}

void cw_state_replace(struct chainwatch *cw, json_t *nodes, struct rec_fold *services,
                      uint64_t block, const char *hash, int publish)
{
	struct cw_state *s = &cw->st;
	json_t *n = keyed(nodes, "address"), *sv = services->services;
	if (!n || !sv || !services->meta)
		fatalx("out of memory");
	if (publish) {
		publish_diff(cw, s->nodes, n, block, "node.upsert", "node.remove", "node", "address");
		publish_diff(cw, s->services, sv, block, "service.upsert", "service.remove", "service",
		             "name");
	}
	json_decref(s->nodes);
	json_decref(s->services);
	json_decref(s->svc_meta);
	s->nodes = n;
	s->services = sv;
	s->svc_meta = services->meta;
	services->services = services->meta = NULL;
	cw_state_refeed(s);
	s->block = block;
	memcpy(s->hash, hash, sizeof s->hash);
	s->hash[sizeof s->hash - 1] = '\0';
	s->valid = 1;
	s->cached = 0;
	cw_cache_dirty(cw);
}

void cw_release_waiting(struct chainwatch *cw)
{
	struct ipc_conn *w[CW_MAX_WAITING];
	size_t n = cw->nwaiting;
	/* Closing a connection removes it from cw->waiting: work on a copy. */
	memcpy(w, cw->waiting, n * sizeof w[0]);
	cw->nwaiting = 0;
	for (size_t i = 0; i < n; i++) {
		/* A failed cw_subscribe has dropped (and freed) w[i]: never close it again. */
		cw_subscribe(cw, w[i]);
	}
}
