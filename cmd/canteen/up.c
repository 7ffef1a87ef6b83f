/* up.c: `canteen up` and `canteen down`: a whole local cluster (chain, N nodes, sample service). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cmd.h"
#include "eth_rpc.h"
#include "loop.h"
#include "parse.h"
#include "up.h"

#define UP_MAX_NODES 32
#define UP_SWIM_PORT 7946
#define UP_WEB_PORT 8080
#define UP_ANVIL_PORT 8545
/* anvil's first well-known development key: funded on every fresh anvil, public knowledge. */
#define UP_ANVIL_KEY "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

struct up {
	struct cli *cli;
	char dir[512], bindir[512], rpc[CONF_STR_MAX], contract[64], admin_key[600];
	char docker_sock[512];
	unsigned nodes;
	int detach, fast, own_chain, no_sample;
	int isolated;  /* --isolated: each node in its own namespace with its own dockerd */
	unsigned slot; /* the isolated cluster's slot (up_iso.c) */
	struct up_proc anvil, dockerd; /* what up started (pid 0: none) */
	struct up_proc init[UP_MAX_NODES], node_dockerd[UP_MAX_NODES];
	uint64_t chain_id; /* of the anvil up started; else canteen.conf's */
	char addr[UP_MAX_NODES][43];
};

static void node_ip(const struct up *u, unsigned i, char *out, size_t outlen)
{
	if (u->isolated)
		up_iso_ip(u->slot, i + 1, out, outlen);
	else
		snprintf(out, outlen, "127.0.0.%u", i + 2);
}

/* The Docker socket node i uses: its own dockerd's when isolated. */
static void node_docker(const struct up *u, unsigned i, char *out, size_t outlen)
{
	if (u->isolated)
		up_iso_docker_sock(u->slot, i + 1, out, outlen);
	else
		snprintf(out, outlen, "%s", u->docker_sock);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The CLI's settings with the cluster's chain and key: what the commands up runs see. */
static void chain_cli(const struct up *u, const char *key, struct cli *out)
{
	*out = *u->cli;
	out->json = 0;
	str_copy(out->conf.rpc_url, sizeof out->conf.rpc_url, u->rpc);
	str_copy(out->conf.contract, sizeof out->conf.contract, u->contract);
	str_copy(out->conf.key_file, sizeof out->conf.key_file, key ? key : "");
	if (u->chain_id)
		out->conf.chain_id = u->chain_id;
	/* Isolated, the chain is on the cluster's private network: plain http, not loopback. */
	if (u->isolated)
		out->conf.allow_insecure_rpc = 1;
}

/* ---- state file ---- */

/* "NAME_pid", "NAME_start", "NAME_exe" of a recorded process into obj. */
static void set_proc(json_t *obj, const char *name, const struct up_proc *p)
{
	char key[32];
	snprintf(key, sizeof key, "%s_pid", name);
	json_object_set_new(obj, key, json_integer(p->pid));
	snprintf(key, sizeof key, "%s_start", name);
	json_object_set_new(obj, key, json_integer((json_int_t)p->start));
	snprintf(key, sizeof key, "%s_exe", name);
	json_object_set_new(obj, key, json_string(p->exe));
}

/* The same back; what is missing or malformed reads as 0 or "", which up_proc_check refuses. */
static void get_proc(const json_t *obj, const char *name, struct up_proc *p)
{
	char key[32];
	memset(p, 0, sizeof *p);
	snprintf(key, sizeof key, "%s_pid", name);
	json_int_t pid = json_integer_value(json_object_get(obj, key));
	p->pid = pid > 0 && pid <= INT32_MAX ? (pid_t)pid : 0;
	snprintf(key, sizeof key, "%s_start", name);
	json_int_t start = json_integer_value(json_object_get(obj, key));
	p->start = start > 0 ? (unsigned long long)start : 0;
	snprintf(key, sizeof key, "%s_exe", name);
	const char *exe = json_string_value(json_object_get(obj, key));
	if (exe)
		str_copy(p->exe, sizeof p->exe, exe);
}

/* The pid just started, recorded once its program runs (anvil's wrapper execs node, so it
 * is recorded when it answers). */
static void record(struct up_proc *p, pid_t pid)
{
	if (up_proc_read(pid, p) < 0) {
		memset(p, 0, sizeof *p);
		/* Down will not signal it: nothing tells it apart from a stranger's. */
		p->pid = pid > 0 ? pid : 0;
	}
}

static int save_state(struct up *u)
{
	json_t *nodes = json_array();
	for (unsigned i = 0; i < u->nodes; i++) {
		char ip[32], rundir[600];
		node_ip(u, i, ip, sizeof ip);
		snprintf(rundir, sizeof rundir, "%s/node%u/run", u->dir, i + 1);
		char sock[512];
		node_docker(u, i, sock, sizeof sock);
		json_t *n = json_pack("{s:s, s:s, s:s, s:s}", "address", u->addr[i], "ip", ip, "rundir",
		                      rundir, "docker_host", sock);
		if (n)
			set_proc(n, "init", &u->init[i]);
		if (n && u->isolated) {
			char ns[64], words[UP_ISO_ARGV_MAX][256], *argv[UP_ISO_ARGV_MAX];
			json_t *a = json_array();
			up_iso_netns(u->slot, i + 1, ns, sizeof ns);
			if (up_iso_dockerd_argv(u->slot, i + 1, u->dir, words, argv, UP_ISO_ARGV_MAX) == 0)
				for (size_t k = 0; argv[k]; k++)
					json_array_append_new(a, json_string(argv[k]));
			json_object_set_new(n, "netns", json_string(ns));
			json_object_set_new(n, "dockerd_argv", a);
			set_proc(n, "dockerd", &u->node_dockerd[i]);
		}
		json_array_append_new(nodes, n);
	}
	json_t *st = json_pack("{s:s, s:s, s:s, s:b, s:o, s:I}", "rpc", u->rpc, "contract", u->contract,
	                       "docker_host", u->docker_sock, "fast", u->fast, "nodes", nodes,
	                       "chain_id", (json_int_t)u->chain_id);
	if (st && u->isolated) {
		char lab[64];
		up_iso_netns(u->slot, 0, lab, sizeof lab);
		json_object_set_new(st, "isolated", json_true());
		json_object_set_new(st, "slot", json_integer(u->slot));
		json_object_set_new(st, "netns", json_string(lab));
	}
	if (st) {
		set_proc(st, "anvil", &u->anvil);
		set_proc(st, "dockerd", &u->dockerd);
	}
	char path[600];
	snprintf(path, sizeof path, "%s/up.json", u->dir);
	char *text = st ? json_dumps(st, JSON_INDENT(1)) : NULL;
	int rc = text ? up_write_file(path, text, 0600) : -1;
	free(text);
	json_decref(st);
	return rc;
}

/* dir/up.json if it is there and ours; NULL with why (empty when there is none). */
static json_t *load_state(const char *dir, char *why, size_t whylen)
{
	char path[600];
	why[0] = '\0';
	snprintf(path, sizeof path, "%s/up.json", dir);
	int fd = up_open_private(path, why, whylen);
	if (fd < 0)
		return NULL;
	json_error_t e;
	json_t *st = json_loadfd(fd, JSON_REJECT_DUPLICATES, &e);
	close(fd);
	if (!json_is_object(st)) {
		snprintf(why, whylen, "%s is not as canteen up wrote it (%s)", path, e.text);
		json_decref(st);
		return NULL;
	}
	return st;
}

/* ---- steps ---- */

/* rel inside the source tree bin/ was built in (bin/ may sit a few levels below it). */
static int tree_path(struct up *u, const char *rel, char *out, size_t outlen)
{
	char up[64] = "";
	for (int depth = 0; depth < 4; depth++) {
		snprintf(out, outlen, "%s/..%s/%s", u->bindir, up, rel);
		char probe[1200];
		snprintf(probe, sizeof probe, "%s/..%s/tests/deps.sh", u->bindir, up);
		if (access(probe, X_OK) == 0)
			return 0;
		size_t l = strlen(up);
		snprintf(up + l, sizeof up - l, "/..");
	}
	return -1;
}

static int find_tool(struct up *u, const char *name, char *out, size_t outlen)
{
	/* The tree's pinned copy first (tests/node above bin/), then PATH. */
	if (tree_path(u, "tests/node/node_modules/.bin/", out, outlen) == 0) {
		size_t len = strlen(out);
		snprintf(out + len, outlen - len, "%s", name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	const char *path = getenv("PATH");
	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t len = colon ? (size_t)(colon - path) : strlen(path);
		snprintf(out, outlen, "%.*s/%s", (int)len, path, name);
		if (len && access(out, X_OK) == 0)
			return 0;
		path = colon ? colon + 1 : NULL;
	}
	return -1;
}

static int install_deps(struct up *u)
{
	char script[700];
	if (tree_path(u, "tests/deps.sh", script, sizeof script) < 0)
		return 0; /* an installed canteen: the package manager brought what it needs */
	char *argv[] = {script, NULL};
	if (up_run(argv, NULL, 0) != 0) {
		cli_err("installing dependencies failed (%s)", script);
		return -1;
	}
	return 0;
}

static int check_ports(struct up *u)
{
	char ip[32];
	if (u->own_chain && !up_port_free("127.0.0.1", UP_ANVIL_PORT, SOCK_STREAM)) {
		cli_err("127.0.0.1:%d is taken: stop what listens there or pass --rpc URL", UP_ANVIL_PORT);
		return -1;
	}
	for (unsigned i = 0; i < u->nodes; i++) {
		node_ip(u, i, ip, sizeof ip);
		if (!up_port_free(ip, UP_SWIM_PORT, SOCK_DGRAM)) {
			cli_err("%s:%d/udp is taken (another canteen node?): canteen down first", ip, UP_SWIM_PORT);
			return -1;
		}
		if (!up_port_free(ip, UP_WEB_PORT, SOCK_STREAM)) {
			cli_err("%s:%d is taken: the sample service needs it", ip, UP_WEB_PORT);
			return -1;
		}
	}
	return 0;
}

/* Each isolated node's own dockerd, started together (in its namespace and cgroup). */
static int start_node_dockers(struct up *u)
{
	char log[600], ns[64], nspath[128], procs[256];
	for (unsigned i = 0; i < u->nodes; i++) {
		char words[UP_ISO_ARGV_MAX][256], *argv[UP_ISO_ARGV_MAX];
		snprintf(log, sizeof log, "%s/node%u", u->dir, i + 1);
		if ((mkdir(log, 0700) < 0 && errno != EEXIST) ||
		    up_iso_dockerd_prepare(u->slot, i + 1, u->dir) < 0 ||
		    up_iso_dockerd_argv(u->slot, i + 1, u->dir, words, argv, UP_ISO_ARGV_MAX) < 0 ||
		    up_iso_cgroup_procs(u->slot, i + 1, procs, sizeof procs) < 0) {
			cli_err("node %u: cannot prepare its dockerd (directories, cgroup): %s", i + 1,
			        strerror(errno));
			return -1;
		}
		snprintf(log, sizeof log, "%s/node%u/dockerd.log", u->dir, i + 1);
		up_iso_netns(u->slot, i + 1, ns, sizeof ns);
		snprintf(nspath, sizeof nspath, "/var/run/netns/%s", ns);
		pid_t pid = up_spawn_in(argv, log, 1, nspath, procs);
		record(&u->node_dockerd[i], pid);
		if (pid < 0) {
			cli_err("node %u: cannot start dockerd: %s", i + 1, strerror(errno));
			return -1;
		}
	}
	say("started %u dockerds, one per node", u->nodes);
	uint64_t deadline = mono_ms() + 120000;
	for (unsigned i = 0; i < u->nodes; i++) {
		char sock[512];
		node_docker(u, i, sock, sizeof sock);
		while (!up_docker_ping(sock) && up_alive(u->node_dockerd[i].pid) && mono_ms() < deadline)
			sleep_ms(100);
		record(&u->node_dockerd[i], u->node_dockerd[i].pid);
		if (!up_docker_ping(sock)) {
			cli_err("node %u: its dockerd does not answer at %s (see %s/node%u/dockerd.log)",
			        i + 1, sock, u->dir, i + 1);
			return -1;
		}
	}
	return 0;
}

static int ensure_docker(struct up *u)
{
	if (u->isolated)
		return start_node_dockers(u);
	if (up_docker_ping(u->docker_sock))
		return 0;
	char log[600];
	snprintf(log, sizeof log, "%s/dockerd.log", u->dir);
	char hostarg[600];
	snprintf(hostarg, sizeof hostarg, "unix://%s", u->docker_sock);
	char *argv[] = {"dockerd", "--host", hostarg, NULL};
	say("starting dockerd (none answered at %s)", u->docker_sock);
	pid_t pid = up_spawn(argv, log, 1);
	record(&u->dockerd, pid);
	for (int i = 0; i < 600 && pid > 0; i++) {
		if (up_docker_ping(u->docker_sock)) {
			record(&u->dockerd, pid);
			return 0;
		}
		if (!up_alive(pid))
			break;
		sleep_ms(100);
	}
	record(&u->dockerd, pid); /* what runs now is what down stops */
	cli_err("Docker does not answer at %s (see %s)", u->docker_sock, log);
	return -1;
}

static int start_chain(struct up *u)
{
	if (!u->own_chain)
		return 0;
	char anvil[600], log[600];
	if (find_tool(u, "anvil", anvil, sizeof anvil) < 0) {
		cli_err("anvil not found (tests/deps.sh installs it), or pass --rpc URL");
		return -1;
	}
	snprintf(log, sizeof log, "%s/anvil.log", u->dir);
	char port[16], state[600];
	snprintf(port, sizeof port, "%d", UP_ANVIL_PORT);
	/* The chain's state is written there when anvil stops, and read when it starts with
	 * the same command line: the chain survives a restart of anvil. A new cluster starts
	 * from a new chain. */
	snprintf(state, sizeof state, "%s/chain-state.json", u->dir);
	unlink(state);
	/* Isolated, the chain lives in the lab namespace (this process is in it already). */
	char host[32] = "127.0.0.1";
	if (u->isolated)
		up_iso_ip(u->slot, 0, host, sizeof host);
	char *argv[] = {anvil, "--host", host, "--port", port, "--block-time", "1",
	                "--state", state, NULL};
	pid_t pid = up_spawn(argv, log, 1);
	record(&u->anvil, pid);
	snprintf(u->rpc, sizeof u->rpc, "http://%s:%d", host, UP_ANVIL_PORT);
	struct eth_rpc_opts o;
	struct eth_rpc_err e;
	eth_rpc_opts_default(&o);
	o.retries = 0;
	o.allow_http = u->isolated;
	for (int i = 0; i < 300 && pid > 0 && up_alive(pid); i++) {
		struct eth_rpc *r = eth_rpc_new(u->rpc, &o, &e);
		json_t *res = NULL;
		int ok = r && eth_rpc_call(r, "eth_chainId", NULL, &res, &e) == 0 &&
		         eth_qty_parse(json_string_value(res), &u->chain_id) == 0;
		json_decref(res);
		eth_rpc_free(r);
		if (ok) {
			record(&u->anvil, pid);
			say("chain: anvil at %s (pid %d)", u->rpc, (int)pid);
			return 0;
		}
		sleep_ms(100);
	}
	record(&u->anvil, pid);
	cli_err("anvil did not start (see %s)", log);
	return -1;
}

static int fund(struct up *u, const char *addr)
{
	struct eth_rpc_opts o;
	struct eth_rpc_err e;
	eth_rpc_opts_default(&o);
	o.allow_http = u->isolated;
	struct eth_rpc *r = eth_rpc_new(u->rpc, &o, &e);
	json_t *res = NULL;
	int rc = r ? eth_rpc_call(r, "anvil_setBalance", json_pack("[s, s]", addr, "0x56BC75E2D63100000"),
	                          &res, &e)
	           : -1;
	if (rc < 0)
		cli_err("cannot fund %s on %s: %s (a local anvil chain is needed for canteen up)", addr,
		        u->rpc, e.msg);
	json_decref(res);
	eth_rpc_free(r);
	return rc;
}

static int deploy_contract(struct up *u)
{
	if (u->contract[0])
		return 0;
	snprintf(u->admin_key, sizeof u->admin_key, "%s/admin.key", u->dir);
	if (up_write_file(u->admin_key, UP_ANVIL_KEY "\n", 0600) < 0) {
		cli_err("cannot write %s: %s", u->admin_key, strerror(errno));
		return -1;
	}
	struct cli c;
	struct contract_cmd deploy = {.op = CONTRACT_DEPLOY};
	struct chain_done d;
	chain_cli(u, u->admin_key, &c);
	if (contract_run(&c, &deploy, &d) != CLI_OK) {
		cli_err("deploying the contract failed");
		return -1;
	}
	str_copy(u->contract, sizeof u->contract, d.address);
	say("contract: %s", u->contract);
	return 0;
}

static int write_node_files(struct up *u, unsigned i, const char *nd)
{
	char ip[32], path[700], text[8192], dsock[512];
	node_ip(u, i, ip, sizeof ip);
	node_docker(u, i, dsock, sizeof dsock);
	const char *timing = u->fast ? "probe_interval_ms = 200ms\nprobe_timeout_ms = 100ms\n"
	                               "suspicion_min_mult = 2\ngossip_interval_ms = 50ms\n"
	                               "pushpull_interval_ms = 5s\npoll_ms = 200ms\nsuspicion_max_mult = 3\n"
	                             : "poll_ms = 500ms\n";
	snprintf(text, sizeof text,
	         "# canteen.conf of local node %u (written by canteen up)\n"
	         "rundir = %s/run\nrpc_url = %s\ncontract = %s\nkey_file = %s/eth.key\n"
	         "node_name = %s\nswim_key_file = %s/swim.key\nswim_bind = %s:%d\n"
	         "swim_advertise = %s:%d\nadvertise_addr = %s\ndocker_host = %s\n"
	         "confirmations = 0\nstop_grace_ms = 2s\nchain_id = %llu\n%s%s",
	         i + 1, nd, u->rpc, u->contract, nd, u->addr[i], nd, ip, UP_SWIM_PORT, ip, UP_SWIM_PORT, ip,
	         dsock,
	         (unsigned long long)(u->chain_id ? u->chain_id : u->cli->conf.chain_id), timing,
	         u->isolated ? "# the chain is on the isolated cluster's own network\n"
	                       "allow_insecure_rpc = yes\n" : "");
	snprintf(path, sizeof path, "%s/canteen.conf", nd);
	if (up_write_file(path, text, 0600) < 0)
		return -1;
	snprintf(text, sizeof text,
	         "# daemons of local node %u, in start order (written by canteen up)\n"
	         "chainwatch %s/canteen-chainwatch -c %s/canteen.conf\n"
	         "swim %s/canteen-swim -c %s/canteen.conf\n"
	         "sched %s/canteen-sched -c %s/canteen.conf\n"
	         "dockerd %s/canteen-dockerd -c %s/canteen.conf\n",
	         i + 1, u->bindir, nd, u->bindir, nd, u->bindir, nd, u->bindir, nd);
	snprintf(path, sizeof path, "%s/init.conf", nd);
	return up_write_file(path, text, 0600);
}

static int make_node(struct up *u, unsigned i)
{
	char nd[600], ethkey[700], swimkey[700], ip[32], endpoint[64];
	snprintf(nd, sizeof nd, "%s/node%u", u->dir, i + 1);
	node_ip(u, i, ip, sizeof ip);
	snprintf(endpoint, sizeof endpoint, "%s:%d", ip, UP_SWIM_PORT);
	if (mkdir(nd, 0700) < 0 && errno != EEXIST) {
		cli_err("cannot create %s: %s", nd, strerror(errno));
		return -1;
	}
	snprintf(ethkey, sizeof ethkey, "%s/eth.key", nd);
	snprintf(swimkey, sizeof swimkey, "%s/swim.key", nd);
	struct keygen_cmd kg = {swimkey, ethkey, 1};
	struct keygen_out keys;
	if (keygen_run(&kg, &keys) != CLI_OK) {
		cli_err("node %u: key generation failed", i + 1);
		return -1;
	}
	str_copy(u->addr[i], sizeof u->addr[i], keys.address);
	if (fund(u, u->addr[i]) < 0)
		return -1;
	struct cli c;
	struct chain_done d;
	struct node_reg reg = {.cpu_millis = 2000, .mem_mib = 2048, .labels = {"local=yes"}, .nlabels = 1};
	str_copy(reg.endpoint, sizeof reg.endpoint, endpoint);
	str_copy(reg.swim_pubkey, sizeof reg.swim_pubkey, keys.swim_pubkey);
	chain_cli(u, ethkey, &c);
	if (node_register_run(&c, &reg, &d) != CLI_OK) {
		cli_err("node %u: registration failed", i + 1);
		return -1;
	}
	struct node_admin approve = {.approve = 1};
	str_copy(approve.address, sizeof approve.address, u->addr[i]);
	chain_cli(u, u->admin_key, &c);
	if (node_admin_run(&c, &approve, &d) != CLI_OK) {
		cli_err("node %u: approval failed", i + 1);
		return -1;
	}
	if (write_node_files(u, i, nd) < 0) {
		cli_err("node %u: cannot write its configuration in %s", i + 1, nd);
		return -1;
	}
	char initbin[600], initconf[700], conf[700], log[700];
	snprintf(initbin, sizeof initbin, "%s/canteen-init", u->bindir);
	snprintf(initconf, sizeof initconf, "%s/init.conf", nd);
	snprintf(conf, sizeof conf, "%s/canteen.conf", nd);
	snprintf(log, sizeof log, "%s/node.log", nd);
	char *argv[] = {initbin, "-f", initconf, "-c", conf, "--grace", "5s", NULL};
	char ns[64], nspath[128], procs[256];
	pid_t pid;
	if (u->isolated) {
		/* The node's daemons run on its host: its namespace, its cgroup. */
		up_iso_netns(u->slot, i + 1, ns, sizeof ns);
		snprintf(nspath, sizeof nspath, "/var/run/netns/%s", ns);
		pid = up_iso_cgroup_procs(u->slot, i + 1, procs, sizeof procs) < 0
		          ? -1 : up_spawn_in(argv, log, 1, nspath, procs);
	} else
		pid = up_spawn(argv, log, 1);
	if (pid < 0) {
		cli_err("node %u: cannot start canteen-init: %s", i + 1, strerror(errno));
		return -1;
	}
	record(&u->init[i], pid);
	say("node %u: %s at %s (canteen-init pid %d, logs %s)", i + 1, u->addr[i], endpoint,
	    (int)pid, log);
	return 0;
}

static int make_image(struct up *u)
{
	char err[512], sock[512];
	for (unsigned i = 0; i < (u->isolated ? u->nodes : 1); i++) {
		node_docker(u, i, sock, sizeof sock);
		if (up_docker_import_demo(sock, "/bin/busybox", err, sizeof err) < 0) {
			cli_err("%s", err);
			return -1;
		}
	}
	say("image: %s (busybox-static, imported locally)", UP_DEMO_IMAGE);
	return 0;
}

/* The service "web" on the chain already (a cluster grown or restarted)? */
static int sample_deployed(struct up *u)
{
	struct cli c;
	json_t *all = NULL, *summary = NULL, *svc;
	char why[300];
	size_t i;
	int found = 0;
	chain_cli(u, NULL, &c);
	if (service_ls_run(&c, &all, &summary, why, sizeof why) == CLI_OK)
		json_array_foreach(all, i, svc)
			found |= strcmp(json_string_value(json_object_get(svc, "name")), "web") == 0;
	json_decref(all);
	json_decref(summary);
	return found;
}

static int deploy_sample(struct up *u)
{
	unsigned replicas = u->nodes < 3 ? u->nodes : 3;
	if (sample_deployed(u))
		return 0;
	struct cli c;
	struct chain_done d;
	struct service_cmd s = {.op = SERVICE_DEPLOY, .name = "web"};
	s.args.given = SVC_IMAGE | SVC_REPLICAS | SVC_CPU | SVC_MEM;
	s.args.image = UP_DEMO_IMAGE;
	s.args.replicas = replicas;
	s.args.cpu_millis = 100;
	s.args.mem_mib = 32;
	s.args.ports = json_pack("[{s:i, s:i, s:i}]", "host", UP_WEB_PORT, "container", 80, "proto", 0);
	s.args.command = json_pack("[s,s,s,s,s,s,s]", "/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www");
	chain_cli(u, u->admin_key, &c);
	int ret = service_run(&c, &s, &d);
	service_cmd_free(&s);
	if (ret != CLI_OK) {
		cli_err("deploying the sample service failed");
		return -1;
	}
	say("service: web, %u replicas of busybox httpd on port %d", replicas, UP_WEB_PORT);
	return 0;
}

/* Wait until as many endpoints answer as there are replicas; prints them. */
static int wait_sample(struct up *u, unsigned seconds)
{
	unsigned want = u->nodes < 3 ? u->nodes : 3;
	uint64_t deadline = mono_ms() + seconds * 1000ull;
	unsigned up = 0;
	while (mono_ms() < deadline) {
		up = 0;
		for (unsigned i = 0; i < u->nodes; i++) {
			char url[64], ip[32];
			node_ip(u, i, ip, sizeof ip);
			snprintf(url, sizeof url, "http://%s:%d/", ip, UP_WEB_PORT);
			up += (unsigned)up_http_ok(url, 500, NULL, 0);
		}
		if (up >= want)
			break;
		sleep_ms(250);
	}
	for (unsigned i = 0; i < u->nodes; i++) {
		char url[64], ip[32];
		node_ip(u, i, ip, sizeof ip);
		snprintf(url, sizeof url, "http://%s:%d/", ip, UP_WEB_PORT);
		if (up_http_ok(url, 500, NULL, 0))
			say("  answering: %s:%d", ip, UP_WEB_PORT);
	}
	if (up < want) {
		cli_err("only %u of %u sample replicas answer after %us (see the node logs in %s)", up, want,
		        seconds, u->dir);
		return -1;
	}
	return 0;
}

/* ---- down ---- */

static int remove_containers(const char *sock, json_t *nodes)
{
	size_t i;
	json_t *n;
	int removed = 0;
	json_array_foreach(nodes, i, n) {
		const char *addr = json_string_value(json_object_get(n, "address"));
		if (addr)
			removed += up_docker_remove_node(sock, addr);
	}
	return removed;
}

/* Stop a recorded process if its pid still names it; say so either way. */
static void stop_recorded(const json_t *obj, const char *name, const char *what, int group,
                          uint64_t grace_ms, int quiet)
{
	struct up_proc p;
	char why[800];
	get_proc(obj, name, &p);
	int r = up_proc_check(&p, why, sizeof why);
	if (r < 0) {
		cli_err("not stopping %s (pid %d): %s", what, (int)p.pid, why);
		return;
	}
	if (r == 0)
		return;
	up_stop_pid(p.pid, group, grace_ms);
	if (!quiet)
		say("stopped %s (pid %d)", what, (int)p.pid);
}

/* An isolated cluster: per node its supervisor, containers, dockerd, then whatever is left in
 * its cgroup, its mounts, directories and namespace; then the chain and the lab. The names
 * come from the slot, never from paths in up.json. */
static int down_isolated(const char *dir, json_t *st, int quiet)
{
	json_t *slotv = json_object_get(st, "slot"), *nodes = json_object_get(st, "nodes"), *n;
	json_int_t slot = json_integer_value(slotv);
	if (!json_is_integer(slotv) || slot < 0 || slot >= UP_ISO_SLOTS || !json_is_array(nodes) ||
	    json_array_size(nodes) > UP_ISO_MAX_NODES) {
		cli_err("%s/up.json is not as canteen up --isolated wrote it (slot, nodes)", dir);
		return CLI_FAIL;
	}
	size_t i;
	json_array_foreach(nodes, i, n) {
		char what[64], sock[512];
		snprintf(what, sizeof what, "node %zu (canteen-init)", i + 1);
		stop_recorded(n, "init", what, 0, 15000, quiet);
		up_iso_docker_sock((unsigned)slot, (unsigned)i + 1, sock, sizeof sock);
		const char *addr = json_string_value(json_object_get(n, "address"));
		if (addr && up_docker_ping(sock))
			up_docker_remove_node(sock, addr);
		snprintf(what, sizeof what, "node %zu's dockerd", i + 1);
		stop_recorded(n, "dockerd", what, 1, 20000, quiet);
		up_iso_remove_node((unsigned)slot, (unsigned)i + 1, dir);
	}
	stop_recorded(st, "anvil", "anvil", 1, 5000, quiet);
	up_iso_remove_lab((unsigned)slot);
	if (!quiet)
		say("removed the isolated hosts: namespaces, dockerds, their containers and data");
	char path[600];
	snprintf(path, sizeof path, "%s/chain-state.json", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/up.json", dir);
	unlink(path);
	return CLI_OK;
}

static int down_dir(const char *dir, int quiet)
{
	char why[800];
	if (up_dir_check(dir, 0, why, sizeof why) < 0) {
		cli_err("%s", why);
		return CLI_FAIL;
	}
	json_t *st = load_state(dir, why, sizeof why);
	if (!st) {
		if (why[0]) {
			cli_err("%s", why);
			return CLI_FAIL;
		}
		if (!quiet)
			say("nothing to stop: no local cluster in %s", dir);
		return CLI_OK;
	}
	json_t *nodes = json_object_get(st, "nodes"), *n;
	size_t i;
	if (json_is_true(json_object_get(st, "isolated"))) {
		int rc = down_isolated(dir, st, quiet);
		json_decref(st);
		return rc;
	}
	/* Stop every node's supervisor (it stops its daemons in reverse order). */
	json_array_foreach(nodes, i, n) {
		char what[64];
		snprintf(what, sizeof what, "node %zu (canteen-init)", i + 1);
		stop_recorded(n, "init", what, 0, 15000, quiet);
	}
	const char *sock = json_string_value(json_object_get(st, "docker_host"));
	if (sock) {
		int k = remove_containers(sock, nodes);
		if (!quiet)
			say("removed %d container%s", k, k == 1 ? "" : "s");
	}
	stop_recorded(st, "anvil", "anvil", 1, 5000, quiet);
	stop_recorded(st, "dockerd", "the dockerd canteen up had started", 1, 20000, quiet);
	json_decref(st);
	char path[600];
	snprintf(path, sizeof path, "%s/chain-state.json", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/up.json", dir);
	unlink(path);
	return CLI_OK;
}

int cmd_down(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	char dir[512];
	up_dir_default(dir, sizeof dir);
	if (argc == 3 && strcmp(argv[1], "--dir") == 0)
		snprintf(dir, sizeof dir, "%s", argv[2]);
	else if (argc != 1) {
		cli_err(USAGE_DOWN);
		return CLI_USAGE;
	}
	return down_dir(dir, 0);
}

/* ---- up ---- */

/* 1: a cluster is up in dir; 0: none; -1 a partial or dead one (clean it before starting
 * again); -2 an up.json that is not ours (why says so). */
static int already_up(const char *dir, char *why, size_t whylen)
{
	json_t *st = load_state(dir, why, whylen);
	if (!st)
		return why[0] ? -2 : 0;
	json_t *n;
	size_t i;
	int alive = 0, total = 0;
	json_array_foreach(json_object_get(st, "nodes"), i, n) {
		struct up_proc p;
		char skip[800];
		get_proc(n, "init", &p);
		total++;
		alive += up_proc_check(&p, skip, sizeof skip) == 1;
	}
	json_decref(st);
	if (total && alive == total)
		return 1;
	return -1;
}

/* canteen up --nodes N on a cluster that is up with fewer nodes: add the missing ones. */
static int grow(struct up *u, unsigned want)
{
	char why[800];
	json_t *st = load_state(u->dir, why, sizeof why), *n;
	json_t *nodes = json_object_get(st, "nodes");
	const char *rpc = json_string_value(json_object_get(st, "rpc"));
	const char *contract = json_string_value(json_object_get(st, "contract"));
	if (!rpc || !contract || !json_is_array(nodes) || json_array_size(nodes) > UP_MAX_NODES) {
		json_decref(st);
		cli_err("%s/up.json is not as canteen up wrote it: canteen down, then up again", u->dir);
		return CLI_FAIL;
	}
	str_copy(u->rpc, sizeof u->rpc, rpc);
	str_copy(u->contract, sizeof u->contract, contract);
	get_proc(st, "anvil", &u->anvil);
	get_proc(st, "dockerd", &u->dockerd);
	u->chain_id = (uint64_t)json_integer_value(json_object_get(st, "chain_id"));
	u->fast = json_is_true(json_object_get(st, "fast"));
	int isolated = json_is_true(json_object_get(st, "isolated"));
	size_t i;
	u->nodes = 0;
	json_array_foreach(nodes, i, n) {
		const char *a = json_string_value(json_object_get(n, "address"));
		str_copy(u->addr[i], sizeof u->addr[i], a ? a : "");
		get_proc(n, "init", &u->init[i]);
		u->nodes++;
	}
	json_decref(st);
	if (want <= u->nodes) {
		say("a local cluster of %u nodes is already up (state in %s); canteen down stops it",
		    u->nodes, u->dir);
		return CLI_OK;
	}
	if (isolated || u->isolated) {
		cli_err("an isolated cluster does not grow, nor does a shared one become isolated: "
		        "canteen down, then canteen up --isolated --nodes %u", want);
		return CLI_FAIL;
	}
	snprintf(u->admin_key, sizeof u->admin_key, "%s/admin.key", u->dir);
	char ip[32];
	for (unsigned k = u->nodes; k < want; k++) {
		node_ip(u, k, ip, sizeof ip);
		if (!up_port_free(ip, UP_SWIM_PORT, SOCK_DGRAM)) {
			cli_err("%s:%d/udp is taken (another canteen node?)", ip, UP_SWIM_PORT);
			return CLI_FAIL;
		}
	}
	for (unsigned k = u->nodes; k < want; k++) {
		if (make_node(u, k) < 0) {
			cli_err("adding node %u failed; the cluster's other nodes run on", k + 1);
			return CLI_FAIL;
		}
		u->nodes = k + 1;
		if (save_state(u) < 0) {
			cli_err("cannot write %s/up.json", u->dir);
			return CLI_FAIL;
		}
	}
	say("local cluster grown to %u nodes (state in %s)", u->nodes, u->dir);
	return CLI_OK;
}

static void print_next(struct up *u)
{
	char lab[64], in[96] = "", ip[32];
	node_ip(u, 0, ip, sizeof ip);
	if (u->isolated) {
		up_iso_netns(u->slot, 0, lab, sizeof lab);
		snprintf(in, sizeof in, "ip netns exec %s ", lab);
	}
	say("\nlocal cluster up: %u nodes%s, state in %s", u->nodes,
	    u->isolated ? " (isolated: each its own network namespace and dockerd)" : "", u->dir);
	say("try:");
	if (!u->no_sample)
		say("  %scurl http://%s:%d/", in, ip, UP_WEB_PORT);
	for (unsigned i = 0; u->isolated && i < u->nodes; i++) {
		char sock[512];
		node_docker(u, i, sock, sizeof sock);
		say("  docker -H unix://%s ps   # node %u's own dockerd", sock, i + 1);
	}
	say("  %s/canteen --rundir %s/node1/run members", u->bindir, u->dir);
	say("  %s/canteen --rundir %s/node1/run ps", u->bindir, u->dir);
	/* The chain's settings: isolated, node 1's canteen.conf has them (and allows its http). */
	char chain[1400];
	if (u->isolated)
		snprintf(chain, sizeof chain, "-c %s/node1/canteen.conf", u->dir);
	else
		snprintf(chain, sizeof chain, "--rpc %s --chain-id %llu --contract %s", u->rpc,
		         (unsigned long long)u->chain_id, u->contract);
	say("  %s%s/canteen %s service ls", in, u->bindir, chain);
	if (u->no_sample)
		say("  %s%s/canteen %s --key-file %s service deploy hello --image %s --replicas 3 "
		    "--cpu 50m --mem 16M -- /bin/busybox sleep 3600", in, u->bindir, chain, u->admin_key,
		    UP_DEMO_IMAGE);
	else
		say("  %s%s/canteen %s --key-file %s service scale web 5", in, u->bindir, chain,
		    u->admin_key);
	say("  %s/canteen down", u->bindir);
}

/* A slot of our own, its namespaces wired, and this process in the lab from now on. */
static int isolate(struct up *u)
{
	char err[512];
	if (up_iso_claim(&u->slot, err, sizeof err) < 0) {
		u->isolated = 0; /* nothing of ours to remove */
		cli_err("%s", err);
		return -1;
	}
	if (save_state(u) < 0 || up_iso_wire(u->slot, u->nodes, err, sizeof err) < 0 ||
	    up_iso_enter(u->slot, 0, err, sizeof err) < 0) {
		cli_err("isolating the nodes failed: %s", err);
		return -1;
	}
	char lab[64], ip[32];
	up_iso_netns(u->slot, 0, lab, sizeof lab);
	up_iso_ip(u->slot, 0, ip, sizeof ip);
	say("isolated: namespace %s with the chain at %s, a namespace and dockerd per node", lab, ip);
	return 0;
}

static int up_fail(struct up *u)
{
	save_state(u);
	cli_err("canteen up failed; stopping what it started (logs stay in %s)", u->dir);
	down_dir(u->dir, 1);
	return CLI_FAIL;
}

int cmd_up(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"nodes", required_argument, NULL, 'n'}, {"detach", no_argument, NULL, 'D'},
		{"dir", required_argument, NULL, 'd'},   {"fast", no_argument, NULL, 'f'},
		{"no-sample", no_argument, NULL, 'S'},   {"isolated", no_argument, NULL, 'I'},
		{NULL, 0, NULL, 0},
	};
	struct up u;
	memset(&u, 0, sizeof u);
	u.cli = cli;
	u.nodes = 3;
	up_dir_default(u.dir, sizeof u.dir);
	int ch, nodes_given = 0;
	uint64_t v;
	char err[256];
	while ((ch = getopt_long(argc, argv, "+n:", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (parse_u64(optarg, 1, UP_MAX_NODES, &v, err, sizeof err) < 0) {
				cli_err("--nodes: %s", err);
				return CLI_USAGE;
			}
			u.nodes = (unsigned)v;
			nodes_given = 1;
			break;
		case 'D': u.detach = 1; break;
		case 'f': u.fast = 1; break;
		case 'S': u.no_sample = 1; break;
		case 'I': u.isolated = 1; break;
		case 'd': snprintf(u.dir, sizeof u.dir, "%s", optarg); break;
		default:
			cli_err(USAGE_UP);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		cli_err(USAGE_UP);
		return CLI_USAGE;
	}
	if (up_self_dir(u.bindir, sizeof u.bindir) < 0) {
		cli_err("cannot find my own directory");
		return CLI_FAIL;
	}
	const char *dh = cli->conf.docker_host;
	snprintf(u.docker_sock, sizeof u.docker_sock, "%s", strncmp(dh, "unix://", 7) == 0 ? dh + 7 : dh);
	u.own_chain = cli->conf.rpc_url[0] == '\0';
	if (!u.own_chain)
		str_copy(u.rpc, sizeof u.rpc, cli->conf.rpc_url);
	if (u.isolated && (!u.own_chain || u.nodes > UP_ISO_MAX_NODES || geteuid() != 0)) {
		cli_err("--isolated: %s", !u.own_chain ? "the chain runs inside the cluster's own network; "
		        "leave --rpc out" : u.nodes > UP_ISO_MAX_NODES ? "at most 14 nodes" :
		        "needs root (network namespaces, a dockerd per node)");
		return CLI_USAGE;
	}

	/* The directory holds what canteen-init runs: it is ours alone, or nothing starts. */
	char why[800];
	if (up_dir_check(u.dir, 1, why, sizeof why) < 0) {
		cli_err("%s", why);
		return CLI_FAIL;
	}
	int state = already_up(u.dir, why, sizeof why);
	if (state == -2) {
		cli_err("%s", why);
		return CLI_FAIL;
	}
	if (state == 1)
		return grow(&u, nodes_given ? u.nodes : 0);
	if (state < 0)
		down_dir(u.dir, 1);
	if (install_deps(&u) < 0 || (!u.isolated && check_ports(&u) < 0))
		return CLI_FAIL;
	if (u.isolated && isolate(&u) < 0)
		return up_fail(&u);
	if (ensure_docker(&u) < 0 || start_chain(&u) < 0 || save_state(&u) < 0 || deploy_contract(&u) < 0)
		return up_fail(&u);
	for (unsigned i = 0; i < u.nodes; i++)
		if (make_node(&u, i) < 0 || save_state(&u) < 0)
			return up_fail(&u);
	if (make_image(&u) < 0 ||
	    (!u.no_sample && (deploy_sample(&u) < 0 || wait_sample(&u, 180) < 0)))
		return up_fail(&u);
	print_next(&u);
	if (u.detach)
		return CLI_OK;
	say("\nstaying in the foreground: Ctrl-C stops the cluster");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sig = 0;
	sigwait(&set, &sig);
	say("\nsignal %d: stopping the local cluster", sig);
	return down_dir(u.dir, 0);
}
