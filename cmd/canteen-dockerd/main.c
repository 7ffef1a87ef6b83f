/* main.c: canteen-dockerd: flags and configuration, then reconcile with Docker until told to stop. */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dockerd.h"
#include "census.h"
#include "flags.h"
#include "imgx.h"
#include "link.h"
#include "log.h"
#include "node_id.h"
#include "parse.h"
#include "priv.h"
#include "rollout.h"
#include "rstate.h"
#include "peerfile.h"
#include "sockets.h"
#include "volumes.h"

/* The flag table: one row per flag, indexed by this enum. */
enum { F_CONFIG, F_RUNDIR, F_NODE, F_DOCKER_HOST, F_ADVERTISE_ADDR, F_STOP_GRACE, F_PARALLEL,
       F_BIND, F_KEY_FILE, F_CHAIN_SOCK, F_LOG_LEVEL, F_N };

static const struct flag rows[F_N] = {
	[F_CONFIG] = FLAG_CONFIG,
	[F_RUNDIR] = FLAG_RUNDIR("where " SOCK_DOCKERD " lives"),
	[F_NODE] = FLAG_NODE,
	[F_DOCKER_HOST] = {"docker-host", 0, "PATH", "docker_host",
	                   "Docker's Unix socket (default /var/run/docker.sock)", 0},
	[F_ADVERTISE_ADDR] = {"advertise-addr", 0, "IP", "advertise_addr",
	                      "address published ports bind to (default: all)", 0},
	[F_STOP_GRACE] = {"stop-grace", 0, "DURATION", "stop_grace_ms",
	                  "SIGTERM to SIGKILL when stopping (default 10s)", 0},
	[F_PARALLEL] = {"parallel", 0, "N", NULL, "Docker operations in flight at most (default 16)", 0},
	[F_BIND] = {"bind", 0, "IP:PORT", "swim_bind",
	            "the channel's TCP address: SWIM's, over TCP (default 0.0.0.0:7946)", 0},
	[F_KEY_FILE] = {"key-file", 0, "FILE", "swim_key_file",
	                "the node's swim key pair, which the channel authenticates with", 0},
	[F_CHAIN_SOCK] = {"chain-sock", 0, "PATH", NULL,
	                  "canteen-chainwatch's socket: the admitted servers (default RUNDIR/" SOCK_CHAIN ")",
	                  0},
	[F_LOG_LEVEL] = FLAG_LOG_LEVEL,
};

static const struct flag_table flags = {"canteen-dockerd", rows, F_N, "See canteen-dockerd(8).\n"};

static int configure(const struct flag_values *v, struct dd *dd)
{
	struct conf *cf = &dd->conf;
	char err[1024];
	/* As canteen-sched does: the node's identity is its key's address. */
	int id = node_id_address(cf, dd->node, err, sizeof err);
	if (id < 0) {
		log_warnx("%s", err);
		return -1;
	}
	if (id == 1)
		log_warnx("%s", err);
	if (docker_cluster_id(cf->contract, cf->chain_id, dd->cluster, sizeof dd->cluster, err,
	                      sizeof err) < 0 ||
	    docker_policy_from_conf(cf, &dd->policy, err, sizeof err) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	enum img_source src;
	if (imgx_source_parse(cf->image_source, &src) < 0) {
		log_warnx("image_source '%s' is not one of peers_first, registry_first, peers_only, "
		          "registry_only", cf->image_source);
		return -1;
	}
	dd->image_source = (int)src;
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
	if (v->value[F_PARALLEL] && parse_u64(v->value[F_PARALLEL], 1, 256, &par, err, sizeof err) < 0) {
		log_warnx("--parallel: %s", err);
		return -1;
	}
	dd->parallel = (unsigned)par;
	int n = snprintf(dd->sock_path, sizeof dd->sock_path, "%s/" SOCK_DOCKERD, cf->rundir);
	int m = v->value[F_CHAIN_SOCK]
	            ? snprintf(dd->chain_sock, sizeof dd->chain_sock, "%s", v->value[F_CHAIN_SOCK])
	            : snprintf(dd->chain_sock, sizeof dd->chain_sock, "%s/" SOCK_CHAIN, cf->rundir);
	if (n < 0 || (size_t)n >= sizeof dd->sock_path || m < 0 || (size_t)m >= sizeof dd->chain_sock) {
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

/* dockerd.sock made as canteen.conf's user (u non-NULL: we are root and one is set): the
 * run directory is that user's (canteen-init hands it over) and canteen-sched, running as
 * that user, connects to it. 0, or -1 with a sentence in err. */
static int serve_as(struct dd *dd, const struct priv_user *u, char *err, size_t errlen)
{
	if (u && priv_enter(u, err, errlen) < 0)
		return -1;
	int rc = server_start(dd, err, errlen);
	if (u && priv_leave() < 0)
		fatal("cannot return to root after making " SOCK_DOCKERD);
	return rc;
}

int main(int argc, char **argv)
{
	struct flag_values v;
	struct dd dd;
	char err[1024];
	memset(&dd, 0, sizeof dd);
	log_init("canteen-dockerd", LOG_LEVEL_INFO);
	conf_defaults(&dd.conf);
	int rc = flags_load(&flags, argc, argv, &v, &dd.conf, err, sizeof err);
	if (rc >= 0) {
		if (err[0])
			log_warnx("%s", err);
		return rc;
	}
	if (configure(&v, &dd) < 0)
		return EXIT_CONFIG;
	struct priv_user user, *as = NULL;
	if (dd.conf.user[0] && geteuid() == 0) {
		if (priv_user_lookup(dd.conf.user, &user, err, sizeof err) < 0) {
			log_warnx("user: %s", err);
			return EXIT_CONFIG;
		}
		as = &user;
	}
	signal(SIGPIPE, SIG_IGN);
	dd.loop = loop_new();
	if (!dd.loop)
		fatal("loop_new");
	rollout_init(&dd);
	if (loop_signal(dd.loop, SIGTERM, on_term, NULL) < 0 ||
	    loop_signal(dd.loop, SIGINT, on_term, NULL) < 0)
		fatal("signals");
	dd.dk = docker_new(dd.loop, dd.conf.docker_host, err, sizeof err);
	if (!dd.dk)
		fatalx("%s", err);
	if (serve_as(&dd, as, err, sizeof err) < 0) {
		log_warnx("%s: %s", dd.sock_path, err);
		return EXIT_TEMP;
	}
	log_info("node %s, cluster %s, Docker at %s, listening on %s", dd.node, dd.cluster,
	         dd.conf.docker_host, dd.sock_path);
	/* The channel is for logs (and later images) from other servers: without it this server
	 * still runs its containers. */
	if (!dd.conf.swim_key_file[0])
		log_info("channel off: no swim_key_file");
	else if (chan_start(&dd, err, sizeof err) < 0)
		log_warnx("channel off: %s", err);
	else
		log_info("channel on TCP %s, admitted servers from %s", dd.conf.swim_bind, dd.chain_sock);
	engine_start(&dd);
	rstate_start(&dd);
	peerfile_start(&dd);
	rollout_start(&dd);
	rc = loop_run(dd.loop);
	if (dd.chan_on)
		chan_stop(&dd);
	else {
		logs_free(&dd);
		imgx_free(&dd);
		census_free(&dd);
	}
	rstate_stop(&dd);
	peerfile_stop(&dd);
	volumes_free(&dd);
	rollout_free(&dd);
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
