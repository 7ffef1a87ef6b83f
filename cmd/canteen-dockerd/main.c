/* main.c: canteen-dockerd: flags and configuration, then reconcile with Docker until told to stop. */
#include <arpa/inet.h>
#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dockerd.h"
#include "eth_key.h"
#include "log.h"
#include "parse.h"

struct opts {
	const char *conf_path, *rundir, *node, *docker_host, *advertise, *grace, *log_level;
	const char *parallel;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: canteen-dockerd [-c FILE] [-d DIR] [--node ADDRESS] [--docker-host PATH]\n"
	        "                       [--advertise-addr IP] [--stop-grace DURATION]\n"
	        "                       [--parallel N] [--log-level LEVEL]\n"
	        "  -c, --config FILE        canteen.conf (default %s)\n"
	        "  -d, --rundir DIR         where dockerd.sock lives (default /run/canteen)\n"
	        "      --node ADDRESS       this node's 0x address (conf node_name)\n"
	        "      --docker-host PATH   Docker's Unix socket (default /var/run/docker.sock)\n"
	        "      --advertise-addr IP  address published ports bind to (default: all)\n"
	        "      --stop-grace D       SIGTERM to SIGKILL when stopping (default 10s)\n"
	        "      --parallel N         Docker operations in flight at most (default 16)\n"
	        "      --log-level LEVEL    error, warn, info or debug\n"
	        "See canteen-dockerd(8).\n",
	        CONF_DEFAULT_PATH);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_NODE = 256, O_HOST, O_ADV, O_GRACE, O_LEVEL, O_PAR };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"rundir", required_argument, NULL, 'd'},
		{"node", required_argument, NULL, O_NODE},
		{"docker-host", required_argument, NULL, O_HOST},
		{"advertise-addr", required_argument, NULL, O_ADV},
		{"stop-grace", required_argument, NULL, O_GRACE},
		{"parallel", required_argument, NULL, O_PAR},
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
		case O_HOST: o->docker_host = optarg; break;
		case O_ADV: o->advertise = optarg; break;
		case O_GRACE: o->grace = optarg; break;
		case O_PAR: o->parallel = optarg; break;
		case O_LEVEL: o->log_level = optarg; break;
		case 'h': usage(stdout); exit(EXIT_DONE);
		case 'V': printf("canteen-dockerd %s\n", CANTEEN_VERSION); exit(EXIT_DONE);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		log_warnx("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

static int configure(const struct opts *o, struct dd *dd)
{
	struct conf *cf = &dd->conf;
	char err[1024];
	const struct conf_flag flags[] = {
		{"rundir", "rundir", o->rundir},
		{"node", "node_name", o->node},
		{"docker-host", "docker_host", o->docker_host},
		{"advertise-addr", "advertise_addr", o->advertise},
		{"stop-grace", "stop_grace_ms", o->grace},
		{"log-level", "log_level", o->log_level},
	};
	conf_defaults(cf);
	if (conf_setup(cf, o->conf_path, flags, sizeof flags / sizeof flags[0], err, sizeof err) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	/* As canteen-sched does: the node's identity is its key's address. */
	if (conf_node_address(cf, err, sizeof err) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	if (!rec_address_ok(cf->node_name)) {
		log_warnx("this node's address is needed: --node 0x<40 hex digits> (conf node_name) "
		          "or key_file%s%s",
		          cf->node_name[0] ? "; got " : "", cf->node_name);
		return -1;
	}
	str_copy(dd->node, sizeof dd->node, cf->node_name);
	unsigned char addr[16];
	if (cf->advertise_addr[0] && inet_pton(AF_INET, cf->advertise_addr, addr) != 1 &&
	    inet_pton(AF_INET6, cf->advertise_addr, addr) != 1) {
		log_warnx("advertise_addr '%s' is not an IP address", cf->advertise_addr);
		return -1;
	}
	const char *host = cf->docker_host;
	if (strncmp(host, "unix://", 7) == 0)
		host += 7;
	if (host[0] != '/') {
		log_warnx("docker_host '%s' must be a Unix socket path (unix:///path or /path)",
		          cf->docker_host);
		return -1;
	}
	char tmp[CONF_STR_MAX];
	str_copy(tmp, sizeof tmp, host);
	str_copy(cf->docker_host, sizeof cf->docker_host, tmp);
	uint64_t par = 16;
	if (o->parallel && parse_u64(o->parallel, 1, 256, &par, err, sizeof err) < 0) {
		log_warnx("--parallel: %s", err);
		return -1;
	}
	dd->parallel = (unsigned)par;
	int n = snprintf(dd->sock_path, sizeof dd->sock_path, "%s/dockerd.sock", cf->rundir);
	if (n < 0 || (size_t)n >= sizeof dd->sock_path) {
		log_warnx("rundir is too long");
		return -1;
	}
	return 0;
}

static void on_term(struct loop *l, int signo, void *arg)
{
	(void)arg;
	log_info("signal %d: exiting, containers are left as they are", signo);
	loop_stop(l);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct dd dd;
	char err[512];
	memset(&o, 0, sizeof o);
	memset(&dd, 0, sizeof dd);
	log_init("canteen-dockerd", LOG_LEVEL_INFO);
	if (parse_opts(argc, argv, &o) < 0 || configure(&o, &dd) < 0)
		return EXIT_CONFIG;
	signal(SIGPIPE, SIG_IGN);
	dd.loop = loop_new();
	if (!dd.loop)
		fatal("loop_new");
	if (loop_signal(dd.loop, SIGTERM, on_term, NULL) < 0 ||
	    loop_signal(dd.loop, SIGINT, on_term, NULL) < 0)
		fatal("signals");
	dd.dk = docker_new(dd.loop, dd.conf.docker_host, err, sizeof err);
	if (!dd.dk)
		fatalx("%s", err);
	if (server_start(&dd, err, sizeof err) < 0) {
		log_warnx("%s: %s", dd.sock_path, err);
		return EXIT_TEMP;
	}
	log_info("node %s, Docker at %s, listening on %s", dd.node, dd.conf.docker_host,
	         dd.sock_path);
	engine_start(&dd);
	int rc = loop_run(dd.loop);
	ipc_server_free(dd.srv);
	docker_free(dd.dk);
	reconcile_free(&dd);
	docker_desired_free(&dd.desired);
	while (dd.ctrs) {
		struct ctr *c = dd.ctrs;
		dd.ctrs = c->next;
		free(c);
	}
	while (dd.slots) {
		struct slot *s = dd.slots;
		dd.slots = s->next;
		free(s);
	}
	while (dd.images) {
		struct image *i = dd.images;
		dd.images = i->next;
		free(i);
	}
	loop_free(dd.loop);
	return rc < 0 ? EXIT_TEMP : EXIT_DONE;
}
