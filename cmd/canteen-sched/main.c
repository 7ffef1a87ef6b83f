/* main.c: canteen-sched: flags and configuration, then place replicas until told to stop. */
#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "eth_key.h"
#include "log.h"
#include "rec.h"
#include "parse.h"
#include "sched.h"

struct opts {
	const char *conf_path, *rundir, *node, *key_file, *debounce, *log_level;
	const char *chain, *swim, *dockerd, *sched;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: canteen-sched [-c FILE] [-d DIR] [--node ADDRESS] [--key-file PATH]\n"
	        "                     [--debounce DURATION] [--chain-sock PATH] [--swim-sock PATH]\n"
	        "                     [--dockerd-sock PATH] [--sched-sock PATH] [--log-level LEVEL]\n"
	        "  -c, --config FILE       canteen.conf (default %s)\n"
	        "  -d, --rundir DIR        run directory of the sockets (default /run/canteen)\n"
	        "      --node ADDRESS      this node's 0x address (conf node_name)\n"
	        "      --key-file PATH     derive the address from this Ethereum key (conf key_file)\n"
	        "      --debounce D        wait this long after a change before placing (default 100ms)\n"
	        "      --chain-sock PATH   canteen-chainwatch's socket (default RUNDIR/chain.sock)\n"
	        "      --swim-sock PATH    canteen-swim's socket (default RUNDIR/swim.sock)\n"
	        "      --dockerd-sock PATH canteen-dockerd's socket (default RUNDIR/dockerd.sock)\n"
	        "      --sched-sock PATH   the socket served here (default RUNDIR/sched.sock)\n"
	        "      --log-level LEVEL   error, warn, info or debug\n"
	        "See canteen-sched(8).\n",
	        CONF_DEFAULT_PATH);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_NODE = 256, O_KEY, O_DEB, O_LEVEL, O_CHAIN, O_SWIM, O_DOCKERD, O_SCHED };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"rundir", required_argument, NULL, 'd'},
		{"node", required_argument, NULL, O_NODE},
		{"key-file", required_argument, NULL, O_KEY},
		{"debounce", required_argument, NULL, O_DEB},
		{"chain-sock", required_argument, NULL, O_CHAIN},
		{"swim-sock", required_argument, NULL, O_SWIM},
		{"dockerd-sock", required_argument, NULL, O_DOCKERD},
		{"sched-sock", required_argument, NULL, O_SCHED},
		{"log-level", required_argument, NULL, O_LEVEL},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "c:d:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->conf_path = optarg; break;
		case 'd': o->rundir = optarg; break;
		case O_NODE: o->node = optarg; break;
		case O_KEY: o->key_file = optarg; break;
		case O_DEB: o->debounce = optarg; break;
		case O_CHAIN: o->chain = optarg; break;
		case O_SWIM: o->swim = optarg; break;
		case O_DOCKERD: o->dockerd = optarg; break;
		case O_SCHED: o->sched = optarg; break;
		case O_LEVEL: o->log_level = optarg; break;
		case 'h': usage(stdout); exit(EXIT_DONE);
		case 'V': printf("canteen-sched %s\n", CANTEEN_VERSION); exit(EXIT_DONE);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		log_warnx("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

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

/* This node's identity: --node / node_name, else the address of key_file's key. */
static int identity(struct sched *s)
{
	struct conf *cf = &s->conf;
	char err[768];
	if (conf_node_address(cf, err, sizeof err) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	if (!rec_address_ok(cf->node_name)) {
		log_warnx("this node's address is needed: --node 0x<40 hex digits> (conf node_name) "
		          "or --key-file%s%s", cf->node_name[0] ? "; got " : "", cf->node_name);
		return -1;
	}
	str_copy(s->node, sizeof s->node, cf->node_name);
	return 0;
}

static int configure(const struct opts *o, struct sched *s)
{
	struct conf *cf = &s->conf;
	char err[1024];
	const struct conf_flag flags[] = {
		{"rundir", "rundir", o->rundir},
		{"node", "node_name", o->node},
		{"key-file", "key_file", o->key_file},
		{"debounce", "debounce_ms", o->debounce},
		{"log-level", "log_level", o->log_level},
	};
	conf_defaults(cf);
	if (conf_setup(cf, o->conf_path, flags, sizeof flags / sizeof flags[0], err, sizeof err) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	if (identity(s) < 0)
		return -1;
	if (sock_path(s->chain_path, o->chain, cf->rundir, "chain.sock") < 0 ||
	    sock_path(s->swim_path, o->swim, cf->rundir, "swim.sock") < 0 ||
	    sock_path(s->dockerd_path, o->dockerd, cf->rundir, "dockerd.sock") < 0 ||
	    sock_path(s->sched_path, o->sched, cf->rundir, "sched.sock") < 0)
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
	struct opts o;
	struct sched s;
	char err[512];
	memset(&o, 0, sizeof o);
	memset(&s, 0, sizeof s);
	log_init("canteen-sched", LOG_LEVEL_INFO);
	if (parse_opts(argc, argv, &o) < 0 || configure(&o, &s) < 0)
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
	int rc = loop_run(s.loop);
	sched_stop(&s);
	loop_free(s.loop);
	return rc < 0 ? EXIT_TEMP : EXIT_DONE;
}
