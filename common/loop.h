/* loop.h: a small poll(2) event loop: descriptors, monotonic timers, signals. */
#ifndef CANTEEN_LOOP_H
#define CANTEEN_LOOP_H

#include <poll.h>
#include <stdint.h>

struct loop;

/* revents is the poll(2) revents mask. */
typedef void (*loop_fd_cb)(struct loop *l, int fd, short revents, void *arg);
typedef void (*loop_timer_cb)(struct loop *l, void *arg);
typedef void (*loop_signal_cb)(struct loop *l, int signo, void *arg);

/* Monotonic clock in milliseconds. */
uint64_t mono_ms(void);

/* Caller owns the loop; loop_free closes nothing it did not open itself. */
struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch fd for events (POLLIN|POLLOUT). One watcher per fd. 0 or -1 (errno). */
int loop_add_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg);
int loop_mod_fd(struct loop *l, int fd, short events);
/* Safe to call from inside any callback, including the fd's own. */
void loop_del_fd(struct loop *l, int fd);

/* One-shot timer after delay_ms; returns an id > 0, or 0 on allocation failure.
 * Cancelling an id that already fired or was cancelled is harmless. */
uint64_t loop_timer_add(struct loop *l, uint64_t delay_ms, loop_timer_cb cb, void *arg);
void loop_timer_cancel(struct loop *l, uint64_t id);

/* Deliver signo to cb from inside the loop (self-pipe). SIGCHLD, SIGTERM, ... */
int loop_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg);

/* Cached time of the current iteration (ms, monotonic). */
uint64_t loop_now(struct loop *l);

/* Run until loop_stop; returns 0, or -1 if poll failed unrecoverably. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

/* Set O_NONBLOCK and FD_CLOEXEC. */
int fd_nonblock(int fd);

#endif
