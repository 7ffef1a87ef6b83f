/* feed_tool.c: a scripted chain.sock / swim.sock / dockerd.sock peer for canteen-sched tests. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "log.h"
#include "loop.h"

/*
 * usage: feed_tool serve SOCK
 * A real NDJSON server (common/ipc) driven by requests, usually from ipc_tool:
 *   {"op":"set","snapshot":{...}}     the snapshot new subscribers get (and "state"/"members")
 *   {"op":"publish","event":{...}}    send an event to every subscriber (seq stamped)
 *   {"op":"subscribe"}                snapshot, then events (what canteen-sched sends)
 *   {"op":"state"} | {"op":"members"} the snapshot as an answer
 *   {"op":"desired",...}              stands in for canteen-dockerd: kept, answered ok
 *                                     (with the "rejected" list last set by "reject")
 *   {"op":"reject","rejected":[...]}  what later "desired" answers say was refused
 *   {"op":"last_desired"}             {"type":"desired","count":N,"desired":<last or null>}
 *   {"op":"ps"}                       the last desired set as running containers
 *   {"op":"subscribers"}              {"type":"subscribers","conns":N}
 */

struct feed {
	struct ipc_server *srv;
	json_t *snapshot, *desired, *rejected;
	long ndesired;
};

static void answer(struct ipc_conn *c, json_t *req, json_t *a)
{
	if (a)
		ipc_reply(c, req, a);
	else
		ipc_reply_error(c, req, "out of memory");
	json_decref(a);
}

static json_t *ps_from_desired(const struct feed *f)
{
	json_t *list = json_array(), *spec;
	size_t i;
	const char *node = json_string_value(json_object_get(f->desired, "node"));
	json_array_foreach(json_object_get(f->desired, "containers"), i, spec)
		json_array_append_new(list, json_pack("{s:O,s:O,s:O,s:s,s:i,s:i,s:s,s:s}", "service",
		                                      json_object_get(spec, "service"), "replica",
		                                      json_object_get(spec, "replica"), "generation",
		                                      json_object_get(spec, "generation"), "state", "running",
		                                      "since", 0, "restarts", 0, "id", "feed", "node",
		                                      node ? node : ""));
	return json_pack("{s:s,s:o}", "type", "ps", "containers", list);
}

static void on_msg(struct ipc_conn *c, json_t *msg, void *arg)
{
	struct feed *f = arg;
	const char *op = json_string_value(json_object_get(msg, "op"));
	if (!op) {
		ipc_reply_error(c, msg, "missing \"op\"");
	} else if (strcmp(op, "set") == 0) {
		json_t *snap = json_object_get(msg, "snapshot");
		if (!json_is_object(snap)) {
			ipc_reply_error(c, msg, "\"snapshot\" must be an object");
			return;
		}
		json_decref(f->snapshot);
		f->snapshot = json_incref(snap);
		answer(c, msg, json_pack("{s:s}", "type", "ok"));
	} else if (strcmp(op, "publish") == 0) {
		json_t *ev = json_object_get(msg, "event");
		if (!json_is_object(ev)) {
			ipc_reply_error(c, msg, "\"event\" must be an object");
			return;
		}
		json_t *copy = json_deep_copy(ev);
		uint64_t seq = copy ? ipc_publish(f->srv, copy) : 0;
		json_decref(copy);
		answer(c, msg, json_pack("{s:s,s:I}", "type", "ok", "seq", (json_int_t)seq));
	} else if (strcmp(op, "subscribe") == 0) {
		if (!f->snapshot) {
			ipc_reply_error(c, msg, "no snapshot set yet");
			return;
		}
		json_t *snap = json_deep_copy(f->snapshot);
		if (snap)
			ipc_subscribe(c, snap);
		json_decref(snap);
	} else if (strcmp(op, "state") == 0 || strcmp(op, "members") == 0) {
		answer(c, msg, f->snapshot ? json_deep_copy(f->snapshot) : json_pack("{s:s}", "type", "empty"));
	} else if (strcmp(op, "desired") == 0) {
		json_decref(f->desired);
		f->desired = json_incref(msg);
		f->ndesired++;
		answer(c, msg, f->rejected ? json_pack("{s:s,s:O}", "type", "ok", "rejected", f->rejected)
		                           : json_pack("{s:s}", "type", "ok"));
	} else if (strcmp(op, "reject") == 0) {
		json_decref(f->rejected);
		f->rejected = json_incref(json_object_get(msg, "rejected"));
		answer(c, msg, json_pack("{s:s}", "type", "ok"));
	} else if (strcmp(op, "last_desired") == 0) {
		answer(c, msg, json_pack("{s:s,s:i,s:O}", "type", "desired", "count", (int)f->ndesired,
		                         "desired", f->desired ? f->desired : json_null()));
	} else if (strcmp(op, "ps") == 0) {
		answer(c, msg, ps_from_desired(f));
	} else if (strcmp(op, "subscribers") == 0) {
		answer(c, msg, json_pack("{s:s,s:I}", "type", "subscribers", "conns",
		                         (json_int_t)ipc_server_nconns(f->srv)));
	} else {
		ipc_reply_error(c, msg, "unknown op '%.64s'", op);
	}
}

static void on_stop(struct loop *l, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	loop_stop(l);
}

int main(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "serve") != 0) {
		fprintf(stderr, "usage: feed_tool serve SOCK\n");
		return 2;
	}
	struct feed f = {0};
	char err[256];
	log_init("feed_tool", LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	struct loop *l = loop_new();
	if (!l)
		return 1;
	f.srv = ipc_listen(l, argv[2], on_msg, NULL, &f, err, sizeof err);
	if (!f.srv) {
		fprintf(stderr, "feed_tool: %s\n", err);
		return 1;
	}
	loop_signal(l, SIGTERM, on_stop, NULL);
	loop_signal(l, SIGINT, on_stop, NULL);
	printf("listening\n");
	fflush(stdout);
	loop_run(l);
	ipc_server_free(f.srv);
	json_decref(f.snapshot);
	json_decref(f.desired);
	json_decref(f.rejected);
	loop_free(l);
	return 0;
}
