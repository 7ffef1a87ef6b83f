/* members.c: "canteen members": SWIM membership as this node's canteen-swim sees it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ipc.h"
#include "sockets.h"
#include "tty.h"

/* One line per member; this node is marked with '*'; what peers sent is escaped for the
 * terminal, and long metadata cut. */
static void print_table(json_t *members, const char *self)
{
	size_t i;
	json_t *m;
	printf("  %-42s %-22s %-8s %-11s %s\n", "ADDRESS", "ENDPOINT", "STATE", "INCARNATION",
	       "META");
	json_array_foreach(members, i, m) {
		const char *addr = json_string_value(json_object_get(m, "address"));
		const char *ep = json_string_value(json_object_get(m, "endpoint"));
		const char *state = json_string_value(json_object_get(m, "state"));
		const char *meta = json_string_value(json_object_get(m, "meta"));
		char shown[44], ea[TTY_FIELD_MAX], ee[TTY_FIELD_MAX], es[TTY_FIELD_MAX];
		int me = addr && self && strcmp(addr, self) == 0;
		printf("%c %-42s %-22s %-8s %-11" JSON_INTEGER_FORMAT " %s\n", me ? '*' : ' ',
		       addr ? tty_esc(addr, ea, sizeof ea) : "?", ep && *ep ? tty_esc(ep, ee, sizeof ee) : "-",
		       state ? tty_esc(state, es, sizeof es) : "?",
		       json_integer_value(json_object_get(m, "incarnation")),
		       meta ? tty_esc(meta, shown, sizeof shown) : "-");
	}
}

int cmd_members(struct cli *cli, int argc, char **argv)
{
	if (argc > 1) {
		cli_err(USAGE_MEMBERS " (unexpected '%s')", argv[1]);
		return CLI_USAGE;
	}
	char path[1024], err[512];
	cli_sock_path(cli, SOCK_SWIM, path, sizeof path);
	json_t *req = json_pack("{s:s}", "op", "members"), *ans = NULL;
	int rc = req ? ipc_request(path, req, &ans, 5000, err, sizeof err) : -1;
	json_decref(req);
	if (rc < 0) {
		cli_err("cannot ask canteen-swim at %s: %s", path, req ? err : "out of memory");
		return CLI_FAIL;
	}
	const char *type = json_string_value(json_object_get(ans, "type"));
	json_t *members = json_object_get(ans, "members");
	if (!type || strcmp(type, "members") != 0 || !json_is_array(members)) {
		const char *e = json_string_value(json_object_get(ans, "error"));
		cli_err("canteen-swim answered: %s", e ? e : "an unexpected message");
		json_decref(ans);
		return CLI_FAIL;
	}
	const char *self = json_string_value(json_object_get(ans, "self"));
	if (cli->json) {
		size_t i;
		json_t *m;
		json_array_foreach(members, i, m) {
			char *s = json_dumps(m, JSON_COMPACT);
			if (s)
				printf("%s\n", s);
			free(s);
		}
	} else {
		print_table(members, self);
	}
	json_decref(ans);
	return CLI_OK;
}
