/* logs.c: "canteen logs": a service's replicas' output, fetched by canteen-dockerd from the servers that run them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ipc.h"
#include "parse.h"
#include "rec.h"
#include "sockets.h"
#include "tty.h"

#define LOGS_WAIT_MS 60000  /* without --follow: the longest silence before giving up */

struct logs_args {
	const char *service;
	long long replica;   /* -1: every replica */
	int follow;
	long long since;     /* unix seconds, 0: from the start */
	long long tail;      /* -1: all */
};

static int logs_parse(struct logs_args *a, int argc, char **argv)
{
	static const struct option opts[] = {{"replica", required_argument, NULL, 'r'},
	                                     {"follow", no_argument, NULL, 'f'},
	                                     {"since", required_argument, NULL, 's'},
	                                     {"tail", required_argument, NULL, 'n'},
	                                     {NULL, 0, NULL, 0}};
	char err[256];
	uint64_t v;
	int ch;
	memset(a, 0, sizeof *a);
	a->replica = a->tail = -1;
	optind = 0; /* GNU getopt starts afresh, and flags may follow SERVICE */
	while ((ch = getopt_long(argc, argv, "r:fs:n:", opts, NULL)) != -1) {
		if (ch == 'f')
			a->follow = 1;
		else if (ch == 'r' && parse_u64(optarg, 0, REC_RUN_REPLICAS_MAX - 1, &v, err, sizeof err) == 0)
			a->replica = (long long)v;
		else if (ch == 'n' && strcmp(optarg, "all") == 0)
			a->tail = -1;
		else if (ch == 'n' && parse_u64(optarg, 0, 1000000, &v, err, sizeof err) == 0)
			a->tail = (long long)v;
		else if (ch == 's' && parse_duration_ms(optarg, &v, err, sizeof err) == 0 && v >= 1000)
			a->since = (long long)time(NULL) - (long long)(v / 1000);
		else {
			if (ch == 's' && !err[0])
				snprintf(err, sizeof err, "at least 1s");
			if (ch == 'r' || ch == 'n' || ch == 's')
				cli_err("--%s: %s\n" USAGE_LOGS,
				        ch == 'r' ? "replica" : ch == 'n' ? "tail" : "since", err);
			else
				cli_err(USAGE_LOGS);
			return CLI_USAGE;
		}
		err[0] = '\0';
	}
	if (optind != argc - 1 || !rec_name_ok(argv[optind], strlen(argv[optind]))) {
		cli_err(optind == argc - 1 ? "'%s' is not a service name\n" USAGE_LOGS : "%s" USAGE_LOGS,
		        optind == argc - 1 ? argv[optind] : "");
		return CLI_USAGE;
	}
	a->service = argv[optind];
	return CLI_OK;
}

/* The replicas of the service, and the servers the placement puts them on. */
static json_t *targets_of(const struct logs_args *a, json_t *pl)
{
	json_t *out = json_array(), *v;
	size_t i;
	json_array_foreach(json_object_get(pl, "assignments"), i, v) {
		const char *s = json_string_value(json_object_get(v, "service"));
		const char *n = json_string_value(json_object_get(v, "node"));
		json_t *r = json_object_get(v, "replica");
		if (!s || !n || !json_is_integer(r) || strcmp(s, a->service) != 0 ||
		    (a->replica >= 0 && json_integer_value(r) != a->replica))
			continue;
		json_array_append_new(out, json_pack("{s:O,s:s}", "replica", r, "node", n));
	}
	return out;
}

static void print_line(json_t *m, int esc)
{
	const char *svc = json_string_value(json_object_get(m, "service"));
	const char *node = json_string_value(json_object_get(m, "node"));
	const char *line = json_string_value(json_object_get(m, "line"));
	json_int_t r = json_integer_value(json_object_get(m, "replica"));
	if (!svc || !node || !line)
		return;
	if (esc) {
		size_t cap = 4 * strlen(line) + 8;
		char *shown = malloc(cap);
		char n[TTY_FIELD_MAX];
		if (shown)
			printf("%s.%" JSON_INTEGER_FORMAT "@%s | %s\n", svc, r, tty_esc(node, n, sizeof n),
			       tty_esc(line, shown, cap));
		free(shown);
	} else
		printf("%s.%" JSON_INTEGER_FORMAT "@%s | %s\n", svc, r, node, line);
	fflush(stdout);
}

/* Read the stream until "end": lines printed, failures of replicas counted. */
static int stream(const struct cli *cli, struct ipc_sync *s, int follow)
{
	int failed = 0;
	for (;;) {
		json_t *m = NULL;
		char err[512];
		int rc = ipc_sync_read(s, &m, follow ? -1 : LOGS_WAIT_MS, err, sizeof err);
		if (rc <= 0) {
			cli_err("canteen-dockerd: %s", rc == 0 ? "closed before the end" : err);
			return CLI_FAIL;
		}
		const char *type = json_string_value(json_object_get(m, "type"));
		if (cli->json && type && strcmp(type, "end") != 0) {
			char *t = json_dumps(m, JSON_COMPACT);
			if (t)
				printf("%s\n", t);
			free(t);
			fflush(stdout);
		} else if (type && strcmp(type, "log") == 0)
			print_line(m, isatty(1));
		if (type && strcmp(type, "log.end") == 0 && json_object_get(m, "error")) {
			failed++;
			cli_err("%s.%" JSON_INTEGER_FORMAT "@%s: %s",
			        json_string_value(json_object_get(m, "service")),
			        json_integer_value(json_object_get(m, "replica")),
			        json_string_value(json_object_get(m, "node")),
			        json_string_value(json_object_get(m, "error")));
		}
		int end = !type || strcmp(type, "end") == 0 || strcmp(type, "error") == 0;
		int ok = type && strcmp(type, "end") == 0 && !failed;
		if (type && strcmp(type, "error") == 0)
			cli_err("canteen-dockerd: %s", json_string_value(json_object_get(m, "error")));
		json_decref(m);
		if (end)
			return ok ? CLI_OK : CLI_FAIL;
	}
}

int cmd_logs(struct cli *cli, int argc, char **argv)
{
	struct logs_args a;
	int rc = logs_parse(&a, argc, argv);
	if (rc != CLI_OK)
		return rc;
	char spath[1024], dpath[1024], err[512];
	cli_sock_path(cli, SOCK_SCHED, spath, sizeof spath);
	cli_sock_path(cli, SOCK_DOCKERD, dpath, sizeof dpath);
	json_t *req = json_pack("{s:s}", "op", "placement"), *pl = NULL;
	rc = ipc_request(spath, req, &pl, 5000, err, sizeof err);
	json_decref(req);
	if (rc < 0 || !json_is_true(json_object_get(pl, "ready"))) {
		cli_err("cannot read the placement from %s: %s", spath,
		        rc < 0 ? err : "canteen-sched has none yet");
		json_decref(pl);
		return CLI_FAIL;
	}
	json_t *targets = targets_of(&a, pl);
	json_decref(pl);
	if (json_array_size(targets) == 0) {
		if (a.replica >= 0)
			cli_err("replica %lld of '%s' is not placed on any server", a.replica, a.service);
		else
			cli_err("'%s' has no replica placed on any server", a.service);
		json_decref(targets);
		return CLI_FAIL;
	}
	struct ipc_sync *s = ipc_sync_connect(dpath, err, sizeof err);
	req = json_pack("{s:s,s:s,s:o,s:b,s:I,s:I}", "op", "logs", "service", a.service, "targets",
	                targets, "follow", a.follow, "since", (json_int_t)a.since, "tail",
	                (json_int_t)a.tail);
	json_t *ans = NULL;
	if (!s || ipc_sync_send(s, req, err, sizeof err) < 0 ||
	    ipc_sync_read(s, &ans, 10000, err, sizeof err) != 1) {
		cli_err("cannot ask canteen-dockerd at %s: %s", dpath, err);
		rc = CLI_FAIL;
		goto out;
	}
	const char *type = json_string_value(json_object_get(ans, "type"));
	if (!type || strcmp(type, "logs") != 0) {
		const char *e = json_string_value(json_object_get(ans, "error"));
		cli_err("canteen-dockerd: %s", e ? e : "an unexpected answer");
		rc = CLI_FAIL;
		goto out;
	}
	rc = stream(cli, s, a.follow);
out:
	json_decref(req);
	json_decref(ans);
	if (s)
		ipc_sync_close(s);
	return rc;
}
