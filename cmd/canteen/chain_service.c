/* chain_service.c: `canteen service deploy|update|scale|rm|ls` against the contract. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "cmd.h"
#include "errf.h"
#include "ipc.h"
#include "parse.h"
#include "sockets.h"
#include "tty.h"

static int usage_err(const char *fmt, const char *arg)
{
	cli_err(fmt, arg);
	fprintf(stderr, "%s\n", USAGE_SERVICE);
	return CLI_USAGE;
}

/* "8080:80", "53:53/udp". */
static json_t *parse_port(const char *s)
{
	char buf[64], err[128];
	uint64_t host, cont;
	int proto = 0;
	if (str_copy(buf, sizeof buf, s) < 0)
		return NULL;
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (rec_proto_parse(slash + 1, &proto) < 0)
			return NULL;
	}
	char *colon = strchr(buf, ':');
	if (!colon)
		return NULL;
	*colon = '\0';
	if (parse_u64(buf, 1, 65535, &host, err, sizeof err) < 0 ||
	    parse_u64(colon + 1, 1, 65535, &cont, err, sizeof err) < 0)
		return NULL;
	return json_pack("{s:I, s:I, s:i}", "host", (json_int_t)host, "container", (json_int_t)cont,
	                 "proto", proto);
}

static int parse_priority(const char *s, json_int_t *out)
{
	char err[128];
	uint64_t v;
	int neg = s[0] == '-';
	if (parse_u64(s + neg, 0, neg ? 2147483648ULL : 2147483647ULL, &v, err, sizeof err) < 0)
		return -1;
	*out = neg ? -(json_int_t)v : (json_int_t)v;
	return 0;
}

/* The flags in argv (after NAME) into a. CLI_OK or CLI_USAGE (printed). */
static int parse_flags(struct service_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{"image", required_argument, NULL, 'i'},    {"replicas", required_argument, NULL, 'r'},
		{"cpu", required_argument, NULL, 'c'},      {"mem", required_argument, NULL, 'm'},
		{"port", required_argument, NULL, 'p'},     {"env", required_argument, NULL, 'e'},
		{"priority", required_argument, NULL, 'P'}, {"strategy", required_argument, NULL, 's'},
		{"exclusive", no_argument, NULL, 'x'},      {"no-exclusive", no_argument, NULL, 'X'},
		{"selector", required_argument, NULL, 'l'}, {NULL, 0, NULL, 0},
	};
	char err[256];
	uint64_t v;
	int ch;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		json_t *item = NULL, **list = NULL;
		err[0] = '\0';
		switch (ch) {
		case 'i':
			if (rec_image_check(optarg, strlen(optarg), err, sizeof err) < 0)
				return usage_err("--image: %s", err);
			a->image = optarg;
			a->given |= SVC_IMAGE;
			break;
		case 'r':
			if (parse_u64(optarg, 1, REC_RUN_REPLICAS_MAX, &a->replicas, err, sizeof err) < 0)
				return usage_err("--replicas: %s", err);
			a->given |= SVC_REPLICAS;
			break;
		case 'c':
			if (parse_cpu_millis(optarg, &v, err, sizeof err) < 0 || v == 0)
				return usage_err("--cpu needs a positive amount like 500m or 2, got '%s'", optarg);
			if (v > REC_RUN_CPU_MILLIS_MAX)
				return usage_err("--cpu: '%s' is more than a server can give one replica (1024 CPUs)",
				                 optarg);
			a->cpu_millis = v;
			a->given |= SVC_CPU;
			break;
		case 'm':
			if (parse_mem_bytes(optarg, &v, err, sizeof err) < 0 || v % 1048576 ||
			    v / 1048576 > REC_U32_MAX)
				return usage_err("--mem needs a whole number of MiB like 128M or 1G, got '%s'", optarg);
			if (v / 1048576 < REC_RUN_MEM_MIB_MIN)
				return usage_err("--mem: '%s' is below Docker's minimum of 6 MiB", optarg);
			a->mem_mib = v / 1048576;
			a->given |= SVC_MEM;
			break;
		case 'p':
			if (!(item = parse_port(optarg)))
				return usage_err("--port needs HOST:CONTAINER[/udp] with ports 1-65535, got '%s'", optarg);
			list = &a->ports;
			break;
		case 'e':
		case 'l':
			if (ch == 'e' ? !rec_kv_ok(optarg, strlen(optarg), REC_MAX_ITEM_LEN) || !rec_env_ok(optarg)
			              : !rec_kv_ok(optarg, strlen(optarg), REC_MAX_LABEL_LEN))
				return usage_err(ch == 'e' ? "--env needs NAME=VALUE (NAME of [A-Za-z0-9_], at most 1024 bytes), got '%s'"
				                           : "--selector needs KEY=VALUE of at most 256 bytes, got '%s'",
				                 optarg);
			item = json_string(optarg);
			list = ch == 'e' ? &a->env : &a->selector;
			break;
		case 'P':
			if (parse_priority(optarg, &a->priority) < 0)
				return usage_err("--priority needs a 32-bit integer, got '%s'", optarg);
			a->given |= SVC_PRIORITY;
			break;
		case 's':
			if (rec_strategy_parse(optarg, &a->strategy) < 0)
				return usage_err("--strategy is spread, roundrobin or binpack, not '%s'", optarg);
			a->given |= SVC_STRATEGY;
			break;
		case 'x':
		case 'X':
			a->exclusive = ch == 'x';
			a->given |= SVC_EXCLUSIVE;
			break;
		default: return usage_err("unknown flag or missing value: '%s'", argv[optind - 1]);
		}
		if (list) {
			if (!*list)
				*list = json_array();
			json_array_append_new(*list, item);
		}
	}
	if (optind < argc) {
		/* getopt stops at "--" (consumed) or at the first non-flag. */
		if (strcmp(argv[optind - 1], "--") != 0)
			return usage_err("unexpected argument '%s' (put the command after --)", argv[optind]);
		a->command = json_array();
		for (int i = optind; i < argc; i++)
			json_array_append_new(a->command, json_string(argv[i]));
	}
	return CLI_OK;
}

/* Write the fields a gives over spec (a ServiceSpec object, the contract's field names). */
static void spec_apply(json_t *spec, const struct service_args *a)
{
	if (a->given & SVC_IMAGE)
		json_object_set_new(spec, "image", json_string(a->image));
	if (a->given & SVC_REPLICAS)
		json_object_set_new(spec, "replicas", json_integer((json_int_t)a->replicas));
	if (a->given & SVC_CPU)
		json_object_set_new(spec, "cpuMillis", json_integer((json_int_t)a->cpu_millis));
	if (a->given & SVC_MEM)
		json_object_set_new(spec, "memMiB", json_integer((json_int_t)a->mem_mib));
	if (a->given & SVC_PRIORITY)
		json_object_set_new(spec, "priority", json_integer(a->priority));
	if (a->given & SVC_STRATEGY)
		json_object_set_new(spec, "strategy", json_integer(a->strategy));
	if (a->given & SVC_EXCLUSIVE)
		json_object_set_new(spec, "exclusive", json_boolean(a->exclusive));
	const struct {
		const char *key;
		json_t *list;
	} lists[] = {{"ports", a->ports}, {"env", a->env}, {"selector", a->selector},
	             {"command", a->command}};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
		if (lists[i].list)
			json_object_set_new(spec, lists[i].key, json_deep_copy(lists[i].list));
}

/* The ServiceSpec a deploy sends: the defaults, then the flags. Owned by the caller. */
static json_t *deploy_spec(const struct service_cmd *s)
{
	json_t *spec = json_pack("{s:s, s:s, s:[], s:[], s:i, s:i, s:i, s:[], s:i, s:i, s:b, s:[]}",
	                         "name", s->name, "image", "", "command", "env", "replicas", 1,
	                         "cpuMillis", 100, "memMiB", 64, "ports", "priority", 0, "strategy", 0,
	                         "exclusive", 0, "selector");
	if (spec)
		spec_apply(spec, &s->args);
	return spec;
}

/* NAME as the contract takes it into name; else prints why (naming the limit) and returns 0. */
static int name_arg_ok(const char *what, int argc, char **argv, char *name, size_t namelen)
{
	char err[128];
	if (argc < 2 || argv[1][0] == '-') {
		usage_err("%s needs a NAME first", what);
		return 0;
	}
	if (rec_name_check(argv[1], strlen(argv[1]), err, sizeof err) < 0) {
		usage_err("%s", err);
		return 0;
	}
	str_copy(name, namelen, argv[1]);
	return 1;
}

/* A ServiceSpec (the contract's field names) as the SERVICE record chain.sock would carry. */
static json_t *spec_record(const json_t *spec)
{
	json_t *ports = json_array(), *sel = json_object(), *p, *v;
	size_t i;
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		const char *proto = rec_proto_name((long)json_integer_value(json_object_get(p, "proto")));
		json_array_append_new(ports, json_pack("{s:O, s:O, s:s}", "host", json_object_get(p, "host"),
		                                       "container", json_object_get(p, "container"),
		                                       "proto", proto ? proto : "?"));
	}
	json_array_foreach(json_object_get(spec, "selector"), i, v) {
		const char *kv = json_string_value(v), *eq = kv ? strchr(kv, '=') : NULL;
		char key[REC_MAX_LABEL_LEN + 1];
		if (eq && (size_t)(eq - kv) < sizeof key) {
			memcpy(key, kv, (size_t)(eq - kv));
			key[eq - kv] = '\0';
			json_object_set_new(sel, key, json_string(eq + 1));
		}
	}
	const char *strategy = rec_strategy_name((long)json_integer_value(json_object_get(spec, "strategy")));
	return json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:o, s:O, s:s, s:O, s:o}",
	                 "name", json_object_get(spec, "name"), "image", json_object_get(spec, "image"),
	                 "command", json_object_get(spec, "command"), "env", json_object_get(spec, "env"),
	                 "replicas", json_object_get(spec, "replicas"),
	                 "cpu_millis", json_object_get(spec, "cpuMillis"),
	                 "mem_mib", json_object_get(spec, "memMiB"), "ports", ports,
	                 "priority", json_object_get(spec, "priority"),
	                 "strategy", strategy ? strategy : "?",
	                 "exclusive", json_object_get(spec, "exclusive"), "selector", sel);
}

/* The whole record under the contract's rules and the run rules (rec.h), before any gas
 * is spent: what the contract would take but no server could run is refused here. */
static int spec_ok(const json_t *spec)
{
	char err[300];
	json_t *rec = spec_record(spec);
	int ok = rec && rec_service_check(rec, err, sizeof err) == 0 &&
	         rec_service_runnable(rec, err, sizeof err) == 0;
	json_decref(rec);
	if (!ok)
		usage_err("%s", err);
	return ok;
}


void service_cmd_free(struct service_cmd *s)
{
	json_decref(s->args.ports);
	json_decref(s->args.env);
	json_decref(s->args.selector);
	json_decref(s->args.command);
	memset(&s->args, 0, sizeof s->args);
}

int service_parse(struct service_cmd *s, int argc, char **argv)
{
	static const struct {
		const char *name;
		enum service_op op;
	} ops[] = {
		{"deploy", SERVICE_DEPLOY}, {"update", SERVICE_UPDATE}, {"scale", SERVICE_SCALE},
		{"rm", SERVICE_RM},         {"ls", SERVICE_LS},
	};
	char what[32], err[128];
	size_t i;
	memset(s, 0, sizeof *s);
	for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(argv[0], ops[i].name) == 0)
			break;
	if (i == sizeof ops / sizeof ops[0])
		return usage_err("unknown service command '%s'", argv[0]);
	s->op = ops[i].op;
	if (s->op == SERVICE_LS)
		return argc == 1 ? CLI_OK : usage_err("%s", "service ls takes no arguments");
	snprintf(what, sizeof what, "service %s", argv[0]);
	if (!name_arg_ok(what, argc, argv, s->name, sizeof s->name))
		return CLI_USAGE;
	int ret = CLI_OK;
	switch (s->op) {
	case SERVICE_DEPLOY:
	case SERVICE_UPDATE:
		ret = parse_flags(&s->args, argc - 1, argv + 1);
		if (ret == CLI_OK && s->op == SERVICE_DEPLOY && !(s->args.given & SVC_IMAGE))
			ret = usage_err("%s", "service deploy needs --image");
		if (ret == CLI_OK && s->op == SERVICE_DEPLOY) {
			json_t *spec = deploy_spec(s);
			if (!spec_ok(spec))
				ret = CLI_USAGE;
			json_decref(spec);
		}
		break;
	case SERVICE_SCALE:
		if (argc != 3)
			ret = usage_err("%s", "service scale needs NAME and REPLICAS");
		else if (parse_u64(argv[2], 1, REC_RUN_REPLICAS_MAX, &s->replicas, err, sizeof err) < 0)
			ret = usage_err("REPLICAS: %s", err);
		break;
	case SERVICE_RM:
		if (argc != 2)
			ret = usage_err("%s", "service rm needs one NAME");
		break;
	case SERVICE_LS: break;
	}
	if (ret != CLI_OK)
		service_cmd_free(s);
	return ret;
}

/* Tries of an update, scale or rm while other admins' changes keep coming first. */
#define SERVICE_TRIES 8

/* The arguments of fn for s, based on rec (the record read: a ServiceSpec object with its
 * generation; for scale and rm only the generation), into *args (owned); CLI_USAGE
 * (printed) when the flags over rec break a rule. */
static int change_args(const struct service_cmd *s, json_t *rec, json_t **args)
{
	json_t *gen = json_object_get(rec, "generation"), *spec;
	*args = NULL;
	if (!json_is_object(rec) || !gen) {
		cli_err("the contract returned a service record this CLI does not understand");
		return CLI_FAIL;
	}
	switch (s->op) {
	case SERVICE_UPDATE:
		spec = json_deep_copy(rec);
		json_object_del(spec, "generation");
		spec_apply(spec, &s->args);
		if (!spec_ok(spec)) {
			json_decref(spec);
			return CLI_USAGE;
		}
		*args = json_pack("[o,O]", spec, gen);
		break;
	case SERVICE_SCALE: *args = json_pack("[s,I,O]", s->name, (json_int_t)s->replicas, gen); break;
	default: *args = json_pack("[s,O]", s->name, gen); break;
	}
	return *args ? CLI_OK : CLI_FAIL;
}

/* The record a change is based on: an update reads the spec from the logs; scale and rm
 * need only the generation. As of the pending block, so changes already sent count. */
static int read_base(struct chain *c, const struct service_cmd *s, json_t **rec)
{
	json_int_t gen;
	*rec = NULL;
	if (s->op == SERVICE_UPDATE)
		return chain_service_read(c, s->name, rec);
	int ret = chain_service_generation(c, s->name, &gen);
	if (ret == CLI_OK)
		*rec = json_pack("{s:I}", "generation", gen);
	return ret;
}

/* update, scale, rm: read the record (at the pending block, so changes already sent
 * count), apply the user's change to it and send it with the generation it was read at;
 * when another change came first (StaleGeneration), read it again and resend, so no
 * admin's change is lost. An update whose base waits in the pool (its spec is in no log
 * yet) waits for the next block. */
static int service_change(struct cli *cli, const struct service_cmd *s, const char *fn,
                          struct eth_receipt *rc)
{
	struct chain c;
	int ret = chain_open(&c, cli, CHAIN_NEED_CONTRACT | CHAIN_NEED_KEY);
	for (int try = 1; ret == CLI_OK; try++) {
		json_t *rec = NULL, *args = NULL;
		ret = read_base(&c, s, &rec);
		if (ret == CLI_OK)
			ret = change_args(s, rec, &args);
		json_decref(rec);
		if (ret == CHAIN_PENDING && try < SERVICE_TRIES) {
			cli_err("note: another change of service %s waits to be mined; waiting for it", s->name);
			ret = chain_wait_block(&c, cli->conf.rpc_timeout_ms);
			if (ret != CLI_OK)
				cli_err("service %s: no block came in %llu ms (rpc_timeout_ms); nothing was sent",
				        s->name, (unsigned long long)cli->conf.rpc_timeout_ms);
			continue;
		}
		if (ret == CHAIN_PENDING) {
			cli_err("service %s: other admins' changes waited in the pool at each of %d tries; "
			        "nothing was sent; try again", s->name, SERVICE_TRIES);
			ret = CLI_FAIL;
		}
		if (ret != CLI_OK)
			break;
		ret = chain_send_unless(&c, fn, args, "StaleGeneration", rc);
		if (ret != CHAIN_REVERTED)
			break;
		if (try == SERVICE_TRIES) {
			cli_err("service %s changed under every one of %d tries (other admins' changes "
			        "came first each time): nothing sent took effect; try again", s->name,
			        SERVICE_TRIES);
			ret = CLI_FAIL;
			break;
		}
		cli_err("note: service %s was changed by someone else meanwhile; applying this "
		        "change to the new record and sending again", s->name);
		ret = CLI_OK;
	}
	chain_close(&c);
	return ret;
}

int service_run(struct cli *cli, const struct service_cmd *s, struct chain_done *out)
{
	static const char *fns[] = {[SERVICE_DEPLOY] = "addService", [SERVICE_UPDATE] = "updateService",
	                            [SERVICE_SCALE] = "scaleService", [SERVICE_RM] = "removeService"};
	struct eth_receipt rc;
	json_t *spec;
	int ret;
	memset(out, 0, sizeof *out);
	switch (s->op) {
	case SERVICE_DEPLOY:
		if (!(spec = deploy_spec(s)))
			return CLI_FAIL;
		ret = chain_transact(cli, fns[s->op], json_pack("[o]", spec), &rc);
		break;
	case SERVICE_UPDATE:
	case SERVICE_SCALE:
	case SERVICE_RM: ret = service_change(cli, s, fns[s->op], &rc); break;
	default:
		cli_err("service ls is not a transaction");
		return CLI_FAIL;
	}
	if (ret == CLI_OK)
		chain_done_fill(out, &rc);
	return ret;
}

/* canteen-sched's summary rows by service name (owned by the caller; empty without a
 * summary): looked up once per service, which a scan of the rows made quadratic (14 s of
 * CPU for 10,000 services, bench/scale-chain). */
static json_t *summary_index(json_t *summary)
{
	json_t *by_name = json_object(), *o;
	size_t i;
	json_array_foreach(json_object_get(summary, "services"), i, o) {
		const char *n = json_string_value(json_object_get(o, "name"));
		if (by_name && n && !json_object_get(by_name, n))
			json_object_set(by_name, n, o);
	}
	return by_name;
}

/* "3/3" placed of desired, and the pending reasons ("2 port conflict"). */
static void fmt_placed(const json_t *sum, char *placed, size_t plen, char *why, size_t wlen)
{
	snprintf(placed, plen, "-");
	snprintf(why, wlen, "%s", "");
	if (!sum)
		return;
	snprintf(placed, plen, "%lld/%lld", (long long)json_integer_value(json_object_get(sum, "placed")),
	         (long long)json_integer_value(json_object_get(sum, "replicas")));
	const char *k;
	json_t *v;
	size_t n = 0;
	json_object_foreach(json_object_get(sum, "reasons"), k, v) {
		char ek[TTY_FIELD_MAX];
		int w = snprintf(why + n, wlen - n, "%s%lld %s", n ? ", " : "pending: ",
		                 (long long)json_integer_value(v), tty_esc(k, ek, sizeof ek));
		if (w < 0 || (size_t)w >= wlen - n)
			break;
		n += (size_t)w;
	}
}

static void print_service_row(const json_t *s, const json_t *sum)
{
	char ports[256] = "", cpu[32];
	size_t n = 0, i;
	json_t *p;
	json_array_foreach(json_object_get(s, "ports"), i, p) {
		int w = snprintf(ports + n, sizeof ports - n, "%s%lld:%lld%s", i ? "," : "",
		                 (long long)json_integer_value(json_object_get(p, "host")),
		                 (long long)json_integer_value(json_object_get(p, "container")),
		                 strcmp(json_string_value(json_object_get(p, "proto")), "udp") == 0 ? "/udp" : "");
		if (w < 0 || (size_t)w >= sizeof ports - n)
			break;
		n += (size_t)w;
	}
	char placed[32], why[256], name[TTY_FIELD_MAX], image[TTY_FIELD_MAX], strategy[64];
	fmt_placed(sum, placed, sizeof placed, why, sizeof why);
	chain_fmt_cpu(json_integer_value(json_object_get(s, "cpu_millis")), cpu, sizeof cpu);
	printf("%-24s  %-30s  %8lld  %7s  %6s  %7lldM  %-16s  %8lld  %-10s  %-4lld %s\n",
	       tty_esc(json_string_value(json_object_get(s, "name")), name, sizeof name),
	       tty_esc(json_string_value(json_object_get(s, "image")), image, sizeof image),
	       (long long)json_integer_value(json_object_get(s, "replicas")), placed, cpu,
	       (long long)json_integer_value(json_object_get(s, "mem_mib")), n ? ports : "-",
	       (long long)json_integer_value(json_object_get(s, "priority")),
	       tty_esc(json_string_value(json_object_get(s, "strategy")), strategy, sizeof strategy),
	       (long long)json_integer_value(json_object_get(s, "generation")), why);
}

/* canteen-sched's summary, page by page (one answer of 10,000 services is longer than a
 * line ipc_request reads), as one {"services":[...]} (owned by the caller; NULL and err on
 * failure). Read again from the start when the placement changed between pages. */
static int summary_pages(const char *path, json_t **summary, char *err, size_t errlen)
{
	enum { PAGE = 1000, TRIES = 3 };
	*summary = NULL;
	for (int t = 0; t < TRIES; t++) {
		json_t *all = json_array(), *ans = NULL;
		char hash[80] = "";
		json_int_t off = 0, total = 0;
		int ok = all != NULL, moved = 0;
		while (ok) {
			json_t *req = json_pack("{s:s,s:I,s:i}", "op", "summary", "offset", off, "limit", PAGE);
			ok = req && ipc_request(path, req, &ans, 3000, err, errlen) == 0;
			json_decref(req);
			if (!ok)
				break;
			json_t *page = json_object_get(ans, "services");
			const char *h = json_string_value(json_object_get(ans, "hash"));
			size_t n = json_array_size(page);
			total = json_integer_value(json_object_get(ans, "total"));
			if (!json_is_array(page) || !h) {
				errf(err, errlen, "a summary without services or hash");
				ok = 0;
			} else if (off > 0 && strcmp(h, hash) != 0) {
				moved = 1;
			} else {
				snprintf(hash, sizeof hash, "%s", h);
				json_array_extend(all, page);
				off += (json_int_t)n;
			}
			json_decref(ans);
			ans = NULL;
			if (moved || n == 0 || off >= total)
				break;
		}
		if (ok && !moved) {
			*summary = json_pack("{s:s,s:o}", "hash", hash, "services", all);
			return *summary ? 0 : errf(err, errlen, "out of memory");
		}
		json_decref(all);
		if (!ok)
			return -1;
	}
	return errf(err, errlen, "the placement kept changing while its summary was read");
}

int service_ls_run(struct cli *cli, json_t **services, json_t **summary, char *why, size_t whylen)
{
	struct chain c;
	*services = NULL;
	*summary = NULL;
	int ret = chain_open(&c, cli, CHAIN_NEED_CONTRACT);
	if (ret == CLI_OK)
		ret = chain_services(&c, services);
	chain_close(&c);
	if (ret != CLI_OK)
		return ret;
	/* Placed and pending come from this server's canteen-sched, when it runs. */
	char path[600], err[256] = "";
	cli_sock_path(cli, SOCK_SCHED, path, sizeof path);
	if (summary_pages(path, summary, err, sizeof err) < 0)
		snprintf(why, whylen, "no canteen-sched answers at %s (%s)", path, err);
	return CLI_OK;
}

static int service_ls(struct cli *cli)
{
	json_t *all = NULL, *summary = NULL;
	char why[700] = "";
	int ret = service_ls_run(cli, &all, &summary, why, sizeof why);
	if (ret == CLI_OK && !cli->json)
		printf("%-24s  %-30s  %8s  %7s  %6s  %8s  %-16s  %8s  %-10s  %s\n", "NAME", "IMAGE", "REPLICAS",
		       "PLACED", "CPU", "MEM", "PORTS", "PRIORITY", "STRATEGY", "GEN");
	size_t i;
	json_t *s, *by_name = summary_index(summary);
	json_array_foreach(all, i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		json_t *sum = name ? json_object_get(by_name, name) : NULL;
		if (cli->json) {
			if (sum) {
				json_object_set(s, "placed", json_object_get(sum, "placed"));
				json_object_set(s, "pending", json_object_get(sum, "pending"));
				json_object_set(s, "reasons", json_object_get(sum, "reasons"));
			}
			chain_print_json(s);
		} else {
			print_service_row(s, sum);
		}
	}
	/* Without a scheduler PLACED is "-": say why, once, beside the table. */
	if (ret == CLI_OK && !cli->json && !summary && json_array_size(all) > 0)
		cli_err("PLACED is unknown: %s; give the run directory with --rundir DIR", why);
	json_decref(by_name);
	json_decref(summary);
	json_decref(all);
	return ret;
}

int cmd_service(struct cli *cli, int argc, char **argv)
{
	struct service_cmd s;
	struct chain_done d;
	static const char *done[] = {
		[SERVICE_DEPLOY] = "deployed", [SERVICE_UPDATE] = "updated", [SERVICE_SCALE] = "scaled",
		[SERVICE_RM] = "removed",
	};
	if (argc < 2) {
		fprintf(stderr, "%s\n", USAGE_SERVICE);
		return CLI_USAGE;
	}
	int ret = service_parse(&s, argc - 1, argv + 1);
	if (ret != CLI_OK)
		return ret;
	if (s.op == SERVICE_LS)
		return service_ls(cli);
	ret = service_run(cli, &s, &d);
	service_cmd_free(&s);
	if (ret == CLI_OK && cli->json) {
		json_t *j = json_pack("{s:s, s:b, s:I, s:s}", "service", s.name, done[s.op], 1, "block",
		                      (json_int_t)d.block, "tx", d.tx);
		chain_print_json(j);
		json_decref(j);
	} else if (ret == CLI_OK) {
		printf("%s %s (transaction %s)\n", s.name, done[s.op], d.tx);
	}
	return ret;
}
