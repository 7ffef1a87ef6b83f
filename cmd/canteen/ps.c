/* ps.c: "canteen ps": the cluster placement from canteen-sched, with states from canteen-dockerd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ipc.h"
#include "sockets.h"
#include "tty.h"

struct row {
	const char *service, *node, *state, *reason;
	json_int_t replica, generation;
};

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->service, y->service);
	if (c)
		return c;
	return x->replica < y->replica ? -1 : x->replica > y->replica;
}

/* One request; the answer if its type is want, else NULL with err filled. */
static json_t *ask(const char *path, const char *op, const char *want, int timeout_ms, char *err,
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

/* dockerd's row of (service, replica) on node, or NULL; borrowed from ps. */
static json_t *row_of(json_t *ps, const char *service, json_int_t replica, const char *node)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(ps, "containers"), i, c) {
		const char *s = json_string_value(json_object_get(c, "service"));
		const char *n = json_string_value(json_object_get(c, "node"));
		if (s && strcmp(s, service) == 0 && n && strcmp(n, node) == 0 &&
		    json_integer_value(json_object_get(c, "replica")) == replica)
			return c;
	}
	return NULL;
}

static void print_rows(const struct cli *cli, const struct row *rows, size_t n)
{
	if (!cli->json)
		printf("%-24s %-7s %-42s %s\n", "SERVICE", "REPLICA", "NODE", "STATE");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		if (cli->json) {
			json_t *o = json_pack("{s:s,s:I,s:s?,s:I,s:s?,s:s?}", "service", r->service, "replica",
			                      r->replica, "node", r->node, "generation", r->generation, "state",
			                      r->state, "reason", r->reason);
			char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
			if (line)
				printf("%s\n", line);
			free(line);
			json_decref(o);
			continue;
		}
		/* Names come from the chain, states and reasons from daemons: escaped. */
		char svc[TTY_FIELD_MAX], node[TTY_FIELD_MAX], what[TTY_FIELD_MAX];
		tty_esc(r->service, svc, sizeof svc);
		char why[TTY_FIELD_MAX];
		if (r->node)
			printf("%-24s %-7" JSON_INTEGER_FORMAT " %-42s %s%s%s\n", svc, r->replica,
			       tty_esc(r->node, node, sizeof node), r->state ? tty_esc(r->state, what, sizeof what) : "-",
			       r->reason ? ": " : "", r->reason ? tty_esc(r->reason, why, sizeof why) : "");
		else
			printf("%-24s %-7" JSON_INTEGER_FORMAT " %-42s pending: %s\n", svc, r->replica, "-",
			       r->reason ? tty_esc(r->reason, what, sizeof what) : "?");
	}
}

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	if (argc > 1) {
		cli_err(USAGE_PS " (unexpected '%s')", argv[1]);
		return CLI_USAGE;
	}
	char spath[1024], dpath[1024], err[512];
	cli_sock_path(cli, SOCK_SCHED, spath, sizeof spath);
	cli_sock_path(cli, SOCK_DOCKERD, dpath, sizeof dpath);
	json_t *pl = ask(spath, "placement", "placement", 5000, err, sizeof err);
	if (!pl) {
		cli_err("cannot ask canteen-sched at %s: %s", spath, err);
		return CLI_FAIL;
	}
	if (!json_is_true(json_object_get(pl, "ready")))
		cli_err("canteen-sched has no placement yet (waiting for chain and membership)");
	/* States are known only for what runs here; without dockerd they are left blank. */
	json_t *ps = ask(dpath, "ps", "ps", 3000, err, sizeof err);
	json_t *as = json_object_get(pl, "assignments"), *pe = json_object_get(pl, "pending"), *v;
	size_t n = json_array_size(as) + json_array_size(pe), k = 0, i;
	struct row *rows = calloc(n ? n : 1, sizeof *rows);
	if (!rows) {
		cli_err("out of memory");
		json_decref(pl);
		json_decref(ps);
		return CLI_FAIL;
	}
	json_array_foreach(as, i, v) {
		struct row *r = &rows[k];
		r->service = json_string_value(json_object_get(v, "service"));
		r->node = json_string_value(json_object_get(v, "node"));
		r->replica = json_integer_value(json_object_get(v, "replica"));
		r->generation = json_integer_value(json_object_get(v, "generation"));
		if (!r->service || !r->node)
			continue;
		/* A replica placed here but waiting (a failed pull) carries dockerd's reason. */
		json_t *dr = ps ? row_of(ps, r->service, r->replica, r->node) : NULL;
		r->state = json_string_value(json_object_get(dr, "state"));
		r->reason = json_string_value(json_object_get(dr, "reason"));
		k++;
	}
	json_array_foreach(pe, i, v) {
		struct row *r = &rows[k];
		r->service = json_string_value(json_object_get(v, "service"));
		r->replica = json_integer_value(json_object_get(v, "replica"));
		r->reason = json_string_value(json_object_get(v, "reason"));
		r->state = "pending";
		if (r->service)
			k++;
	}
	qsort(rows, k, sizeof *rows, cmp_row);
	print_rows(cli, rows, k);
	free(rows);
	json_decref(pl);
	json_decref(ps);
	return CLI_OK;
}
