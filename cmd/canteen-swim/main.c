/* main.c: canteen-swim: flags and configuration, key, admission, UDP socket, swim.sock, leave on SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"
#include "swimd.h"

/* Flags that set a canteen.conf key. */
static const struct {
	const char *flag, *key;
} conf_flags[] = {
	{"rundir", "rundir"},
	{"bind", "swim_bind"},
	{"advertise", "swim_advertise"},
	{"key-file", "swim_key_file"},
	{"peers", "swim_peers_file"},
	{"probe-interval", "probe_interval_ms"},
	{"probe-timeout", "probe_timeout_ms"},
	{"indirect-checks", "indirect_checks"},
	{"suspicion-min-mult", "suspicion_min_mult"},
	{"suspicion-max-mult", "suspicion_max_mult"},
	{"retransmit-mult", "retransmit_mult"},
	{"pushpull-interval", "pushpull_interval_ms"},
	{"gossip-interval", "gossip_interval_ms"},
	{"gossip-nodes", "gossip_nodes"},
	{"awareness-max", "awareness_max"},
	{"log-level", "log_level"},
};
#define NCONF_FLAGS (sizeof conf_flags / sizeof conf_flags[0])

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: canteen-swim [-c FILE] [-d DIR] [--bind IP:PORT] [--advertise IP:PORT]\n"
	        "                    [--key-file FILE] [--peers FILE | --chain-sock PATH]\n"
	        "                    [--join IP:PORT]... [--stdout] [timing flags]\n"
	        "  -c, --config FILE          canteen.conf (default %s)\n"
	        "  -d, --rundir DIR           where swim.sock lives (default /run/canteen)\n"
	        "      --bind IP:PORT         UDP address to listen on (default 0.0.0.0:7946)\n"
	        "      --advertise IP:PORT    the endpoint others reach us at (checked against admission)\n"
	        "      --key-file FILE        this node's swim key pair (canteen node keygen)\n"
	        "      --peers FILE           chainless admission: JSON lines address/endpoint/pubkey\n"
	        "      --chain-sock PATH      chainwatch socket (default RUNDIR/chain.sock)\n"
	        "      --join IP:PORT         contact this admitted endpoint first (repeatable)\n"
	        "      --stdout               also print every event on stdout\n"
	        "      --probe-interval D     protocol period (default 1s)\n"
	        "      --probe-timeout D      direct ack timeout (default 500ms)\n"
	        "      --indirect-checks N    members asked to probe indirectly (default 3)\n"
	        "      --suspicion-min-mult N minimum suspicion, in probe intervals x log10(n) (4)\n"
	        "      --suspicion-max-mult N maximum suspicion, as a multiple of the minimum (6)\n"
	        "      --retransmit-mult N    each update is sent N x ceil(log10(n+1)) times (4)\n"
	        "      --pushpull-interval D  full state exchange period, 0 for none (default 30s)\n"
	        "      --gossip-interval D    gossip period (default 200ms)\n"
	        "      --gossip-nodes N       members gossiped to each period (default 3)\n"
	        "      --awareness-max N      local health multiplier cap (default 8)\n"
	        "      --log-level LEVEL      error, warn, info or debug\n"
	        "See canteen-swim(8).\n",
	        CONF_DEFAULT_PATH);
}

struct opts {
	const char *conf_path, *chain_sock;
	const char *set[NCONF_FLAGS];
	int to_stdout;
};

static int parse_opts(int argc, char **argv, struct opts *o, struct swimd *d)
{
	enum { O_JOIN = 300, O_CHAIN, O_STDOUT, O_HELP, O_VERSION, O_CONF = 400 };
	struct option longopts[NCONF_FLAGS + 7];
	size_t n = 0;
	for (size_t i = 0; i < NCONF_FLAGS; i++)
		longopts[n++] = (struct option){conf_flags[i].flag, required_argument, NULL,
		                                (int)(O_CONF + i)};
	longopts[n++] = (struct option){"config", required_argument, NULL, 'c'};
	longopts[n++] = (struct option){"join", required_argument, NULL, O_JOIN};
	longopts[n++] = (struct option){"chain-sock", required_argument, NULL, O_CHAIN};
	longopts[n++] = (struct option){"stdout", no_argument, NULL, O_STDOUT};
	longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[n++] = (struct option){"version", no_argument, NULL, 'V'};
	longopts[n] = (struct option){NULL, 0, NULL, 0};
	int ch;
	while ((ch = getopt_long(argc, argv, "c:d:hV", longopts, NULL)) != -1) {
		if (ch >= O_CONF && ch < O_CONF + (int)NCONF_FLAGS) {
			o->set[ch - O_CONF] = optarg;
			continue;
		}
		switch (ch) {
		case 'c': o->conf_path = optarg; break;
		case 'd': o->set[0] = optarg; break;
		case O_JOIN:
			if (d->njoins == SWIMD_MAX_JOIN) {
				log_warnx("too many --join flags (limit %d)", SWIMD_MAX_JOIN);
				return -1;
			}
			d->joins[d->njoins++] = optarg;
			break;
		case O_CHAIN: o->chain_sock = optarg; break;
		case O_STDOUT: o->to_stdout = 1; break;
		case 'h': usage(stdout); exit(EXIT_DONE);
		case 'V': printf("canteen-swim %s\n", CANTEEN_VERSION); exit(EXIT_DONE);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		log_warnx("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

static int configure(struct opts *o, struct swimd *d)
{
	char err[1024];
	struct conf_flag flags[NCONF_FLAGS];
	for (size_t i = 0; i < NCONF_FLAGS; i++)
		flags[i] = (struct conf_flag){conf_flags[i].flag, conf_flags[i].key, o->set[i]};
	if (conf_setup(&d->cf, o->conf_path, flags, NCONF_FLAGS, err, sizeof err) < 0) {
		log_warnx("%s", err);
		return -1;
	}
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
	if (o->chain_sock)
		snprintf(d->chain_sock, sizeof d->chain_sock, "%s", o->chain_sock);
	else
		snprintf(d->chain_sock, sizeof d->chain_sock, "%s/chain.sock", c->rundir);
	return 0;
}

/* In chainless mode our own line must be in the peers file (found by public key). */
static int check_self_endpoint(struct swimd *d)
{
	if (!d->have_self) {
		log_warnx("%s does not list this node's public key", d->cf.swim_peers_file);
		return -1;
	}
	for (size_t i = 0; i < d->nnodes; i++)
		if (memcmp(d->nodes[i].addr, d->self, SWIM_ADDR_LEN) == 0 && d->cf.swim_advertise[0] &&
		    strcmp(d->nodes[i].endpoint, d->cf.swim_advertise) != 0)
			log_warnx("advertised endpoint %s differs from the admitted one %s; peers use "
			          "the admitted one", d->cf.swim_advertise, d->nodes[i].endpoint);
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
	struct opts o;
	char err[512];
	memset(&o, 0, sizeof o);
	d.fd = -1;
	d.self_active = -1; /* unknown until the first admission list */
	log_init("canteen-swim", LOG_LEVEL_INFO);
	conf_defaults(&d.cf);
	if (parse_opts(argc, argv, &o, &d) < 0 || configure(&o, &d) < 0)
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
	if (o.to_stdout)
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
	swim_keys_free(&d.keys);
	close(d.fd);
	loop_free(d.loop);
	return EXIT_DONE;
}
