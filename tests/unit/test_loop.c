/* test_loop.c: the event loop's timers (order, cancel), fds, fd reuse and signals. */
#include <signal.h>
#include <unistd.h>

#include "loop.h"
#include "tap.h"

static int order[16], norder;
static uint64_t cancel_me;

static void rec(struct loop *l, void *arg)
{
	(void)l;
	order[norder++] = (int)(long)arg;
}

static void canceller(struct loop *l, void *arg)
{
	(void)arg;
	loop_timer_cancel(l, cancel_me);
	order[norder++] = 9;
}

static void stopper(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

static int reads, sigs;
static void on_read(struct loop *l, int fd, short revents, void *arg)
{
	(void)revents;
	(void)arg;
	char b;
	if (read(fd, &b, 1) == 1)
		reads++;
	loop_del_fd(l, fd);
}

static void on_sig(struct loop *l, int signo, void *arg)
{
	(void)arg;
	if (signo == SIGUSR1)
		sigs++;
	loop_stop(l);
}

static void rearm(struct loop *l, void *arg)
{
	int *n = arg;
	if (++*n < 1000)
		loop_timer_add(l, 0, rearm, arg);
	else
		loop_stop(l);
}

int main(void)
{
	struct loop *l = loop_new();
	uint64_t t0 = mono_ms();
	loop_timer_add(l, 30, rec, (void *)3L);
	loop_timer_add(l, 10, rec, (void *)1L);
	loop_timer_add(l, 20, rec, (void *)2L);
	loop_timer_add(l, 5, canceller, NULL);
	cancel_me = loop_timer_add(l, 15, rec, (void *)7L);
	loop_timer_add(l, 40, stopper, NULL);
	loop_run(l);
	uint64_t took = mono_ms() - t0;
	is_int(norder, 4, "four timers fired, the cancelled one did not");
	ok(order[0] == 9 && order[1] == 1 && order[2] == 2 && order[3] == 3, "timers fire in deadline order");
	ok(took >= 40 && took < 1000, "loop ran until the stop timer (%llu ms)", (unsigned long long)took);
	loop_timer_cancel(l, 123456); /* unknown id: harmless */

	int p[2];
	ok(pipe(p) == 0, "pipe");
	fd_nonblock(p[0]);
	ok(loop_add_fd(l, p[0], POLLIN, on_read, NULL) == 0, "add fd");
	ok(loop_add_fd(l, p[0], POLLIN, on_read, NULL) < 0, "the same fd twice is refused");
	ok(write(p[1], "ab", 2) == 2, "write");
	loop_timer_add(l, 50, stopper, NULL);
	loop_run(l);
	is_int(reads, 1, "callback ran once, then its own loop_del_fd took effect");
	ok(loop_add_fd(l, p[0], POLLIN, on_read, NULL) == 0, "fd can be re-added after delete");
	loop_timer_add(l, 50, stopper, NULL);
	loop_run(l);
	is_int(reads, 2, "re-added fd delivers the remaining byte");

	ok(loop_signal(l, SIGUSR1, on_sig, NULL) == 0, "signal watcher");
	kill(getpid(), SIGUSR1);
	loop_timer_add(l, 2000, stopper, NULL);
	loop_run(l);
	is_int(sigs, 1, "signal delivered through the loop");

	int n = 0;
	loop_timer_add(l, 0, rearm, &n);
	loop_run(l);
	is_int(n, 1000, "zero-delay timers re-armed from their callback do not starve the loop");
	close(p[0]);
	close(p[1]);
	loop_free(l);
	return done_testing();
}
