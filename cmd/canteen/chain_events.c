/* chain_events.c: `canteen events`: follow chain.sock and print each event. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "ipc.h"
#include "parse.h"
#include "sockets.h"
#include "tty.h"

/* A string member of o, escaped for the terminal into buf. */
static const char *str_of(const json_t *o, const char *key, char *buf, size_t buflen)
{
	return tty_esc(json_string_value(json_object_get(o, key)), buf, buflen);
}

/* One readable line: "seq type details"; every string in it escaped for the terminal. */
static void print_event(const json_t *ev)
{
	char a[TTY_FIELD_MAX], b[TTY_FIELD_MAX], t[TTY_FIELD_MAX];
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_int_t seq = json_integer_value(json_object_get(ev, "seq"));
	json_t *node = json_object_get(ev, "node"), *svc = json_object_get(ev, "service");
	printf("%-6lld %-15s ", (long long)seq, type ? tty_esc(type, t, sizeof t) : "?");
	if (!type)
		type = "?";
	if (strcmp(type, "snapshot.begin") == 0 || strcmp(type, "snapshot.end") == 0)
		printf("block %lld, %lld nodes, %lld services",
		       (long long)json_integer_value(json_object_get(ev, "block")),
		       (long long)json_integer_value(json_object_get(ev, "nodes")),
		       (long long)json_integer_value(json_object_get(ev, "services")));
	else if (strcmp(type, "snapshot") == 0)
		printf("block %lld, %zu nodes, %zu services",
		       (long long)json_integer_value(json_object_get(ev, "block")),
		       json_array_size(json_object_get(ev, "nodes")),
		       json_array_size(json_object_get(ev, "services")));
	else if (json_is_object(node))
		printf("%s %s active=%s", str_of(node, "address", a, sizeof a),
		       str_of(node, "endpoint", b, sizeof b),
		       json_is_true(json_object_get(node, "active")) ? "yes" : "no");
	else if (json_is_object(svc))
		printf("%s image=%s replicas=%lld generation=%lld", str_of(svc, "name", a, sizeof a),
		       str_of(svc, "image", b, sizeof b),
		       (long long)json_integer_value(json_object_get(svc, "replicas")),
		       (long long)json_integer_value(json_object_get(svc, "generation")));
	else if (json_object_get(ev, "address"))
		printf("%s", str_of(ev, "address", a, sizeof a));
	else if (json_object_get(ev, "name"))
		printf("%s", str_of(ev, "name", a, sizeof a));
	else if (json_object_get(ev, "hash"))
		printf("block %lld %s", (long long)json_integer_value(json_object_get(ev, "block")),
		       str_of(ev, "hash", a, sizeof a));
	else if (json_object_get(ev, "error"))
		printf("%s", str_of(ev, "error", a, sizeof a));
	printf("\n");
}

int cmd_events(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"count", required_argument, NULL, 'n'}, {"no-head", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	char path[1024], err[256];
	uint64_t count = 0, seen = 0;
	int ch, no_head = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		if (ch == 'n' && parse_u64(optarg, 1, UINT64_MAX, &count, err, sizeof err) == 0)
			continue;
		if (ch == 'H') {
			no_head = 1;
			continue;
		}
		cli_err(ch == 'n' ? "--count: %s" : USAGE_EVENTS "%s",
		        ch == 'n' ? err : "");
		return CLI_USAGE;
	}
	if (optind != argc) {
		cli_err(USAGE_EVENTS);
		return CLI_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	cli_sock_path(cli, SOCK_CHAIN, path, sizeof path);
	struct ipc_sync *s = ipc_sync_connect(path, err, sizeof err);
	if (!s) {
		cli_err("cannot connect to canteen-chainwatch at %s: %s", path, err);
		return CLI_FAIL;
	}
	json_t *req = json_pack("{s:s}", "op", "subscribe");
	int ret = CLI_FAIL;
	if (ipc_sync_send(s, req, err, sizeof err) < 0) {
		cli_err("cannot subscribe to %s: %s", path, err);
		goto done;
	}
	for (;;) {
		json_t *ev;
		int r = ipc_sync_read(s, &ev, -1, err, sizeof err);
		if (r == 0) {
			cli_err("canteen-chainwatch closed the connection");
			goto done;
		}
		if (r < 0) {
			cli_err("reading %s: %s", path, err);
			goto done;
		}
		const char *type = json_string_value(json_object_get(ev, "type"));
		if (type && strcmp(type, "error") == 0) {
			cli_err("canteen-chainwatch: %s", json_string_value(json_object_get(ev, "error")));
			json_decref(ev);
			goto done;
		}
		int skip = no_head && type && strcmp(type, "head") == 0;
		if (!skip) {
			if (cli->json)
				chain_print_json(ev);
			else
				print_event(ev);
			if (fflush(stdout) == EOF) {
				json_decref(ev);
				ret = CLI_OK; /* the reader went away */
				goto done;
			}
			seen++;
		}
		json_decref(ev);
		if (count && seen >= count) {
			ret = CLI_OK;
			goto done;
		}
	}
done:
	json_decref(req);
	ipc_sync_close(s);
	return ret;
}
