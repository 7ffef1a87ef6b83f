/* up_sys.c: what canteen up/down need from the system: processes, ports, files, an HTTP probe. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
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
#include "errf.h"
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
	return up_spawn_in(argv, logpath, detach, NULL, NULL);
}

/* In the child: join the cgroup, enter the namespace. 0 or -1 (errno). */
static int child_place(const char *netns, const char *cgroup_procs)
{
	if (cgroup_procs) {
		char pid[32];
		int fd = open(cgroup_procs, O_WRONLY | O_CLOEXEC);
		snprintf(pid, sizeof pid, "%d\n", (int)getpid());
		if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
			return -1;
		close(fd);
	}
	if (netns) {
		int fd = open(netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			return -1;
		close(fd);
	}
	return 0;
}

pid_t up_spawn_in(char *const argv[], const char *logpath, int detach, const char *netns,
                  const char *cgroup_procs)
{
	/* The child reports a failed exec through a close-on-exec pipe; end of file: it ran. */
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		int e = 0;
		ssize_t n;
		close(p[1]);
		while ((n = read(p[0], &e, sizeof e)) < 0 && errno == EINTR)
			;
		close(p[0]);
		if (n == (ssize_t)sizeof e) {
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			errno = e;
			return -1;
		}
		return pid;
	}
	close(p[0]);
	if (detach)
		setsid();
	/* The report pipe goes to descriptor 3 (close-on-exec); nothing else of ours (a caller's
	 * pipes, say) may live on in a long-running daemon. */
	int rep = fcntl(p[1], F_DUPFD_CLOEXEC, 3), e;
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = logpath ? open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)
	                  : open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (rep < 0 || in < 0 || out < 0 || child_place(netns, cgroup_procs) < 0 ||
	    dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 ||
	    (rep != 3 && dup3(rep, 3, O_CLOEXEC) < 0)) {
		e = errno;
		(void)!write(rep >= 0 ? rep : p[1], &e, sizeof e);
		_exit(127);
	}
	close_range(4, ~0U, 0);
	execvp(argv[0], argv);
	e = errno;
	fprintf(stderr, "canteen: cannot run %s: %s\n", argv[0], strerror(e));
	(void)!write(3, &e, sizeof e);
	_exit(127);
}

int up_proc_read(pid_t pid, struct up_proc *out)
{
	char path[64], stat[1024];
	memset(out, 0, sizeof *out);
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, stat, sizeof stat - 1);
	close(fd);
	if (n <= 0)
		return -1;
	stat[n] = '\0';
	/* The command name (field 2) may hold spaces and parentheses: count from the last ')'. */
	char *p = strrchr(stat, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -1;
	char *end;
	errno = 0;
	unsigned long long start = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1 || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -1;
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	ssize_t len = readlink(path, out->exe, sizeof out->exe - 1);
	if (len <= 0 || (size_t)len >= sizeof out->exe - 1) {
		memset(out, 0, sizeof *out);
		return -1;
	}
	out->exe[len] = '\0';
	out->start = start;
	out->pid = pid;
	return 0;
}

/* The same executable: or the same path whose file was replaced since (a rebuild). */
static int same_exe(const char *recorded, const char *now)
{
	size_t n = strlen(recorded);
	return strcmp(recorded, now) == 0 ||
	       (strncmp(recorded, now, n) == 0 && strcmp(now + n, " (deleted)") == 0);
}

int up_proc_check(const struct up_proc *p, char *why, size_t whylen)
{
	struct up_proc now;
	if (p->pid <= 0 || !up_alive(p->pid))
		return 0;
	if (!p->start || !p->exe[0]) {
		snprintf(why, whylen, "no start time or executable was recorded for it");
		return -1;
	}
	if (up_proc_read(p->pid, &now) < 0) {
		snprintf(why, whylen, "its start time and executable cannot be read");
		return -1;
	}
	if (now.start != p->start || !same_exe(p->exe, now.exe)) {
		snprintf(why, whylen, "the pid now names another process (%.300s, started at tick %llu; "
		         "recorded: %.300s, tick %llu)", now.exe, now.start, p->exe, p->start);
		return -1;
	}
	return 1;
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
	/* A group is signalled only while pid leads it (as setsid made it): never another's. */
	if (group && getpgid(pid) != pid)
		group = 0;
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


void up_dir_default(char *out, size_t outlen)
{
	const char *env = getenv("CANTEEN_UP_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	if (env && *env)
		snprintf(out, outlen, "%s", env);
	else if (geteuid() == 0)
		snprintf(out, outlen, "%s", UP_ROOT_DIR);
	else if (xdg && xdg[0] == '/')
		snprintf(out, outlen, "%s/canteen-up", xdg);
	else
		snprintf(out, outlen, "/tmp/canteen-up-%u", (unsigned)geteuid());
}

/* The directory above dir: owned by us or root, and if others may write it, sticky (/tmp). */
static int parent_check(const char *dir, char *why, size_t whylen)
{
	char parent[1024];
	struct stat st;
	const char *slash = strrchr(dir, '/');
	while (slash && slash > dir && slash[1] == '\0') /* "dir/" */
		slash = memrchr(dir, '/', (size_t)(slash - dir));
	if (!slash)
		snprintf(parent, sizeof parent, ".");
	else if (snprintf(parent, sizeof parent, "%.*s", slash == dir ? 1 : (int)(slash - dir), dir) >=
	         (int)sizeof parent)
		return errf(why, whylen, "%s: path too long", dir);
	if (stat(parent, &st) < 0)
		return errf(why, whylen, "cannot use %s: %s", parent, strerror(errno));
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return errf(why, whylen, "%s is inside %s, owned by uid %u: refused, as its owner could "
		            "swap it; choose another --dir", dir, parent, (unsigned)st.st_uid);
	if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))
		return errf(why, whylen, "%s is inside %s, which others can write (mode %03o, not sticky): "
		            "refused, as they could swap it; choose another --dir", dir, parent,
		            (unsigned)(st.st_mode & 07777));
	return 0;
}

int up_dir_check(const char *dir, int create, char *why, size_t whylen)
{
	struct stat st;
	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return errf(why, whylen, "cannot create %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) < 0) {
		if (errno == ENOENT && !create)
			return 0;
		return errf(why, whylen, "cannot use %s: %s", dir, strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return errf(why, whylen, "%s is a symbolic link: refused; give the directory itself", dir);
	if (!S_ISDIR(st.st_mode))
		return errf(why, whylen, "%s is not a directory", dir);
	if (st.st_uid != geteuid())
		return errf(why, whylen, "%s is owned by uid %u, not by you (uid %u): refused, as its owner "
		            "could change what canteen-init runs; remove it or choose another --dir", dir,
		            (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 022)
		return errf(why, whylen, "%s can be written by group or others (mode %03o): refused, as "
		            "they could change what canteen-init runs; chmod 700 it", dir,
		            (unsigned)(st.st_mode & 07777));
	return parent_check(dir, why, whylen);
}

int up_open_private(const char *path, char *why, size_t whylen)
{
	struct stat st;
	why[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT)
			errf(why, whylen, "cannot open %s: %s", path,
			     errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		errf(why, whylen, "%s is not a regular file", path);
	else if (st.st_uid != geteuid())
		errf(why, whylen, "%s is owned by uid %u, not by you (uid %u): refused", path,
		     (unsigned)st.st_uid, (unsigned)geteuid());
	else if (st.st_mode & 022)
		errf(why, whylen, "%s can be written by group or others (mode %03o): refused", path,
		     (unsigned)(st.st_mode & 0777));
	else
		return fd;
	close(fd);
	return -1;
}
