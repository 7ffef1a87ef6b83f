/* up_docker.c: canteen up/down's Docker side (through docker_api.h): ping, the demo image, cleanup. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "docker_api.h"
#include "eth_util.h"
#include "up.h"

int up_docker_ping(const char *sock)
{
	int status = 0;
	char err[256];
	return docker_call(sock, "GET", "/_ping", NULL, 0, NULL, 5000, &status, NULL, err, sizeof err) == 0 &&
	       status == 200;
}

/* ---- a ustar archive in memory, for docker import ---- */

static int tar_header(struct eth_buf *t, const char *name, char type, unsigned mode, size_t size,
                      const char *link)
{
	unsigned char h[512];
	memset(h, 0, sizeof h);
	if (strlen(name) >= 100 || (link && strlen(link) >= 100))
		return -1;
	memcpy(h, name, strlen(name));
	snprintf((char *)h + 100, 8, "%07o", mode);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011zo", size);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = (unsigned char)type;
	if (link)
		memcpy(h + 157, link, strlen(link));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof h; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	return eth_buf_put(t, h, sizeof h);
}

static int tar_file(struct eth_buf *t, const char *name, unsigned mode, const uint8_t *data,
                    size_t len)
{
	if (tar_header(t, name, '0', mode, len, NULL) < 0 || eth_buf_put(t, data, len) < 0)
		return -1;
	return eth_buf_put_zeros(t, (512 - len % 512) % 512);
}

/* The demo image's root filesystem as a ustar archive; *out (malloc'd) is the caller's. */
static int demo_tar(const char *busybox, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	struct eth_buf t, bb;
	FILE *f = fopen(busybox, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s (install busybox-static)", busybox, strerror(errno));
		return -1;
	}
	eth_buf_init(&t);
	eth_buf_init(&bb);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0 && eth_buf_put(&bb, buf, n) == 0)
		;
	fclose(f);
	static const char *links[] = {"sh", "httpd", "sleep", "echo", "cat", "ls", "wget"};
	static const char index_html[] = "hello from canteen\n";
	int bad = bb.err || bb.len < 4 || memcmp(bb.p, "\177ELF", 4) != 0 ||
	          tar_header(&t, "bin/", '5', 0755, 0, NULL) < 0 ||
	          tar_file(&t, "bin/busybox", 0755, bb.p, bb.len) < 0 ||
	          tar_header(&t, "www/", '5', 0755, 0, NULL) < 0 ||
	          tar_file(&t, "www/index.html", 0644, (const uint8_t *)index_html,
	                   sizeof index_html - 1) < 0 ||
	          tar_header(&t, "tmp/", '5', 01777, 0, NULL) < 0;
	for (size_t i = 0; !bad && i < sizeof links / sizeof links[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "bin/%s", links[i]);
		bad = tar_header(&t, name, '2', 0777, 0, "busybox") < 0;
	}
	eth_buf_free(&bb);
	if (bad || eth_buf_put_zeros(&t, 1024) < 0) {
		eth_buf_free(&t);
		snprintf(err, errlen, "cannot build the demo image archive from %s", busybox);
		return -1;
	}
	*out = t.p;
	*outlen = t.len;
	return 0;
}

int up_docker_import_demo(const char *sock, const char *busybox, char *err, size_t errlen)
{
	char *answer = NULL, why[256];
	uint8_t *tar = NULL;
	size_t len = 0;
	int status = 0;
	if (demo_tar(busybox, &tar, &len, err, errlen) < 0)
		return -1;
	int rc = docker_call(sock, "POST", "/images/create?fromSrc=-&repo=canteen/demo&tag=1", tar, len,
	                     "application/x-tar", 300000, &status, &answer, why, sizeof why);
	free(tar);
	int ok = rc == 0 && status == 200 && !(answer && strstr(answer, "\"error"));
	if (rc < 0)
		snprintf(err, errlen, "importing the demo image failed: %s", why);
	else if (!ok)
		snprintf(err, errlen, "importing the demo image failed (HTTP %d): %.200s", status,
		         answer ? answer : "");
	free(answer);
	return ok ? 0 : -1;
}

int up_docker_remove_node(const char *sock, const char *address)
{
	char path[600], filters[256], enc[512], err[256], *answer = NULL;
	int status = 0, removed = 0;
	snprintf(filters, sizeof filters, "{\"label\":[\"io.canteen.node=%s\"]}", address);
	if (docker_urlencode(filters, enc, sizeof enc) < 0)
		return 0;
	snprintf(path, sizeof path, "/containers/json?all=1&filters=%s", enc);
	if (docker_call(sock, "GET", path, NULL, 0, NULL, 30000, &status, &answer, err, sizeof err) < 0 ||
	    status != 200) {
		free(answer);
		return 0;
	}
	json_t *list = json_loads(answer, 0, NULL), *c;
	free(answer);
	size_t k;
	json_array_foreach(list, k, c) {
		const char *id = json_string_value(json_object_get(c, "Id"));
		if (!id || strspn(id, "0123456789abcdef") != strlen(id))
			continue;
		snprintf(path, sizeof path, "/containers/%s?force=1", id);
		if (docker_call(sock, "DELETE", path, NULL, 0, NULL, 60000, &status, NULL, err, sizeof err) == 0 &&
		    status < 300)
			removed++;
	}
	json_decref(list);
	return removed;
}
