/* ipc_tool.c: drives NDJSON sockets from bats tests: requests, subscriptions, raw bytes, a test server. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "loop.h"
#include "parse.h"

static void usage(void)
{
	fprintf(stderr,
	        "usage: ipc_tool request SOCK JSON [TIMEOUT_MS]\n"
	        "       ipc_tool subscribe SOCK COUNT [TIMEOUT_MS]   print COUNT lines after subscribing\n"
	        "       ipc_tool raw SOCK FILE                       send FILE's bytes, print answers until EOF\n"
	        "       ipc_tool hold SOCK SECONDS                   subscribe and never read\n"
	        "       ipc_tool many SOCK N                         N concurrent subscribers, all get the snapshot\n"
	        "       ipc_tool deaf SOCK SECONDS                   subscribe, stop reading (shutdown SHUT_RD), wait\n"
	        "       ipc_tool flood SOCK N SECONDS                open N connections that send nothing, hold them\n"
	        "       ipc_tool serve SOCK                          a test server (ops: ping, subscribe, publish)\n");
	exit(2);
}

static int num(const char *s, uint64_t max)
{
	uint64_t v;
	char err[128];
	if (parse_u64(s, 0, max, &v, err, sizeof err) < 0) {
		fprintf(stderr, "ipc_tool: %s\n", err);
		exit(2);
	}
	return (int)v;
}

static int print_line(json_t *m)
{
	char *s = json_dumps(m, JSON_COMPACT);
	if (!s)
		return -1;
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	return 0;
}

static int cmd_request(const char *sock, const char *text, int timeout)
{
	char err[256];
	json_t *req = ipc_parse_line(text, strlen(text), err, sizeof err), *ans = NULL;
	if (!req) {
		fprintf(stderr, "ipc_tool: %s\n", err);
		return 2;
	}
	int rc = ipc_request(sock, req, &ans, timeout, err, sizeof err);
	json_decref(req);
	if (rc < 0) {
		fprintf(stderr, "ipc_tool: %s\n", err);
		return 1;
	}
	print_line(ans);
	json_decref(ans);
	return 0;
}

static int cmd_subscribe(const char *sock, int count, int timeout)
{
	char err[256];
	struct ipc_sync *s = ipc_sync_connect(sock, err, sizeof err);
	if (!s) {
		fprintf(stderr, "ipc_tool: %s\n", err);
		return 1;
	}
	json_t *req = json_pack("{s:s}", "op", "subscribe");
	int rc = ipc_sync_send(s, req, err, sizeof err);
	json_decref(req);
	for (int i = 0; rc == 0 && (count == 0 || i < count); i++) {
		json_t *m;
		int r = ipc_sync_read(s, &m, timeout, err, sizeof err);
		if (r <= 0) {
			rc = 1;
			break;
		}
		print_line(m);
		json_decref(m);
	}
	if (rc)
		fprintf(stderr, "ipc_tool: %s\n", err);
	ipc_sync_close(s);
	return rc;
}

static int raw_connect(const char *sock)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(sock) >= sizeof sun.sun_path)
		return -1;
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		perror(sock);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Sends the file in small pieces (half lines across reads), then half-closes and
 * prints everything that comes back. */
static int cmd_raw(const char *sock, const char *file)
{
	int fd = raw_connect(sock);
	if (fd < 0)
		return 1;
	int in = open(file, O_RDONLY);
	if (in < 0) {
		perror(file);
		return 1;
	}
	char buf[7];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0) {
		if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) < 0)
			break; /* the server may close on a bad line: still read its answer */
	}
	close(in);
	shutdown(fd, SHUT_WR);
	char out[4096];
	while ((n = read(fd, out, sizeof out)) > 0)
		fwrite(out, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}

static int cmd_hold(const char *sock, int seconds)
{
	int fd = raw_connect(sock);
	if (fd < 0)
		return 1;
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	const char *sub = "{\"op\":\"subscribe\"}\n";
	if (send(fd, sub, strlen(sub), MSG_NOSIGNAL) < 0)
		return 1;
	printf("holding\n");
	fflush(stdout);
	sleep((unsigned)seconds); /* the point of this mode: a subscriber that never reads */
	close(fd);
	return 0;
}

static int cmd_many(const char *sock, int n)
{
	int *fds = calloc((size_t)n, sizeof *fds);
	int ok = 0;
	if (!fds)
		return 1;
	const char *sub = "{\"op\":\"subscribe\"}\n";
	for (int i = 0; i < n; i++) {
		fds[i] = raw_connect(sock);
		if (fds[i] < 0 || send(fds[i], sub, strlen(sub), MSG_NOSIGNAL) < 0) {
			fprintf(stderr, "ipc_tool: connection %d failed\n", i);
			break;
		}
	}
	for (int i = 0; i < n && fds[i] > 0; i++) {
		char line[4096];
		size_t len = 0;
		while (len < sizeof line - 1) {
			ssize_t r = read(fds[i], line + len, 1);
			if (r <= 0 || line[len] == '\n')
				break;
			len++;
		}
		line[len] = '\0';
		if (strstr(line, "\"snapshot\""))
			ok++;
	}
	for (int i = 0; i < n; i++)
		if (fds[i] > 0)
			close(fds[i]);
	free(fds);
	printf("%d of %d subscribers got a snapshot\n", ok, n);
	return ok == n ? 0 : 1;
}

/* A subscriber whose read side is shut: the server's next write to it fails (EPIPE)
 * while the connection still looks open to poll. */
static int cmd_deaf(const char *sock, int seconds)
{
	int fd = raw_connect(sock);
	if (fd < 0)
		return 1;
	const char *sub = "{\"op\":\"subscribe\"}\n";
	if (send(fd, sub, strlen(sub), MSG_NOSIGNAL) < 0 || shutdown(fd, SHUT_RD) < 0)
		return 1;
	printf("deaf\n");
	fflush(stdout);
	sleep((unsigned)seconds); /* the point of this mode: stay connected, never readable */
	close(fd);
	return 0;
}

/* N idle connections held open; connections the server closes are counted, not retried. */
static int cmd_flood(const char *sock, int n, int seconds)
{
	int *fds = calloc((size_t)n, sizeof *fds), opened = 0;
	if (!fds)
		return 1;
	for (int i = 0; i < n; i++) {
		fds[i] = raw_connect(sock);
		if (fds[i] >= 0)
			opened++;
	}
	printf("opened %d of %d\n", opened, n);
	fflush(stdout);
	sleep((unsigned)seconds); /* the point of this mode: idle connections held open */
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return 0;
}

/* ---- the test server ---- */

struct serve {
	struct ipc_server *srv;
	uint64_t published;
};

static void serve_msg(struct ipc_conn *c, json_t *msg, void *arg)
{
	struct serve *sv = arg;
	const char *op = json_string_value(json_object_get(msg, "op"));
	if (!op) {
		ipc_reply_error(c, msg, "missing \"op\"");
		return;
	}
	if (strcmp(op, "ping") == 0) {
		json_t *a = json_pack("{s:s, s:I}", "type", "pong", "conns",
		                      (json_int_t)ipc_server_nconns(sv->srv));
		ipc_reply(c, msg, a);
		json_decref(a);
	} else if (strcmp(op, "subscribe") == 0 && ipc_conn_subscribed(c)) {
		ipc_reply_error(c, msg, "already subscribed");
	} else if (strcmp(op, "subscribe") == 0) {
		json_t *snap = json_pack("{s:s, s:I}", "type", "snapshot", "published",
		                         (json_int_t)sv->published);
		ipc_subscribe(c, snap);
		json_decref(snap);
	} else if (strcmp(op, "publish") == 0) {
		json_int_t n = json_integer_value(json_object_get(msg, "n"));
		json_int_t size = json_integer_value(json_object_get(msg, "size"));
		if (n < 0 || n > 1000000 || size < 0 || size > 100000) {
			ipc_reply_error(c, msg, "n or size out of range");
			return;
		}
		char *pad = malloc((size_t)size + 1);
		if (!pad)
			return;
		memset(pad, 'x', (size_t)size);
		pad[size] = '\0';
		for (json_int_t i = 0; i < n; i++) {
			json_t *ev = json_pack("{s:s, s:s}", "type", "test.event", "pad", pad);
			ipc_publish(sv->srv, ev);
			json_decref(ev);
			sv->published++;
		}
		free(pad);
		json_t *a = json_pack("{s:s, s:I}", "type", "ok", "seq", (json_int_t)ipc_server_seq(sv->srv));
		ipc_reply(c, msg, a);
		json_decref(a);
	} else {
		ipc_reply_error(c, msg, "unknown op '%s'", op);
	}
}

static void serve_stop(struct loop *l, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	loop_stop(l);
}

static int cmd_serve(const char *sock)
{
	struct loop *l = loop_new();
	struct serve sv = {0};
	char err[256];
	log_init("ipc_tool", LOG_LEVEL_INFO);
	sv.srv = ipc_listen(l, sock, serve_msg, NULL, &sv, err, sizeof err);
	if (!sv.srv) {
		fprintf(stderr, "ipc_tool: %s\n", err);
		return 1;
	}
	loop_signal(l, SIGTERM, serve_stop, NULL);
	loop_signal(l, SIGINT, serve_stop, NULL);
	printf("listening\n");
	fflush(stdout);
	loop_run(l);
	ipc_server_free(sv.srv);
	loop_free(l);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	/* many/serve hold a thousand descriptors: lift the soft limit to the hard one. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	const char *cmd = argv[1], *sock = argv[2];
	if (strcmp(cmd, "request") == 0 && (argc == 4 || argc == 5))
		return cmd_request(sock, argv[3], argc == 5 ? num(argv[4], 3600000) : 5000);
	if (strcmp(cmd, "subscribe") == 0 && (argc == 4 || argc == 5))
		return cmd_subscribe(sock, num(argv[3], 1000000), argc == 5 ? num(argv[4], 3600000) : 5000);
	if (strcmp(cmd, "raw") == 0 && argc == 4)
		return cmd_raw(sock, argv[3]);
	if (strcmp(cmd, "hold") == 0 && argc == 4)
		return cmd_hold(sock, num(argv[3], 3600));
	if (strcmp(cmd, "many") == 0 && argc == 4)
		return cmd_many(sock, num(argv[3], 100000));
	if (strcmp(cmd, "deaf") == 0 && argc == 4)
		return cmd_deaf(sock, num(argv[3], 3600));
	if (strcmp(cmd, "flood") == 0 && argc == 5)
		return cmd_flood(sock, num(argv[3], 100000), num(argv[4], 3600));
	if (strcmp(cmd, "serve") == 0 && argc == 3)
		return cmd_serve(sock);
	usage();
	return 2;
}
