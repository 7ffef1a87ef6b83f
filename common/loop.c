/* loop.c: the poll(2) event loop every canteen daemon runs: fds, a timer heap, signals. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

struct watcher {
	int fd;
	short events;
	int active;
	uint64_t gen;          /* distinguishes a re-added fd from the one polled */
	loop_fd_cb cb;
	void *arg;
};

struct timer {
	uint64_t when, id;
	loop_timer_cb cb;
	void *arg;
};

struct sigwatch {
	loop_signal_cb cb;
	void *arg;
};

struct loop {
	struct watcher *w;
	size_t nw, capw;
	struct pollfd *pfd;
	size_t *pidx;
	uint64_t *pgen;
	size_t cappfd;
	struct timer *heap;
	size_t nt, capt;
	uint64_t next_id, next_gen, now;
	int stop;
	int sigpipe[2];
	struct sigwatch sigs[65];
};

/* The self-pipe's write end, for the async-signal-safe handler (the only global). */
static volatile sig_atomic_t loop_sig_wfd = -1;

uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int fd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	int fdfl = fcntl(fd, F_GETFD);
	if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

static void on_sigpipe_readable(struct loop *l, int fd, short revents, void *arg)
{
	(void)revents;
	(void)arg;
	unsigned char buf[64];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			int signo = buf[i];
			if (signo > 0 && signo < 65 && l->sigs[signo].cb)
				l->sigs[signo].cb(l, signo, l->sigs[signo].arg);
		}
	}
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->next_id = 1;
	l->next_gen = 1;
	l->now = mono_ms();
	l->sigpipe[0] = l->sigpipe[1] = -1;
	/* Writes to a vanished peer must return EPIPE, not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	if (l->sigpipe[0] >= 0) {
		loop_sig_wfd = -1;
		close(l->sigpipe[0]);
		close(l->sigpipe[1]);
	}
	free(l->w);
	free(l->pfd);
	free(l->pidx);
	free(l->pgen);
	free(l->heap);
	free(l);
}

static struct watcher *find_watcher(struct loop *l, int fd)
{
	for (size_t i = 0; i < l->nw; i++)
		if (l->w[i].active && l->w[i].fd == fd)
			return &l->w[i];
	return NULL;
}

int loop_add_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg)
{
	if (fd < 0 || find_watcher(l, fd)) {
		errno = EEXIST;
		return -1;
	}
	if (l->nw == l->capw) {
		size_t cap = l->capw ? l->capw * 2 : 16;
		struct watcher *w = realloc(l->w, cap * sizeof *w);
		if (!w)
			return -1;
		l->w = w;
		l->capw = cap;
	}
	l->w[l->nw++] = (struct watcher){fd, events, 1, l->next_gen++, cb, arg};
	return 0;
}

int loop_mod_fd(struct loop *l, int fd, short events)
{
	struct watcher *w = find_watcher(l, fd);
	if (!w) {
		errno = ENOENT;
		return -1;
	}
	w->events = events;
	return 0;
}

void loop_del_fd(struct loop *l, int fd)
{
	struct watcher *w = find_watcher(l, fd);
	if (w)
		w->active = 0; /* compacted after this iteration's dispatch */
}

static int timer_less(const struct timer *a, const struct timer *b)
{
	return a->when < b->when || (a->when == b->when && a->id < b->id);
}

static void heap_up(struct timer *h, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!timer_less(&h[i], &h[p]))
			break;
		struct timer t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

static void heap_down(struct timer *h, size_t n, size_t i)
{
	for (;;) {
		size_t m = i, a = 2 * i + 1, b = a + 1;
		if (a < n && timer_less(&h[a], &h[m]))
			m = a;
		if (b < n && timer_less(&h[b], &h[m]))
			m = b;
		if (m == i)
			break;
		struct timer t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_remove(struct loop *l, size_t i)
{
	l->heap[i] = l->heap[--l->nt];
	if (i < l->nt) {
		heap_down(l->heap, l->nt, i);
		heap_up(l->heap, i);
	}
}

uint64_t loop_timer_add(struct loop *l, uint64_t delay_ms, loop_timer_cb cb, void *arg)
{
	if (l->nt == l->capt) {
		size_t cap = l->capt ? l->capt * 2 : 16;
		struct timer *h = realloc(l->heap, cap * sizeof *h);
		if (!h)
			return 0;
		l->heap = h;
		l->capt = cap;
	}
	uint64_t now = mono_ms();
	uint64_t when = delay_ms > UINT64_MAX - now ? UINT64_MAX : now + delay_ms;
	uint64_t id = l->next_id++;
	l->heap[l->nt] = (struct timer){when, id, cb, arg};
	heap_up(l->heap, l->nt++);
	return id;
}

void loop_timer_cancel(struct loop *l, uint64_t id)
{
	if (!id)
		return;
	for (size_t i = 0; i < l->nt; i++) {
		if (l->heap[i].id == id) {
			heap_remove(l, i);
			return;
		}
	}
}

static void signal_handler(int signo)
{
	int saved = errno;
	unsigned char b = (unsigned char)signo;
	if (loop_sig_wfd >= 0) {
		ssize_t r = write(loop_sig_wfd, &b, 1); /* full pipe: the signal is already pending */
		(void)r;
	}
	errno = saved;
}

int loop_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg)
{
	if (signo <= 0 || signo >= 65) {
		errno = EINVAL;
		return -1;
	}
	if (l->sigpipe[0] < 0) {
		if (pipe(l->sigpipe) < 0)
			return -1;
		if (fd_nonblock(l->sigpipe[0]) < 0 || fd_nonblock(l->sigpipe[1]) < 0 ||
		    loop_add_fd(l, l->sigpipe[0], POLLIN, on_sigpipe_readable, NULL) < 0) {
			close(l->sigpipe[0]);
			close(l->sigpipe[1]);
			l->sigpipe[0] = l->sigpipe[1] = -1;
			return -1;
		}
		loop_sig_wfd = l->sigpipe[1];
	}
	l->sigs[signo].cb = cb;
	l->sigs[signo].arg = arg;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = signal_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(signo, &sa, NULL);
}

uint64_t loop_now(struct loop *l) { return l->now; }

void loop_stop(struct loop *l) { l->stop = 1; }

static int build_pollset(struct loop *l)
{
	if (l->cappfd < l->nw) {
		size_t cap = l->nw * 2;
		struct pollfd *p = realloc(l->pfd, cap * sizeof *p);
		if (!p)
			return -1;
		l->pfd = p;
		size_t *ix = realloc(l->pidx, cap * sizeof *ix);
		if (!ix)
			return -1;
		l->pidx = ix;
		uint64_t *g = realloc(l->pgen, cap * sizeof *g);
		if (!g)
			return -1;
		l->pgen = g;
		l->cappfd = cap;
	}
	size_t n = 0;
	for (size_t i = 0; i < l->nw; i++) {
		if (!l->w[i].active)
			continue;
		l->pfd[n] = (struct pollfd){.fd = l->w[i].fd, .events = l->w[i].events};
		l->pidx[n] = i;
		l->pgen[n] = l->w[i].gen;
		n++;
	}
	return (int)n;
}

static void compact_watchers(struct loop *l)
{
	size_t j = 0;
	for (size_t i = 0; i < l->nw; i++)
		if (l->w[i].active)
			l->w[j++] = l->w[i];
	l->nw = j;
}

static void fire_timers(struct loop *l)
{
	uint64_t last_id = l->next_id - 1;
	while (l->nt && l->heap[0].when <= l->now && !l->stop) {
		struct timer t = l->heap[0];
		if (t.id > last_id)
			break; /* added during this round: next iteration */
		heap_remove(l, 0);
		t.cb(l, t.arg);
	}
}

int loop_run(struct loop *l)
{
	l->stop = 0;
	while (!l->stop) {
		l->now = mono_ms();
		int timeout = -1;
		if (l->nt) {
			uint64_t when = l->heap[0].when;
			timeout = when <= l->now ? 0 : (when - l->now > 60000 ? 60000 : (int)(when - l->now));
		}
		int n = build_pollset(l);
		if (n < 0)
			return -1;
		int r = poll(l->pfd, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR)
			return -1;
		l->now = mono_ms();
		for (int i = 0; r > 0 && i < n && !l->stop; i++) {
			if (!l->pfd[i].revents)
				continue;
			struct watcher *w = &l->w[l->pidx[i]];
			if (!w->active || w->gen != l->pgen[i])
				continue;
			w->cb(l, w->fd, l->pfd[i].revents, w->arg);
		}
		compact_watchers(l);
		fire_timers(l);
		compact_watchers(l);
	}
	return 0;
}
