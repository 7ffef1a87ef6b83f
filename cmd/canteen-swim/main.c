/* main.c: canteen-swim: flags and configuration, key, admission, UDP socket, swim.sock, leave on SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flags.h"
#include "log.h"
#include "node_id.h"
#include "parse.h"
#include "sockets.h"
#include "swimd.h"

/* The flag table: one row per flag, indexed by this enum. */
enum { F_CONFIG, F_RUNDIR, F_NODE, F_BIND, F_ADVERTISE, F_KEY_FILE, F_PEERS, F_CHAIN_SOCK, F_JOIN,
       F_STDOUT, F_PROBE_INTERVAL, F_PROBE_TIMEOUT, F_INDIRECT_CHECKS, F_SUSPICION_MIN_MULT,
       F_SUSPICION_MAX_MULT, F_RETRANSMIT_MULT, F_PUSHPULL_INTERVAL, F_GOSSIP_INTERVAL,
       F_GOSSIP_NODES, F_AWARENESS_MAX, F_LOG_LEVEL, F_N };

static const struct flag rows[F_N] = {
	[F_CONFIG] = FLAG_CONFIG,
	[F_RUNDIR] = FLAG_RUNDIR("where " SOCK_SWIM " lives"),
	[F_NODE] = FLAG_NODE,
	[F_BIND] = {"bind", 0, "IP:PORT", "swim_bind", "UDP address to listen on (default 0.0.0.0:7946)", 0},
	[F_ADVERTISE] = {"advertise", 0, "IP:PORT", "swim_advertise",
	                 "the endpoint others reach us at (checked against admission)", 0},
	[F_KEY_FILE] = {"key-file", 0, "FILE", "swim_key_file",
	                "this node's swim key pair (canteen node keygen)", 0},
	[F_PEERS] = {"peers", 0, "FILE", "swim_peers_file",
	             "chainless admission: JSON lines address/endpoint/pubkey", 0},
	[F_CHAIN_SOCK] = {"chain-sock", 0, "PATH", NULL,
	                  "chainwatch socket (default RUNDIR/" SOCK_CHAIN ")", 0},
	[F_JOIN] = {"join", 0, "IP:PORT", NULL, "contact this admitted endpoint first", SWIMD_MAX_JOIN},
	[F_STDOUT] = {"stdout", 0, NULL, NULL, "also print every event on stdout", 0},
	[F_PROBE_INTERVAL] = {"probe-interval", 0, "DURATION", "probe_interval_ms",
	                      "protocol period from 20 members on (default 1s)", 0},
	[F_PROBE_TIMEOUT] = {"probe-timeout", 0, "DURATION", "probe_timeout_ms",
	                     "direct ack timeout (default 500ms)", 0},
	[F_INDIRECT_CHECKS] = {"indirect-checks", 0, "N", "indirect_checks",
	                       "members asked to probe indirectly (default 3)", 0},
	[F_SUSPICION_MIN_MULT] = {"suspicion-min-mult", 0, "N", "suspicion_min_mult",
	                          "minimum suspicion, in periods x log10(n) within [1, 1.5] (default 3)", 0},
	[F_SUSPICION_MAX_MULT] = {"suspicion-max-mult", 0, "N", "suspicion_max_mult",
	                          "maximum suspicion, as a multiple of the minimum (default 6)", 0},
	[F_RETRANSMIT_MULT] = {"retransmit-mult", 0, "N", "retransmit_mult",
	                       "each update is sent N x ceil(log10(n+1)) times (default 4)", 0},
	[F_PUSHPULL_INTERVAL] = {"pushpull-interval", 0, "DURATION", "pushpull_interval_ms",
	                         "full state exchange period, 0 for none (default 30s)", 0},
	[F_GOSSIP_INTERVAL] = {"gossip-interval", 0, "DURATION", "gossip_interval_ms",
	                       "gossip period (default 200ms)", 0},
	[F_GOSSIP_NODES] = {"gossip-nodes", 0, "N", "gossip_nodes",
	                    "members gossiped to each period (default 3)", 0},
	[F_AWARENESS_MAX] = {"awareness-max", 0, "N", "awareness_max",
	                     "local health multiplier cap (default 8)", 0},
	[F_LOG_LEVEL] = FLAG_LOG_LEVEL,
};

static const struct flag_table flags = {"canteen-swim", rows, F_N, "See canteen-swim(8).\n"};

static int configure(const struct flag_values *v, struct swimd *d)
{
	char err[1024];
	const struct conf *c = &d->cf;
	if (c->probe_timeout_ms >= c->probe_interval_ms) {
		log_warnx("probe_timeout_ms (%llu) must be shorter than probe_interval_ms (%llu)",
		          (unsigned long long)c->probe_timeout_ms,
		          (unsigned long long)c->probe_interval_ms);
		return -1;
	}
	if (!c->swim_key_file[0]) {
		log_warnx("no key file: set swim_key_file or --key-file (canteen node keygen makes one)");
		return -1;
	}
	d->scfg = (struct swim_config){
		.probe_interval_ms = c->probe_interval_ms,
		.probe_timeout_ms = c->probe_timeout_ms,
		.gossip_interval_ms = c->gossip_interval_ms,
		.pushpull_interval_ms = c->pushpull_interval_ms,
		.indirect_checks = (unsigned)c->indirect_checks,
		.suspicion_min_mult = (unsigned)c->suspicion_min_mult,
		.suspicion_max_mult = (unsigned)c->suspicion_max_mult,
		.retransmit_mult = (unsigned)c->retransmit_mult,
		.gossip_nodes = (unsigned)c->gossip_nodes,
		.awareness_max = (unsigned)c->awareness_max,
	};
	if (swim_keys_load(c->swim_key_file, &d->keys, err, sizeof err) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	/* Who we are: node_name if set. Otherwise the admitted record that holds our swim
	 * public key tells us (admit.c): the private Ethereum key in key_file is only for
	 * the processes that sign, so this one never reads it. */
	if (c->node_name[0]) {
		char self[NODE_ID_LEN + 1];
		if (node_id_address(c, self, err, sizeof err) < 0) {
			log_warnx("%s", err);
			return -1;
		}
		swim_addr_parse(self, d->self); /* node_id_address checked it */
		d->self_known = 1;
	}
	for (size_t i = 0; i < v->nall; i++)
		if (v->row[i] == F_JOIN)
			d->joins[d->njoins++] = v->all[i];
	if (v->value[F_CHAIN_SOCK])
		snprintf(d->chain_sock, sizeof d->chain_sock, "%s", v->value[F_CHAIN_SOCK]);
	else
		snprintf(d->chain_sock, sizeof d->chain_sock, "%s/" SOCK_CHAIN, c->rundir);
	return 0;
}

/* In chainless mode our own line must be in the peers file, with our public key. */
static int check_self_endpoint(struct swimd *d)
{
	const char *why = "";
	const struct node_rec *me = admit_self(d, &why);
	char hex[43];
	swim_addr_hex(d->self, hex);
	if (!me && !d->self_known) {
		log_warnx("%s: %s", d->cf.swim_peers_file, why);
		return -1;
	}
	if (!me) {
		log_warnx("%s does not list this node %s%s", d->cf.swim_peers_file, hex, why);
		return -1;
	}
	if (d->cf.swim_advertise[0] && strcmp(me->endpoint, d->cf.swim_advertise) != 0)
		log_warnx("advertised endpoint %s differs from the admitted one %s; peers use "
		          "the admitted one", d->cf.swim_advertise, me->endpoint);
	return 0;
}

static void on_leave_done(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

static void on_stop(struct loop *l, int signo, void *arg)
{
	struct swimd *d = arg;
	if (d->leaving || !d->swim || !d->self_active) {
		loop_stop(l);
		return;
	}
	d->leaving = 1;
	log_info("signal %d: leaving the cluster", signo);
	swim_leave(d->swim, loop_now(l));
	swimd_reschedule(d);
	/* Keep gossiping the leave for a few gossip periods, then go. */
	uint64_t grace = d->cf.gossip_interval_ms * 3;
	loop_timer_add(l, grace < 100 ? 100 : grace > 1000 ? 1000 : grace, on_leave_done, d);
}

int main(int argc, char **argv)
{
	static struct swimd d;
	struct flag_values v;
	char err[1024];
	d.fd = -1;
	d.self_active = -1; /* unknown until the first admission list */
	d.self_why = "no admission list yet";
	log_init("canteen-swim", LOG_LEVEL_INFO);
	conf_defaults(&d.cf);
	int rc = flags_load(&flags, argc, argv, &v, &d.cf, err, sizeof err);
	if (rc >= 0) {
		if (err[0])
			log_warnx("%s", err);
		return rc;
	}
	if (configure(&v, &d) < 0)
		return EXIT_CONFIG;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	d.loop = loop_new();
	if (!d.loop)
		fatal("loop_new");
	if (net_open(&d, err, sizeof err) < 0) {
		log_warnx("%s", err);
		return EXIT_TEMP;
	}
	if (d.cf.swim_peers_file[0]) {
		if (admit_load_peers(&d, d.cf.swim_peers_file, err, sizeof err) < 0) {
			log_warnx("%s", err);
			return EXIT_CONFIG;
		}
		admit_sync(&d);
		if (check_self_endpoint(&d) < 0)
			return EXIT_CONFIG;
		log_info("admitted %zu nodes from %s", d.nnodes, d.cf.swim_peers_file);
	} else {
		admit_start_chain(&d);
	}
	if (ctl_listen(&d, err, sizeof err) < 0) {
		log_warnx("%s", err);
		return EXIT_TEMP;
	}
	if (v.value[F_STDOUT])
		ipc_server_mirror(d.srv, STDOUT_FILENO);
	if (loop_signal(d.loop, SIGTERM, on_stop, &d) < 0 ||
	    loop_signal(d.loop, SIGINT, on_stop, &d) < 0)
		fatal("cannot install signal handlers");
	log_info("listening on udp %s; swim.sock in %s", d.cf.swim_bind, d.cf.rundir);
	if (d.swim)
		swim_join(d.swim, loop_now(d.loop));
	swimd_reschedule(&d);
	if (loop_run(d.loop) < 0)
		fatal("event loop failed");
	log_info("stopped");
	ipc_server_free(d.srv);
	if (d.chain)
		ipc_client_free(d.chain);
	admit_free(&d);
	swim_free(d.swim);
	swim_key_pool_free(&d.keypool);
	swim_keys_free(&d.keys);
	close(d.fd);
	loop_free(d.loop);
	return EXIT_DONE;
}
