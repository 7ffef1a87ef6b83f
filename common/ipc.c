/* ipc.c: NDJSON over Unix domain sockets: listening server, subscriptions, clients. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "errf.h"
#include "ipc.h"

/* A byte queue with a consumed offset and a hard size limit. */
struct bytes {
	char *p;
	size_t off, len, cap;
};

struct ipc_conn {
	struct ipc_server *srv;
	struct ipc_conn *prev, *next;
	int fd;
	int subscribed, dead, in_handler;
	struct bytes in, out;
	void *data;
};

struct ipc_server {
	struct loop *loop;
	int fd, mirror_fd;
	int spare_fd;          /* given back to accept one client when descriptors run out */
	uint64_t pause_timer;  /* accepting paused (no descriptor, no memory) until it fires */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ipc_msg_cb on_msg;
	ipc_close_cb on_close;
	void *arg;
	struct ipc_conn *conns;
	size_t nconns;
	uint64_t seq;
};

struct ipc_client {
	struct loop *loop;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd, in_handler, freed;
	struct bytes in, out;
	ipc_client_msg_cb on_msg;
	ipc_client_state_cb on_state;
	void *arg;
	uint64_t backoff_ms, timer;
};

/* ---- byte queues ---- */

static void bytes_free(struct bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static size_t bytes_used(const struct bytes *b) { return b->len - b->off; }

/* Room for need more bytes without exceeding max in total; -1 if over the limit. */
static int bytes_reserve(struct bytes *b, size_t need, size_t max)
{
	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (bytes_used(b) + need > max)
		return -1;
	if (b->len + need <= b->cap)
		return 0;
	if (b->off) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->len + need <= b->cap)
			return 0;
	}
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + need)
		cap *= 2;
	if (cap > max + 4096)
		cap = max + 4096;
	char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int bytes_append(struct bytes *b, const char *data, size_t n, size_t max)
{
	if (bytes_reserve(b, n, max) < 0)
		return -1;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

/* Write what the socket takes. 1 when empty, 0 when bytes remain, -1 on error. */
static int bytes_flush(struct bytes *b, int fd)
{
	while (bytes_used(b)) {
		ssize_t n = send(fd, b->p + b->off, bytes_used(b), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		b->off += (size_t)n;
	}
	b->off = b->len = 0;
	return 1;
}

/* Read what is available into b (bounded by IPC_MAX_LINE + 1 unconsumed bytes).
 * 1 data read, 0 EOF, -1 error; EAGAIN gives 1 with nothing new. */
static int bytes_fill(struct bytes *b, int fd)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		size_t room = IPC_MAX_LINE + 1 - bytes_used(b);
		if (room == 0)
			return 1;
		if (room > 65536)
			room = 65536;
		if (bytes_reserve(b, room, IPC_MAX_LINE + 1) < 0)
			return -1;
		ssize_t n = read(fd, b->p + b->len, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? 1 : -1;
		}
		if (n == 0)
			return 0;
		b->len += (size_t)n;
	}
	return 1;
}

json_t *ipc_parse_line(const char *line, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	if (len > IPC_MAX_LINE) {
		errf(err, errlen, "line longer than %d bytes", IPC_MAX_LINE);
		return NULL;
	}
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		errf(err, errlen, "invalid JSON: %s", je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		errf(err, errlen, "a message must be a JSON object");
		return NULL;
	}
	return j;
}

/* Take complete lines out of b and hand each parsed object to cb. Empty lines are skipped.
 * Returns 0, or -1 with err set on a bad or oversized line; stop() ends early. */
typedef int (*line_cb)(void *ctx, json_t *msg);
static int take_lines(struct bytes *b, line_cb cb, void *ctx, char *err, size_t errlen)
{
	for (;;) {
		char *start = b->p + b->off;
		size_t avail = bytes_used(b);
		char *nl = avail ? memchr(start, '\n', avail) : NULL;
		if (!nl) {
			if (avail > IPC_MAX_LINE) {
				errf(err, errlen, "line longer than %d bytes", IPC_MAX_LINE);
				return -1;
			}
			return 0;
		}
		size_t n = (size_t)(nl - start);
		b->off += n + 1;
		if (n && start[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;
		json_t *msg = ipc_parse_line(start, n, err, errlen);
		if (!msg)
			return -1;
		int stop = cb(ctx, msg);
		json_decref(msg);
		if (stop)
			return 0;
	}
}

/* ---- server ---- */

static void conn_update_events(struct ipc_conn *c)
{
	loop_mod_fd(c->srv->loop, c->fd, (short)(POLLIN | (bytes_used(&c->out) ? POLLOUT : 0)));
}

/* Close the socket now; free the struct unless a handler of it is on the stack. */
static void conn_kill(struct ipc_conn *c)
{
	if (c->dead)
		return;
	struct ipc_server *s = c->srv;
	c->dead = 1;
	loop_del_fd(s->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	if (s->on_close)
		s->on_close(c, s->arg);
	if (!c->in_handler) {
		bytes_free(&c->in);
		bytes_free(&c->out);
		free(c);
	}
}

static int conn_queue(struct ipc_conn *c, const char *line, size_t len)
{
	if (c->dead)
		return -1;
	int was_empty = bytes_used(&c->out) == 0;
	if (bytes_append(&c->out, line, len, IPC_MAX_OUTQ) < 0) {
		conn_kill(c); /* a peer that does not read is dropped, never waited for */
		return -1;
	}
	if (was_empty) {
		int r = bytes_flush(&c->out, c->fd);
		if (r < 0) {
			conn_kill(c);
			return -1;
		}
		if (r == 0)
			conn_update_events(c);
	}
	return 0;
}

/* Serialise msg as one line with a trailing newline; caller frees. */
static char *dump_line(json_t *msg, size_t *len)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;
}

int ipc_send(struct ipc_conn *c, json_t *msg)
{
	size_t len;
	if (c->dead)
		return -1;
	char *line = dump_line(msg, &len);
	if (!line) {
		conn_kill(c); /* the peer would wait for an answer that never comes */
		return -1;
	}
	int r = conn_queue(c, line, len);
	free(line);
	return r;
}

int ipc_reply(struct ipc_conn *c, json_t *req, json_t *msg)
{
	json_t *id = req ? json_object_get(req, "id") : NULL;
	if (id)
		json_object_set(msg, "id", id);
	return ipc_send(c, msg);
}

int ipc_reply_error(struct ipc_conn *c, json_t *req, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	json_t *m = json_pack("{s:s, s:s}", "type", "error", "error", text);
	if (!m) {
		conn_kill(c);
		return -1;
	}
	int r = ipc_reply(c, req, m);
	json_decref(m);
	return r;
}

void ipc_conn_close(struct ipc_conn *c)
{
	if (c->dead)
		return;
	/* One best-effort flush: what is queued is small (an error line) or already lost. */
	bytes_flush(&c->out, c->fd);
	shutdown(c->fd, SHUT_RDWR);
	conn_kill(c);
}

void ipc_conn_set_data(struct ipc_conn *c, void *data) { c->data = data; }
void *ipc_conn_get_data(const struct ipc_conn *c) { return c->data; }

size_t ipc_conn_queued(const struct ipc_conn *c)
{
	return c->dead ? 0 : bytes_used(&c->out);
}

long ipc_conn_peer_uid(const struct ipc_conn *c)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (c->fd < 0 || getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -1;
	return (long)cr.uid;
}

static int conn_dispatch(void *ctx, json_t *msg)
{
	struct ipc_conn *c = ctx;
	c->srv->on_msg(c, msg, c->srv->arg);
	return c->dead;
}

static void conn_fail(struct ipc_conn *c, const char *why)
{
	json_t *m = json_pack("{s:s, s:s}", "type", "error", "error", why);
	if (m) {
		size_t len;
		char *line = dump_line(m, &len);
		if (line) {
			bytes_append(&c->out, line, len, IPC_MAX_OUTQ + len);
			free(line);
		}
		json_decref(m);
	}
	ipc_conn_close(c);
}

static void on_conn_io(struct loop *l, int fd, short revents, void *arg)
{
	(void)l;
	(void)fd;
	struct ipc_conn *c = arg;
	c->in_handler = 1;
	if (revents & POLLOUT) {
		int r = bytes_flush(&c->out, c->fd);
		if (r < 0)
			conn_kill(c);
		else if (r == 1)
			conn_update_events(c);
	}
	if (!c->dead && (revents & (POLLIN | POLLHUP | POLLERR))) {
		int r = bytes_fill(&c->in, c->fd);
		char err[256];
		if (take_lines(&c->in, conn_dispatch, c, err, sizeof err) < 0) {
			if (!c->dead)
				conn_fail(c, err);
		} else if (r <= 0 && !c->dead) {
			conn_kill(c);
		}
	}
	c->in_handler = 0;
	if (c->dead) {
		bytes_free(&c->in);
		bytes_free(&c->out);
		free(c);
	}
}

/* One error line to a client that is not taken, then close it (best effort, never waits). */
static void refuse(int fd, const char *why)
{
	char line[160];
	int n = snprintf(line, sizeof line, "{\"type\":\"error\",\"error\":\"%s\"}\n", why);
	if (n > 0 && (size_t)n < sizeof line)
		(void)!send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void accept_resume(struct loop *l, void *arg)
{
	struct ipc_server *s = arg;
	s->pause_timer = 0;
	loop_mod_fd(l, s->fd, POLLIN);
}

/* Stop polling the listening socket for a while: a pending client we cannot take
 * would otherwise wake the loop again at once, for ever. */
static void accept_pause(struct ipc_server *s)
{
	if (s->pause_timer)
		return;
	s->pause_timer = loop_timer_add(s->loop, IPC_ACCEPT_PAUSE_MS, accept_resume, s);
	if (s->pause_timer)
		loop_mod_fd(s->loop, s->fd, 0);
}

static int open_spare(void) { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

/* Out of descriptors: give back the spare, take the first pending client and close it
 * with an error line, take the spare again. 0 when one client was shed, -1 if not. */
static int shed_one(struct ipc_server *s)
{
	if (s->spare_fd >= 0) {
		close(s->spare_fd);
		s->spare_fd = -1;
	}
	int cfd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd >= 0)
		refuse(cfd, "server out of file descriptors: try again later");
	s->spare_fd = open_spare();
	if (cfd < 0 || s->spare_fd < 0) {
		accept_pause(s);
		return -1;
	}
	return 0;
}

static void on_accept(struct loop *l, int fd, short revents, void *arg)
{
	(void)revents;
	struct ipc_server *s = arg;
	for (int i = 0; i < 64; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if ((errno == EMFILE || errno == ENFILE) && shed_one(s) == 0)
				continue;
			accept_pause(s); /* ENOBUFS, ENOMEM, no spare: wait, do not spin */
			return;
		}
		if (s->nconns >= IPC_MAX_CONNS) {
			refuse(cfd, "too many connections");
			continue;
		}
		struct ipc_conn *c = calloc(1, sizeof *c);
		if (!c || loop_add_fd(l, cfd, POLLIN, on_conn_io, c) < 0) {
			free(c);
			close(cfd);
			continue;
		}
		c->srv = s;
		c->fd = cfd;
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
	}
}

/* dir becomes path's directory (in place); 0 if there is none to name. */
static int cut_dir(char *dir)
{
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return 1;
}

/* A directory only uid may write: owned by it, not writable by group or others. */
static int dir_only_writable_by(const char *dir, uid_t uid)
{
	struct stat st;
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid &&
	       !(st.st_mode & 022);
}

/* Root's clients also trust the user that owns the socket's run directory when only that
 * user may write it and only root may write the directory above it: that is a directory
 * root handed over (canteen-init gives the run directory to canteen.conf's user, whose
 * daemons serve its sockets), never one a user made for itself in /tmp. */
static int dir_handed_to(const char *path, uid_t uid)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t n = strlen(path);
	if (n >= sizeof dir || path[0] != '/')
		return 0;
	memcpy(dir, path, n + 1);
	if (!cut_dir(dir) || !dir_only_writable_by(dir, uid))
		return 0;
	return cut_dir(dir) && dir_only_writable_by(dir, 0);
}

/* The server at the other end of fd must run as this user or as root (or, for root, as
 * the owner of the run directory): a socket file someone else could replace is theirs,
 * not the daemon we meant to ask. */
static int peer_trusted(int fd, const char *path, char *err, size_t errlen)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return errf(err, errlen, "%s: cannot read the server's credentials: %s", path,
		            strerror(errno));
	if (cr.uid == 0 || cr.uid == geteuid())
		return 0;
	if (geteuid() == 0 && dir_handed_to(path, cr.uid))
		return 0;
	return errf(err, errlen, "%s is served by uid %u, not by root or this user (uid %u): "
	            "refusing it", path, (unsigned)cr.uid, (unsigned)geteuid());
}

static int fill_sun(struct sockaddr_un *sun, const char *path, char *err, size_t errlen)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun->sun_path) {
		errf(err, errlen, "socket path '%s' is too long", path);
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Make the socket's directory (0700) if missing. Refuse one another user owns or one
 * group or others may write: whoever can write it can replace our sockets with theirs.
 * One that others may only enter is closed to them (chmod 0700). */
static int prepare_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (strlen(path) >= sizeof dir) {
		errf(err, errlen, "socket path '%s' is too long", path);
		return -1;
	}
	memcpy(dir, path, strlen(path) + 1);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	struct stat st;
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT || mkdir(dir, 0700) < 0) {
			errf(err, errlen, "run directory %s: %s", dir, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		errf(err, errlen, "run directory %s is not a directory", dir);
		return -1;
	}
	if (st.st_uid != geteuid())
		return errf(err, errlen, "run directory %s is owned by uid %u, not by this user (uid %u)",
		            dir, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 022)
		return errf(err, errlen, "run directory %s is writable by group or others (mode %04o); "
		            "it must be 0700", dir, (unsigned)(st.st_mode & 07777));
	if ((st.st_mode & 077) && chmod(dir, 0700) < 0) {
		errf(err, errlen, "run directory %s: chmod 0700: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

struct ipc_server *ipc_listen(struct loop *l, const char *path, ipc_msg_cb on_msg,
                              ipc_close_cb on_close, void *arg, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	if (fill_sun(&sun, path, err, errlen) < 0 || prepare_dir(path, err, errlen) < 0)
		return NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		errf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	/* A socket file whose owner answers is someone else's: refuse. A dead one is stale. */
	if (ipc_path_live(path)) {
		close(fd);
		errf(err, errlen, "%s: another process is already listening", path);
		return NULL;
	}
	unlink(path);
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	struct ipc_server *s = calloc(1, sizeof *s);
	if (!s || loop_add_fd(l, fd, POLLIN, on_accept, s) < 0) {
		errf(err, errlen, "out of memory");
		free(s);
		close(fd);
		unlink(path);
		return NULL;
	}
	s->loop = l;
	s->fd = fd;
	s->mirror_fd = -1;
	s->spare_fd = open_spare(); /* -1 leaves the pause as the only defence */
	memcpy(s->path, sun.sun_path, sizeof s->path);
	s->on_msg = on_msg;
	s->on_close = on_close;
	s->arg = arg;
	return s;
}

int ipc_path_live(const char *path)
{
	struct sockaddr_un sun;
	if (fill_sun(&sun, path, NULL, 0) < 0)
		return 0;
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live = probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof sun) == 0;
	if (probe >= 0)
		close(probe);
	return live;
}

struct ipc_server *ipc_server_unbound(struct loop *l, ipc_msg_cb on_msg, ipc_close_cb on_close,
                                      void *arg)
{
	struct ipc_server *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->loop = l;
	s->fd = -1;
	s->mirror_fd = -1;
	s->spare_fd = -1;
	s->on_msg = on_msg;
	s->on_close = on_close;
	s->arg = arg;
	return s;
}

void ipc_server_free(struct ipc_server *s)
{
	if (!s)
		return;
	while (s->conns)
		ipc_conn_close(s->conns);
	loop_timer_cancel(s->loop, s->pause_timer);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	if (s->fd >= 0) {
		loop_del_fd(s->loop, s->fd);
		close(s->fd);
		unlink(s->path);
	}
	free(s);
}

size_t ipc_server_nconns(const struct ipc_server *s) { return s->nconns; }
uint64_t ipc_server_seq(const struct ipc_server *s) { return s->seq; }
void ipc_server_mirror(struct ipc_server *s, int fd) { s->mirror_fd = fd; }

uint64_t ipc_publish(struct ipc_server *s, json_t *event)
{
	s->seq++;
	json_object_set_new(event, "seq", json_integer((json_int_t)s->seq));
	size_t len;
	char *line = dump_line(event, &len);
	if (!line)
		return s->seq;
	for (struct ipc_conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (c->subscribed)
			conn_queue(c, line, len);
	}
	if (s->mirror_fd >= 0) {
		/* The mirror is the user's own pipe (--stdout): written in full, line by line. */
		size_t off = 0;
		while (off < len) {
			ssize_t n = write(s->mirror_fd, line + off, len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	free(line);
	return s->seq;
}

int ipc_conn_subscribed(const struct ipc_conn *c) { return c->subscribed; }

int ipc_subscribe(struct ipc_conn *c, json_t *snapshot)
{
	if (c->subscribed)
		return ipc_reply_error(c, NULL, "already subscribed");
	json_object_set_new(snapshot, "seq", json_integer((json_int_t)c->srv->seq));
	if (ipc_send(c, snapshot) < 0)
		return -1;
	c->subscribed = 1;
	return 0;
}

/* ---- reconnecting client ---- */

static void client_connect(struct loop *l, void *arg);

static void client_drop(struct ipc_client *c)
{
	int was = c->fd >= 0;
	if (was) {
		loop_del_fd(c->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	c->in.off = c->in.len = 0;
	c->out.off = c->out.len = 0;
	c->timer = loop_timer_add(c->loop, c->backoff_ms, client_connect, c);
	c->backoff_ms = c->backoff_ms * 2 > IPC_BACKOFF_MAX_MS ? IPC_BACKOFF_MAX_MS : c->backoff_ms * 2;
	if (was && c->on_state)
		c->on_state(c, 0, c->arg);
}

static void client_update_events(struct ipc_client *c)
{
	loop_mod_fd(c->loop, c->fd, (short)(POLLIN | (bytes_used(&c->out) ? POLLOUT : 0)));
}

static int client_dispatch(void *ctx, json_t *msg)
{
	struct ipc_client *c = ctx;
	int fd = c->fd;
	c->on_msg(c, msg, c->arg);
	return c->freed || c->fd != fd;
}

static void on_client_io(struct loop *l, int fd, short revents, void *arg)
{
	(void)l;
	(void)fd;
	struct ipc_client *c = arg;
	c->in_handler = 1;
	if (revents & POLLOUT) {
		int r = bytes_flush(&c->out, c->fd);
		if (r < 0) {
			client_drop(c);
			goto out;
		}
		if (r == 1)
			client_update_events(c);
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		int r = bytes_fill(&c->in, c->fd);
		int myfd = c->fd;
		char err[256];
		if (take_lines(&c->in, client_dispatch, c, err, sizeof err) < 0 || r <= 0) {
			if (!c->freed && c->fd == myfd)
				client_drop(c);
		}
	}
out:
	c->in_handler = 0;
	if (c->freed) {
		bytes_free(&c->in);
		bytes_free(&c->out);
		free(c);
	}
}

static void client_connect(struct loop *l, void *arg)
{
	struct ipc_client *c = arg;
	struct sockaddr_un sun;
	c->timer = 0;
	if (fill_sun(&sun, c->path, NULL, 0) < 0)
		return;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0 &&
	    peer_trusted(fd, c->path, NULL, 0) == 0 && loop_add_fd(l, fd, POLLIN, on_client_io, c) == 0) {
		/* The back-off stays: a peer that takes connections and closes them at once
		 * (or sends what we cannot read) is retried ever more slowly, until the user
		 * says a connection worked (ipc_client_backoff_reset). */
		c->fd = fd;
		if (c->on_state)
			c->on_state(c, 1, c->arg);
		return;
	}
	if (fd >= 0)
		close(fd);
	c->timer = loop_timer_add(l, c->backoff_ms, client_connect, c);
	c->backoff_ms = c->backoff_ms * 2 > IPC_BACKOFF_MAX_MS ? IPC_BACKOFF_MAX_MS : c->backoff_ms * 2;
}

struct ipc_client *ipc_client_new(struct loop *l, const char *path, ipc_client_msg_cb on_msg,
                                  ipc_client_state_cb on_state, void *arg)
{
	struct ipc_client *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	if (strlen(path) >= sizeof c->path) {
		free(c);
		return NULL;
	}
	memcpy(c->path, path, strlen(path) + 1);
	c->loop = l;
	c->fd = -1;
	c->on_msg = on_msg;
	c->on_state = on_state;
	c->arg = arg;
	c->backoff_ms = IPC_BACKOFF_MIN_MS;
	c->timer = loop_timer_add(l, 0, client_connect, c);
	return c;
}

void ipc_client_free(struct ipc_client *c)
{
	if (!c)
		return;
	loop_timer_cancel(c->loop, c->timer);
	if (c->fd >= 0) {
		loop_del_fd(c->loop, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	if (c->in_handler) {
		c->freed = 1;
		return;
	}
	bytes_free(&c->in);
	bytes_free(&c->out);
	free(c);
}

int ipc_client_connected(const struct ipc_client *c) { return c->fd >= 0; }

void ipc_client_backoff_reset(struct ipc_client *c) { c->backoff_ms = IPC_BACKOFF_MIN_MS; }

int ipc_client_send(struct ipc_client *c, json_t *msg)
{
	if (c->fd < 0)
		return -1;
	size_t len;
	char *line = dump_line(msg, &len);
	if (!line)
		return -1;
	int was_empty = bytes_used(&c->out) == 0;
	int r = bytes_append(&c->out, line, len, IPC_MAX_OUTQ);
	free(line);
	if (r < 0)
		return -1;
	if (was_empty) {
		int f = bytes_flush(&c->out, c->fd);
		if (f < 0)
			return -1; /* the read side sees the hang-up and reconnects */
		if (f == 0)
			client_update_events(c);
	}
	return 0;
}

/* ---- blocking helpers ---- */

struct ipc_sync {
	int fd;
	struct bytes in;
};

struct ipc_sync *ipc_sync_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	if (fill_sun(&sun, path, err, errlen) < 0)
		return NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		errf(err, errlen, "cannot connect to %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (peer_trusted(fd, path, err, errlen) < 0) {
		close(fd);
		return NULL;
	}
	struct ipc_sync *s = calloc(1, sizeof *s);
	if (!s) {
		close(fd);
		errf(err, errlen, "out of memory");
		return NULL;
	}
	s->fd = fd;
	return s;
}

int ipc_sync_send(struct ipc_sync *s, json_t *msg, char *err, size_t errlen)
{
	size_t len, off = 0;
	char *line = dump_line(msg, &len);
	if (!line) {
		errf(err, errlen, "cannot serialise message");
		return -1;
	}
	while (off < len) {
		ssize_t n = send(s->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errf(err, errlen, "send: %s", strerror(errno));
			free(line);
			return -1;
		}
		off += (size_t)n;
	}
	free(line);
	return 0;
}

static int sync_take(void *ctx, json_t *msg)
{
	json_t **out = ctx;
	*out = json_incref(msg);
	return 1;
}

int ipc_sync_read(struct ipc_sync *s, json_t **out, int timeout_ms, char *err, size_t errlen)
{
	uint64_t deadline = timeout_ms < 0 ? 0 : mono_ms() + (uint64_t)timeout_ms;
	*out = NULL;
	for (;;) {
		if (take_lines(&s->in, sync_take, out, err, errlen) < 0)
			return -1;
		if (*out)
			return 1;
		int wait = -1;
		if (timeout_ms >= 0) {
			uint64_t now = mono_ms();
			if (now >= deadline) {
				errf(err, errlen, "timed out waiting for an answer");
				return IPC_SYNC_TIMEOUT;
			}
			wait = (int)(deadline - now);
		}
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		int r = poll(&p, 1, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		if (r == 0)
			continue;
		if (bytes_reserve(&s->in, 65536, IPC_MAX_LINE + 65536) < 0) {
			errf(err, errlen, "answer line too long");
			return -1;
		}
		ssize_t n = read(s->fd, s->in.p + s->in.len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			errf(err, errlen, "read: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			errf(err, errlen, "connection closed");
			return 0;
		}
		s->in.len += (size_t)n;
	}
}

void ipc_sync_close(struct ipc_sync *s)
{
	if (!s)
		return;
	close(s->fd);
	bytes_free(&s->in);
	free(s);
}

int ipc_request(const char *path, json_t *req, json_t **answer, int timeout_ms, char *err,
                size_t errlen)
{
	struct ipc_sync *s = ipc_sync_connect(path, err, errlen);
	if (!s)
		return -1;
	int rc = -1;
	if (ipc_sync_send(s, req, err, errlen) == 0 &&
	    ipc_sync_read(s, answer, timeout_ms, err, errlen) == 1)
		rc = 0;
	ipc_sync_close(s);
	return rc;
}
