/* metrics.c: "canteen metrics": every local daemon's counters in Prometheus' text format, or into a textfile. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "errf.h"
#include "ipc.h"
#include "loop.h"
#include "parse.h"
#include "sockets.h"

#define METRICS_TEXT_MAX (1024 * 1024)     /* the whole exposition, bytes */
#define METRICS_LABEL_MAX 512              /* one label value from a daemon, bytes */
#define METRICS_TIMEOUT_DEFAULT_MS 2000    /* each daemon's answer */
#define METRICS_TIMEOUT_MAX_MS 60000
#define METRICS_INTERVAL_MIN_MS 1000
#define METRICS_INTERVAL_MAX_MS 86400000
#define METRICS_PATH_MAX 4096              /* --textfile, bytes */

/* The text being built; past METRICS_TEXT_MAX it is an error, never a truncation. */
struct text {
	char *p;
	size_t len, cap;
	int overflow;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = t->cap - t->len;
		va_start(ap, fmt);
		int n = t->overflow || !t->p ? -1 : vsnprintf(t->p + t->len, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->overflow = 1;
			return;
		}
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		size_t want = t->len + (size_t)n + 1;
		size_t cap = t->cap * 2 > want ? t->cap * 2 : want;
		char *np = want > METRICS_TEXT_MAX ? NULL : realloc(t->p, cap);
		if (!np) {
			t->overflow = 1;
			return;
		}
		t->p = np;
		t->cap = cap;
	}
}

/* A label value as the text format wants it (\\, \" and \n escaped) into out; -1 when it is
 * longer than METRICS_LABEL_MAX bytes (the sample is then left out). */
static int label_esc(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	if (strlen(s) > METRICS_LABEL_MAX)
		return -1;
	for (; *s; s++) {
		const char *rep = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
		size_t n = rep ? 2 : 1;
		if (o + n >= outlen)
			return -1;
		if (rep)
			memcpy(out + o, rep, 2);
		else
			out[o] = *s;
		o += n;
	}
	out[o] = '\0';
	return 0;
}

static void family(struct text *t, const char *name, const char *type, const char *help)
{
	add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A non-negative integer field of a daemon's answer; -1 when absent or anything else. */
static int get_u64(const json_t *o, const char *key, uint64_t *v)
{
	json_t *j = json_object_get(o, key);
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -1;
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

/* One family of one sample from an integer field; nothing when the field is missing. */
static void one(struct text *t, const json_t *o, const char *key, const char *name,
                const char *type, const char *help)
{
	uint64_t v;
	if (get_u64(o, key, &v) < 0)
		return;
	family(t, name, type, help);
	add(t, "%s %" PRIu64 "\n", name, v);
}

/* The same for a field counting units of 1/div seconds, shown in seconds. */
static void secs(struct text *t, const json_t *o, const char *key, double div, const char *name,
                 const char *type, const char *help)
{
	uint64_t v;
	if (get_u64(o, key, &v) < 0)
		return;
	family(t, name, type, help);
	add(t, "%s %.6f\n", name, (double)v / div);
}

static void boolean(struct text *t, const json_t *o, const char *key, const char *name,
                    const char *help)
{
	json_t *j = json_object_get(o, key);
	if (!json_is_boolean(j))
		return;
	family(t, name, "gauge", help);
	add(t, "%s %d\n", name, json_is_true(j));
}

/* One family with a label: a sample per fixed key of the object o[key]. */
static void by_label(struct text *t, const json_t *o, const char *key, const char *const *keys,
                     size_t nkeys, const char *name, const char *label, const char *type,
                     const char *help)
{
	const json_t *m = json_object_get(o, key);
	uint64_t v;
	if (!json_is_object(m))
		return;
	family(t, name, type, help);
	for (size_t i = 0; i < nkeys; i++)
		if (get_u64(m, keys[i], &v) == 0)
			add(t, "%s{%s=\"%s\"} %" PRIu64 "\n", name, label, keys[i], v);
}

/* ---- each daemon ---- */

static void swim_text(struct text *t, const json_t *a)
{
	static const char *const states[] = {"alive", "suspect", "dead", "left"};
	by_label(t, a, "members", states, 4, "canteen_swim_members", "state", "gauge",
	         "Members by SWIM state, this node included.");
	by_label(t, a, "events", states, 4, "canteen_swim_member_changes_total", "state", "counter",
	         "Member state changes published, by the new state.");
	one(t, a, "packets_in", "canteen_swim_received_packets_total", "counter",
	    "UDP packets received.");
	one(t, a, "packets_out", "canteen_swim_sent_packets_total", "counter", "UDP packets sent.");
	one(t, a, "bytes_in", "canteen_swim_received_bytes_total", "counter", "UDP bytes received.");
	one(t, a, "bytes_out", "canteen_swim_sent_bytes_total", "counter", "UDP bytes sent.");
	one(t, a, "send_errors", "canteen_swim_send_errors_total", "counter", "Failed sends.");
	const json_t *drops = json_object_get(a, "drops");
	if (json_is_object(drops)) {
		const char *k;
		json_t *v;
		char lv[2 * METRICS_LABEL_MAX + 1];
		family(t, "canteen_swim_dropped_packets_total", "counter",
		       "Received packets dropped, by reason.");
		json_object_foreach((json_t *)drops, k, v)
			if (json_is_integer(v) && json_integer_value(v) >= 0 &&
			    label_esc(k, lv, sizeof lv) == 0)
				add(t, "canteen_swim_dropped_packets_total{reason=\"%s\"} %" JSON_INTEGER_FORMAT "\n",
				    lv, json_integer_value(v));
	}
	one(t, a, "local_health", "canteen_swim_local_health", "gauge",
	    "Lifeguard local health multiplier (0 is healthy).");
	static const char *const counters[][3] = {
		{"probes", "canteen_swim_probes_total", "Direct probes sent."},
		{"acks", "canteen_swim_acks_total", "Acks received."},
		{"indirect_probes", "canteen_swim_indirect_probes_total", "Indirect probes asked for."},
		{"nacks_in", "canteen_swim_received_nacks_total", "Nacks received."},
		{"nacks_out", "canteen_swim_sent_nacks_total", "Nacks sent."},
		{"suspicions", "canteen_swim_suspicions_total", "Members this node suspected."},
		{"refutations", "canteen_swim_refutations_total", "Suspicions of this node refuted."},
		{"pushpulls", "canteen_swim_pushpulls_total", "Push-pull exchanges."},
		{"joins", "canteen_swim_joins_total", "Join requests sent."},
		{"paused", "canteen_swim_paused_periods_total", "Protocol periods paused."},
		{"replies_capped", "canteen_swim_replies_capped_total",
		 "Replies not sent: a packet's reply budget was spent."},
		{"pushpulls_refused", "canteen_swim_pushpulls_refused_total",
		 "Push-pull replies refused: one this period already."},
		{"gossip_ignored", "canteen_swim_gossip_ignored_total",
		 "Gossip ignored (past the incarnation bound, or a leave not from its subject)."},
	};
	for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
		one(t, a, counters[i][0], counters[i][1], "counter", counters[i][2]);
}

static void chain_text(struct text *t, const json_t *a)
{
	uint64_t head, block;
	boolean(t, a, "ready", "canteen_chainwatch_ready", "1 once the contract's state has been read.");
	boolean(t, a, "rpc_up", "canteen_chainwatch_rpc_up", "1 while the RPC endpoint answers.");
	one(t, a, "head", "canteen_chainwatch_head_block", "gauge",
	    "The chain's head block as last read (0 before the first read).");
	one(t, a, "block", "canteen_chainwatch_state_block", "gauge",
	    "The block the state is at (head minus confirmations when caught up).");
	if (get_u64(a, "head", &head) == 0 && get_u64(a, "block", &block) == 0 && head > 0) {
		family(t, "canteen_chainwatch_lag_blocks", "gauge",
		       "Blocks between the chain's head and the state.");
		add(t, "canteen_chainwatch_lag_blocks %" PRIu64 "\n", head > block ? head - block : 0);
	}
	one(t, a, "rpc_errors", "canteen_chainwatch_rpc_errors_total", "counter",
	    "Failed RPC rounds (transport, HTTP, RPC errors and malformed answers).");
	one(t, a, "events", "canteen_chainwatch_events_total", "counter", "Chain events published.");
	one(t, a, "reorgs", "canteen_chainwatch_reorgs_total", "counter", "Reorganisations seen.");
	one(t, a, "nodes", "canteen_chainwatch_nodes", "gauge", "Nodes registered in the contract.");
	one(t, a, "services", "canteen_chainwatch_services", "gauge", "Services in the contract.");
	const json_t *eps = json_object_get(a, "endpoints");
	if (!json_is_array(eps) || json_array_size(eps) == 0)
		return;
	size_t i;
	json_t *e;
	char lv[2 * METRICS_LABEL_MAX + 1];
	for (int pass = 0; pass < 2; pass++) {
		const char *name = pass ? "canteen_chainwatch_endpoint_faults_total"
		                        : "canteen_chainwatch_endpoint_up";
		family(t, name, pass ? "counter" : "gauge",
		       pass ? "Times an RPC endpoint was reported down or disagreeing."
		            : "1 while an RPC endpoint answers and agrees.");
		json_array_foreach(eps, i, e) {
			const char *ep = json_string_value(json_object_get(e, "endpoint"));
			const char *h = json_string_value(json_object_get(e, "health"));
			uint64_t f;
			if (!ep || !h || label_esc(ep, lv, sizeof lv) < 0)
				continue;
			if (!pass)
				add(t, "%s{endpoint=\"%s\"} %d\n", name, lv, strcmp(h, "up") == 0);
			else if (get_u64(e, "faults", &f) == 0)
				add(t, "%s{endpoint=\"%s\"} %" PRIu64 "\n", name, lv, f);
		}
	}
}

static void sched_text(struct text *t, const json_t *a)
{
	boolean(t, a, "ready", "canteen_sched_ready", "1 once chain and membership snapshots are in.");
	static const char *const peers[] = {"chain", "swim", "dockerd"};
	family(t, "canteen_sched_peer_connected", "gauge", "1 while connected to the peer daemon.");
	for (size_t i = 0; i < 3; i++) {
		json_t *j = json_object_get(a, peers[i]);
		if (json_is_boolean(j))
			add(t, "canteen_sched_peer_connected{peer=\"%s\"} %d\n", peers[i], json_is_true(j));
	}
	one(t, a, "computations", "canteen_sched_placements_total", "counter",
	    "Placements computed.");
	one(t, a, "failures", "canteen_sched_placement_failures_total", "counter",
	    "Placements that failed (the last one was kept).");
	secs(t, a, "compute_us", 1e6, "canteen_sched_placement_seconds_total", "counter",
	     "Time spent computing placements.");
	static const char *const rs[] = {"placed", "pending"};
	uint64_t v;
	int any = 0;
	for (size_t i = 0; i < 2; i++) {
		if (get_u64(a, rs[i], &v) < 0)
			continue;
		if (!any++)
			family(t, "canteen_sched_replicas", "gauge",
			       "Replicas of the whole cluster, placed or pending, by the last placement.");
		add(t, "canteen_sched_replicas{state=\"%s\"} %" PRIu64 "\n", rs[i], v);
	}
	one(t, a, "nodes", "canteen_sched_nodes", "gauge", "Active nodes known.");
	one(t, a, "services", "canteen_sched_services", "gauge", "Services known.");
	one(t, a, "members", "canteen_sched_members", "gauge", "Live SWIM members known.");
}

static void dockerd_text(struct text *t, const json_t *a)
{
	static const char *const groups[] = {"running", "starting", "pending",
	                                     "failing", "removing", "other"};
	boolean(t, a, "docker", "canteen_dockerd_docker_up", "1 while the Docker engine answers.");
	one(t, a, "desired", "canteen_dockerd_desired_replicas", "gauge",
	    "Replicas placed on this node.");
	by_label(t, a, "replicas", groups, 6, "canteen_dockerd_replicas", "state", "gauge",
	         "Replicas on this node by state (failing: exited, dead, restarting or crash loop).");
	static const char *const counters[][3] = {
		{"creates", "canteen_dockerd_container_creates_total", "Containers created."},
		{"starts", "canteen_dockerd_container_starts_total", "Containers started."},
		{"restarts", "canteen_dockerd_container_restarts_total",
		 "Starts of a container that ran before."},
		{"deaths", "canteen_dockerd_container_deaths_total", "Containers that died on their own."},
		{"op_failures", "canteen_dockerd_operation_failures_total",
		 "Container operations Docker refused."},
		{"pulls", "canteen_dockerd_image_pulls_total", "Image pulls that succeeded."},
		{"pull_failures", "canteen_dockerd_image_pull_failures_total", "Image pulls that failed."},
	};
	for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
		one(t, a, counters[i][0], counters[i][1], "counter", counters[i][2]);
	secs(t, a, "pull_ms", 1e3, "canteen_dockerd_image_pull_seconds_total", "counter",
	     "Time spent pulling images, failed pulls included.");
}

/* Each supervised program (not those being retired: their names repeat). */
static void init_text(struct text *t, const json_t *a)
{
	static const char *const fams[][3] = {
		{"canteen_init_program_up", "gauge", "1 while the program runs."},
		{"canteen_init_program_restarts_total", "counter", "Restarts of the program."},
		{"canteen_init_program_uptime_seconds", "gauge", "Time since the program started."},
	};
	secs(t, a, "uptime_ms", 1e3, "canteen_init_uptime_seconds", "gauge",
	     "Time since canteen-init started.");
	const json_t *kids = json_object_get(a, "children");
	char lv[2 * METRICS_LABEL_MAX + 1];
	for (size_t f = 0; f < 3 && json_is_array(kids); f++) {
		size_t i;
		json_t *k;
		family(t, fams[f][0], fams[f][1], fams[f][2]);
		json_array_foreach(kids, i, k) {
			const char *name = json_string_value(json_object_get(k, "name"));
			const char *state = json_string_value(json_object_get(k, "state"));
			uint64_t v;
			if (!name || !state || json_is_true(json_object_get(k, "retiring")) ||
			    label_esc(name, lv, sizeof lv) < 0)
				continue;
			if (f == 0)
				add(t, "%s{program=\"%s\"} %d\n", fams[f][0], lv, strcmp(state, "up") == 0);
			else if (f == 1 && get_u64(k, "restarts", &v) == 0)
				add(t, "%s{program=\"%s\"} %" PRIu64 "\n", fams[f][0], lv, v);
			else if (f == 2 && get_u64(k, "uptime_ms", &v) == 0)
				add(t, "%s{program=\"%s\"} %.3f\n", fams[f][0], lv, (double)v / 1e3);
		}
	}
}

/* ---- asking them ---- */

static const struct daemon {
	const char *name, *sock, *op, *type;
	void (*text)(struct text *, const json_t *);
} daemons[] = {
	{"swim", SOCK_SWIM, "stats", "stats", swim_text},
	{"chainwatch", SOCK_CHAIN, "stats", "stats", chain_text},
	{"sched", SOCK_SCHED, "status", "status", sched_text},
	{"dockerd", SOCK_DOCKERD, "stats", "stats", dockerd_text},
	{"init", SOCK_INIT, "status", "status", init_text},
};
#define NDAEMONS (sizeof daemons / sizeof daemons[0])

static volatile sig_atomic_t alarm_fired;

static void on_alarm(int sig)
{
	(void)sig;
	alarm_fired = 1;
}

/* The answer of daemon d (owned), or NULL with why. ipc_request bounds the wait for the
 * answer, not the connect: a daemon that is stopped and whose listen queue is full would
 * hold a blocking connect forever, so a timer (SIGALRM, no SA_RESTART) interrupts it. */
static json_t *ask(const struct cli *cli, const struct daemon *d, int timeout_ms, char *why,
                   size_t whylen)
{
	char path[1024], err[512];
	cli_sock_path(cli, d->sock, path, sizeof path);
	json_t *req = json_pack("{s:s}", "op", d->op), *ans = NULL;
	if (!req) {
		errf(why, whylen, "out of memory");
		return NULL;
	}
	struct sigaction sa = {.sa_handler = on_alarm}, old;
	sigemptyset(&sa.sa_mask);
	struct itimerval it = {.it_value = {.tv_sec = timeout_ms / 1000,
	                                    .tv_usec = (timeout_ms % 1000) * 1000}}, off = {0};
	alarm_fired = 0;
	sigaction(SIGALRM, &sa, &old);
	setitimer(ITIMER_REAL, &it, NULL);
	int rc = ipc_request(path, req, &ans, timeout_ms, err, sizeof err);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	json_decref(req);
	if (rc < 0) {
		errf(why, whylen, "%s", alarm_fired && !strstr(err, "timed out")
		                            ? "timed out connecting (its listen queue is full)" : err);
		return NULL;
	}
	const char *type = json_string_value(json_object_get(ans, "type"));
	if (!type || strcmp(type, d->type) != 0) {
		const char *e = json_string_value(json_object_get(ans, "error"));
		errf(why, whylen, "%s answered %s", path, e ? e : "something unexpected");
		json_decref(ans);
		return NULL;
	}
	return ans;
}

/* The whole exposition into t; up[i] says whether daemon i answered (a change of it is told
 * on stderr). Returns the number that answered. */
static size_t collect(const struct cli *cli, int timeout_ms, struct text *t, int up[NDAEMONS])
{
	json_t *ans[NDAEMONS];
	size_t n = 0;
	for (size_t i = 0; i < NDAEMONS; i++) {
		char why[1200];
		ans[i] = ask(cli, &daemons[i], timeout_ms, why, sizeof why);
		if (!ans[i] && up[i])
			cli_err("metrics: canteen-%s does not answer: %s", daemons[i].name, why);
		else if (ans[i] && !up[i])
			cli_err("metrics: canteen-%s answers", daemons[i].name);
		up[i] = ans[i] != NULL;
		n += up[i];
	}
	family(t, "canteen_build_info", "gauge", "The canteen version that wrote these metrics.");
	add(t, "canteen_build_info{version=\"%s\"} 1\n", CANTEEN_VERSION);
	family(t, "canteen_up", "gauge", "1 when the daemon answered this scrape.");
	for (size_t i = 0; i < NDAEMONS; i++)
		add(t, "canteen_up{daemon=\"%s\"} %d\n", daemons[i].name, up[i]);
	for (size_t i = 0; i < NDAEMONS; i++) {
		if (ans[i])
			daemons[i].text(t, ans[i]);
		json_decref(ans[i]);
	}
	return n;
}

/* ---- --textfile ---- */

/* PATH for node_exporter's textfile collector: a name ending in ".prom" not starting with a
 * dot, in an existing directory, and not an existing symbolic link or non-regular file. */
static int textfile_check(const char *path, char *dir, size_t dirlen, char *err, size_t errlen)
{
	char tmp[METRICS_PATH_MAX + 1];
	struct stat st;
	size_t n = strlen(path);
	if (n == 0 || n > METRICS_PATH_MAX)
		return errf(err, errlen, "--textfile: the path must be 1 to %d bytes",
		                METRICS_PATH_MAX);
	str_copy(tmp, sizeof tmp, path);
	const char *base = basename(tmp);
	size_t bn = strlen(base);
	if (bn < 6 || strcmp(base + bn - 5, ".prom") != 0 || base[0] == '.')
		return errf(err, errlen, "--textfile %s: the file name must end in .prom "
		                "(node_exporter reads only those) and not start with a dot", path);
	str_copy(tmp, sizeof tmp, path);
	str_copy(dir, dirlen, dirname(tmp));
	if (stat(dir, &st) < 0)
		return errf(err, errlen, "--textfile %s: directory %s: %s", path, dir,
		                strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errf(err, errlen, "--textfile %s: %s is not a directory", path, dir);
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return errf(err, errlen, "--textfile %s: exists and is not a regular file%s", path,
		                S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
	return 0;
}

/* The text as path's new content: a temporary file beside it (mkstemp: O_EXCL, so never
 * through a link), mode 0644, synced, then renamed over path. */
static int textfile_write(const char *path, const char *dir, const struct text *t, char *err,
                          size_t errlen)
{
	char tmp[METRICS_PATH_MAX + 64], base[METRICS_PATH_MAX + 1];
	str_copy(base, sizeof base, path);
	if (snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, basename(base)) >= (int)sizeof tmp)
		return errf(err, errlen, "--textfile: path too long");
	int fd = mkstemp(tmp);
	if (fd < 0)
		return errf(err, errlen, "cannot create a file in %s: %s", dir, strerror(errno));
	const char *what = "fchmod";
	int ok = fchmod(fd, 0644) == 0;
	for (size_t off = 0; ok && off < t->len;) {
		ssize_t w = write(fd, t->p + off, t->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		ok = w > 0;
		what = "write";
		off += ok ? (size_t)w : 0;
	}
	if (ok && fsync(fd) < 0) {
		ok = 0;
		what = "fsync";
	}
	if (close(fd) < 0 && ok) {
		ok = 0;
		what = "close";
	}
	if (ok && rename(tmp, path) < 0) {
		ok = 0;
		what = "rename";
	}
	if (!ok) {
		int e = errno;
		unlink(tmp);
		return errf(err, errlen, "cannot write %s: %s: %s", path, what, strerror(e));
	}
	return 0;
}

/* Wait ms for one of the (blocked) stop signals: 1 when one came, 0 when the time is up. No
 * handler and no race: a signal sent while the metrics were being collected is pending and
 * ends the wait at once. */
static int wait_stop(const sigset_t *stops, uint64_t ms)
{
	uint64_t end = mono_ms() + ms, now;
	while ((now = mono_ms()) < end) {
		uint64_t left = end - now;
		struct timespec ts = {.tv_sec = (time_t)(left / 1000),
		                      .tv_nsec = (long)(left % 1000) * 1000000L};
		if (sigtimedwait(stops, NULL, &ts) > 0)
			return 1;
	}
	return 0;
}

int cmd_metrics(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"textfile", required_argument, NULL, 'f'},
		{"interval", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	uint64_t interval = 0, timeout = METRICS_TIMEOUT_DEFAULT_MS;
	char err[METRICS_PATH_MAX + 512], dir[METRICS_PATH_MAX + 1];
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		uint64_t *into = ch == 'i' ? &interval : &timeout;
		uint64_t lo = ch == 'i' ? METRICS_INTERVAL_MIN_MS : 1;
		uint64_t hi = ch == 'i' ? METRICS_INTERVAL_MAX_MS : METRICS_TIMEOUT_MAX_MS;
		switch (ch) {
		case 'f': path = optarg; break;
		case 'i':
		case 't':
			if (parse_duration_ms(optarg, into, err, sizeof err) < 0) {
				cli_err("--%s: %s\n%s", ch == 'i' ? "interval" : "timeout", err, USAGE_METRICS);
				return CLI_USAGE;
			}
			if (*into < lo || *into > hi) {
				cli_err("--%s %s: out of range (%" PRIu64 " ms to %" PRIu64 " ms)\n%s",
				        ch == 'i' ? "interval" : "timeout", optarg, lo, hi, USAGE_METRICS);
				return CLI_USAGE;
			}
			break;
		default: fprintf(stderr, "%s\n", USAGE_METRICS); return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_err("unexpected '%s'\n%s", argv[optind], USAGE_METRICS);
		return CLI_USAGE;
	}
	if (interval && !path) {
		cli_err("--interval needs --textfile\n%s", USAGE_METRICS);
		return CLI_USAGE;
	}
	if (path && textfile_check(path, dir, sizeof dir, err, sizeof err) < 0) {
		cli_err("%s", err);
		return CLI_USAGE;
	}
	sigset_t stops;
	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGHUP);
	if (interval)
		sigprocmask(SIG_BLOCK, &stops, NULL);
	int up[NDAEMONS], stop = 0;
	for (size_t i = 0; i < NDAEMONS; i++)
		up[i] = 1;
	int rc = CLI_OK;
	do {
		struct text t = {.p = malloc(65536), .cap = 65536};
		size_t answered = collect(cli, (int)timeout, &t, up);
		if (t.overflow) {
			cli_err("metrics: the text would exceed %d bytes", METRICS_TEXT_MAX);
			rc = CLI_FAIL;
		} else if (path && textfile_write(path, dir, &t, err, sizeof err) < 0) {
			cli_err("metrics: %s", err);
			rc = CLI_FAIL;
		} else if (!path && (fwrite(t.p, 1, t.len, stdout) != t.len || fflush(stdout) != 0)) {
			rc = CLI_FAIL;
		} else {
			rc = answered > 0 ? CLI_OK : CLI_FAIL;
		}
		free(t.p);
		if (interval)
			stop = wait_stop(&stops, interval);
	} while (interval && !stop);
	/* Supervised and stopped: a clean exit. */
	return interval ? CLI_OK : rc;
}
