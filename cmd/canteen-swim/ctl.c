/* ctl.c: swim.sock: members, subscribe (snapshot then member.* events), stats, set_meta. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sockets.h"
#include "swimd.h"

static json_t *member_json(const struct swimd *d, const struct swim_member *m, int state)
{
	char hex[43];
	const struct peer *p = m->user;
	const char *ep = p ? p->endpoint : "";
	if (memcmp(m->addr, d->self, SWIM_ADDR_LEN) == 0)
		for (size_t i = 0; i < d->nnodes; i++)
			if (memcmp(d->nodes[i].addr, d->self, SWIM_ADDR_LEN) == 0)
				ep = d->nodes[i].endpoint;
	swim_addr_hex(m->addr, hex);
	json_t *meta = m->has_meta ? json_stringn((const char *)m->meta, m->meta_len) : NULL;
	/* When its state last changed, on the wall clock: how old the last news of a dead one is. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = d->loop ? loop_now(d->loop) : 0, ago = now > m->state_since ? now - m->state_since : 0;
	json_int_t since_ms = (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - (json_int_t)ago;
	return json_pack("{s:s, s:s, s:s, s:I, s:o, s:I}", "address", hex, "endpoint", ep, "state",
	                 swim_state_name(state), "incarnation", (json_int_t)m->incarnation, "meta",
	                 meta ? meta : json_null(), "since_ms", since_ms);
}

static json_t *members_json(struct swimd *d)
{
	json_t *arr = json_array();
	if (!arr || !d->swim || d->self_active != 1) /* not admitted: no members, not even us */
		return arr;
	for (size_t i = 0; i < swim_count(d->swim); i++) {
		const struct swim_member *m = swim_at(d->swim, i);
		if (m->state != SWIM_UNKNOWN)
			json_array_append_new(arr, member_json(d, m, m->state));
	}
	return arr;
}

static json_t *self_json(const struct swimd *d)
{
	char hex[43];
	if (!d->have_self)
		return json_null();
	swim_addr_hex(d->self, hex);
	return json_string(hex);
}

static void publish(struct swimd *d, const struct swim_member *m, int state, const char *reason)
{
	char type[32];
	snprintf(type, sizeof type, "member.%s", swim_state_name(state));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_int_t ms = (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	json_t *ev = json_pack("{s:s, s:o, s:I}", "type", type, "member", member_json(d, m, state),
	                       "time_ms", ms);
	if (ev && reason)
		json_object_set_new(ev, "reason", json_string(reason));
	if (ev && d->srv)
		ipc_publish(d->srv, ev);
	if (state >= 0 && state <= SWIM_LEFT)
		d->st.events[state]++;
	json_decref(ev);
}

void ctl_on_change(void *arg, const struct swim_member *m, int old_state, int meta_changed)
{
	struct swimd *d = arg;
	char hex[43];
	swim_addr_hex(m->addr, hex);
	if (meta_changed && old_state == m->state)
		log_info("member %s metadata changed (incarnation %llu)", hex,
		         (unsigned long long)m->incarnation);
	else
		log_info("member %s %s -> %s (incarnation %llu)", hex, swim_state_name(old_state),
		         swim_state_name(m->state), (unsigned long long)m->incarnation);
	publish(d, m, m->state, NULL);
}

void ctl_publish_revoked(struct swimd *d, const struct swim_member *m)
{
	publish(d, m, SWIM_LEFT, "revoked");
}

static json_t *stats_json(struct swimd *d)
{
	json_t *drops = json_object();
	uint64_t total = 0;
	for (int i = 1; i < SWIM_DROP_NREASONS; i++) {
		json_object_set_new(drops, swim_drop_name(i), json_integer((json_int_t)d->st.drops[i]));
		total += d->st.drops[i];
	}
	json_t *counts = json_object(), *events = json_object();
	static const int states[] = {SWIM_ALIVE, SWIM_SUSPECT, SWIM_DEAD, SWIM_LEFT};
	for (size_t s = 0; s < 4; s++) {
		json_int_t c = 0;
		for (size_t i = 0; d->swim && i < swim_count(d->swim); i++)
			c += swim_at(d->swim, i)->state == states[s];
		json_object_set_new(counts, swim_state_name(states[s]), json_integer(c));
		json_object_set_new(events, swim_state_name(states[s]),
		                    json_integer((json_int_t)d->st.events[states[s]]));
	}
	struct swim_counters zero = {0};
	const struct swim_counters *c = d->swim ? swim_counters(d->swim) : &zero;
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:i, s:o, s:I, s:I, s:I, s:I,"
	                 " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
	                 "type", "stats", "packets_in", (json_int_t)d->st.packets_in, "bytes_in",
	                 (json_int_t)d->st.bytes_in, "packets_out", (json_int_t)d->st.packets_out,
	                 "bytes_out", (json_int_t)d->st.bytes_out, "send_errors",
	                 (json_int_t)d->st.send_errors, "drops", drops, "drops_total",
	                 (json_int_t)total, "local_health", d->swim ? swim_health(d->swim) : 0,
	                 "members", counts, "probes", (json_int_t)c->probes, "acks",
	                 (json_int_t)c->acks, "indirect_probes", (json_int_t)c->indirect, "nacks_in",
	                 (json_int_t)c->nacks_in, "nacks_out", (json_int_t)c->nacks_out,
	                 "suspicions", (json_int_t)c->suspicions, "refutations",
	                 (json_int_t)c->refutes, "pushpulls", (json_int_t)c->pushpulls, "joins",
	                 (json_int_t)c->joins, "paused", (json_int_t)c->paused, "replies_capped",
	                 (json_int_t)c->replies_capped, "pushpulls_refused",
	                 (json_int_t)c->pushpulls_refused, "gossip_ignored",
	                 (json_int_t)c->gossip_ignored, "shared_keys",
	                 (json_int_t)swim_key_pool_count(&d->keypool), "events", events);
}

static void op_members(struct swimd *d, struct ipc_conn *c, json_t *req)
{
	json_t *a = json_pack("{s:s, s:o, s:o}", "type", "members", "self", self_json(d), "members",
	                      members_json(d));
	if (a)
		ipc_reply(c, req, a);
	else
		ipc_reply_error(c, req, "out of memory");
	json_decref(a);
}

static void op_subscribe(struct swimd *d, struct ipc_conn *c, json_t *req)
{
	if (ipc_conn_subscribed(c)) {
		ipc_reply_error(c, req, "already subscribed");
		return;
	}
	json_t *snap = json_pack("{s:s, s:o, s:o}", "type", "snapshot", "self", self_json(d),
	                         "members", members_json(d));
	if (snap)
		ipc_subscribe(c, snap);
	json_decref(snap);
}

static void op_stats(struct swimd *d, struct ipc_conn *c, json_t *req)
{
	json_t *a = stats_json(d);
	if (a)
		ipc_reply(c, req, a);
	json_decref(a);
}

static void op_set_meta(struct swimd *d, struct ipc_conn *c, json_t *req)
{
	json_t *meta = json_object_get(req, "meta");
	if (!meta || !(json_is_string(meta) || json_is_null(meta))) {
		ipc_reply_error(c, req, "set_meta needs \"meta\": a string (at most %d bytes) or null",
		                SWIM_META_MAX);
		return;
	}
	size_t len = json_is_string(meta) ? json_string_length(meta) : 0;
	if (len > SWIM_META_MAX) {
		ipc_reply_error(c, req, "meta is %zu bytes; the limit is %d", len, SWIM_META_MAX);
		return;
	}
	if (!d->swim || d->leaving) {
		ipc_reply_error(c, req, "this node is not a member yet");
		return;
	}
	const uint8_t *bytes = json_is_string(meta) ? (const uint8_t *)json_string_value(meta) : NULL;
	swim_set_meta(d->swim, bytes, len, loop_now(d->loop));
	swimd_reschedule(d);
	json_t *a = json_pack("{s:s}", "type", "ok");
	ipc_reply(c, req, a);
	json_decref(a);
}

static const struct {
	const char *op;
	void (*fn)(struct swimd *, struct ipc_conn *, json_t *);
} ops[] = {
	{"members", op_members},
	{"subscribe", op_subscribe},
	{"stats", op_stats},
	{"set_meta", op_set_meta},
};

static void on_msg(struct ipc_conn *c, json_t *msg, void *arg)
{
	struct swimd *d = arg;
	const char *op = json_string_value(json_object_get(msg, "op"));
	if (!op) {
		ipc_reply_error(c, msg, "request without \"op\"");
		return;
	}
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(ops[i].op, op) == 0) {
			ops[i].fn(d, c, msg);
			return;
		}
	ipc_reply_error(c, msg, "unknown op '%s' (members, subscribe, stats, set_meta)", op);
}

int ctl_listen(struct swimd *d, char *err, size_t errlen)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/" SOCK_SWIM, d->cf.rundir);
	d->srv = ipc_listen(d->loop, path, on_msg, NULL, d, err, errlen);
	return d->srv ? 0 : -1;
}
