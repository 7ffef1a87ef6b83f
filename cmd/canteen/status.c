/* status.c: "canteen status": the daemons canteen-init supervises, from init.sock. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ipc.h"
#include "sockets.h"
#include "tty.h"

/* 3d4h, 2h5m, 4m12s, 7s, 350ms. */
static void fmt_duration(json_int_t ms, char *out, size_t outlen)
{
	json_int_t s = ms / 1000, m = s / 60, h = m / 60, d = h / 24;
	if (ms < 1000)
		snprintf(out, outlen, "%" JSON_INTEGER_FORMAT "ms", ms);
	else if (m == 0)
		snprintf(out, outlen, "%" JSON_INTEGER_FORMAT "s", s);
	else if (h == 0)
		snprintf(out, outlen, "%" JSON_INTEGER_FORMAT "m%" JSON_INTEGER_FORMAT "s", m, s % 60);
	else if (d == 0)
		snprintf(out, outlen, "%" JSON_INTEGER_FORMAT "h%" JSON_INTEGER_FORMAT "m", h, m % 60);
	else
		snprintf(out, outlen, "%" JSON_INTEGER_FORMAT "d%" JSON_INTEGER_FORMAT "h", d, h % 24);
}

static void fmt_last_exit(json_t *le, char *out, size_t outlen)
{
	json_t *v;
	if (!json_is_object(le))
		snprintf(out, outlen, "-");
	else if ((v = json_object_get(le, "code")))
		snprintf(out, outlen, "exit %" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if ((v = json_object_get(le, "name")))
		snprintf(out, outlen, "SIG%s", json_string_value(v) ? json_string_value(v) : "?");
	else if ((v = json_object_get(le, "error")))
		snprintf(out, outlen, "start failed: %s", json_string_value(v) ? json_string_value(v) : "?");
	else
		snprintf(out, outlen, "?");
}

static void print_table(json_t *kids)
{
	size_t i;
	json_t *k;
	printf("%-16s %-9s %-8s %-8s %-8s %s\n", "NAME", "STATE", "PID", "RESTARTS", "UPTIME",
	       "LAST EXIT");
	json_array_foreach(kids, i, k) {
		char pid[24] = "-", up[32] = "-", last[160];
		json_t *p = json_object_get(k, "pid");
		if (json_is_integer(p))
			snprintf(pid, sizeof pid, "%" JSON_INTEGER_FORMAT, json_integer_value(p));
		json_int_t ms = json_integer_value(json_object_get(k, "uptime_ms"));
		if (json_is_integer(p))
			fmt_duration(ms, up, sizeof up);
		fmt_last_exit(json_object_get(k, "last_exit"), last, sizeof last);
		const char *name = json_string_value(json_object_get(k, "name"));
		const char *state = json_string_value(json_object_get(k, "state"));
		char en[TTY_FIELD_MAX], es[TTY_FIELD_MAX], el[TTY_FIELD_MAX];
		printf("%-16s %-9s %-8s %-8" JSON_INTEGER_FORMAT " %-8s %s\n",
		       name ? tty_esc(name, en, sizeof en) : "?", state ? tty_esc(state, es, sizeof es) : "?",
		       pid, json_integer_value(json_object_get(k, "restarts")), up,
		       tty_esc(last, el, sizeof el));
	}
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	if (argc > 1) {
		cli_err(USAGE_STATUS " (unexpected '%s')", argv[1]);
		return CLI_USAGE;
	}
	char path[1024], err[512];
	cli_sock_path(cli, SOCK_INIT, path, sizeof path);
	json_t *req = json_pack("{s:s}", "op", "status"), *ans = NULL;
	int rc = req ? ipc_request(path, req, &ans, 5000, err, sizeof err) : -1;
	json_decref(req);
	if (rc < 0) {
		cli_err("cannot ask canteen-init at %s: %s", path, req ? err : "out of memory");
		return CLI_FAIL;
	}
	const char *type = json_string_value(json_object_get(ans, "type"));
	json_t *kids = json_object_get(ans, "children");
	if (!type || strcmp(type, "status") != 0 || !json_is_array(kids)) {
		const char *e = json_string_value(json_object_get(ans, "error"));
		cli_err("canteen-init answered %s", e ? e : "something unexpected");
		json_decref(ans);
		return CLI_FAIL;
	}
	if (cli->json) {
		size_t i;
		json_t *k;
		json_array_foreach(kids, i, k) {
			char *line = json_dumps(k, JSON_COMPACT);
			if (line)
				printf("%s\n", line);
			free(line);
		}
	} else {
		print_table(kids);
	}
	json_decref(ans);
	return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}
