/* rec_tool.c: common/rec.h from the command line: limits, verdicts, dockerd's decoder, records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_spec.h"
#include "rec.h"

/*
 * usage: rec_tool limits            the contract limits rec.h holds, "NAME VALUE" lines
 *        rec_tool check < LINES     per SERVICE line: ok | contract: WHY | run: WHY
 *        rec_tool dockerd < LINES   per SERVICE line: its last replica as canteen-sched
 *                                   hands it to canteen-dockerd, through dockerd's
 *                                   decoder: ok | rejected: WHY
 *        rec_tool gen SEED N        N ServiceSpec records at and around every limit:
 *                                   "CAST-TUPLE<TAB>SERVICE-JSON" lines
 */

static int limits(void)
{
	printf("MAX_NAME %d\nMAX_IMAGE %d\nMAX_ENDPOINT %d\nMAX_ITEMS %d\nMAX_ITEM_LEN %d\n"
	       "MAX_LABELS %d\nMAX_LABEL_LEN %d\nMAX_PORTS %d\nMAX_PAGE %d\n"
	       "MAX_VOLUMES %d\nMAX_VOLUME_LEN %d\nMAX_VOLUME_NAME %d\nMAX_PERMILLE %d\n",
	       REC_MAX_NAME, REC_MAX_IMAGE, REC_MAX_ENDPOINT, REC_MAX_ITEMS, REC_MAX_ITEM_LEN,
	       REC_MAX_LABELS, REC_MAX_LABEL_LEN, REC_MAX_PORTS, REC_MAX_PAGE, REC_MAX_VOLUMES,
	       REC_MAX_VOLUME_LEN, REC_MAX_VOLUME_NAME, REC_MAX_PERMILLE);
	for (int i = 0; rec_strategy_name(i); i++) {
		char up[32];
		size_t k = 0;
		for (const char *p = rec_strategy_name(i); *p && k + 1 < sizeof up; p++)
			up[k++] = (char)(*p - 'a' + 'A');
		up[k] = '\0';
		printf("STRATEGY_%s %d\n", up, i);
	}
	for (int i = 0; rec_proto_name(i); i++)
		printf("PROTO_%s %d\n", i == REC_TCP ? "TCP" : "UDP", i);
	for (int i = 0; rec_failure_name(i); i++)
		printf("FAILURE_%s %d\n", i == REC_FAILURE_PAUSE ? "PAUSE" : "ROLLBACK", i);
	return 0;
}

/* Each stdin line as JSON to fn; fn prints one line. */
static int each_line(void (*fn)(json_t *))
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		json_error_t je;
		json_t *o = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &je);
		if (!o) {
			printf("bad line: %s\n", je.text);
		} else {
			fn(o);
			json_decref(o);
		}
		fflush(stdout);
	}
	free(line);
	return 0;
}

static void check_one(json_t *svc)
{
	char err[300];
	if (rec_service_check(svc, err, sizeof err) < 0)
		printf("contract: %s\n", err);
	else if (rec_service_runnable(svc, err, sizeof err) < 0)
		printf("run: %s\n", err);
	else
		printf("ok\n");
}

static void dockerd_one(json_t *svc)
{
	static const char node[] = "0x00000000000000000000000000000000000000aa";
	char err[300];
	struct docker_desired d;
	json_int_t last = json_integer_value(json_object_get(svc, "replicas")) - 1;
	json_t *spec = json_pack("{s:O,s:I,s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "service",
	                         json_object_get(svc, "name"), "replica", last < 0 ? 0 : last, "generation",
	                         json_object_get(svc, "generation"), "image",
	                         json_object_get(svc, "image"), "command",
	                         json_object_get(svc, "command"), "env", json_object_get(svc, "env"),
	                         "cpu_millis", json_object_get(svc, "cpu_millis"), "mem_mib",
	                         json_object_get(svc, "mem_mib"), "ports", json_object_get(svc, "ports"));
	/* what reaches the container of version 5's options (canteen-sched passes them on) */
	static const char *const pass[] = {"health", "volumes", "read_only"};
	for (size_t i = 0; spec && i < sizeof pass / sizeof pass[0]; i++)
		if (json_object_get(svc, pass[i]))
			json_object_set(spec, pass[i], json_object_get(svc, pass[i]));
	json_t *msg = json_pack("{s:s,s:s,s:[o]}", "op", "desired", "node", node, "containers", spec);
	if (!msg || docker_desired_decode(msg, node, &d, err, sizeof err) < 0)
		printf("refused whole: %s\n", msg ? err : "cannot build");
	else if (d.nrejects)
		printf("rejected: %s\n", d.rejects[0].error);
	else
		printf("ok\n");
	if (msg)
		docker_desired_free(&d);
	json_decref(msg);
}

/* ---- records at and around the limits ---- */

static unsigned long long rng;

static unsigned pick(unsigned n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((rng >> 33) % n);
}

struct gen {
	char name[80], image[600];
	char *cmd[70], *env[70], *sel[40];
	int ncmd, nenv, nsel;
	long long replicas, cpu, mem, prio;
	int strategy, exclusive;
	int ports[40][3], nports;
	/* version 5's options: emitted when opts */
	int opts;
	char *hcmd[70], *vols[12];
	int nhcmd, nvols;
	long long hint, htimeout, hstart, hretries, upar, udelay, ufa, uperm, failover;
	int hdisabled, stateful, ro;
};

static char *rep(char c, size_t n, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	char *s = malloc(pl + n + sl + 1);
	if (!s)
		abort();
	memcpy(s, prefix, pl);
	memset(s + pl, c, n);
	memcpy(s + pl + n, suffix, sl + 1);
	return s;
}

/* One change of a valid record toward (or past) one limit. */
static void mutate_options(struct gen *g, int i)
{
	static const char *const bad_vols[] = {"data", "d:", "d:/", "d:rel", ":/x", "D:/x", "-d:/x",
	                                       "d:/a b", "d:/x:rw", "d:/:ro", "d:/x/..", "d://x",
	                                       "d:/x/", "d:/./x"};
	char b[64];
	g->opts = 1;
	switch (pick(14)) {
	case 0: g->hcmd[g->nhcmd++] = strdup("CMD-SHELL"); g->hcmd[g->nhcmd++] = strdup("test -f /tmp/ok"); break;
	case 1: g->hcmd[g->nhcmd++] = strdup("CMD-SHELL"); if (pick(2)) g->hcmd[g->nhcmd++] = strdup("a"); g->hcmd[g->nhcmd++] = strdup(pick(2) ? "b" : ""); break;
	case 2: while (g->nhcmd < REC_MAX_ITEMS + (int)pick(2)) g->hcmd[g->nhcmd++] = strdup("h"); break;
	case 3: g->hcmd[g->nhcmd++] = rep('y', REC_MAX_ITEM_LEN - 1 + pick(2), "", ""); break;
	case 4: g->hcmd[g->nhcmd++] = strdup(pick(2) ? "true" : ""); g->hdisabled = (int)pick(2); break;
	case 5: g->hint = REC_U32_MAX; g->htimeout = pick(2) ? 1 : 0; g->hstart = 7; g->hretries = 255; break;
	case 6: g->hdisabled = 1; break;
	case 7: g->ufa = (int)pick(3); g->uperm = REC_MAX_PERMILLE + (int)pick(2); g->upar = 65535; g->udelay = REC_U32_MAX; break;
	case 8: /* many volumes */
		while (g->nvols < REC_MAX_VOLUMES + (int)pick(2)) {
			snprintf(b, sizeof b, "v%d:/p%d%s", g->nvols, g->nvols, pick(2) ? ":ro" : "");
			g->vols[g->nvols++] = strdup(b);
		}
		break;
	case 9: g->vols[g->nvols++] = strdup(bad_vols[pick(sizeof bad_vols / sizeof bad_vols[0])]); break;
	case 10: g->vols[g->nvols++] = strdup("a:/same"); g->vols[g->nvols++] = strdup(pick(2) ? "b:/same:ro" : "b:/other"); break;
	case 11: g->vols[g->nvols++] = rep('n', REC_MAX_VOLUME_NAME - 1 + pick(2), "", ":/x"); break;
	case 12: g->vols[g->nvols++] = rep('p', REC_MAX_VOLUME_LEN - 3 + pick(2), "d:/", ""); break;
	default: g->stateful = 1; g->failover = REC_U32_MAX - (int)pick(2) * i; g->ro = 1; break;
	}
}

static void mutate(struct gen *g, int i)
{
	if (pick(3) == 0) {
		mutate_options(g, i);
		return;
	}
	switch (pick(24)) {
	case 0: snprintf(g->name, sizeof g->name, "%0*d", REC_MAX_NAME, i); break;
	case 1: snprintf(g->name, sizeof g->name, "%0*d", REC_MAX_NAME + 1, i); break;
	case 2: snprintf(g->name, sizeof g->name, "-s%d", i); break;
	case 3: { char *s = rep('a', REC_RUN_IMAGE_MAX - 2, "", ":1"); snprintf(g->image, sizeof g->image, "%s", s); free(s); break; }
	case 4: { char *s = rep('a', REC_RUN_IMAGE_MAX - 1, "", ":1"); snprintf(g->image, sizeof g->image, "%s", s); free(s); break; }
	case 5: { char *s = rep('b', REC_MAX_IMAGE - 2, "", ":1"); snprintf(g->image, sizeof g->image, "%s", s); free(s); break; }
	case 6: { char *s = rep('b', REC_MAX_IMAGE - 1, "", ":1"); snprintf(g->image, sizeof g->image, "%s", s); free(s); break; }
	case 7: snprintf(g->image, sizeof g->image, "Reg.io:5000/UPPER/x"); break;
	case 8: g->replicas = pick(2) ? REC_RUN_REPLICAS_MAX + 1 : 0; break;
	case 9: g->cpu = REC_RUN_CPU_MILLIS_MAX + (int)pick(2); break;
	case 10: g->mem = REC_RUN_MEM_MIB_MIN - (int)pick(2); break;
	case 11: g->mem = 0; break;
	case 12: /* many env entries */
		while (g->nenv < REC_MAX_ITEMS + (int)pick(2)) {
			char b[16];
			snprintf(b, sizeof b, "E%d=v", g->nenv);
			g->env[g->nenv++] = strdup(b);
		}
		break;
	case 13: g->env[g->nenv++] = rep('x', REC_MAX_ITEM_LEN - 2 + pick(2), "L=", ""); break;
	case 14: g->env[g->nenv++] = strdup(pick(2) ? "1A=x" : "a.b=c"); break;
	case 15: g->env[g->nenv++] = strdup(pick(2) ? "=x" : "NOEQ"); break;
	case 16:
		while (g->ncmd < REC_MAX_ITEMS + (int)pick(2))
			g->cmd[g->ncmd++] = strdup("c");
		break;
	case 17: g->cmd[g->ncmd++] = rep('y', REC_MAX_ITEM_LEN + pick(2), "", ""); break;
	case 18: /* many ports */
		while (g->nports < REC_MAX_PORTS + (int)pick(2)) {
			g->ports[g->nports][0] = 20000 + g->nports;
			g->ports[g->nports][1] = 80 + g->nports;
			g->ports[g->nports][2] = 0;
			g->nports++;
		}
		break;
	case 19: {
		int k = g->nports++;
		int kind = (int)pick(4);
		g->ports[k][0] = kind == 0 ? 0 : 30000 + i;
		g->ports[k][1] = kind == 1 ? 0 : 80;
		g->ports[k][2] = kind == 2 ? 2 : 0;
		if (kind == 3) { /* the same host port twice */
			g->ports[g->nports][0] = 30000 + i;
			g->ports[g->nports][1] = 81;
			g->ports[g->nports][2] = 0;
			g->nports++;
		}
		break;
	}
	case 20:
		while (g->nsel < REC_MAX_LABELS + (int)pick(2)) {
			char b[16];
			snprintf(b, sizeof b, "k%d=v", g->nsel);
			g->sel[g->nsel++] = strdup(b);
		}
		break;
	case 21: g->sel[g->nsel++] = rep('z', REC_MAX_LABEL_LEN - 2 + pick(2), "k=", ""); break;
	case 22: g->strategy = (int)pick(4); break;
	default: g->prio = pick(2) ? REC_I32_MIN : REC_I32_MAX; break;
	}
}

static void put_list(FILE *t, char **v, int n)
{
	fputc('[', t);
	for (int i = 0; i < n; i++) /* an empty item is quoted: [] would be no item */
		fprintf(t, "%s%s", i ? "," : "", *v[i] ? v[i] : "\"\"");
	fputc(']', t);
}

static json_t *json_list(char **v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static void emit(const struct gen *g)
{
	printf("(%s,%s,", g->name, g->image);
	put_list(stdout, (char **)g->cmd, g->ncmd);
	fputc(',', stdout);
	put_list(stdout, (char **)g->env, g->nenv);
	printf(",%lld,%lld,%lld,[", g->replicas, g->cpu, g->mem);
	for (int i = 0; i < g->nports; i++)
		printf("%s(%d,%d,%d)", i ? "," : "", g->ports[i][0], g->ports[i][1], g->ports[i][2]);
	printf("],%lld,%d,%s,", g->prio, g->strategy, g->exclusive ? "true" : "false");
	put_list(stdout, (char **)g->sel, g->nsel);
	if (g->opts) {
		printf(",[(");
		put_list(stdout, (char **)g->hcmd, g->nhcmd);
		printf(",%lld,%lld,%lld,%lld,%s,%lld,%lld,%lld,%lld,", g->hint, g->htimeout, g->hstart,
		       g->hretries, g->hdisabled ? "true" : "false", g->upar, g->udelay, g->ufa, g->uperm);
		put_list(stdout, (char **)g->vols, g->nvols);
		printf(",%s,%lld,%s)])", g->stateful ? "true" : "false", g->failover, g->ro ? "true" : "false");
	} else {
		printf(",[])");
	}
	/* The SERVICE record, as chain.sock would carry it (generation aside). */
	json_t *ports = json_array(), *sel = json_object();
	for (int i = 0; i < g->nports; i++) {
		const char *proto = rec_proto_name(g->ports[i][2]);
		json_array_append_new(ports, json_pack("{s:i,s:i,s:s}", "host", g->ports[i][0],
		                                       "container", g->ports[i][1], "proto",
		                                       proto ? proto : "?"));
	}
	for (int i = 0; i < g->nsel; i++) {
		const char *eq = strchr(g->sel[i], '=');
		if (eq) {
			char key[REC_MAX_LABEL_LEN + 8];
			snprintf(key, sizeof key, "%.*s", (int)(eq - g->sel[i]), g->sel[i]);
			json_object_set_new(sel, key, json_string(eq + 1));
		} else {
			json_object_set_new(sel, g->sel[i], json_null()); /* not k=v: never valid */
		}
	}
	const char *st = rec_strategy_name(g->strategy);
	json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:I,s:I,s:I,s:o,s:I,s:s,s:b,s:o,s:i}", "name", g->name,
	                      "image", g->image, "command", json_list((char **)g->cmd, g->ncmd), "env",
	                      json_list((char **)g->env, g->nenv), "replicas", g->replicas, "cpu_millis",
	                      g->cpu, "mem_mib", g->mem, "ports", ports, "priority", g->prio, "strategy",
	                      st ? st : "?", "exclusive", g->exclusive, "selector", sel, "generation", 1);
	/* the options as the decoder gives them: only keys not at their default */
	json_t *h = json_object(), *u = json_object();
	if (g->nhcmd)
		json_object_set_new(h, "cmd", json_list((char **)g->hcmd, g->nhcmd));
	const long long hv[] = {g->hint, g->htimeout, g->hstart, g->hretries};
	const char *const hk[] = {"interval_ms", "timeout_ms", "start_period_ms", "retries"};
	for (int k = 0; k < 4; k++)
		if (hv[k])
			json_object_set_new(h, hk[k], json_integer(hv[k]));
	if (g->hdisabled)
		json_object_set_new(h, "disabled", json_true());
	if (g->upar)
		json_object_set_new(u, "parallelism", json_integer(g->upar));
	if (g->udelay)
		json_object_set_new(u, "delay_ms", json_integer(g->udelay));
	if (g->ufa) {
		const char *fa = rec_failure_name((long)g->ufa);
		json_object_set_new(u, "failure_action", json_string(fa ? fa : "?"));
	}
	if (g->uperm)
		json_object_set_new(u, "max_failure_permille", json_integer(g->uperm));
	if (json_object_size(h))
		json_object_set(o, "health", h);
	if (json_object_size(u))
		json_object_set(o, "update", u);
	json_decref(h);
	json_decref(u);
	if (g->nvols)
		json_object_set_new(o, "volumes", json_list((char **)g->vols, g->nvols));
	if (g->stateful)
		json_object_set_new(o, "stateful", json_true());
	if (g->failover)
		json_object_set_new(o, "failover_after_s", json_integer(g->failover));
	if (g->ro)
		json_object_set_new(o, "read_only", json_true());
	char *s = json_dumps(o, JSON_COMPACT);
	printf("\t%s\n", s ? s : "{}");
	free(s);
	json_decref(o);
}

static int gen(unsigned long long seed, int n)
{
	rng = seed;
	for (int i = 0; i < n; i++) {
		struct gen g;
		memset(&g, 0, sizeof g);
		snprintf(g.name, sizeof g.name, "s%d", i);
		snprintf(g.image, sizeof g.image, "img%d:1", i);
		g.cmd[g.ncmd++] = strdup("sh");
		g.env[g.nenv++] = strdup("K=V");
		g.replicas = 1 + pick(3);
		g.cpu = 1000;
		g.mem = 64;
		g.prio = pick(10);
		g.strategy = (int)pick(3);
		/* Most records break (or touch) one limit; some two; a few none. */
		for (int k = pick(5) == 0 ? 0 : 1 + (pick(3) == 0); k > 0; k--)
			mutate(&g, i);
		emit(&g);
		for (int k = 0; k < g.ncmd; k++)
			free(g.cmd[k]);
		for (int k = 0; k < g.nenv; k++)
			free(g.env[k]);
		for (int k = 0; k < g.nsel; k++)
			free(g.sel[k]);
		for (int k = 0; k < g.nhcmd; k++)
			free(g.hcmd[k]);
		for (int k = 0; k < g.nvols; k++)
			free(g.vols[k]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "limits") == 0)
		return limits();
	if (argc == 2 && strcmp(argv[1], "check") == 0)
		return each_line(check_one);
	if (argc == 2 && strcmp(argv[1], "dockerd") == 0)
		return each_line(dockerd_one);
	if (argc == 4 && strcmp(argv[1], "gen") == 0)
		return gen(strtoull(argv[2], NULL, 10), (int)strtol(argv[3], NULL, 10));
	fprintf(stderr, "usage: rec_tool limits | check | dockerd | gen SEED N\n");
	return 2;
}
