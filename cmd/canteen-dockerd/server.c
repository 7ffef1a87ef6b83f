/* server.c: dockerd.sock: desired sets from canteen-sched, ps, stats, subscriptions to container events. */
#include <stdio.h>
#include <string.h>

#include "census.h"
#include "dockerd.h"
#include "emit.h"
#include "link.h"
#include "log.h"
#include "peerfile.h"
#include "volumes.h"
#include "pull.h"
#include "reconcile.h"
#include "rstate.h"
#include "slots.h"

#define SCHED_MARK ((void *)1)   /* ipc_conn data of a connection that sent a desired set */

static json_t *ps_row(struct dd *dd, const struct ctr *c)
{
	struct slot *s = c->lab.labels_ok ? slot_find(dd, c->lab.service, c->lab.replica) : NULL;
	char buf[256];
	const char *why = rstate_reason(dd, c, buf, sizeof buf);
	json_t *row = json_pack("{s:s,s:i,s:I,s:s,s:I,s:i,s:s,s:s,s:s,s:s*}", "service", c->lab.service,
	                        "replica", (int)c->lab.replica, "generation", (json_int_t)c->lab.generation,
	                        "state", ctr_state_name(dd, c), "since", (json_int_t)c->since, "restarts",
	                        s ? (int)s->restarts : 0, "id", c->id, "node", dd->node, "name", c->name,
	                        "reason", why);
	/* rolled back: it runs the spec before its generation's, whose rollout failed */
	if (row && c->lab.rollback[0])
		json_object_set_new(row, "rolled_back", json_true());
	/* a running container's health check result ("starting", "healthy", "unhealthy") */
	if (row && c->state == DOCKER_RUNNING && !c->removing && c->health != DOCKER_HEALTH_NONE)
		json_object_set_new(row, "health", json_string(docker_health_name(c->health)));
	return row;
}

/* Every container of ours, and every desired replica that has none yet ("pending"). */
static json_t *ps_list(struct dd *dd)
{
	json_t *a = json_array();
	for (struct ctr *c = dd->ctrs; a && c; c = c->next)
		json_array_append_new(a, ps_row(dd, c));
	for (size_t i = 0; a && i < dd->desired.n; i++) {
		const struct docker_spec *s = &dd->desired.specs[i];
		int found = 0;
		for (struct ctr *c = dd->ctrs; c && !found; c = c->next)
			found = c->lab.labels_ok && c->lab.replica == s->replica &&
			        strcmp(c->lab.service, s->service) == 0;
		if (found)
			continue;
		struct slot *sl = slot_find(dd, s->service, s->replica);
		json_t *row = json_pack("{s:s,s:i,s:I,s:s,s:n,s:i,s:s,s:s}", "service", s->service,
		                        "replica", (int)s->replica, "generation",
		                        (json_int_t)s->generation, "state", "pending", "since",
		                        "restarts", sl ? (int)sl->restarts : 0, "id", "", "node", dd->node);
		/* Waiting for an image whose last pull failed: Docker's reason goes with it. */
		char why[DOCKER_IMAGE_MAX + 320];
		if (row && rstate_pending_reason(dd, s, why, sizeof why))
			json_object_set_new(row, "reason", json_string(why));
		json_array_append_new(a, row);
	}
	return a;
}

/* The group a replica's state counts in for "stats": running, starting, failing, removing,
 * other (paused); pending replicas have no container. */
static const char *state_group(const char *state)
{
	static const char *const map[][2] = {
		{"running", "running"}, {"created", "starting"},   {"exited", "failing"},
		{"dead", "failing"},    {"restarting", "failing"}, {"crashloop", "failing"},
		{"removing", "removing"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(state, map[i][0]) == 0)
			return map[i][1];
	return "other";
}

/* {"type":"stats",...}: the dd_stats counters and this node's replicas by state group. */
static json_t *stats(struct dd *dd)
{
	json_t *rows = ps_list(dd), *by = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "running", 0,
	                                            "starting", 0, "pending", 0, "failing", 0,
	                                            "removing", 0, "other", 0);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		const char *st = json_string_value(json_object_get(r, "state"));
		const char *g = st && strcmp(st, "pending") == 0 ? "pending" : state_group(st ? st : "");
		json_t *n = json_object_get(by, g);
		if (n)
			json_integer_set(n, json_integer_value(n) + 1);
	}
	json_decref(rows);
	const struct dd_stats *t = &dd->st;
	return json_pack("{s:s,s:b,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "type", "stats",
	                 "docker", dd->dk_state == DK_READY, "desired", (json_int_t)dd->desired.n,
	                 "replicas", by, "creates", (json_int_t)t->creates, "starts",
	                 (json_int_t)t->starts, "restarts", (json_int_t)t->restarts, "deaths",
	                 (json_int_t)t->deaths, "op_failures", (json_int_t)t->op_failures, "pulls",
	                 (json_int_t)t->pulls, "pull_failures", (json_int_t)t->pull_failures,
	                 "pull_ms", (json_int_t)t->pull_ms);
}

static json_t *snapshot(struct dd *dd, const char *type)
{
	return json_pack("{s:s,s:o,s:s,s:b,s:b}", "type", type, "containers", ps_list(dd), "docker",
	                 dd->dk_state == DK_READY ? "up" : "down", "desired", dd->have_desired,
	                 "sched", dd->sched_conns > 0);
}

static void op_desired(struct dd *dd, struct ipc_conn *c, json_t *msg)
{
	struct docker_desired d;
	char err[512];
	if (docker_desired_decode_policy(msg, dd->node, &dd->policy, &d, err, sizeof err) < 0) {
		log_warnx("refused a desired set: %s", err);
		emit_error(dd, NULL, -1, "desired set refused: %s", err);
		ipc_reply_error(c, msg, "%s", err);
		return;
	}
	json_t *rejected = json_array();
	for (size_t i = 0; i < d.nrejects; i++) {
		const struct docker_reject *r = &d.rejects[i];
		log_warnx("refused the spec of service '%s' replica %ld: %s", r->service, r->replica,
		          r->error);
		emit_error(dd, r->service, r->replica, r->policy ? "spec refused %s" : "invalid spec: %s",
		           r->error);
		json_array_append_new(rejected, json_pack("{s:s,s:i,s:s}", "service", r->service,
		                                          "replica", (int)r->replica, "error", r->error));
	}
	if (ipc_conn_get_data(c) != SCHED_MARK) {
		ipc_conn_set_data(c, SCHED_MARK);
		if (dd->sched_conns++ == 0)
			log_info("canteen-sched connected");
	}
	if (!dd->have_desired)
		log_info("first desired set: %zu containers", d.n);
	docker_desired_free(&dd->desired);
	dd->desired = d;
	dd->have_desired = 1;
	peerfile_update(dd);
	json_t *ans = json_pack("{s:s,s:i,s:o}", "type", "ok", "accepted", (int)d.n, "rejected",
	                        rejected);
	ipc_reply(c, msg, ans);
	json_decref(ans);
	reconcile_soon(dd, 0);
}

static void on_msg(struct ipc_conn *c, json_t *msg, void *arg)
{
	struct dd *dd = arg;
	const char *op = json_string_value(json_object_get(msg, "op"));
	if (!op) {
		ipc_reply_error(c, msg, "request has no \"op\"");
		return;
	}
	if (strcmp(op, "desired") == 0)
		op_desired(dd, c, msg);
	else if (strcmp(op, "ps") == 0) {
		json_t *a = json_pack("{s:s,s:o}", "type", "ps", "containers", ps_list(dd));
		ipc_reply(c, msg, a);
		json_decref(a);
	} else if (strcmp(op, "subscribe") == 0 && ipc_conn_subscribed(c)) {
		ipc_reply_error(c, msg, "already subscribed");
	} else if (strcmp(op, "subscribe") == 0) {
		json_t *s = snapshot(dd, "snapshot");
		ipc_subscribe(c, s);
		json_decref(s);
	} else if (strcmp(op, "logs") == 0) {
		logs_op(dd, c, msg);
	} else if (strcmp(op, "images") == 0) {
		census_op(dd, c, msg);
	} else if (strcmp(op, "volumes") == 0 || strcmp(op, "volume.prune") == 0) {
		volumes_op(dd, c, msg, op[6] == '.');
	} else if (strcmp(op, "state") == 0) {
		json_t *s = snapshot(dd, "state");
		ipc_reply(c, msg, s);
		json_decref(s);
	} else if (strcmp(op, "stats") == 0) {
		json_t *s = stats(dd);
		if (s)
			ipc_reply(c, msg, s);
		else
			ipc_reply_error(c, msg, "out of memory");
		json_decref(s);
	} else
		ipc_reply_error(c, msg, "unknown op '%.64s' (desired, images, logs, ps, subscribe, state, stats, volumes, volume.prune)", op);
}

static void on_close(struct ipc_conn *c, void *arg)
{
	struct dd *dd = arg;
	logs_conn_closed(dd, c);
	census_conn_closed(dd, c);
	volumes_conn_closed(dd, c);
	if (ipc_conn_get_data(c) != SCHED_MARK)
		return;
	if (--dd->sched_conns == 0)
		log_info("canteen-sched disconnected: nothing is stopped or removed until it is back");
}

int server_start(struct dd *dd, char *err, size_t errlen)
{
	dd->srv = ipc_listen(dd->loop, dd->sock_path, on_msg, on_close, dd, err, errlen);
	return dd->srv ? 0 : -1;
}
