/* up_sys.c: what canteen up/down need from the system: processes, ports, files, an HTTP probe. */
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

