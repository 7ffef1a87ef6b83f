/* ps.c: "canteen ps": every replica of the placement, with states from this server's
 * canteen-dockerd and, for the other servers, from their summaries in canteen-swim's members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "rview.h"
#include "sockets.h"
#include "tty.h"

struct row {
	const char *service, *node;
	json_int_t replica, generation;
	struct rview_state st;
};

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->service, y->service);
	if (c)
		return c;
	return x->replica < y->replica ? -1 : x->replica > y->replica;
}

static void age_of(long long since, time_t now, char *out, size_t outlen)
{
	long long a = since > 0 ? (long long)now - since : -1;
	if (since <= 0)
		snprintf(out, outlen, "-");
	else if (a < 0)
		snprintf(out, outlen, "0s");
	else if (a < 120)
		snprintf(out, outlen, "%llds", a);
	else if (a < 7200)
		snprintf(out, outlen, "%lldm", a / 60);
	else if (a < 172800)
		snprintf(out, outlen, "%lldh", a / 3600);
	else
		snprintf(out, outlen, "%lldd", a / 86400);
}

static void print_json(const struct row *r, time_t now)
{
	const struct rview_state *st = &r->st;
	json_t *o = json_pack("{s:s,s:I,s:s?,s:I,s:s?,s:s?,s:s?}", "service", r->service, "replica",
	                      r->replica, "node", r->node, "generation", r->generation, "state",
	                      st->state, "health", st->health, "reason", st->reason);
	if (o && st->restarts >= 0)
		json_object_set_new(o, "restarts", json_integer(st->restarts));
	if (o && st->rolled_back)
		json_object_set_new(o, "rolled_back", json_true());
	if (o && st->since > 0) {
		json_object_set_new(o, "since", json_integer(st->since));
		json_object_set_new(o, "age_s", json_integer(now > st->since ? now - st->since : 0));
	}
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (line)
		printf("%s\n", line);
	free(line);
	json_decref(o);
}

static void print_rows(const struct cli *cli, const struct row *rows, size_t n)
{
	time_t now = time(NULL);
	if (!cli->json)
		printf("%-24s %-7s %-42s %-10s %-9s %-8s %-5s %s\n", "SERVICE", "REPLICA", "NODE", "STATE",
		       "HEALTH", "RESTARTS", "AGE", "REASON");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		if (cli->json) {
			print_json(r, now);
			continue;
		}
		/* Names come from the chain, states and reasons from daemons and peers: escaped. */
		char svc[TTY_FIELD_MAX], node[TTY_FIELD_MAX], what[TTY_FIELD_MAX], why[TTY_FIELD_MAX];
		char health[TTY_FIELD_MAX], restarts[24] = "-", age[24];
		const struct rview_state *st = &r->st;
		if (st->restarts >= 0)
			snprintf(restarts, sizeof restarts, "%lld", st->restarts);
		age_of(st->since, now, age, sizeof age);
		const char *reason = st->reason ? tty_esc(st->reason, why, sizeof why)
		                     : st->rolled_back ? "rolled back: runs the spec before this generation's"
		                                       : "";
		printf("%-24s %-7" JSON_INTEGER_FORMAT " %-42s %-10s %-9s %-8s %-5s %s\n",
		       tty_esc(r->service, svc, sizeof svc), r->replica,
		       r->node ? tty_esc(r->node, node, sizeof node) : "-",
		       st->state ? tty_esc(st->state, what, sizeof what) : "-",
		       st->health ? tty_esc(st->health, health, sizeof health) : "-", restarts, age, reason);
	}
}

/* ps [--service NAME]: 0 with *only set (or NULL), or -1 on a usage error. */
static int ps_args(int argc, char **argv, const char **only)
{
	*only = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--service") == 0 && i + 1 < argc && !*only)
			*only = argv[++i];
		else if (strncmp(argv[i], "--service=", 10) == 0 && argv[i][10] && !*only)
			*only = argv[i] + 10;
		else {
			cli_err(USAGE_PS " (unexpected '%s')", argv[i]);
			return -1;
		}
	}
	return 0;
}

/* The local view for what runs here, the members' summaries for the rest. */
static void fill_assigned(struct row *r, json_t *v, struct rview *rv)
{
	r->service = json_string_value(json_object_get(v, "service"));
	r->node = json_string_value(json_object_get(v, "node"));
	r->replica = json_integer_value(json_object_get(v, "replica"));
	r->generation = json_integer_value(json_object_get(v, "generation"));
	r->st.restarts = -1;
	if (r->service && r->node)
		rview_lookup(rv, r->service, r->replica, r->node, &r->st);
}

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	const char *only;
	if (ps_args(argc, argv, &only) < 0)
		return CLI_USAGE;
	char spath[1024], err[512];
	cli_sock_path(cli, SOCK_SCHED, spath, sizeof spath);
	json_t *pl = rview_ask(spath, "placement", "placement", 5000, err, sizeof err);
	if (!pl) {
		cli_err("cannot ask canteen-sched at %s: %s", spath, err);
		return CLI_FAIL;
	}
	if (!json_is_true(json_object_get(pl, "ready")))
		cli_err("canteen-sched has no placement yet (waiting for chain and membership)");
	/* Without dockerd or swim, what they would tell is shown as unknown. */
	struct rview rv;
	rview_load(cli, &rv);
	json_t *as = json_object_get(pl, "assignments"), *pe = json_object_get(pl, "pending"), *v;
	size_t n = json_array_size(as) + json_array_size(pe), k = 0, i;
	struct row *rows = calloc(n ? n : 1, sizeof *rows);
	if (!rows) {
		cli_err("out of memory");
		rview_free(&rv);
		json_decref(pl);
		return CLI_FAIL;
	}
	json_array_foreach(as, i, v) {
		const char *s = json_string_value(json_object_get(v, "service"));
		if (!s || (only && strcmp(s, only) != 0))
			continue;
		memset(&rows[k], 0, sizeof rows[k]);
		fill_assigned(&rows[k], v, &rv);
		if (rows[k].node)
			k++;
	}
	json_array_foreach(pe, i, v) {
		struct row *r = &rows[k];
		memset(r, 0, sizeof *r);
		r->service = json_string_value(json_object_get(v, "service"));
		r->replica = json_integer_value(json_object_get(v, "replica"));
		r->st.reason = json_string_value(json_object_get(v, "reason"));
		r->st.state = "pending";
		r->st.restarts = -1;
		if (r->service && (!only || strcmp(r->service, only) == 0))
			k++;
	}
	qsort(rows, k, sizeof *rows, cmp_row);
	print_rows(cli, rows, k);
	int rc = CLI_OK;
	if (only && k == 0 && json_is_true(json_object_get(pl, "ready"))) {
		cli_err("no replica of service '%s' in the placement", only);
		rc = CLI_FAIL;
	}
	free(rows);
	rview_free(&rv);
	json_decref(pl);
	return rc;
}
