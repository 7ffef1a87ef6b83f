/* up_util.c: what canteen up/down need from the system: processes, ports, files, Docker calls. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "loop.h"
#include "up.h"

int up_self_dir(char *out, size_t outlen)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return snprintf(out, outlen, "%s", exe) < (int)outlen ? 0 : -1;
}

int up_write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, mode) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

pid_t up_spawn(char *const argv[], const char *logpath, int detach)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		return pid;
	if (detach)
		setsid();
	int in = open("/dev/null", O_RDONLY);
	int out = logpath ? open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600) : open("/dev/null", O_WRONLY);
	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	/* Nothing else of ours (a caller's pipes, say) may live on in a long-running daemon. */
	close_range(3, ~0U, 0);
	execvp(argv[0], argv);
	fprintf(stderr, "canteen: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int up_run(char *const argv[], char *out, size_t outlen)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		if (dup2(p[1], 1) < 0)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "canteen: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	size_t len = 0;
	for (;;) {
		char buf[512];
		ssize_t n = read(p[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && out && len + 1 < outlen; i++)
			out[len++] = buf[i];
	}
	close(p[0]);
	if (out && outlen)
		out[len] = '\0';
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int up_alive(pid_t pid)
{
	if (pid <= 0)
		return 0;
	/* A zombie child of ours counts as gone. */
	int st;
	if (waitpid(pid, &st, WNOHANG) == pid)
		return 0;
	return kill(pid, 0) == 0 || errno == EPERM;
}

int up_stop_pid(pid_t pid, int group, uint64_t grace_ms)
{
	if (!up_alive(pid))
		return 0;
	kill(group ? -pid : pid, SIGTERM);
	uint64_t deadline = mono_ms() + grace_ms;
	while (up_alive(pid) && mono_ms() < deadline) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (up_alive(pid)) {
		kill(group ? -pid : pid, SIGKILL);
		kill(pid, SIGKILL);
		return 1;
	}
	return 0;
}

int up_port_free(const char *ip, unsigned port, int type)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return 0;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	/* Connections of an earlier cluster in TIME_WAIT do not make the port taken; a listener
	 * does, SO_REUSEADDR or not (as for Docker's own bind). */
	int one = 1;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	close(fd);
	return r == 0;
}

int up_http_ok(const char *url, long timeout_ms, char *body, size_t bodylen)
{
	CURL *h = curl_easy_init();
	if (!h)
		return 0;
	FILE *mem = body ? fmemopen(body, bodylen, "w") : NULL;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (mem)
		curl_easy_setopt(h, CURLOPT_WRITEDATA, mem);
	else
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	long code = 0;
	int ok = curl_easy_perform(h) == CURLE_OK &&
	         curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200;
	if (mem)
		fclose(mem);
	curl_easy_cleanup(h);
	return ok;
}

struct membuf {
	char *p;
	size_t len, cap;
};

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	struct membuf *m = arg;
	size_t add = size * n;
	if (m->len + add + 1 > m->cap) {
		if (m->len + add + 1 > (8u << 20))
			return 0; /* answers we read are small; refuse a runaway one */
		size_t cap = (m->len + add + 1) * 2;
		char *p = realloc(m->p, cap);
		if (!p)
			return 0;
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, data, add);
	m->len += add;
	m->p[m->len] = '\0';
	return add;
}

int up_docker(const char *sock, const char *method, const char *path, const void *body,
              size_t bodylen, const char *ctype, long *status, char **answer)
{
	CURL *h = curl_easy_init();
	if (!h)
		return -1;
	char url[1024];
	snprintf(url, sizeof url, "http://localhost%s", path);
	struct membuf m = {0};
	struct curl_slist *hdr = NULL;
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &m);
	if (body) {
		char ct[128];
		snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
		hdr = curl_slist_append(hdr, ct);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodylen);
	}
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		free(m.p);
		return -1;
	}
	if (answer)
		*answer = m.p ? m.p : strdup("");
	else
		free(m.p);
	return 0;
}

/* ---- a ustar archive in memory, for docker import ---- */

static int tar_header(struct membuf *t, const char *name, char type, unsigned mode, size_t size,
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
	return collect((char *)h, 1, sizeof h, t) == sizeof h ? 0 : -1;
}

static int tar_file(struct membuf *t, const char *name, unsigned mode, const char *data, size_t len)
{
	static const char zero[512];
	if (tar_header(t, name, '0', mode, len, NULL) < 0 || (len && collect((char *)data, 1, len, t) != len))
		return -1;
	size_t pad = (512 - len % 512) % 512;
	return pad && collect((char *)zero, 1, pad, t) != pad ? -1 : 0;
}

int up_demo_tar(const char *busybox, char **out, size_t *outlen, char *err, size_t errlen)
{
	struct membuf t = {0}, bb = {0};
	static const char zero[1024];
	FILE *f = fopen(busybox, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s (install busybox-static)", busybox, strerror(errno));
		return -1;
	}
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		if (collect(buf, 1, n, &bb) != n)
			break;
	fclose(f);
	static const char *links[] = {"sh", "httpd", "sleep", "echo", "cat", "ls", "wget"};
	static const char index_html[] = "hello from canteen\n";
	int bad = bb.len < 4 || memcmp(bb.p, "\177ELF", 4) != 0 ||
	          tar_header(&t, "bin/", '5', 0755, 0, NULL) < 0 ||
	          tar_file(&t, "bin/busybox", 0755, bb.p, bb.len) < 0 ||
	          tar_header(&t, "www/", '5', 0755, 0, NULL) < 0 ||
	          tar_file(&t, "www/index.html", 0644, index_html, sizeof index_html - 1) < 0 ||
	          tar_header(&t, "tmp/", '5', 01777, 0, NULL) < 0;
	for (size_t i = 0; !bad && i < sizeof links / sizeof links[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "bin/%s", links[i]);
		bad = tar_header(&t, name, '2', 0777, 0, "busybox") < 0;
	}
	free(bb.p);
	if (bad || collect((char *)zero, 1, sizeof zero, &t) != sizeof zero) {
		free(t.p);
		snprintf(err, errlen, "cannot build the demo image archive from %s", busybox);
		return -1;
	}
	*out = t.p;
	*outlen = t.len;
	return 0;
}
