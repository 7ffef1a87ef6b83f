/* images.c: "canteen images": which server holds which of the contract's images, asked of every admitted server through canteen-dockerd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "ipc.h"
#include "rec.h"
#include "sockets.h"
#include "tty.h"

#define IMAGES_WAIT_MS 15000 /* canteen-dockerd gives up on a server after 10 s */

/* The distinct images of the contract's services (chain), or NULL. */
static json_t *contract_images(struct cli *cli, int *rc)
{
	json_t *all = NULL, *summary = NULL, *v;
	char why[700];
	size_t i;
	*rc = service_ls_run(cli, &all, &summary, why, sizeof why);
	json_decref(summary);
	if (*rc != CLI_OK)
		return NULL;
	json_t *refs = json_array();
	json_array_foreach(all, i, v) {
		json_t *img = json_object_get(v, "image"), *r;
		size_t j;
		int seen = 0;
		json_array_foreach(refs, j, r) seen |= json_equal(r, img);
		if (json_is_string(img) && !seen)
			json_array_append(refs, img);
	}
	json_decref(all);
	return refs;
}

static void print_text(json_t *refs, json_t *servers)
{
	size_t i, j;
	json_t *r, *s;
	printf("%-40s %s\n", "IMAGE", "HELD BY");
	json_array_foreach(refs, i, r) {
		char img[TTY_FIELD_MAX], node[TTY_FIELD_MAX];
		printf("%-40s", tty_esc(json_string_value(r), img, sizeof img));
		int any = 0;
		json_array_foreach(servers, j, s) {
			json_t *held = json_object_get(s, "images"), *h;
			size_t k;
			int has = 0;
			json_array_foreach(held, k, h) has |= json_equal(h, r);
			if (has)
				printf("%s%s", any++ ? ", " : " ",
				       tty_esc(json_string_value(json_object_get(s, "node")), node, sizeof node));
		}
		printf("%s\n", any ? "" : " -");
	}
	json_array_foreach(servers, j, s) {
		const char *e = json_string_value(json_object_get(s, "error"));
		char node[TTY_FIELD_MAX], why[TTY_FIELD_MAX];
		if (e)
			cli_err("%s: %s", tty_esc(json_string_value(json_object_get(s, "node")), node, sizeof node),
			        tty_esc(e, why, sizeof why));
	}
}

int cmd_images(struct cli *cli, int argc, char **argv)
{
	json_t *refs;
	int rc = CLI_OK;
	char err[512], dpath[1024];
	if (argc > 1) {
		refs = json_array();
		for (int i = 1; i < argc; i++) {
			if (rec_image_check(argv[i], strlen(argv[i]), err, sizeof err) < 0) {
				cli_err("'%s': %s\n" USAGE_IMAGES, argv[i], err);
				json_decref(refs);
				return CLI_USAGE;
			}
			json_array_append_new(refs, json_string(argv[i]));
		}
	} else if (!(refs = contract_images(cli, &rc)))
		return rc;
	cli_sock_path(cli, SOCK_DOCKERD, dpath, sizeof dpath);
	json_t *req = json_pack("{s:s,s:O}", "op", "images", "images", refs), *ans = NULL;
	json_t *servers = json_array();
	struct ipc_sync *s = ipc_sync_connect(dpath, err, sizeof err);
	if (!s || ipc_sync_send(s, req, err, sizeof err) < 0 ||
	    ipc_sync_read(s, &ans, IMAGES_WAIT_MS, err, sizeof err) != 1) {
		cli_err("cannot ask canteen-dockerd at %s: %s", dpath, err);
		rc = CLI_FAIL;
		goto out;
	}
	const char *type = json_string_value(json_object_get(ans, "type"));
	if (!type || strcmp(type, "images") != 0) {
		const char *e = json_string_value(json_object_get(ans, "error"));
		cli_err("canteen-dockerd: %s", e ? e : "an unexpected answer");
		rc = CLI_FAIL;
		goto out;
	}
	for (;;) {
		json_t *m = NULL;
		int r = ipc_sync_read(s, &m, IMAGES_WAIT_MS, err, sizeof err);
		if (r <= 0) {
			cli_err("canteen-dockerd: %s", r == 0 ? "closed before the end" : err);
			rc = CLI_FAIL;
			break;
		}
		type = json_string_value(json_object_get(m, "type"));
		int server = type && strcmp(type, "image.server") == 0;
		if (type && strcmp(type, "error") == 0) {
			cli_err("canteen-dockerd: %s", json_string_value(json_object_get(m, "error")));
			rc = CLI_FAIL;
		}
		if (server) {
			json_object_del(m, "type");
			if (cli->json) {
				char *t = json_dumps(m, JSON_COMPACT);
				if (t)
					printf("%s\n", t);
				free(t);
			}
			json_array_append(servers, m);
		}
		json_decref(m);
		if (!server)
			break;
	}
	if (!cli->json)
		print_text(refs, servers);
out:
	json_decref(req);
	json_decref(ans);
	json_decref(refs);
	json_decref(servers);
	if (s)
		ipc_sync_close(s);
	return rc;
}
