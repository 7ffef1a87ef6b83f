/* test_metrics.c: canteen metrics' text from hostile or malformed daemon answers, and its --textfile checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../cmd/canteen/metrics.c"
#include "tap.h"

/* The two CLI helpers metrics.c calls (main.c is not linked here). */
void cli_err(const char *fmt, ...)
{
	(void)fmt;
}

void cli_sock_path(const struct cli *cli, const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", cli->conf.rundir, name);
}

static struct text fresh(void) { return (struct text){.p = malloc(65536), .cap = 65536}; }

/* Run fn on the JSON answer s; the text (owned by the caller, NUL-terminated). */
static char *render(void (*fn)(struct text *, const json_t *), const char *s)
{
	json_t *a = json_loads(s, 0, NULL);
	struct text t = fresh();
	if (a)
		fn(&t, a);
	json_decref(a);
	add(&t, "%s", "");
	return t.p;
}

/* Every line is a comment or a sample "canteen_...{...} value" with no raw newline inside. */
static int well_formed(const char *text)
{
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		if (!nl)
			return 0;
		if (l[0] != '#' && strncmp(l, "canteen_", 8) != 0)
			return 0;
		l = nl + 1;
	}
	return 1;
}

int main(void)
{
	char out[2 * METRICS_LABEL_MAX + 1], big[METRICS_LABEL_MAX + 2];

	ok(label_esc("a\"b\\c\nd", out, sizeof out) == 0, "label_esc accepts quotes and newlines");
	is_str(out, "a\\\"b\\\\c\\nd", "... escaped as the text format wants");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ok(label_esc(big, out, sizeof out) < 0, "a label longer than METRICS_LABEL_MAX is refused");

	/* init: a program name with a quote and a newline, a retiring duplicate, bad restarts. */
	char *t = render(init_text,
	                 "{\"type\":\"status\",\"uptime_ms\":1500,\"children\":["
	                 "{\"name\":\"ev\\\"il\\nx 1\",\"state\":\"up\",\"restarts\":2,\"uptime_ms\":10},"
	                 "{\"name\":\"sw\",\"state\":\"backoff\",\"restarts\":-3,\"uptime_ms\":\"x\"},"
	                 "{\"name\":\"sw\",\"state\":\"up\",\"restarts\":1,\"retiring\":true},"
	                 "{\"state\":\"up\"}, 7]}");
	ok(strstr(t, "canteen_init_program_up{program=\"ev\\\"il\\nx 1\"} 1\n") != NULL,
	   "init: a hostile program name is escaped");
	ok(strstr(t, "canteen_init_program_restarts_total{program=\"ev\\\"il\\nx 1\"} 2\n") != NULL,
	   "init: its restarts");
	ok(strstr(t, "canteen_init_program_up{program=\"sw\"} 0\n") != NULL, "init: backoff is not up");
	ok(strstr(t, "restarts_total{program=\"sw\"}") == NULL,
	   "init: negative restarts and the retiring duplicate are left out");
	ok(strstr(t, "uptime_seconds{program=\"sw\"}") == NULL, "init: a string uptime is left out");
	ok(strstr(t, "canteen_init_uptime_seconds 1.500000\n") != NULL, "init: uptime in seconds");
	ok(well_formed(t), "init: every line well formed");
	free(t);

	/* swim: wrong shapes leave families out; a hostile drop reason is escaped. */
	t = render(swim_text, "{\"type\":\"stats\",\"members\":[1,2],\"packets_in\":1.5,"
	                      "\"packets_out\":\"9\",\"bytes_in\":-1,\"bytes_out\":42,"
	                      "\"drops\":{\"a\\\"b\":3,\"neg\":-1,\"str\":\"x\"},"
	                      "\"events\":{\"alive\":2,\"suspect\":null}}");
	ok(strstr(t, "canteen_swim_members") == NULL, "swim: members not an object: no family");
	ok(strstr(t, "received_packets") == NULL && strstr(t, "sent_packets") == NULL &&
	       strstr(t, "received_bytes") == NULL,
	   "swim: float, string and negative counters are left out");
	ok(strstr(t, "canteen_swim_sent_bytes_total 42\n") != NULL, "swim: a good counter is kept");
	ok(strstr(t, "canteen_swim_dropped_packets_total{reason=\"a\\\"b\"} 3\n") != NULL,
	   "swim: a drop reason is escaped");
	ok(strstr(t, "reason=\"neg\"") == NULL && strstr(t, "reason=\"str\"") == NULL,
	   "swim: bad drop counts are left out");
	ok(strstr(t, "member_changes_total{state=\"alive\"} 2\n") != NULL &&
	       strstr(t, "state=\"suspect\"") == NULL,
	   "swim: only the integer state changes");
	ok(well_formed(t), "swim: every line well formed");
	free(t);

	/* chainwatch: lag from head and block; no lag before a head; endpoints escaped or left out. */
	char eps[2 * METRICS_LABEL_MAX + 512];
	snprintf(eps, sizeof eps,
	         "{\"type\":\"stats\",\"head\":10,\"block\":7,\"endpoints\":["
	         "{\"endpoint\":\"http://a\\\"b\",\"health\":\"down\",\"faults\":4},"
	         "{\"endpoint\":\"%s\",\"health\":\"up\",\"faults\":0},"
	         "{\"endpoint\":5,\"health\":\"up\"}]}", big);
	t = render(chain_text, eps);
	ok(strstr(t, "canteen_chainwatch_lag_blocks 3\n") != NULL, "chainwatch: lag = head - block");
	ok(strstr(t, "canteen_chainwatch_endpoint_up{endpoint=\"http://a\\\"b\"} 0\n") != NULL,
	   "chainwatch: an endpoint label is escaped; down is 0");
	ok(strstr(t, "canteen_chainwatch_endpoint_faults_total{endpoint=\"http://a\\\"b\"} 4\n") != NULL,
	   "chainwatch: its faults");
	ok(strstr(t, "xxxxxxxx") == NULL, "chainwatch: an over-long endpoint is left out");
	ok(well_formed(t), "chainwatch: every line well formed");
	free(t);
	t = render(chain_text, "{\"type\":\"stats\",\"head\":0,\"block\":7}");
	ok(strstr(t, "lag_blocks") == NULL, "chainwatch: no lag before the head is known");
	free(t);
	t = render(chain_text, "{\"type\":\"stats\",\"head\":5,\"block\":7}");
	ok(strstr(t, "canteen_chainwatch_lag_blocks 0\n") != NULL, "chainwatch: a head behind the state is lag 0");
	free(t);

	/* dockerd and sched: wrong types leave samples out. */
	t = render(dockerd_text, "{\"type\":\"stats\",\"docker\":1,\"replicas\":{\"running\":2,"
	                         "\"failing\":-1},\"pull_ms\":1500,\"starts\":true}");
	ok(strstr(t, "docker_up") == NULL, "dockerd: docker not a boolean: left out");
	ok(strstr(t, "canteen_dockerd_replicas{state=\"running\"} 2\n") != NULL, "dockerd: running");
	ok(strstr(t, "state=\"failing\"") == NULL, "dockerd: a negative count is left out");
	ok(strstr(t, "canteen_dockerd_image_pull_seconds_total 1.500000\n") != NULL,
	   "dockerd: pull time in seconds");
	ok(strstr(t, "container_starts_total") == NULL, "dockerd: a boolean counter is left out");
	free(t);
	t = render(sched_text, "{\"type\":\"status\",\"compute_us\":2500000,\"chain\":true,"
	                       "\"swim\":\"yes\",\"placed\":3}");
	ok(strstr(t, "canteen_sched_placement_seconds_total 2.500000\n") != NULL, "sched: seconds");
	ok(strstr(t, "peer=\"chain\"} 1\n") != NULL && strstr(t, "peer=\"swim\"") == NULL,
	   "sched: only boolean peers");
	ok(strstr(t, "canteen_sched_replicas{state=\"placed\"} 3\n") != NULL &&
	       strstr(t, "state=\"pending\"") == NULL,
	   "sched: replicas placed only");
	free(t);

	/* The text is bounded: past METRICS_TEXT_MAX it overflows instead of growing. */
	struct text b = fresh();
	for (int i = 0; i < 200000 && !b.overflow; i++)
		add(&b, "%s\n", "canteen_filler_line_of_some_length 1");
	ok(b.overflow && b.len <= METRICS_TEXT_MAX, "the text stops at METRICS_TEXT_MAX (%zu bytes)",
	   b.len);
	free(b.p);

	/* --textfile checks. */
	char dir[] = "/tmp/test_metrics.XXXXXX", p[256], d[METRICS_PATH_MAX + 1], err[512];
	ok(mkdtemp(dir) != NULL, "a scratch directory");
	snprintf(p, sizeof p, "%s/c.prom", dir);
	ok(textfile_check(p, d, sizeof d, err, sizeof err) == 0, "a new .prom file is accepted");
	is_str(d, dir, "... in its directory");
	snprintf(p, sizeof p, "%s/.c.prom", dir);
	ok(textfile_check(p, d, sizeof d, err, sizeof err) < 0, "a dot file is refused");
	snprintf(p, sizeof p, "%s/c.prom.tmp", dir);
	ok(textfile_check(p, d, sizeof d, err, sizeof err) < 0, "a name not ending in .prom is refused");
	ok(textfile_check(".prom", d, sizeof d, err, sizeof err) < 0, "\".prom\" alone is refused");
	ok(textfile_check("", d, sizeof d, err, sizeof err) < 0, "an empty path is refused");
	snprintf(p, sizeof p, "%s/l.prom", dir);
	ok(symlink("/etc/passwd", p) == 0, "a symbolic link");
	ok(textfile_check(p, d, sizeof d, err, sizeof err) < 0 && strstr(err, "symbolic link"),
	   "... is refused: %s", err);
	struct text w = fresh();
	add(&w, "canteen_x 1\n");
	snprintf(p, sizeof p, "%s/c.prom", dir);
	ok(textfile_write(p, dir, &w, err, sizeof err) == 0, "written");
	struct stat st;
	ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0644, "mode 0644");
	is_int(st.st_size, 12, "whole");
	free(w.p);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ok(system(cmd) == 0, "cleaned up");

	return done_testing();
}
