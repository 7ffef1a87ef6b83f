/* state.c: canteen-chainwatch's copy of the contract state, its snapshots and its events. */
#include <errno.h>
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
	if (!s->nodes || !s->services)
		fatalx("out of memory");
}

void cw_state_clear(struct cw_state *s)
{
	json_decref(s->nodes);
	json_decref(s->services);
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

static json_t *values(const json_t *obj)
{
	json_t *a = json_array(), *v;
	const char *k;
	json_object_foreach((json_t *)obj, k, v) json_array_append(a, v);
	return a;
}

json_t *cw_state_snapshot(const struct cw_state *s)
{
	return json_pack("{s:s, s:I, s:s, s:o, s:o}", "type", "snapshot", "block", (json_int_t)s->block,
	                 "block_hash", s->hash, "nodes", values(s->nodes), "services",
	                 values(s->services));
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

void cw_publish(struct chainwatch *cw, json_t *ev)
{
	if (!ev)
		return;
	ipc_publish(cw->srv, ev); /* also mirrored to --stdout */
	json_decref(ev);
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

void cw_state_replace(struct chainwatch *cw, json_t *nodes, json_t *services, uint64_t block,
                      const char *hash, int publish)
{
	struct cw_state *s = &cw->st;
	json_t *n = keyed(nodes, "address"), *sv = keyed(services, "name");
	if (!n || !sv)
		fatalx("out of memory");
	if (publish) {
		publish_diff(cw, s->nodes, n, block, "node.upsert", "node.remove", "node", "address");
		publish_diff(cw, s->services, sv, block, "service.upsert", "service.remove", "service",
		             "name");
	}
	json_decref(s->nodes);
	json_decref(s->services);
	s->nodes = n;
	s->services = sv;
	s->block = block;
	memcpy(s->hash, hash, sizeof s->hash);
	s->hash[sizeof s->hash - 1] = '\0';
	s->valid = 1;
}

void cw_release_waiting(struct chainwatch *cw)
{
	struct ipc_conn *w[CW_MAX_WAITING];
	size_t n = cw->nwaiting;
	/* Closing a connection removes it from cw->waiting: work on a copy. */
	memcpy(w, cw->waiting, n * sizeof w[0]);
	cw->nwaiting = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *snap = cw_state_snapshot(&cw->st);
		/* A failed ipc_subscribe has dropped (and freed) w[i]: close only on our own failure. */
		if (!snap)
			ipc_conn_close(w[i]);
		else
			ipc_subscribe(w[i], snap);
		json_decref(snap);
	}
}
