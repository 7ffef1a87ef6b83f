/* rview.c: each placed replica's state and health as this server knows them (its dockerd, the members' summaries). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipc.h"
#include "rview.h"
#include "sockets.h"

json_t *rview_ask(const char *path, const char *op, const char *want, int timeout_ms, char *err,
                  size_t errlen)
{
	json_t *req = json_pack("{s:s}", "op", op), *ans = NULL;
	int rc = req ? ipc_request(path, req, &ans, timeout_ms, err, errlen) : -1;
	json_decref(req);
	if (rc < 0)
		return NULL;
	const char *type = json_string_value(json_object_get(ans, "type"));
	if (!type || strcmp(type, want) != 0) {
		const char *e = json_string_value(json_object_get(ans, "error"));
		snprintf(err, errlen, "%s", e ? e : "an unexpected answer");
		json_decref(ans);
		return NULL;
	}
	return ans;
}

/* canteen-swim's members (borrowed from ans); n of them. NULL when there are none. */
static struct rview_member *members_of(json_t *ans, size_t *n)
{
	json_t *arr = json_object_get(ans, "members"), *m;
	size_t i, k = 0;
	*n = 0;
	if (!json_array_size(arr))
		return NULL;
	struct rview_member *v = calloc(json_array_size(arr), sizeof *v);
	if (!v)
		return NULL;
	json_array_foreach(arr, i, m) {
		const char *a = json_string_value(json_object_get(m, "address"));
		if (!a)
			continue;
		v[k].address = a;
		v[k].state = json_string_value(json_object_get(m, "state"));
		v[k].meta = json_string_value(json_object_get(m, "meta"));
		v[k].since_ms = json_integer_value(json_object_get(m, "since_ms"));
		k++;
	}
	*n = k;
	return v;
}

void rview_load(struct cli *cli, struct rview *v)
{
	char dpath[1024], wpath[1024], err[512];
	memset(v, 0, sizeof *v);
	cli_sock_path(cli, SOCK_DOCKERD, dpath, sizeof dpath);
	cli_sock_path(cli, SOCK_SWIM, wpath, sizeof wpath);
	v->ps = rview_ask(dpath, "ps", "ps", 3000, err, sizeof err);
	v->mem = rview_ask(wpath, "members", "members", 3000, err, sizeof err);
	v->mv = members_of(v->mem, &v->nm);
}

void rview_free(struct rview *v)
{
	free(v->mv);
	json_decref(v->ps);
	json_decref(v->mem);
	memset(v, 0, sizeof *v);
}

/* dockerd's row of (service, replica) on node, or NULL; borrowed from ps. During a
 * replacement the new container, not the one being removed. */
static json_t *row_of(json_t *ps, const char *service, json_int_t replica, const char *node)
{
	size_t i;
	json_t *c, *found = NULL;
	json_array_foreach(json_object_get(ps, "containers"), i, c) {
		const char *s = json_string_value(json_object_get(c, "service"));
		const char *n = json_string_value(json_object_get(c, "node"));
		const char *st = json_string_value(json_object_get(c, "state"));
		if (s && strcmp(s, service) == 0 && n && strcmp(n, node) == 0 &&
		    json_integer_value(json_object_get(c, "replica")) == replica &&
		    (!found || (st && strcmp(st, "removing") != 0)))
			found = c;
	}
	return found;
}

static struct rview_member *member_of(struct rview *v, const char *address)
{
	for (size_t i = 0; i < v->nm; i++)
		if (strcasecmp(v->mv[i].address, address) == 0)
			return &v->mv[i];
	return NULL;
}

static void unknown(struct rview_state *r, long long since, const char *fmt, const char *arg)
{
	r->state = "unknown";
	r->since = since;
	snprintf(r->note, sizeof r->note, fmt, arg);
	r->reason = r->note;
}

/* The state of a replica from its server's summary in the membership (any other server's,
 * or ours when canteen-dockerd did not answer). */
static void from_member(struct rview_state *r, struct rview_member *m, const char *service,
                        json_int_t replica)
{
	if (!m) {
		unknown(r, 0, "%s", "its server is not in this server's membership");
		return;
	}
	const char *st = m->state ? m->state : "?";
	long long since = m->since_ms > 0 ? m->since_ms / 1000 : 0;
	if (strcmp(st, "alive") != 0 && strcmp(st, "suspect") != 0) {
		unknown(r, since, "its server is %s", st);
		return;
	}
	if (!m->decoded) {
		m->decoded = !m->meta ? -1
		             : replstate_decode(m->meta, strlen(m->meta), &m->rs, m->err, sizeof m->err) < 0
		                 ? -1 : 1;
	}
	if (m->decoded < 0 && !m->meta) {
		unknown(r, 0, "%s", "its server publishes no replica states");
		return;
	}
	if (m->decoded < 0) {
		unknown(r, 0, "its server's summary is refused: %s", m->err);
		return;
	}
	struct replstate_entry ent;
	const struct replstate_entry *e =
	    replstate_find(&m->rs, replstate_hash(service), (unsigned)replica, &ent) ? &ent : NULL;
	if (!e) {
		const struct replstate *s = &m->rs;
		r->state = "unknown";
		if (replstate_len(s) < s->total)
			snprintf(r->note, sizeof r->note,
			         "not in its server's summary (%u replicas: %u running, %u starting, "
			         "%u pending, %u failing)", s->total, s->counts[RSC_RUNNING],
			         s->counts[RSC_STARTING], s->counts[RSC_PENDING], s->counts[RSC_FAILING]);
		else
			snprintf(r->note, sizeof r->note, "not reported by its server yet");
		r->reason = r->note;
		return;
	}
	snprintf(r->rs_state, sizeof r->rs_state, "%s", replstate_state_name(e->state));
	memcpy(r->rs_reason, e->reason, sizeof r->rs_reason);
	r->restarts = e->brief ? -1 : (long long)e->restarts; /* a group line does not say */
	r->since = e->since;
	if (strcmp(st, "suspect") == 0) { /* perhaps cut off: never shown as running */
		snprintf(r->note, sizeof r->note, "its server is suspect; it last said %s", r->rs_state);
		r->state = "unknown";
		r->reason = r->note;
		return;
	}
	r->state = r->rs_state;
	r->reason = r->rs_reason[0] ? r->rs_reason : NULL;
	r->health = e->health != RH_NONE ? replstate_health_name(e->health) : NULL;
}

static void rview_lookup_state(struct rview *v, const char *service, json_int_t replica,
                               const char *node, struct rview_state *r);

/* What node's summary says of (service, replica), into *out: 1, or 0 when it says nothing. */
static int entry_of(struct rview *v, const char *service, json_int_t replica, const char *node,
                    struct replstate_entry *out)
{
	struct rview_member *m = member_of(v, node);
	if (!m || !m->meta)
		return 0;
	if (!m->decoded)
		m->decoded = replstate_decode(m->meta, strlen(m->meta), &m->rs, m->err, sizeof m->err) < 0 ? -1 : 1;
	return m->decoded > 0 && replstate_find(&m->rs, replstate_hash(service), (unsigned)replica, out);
}

void rview_lookup(struct rview *v, const char *service, json_int_t replica, const char *node,
                  struct rview_state *r)
{
	rview_lookup_state(v, service, replica, node, r);
	struct replstate_entry ent;
	const struct replstate_entry *e =
	    r->state && strcmp(r->state, "unknown") != 0 && entry_of(v, service, replica, node, &ent) ? &ent : NULL;
	if (e && e->generation > 0) { /* what its server publishes counts a container a scale kept as current */
		r->generation = (long long)e->generation;
		r->rolled_back = e->rolled_back;
	}
}

int rview_failed(const struct rview_state *s)
{
	static const char *const failing[] = {"exited", "dead", "restarting", "crashloop"};
	if (!s->state)
		return 0;
	for (size_t i = 0; i < sizeof failing / sizeof failing[0]; i++)
		if (strcmp(s->state, failing[i]) == 0)
			return 1;
	if (rview_running(s))
		return s->health && strcmp(s->health, "unhealthy") == 0;
	return strcmp(s->state, "pending") == 0 && s->reason && strstr(s->reason, "failed");
}

static void rview_lookup_state(struct rview *v, const char *service, json_int_t replica,
                               const char *node, struct rview_state *r)
{
	memset(r, 0, sizeof *r);
	r->restarts = -1;
	json_t *dr = v->ps ? row_of(v->ps, service, replica, node) : NULL;
	if (dr) {
		r->state = json_string_value(json_object_get(dr, "state"));
		r->reason = json_string_value(json_object_get(dr, "reason"));
		r->health = json_string_value(json_object_get(dr, "health"));
		r->restarts = json_integer_value(json_object_get(dr, "restarts"));
		r->since = json_integer_value(json_object_get(dr, "since"));
		r->generation = json_integer_value(json_object_get(dr, "generation"));
		r->rolled_back = json_is_true(json_object_get(dr, "rolled_back"));
		return;
	}
	from_member(r, member_of(v, node), service, replica);
}

int rview_running(const struct rview_state *s)
{
	return s->state && strcmp(s->state, "running") == 0;
}

int rview_ready(const struct rview_state *s)
{
	return rview_running(s) && (!s->health || strcmp(s->health, "healthy") == 0);
}
