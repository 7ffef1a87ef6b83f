/* main.c: canteen-sched: flags and configuration, then place replicas until told to stop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "flags.h"
#include "log.h"
#include "node_id.h"
#include "parse.h"
#include "sched.h"
#include "sockets.h"

/* The flag table: one row per flag, indexed by this enum. */
enum { F_CONFIG, F_RUNDIR, F_NODE, F_KEY_FILE, F_DEBOUNCE, F_CHAIN_SOCK, F_SWIM_SOCK,
       F_DOCKERD_SOCK, F_SCHED_SOCK, F_LOG_LEVEL, F_N };

static const struct flag rows[F_N] = {
	[F_CONFIG] = FLAG_CONFIG,
	[F_RUNDIR] = FLAG_RUNDIR("run directory of the sockets"),
	[F_NODE] = FLAG_NODE,
	[F_KEY_FILE] = {"key-file", 0, "PATH", "key_file",
	                "derive the address from this Ethereum key (conf key_file)", 0},
	[F_DEBOUNCE] = {"debounce", 0, "DURATION", "debounce_ms",
	                "wait this long after a change before placing (default 100ms)", 0},
	[F_CHAIN_SOCK] = {"chain-sock", 0, "PATH", NULL,
	                  "canteen-chainwatch's socket (default RUNDIR/" SOCK_CHAIN ")", 0},
	[F_SWIM_SOCK] = {"swim-sock", 0, "PATH", NULL,
	                 "canteen-swim's socket (default RUNDIR/" SOCK_SWIM ")", 0},
	[F_DOCKERD_SOCK] = {"dockerd-sock", 0, "PATH", NULL,
	                    "canteen-dockerd's socket (default RUNDIR/" SOCK_DOCKERD ")", 0},
	[F_SCHED_SOCK] = {"sched-sock", 0, "PATH", NULL,
	                  "the socket served here (default RUNDIR/" SOCK_SCHED ")", 0},
	[F_LOG_LEVEL] = FLAG_LOG_LEVEL,
};

static const struct flag_table flags = {"canteen-sched", rows, F_N, "See canteen-sched(8).\n"};

static int sock_path(char *out, const char *flag, const char *rundir, const char *name)
{
	int n = flag ? snprintf(out, SCHED_PATH_MAX, "%s", flag)
	             : snprintf(out, SCHED_PATH_MAX, "%s/%s", rundir, name);
	if (n < 0 || n >= SCHED_PATH_MAX) {
		log_warnx("socket path for %s is too long", name);
		return -1;
	}
	return 0;
}

static int configure(const struct flag_values *v, struct sched *s)
{
	struct conf *cf = &s->conf;
	char err[768];
	int id = node_id_address(cf, s->node, err, sizeof err);
	if (id < 0) {
		log_warnx("%s", err);
		return -1;
	}
	if (id == 1)
		log_warnx("%s", err);
	if (sock_path(s->chain_path, v->value[F_CHAIN_SOCK], cf->rundir, SOCK_CHAIN) < 0 ||
	    sock_path(s->swim_path, v->value[F_SWIM_SOCK], cf->rundir, SOCK_SWIM) < 0 ||
	    sock_path(s->dockerd_path, v->value[F_DOCKERD_SOCK], cf->rundir, SOCK_DOCKERD) < 0 ||
	    sock_path(s->sched_path, v->value[F_SCHED_SOCK], cf->rundir, SOCK_SCHED) < 0)
		return -1;
	return 0;
}

static void on_stop(struct loop *l, int signo, void *arg)
{
	(void)arg;
	log_info("signal %d: stopping (containers are left to canteen-dockerd)", signo);
	loop_stop(l);
}

int main(int argc, char **argv)
{
	struct flag_values v;
	struct sched s;
	char err[1024];
	memset(&s, 0, sizeof s);
	log_init("canteen-sched", LOG_LEVEL_INFO);
	conf_defaults(&s.conf);
	int rc = flags_load(&flags, argc, argv, &v, &s.conf, err, sizeof err);
	if (rc >= 0) {
		if (err[0])
			log_warnx("%s", err);
		return rc;
	}
	if (configure(&v, &s) < 0)
		return EXIT_CONFIG;
	if (sodium_init() < 0)
		fatalx("libsodium failed to initialise");
	signal(SIGPIPE, SIG_IGN);
	s.loop = loop_new();
	if (!s.loop)
		fatalx("out of memory");
	loop_signal(s.loop, SIGTERM, on_stop, NULL);
	loop_signal(s.loop, SIGINT, on_stop, NULL);
	if (sched_start(&s, err, sizeof err) < 0) {
		log_warnx("%s", err);
		sched_stop(&s);
		loop_free(s.loop);
		return EXIT_TEMP;
	}
	log_info("node %s: following %s and %s, serving %s (debounce %llu ms)", s.node, s.chain_path,
	         s.swim_path, s.sched_path, (unsigned long long)s.conf.debounce_ms);
	rc = loop_run(s.loop);
	sched_stop(&s);
	loop_free(s.loop);
	return rc < 0 ? EXIT_TEMP : EXIT_DONE;
}
