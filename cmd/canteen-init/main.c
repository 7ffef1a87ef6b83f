/* main.c: canteen-init: flags and configuration, then supervise the programs of init.conf. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "conf.h"
#include "flags.h"
#include "init.h"
#include "log.h"
#include "parse.h"
#include "priv.h"
#include "sockets.h"

/* The flag table: one row per flag, indexed by this enum. */
enum { F_FILE, F_CONFIG, F_RUNDIR, F_CHECK, F_GRACE, F_RESTART_MIN, F_BACKOFF_MAX,
       F_BACKOFF_RESET, F_LOG_LEVEL, F_N };

static const struct flag rows[F_N] = {
	[F_FILE] = {"file", 'f', "FILE", NULL, "programs to supervise (default " INIT_CONF_DEFAULT_PATH ")", 0},
	[F_CONFIG] = FLAG_CONFIG,
	[F_RUNDIR] = FLAG_RUNDIR("where " SOCK_INIT " lives"),
	[F_CHECK] = {"check", 'n', NULL, NULL, "check FILE and exit", 0},
	[F_GRACE] = {"grace", 0, "DURATION", NULL, "SIGTERM to SIGKILL when stopping (default 10s)", 0},
	[F_RESTART_MIN] = {"restart-min", 0, "DURATION", NULL,
	                   "least time between two starts of a child (default 1s)", 0},
	[F_BACKOFF_MAX] = {"backoff-max", 0, "DURATION", NULL,
	                   "longest wait before a restart (default 30s)", 0},
	[F_BACKOFF_RESET] = {"backoff-reset", 0, "DURATION", NULL,
	                     "uptime that clears the crash-loop back-off (default 60s)", 0},
	[F_LOG_LEVEL] = FLAG_LOG_LEVEL,
};

static const struct flag_table flags = {
	"canteen-init", rows, F_N,
	"SIGTERM or SIGINT stops every program (last first); SIGHUP re-reads FILE.\n"
	"See canteen-init(8).\n",
};

/* A duration flag into *ms, within [min, max]; keeps the default when s is NULL. */
static int duration_opt(const char *flag, const char *s, uint64_t min, uint64_t max,
                        uint64_t *ms)
{
	char err[256];
	uint64_t v;
	if (!s)
		return 0;
	if (parse_duration_ms(s, &v, err, sizeof err) < 0) {
		log_warnx("--%s: %s", flag, err);
		return -1;
	}
	if (v < min || v > max) {
		log_warnx("--%s: %s is out of range (%llu ms to %llu ms)", flag, s,
		          (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*ms = v;
	return 0;
}

/* canteen.conf's user and init.conf's user= lines agree, and the user exists. */
static int check_users(const struct conf *cf, struct sup *s, const struct init_conf *ic)
{
	char err[1024];
	struct priv_user u;
	if (cf->user[0] && priv_user_lookup(cf->user, &u, err, sizeof err) < 0) {
		log_warnx("canteen.conf: user: %s", err);
		return -1;
	}
	str_copy(s->user, sizeof s->user, cf->user);
	if (sup_check_users(s, ic, err, sizeof err) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	for (size_t i = 0; i < ic->n && geteuid() != 0; i++) {
		if (ic->progs[i].user[0]) {
			log_warnx("not running as root: user= is ignored, every program runs as uid %u",
			          (unsigned)geteuid());
			break;
		}
	}
	return 0;
}

/* Root with a canteen user: the run directory becomes the user's (0700), u its ids. 1 when
 * that applies, 0 when not (not root, no user), -1 on error (logged). */
static int hand_rundir(const struct sup *s, const char *rundir, struct priv_user *u)
{
	char err[1024];
	if (!s->user[0] || geteuid() != 0)
		return 0;
	if (priv_user_lookup(s->user, u, err, sizeof err) < 0 ||
	    priv_rundir(rundir, u, err, sizeof err) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	return 1;
}

/* init.sock, made as the canteen user when there is one (u non-NULL): root never creates
 * files in a directory that user owns. 0, or -1 with a sentence in err. */
static int listen_as(struct sup *s, const char *rundir, const struct priv_user *u, char *err,
                     size_t errlen)
{
	if (u && priv_enter(u, err, errlen) < 0)
		return -1;
	int rc = control_listen(s, rundir, err, errlen);
	if (u && priv_leave() < 0)
		fatal("cannot return to root after making " SOCK_INIT);
	return rc;
}

static int configure(const struct flag_values *v, struct sup *s, struct init_conf *ic)
{
	char err[1024];
	s->grace_ms = 10000;
	s->restart_min_ms = 1000;
	s->backoff_max_ms = 30000;
	s->backoff_reset_ms = 60000;
	if (duration_opt("grace", v->value[F_GRACE], 0, 3600000, &s->grace_ms) < 0 ||
	    duration_opt("restart-min", v->value[F_RESTART_MIN], 10, 3600000, &s->restart_min_ms) < 0 ||
	    duration_opt("backoff-max", v->value[F_BACKOFF_MAX], 10, 86400000, &s->backoff_max_ms) < 0 ||
	    duration_opt("backoff-reset", v->value[F_BACKOFF_RESET], 1, 86400000,
	                 &s->backoff_reset_ms) < 0)
		return -1;
	if (s->backoff_max_ms < s->restart_min_ms) {
		log_warnx("--backoff-max must not be shorter than --restart-min");
		return -1;
	}
	s->init_path = v->value[F_FILE] ? v->value[F_FILE] : INIT_CONF_DEFAULT_PATH;
	if (init_conf_load(ic, s->init_path, err, sizeof err) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

/* Children get our descriptors 0-2 remapped; make sure those numbers are taken. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (n >= 0 && n != fd)
			close(n);
	}
}

int main(int argc, char **argv)
{
	struct flag_values v;
	struct conf cf;
	struct sup s;
	struct init_conf ic;
	char err[512];
	memset(&s, 0, sizeof s);
	s.devnull = -1;
	ensure_std_fds();
	log_init("canteen-init", LOG_LEVEL_INFO);
	conf_defaults(&cf);
	memset(&ic, 0, sizeof ic);
	int rc = flags_load(&flags, argc, argv, &v, &cf, err, sizeof err);
	if (rc >= 0) {
		if (err[0])
			log_warnx("%s", err);
		return rc;
	}
	if (configure(&v, &s, &ic) < 0 || check_users(&cf, &s, &ic) < 0) {
		init_conf_free(&ic);
		return EXIT_CONFIG;
	}
	if (v.value[F_CHECK]) {
		printf("%s: %zu programs\n", s.init_path, ic.n);
		init_conf_free(&ic);
		return EXIT_DONE;
	}
	/* Orphans of our children are re-parented to us, so we reap and stop them too. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		log_warn("cannot become a child subreaper; orphans go to the system's init");
	s.loop = loop_new();
	if (!s.loop)
		fatal("loop_new");
	if (sup_init(&s, &ic, err, sizeof err) < 0)
		fatalx("%s", err);
	init_conf_free(&ic); /* the children took their programs */
	if (loop_signal(s.loop, SIGCHLD, sup_on_sigchld, &s) < 0 ||
	    loop_signal(s.loop, SIGTERM, sup_on_stop_signal, &s) < 0 ||
	    loop_signal(s.loop, SIGINT, sup_on_stop_signal, &s) < 0 ||
	    loop_signal(s.loop, SIGHUP, sup_on_sighup, &s) < 0)
		fatal("cannot install signal handlers");
	struct priv_user u;
	int as_user = hand_rundir(&s, cf.rundir, &u);
	if (as_user < 0) {
		sup_free(&s);
		loop_free(s.loop);
		return EXIT_CONFIG;
	}
	if (listen_as(&s, cf.rundir, as_user ? &u : NULL, err, sizeof err) < 0)
		fatalx("%s", err);
	log_info("supervising %zu programs; status on %s/" SOCK_INIT, s.n, cf.rundir);
	sup_start_all(&s);
	if (loop_run(s.loop) < 0)
		fatal("event loop failed");
	log_info("stopped");
	ipc_server_free(s.srv);
	sup_free(&s);
	loop_free(s.loop);
	return EXIT_DONE;
}
