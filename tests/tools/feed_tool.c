/* feed_tool.c: a scripted chain.sock / swim.sock / dockerd.sock peer for canteen-sched tests. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "loop.h"

/*
 * usage: feed_tool serve SOCK
 *        feed_tool slam SOCK [BYTES]
 * slam: a peer that accepts each connection and closes it at once (after writing BYTES
 * bytes without a newline, if given: a line longer than any reader takes), printing one
 * "conn" line per connection: what a client's reconnection back-off is measured against.
 * A real NDJSON server (common/ipc) driven by requests, usually from ipc_tool:
 *   {"op":"set","snapshot":{...}}     the snapshot new subscribers get (and "state"/"members");
 *                                     an array of objects: sent as that many lines (chain.sock's
 *                                     snapshot.begin, node/service lines, snapshot.end)
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
		if (!json_is_object(snap) && !(json_is_array(snap) && json_array_size(snap) > 0)) {
			ipc_reply_error(c, msg, "\"snapshot\" must be an object or an array of them");
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
		size_t n = json_is_array(f->snapshot) ? json_array_size(f->snapshot) : 1;
		for (size_t i = 0; i < n; i++) {
			json_t *line = json_is_array(f->snapshot) ? json_array_get(f->snapshot, i) : f->snapshot;
			json_t *copy = json_deep_copy(line);
			/* The last line subscribes (ipc_subscribe stamps its seq). */
			if (copy && (i + 1 < n ? ipc_send(c, copy) : ipc_subscribe(c, copy)) < 0)
				i = n;
			json_decref(copy);
		}
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

static int slam(const char *path, size_t bytes)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char *junk = bytes ? malloc(bytes) : NULL;
	if (strlen(path) >= sizeof sun.sun_path || fd < 0 || (bytes && !junk)) {
		fprintf(stderr, "feed_tool: cannot make a socket at %s\n", path);
		return 1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (junk)
		memset(junk, 'x', bytes);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(fd, 16) < 0) {
		perror("feed_tool: bind");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c < 0)
			continue;
		for (size_t off = 0; off < bytes;) {
			ssize_t n = write(c, junk + off, bytes - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		close(c);
		printf("conn\n");
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "slam") == 0) {
		signal(SIGPIPE, SIG_IGN);
		return slam(argv[2], argc == 4 ? strtoul(argv[3], NULL, 10) : 0);
	}
	if (argc != 3 || strcmp(argv[1], "serve") != 0) {
		fprintf(stderr, "usage: feed_tool serve SOCK | feed_tool slam SOCK [BYTES]\n");
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
