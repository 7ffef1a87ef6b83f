/* test_ipc.c: the socket layer's defences: one subscription a connection, a failed send drops once, run directory rules. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc.h"
#include "tap.h"

struct ctx {
	struct ipc_conn *last;
	int msgs, closes, sub_rc[2];
};

/* "subscribe": subscribe twice in one handler; anything else: remember the connection. */
static void on_msg(struct ipc_conn *c, json_t *msg, void *arg)
{
	struct ctx *x = arg;
	x->msgs++;
	x->last = c;
	const char *op = json_string_value(json_object_get(msg, "op"));
	if (op && strcmp(op, "subscribe") == 0) {
		for (int i = 0; i < 2; i++) {
			json_t *snap = json_pack("{s:s}", "type", "snapshot");
			x->sub_rc[i] = ipc_subscribe(c, snap);
			json_decref(snap);
		}
	}
}

static void on_close(struct ipc_conn *c, void *arg)
{
	(void)c;
	((struct ctx *)arg)->closes++;
}

static void stop_soon(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

/* Run the loop until ctx has seen want messages (bounded by two seconds). */
static void run_until(struct loop *l, struct ctx *x, int want)
{
	for (int i = 0; i < 200 && x->msgs < want; i++) {
		loop_timer_add(l, 10, stop_soon, NULL);
		loop_run(l);
	}
}

static int connect_to(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read what the server has written so far (it flushes at once into an empty socket). */
static void read_some(int fd, char *buf, size_t cap)
{
	struct timeval tv = {.tv_sec = 1};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ssize_t n = recv(fd, buf, cap - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
}

static void test_subscribe_once(const char *dir)
{
	char path[256], buf[4096], err[256];
	snprintf(path, sizeof path, "%s/a.sock", dir);
	struct loop *l = loop_new();
	struct ctx x = {0};
	struct ipc_server *s = ipc_listen(l, path, on_msg, on_close, &x, err, sizeof err);
	ok(s != NULL, "listen: %s", s ? "ok" : err);
	int fd = connect_to(path);
	const char *req = "{\"op\":\"subscribe\"}\n";
	ok(send(fd, req, strlen(req), MSG_NOSIGNAL) > 0, "subscribe sent");
	run_until(l, &x, 1);
	is_int(x.sub_rc[0], 0, "the first ipc_subscribe succeeds");
	is_int(x.sub_rc[1], 0, "a second one answers and keeps the connection");
	ok(ipc_conn_subscribed(x.last), "the connection is subscribed");
	read_some(fd, buf, sizeof buf);
	int snaps = 0;
	for (const char *p = buf; (p = strstr(p, "\"snapshot\"")); p++)
		snaps++;
	is_int(snaps, 1, "one snapshot");
	ok(strstr(buf, "{\"type\":\"error\",\"error\":\"already subscribed\"}") != NULL,
	   "then the error");
	close(fd);
	ipc_server_free(s);
	loop_free(l);
}

/* The chainwatch path: a subscriber waits (its connection kept), its peer stops reading,
 * the snapshot is sent from outside any handler: -1, closed once, freed (ASan watches). */
static void test_failed_subscribe_drops_once(const char *dir)
{
	char path[256], err[256];
	snprintf(path, sizeof path, "%s/b.sock", dir);
	struct loop *l = loop_new();
	struct ctx x = {0};
	struct ipc_server *s = ipc_listen(l, path, on_msg, on_close, &x, err, sizeof err);
	int fd = connect_to(path);
	const char *req = "{\"op\":\"wait\"}\n";
	send(fd, req, strlen(req), MSG_NOSIGNAL);
	run_until(l, &x, 1);
	is_int(ipc_server_nconns(s), 1, "one connection waiting");
	shutdown(fd, SHUT_RD);
	json_t *snap = json_pack("{s:s}", "type", "snapshot");
	is_int(ipc_subscribe(x.last, snap), -1, "the snapshot cannot be written: -1");
	json_decref(snap);
	is_int(x.closes, 1, "the close callback ran once");
	is_int(ipc_server_nconns(s), 0, "the connection is gone");
	close(fd);
	ipc_server_free(s);
	is_int(x.closes, 1, "and is not closed again when the server goes");
	loop_free(l);
}

static void test_rundir(const char *dir)
{
	char sub[256], path[300], err[256];
	struct loop *l = loop_new();
	struct ctx x = {0};

	snprintf(sub, sizeof sub, "%s/open", dir);
	mkdir(sub, 0700);
	chmod(sub, 0777);
	snprintf(path, sizeof path, "%s/x.sock", sub);
	err[0] = '\0';
	struct ipc_server *s = ipc_listen(l, path, on_msg, on_close, &x, err, sizeof err);
	ok(!s && strstr(err, "writable by group or others (mode 0777)"), "a 0777 run directory: %s", err);
	ok(access(path, F_OK) < 0, "no socket made in it");
	ipc_server_free(s);

	snprintf(sub, sizeof sub, "%s/enterable", dir);
	mkdir(sub, 0700);
	chmod(sub, 0755);
	snprintf(path, sizeof path, "%s/x.sock", sub);
	s = ipc_listen(l, path, on_msg, on_close, &x, err, sizeof err);
	struct stat st;
	ok(s && stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700, "a 0755 one of ours is made 0700");
	ipc_server_free(s);

	if (geteuid() == 0) {
		snprintf(sub, sizeof sub, "%s/theirs", dir);
		mkdir(sub, 0700);
		ok(chown(sub, 65534, 65534) == 0, "chown to uid 65534");
		snprintf(path, sizeof path, "%s/x.sock", sub);
		s = ipc_listen(l, path, on_msg, on_close, &x, err, sizeof err);
		ok(!s && strstr(err, "owned by uid 65534"), "another user's run directory: %s", err);
		ipc_server_free(s);
	} else {
		ok(1, "# skip another user's directory needs root");
	}
	loop_free(l);
}

int main(void)
{
	char dir[] = "/tmp/test_ipc.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	test_subscribe_once(dir);
	test_failed_subscribe_drops_once(dir);
	test_rundir(dir);
	const char *subs[] = {"open", "enterable", "theirs", ""};
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		char d[300];
		snprintf(d, sizeof d, "%s/%s", dir, subs[i]);
		rmdir(d); /* the servers unlinked their sockets */
	}
	return done_testing();
}
