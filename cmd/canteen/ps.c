/* ps.c: "canteen ps": every replica of the placement, with states from this server's
 * canteen-dockerd and, for the other servers, from their summaries in canteen-swim's members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "ipc.h"
#include "replstate.h"
#include "sockets.h"
#include "tty.h"

#define PS_NOTE_MAX 200 /* bytes of a reason this command writes itself */

struct row {
	const char *service, *node, *state, *reason;
	json_int_t replica, generation;
	long long restarts;          /* -1 unknown */
	long long since;             /* unix seconds; 0 unknown */
	char note[PS_NOTE_MAX];      /* reason written here (unknown states) */
	char rs_state[16], rs_reason[REPLSTATE_REASON_MAX + 1];
};

/* A member of canteen-swim's list and its summary, decoded on first use. */
struct member {
	const char *address, *state, *meta;
	long long since_ms;
	int decoded;                 /* 0 not yet, 1 ok, -1 refused */
	char err[160];
	struct replstate rs;
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

/* canteen-swim's members (borrowed from ans); n of them. NULL when there are none. */
static struct member *members_of(json_t *ans, size_t *n)
{
	json_t *arr = json_object_get(ans, "members"), *m;
	size_t i, k = 0;
	*n = 0;
	if (!json_array_size(arr))
		return NULL;
	struct member *v = calloc(json_array_size(arr), sizeof *v);
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

static struct member *member_of(struct member *v, size_t n, const char *address)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i].address, address) == 0)
			return &v[i];
	return NULL;
}

static void unknown(struct row *r, long long since, const char *fmt, const char *arg)
{
	r->state = "unknown";
	r->since = since;
	snprintf(r->note, sizeof r->note, fmt, arg);
	r->reason = r->note;
}

/* The state of r from its server's summary in the membership (any other server's, or ours
 * when canteen-dockerd did not answer). */
static void from_member(struct row *r, struct member *m)
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
	uint32_t h = replstate_hash(r->service);
	const struct replstate_entry *e = NULL;
	for (size_t i = 0; i < m->rs.n && !e; i++)
		if (m->rs.e[i].hash == h && m->rs.e[i].replica == r->replica)
			e = &m->rs.e[i];
	if (!e) {
		const struct replstate *s = &m->rs;
		r->state = "unknown";
		if (s->n < s->total)
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
	r->restarts = e->restarts;
	r->since = e->since;
	if (strcmp(st, "suspect") == 0) { /* perhaps cut off: never shown as running */
		snprintf(r->note, sizeof r->note, "its server is suspect; it last said %s", r->rs_state);
		r->state = "unknown";
		r->reason = r->note;
		return;
	}
	r->state = r->rs_state;
	r->reason = r->rs_reason[0] ? r->rs_reason : NULL;
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
	json_t *o = json_pack("{s:s,s:I,s:s?,s:I,s:s?,s:s?}", "service", r->service, "replica",
	                      r->replica, "node", r->node, "generation", r->generation, "state",
	                      r->state, "reason", r->reason);
	if (o && r->restarts >= 0)
		json_object_set_new(o, "restarts", json_integer(r->restarts));
	if (o && r->since > 0) {
		json_object_set_new(o, "since", json_integer(r->since));
		json_object_set_new(o, "age_s", json_integer(now > r->since ? now - r->since : 0));
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
		printf("%-24s %-7s %-42s %-10s %-8s %-5s %s\n", "SERVICE", "REPLICA", "NODE", "STATE",
		       "RESTARTS", "AGE", "REASON");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		if (cli->json) {
			print_json(r, now);
			continue;
		}
		/* Names come from the chain, states and reasons from daemons and peers: escaped. */
		char svc[TTY_FIELD_MAX], node[TTY_FIELD_MAX], what[TTY_FIELD_MAX], why[TTY_FIELD_MAX];
		char restarts[24] = "-", age[24];
		if (r->restarts >= 0)
			snprintf(restarts, sizeof restarts, "%lld", r->restarts);
		age_of(r->since, now, age, sizeof age);
		printf("%-24s %-7" JSON_INTEGER_FORMAT " %-42s %-10s %-8s %-5s %s\n",
		       tty_esc(r->service, svc, sizeof svc), r->replica,
		       r->node ? tty_esc(r->node, node, sizeof node) : "-",
		       r->state ? tty_esc(r->state, what, sizeof what) : "-", restarts, age,
		       r->reason ? tty_esc(r->reason, why, sizeof why) : "");
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
static void fill_assigned(struct row *r, json_t *v, json_t *ps, struct member *mv, size_t nm)
{
	r->service = json_string_value(json_object_get(v, "service"));
	r->node = json_string_value(json_object_get(v, "node"));
	r->replica = json_integer_value(json_object_get(v, "replica"));
	r->generation = json_integer_value(json_object_get(v, "generation"));
	r->restarts = -1;
	if (!r->service || !r->node)
		return;
	json_t *dr = ps ? row_of(ps, r->service, r->replica, r->node) : NULL;
	if (dr) {
		r->state = json_string_value(json_object_get(dr, "state"));
		r->reason = json_string_value(json_object_get(dr, "reason"));
		r->restarts = json_integer_value(json_object_get(dr, "restarts"));
		r->since = json_integer_value(json_object_get(dr, "since"));
		return;
	}
	from_member(r, member_of(mv, nm, r->node));
}

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	const char *only;
	if (ps_args(argc, argv, &only) < 0)
		return CLI_USAGE;
	char spath[1024], dpath[1024], wpath[1024], err[512];
	cli_sock_path(cli, SOCK_SCHED, spath, sizeof spath);
	cli_sock_path(cli, SOCK_DOCKERD, dpath, sizeof dpath);
	cli_sock_path(cli, SOCK_SWIM, wpath, sizeof wpath);
	json_t *pl = ask(spath, "placement", "placement", 5000, err, sizeof err);
	if (!pl) {
		cli_err("cannot ask canteen-sched at %s: %s", spath, err);
		return CLI_FAIL;
	}
	if (!json_is_true(json_object_get(pl, "ready")))
		cli_err("canteen-sched has no placement yet (waiting for chain and membership)");
	/* Without dockerd or swim, what they would tell is shown as unknown. */
	json_t *ps = ask(dpath, "ps", "ps", 3000, err, sizeof err);
	json_t *mem = ask(wpath, "members", "members", 3000, err, sizeof err);
	size_t nm = 0;
	struct member *mv = members_of(mem, &nm);
	json_t *as = json_object_get(pl, "assignments"), *pe = json_object_get(pl, "pending"), *v;
	size_t n = json_array_size(as) + json_array_size(pe), k = 0, i;
	struct row *rows = calloc(n ? n : 1, sizeof *rows);
	if (!rows) {
		cli_err("out of memory");
		free(mv);
		json_decref(pl);
		json_decref(ps);
		json_decref(mem);
		return CLI_FAIL;
	}
	json_array_foreach(as, i, v) {
		const char *s = json_string_value(json_object_get(v, "service"));
		if (!s || (only && strcmp(s, only) != 0))
			continue;
		memset(&rows[k], 0, sizeof rows[k]);
		fill_assigned(&rows[k], v, ps, mv, nm);
		if (rows[k].node)
			k++;
	}
	json_array_foreach(pe, i, v) {
		struct row *r = &rows[k];
		memset(r, 0, sizeof *r);
		r->service = json_string_value(json_object_get(v, "service"));
		r->replica = json_integer_value(json_object_get(v, "replica"));
		r->reason = json_string_value(json_object_get(v, "reason"));
		r->state = "pending";
		r->restarts = -1;
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
	free(mv);
	json_decref(pl);
	json_decref(ps);
	json_decref(mem);
	return rc;
}
