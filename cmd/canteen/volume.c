/* volume.c: "canteen volume ls|prune": this server's replica volumes of this cluster, through canteen-dockerd. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ipc.h"
#include "rec.h"
#include "sockets.h"
#include "tty.h"

#define VOLUME_WAIT_MS 90000 /* Docker's /system/df computes sizes; removals take their time */
#define VOLUME_PRUNE_MAX 1000 /* names in one request (canteen-dockerd's VOL_PRUNE_MAX) */

/* Ask canteen-dockerd; the answer of type want (owned by the caller), or NULL (said why). */
static json_t *ask(struct cli *cli, json_t *req, const char *want)
{
	char dpath[1024], err[512];
	json_t *ans = NULL;
	cli_sock_path(cli, SOCK_DOCKERD, dpath, sizeof dpath);
	if (ipc_request(dpath, req, &ans, VOLUME_WAIT_MS, err, sizeof err) < 0) {
		cli_err("cannot ask canteen-dockerd at %s: %s", dpath, err);
		return NULL;
	}
	const char *type = json_string_value(json_object_get(ans, "type"));
	if (!type || strcmp(type, want) != 0) {
		const char *e = json_string_value(json_object_get(ans, "error"));
		char why[TTY_FIELD_MAX];
		cli_err("canteen-dockerd: %s", e ? tty_esc(e, why, sizeof why) : "an unexpected answer");
		json_decref(ans);
		return NULL;
	}
	return ans;
}

/* This server's volumes as canteen-dockerd lists them (its "volumes" answer), or NULL. */
static json_t *ask_volumes(struct cli *cli)
{
	json_t *req = json_pack("{s:s}", "op", "volumes");
	json_t *ans = req ? ask(cli, req, "volumes") : NULL;
	json_decref(req);
	return ans;
}

static void size_text(const json_t *v, char *out, size_t len)
{
	json_t *sz = json_object_get(v, "size");
	if (!json_is_integer(sz)) {
		snprintf(out, len, "-");
		return;
	}
	double b = (double)json_integer_value(sz);
	const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t i = 0;
	while (b >= 1024 && i < 4) {
		b /= 1024;
		i++;
	}
	snprintf(out, len, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static void print_volumes(const json_t *vols)
{
	size_t i;
	json_t *v;
	printf("%-24s %-7s %-16s %-10s %-6s %s\n", "SERVICE", "REPLICA", "VOLUME", "SIZE", "USED", "NAME");
	json_array_foreach(vols, i, v) {
		char svc[TTY_FIELD_MAX], vol[TTY_FIELD_MAX], name[TTY_FIELD_MAX], size[32];
		size_text(v, size, sizeof size);
		printf("%-24s %-7lld %-16s %-10s %-6s %s\n",
		       tty_esc(json_string_value(json_object_get(v, "service")), svc, sizeof svc),
		       (long long)json_integer_value(json_object_get(v, "replica")),
		       tty_esc(json_string_value(json_object_get(v, "volume")), vol, sizeof vol), size,
		       json_is_true(json_object_get(v, "used")) ? "yes" : "no",
		       tty_esc(json_string_value(json_object_get(v, "name")), name, sizeof name));
	}
}

static int volume_ls(struct cli *cli, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			cli->json = 1;
			continue;
		}
		cli_err("volume ls: unexpected argument '%s'\n" USAGE_VOLUME, argv[i]);
		return CLI_USAGE;
	}
	json_t *ans = ask_volumes(cli);
	if (!ans)
		return CLI_FAIL;
	json_t *vols = json_object_get(ans, "volumes"), *v;
	size_t i;
	if (cli->json) {
		json_array_foreach(vols, i, v) {
			char *t = json_dumps(v, JSON_COMPACT);
			if (t)
				printf("%s\n", t);
			free(t);
		}
	} else {
		print_volumes(vols);
	}
	json_decref(ans);
	return CLI_OK;
}

/* Asked on a terminal: 1 when the answer is yes. */
static int confirm(size_t n)
{
	char line[16];
	fprintf(stderr, "remove %zu volume%s and their data for good? [y/N] ", n, n == 1 ? "" : "s");
	fflush(stderr);
	if (!fgets(line, sizeof line, stdin))
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

static int volume_prune(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"service", required_argument, NULL, 's'},
	                                     {"yes", no_argument, NULL, 'y'},
	                                     {NULL, 0, NULL, 0}};
	const char *service = NULL;
	int yes = 0, ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (ch == 's' && rec_name_ok(optarg, strlen(optarg))) {
			service = optarg;
		} else if (ch == 'y') {
			yes = 1;
		} else {
			cli_err("volume prune: %s\n" USAGE_VOLUME,
			        ch == 's' ? "--service needs a service name" : "unknown flag or missing value");
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_err("volume prune: unexpected argument '%s'\n" USAGE_VOLUME, argv[optind]);
		return CLI_USAGE;
	}
	if (!yes && !isatty(0)) {
		cli_err("%s", "volume prune: not on a terminal: give --yes to remove without asking");
		return CLI_USAGE;
	}
	json_t *ans = ask_volumes(cli);
	if (!ans)
		return CLI_FAIL;
	json_t *names = json_array(), *unused = json_array(), *v;
	size_t i;
	json_array_foreach(json_object_get(ans, "volumes"), i, v) {
		const char *svc = json_string_value(json_object_get(v, "service"));
		if (json_is_true(json_object_get(v, "used")) || (service && (!svc || strcmp(svc, service))))
			continue;
		if (json_array_size(names) < VOLUME_PRUNE_MAX) {
			json_array_append(names, json_object_get(v, "name"));
			json_array_append(unused, v);
		}
	}
	json_decref(ans);
	int rc = CLI_OK;
	if (json_array_size(names) == 0) {
		if (!cli->json)
			printf("no unused volume%s%s here\n", service ? " of " : "", service ? service : "");
		goto out;
	}
	if (!yes) {
		print_volumes(unused);
		if (!confirm(json_array_size(names))) {
			printf("nothing removed\n");
			goto out;
		}
	}
	/* canteen-dockerd looks again: a volume used meanwhile is refused, not removed. */
	json_t *req = json_pack("{s:s,s:O}", "op", "volume.prune", "names", names);
	ans = ask(cli, req, "volume.prune");
	json_decref(req);
	if (!ans) {
		rc = CLI_FAIL;
		goto out;
	}
	json_array_foreach(json_object_get(ans, "removed"), i, v) {
		char name[TTY_FIELD_MAX];
		if (cli->json) {
			json_t *o = json_pack("{s:O}", "removed", v);
			char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
			if (t)
				printf("%s\n", t);
			free(t);
			json_decref(o);
		} else {
			printf("removed %s\n", tty_esc(json_string_value(v), name, sizeof name));
		}
	}
	json_array_foreach(json_object_get(ans, "refused"), i, v) {
		char name[TTY_FIELD_MAX], why[TTY_FIELD_MAX];
		cli_err("not removed: %s: %s",
		        tty_esc(json_string_value(json_object_get(v, "name")), name, sizeof name),
		        tty_esc(json_string_value(json_object_get(v, "error")), why, sizeof why));
		rc = CLI_FAIL;
	}
	json_decref(ans);
out:
	json_decref(names);
	json_decref(unused);
	return rc;
}

int cmd_volume(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "ls") == 0)
		return volume_ls(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "prune") == 0)
		return volume_prune(cli, argc - 1, argv + 1);
	cli_err("%s", USAGE_VOLUME);
	return CLI_USAGE;
}
