/* init.h: canteen-init's supervisor context, the per-child state machine and its modules. */
#ifndef CANTEEN_INIT_H
#define CANTEEN_INIT_H

#include <stdint.h>
#include <sys/types.h>

#include "init_conf.h"
#include "ipc.h"
#include "loop.h"
#include "priv.h"

#define OUT_LINE_MAX 4096 /* bytes of child output per logged line; longer lines are split */

/*
 * A child's life (see the table in super.c):
 *   BACKOFF  not running; a timer starts it (at boot the delay is 0)
 *   UP       running in its own process group
 *   STOPPING shutdown sent SIGTERM to the group; the grace timer runs
 *   KILLING  the grace ran out and SIGKILL was sent
 *   STOPPED  down for good (shutdown)
 */
enum child_state { CS_BACKOFF, CS_UP, CS_STOPPING, CS_KILLING, CS_STOPPED, CS_NSTATES };
enum child_event { EV_TIMER, EV_EXIT, EV_STOP, EV_NEVENTS };

struct sup;

struct child {
	struct sup *sup;
	struct init_prog prog;         /* owned: argv is freed with the child */
	int retiring;                  /* dropped or changed by a reload: stop, then free */
	int waiting;                   /* new by a reload: starts once its namesake retired */
	enum child_state state;
	pid_t pid;                     /* process (and group) id while running, else 0 */
	int outfd;                     /* read end of the stdout/stderr pipe, or -1 */
	char line[OUT_LINE_MAX];       /* partial output line */
	size_t linelen;
	uint64_t timer;                /* restart or grace timer, 0 if none */
	uint64_t started_ms;           /* monotonic time of the last start */
	uint64_t due_ms;               /* BACKOFF: when the restart timer fires */
	uint64_t starts;               /* successful starts so far */
	unsigned streak;               /* consecutive runs shorter than backoff_reset */
	int exited;                    /* last_status is valid */
	int last_status;               /* wait(2) status of the last exit */
	int spawn_errno;               /* non-zero: the last start failed with this */
	int exit_status;               /* wait(2) status of the exit being handled */
};

struct sup {
	struct loop *loop;
	const char *init_path;         /* init.conf, read again on SIGHUP */
	struct child **kids;           /* in init.conf order */
	size_t n;
	struct child **retiring;       /* being stopped after a reload, freed once down */
	size_t nretiring, capretiring;
	struct ipc_server *srv;
	uint64_t grace_ms, restart_min_ms, backoff_max_ms, backoff_reset_ms;
	uint64_t boot_ms;
	int stopping;                  /* a stop signal arrived */
	size_t stop_next;              /* children [0, stop_next) are still to be stopped */
	int sweeping;                  /* all children stopped; killing stray descendants */
	uint64_t sweep_timer;
	unsigned sweep_tries;
	int devnull;
	char user[PRIV_NAME_MAX + 1];  /* canteen.conf's user: owns rundir; "" if none */
};

/* super.c: the table, starting, reaping, stopping. */
/* Takes the programs out of ic (their argv move into the children). */
int sup_init(struct sup *s, struct init_conf *ic, char *err, size_t errlen);
void sup_free(struct sup *s);
void sup_start_all(struct sup *s);
void sup_on_sigchld(struct loop *l, int signo, void *arg);
void sup_on_stop_signal(struct loop *l, int signo, void *arg);
void child_dispatch(struct child *c, enum child_event ev);
const char *child_state_name(enum child_state st);
struct child *child_new(struct sup *s, struct init_prog *p); /* takes p->argv; NULL if OOM */
void child_free(struct child *c);
/* Every user= of ic exists and is canteen.conf's user (one user for canteen's daemons).
 * 0, or -1 with "file:line: ..." in err. */
int sup_check_users(const struct sup *s, const struct init_conf *ic, char *err, size_t errlen);

/* reload.c: children come and go with init.conf (SIGHUP). */
/* Free retired children that are down and start the successors that waited for them. */
void sup_reap_retired(struct sup *s);
void sup_on_sighup(struct loop *l, int signo, void *arg);

/* output.c: reading a child's pipe, one logged line per output line. */
void out_on_readable(struct loop *l, int fd, short revents, void *arg);
void out_drain_and_close(struct child *c);

/* control.c: init.sock. */
int control_listen(struct sup *s, const char *rundir, char *err, size_t errlen);

#endif
