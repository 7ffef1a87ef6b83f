/* main.c: canteen-chainwatch: flags and configuration, chain.sock, then follow the contract. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chainwatch.h"
#include "conf.h"
#include "flags.h"
#include "log.h"
#include "parse.h"
#include "sockets.h"

/* The flag table: one row per flag, indexed by this enum. */
enum { F_CONFIG, F_RUNDIR, F_RPC, F_QUORUM, F_CONTRACT, F_CHAIN_ID, F_CONFIRMATIONS, F_POLL, F_RPC_TIMEOUT, F_SOCK,
       F_SNAPSHOT_BLOCK, F_STDOUT, F_STATE_FILE, F_LOG_LEVEL, F_N };

static const struct flag rows[F_N] = {
	[F_CONFIG] = FLAG_CONFIG,
	[F_RUNDIR] = FLAG_RUNDIR("run directory"),
	[F_RPC] = {"rpc", 0, "URLS", "rpc_url",
	           "Ethereum JSON-RPC endpoint, or several split by commas (conf rpc_url)", 0},
	[F_QUORUM] = {"rpc-quorum", 0, "N", "rpc_quorum",
	              "endpoints that must agree (conf rpc_quorum; default a majority)", 0},
	[F_CONTRACT] = {"contract", 0, "ADDRESS", "contract", "the Canteen contract (conf contract)", 0},
	[F_CHAIN_ID] = {"chain-id", 0, "N", "chain_id",
	                "the chain the contract is on, checked against the endpoint (conf chain_id; required)", 0},
	[F_CONFIRMATIONS] = {"confirmations", 0, "N", "confirmations",
	                     "follow this many blocks behind the head (default 2)", 0},
	[F_POLL] = {"poll", 0, "DURATION", "poll_ms", "how often to ask for new blocks (default 1s)", 0},
	[F_RPC_TIMEOUT] = {"rpc-timeout", 0, "DURATION", "rpc_timeout_ms",
	                   "limit on one RPC request (default 10s)", 0},
	[F_SOCK] = {"sock", 0, "PATH", NULL, "the socket served (default RUNDIR/" SOCK_CHAIN ")", 0},
	[F_SNAPSHOT_BLOCK] = {"snapshot-block", 0, "N", NULL,
	                      "first snapshot at block N, then every later change from logs", 0},
	[F_STDOUT] = {"stdout", 0, NULL, NULL, "also print the snapshot and every event on stdout", 0},
	[F_STATE_FILE] = {"state-file", 0, "PATH", "chain_state_file",
	                  "the last state read, served after a restart while the chain is down "
	                  "(default RUNDIR/chain.state; none: not kept)", 0},
	[F_LOG_LEVEL] = FLAG_LOG_LEVEL,
};

static const struct flag_table flags = {
	"canteen-chainwatch", rows, F_N, "See canteen-chainwatch(8) and canteen-events(7).\n",
};

static int configure(const struct flag_values *v, struct conf *cf, struct chainwatch *cw,
                     char urls[][CONF_STR_MAX], char *sock, size_t socklen)
{
	char err[1024];
	if (conf_rpc_urls(cf->rpc_url, urls, &cw->neps, err, sizeof err) < 0) {
		log_warnx("rpc_url: %s", err);
		return -1;
	}
	if (cw->neps == 0) {
		log_warnx("no RPC endpoint: --rpc URL (conf rpc_url)");
		return -1;
	}
	cw->quorum = cf->rpc_quorum ? cf->rpc_quorum : cw->neps / 2 + 1;
	if (cw->quorum > cw->neps) {
		log_warnx("rpc_quorum is %llu, but rpc_url names %zu endpoint(s)",
		          (unsigned long long)cf->rpc_quorum, cw->neps);
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
	if (v->value[F_SNAPSHOT_BLOCK]) {
		if (parse_u64(v->value[F_SNAPSHOT_BLOCK], 0, INT64_MAX, &cw->start_block, err,
		              sizeof err) < 0) {
			log_warnx("--snapshot-block: %s", err);
			return -1;
		}
		cw->has_start_block = 1;
	}
	/* Whatever chain the endpoint says it is would do otherwise: a wrong endpoint (or one
	 * that lies) could feed another chain's contract state at the same address. */
	if (!cf->chain_id) {
		log_warnx("chain_id is required: --chain-id N (conf chain_id; canteen contract deploy "
		          "and canteen node join write it)");
		return -1;
	}
	cw->chain_id = cf->chain_id;
	cw->confirmations = cf->confirmations;
	cw->poll_ms = cf->poll_ms;
	int n = v->value[F_SOCK] ? snprintf(sock, socklen, "%s", v->value[F_SOCK])
	                         : snprintf(sock, socklen, "%s/" SOCK_CHAIN, cf->rundir);
	if (n < 0 || (size_t)n >= socklen) {
		log_warnx("socket path is too long");
		return -1;
	}
	return 0;
}

/* ---- endpoints ---- */

static const char *const health_names[] = {
	[ETH_ARPC_UP] = "up", [ETH_ARPC_DOWN] = "down", [ETH_ARPC_DISAGREE] = "disagree",
	[ETH_ARPC_LIED] = "lied"};

/* rpc.up, rpc.down, or rpc.disagree (with "proven":true for an endpoint caught lying). */
static void publish_endpoint(struct chainwatch *cw, const struct cw_endpoint *ep)
{
	char type[24];
	int lied = ep->health == ETH_ARPC_LIED;
	snprintf(type, sizeof type, "rpc.%s", lied ? "disagree" : health_names[ep->health]);
	json_t *ev = json_pack("{s:s, s:s}", "type", type, "endpoint", ep->shown);
	if (ev && ep->health != ETH_ARPC_UP)
		json_object_set_new(ev, "error", json_string(ep->why));
	if (ev && lied)
		json_object_set_new(ev, "proven", json_true());
	cw_publish(cw, ev);
}

/* The quorum client's report: log it, and publish it once there is a state. */
static void on_endpoint(size_t i, const char *shown, enum eth_arpc_health h, const char *why,
                        void *arg)
{
	struct chainwatch *cw = arg;
	(void)shown;
	if (i >= cw->neps)
		return;
	struct cw_endpoint *ep = &cw->eps[i];
	ep->health = h;
	if (h != ETH_ARPC_UP)
		ep->faults++;
	snprintf(ep->why, sizeof ep->why, "%s", why);
	if (h == ETH_ARPC_UP)
		log_info("rpc %s: %s", ep->shown, why);
	else
		log_warnx("rpc %s %s: %s", ep->shown,
		          h == ETH_ARPC_DOWN ? "down" : h == ETH_ARPC_LIED ? "lied" : "disagrees", why);
	if (cw->st.valid)
		publish_endpoint(cw, ep);
}

void cw_endpoints_publish(struct chainwatch *cw)
{
	for (size_t i = 0; cw->neps > 1 && i < cw->neps; i++)
		if (cw->eps[i].health != ETH_ARPC_UP)
			publish_endpoint(cw, &cw->eps[i]);
}

/* The client: of the one endpoint, or a quorum client of several. */
static struct eth_arpc *rpc_open(struct chainwatch *cw, char urls[][CONF_STR_MAX],
                                 const struct eth_rpc_opts *ro, struct eth_rpc_err *e)
{
	const char *list[CONF_RPC_MAX];
	for (size_t i = 0; i < cw->neps; i++) {
		list[i] = urls[i];
		char shown[ETH_RPC_SHOWN_MAX];
		eth_rpc_url_redact(urls[i], shown, sizeof shown);
		snprintf(cw->eps[i].shown, sizeof cw->eps[i].shown, "%s", shown);
		for (size_t j = 0; j < i; j++)
			if (strcmp(cw->eps[j].shown, shown) == 0) /* differ only in what is hidden */
				snprintf(cw->eps[i].shown, sizeof cw->eps[i].shown, "%s#%zu", shown, i + 1);
		cw->eps[i].health = ETH_ARPC_UP;
	}
	if (cw->neps == 1)
		return eth_arpc_new(cw->loop, urls[0], ro, e);
	return eth_arpc_new_quorum(cw->loop, list, cw->neps, cw->quorum, ro, on_endpoint, cw, e);
}

/* ---- chain.sock ---- */

static int is_waiting(const struct chainwatch *cw, const struct ipc_conn *c)
{
	for (size_t i = 0; i < cw->nwaiting; i++)
		if (cw->waiting[i] == c)
			return 1;
	return 0;
}

/* A connection is in waiting at most once (op_subscribe refuses a second subscribe). */
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
	if (ipc_conn_subscribed(c) || is_waiting(cw, c)) {
		ipc_reply_error(c, req, "already subscribed");
		return;
	}
	if (!cw->st.valid) {
		/* No state yet (the node has not answered): answer with the first snapshot. */
		if (cw->nwaiting == CW_MAX_WAITING) {
			ipc_reply_error(c, req, "too many subscribers waiting for the first snapshot");
			return;
		}
		cw->waiting[cw->nwaiting++] = c;
		return;
	}
	cw_subscribe(cw, c); /* -1: c is already dropped */
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
		if (cw->st.cached)
			json_object_set_new(snap, "cached", json_true());
		ipc_reply(c, req, snap);
	}
	json_decref(snap);
}

static void op_stats(struct chainwatch *cw, struct ipc_conn *c, json_t *req)
{
	json_t *a = json_pack("{s:s, s:b, s:I, s:I, s:I, s:s, s:b, s:I, s:I, s:I, s:I, s:I}", "type",
	                      "stats", "ready", cw->st.valid, "block", (json_int_t)cw->st.block,
	                      "head", (json_int_t)cw->head, "rpc_errors", (json_int_t)cw->rpc_errors,
	                      "contract", cw->contract_hex,
	                      "rpc_up", !cw->rpc_down, "events", (json_int_t)cw->events,
	                      "reorgs", (json_int_t)cw->reorgs, "range", (json_int_t)cw->range,
	                      "nodes", (json_int_t)json_object_size(cw->st.nodes),
	                      "services", (json_int_t)json_object_size(cw->st.services));
	json_t *eps = json_array();
	for (size_t i = 0; a && eps && cw->neps > 1 && i < cw->neps; i++)
		json_array_append_new(eps, json_pack("{s:s, s:s, s:I}", "endpoint", cw->eps[i].shown, "health",
		                                     health_names[cw->eps[i].health], "faults",
		                                     (json_int_t)cw->eps[i].faults));
	if (a && eps && cw->neps > 1) {
		json_object_set(a, "endpoints", eps);
		json_object_set_new(a, "quorum", json_integer((json_int_t)cw->quorum));
	}
	json_decref(eps);
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
	struct flag_values v;
	struct conf cf;
	struct chainwatch cw;
	struct eth_rpc_opts ro;
	struct eth_rpc_err e;
	char sock[1024], err[1024];
	char urls[CONF_RPC_MAX][CONF_STR_MAX];

	log_init("canteen-chainwatch", LOG_LEVEL_INFO);
	memset(&cw, 0, sizeof cw);
	cw.stdout_fd = -1;
	conf_defaults(&cf);
	int rc = flags_load(&flags, argc, argv, &v, &cf, err, sizeof err);
	if (rc >= 0) {
		if (err[0])
			log_warnx("%s", err);
		return rc;
	}
	if (configure(&v, &cf, &cw, urls, sock, sizeof sock) < 0)
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
	ro.allow_http = cf.allow_insecure_rpc != 0;
	char shown[ETH_RPC_SHOWN_MAX + 64];
	cw.rpc = rpc_open(&cw, urls, &ro, &e);
	if (cw.neps == 1)
		snprintf(shown, sizeof shown, "%s", cw.eps[0].shown);
	else
		snprintf(shown, sizeof shown, "%zu endpoints (quorum %zu)", cw.neps, cw.quorum);
	if (!cw.rpc) {
		log_warnx("--rpc: %s", e.msg);
		cw_types_free();
		loop_free(cw.loop);
		return EXIT_CONFIG;
	}
	/* --stdout beside the daemon of the same configuration (a user piping the stream
	 * into jq on a server where canteen-chainwatch runs): print, serve nothing. */
	if (v.value[F_STDOUT] && !v.value[F_SOCK] && ipc_path_live(sock)) {
		log_info("%s is served by another process: printing on stdout only", sock);
		cw.srv = ipc_server_unbound(cw.loop, on_msg, on_close, &cw);
		snprintf(err, sizeof err, "out of memory");
		snprintf(sock, sizeof sock, "stdout only");
	} else {
		cw.srv = ipc_listen(cw.loop, sock, on_msg, on_close, &cw, err, sizeof err);
	}
	if (!cw.srv) {
		log_warnx("%s", err); /* names the socket */
		eth_arpc_free(cw.rpc);
		cw_types_free();
		loop_free(cw.loop);
		return EXIT_TEMP;
	}
	if (v.value[F_STDOUT]) {
		cw.stdout_fd = STDOUT_FILENO;
		ipc_server_mirror(cw.srv, STDOUT_FILENO);
	}
	cw_state_init(&cw.st);
	/* The saved state belongs to the daemon serving the socket; a --snapshot-block run
	 * asks for a state of its own. */
	const char *sf = cf.chain_state_file[0] ? cf.chain_state_file : NULL;
	if (!(sf && strcmp(sf, "none") == 0) && strcmp(sock, "stdout only") != 0 && !cw.has_start_block) {
		int n = sf ? snprintf(cw.cache_path, sizeof cw.cache_path, "%s", sf)
		           : snprintf(cw.cache_path, sizeof cw.cache_path, "%s/chain.state", cf.rundir);
		if (n < 0 || (size_t)n >= sizeof cw.cache_path) {
			log_warnx("--state-file: the path is too long: no state is kept");
			cw.cache_path[0] = '\0';
		}
	}
	cw_cache_load(&cw);
	loop_signal(cw.loop, SIGTERM, on_signal, NULL);
	loop_signal(cw.loop, SIGINT, on_signal, NULL);
	log_info("following %s on %s, %llu confirmations, polling every %llu ms; serving %s",
	         cw.contract_hex, shown, (unsigned long long)cw.confirmations,
	         (unsigned long long)cw.poll_ms, sock);
	cw_follow_start(&cw);
	rc = loop_run(cw.loop);
	if (cw.cache_dirty)
		cw_cache_save(&cw);
	eth_arpc_free(cw.rpc);
	json_decref(cw.pending_logs);
	json_decref(cw.snap.nodes);
	json_decref(cw.snap.names);
	rec_fold_free(&cw.snap.fold);
	ipc_server_free(cw.srv);
	cw_state_clear(&cw.st);
	cw_types_free();
	loop_free(cw.loop);
	if (cw.exit_code)
		return cw.exit_code;
	return rc < 0 ? EXIT_TEMP : EXIT_DONE;
}
