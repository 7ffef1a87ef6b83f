/* super.c: canteen-init's supervision: a state x event table per child, spawning, reaping. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errf.h"
#include "init.h"
#include "log.h"
#include "priv.h"

typedef enum child_state (*action_fn)(struct child *c);

static void on_child_timer(struct loop *l, void *arg);
static void advance_stop(struct sup *s);

const char *child_state_name(enum child_state st)
{
	static const char *names[CS_NSTATES] = {"backoff", "up", "stopping", "killing", "stopped"};
	return st < CS_NSTATES ? names[st] : "?";
}

static void describe_status(int status, char *out, size_t outlen)
{
	if (WIFEXITED(status))
		snprintf(out, outlen, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, outlen, "killed by SIG%s", sigabbrev_np(WTERMSIG(status))
		                                             ? sigabbrev_np(WTERMSIG(status)) : "?");
	else
		snprintf(out, outlen, "ended with wait status 0x%x", (unsigned)status);
}

static void set_timer(struct child *c, uint64_t delay_ms)
{
	loop_timer_cancel(c->sup->loop, c->timer);
	c->timer = loop_timer_add(c->sup->loop, delay_ms, on_child_timer, c);
	if (!c->timer)
		fatalx("out of memory adding a timer"); /* a lost timer would strand the child */
}

static void clear_timer(struct child *c)
{
	loop_timer_cancel(c->sup->loop, c->timer);
	c->timer = 0;
}

/*
 * When to start again after a run of uptime_ms ending now: never sooner than
 * restart_min after the previous start; the first quick exit restarts at once, each
 * further one doubles the wait (restart_min, 2x, 4x, ...) up to backoff_max; a run of
 * backoff_reset or longer forgets the streak; exit status 100 (configuration error)
 * waits backoff_max straight away.
 */
static uint64_t restart_delay(struct child *c, uint64_t now, uint64_t uptime_ms, int config_error)
{
	const struct sup *s = c->sup;
	if (uptime_ms >= s->backoff_reset_ms)
		c->streak = 0;
	if (c->streak < 64)
		c->streak++;
	uint64_t wait = 0;
	if (config_error) {
		wait = s->backoff_max_ms;
	} else if (c->streak > 1) {
		unsigned shift = c->streak - 1 > 32 ? 32 : c->streak - 1;
		wait = s->restart_min_ms << shift;
		if (wait > s->backoff_max_ms || wait >> shift != s->restart_min_ms)
			wait = s->backoff_max_ms;
	}
	uint64_t due = now + wait, earliest = c->started_ms + s->restart_min_ms;
	if (due < earliest)
		due = earliest;
	return due - now;
}

static void schedule_restart(struct child *c, uint64_t now, uint64_t uptime_ms, int config_error)
{
	uint64_t delay = restart_delay(c, now, uptime_ms, config_error);
	c->due_ms = now + delay;
	set_timer(c, delay);
	log_info("%s: restarting in %llu ms%s", c->prog.name, (unsigned long long)delay,
	         config_error ? " (exit status 100: configuration error)" : "");
}

/* In the child after fork: its own process group, signals at their defaults and unblocked,
 * stdin from /dev/null, stdout and stderr into the pipe, then the user's ids, then exec.
 * Only system calls (init has one thread); a failure's errno goes up errfd. */
static void child_exec(const struct child *c, const struct priv_user *u, int outfd, int errfd)
{
	struct sigaction dfl;
	sigset_t none;
	int e = 0;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* SIGKILL, SIGSTOP and the reserved ones just fail */
	sigemptyset(&none);
	if (setpgid(0, 0) < 0 || dup2(c->sup->devnull, 0) < 0 || dup2(outfd, 1) < 0 ||
	    dup2(outfd, 2) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		e = errno;
	if (!e && u)
		e = priv_drop(u);
	if (!e) {
		execvp(c->prog.argv[0], c->prog.argv);
		e = errno;
	}
	while (write(errfd, &e, sizeof e) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* Who c runs as: NULL to stay as we are (not root, or no user=); else looked up into u.
 * 0, or an errno value (ENOENT for an unknown user, logged). */
static int child_user(const struct child *c, struct priv_user *u, const struct priv_user **out)
{
	char err[256];
	*out = NULL;
	if (!c->prog.user[0] || geteuid() != 0)
		return 0;
	if (priv_user_lookup(c->prog.user, u, err, sizeof err) < 0) {
		log_warnx("%s: %s", c->prog.name, err);
		return ENOENT;
	}
	*out = u;
	return 0;
}

int sup_check_users(const struct sup *s, const struct init_conf *ic, char *err, size_t errlen)
{
	char why[256];
	struct priv_user u;
	for (size_t i = 0; i < ic->n; i++) {
		const struct init_prog *p = &ic->progs[i];
		if (!p->user[0])
			continue;
		if (priv_user_lookup(p->user, &u, why, sizeof why) < 0)
			return errf(err, errlen, "%s:%u: %s: %s", s->init_path, p->line, p->name, why);
		if (!s->user[0])
			return errf(err, errlen, "%s:%u: %s runs as %s, but canteen.conf sets no user: "
			            "set user = %s there (the run directory is made for it)",
			            s->init_path, p->line, p->name, p->user, p->user);
		if (strcmp(p->user, s->user) != 0)
			return errf(err, errlen, "%s:%u: %s runs as %s, but canteen.conf says user = %s "
			            "(canteen's daemons share one user)", s->init_path, p->line, p->name,
			            p->user, s->user);
	}
	return 0;
}

/* fork and exec c (see child_exec); waits until the exec happened or failed, so a bad
 * command or user is reported here, as posix_spawn would. 0 or an errno value. */
static int spawn(struct child *c)
{
	struct sup *s = c->sup;
	struct priv_user pu;
	const struct priv_user *u;
	int p[2], ep[2], rc = child_user(c, &pu, &u);
	if (rc)
		return rc;
	if (pipe2(p, O_CLOEXEC) < 0)
		return errno;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		rc = errno;
		close(p[0]);
		close(p[1]);
		return rc;
	}
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old); /* no handler of ours runs in the child */
	pid_t pid = fork();
	if (pid == 0)
		child_exec(c, u, p[1], ep[1]);
	rc = pid < 0 ? errno : 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	close(ep[1]);
	if (pid > 0) {
		int e = 0;
		ssize_t r;
		while ((r = read(ep[0], &e, sizeof e)) < 0 && errno == EINTR)
			;
		if (r == (ssize_t)sizeof e) {
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			rc = e ? e : EIO;
		}
	}
	close(ep[0]);
	if (rc) {
		close(p[0]);
		return rc;
	}
	c->pid = pid;
	c->outfd = p[0];
	c->linelen = 0;
	if (fd_nonblock(c->outfd) < 0 ||
	    loop_add_fd(s->loop, c->outfd, POLLIN, out_on_readable, c) < 0) {
		/* With our end closed its writes fail (EPIPE) rather than block on a full pipe. */
		log_warn("%s: cannot watch its output", c->prog.name);
		close(c->outfd);
		c->outfd = -1;
	}
	return 0;
}

/* After the process exited (the reaper already killed what its group held): log it,
 * read the rest of its output. */
static void record_exit(struct child *c)
{
	char how[64];
	uint64_t uptime = loop_now(c->sup->loop) - c->started_ms;
	c->exited = 1;
	c->last_status = c->exit_status;
	c->spawn_errno = 0;
	describe_status(c->exit_status, how, sizeof how);
	out_drain_and_close(c);
	log_info("%s: pid %d %s after %llu ms", c->prog.name, (int)c->pid, how,
	         (unsigned long long)uptime);
	c->pid = 0;
}

/* ---- actions: each returns the next state ---- */

static enum child_state act_stay(struct child *c) { return c->state; }

static enum child_state act_start(struct child *c)
{
	uint64_t now = loop_now(c->sup->loop);
	c->timer = 0;
	c->started_ms = now;
	int e = spawn(c);
	if (e) {
		c->spawn_errno = e;
		log_warnx("%s: cannot start %s: %s", c->prog.name, c->prog.argv[0], strerror(e));
		schedule_restart(c, now, 0, 0);
		return CS_BACKOFF;
	}
	c->starts++;
	log_info("%s: started pid %d (start %llu)%s%s", c->prog.name, (int)c->pid,
	         (unsigned long long)c->starts, c->prog.user[0] && geteuid() == 0 ? " as " : "",
	         c->prog.user[0] && geteuid() == 0 ? c->prog.user : "");
	return CS_UP;
}

static enum child_state act_exited(struct child *c)
{
	uint64_t now = loop_now(c->sup->loop);
	uint64_t uptime = now - c->started_ms;
	record_exit(c);
	if (c->sup->stopping)
		return CS_STOPPED;
	int config_error = WIFEXITED(c->last_status) && WEXITSTATUS(c->last_status) == EXIT_CONFIG;
	schedule_restart(c, now, uptime, config_error);
	return CS_BACKOFF;
}

static enum child_state act_term(struct child *c)
{
	log_info("%s: stopping pid %d (SIGTERM to its process group)", c->prog.name, (int)c->pid);
	kill(-c->pid, SIGTERM);
	kill(-c->pid, SIGCONT); /* a stopped process must run to see SIGTERM */
	set_timer(c, c->sup->grace_ms);
	return CS_STOPPING;
}

static enum child_state act_kill(struct child *c)
{
	c->timer = 0;
	log_warnx("%s: pid %d still running %llu ms after SIGTERM: SIGKILL", c->prog.name,
	          (int)c->pid, (unsigned long long)c->sup->grace_ms);
	kill(-c->pid, SIGKILL);
	return CS_KILLING;
}

static enum child_state act_down(struct child *c)
{
	clear_timer(c);
	record_exit(c);
	return CS_STOPPED;
}

static enum child_state act_drop(struct child *c)
{
	clear_timer(c);
	return CS_STOPPED;
}

static enum child_state act_impossible(struct child *c)
{
	log_warnx("%s: unexpected event in state %s", c->prog.name, child_state_name(c->state));
	return c->state;
}

/* The whole behaviour of a child: rows are states, columns events. */
static const action_fn transitions[CS_NSTATES][EV_NEVENTS] = {
	/*               EV_TIMER    EV_EXIT         EV_STOP  */
	[CS_BACKOFF]  = {act_start,  act_impossible, act_drop},
	[CS_UP]       = {act_stay,   act_exited,     act_term},
	[CS_STOPPING] = {act_kill,   act_down,       act_stay},
	[CS_KILLING]  = {act_stay,   act_down,       act_stay},
	[CS_STOPPED]  = {act_stay,   act_impossible, act_stay},
};

void child_dispatch(struct child *c, enum child_event ev)
{
	static const char *evnames[EV_NEVENTS] = {"timer", "exit", "stop"};
	enum child_state from = c->state;
	c->state = transitions[from][ev](c);
	if (c->state != from)
		log_debug("%s: %s --%s--> %s", c->prog.name, child_state_name(from), evnames[ev],
		          child_state_name(c->state));
}

static void on_child_timer(struct loop *l, void *arg)
{
	(void)l;
	struct child *c = arg;
	c->timer = 0;
	child_dispatch(c, EV_TIMER);
}

/* ---- shutdown ---- */

/* Send sig to every process whose parent is us (strays that left their process group
 * and were re-parented to us as subreaper). Returns how many there were. */
static int signal_strays(int sig)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	pid_t self = getpid();
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[64], buf[512];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%.20s/stat", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t r = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		const char *rp = strrchr(buf, ')');
		int ppid;
		char st;
		long pid = strtol(e->d_name, NULL, 10);
		if (!rp || sscanf(rp + 1, " %c %d", &st, &ppid) != 2 || ppid != self || pid == self)
			continue;
		log_info("stray process %ld: SIG%s", pid, sigabbrev_np(sig));
		kill((pid_t)pid, sig);
		n++;
	}
	closedir(d);
	return n;
}

/* 1 while children of ours (running or unreaped) remain, after reaping what exited. */
static int reap_strays(void)
{
	for (;;) {
		pid_t p = waitpid(-1, NULL, WNOHANG);
		if (p > 0)
			continue;
		if (p == 0)
			return 1;
		if (errno == EINTR)
			continue;
		return 0;
	}
}

/* After SIGTERM and the grace, SIGKILL every 100 ms; give up after 5 s (a process stuck
 * in the kernel cannot be reaped; our own exit hands it to the system's init). */
static void on_sweep_timer(struct loop *l, void *arg)
{
	struct sup *s = arg;
	s->sweep_timer = 0;
	if (!reap_strays()) {
		loop_stop(l);
		return;
	}
	if (s->sweep_tries++ == 50) {
		log_warnx("stray processes do not die; exiting without them");
		loop_stop(l);
		return;
	}
	signal_strays(SIGKILL);
	s->sweep_timer = loop_timer_add(l, 100, on_sweep_timer, s);
}

static void start_sweep(struct sup *s)
{
	s->sweeping = 1;
	log_info("all children stopped");
	if (!reap_strays()) {
		loop_stop(s->loop);
		return;
	}
	signal_strays(SIGTERM);
	s->sweep_timer = loop_timer_add(s->loop, s->grace_ms, on_sweep_timer, s);
	if (!s->sweep_timer)
		loop_stop(s->loop);
}

/* Stop children last to first, one at a time: each must be down before the next. */
static void advance_stop(struct sup *s)
{
	while (s->stop_next > 0) {
		struct child *c = s->kids[s->stop_next - 1];
		if (c->state == CS_UP || c->state == CS_BACKOFF)
			child_dispatch(c, EV_STOP);
		if (c->state != CS_STOPPED)
			return;
		s->stop_next--;
	}
	if (s->nretiring == 0 && !s->sweeping) /* retired ones were sent SIGTERM at the reload */
		start_sweep(s);
}

void sup_on_stop_signal(struct loop *l, int signo, void *arg)
{
	(void)l;
	struct sup *s = arg;
	if (s->stopping) {
		log_info("SIG%s: already stopping", sigabbrev_np(signo));
		return;
	}
	log_info("SIG%s: stopping %zu children in reverse order", sigabbrev_np(signo), s->n);
	s->stopping = 1;
	s->stop_next = s->n;
	for (size_t i = 0; i < s->n; i++)
		if (s->kids[i]->state == CS_BACKOFF)
			child_dispatch(s->kids[i], EV_STOP);
	advance_stop(s);
}

/* Reap every exited child. A supervised child is looked at before it is reaped
 * (WNOWAIT): while its zombie exists its pid cannot be reused, so SIGKILL to its
 * process group reaches only what it left behind. */
void sup_on_sigchld(struct loop *l, int signo, void *arg)
{
	(void)signo;
	struct sup *s = arg;
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		pid_t pid = si.si_pid;
		if (pid == 0)
			break;
		struct child *c = NULL;
		for (size_t i = 0; i < s->n && !c; i++)
			if (s->kids[i]->pid == pid)
				c = s->kids[i];
		for (size_t i = 0; i < s->nretiring && !c; i++)
			if (s->retiring[i]->pid == pid)
				c = s->retiring[i];
		if (c)
			kill(-pid, SIGKILL); /* the zombie counts as a member: no way to log more */
		int status = 0;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!c) {
			log_debug("reaped pid %d (not a supervised child)", (int)pid);
			continue;
		}
		c->exit_status = status;
		child_dispatch(c, EV_EXIT);
		if (c->retiring)
			sup_reap_retired(s); /* frees c */
	}
	if (s->sweeping) {
		if (!reap_strays())
			loop_stop(l);
	} else if (s->stopping) {
		advance_stop(s);
	}
}

struct child *child_new(struct sup *s, struct init_prog *p)
{
	struct child *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->sup = s;
	c->prog = *p;
	p->argv = NULL; /* now the child's */
	c->state = CS_BACKOFF;
	c->outfd = -1;
	return c;
}

void child_free(struct child *c)
{
	if (!c)
		return;
	loop_timer_cancel(c->sup->loop, c->timer);
	out_drain_and_close(c);
	free(c->prog.argv);
	free(c);
}

void sup_start_all(struct sup *s)
{
	for (size_t i = 0; i < s->n; i++)
		child_dispatch(s->kids[i], EV_TIMER);
}

int sup_init(struct sup *s, struct init_conf *ic, char *err, size_t errlen)
{
	s->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (s->devnull < 0) {
		snprintf(err, errlen, "/dev/null: %s", strerror(errno));
		return -1;
	}
	s->kids = calloc(ic->n, sizeof *s->kids);
	if (!s->kids) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < ic->n; i++) {
		if (!(s->kids[i] = child_new(s, &ic->progs[i]))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		s->n++;
	}
	s->boot_ms = mono_ms();
	return 0;
}

void sup_free(struct sup *s)
{
	for (size_t i = 0; s->kids && i < s->n; i++)
		child_free(s->kids[i]);
	for (size_t i = 0; i < s->nretiring; i++)
		child_free(s->retiring[i]);
	free(s->kids);
	free(s->retiring);
	s->kids = s->retiring = NULL;
	s->n = s->nretiring = 0;
	if (s->devnull >= 0)
		close(s->devnull);
	s->devnull = -1;
}
