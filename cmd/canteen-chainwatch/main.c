/* main.c: canteen-chainwatch: flags and configuration, chain.sock, then follow the contract. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chainwatch.h"
#include "conf.h"
#include "log.h"
#include "parse.h"

struct opts {
	const char *conf_path, *rundir, *rpc, *contract, *confirmations, *poll, *timeout;
	const char *log_level, *sock, *start_block;
	int to_stdout;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: canteen-chainwatch [-c FILE] [-d DIR] [--rpc URL] [--contract ADDRESS]\n"
	        "                          [--confirmations N] [--poll DURATION] [--rpc-timeout DURATION]\n"
	        "                          [--sock PATH] [--snapshot-block N] [--stdout]\n"
	        "                          [--log-level LEVEL]\n"
	        "  -c, --config FILE        canteen.conf (default %s)\n"
	        "  -d, --rundir DIR         run directory (default /run/canteen)\n"
	        "      --rpc URL            Ethereum JSON-RPC endpoint (conf rpc_url)\n"
	        "      --contract ADDRESS   the Canteen contract (conf contract)\n"
	        "      --confirmations N    follow this many blocks behind the head (default 2)\n"
	        "      --poll DURATION      how often to ask for new blocks (default 1s)\n"
	        "      --rpc-timeout D      limit on one RPC request (default 10s)\n"
	        "      --sock PATH          the socket served (default RUNDIR/chain.sock)\n"
	        "      --snapshot-block N   first snapshot at block N, then every later change from logs\n"
	        "      --stdout             also print the snapshot and every event on stdout\n"
	        "      --log-level LEVEL    error, warn, info or debug\n"
	        "See canteen-chainwatch(8) and canteen-events(7).\n",
	        CONF_DEFAULT_PATH);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_RPC = 256, O_CONTRACT, O_CONF, O_POLL, O_TIMEOUT, O_SOCK, O_STDOUT, O_LEVEL, O_START };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"rundir", required_argument, NULL, 'd'},
		{"rpc", required_argument, NULL, O_RPC},
		{"contract", required_argument, NULL, O_CONTRACT},
		{"confirmations", required_argument, NULL, O_CONF},
		{"poll", required_argument, NULL, O_POLL},
		{"rpc-timeout", required_argument, NULL, O_TIMEOUT},
		{"sock", required_argument, NULL, O_SOCK},
		{"stdout", no_argument, NULL, O_STDOUT},
		{"snapshot-block", required_argument, NULL, O_START},
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
		case O_RPC: o->rpc = optarg; break;
		case O_CONTRACT: o->contract = optarg; break;
		case O_CONF: o->confirmations = optarg; break;
		case O_POLL: o->poll = optarg; break;
		case O_TIMEOUT: o->timeout = optarg; break;
		case O_SOCK: o->sock = optarg; break;
		case O_STDOUT: o->to_stdout = 1; break;
		case O_START: o->start_block = optarg; break;
		case O_LEVEL: o->log_level = optarg; break;
		case 'h': usage(stdout); exit(EXIT_DONE);
		case 'V': printf("canteen-chainwatch %s\n", CANTEEN_VERSION); exit(EXIT_DONE);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		log_warnx("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

static int configure(const struct opts *o, struct conf *cf, struct chainwatch *cw, char *sock,
                     size_t socklen)
{
	char err[1024];
	const struct conf_flag flags[] = {
		{"rundir", "rundir", o->rundir},
		{"rpc", "rpc_url", o->rpc},
		{"contract", "contract", o->contract},
		{"confirmations", "confirmations", o->confirmations},
		{"poll", "poll_ms", o->poll},
		{"rpc-timeout", "rpc_timeout_ms", o->timeout},
		{"log-level", "log_level", o->log_level},
	};
	conf_defaults(cf);
	if (conf_setup(cf, o->conf_path, flags, sizeof flags / sizeof flags[0], err, sizeof err) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	if (!cf->rpc_url[0]) {
		log_warnx("no RPC endpoint: --rpc URL (conf rpc_url)");
		return -1;
	}
	if (!cf->contract[0] || eth_addr_parse(cf->contract, cw->contract) < 0) {
		log_warnx("the contract address is needed: --contract 0x<40 hex digits> (conf contract)%s%s",
		          cf->contract[0] ? "; got " : "", cf->contract);
		return -1;
	}
	eth_addr_format(cw->contract, cw->contract_hex);
	if (cf->poll_ms == 0) {
		log_warnx("poll_ms must be more than 0");
		return -1;
	}
	if (o->start_block) {
		if (parse_u64(o->start_block, 0, INT64_MAX, &cw->start_block, err, sizeof err) < 0) {
			log_warnx("--snapshot-block: %s", err);
			return -1;
		}
		cw->has_start_block = 1;
	}
	cw->confirmations = cf->confirmations;
	cw->poll_ms = cf->poll_ms;
	int n = o->sock ? snprintf(sock, socklen, "%s", o->sock)
	                : snprintf(sock, socklen, "%s/chain.sock", cf->rundir);
	if (n < 0 || (size_t)n >= socklen) {
		log_warnx("socket path is too long");
		return -1;
	}
	return 0;
}

/* ---- chain.sock ---- */

static void forget_waiting(struct chainwatch *cw, struct ipc_conn *c)
{
	for (size_t i = 0; i < cw->nwaiting; i++) {
		if (cw->waiting[i] == c) {
			cw->waiting[i] = cw->waiting[--cw->nwaiting];
			return;
		}
	}
}

static void op_subscribe(struct chainwatch *cw, struct ipc_conn *c, json_t *req)
{
	if (!cw->st.valid) {
		/* No state yet (the node has not answered): answer with the first snapshot. */
		if (cw->nwaiting == CW_MAX_WAITING) {
			ipc_reply_error(c, req, "too many subscribers waiting for the first snapshot");
			return;
		}
		cw->waiting[cw->nwaiting++] = c;
		return;
	}
	json_t *snap = cw_state_snapshot(&cw->st);
	if (!snap || ipc_subscribe(c, snap) < 0)
		ipc_conn_close(c);
	json_decref(snap);
}

static void op_state(struct chainwatch *cw, struct ipc_conn *c, json_t *req)
{
	if (!cw->st.valid) {
		ipc_reply_error(c, req, "no state yet: the chain has not been read");
		return;
	}
	json_t *snap = cw_state_snapshot(&cw->st);
	if (snap) {
		json_object_set_new(snap, "seq", json_integer((json_int_t)ipc_server_seq(cw->srv)));
		json_object_set_new(snap, "rpc_up", json_boolean(!cw->rpc_down));
		ipc_reply(c, req, snap);
	}
	json_decref(snap);
}

static void op_stats(struct chainwatch *cw, struct ipc_conn *c, json_t *req)
{
	json_t *a = json_pack("{s:s, s:b, s:I, s:s, s:b, s:I, s:I, s:I, s:I, s:I}", "type", "stats",
	                      "ready", cw->st.valid, "block", (json_int_t)cw->st.block,
	                      "contract", cw->contract_hex,
	                      "rpc_up", !cw->rpc_down, "events", (json_int_t)cw->events,
	                      "reorgs", (json_int_t)cw->reorgs, "range", (json_int_t)cw->range,
	                      "nodes", (json_int_t)json_object_size(cw->st.nodes),
	                      "services", (json_int_t)json_object_size(cw->st.services));
	if (a)
		ipc_reply(c, req, a);
	json_decref(a);
}

static const struct {
	const char *op;
	void (*fn)(struct chainwatch *, struct ipc_conn *, json_t *);
} ops[] = {
	{"subscribe", op_subscribe},
	{"state", op_state},
	{"stats", op_stats},
};

static void on_msg(struct ipc_conn *c, json_t *msg, void *arg)
{
	const char *op = json_string_value(json_object_get(msg, "op"));
	for (size_t i = 0; op && i < sizeof ops / sizeof ops[0]; i++) {
		if (strcmp(op, ops[i].op) == 0) {
			ops[i].fn(arg, c, msg);
			return;
		}
	}
	ipc_reply_error(c, msg, "unknown op '%s' (subscribe, state, stats)", op ? op : "");
}

static void on_close(struct ipc_conn *c, void *arg) { forget_waiting(arg, c); }

static void on_signal(struct loop *l, int signo, void *arg)
{
	(void)arg;
	log_info("signal %d: stopping", signo);
	loop_stop(l);
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct conf cf;
	struct chainwatch cw;
	struct eth_rpc_opts ro;
	struct eth_rpc_err e;
	char sock[1024], err[512];

	log_init("canteen-chainwatch", LOG_LEVEL_INFO);
	memset(&cw, 0, sizeof cw);
	cw.stdout_fd = -1;
	if (parse_opts(argc, argv, &o) < 0 || configure(&o, &cf, &cw, sock, sizeof sock) < 0)
		return EXIT_CONFIG;
	if (cw_types_init(err, sizeof err) < 0)
		fatalx("contract types: %s", err);
	signal(SIGPIPE, SIG_IGN);
	cw.loop = loop_new();
	if (!cw.loop)
		fatalx("out of memory");
	eth_rpc_opts_default(&ro);
	ro.timeout_ms = cf.rpc_timeout_ms;
	ro.retries = 1;
	cw.rpc = eth_arpc_new(cw.loop, cf.rpc_url, &ro, &e);
	if (!cw.rpc) {
		log_warnx("--rpc %s: %s", cf.rpc_url, e.msg);
		return EXIT_CONFIG;
	}
	/* --stdout beside the daemon of the same configuration (a user piping the stream
	 * into jq on a server where canteen-chainwatch runs): print, serve nothing. */
	if (o.to_stdout && !o.sock && ipc_path_live(sock)) {
		log_info("%s is served by another process: printing on stdout only", sock);
		cw.srv = ipc_server_unbound(cw.loop, on_msg, on_close, &cw);
		snprintf(sock, sizeof sock, "stdout only");
	} else {
		cw.srv = ipc_listen(cw.loop, sock, on_msg, on_close, &cw, err, sizeof err);
	}
	if (!cw.srv) {
		log_warnx("%s: %s", sock, err);
		return EXIT_TEMP;
	}
	if (o.to_stdout) {
		cw.stdout_fd = STDOUT_FILENO;
		ipc_server_mirror(cw.srv, STDOUT_FILENO);
	}
	cw_state_init(&cw.st);
	loop_signal(cw.loop, SIGTERM, on_signal, NULL);
	loop_signal(cw.loop, SIGINT, on_signal, NULL);
	log_info("following %s on %s, %llu confirmations, polling every %llu ms; serving %s",
	         cw.contract_hex, cf.rpc_url, (unsigned long long)cw.confirmations,
	         (unsigned long long)cw.poll_ms, sock);
	cw_follow_start(&cw);
	int rc = loop_run(cw.loop);
	eth_arpc_free(cw.rpc);
	json_decref(cw.pending_logs);
	json_decref(cw.snap.nodes);
	json_decref(cw.snap.svcs);
	ipc_server_free(cw.srv);
	cw_state_clear(&cw.st);
	cw_types_free();
	loop_free(cw.loop);
	return rc < 0 ? EXIT_TEMP : EXIT_DONE;
}
