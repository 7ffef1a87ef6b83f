/* control.c: init.sock: answers {"op":"status"} with every child's state. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "sockets.h"

/* {"code":N}, {"signal":N,"name":"KILL"}, {"error":"..."} (start failed) or null. */
static json_t *last_exit_json(const struct child *c)
{
	if (c->spawn_errno)
		return json_pack("{s:s}", "error", strerror(c->spawn_errno));
	if (!c->exited)
		return json_null();
	int st = c->last_status;
	if (WIFEXITED(st))
		return json_pack("{s:i}", "code", WEXITSTATUS(st));
	if (WIFSIGNALED(st)) {
		const char *name = sigabbrev_np(WTERMSIG(st));
		return json_pack("{s:i,s:s}", "signal", WTERMSIG(st), "name", name ? name : "?");
	}
	return json_pack("{s:i}", "status", st);
}

static json_t *child_json(const struct child *c, uint64_t now)
{
	json_t *cmd = json_array();
	for (int i = 0; cmd && i < c->prog.argc; i++)
		json_array_append_new(cmd, json_string(c->prog.argv[i]));
	int running = c->pid > 0;
	json_t *o = json_pack("{s:s,s:s,s:o,s:I,s:I,s:o,s:o}", "name", c->prog.name, "state",
	                      child_state_name(c->state), "pid",
	                      running ? json_integer(c->pid) : json_null(), "restarts",
	                      (json_int_t)(c->starts > 0 ? c->starts - 1 : 0), "uptime_ms",
	                      (json_int_t)(running ? now - c->started_ms : 0), "last_exit",
	                      last_exit_json(c), "command", cmd ? cmd : json_array());
	if (o && c->state == CS_BACKOFF && c->timer)
		json_object_set_new(o, "restart_in_ms",
		                    json_integer((json_int_t)(c->due_ms > now ? c->due_ms - now : 0)));
	return o;
}

static json_t *status_json(const struct sup *s)
{
	uint64_t now = mono_ms();
	json_t *kids = json_array();
	for (size_t i = 0; kids && i < s->n; i++)
		json_array_append_new(kids, child_json(s->kids[i], now));
	for (size_t i = 0; kids && i < s->nretiring; i++) {
		json_t *o = child_json(s->retiring[i], now);
		json_object_set_new(o, "retiring", json_true());
		json_array_append_new(kids, o);
	}
	return json_pack("{s:s,s:i,s:I,s:b,s:o}", "type", "status", "pid", (int)getpid(),
	                 "uptime_ms", (json_int_t)(now - s->boot_ms), "stopping", s->stopping,
	                 "children", kids ? kids : json_array());
}

static void on_msg(struct ipc_conn *conn, json_t *msg, void *arg)
{
	struct sup *s = arg;
	const char *op = json_string_value(json_object_get(msg, "op"));
	if (!op) {
		ipc_reply_error(conn, msg, "a request needs a string \"op\"");
		return;
	}
	if (strcmp(op, "status") != 0) {
		ipc_reply_error(conn, msg, "unknown op '%.64s' (canteen-init knows: status)", op);
		return;
	}
	json_t *ans = status_json(s);
	if (!ans) {
		ipc_reply_error(conn, msg, "out of memory");
		return;
	}
	ipc_reply(conn, msg, ans);
	json_decref(ans);
}

int control_listen(struct sup *s, const char *rundir, char *err, size_t errlen)
{
	char path[512];
	int n = snprintf(path, sizeof path, "%s/" SOCK_INIT, rundir);
	if (n < 0 || (size_t)n >= sizeof path) {
		snprintf(err, errlen, "run directory path too long: %s", rundir);
		return -1;
	}
	s->srv = ipc_listen(s->loop, path, on_msg, NULL, s, err, errlen);
	return s->srv ? 0 : -1;
}
