/* test_curl_loop.c: the curl-to-loop glue against a small HTTP server on a Unix socket. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "curl_loop.h"
#include "loop.h"
#include "tap.h"

/* ---- the server: a child per connection; /slow waits, /close hangs up unanswered ---- */

static void serve_one(int fd)
{
	char buf[4096];
	size_t n = 0;
	while (n < sizeof buf - 1) {
		ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
		if (r <= 0)
			return;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	if (strncmp(buf, "GET /close ", 11) == 0)
		return;
	if (strncmp(buf, "GET /slow ", 10) == 0)
		sleep(2);
	const char *ans = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
	if (write(fd, ans, strlen(ans)) < 0)
		return;
}

static pid_t start_server(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 64) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGCHLD, SIG_IGN);
		for (;;) {
			int c = accept(s, NULL, NULL);
			if (c < 0)
				continue;
			if (fork() == 0) {
				serve_one(c);
				_exit(0);
			}
			close(c);
		}
	}
	close(s);
	return pid;
}

/* ---- the client ---- */

struct xfer {
	const char *name;
	CURL *h;
	char body[64];
	size_t len;
	int done;
	CURLcode rc;
	long status;
};

struct run {
	struct curl_loop cl;
	int left;
	int afters;
	int ticks;
};

static size_t write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	if (x->len + n >= sizeof x->body)
		return 0;
	memcpy(x->body + x->len, p, n);
	x->len += n;
	x->body[x->len] = '\0';
	return n;
}

static void after(void *arg)
{
	struct run *r = arg;
	struct xfer *x;
	CURLcode rc;
	r->afters++;
	while ((x = curl_loop_next_done(&r->cl, &rc))) {
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
		curl_multi_remove_handle(r->cl.m, x->h);
		x->rc = rc;
		x->done++;
		if (--r->left == 0)
			loop_stop(r->cl.l);
	}
}

static void tick(struct loop *l, void *arg)
{
	struct run *r = arg;
	r->ticks++;
	loop_timer_add(l, 50, tick, r);
}

static void on_deadline(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

static int start(struct run *r, struct xfer *x, const char *sock, const char *path, long timeout_ms)
{
	char url[128];
	snprintf(url, sizeof url, "http://localhost%s", path);
	x->name = path;
	if (!x->h && !(x->h = curl_easy_init()))
		return -1;
	curl_easy_setopt(x->h, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(x->h, CURLOPT_URL, url);
	curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	if (timeout_ms)
		curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, timeout_ms);
	r->left++;
	return curl_multi_add_handle(r->cl.m, x->h) == CURLM_OK ? 0 : -1;
}

int main(void)
{
	char dir[] = "/tmp/test_curl_loop.XXXXXX", sock[128], nosock[128];
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof sock, "%s/http.sock", dir);
	snprintf(nosock, sizeof nosock, "%s/nobody.sock", dir);
	pid_t srv = start_server(sock);
	ok(srv > 0, "test server on %s", sock);

	ok(curl_loop_global_init() == 0 && curl_loop_global_init() == 0, "global init, twice");
	struct run r = {0};
	struct loop *l = loop_new();
	ok(curl_loop_init(&r.cl, l, after, &r) == 0 && r.cl.m, "glue on a loop");

	struct xfer x[7] = {{0}};
	int started = 0;
	for (int i = 0; i < 3; i++)
		started += start(&r, &x[i], sock, "/hello", 0) == 0;
	started += start(&r, &x[3], sock, "/slow", 300) == 0;
	started += start(&r, &x[4], sock, "/close", 0) == 0;
	started += start(&r, &x[5], nosock, "/hello", 0) == 0;
	is_int(started, 6, "six transfers started");
	/* A finished transfer without a private pointer is skipped, not handed over. */
	CURL *anon = curl_easy_init();
	curl_easy_setopt(anon, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(anon, CURLOPT_URL, "http://localhost/hello");
	curl_easy_setopt(anon, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(anon, CURLOPT_WRITEDATA, &x[6]);
	curl_multi_add_handle(r.cl.m, anon);

	loop_timer_add(l, 50, tick, &r);
	loop_timer_add(l, 10000, on_deadline, NULL);
	loop_run(l);
	is_int(r.left, 0, "every transfer finished");
	int hellos = 0;
	for (int i = 0; i < 3; i++)
		hellos += x[i].done == 1 && x[i].rc == CURLE_OK && x[i].status == 200 &&
		          strcmp(x[i].body, "hello") == 0;
	is_int(hellos, 3, "three concurrent answers");
	ok(x[3].done == 1 && x[3].rc == CURLE_OPERATION_TIMEDOUT, "timeout through the loop timer: %s",
	   curl_easy_strerror(x[3].rc));
	ok(r.ticks >= 3, "the loop kept running while the server was slow (%d ticks)", r.ticks);
	ok(x[4].done == 1 && x[4].rc == CURLE_GOT_NOTHING, "hang-up without an answer: %s",
	   curl_easy_strerror(x[4].rc));
	ok(x[5].done == 1 && x[5].rc == CURLE_COULDNT_CONNECT, "no server: %s",
	   curl_easy_strerror(x[5].rc));
	ok(r.afters > 0, "after ran %d times", r.afters);

	/* Reuse after completion, then tear down with a transfer in flight. */
	memset(&x[0].body, 0, sizeof x[0].body);
	x[0].len = 0;
	start(&r, &x[0], sock, "/hello", 0);
	loop_run(l);
	ok(x[0].done == 2 && strcmp(x[0].body, "hello") == 0, "a handle runs again");
	start(&r, &x[3], sock, "/slow", 0);
	curl_multi_remove_handle(r.cl.m, x[3].h);
	curl_multi_remove_handle(r.cl.m, anon);
	curl_loop_fini(&r.cl);
	ok(r.cl.m == NULL && r.cl.timer == 0, "fini cleans up the multi handle and its timer");
	curl_loop_fini(&r.cl);
	ok(1, "fini twice is harmless");
	for (int i = 0; i < 6; i++)
		curl_easy_cleanup(x[i].h);
	curl_easy_cleanup(anon);
	loop_free(l);

	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	unlink(sock);
	rmdir(dir);
	return done_testing();
}
