/* endpoints.c: `canteen endpoints SERVICE [--all] [--watch]`: host:port of each ready replica, for scripts. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ipc.h"
#include "parse.h"
#include "rview.h"
#include "sockets.h"
#include "tty.h"

struct ep {
	json_int_t replica, port;
	char host[256];
	char node[64];
};

static int cmp_ep(const void *a, const void *b)
{
	const struct ep *x = a, *y = b;
	if (x->replica != y->replica)
		return x->replica < y->replica ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

static json_t *find_by(json_t *arr, const char *key, const char *value)
{
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		const char *v = json_string_value(json_object_get(o, key));
		if (v && strcmp(v, value) == 0)
			return o;
	}
	return NULL;
}

#define EP_POLL_MS 1000 /* --watch: how often readiness is read again between placements */

/*
 * The endpoints of service from a placement (sched) and the desired state (chain):
 * one per placed replica that is ready (running, and healthy when it has a health check;
 * with all, running) and published host port, the host being the node's SWIM endpoint
 * host (canteen up sets advertise_addr to the same address).
 * Returns the number found (into *out, owned), or -1 if the service is unknown.
 */
static int collect(json_t *placement, json_t *state, struct rview *rv, int all,
                   const char *service, struct ep **out)
{
	json_t *svc = find_by(json_object_get(state, "services"), "name", service);
	if (!svc)
		return -1;
	json_t *ports = json_object_get(svc, "ports");
	size_t cap = json_array_size(json_object_get(placement, "assignments")) * (json_array_size(ports) + 1);
	struct ep *eps = calloc(cap ? cap : 1, sizeof *eps);
	size_t n = 0, i, k;
	json_t *a, *p;
	if (!eps)
		return -1;
	json_array_foreach(json_object_get(placement, "assignments"), i, a) {
		const char *s = json_string_value(json_object_get(a, "service"));
		const char *node = json_string_value(json_object_get(a, "node"));
		if (!s || !node || strcmp(s, service) != 0)
			continue;
		json_t *rec = find_by(json_object_get(state, "nodes"), "address", node);
		const char *endpoint = json_string_value(json_object_get(rec, "endpoint"));
		char host[256];
		uint16_t swim_port;
		if (!endpoint || parse_hostport(endpoint, host, sizeof host, &swim_port, NULL, 0) < 0)
			continue;
		struct rview_state st;
		rview_lookup(rv, s, json_integer_value(json_object_get(a, "replica")), node, &st);
		if (all ? !rview_running(&st) : !rview_ready(&st))
			continue;
		json_array_foreach(ports, k, p) {
			if (n == cap)
				break;
			struct ep *e = &eps[n++];
			e->replica = json_integer_value(json_object_get(a, "replica"));
			e->port = json_integer_value(json_object_get(p, "host"));
			str_copy(e->host, sizeof e->host, host);
			str_copy(e->node, sizeof e->node, node);
		}
	}
	qsort(eps, n, sizeof *eps, cmp_ep);
	*out = eps;
	return (int)n;
}

/* host:port lines; with --json, objects jansson encodes (the host is a stranger's text). */
static void print_eps(const struct cli *cli, const char *service, const struct ep *eps, int n)
{
	for (int i = 0; i < n; i++) {
		int v6 = strchr(eps[i].host, ':') != NULL;
		char endpoint[300], shown[TTY_FIELD_MAX];
		snprintf(endpoint, sizeof endpoint, "%s%s%s:%" JSON_INTEGER_FORMAT, v6 ? "[" : "",
		         eps[i].host, v6 ? "]" : "", eps[i].port);
		if (cli->json) {
			json_t *o = json_pack("{s:s, s:I, s:s, s:s}", "service", service, "replica",
			                      eps[i].replica, "node", eps[i].node, "endpoint", endpoint);
			char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
			if (line)
				printf("%s\n", line);
			free(line);
			json_decref(o);
		} else {
			printf("%s\n", tty_esc(endpoint, shown, sizeof shown));
		}
	}
	fflush(stdout);
}

static json_t *ask(const char *path, const char *op, char *err, size_t errlen)
{
	json_t *req = json_pack("{s:s}", "op", op), *ans = NULL;
	int rc = ipc_request(path, req, &ans, 10000, err, errlen);
	json_decref(req);
	if (rc < 0)
		return NULL;
	if (json_object_get(ans, "error")) {
		snprintf(err, errlen, "%s", json_string_value(json_object_get(ans, "error")));
		json_decref(ans);
		return NULL;
	}
	return ans;
}

/* A placement answer or event carries its fields at the top or under "placement". */
static json_t *placement_of(json_t *m)
{
	json_t *p = json_object_get(m, "placement");
	return p ? p : m;
}

int cmd_endpoints(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"watch", no_argument, NULL, 'w'},
	                                     {"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
	int watch = 0, all = 0, ch;
	while ((ch = getopt_long(argc, argv, "+wa", opts, NULL)) != -1) {
		if (ch != 'w' && ch != 'a') {
			cli_err(USAGE_ENDPOINTS);
			return CLI_USAGE;
		}
		*(ch == 'w' ? &watch : &all) = 1;
	}
	if (optind != argc - 1) {
		cli_err(USAGE_ENDPOINTS);
		return CLI_USAGE;
	}
	const char *service = argv[optind];
	char sched[600], chain[600], err[512];
	cli_sock_path(cli, SOCK_SCHED, sched, sizeof sched);
	cli_sock_path(cli, SOCK_CHAIN, chain, sizeof chain);
	json_t *state = ask(chain, "state", err, sizeof err);
	if (!state) {
		cli_err("cannot read the desired state from %s: %s", chain, err);
		return CLI_FAIL;
	}
	int rc = CLI_FAIL;
	struct ipc_sync *sub = NULL;
	json_t *msg = NULL, *placement = NULL;
	struct ep *last = NULL;
	int last_n = -1;
	if (!watch) {
		msg = ask(sched, "placement", err, sizeof err);
	} else if ((sub = ipc_sync_connect(sched, err, sizeof err))) {
		json_t *req = json_pack("{s:s}", "op", "subscribe");
		if (ipc_sync_send(sub, req, err, sizeof err) < 0 || ipc_sync_read(sub, &msg, 10000, err, sizeof err) != 1)
			msg = NULL;
		json_decref(req);
	}
	if (!msg) {
		cli_err("cannot read the placement from %s: %s", sched, err);
		goto out;
	}
	for (;;) {
		struct ep *eps = NULL;
		struct rview rv;
		if (msg) {
			json_decref(placement);
			placement = json_incref(placement_of(msg));
		}
		rview_load(cli, &rv);
		int n = collect(placement, state, &rv, all, service, &eps);
		rview_free(&rv);
		json_decref(msg);
		msg = NULL;
		if (n < 0) {
			cli_err("no service named '%s' in the contract", service);
			goto out;
		}
		/* With --watch, print a full list only when it changed. */
		if (n != last_n || memcmp(last, eps, (size_t)n * sizeof *eps) != 0) {
			print_eps(cli, service, eps, n);
			if (watch)
				printf("\n");
			fflush(stdout);
		}
		free(last);
		last = eps;
		last_n = n;
		if (!watch) {
			rc = CLI_OK;
			goto out;
		}
		/* Re-read the desired state too: ports or nodes may have changed with it; and
		 * readiness every EP_POLL_MS, which changes without a new placement. */
		for (;;) {
			int r = ipc_sync_read(sub, &msg, EP_POLL_MS, err, sizeof err);
			if (r == IPC_SYNC_TIMEOUT)
				break;
			if (r != 1) {
				cli_err("%s: %s", sched, err);
				goto out;
			}
			const char *type = json_string_value(json_object_get(msg, "type"));
			if (type && strcmp(type, "placement") == 0)
				break;
			json_decref(msg);
			msg = NULL;
		}
		json_t *fresh = ask(chain, "state", err, sizeof err);
		if (fresh) {
			json_decref(state);
			state = fresh;
		}
	}
out:
	free(last);
	json_decref(placement);
	json_decref(msg);
	json_decref(state);
	ipc_sync_close(sub);
	return rc;
}
