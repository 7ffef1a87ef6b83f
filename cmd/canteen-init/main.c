/* main.c: canteen-init: flags and configuration, then supervise the programs of init.conf. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "conf.h"
#include "init.h"
#include "log.h"
#include "parse.h"

struct opts {
	const char *init_path, *conf_path, *rundir, *log_level;
	const char *grace, *restart_min, *backoff_max, *backoff_reset;
	int check;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: canteen-init [-n] [-f FILE] [-c FILE] [-d DIR] [--grace DURATION]\n"
	        "                    [--restart-min DURATION] [--backoff-max DURATION]\n"
	        "                    [--backoff-reset DURATION] [--log-level LEVEL]\n"
	        "  -f, --file FILE        programs to supervise (default %s)\n"
	        "  -c, --config FILE      canteen.conf for rundir and log_level (default %s)\n"
	        "  -d, --rundir DIR       where init.sock lives (default /run/canteen)\n"
	        "  -n, --check            check FILE and exit\n"
	        "      --grace D          SIGTERM to SIGKILL when stopping (default 10s)\n"
	        "      --restart-min D    least time between two starts of a child (default 1s)\n"
	        "      --backoff-max D    longest wait before a restart (default 30s)\n"
	        "      --backoff-reset D  uptime that clears the crash-loop back-off (default 60s)\n"
	        "SIGTERM or SIGINT stops every program (last first); SIGHUP re-reads FILE.\n"
	        "See canteen-init(8).\n",
	        INIT_CONF_DEFAULT_PATH, CONF_DEFAULT_PATH);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_GRACE = 256, O_RMIN, O_BMAX, O_BRESET, O_LEVEL };
	static const struct option longopts[] = {
		{"file", required_argument, NULL, 'f'},   {"config", required_argument, NULL, 'c'},
		{"rundir", required_argument, NULL, 'd'}, {"check", no_argument, NULL, 'n'},
		{"grace", required_argument, NULL, O_GRACE},
		{"restart-min", required_argument, NULL, O_RMIN},
		{"backoff-max", required_argument, NULL, O_BMAX},
		{"backoff-reset", required_argument, NULL, O_BRESET},
		{"log-level", required_argument, NULL, O_LEVEL},
		{"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "f:c:d:nhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': o->init_path = optarg; break;
		case 'c': o->conf_path = optarg; break;
		case 'd': o->rundir = optarg; break;
		case 'n': o->check = 1; break;
		case O_GRACE: o->grace = optarg; break;
		case O_RMIN: o->restart_min = optarg; break;
		case O_BMAX: o->backoff_max = optarg; break;
		case O_BRESET: o->backoff_reset = optarg; break;
		case O_LEVEL: o->log_level = optarg; break;
		case 'h': usage(stdout); exit(EXIT_DONE);
		case 'V': printf("canteen-init %s\n", CANTEEN_VERSION); exit(EXIT_DONE);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		log_warnx("unexpected argument '%s' (programs go in the -f file)", argv[optind]);
		return -1;
	}
	return 0;
}

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

static int configure(const struct opts *o, struct conf *cf, struct sup *s, struct init_conf *ic)
{
	char err[1024];
	const struct conf_flag flags[] = {
		{"rundir", "rundir", o->rundir},
		{"log-level", "log_level", o->log_level},
	};
	if (conf_setup(cf, o->conf_path, flags, sizeof flags / sizeof flags[0], err, sizeof err) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	s->grace_ms = 10000;
	s->restart_min_ms = 1000;
	s->backoff_max_ms = 30000;
	s->backoff_reset_ms = 60000;
	if (duration_opt("grace", o->grace, 0, 3600000, &s->grace_ms) < 0 ||
	    duration_opt("restart-min", o->restart_min, 10, 3600000, &s->restart_min_ms) < 0 ||
	    duration_opt("backoff-max", o->backoff_max, 10, 86400000, &s->backoff_max_ms) < 0 ||
	    duration_opt("backoff-reset", o->backoff_reset, 1, 86400000, &s->backoff_reset_ms) < 0)
		return -1;
	if (s->backoff_max_ms < s->restart_min_ms) {
		log_warnx("--backoff-max must not be shorter than --restart-min");
		return -1;
	}
	s->init_path = o->init_path ? o->init_path : INIT_CONF_DEFAULT_PATH;
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
	struct opts o;
	struct conf cf;
	struct sup s;
	struct init_conf ic;
	char err[512];
	memset(&o, 0, sizeof o);
	memset(&s, 0, sizeof s);
	s.devnull = -1;
	ensure_std_fds();
	log_init("canteen-init", LOG_LEVEL_INFO);
	conf_defaults(&cf);
	memset(&ic, 0, sizeof ic);
	if (parse_opts(argc, argv, &o) < 0 || configure(&o, &cf, &s, &ic) < 0)
		return EXIT_CONFIG;
	if (o.check) {
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
	if (control_listen(&s, cf.rundir, err, sizeof err) < 0)
		fatalx("%s", err);
	log_info("supervising %zu programs; status on %s/init.sock", s.n, cf.rundir);
	sup_start_all(&s);
	if (loop_run(s.loop) < 0)
		fatal("event loop failed");
	log_info("stopped");
	ipc_server_free(s.srv);
	sup_free(&s);
	loop_free(s.loop);
	return EXIT_DONE;
}
