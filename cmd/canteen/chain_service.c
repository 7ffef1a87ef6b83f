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
#include "rview.h"
#include "sockets.h"
#include "tty.h"

#define SVC_FAILOVER_DEFAULT_S 300 /* seconds --stateful waits for a dead server unless told */

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

/* "0.25" (at most three decimals, 0 to 1) into per mille. */
static int parse_ratio_permille(const char *s, uint64_t *out)
{
	char err[64], frac[4] = "000";
	uint64_t whole, f = 0;
	const char *dot = strchr(s, '.');
	char head[24];
	size_t hl = dot ? (size_t)(dot - s) : strlen(s);
	if (hl == 0 || hl >= sizeof head)
		return -1;
	memcpy(head, s, hl);
	head[hl] = '\0';
	if (parse_u64(head, 0, 1, &whole, err, sizeof err) < 0)
		return -1;
	if (dot) {
		size_t fl = strlen(dot + 1);
		if (fl == 0 || fl > 3)
			return -1;
		memcpy(frac, dot + 1, fl);
		if (parse_u64(frac, 0, 999, &f, err, sizeof err) < 0)
			return -1;
	}
	*out = whole * 1000 + f;
	return *out <= REC_MAX_PERMILLE ? 0 : -1;
}

/* The long flags of version 5's options (no short form). */
enum {
	OPT_HEALTH_CMD = 256, OPT_HEALTH_ARG, OPT_HEALTH_INTERVAL, OPT_HEALTH_TIMEOUT,
	OPT_HEALTH_START, OPT_HEALTH_RETRIES, OPT_NO_HEALTHCHECK, OPT_UPD_PAR, OPT_UPD_DELAY,
	OPT_UPD_ACTION, OPT_UPD_RATIO, OPT_VOLUME, OPT_STATEFUL, OPT_NO_STATEFUL, OPT_FAILOVER,
	OPT_READ_ONLY, OPT_NO_READ_ONLY,
};

/* Set the Options field key of a to v (stolen). */
static void opt_set(struct service_args *a, const char *key, json_t *v)
{
	if (!a->opts)
		a->opts = json_object();
	json_object_set_new(a->opts, key, v);
}

/* A duration flag into a whole number of ms (div 1: ms, 1000: s) within uint32. */
static int opt_duration(struct service_args *a, const char *flag, const char *key, uint64_t div)
{
	char err[128];
	uint64_t ms;
	if (parse_duration_ms(optarg, &ms, err, sizeof err) < 0 || ms % div || ms / div > REC_U32_MAX) {
		cli_err("--%s needs a duration like 500ms, 30s or 5m%s, up to %lld %s, got '%s'", flag,
		        div > 1 ? " in whole seconds" : "", REC_U32_MAX, div > 1 ? "s" : "ms", optarg);
		fprintf(stderr, "%s\n", USAGE_SERVICE);
		return CLI_USAGE;
	}
	opt_set(a, key, json_integer((json_int_t)(ms / div)));
	return CLI_OK;
}

/* Version 5's option flag ch into a.opts. CLI_OK or CLI_USAGE (printed). */
static int parse_option_flag(struct service_args *a, int ch, json_t **health_args, json_t **volumes)
{
	char err[256];
	uint64_t v;
	int k;
	switch (ch) {
	case OPT_HEALTH_CMD:
		if (!*optarg || strlen(optarg) > REC_MAX_ITEM_LEN)
			return usage_err("--health-cmd needs a shell command of 1 to 1024 bytes, got '%s'", optarg);
		opt_set(a, "healthCmd", json_pack("[s,s]", "CMD-SHELL", optarg));
		opt_set(a, "noHealthcheck", json_false());
		return CLI_OK;
	case OPT_HEALTH_ARG:
		if (strlen(optarg) > REC_MAX_ITEM_LEN || (!*health_args && !*optarg))
			return usage_err("--health-arg: the program must be 1 to 1024 bytes, an argument at most 1024, got '%s'", optarg);
		if (!*health_args)
			*health_args = json_array();
		if (json_array_size(*health_args) >= REC_MAX_ITEMS)
			return usage_err("--health-arg: more than 64 of them at '%s'", optarg);
		json_array_append_new(*health_args, json_string(optarg));
		return CLI_OK;
	case OPT_NO_HEALTHCHECK:
		opt_set(a, "healthCmd", json_array());
		opt_set(a, "noHealthcheck", json_true());
		return CLI_OK;
	case OPT_HEALTH_INTERVAL: return opt_duration(a, "health-interval", "healthIntervalMs", 1);
	case OPT_HEALTH_TIMEOUT: return opt_duration(a, "health-timeout", "healthTimeoutMs", 1);
	case OPT_HEALTH_START: return opt_duration(a, "health-start-period", "healthStartPeriodMs", 1);
	case OPT_UPD_DELAY: return opt_duration(a, "update-delay", "updateDelayMs", 1);
	case OPT_FAILOVER: return opt_duration(a, "failover-after", "failoverAfterS", 1000);
	case OPT_HEALTH_RETRIES:
		if (parse_u64(optarg, 0, REC_U8_MAX, &v, err, sizeof err) < 0)
			return usage_err("--health-retries: %s", err);
		opt_set(a, "healthRetries", json_integer((json_int_t)v));
		return CLI_OK;
	case OPT_UPD_PAR:
		if (parse_u64(optarg, 0, REC_U16_MAX, &v, err, sizeof err) < 0)
			return usage_err("--update-parallelism: %s", err);
		opt_set(a, "updateParallelism", json_integer((json_int_t)v));
		return CLI_OK;
	case OPT_UPD_ACTION:
		if (rec_failure_parse(optarg, &k) < 0)
			return usage_err("--update-failure-action is pause or rollback, not '%s'", optarg);
		opt_set(a, "updateFailureAction", json_integer(k));
		return CLI_OK;
	case OPT_UPD_RATIO:
		if (parse_ratio_permille(optarg, &v) < 0)
			return usage_err("--update-max-failure-ratio needs a ratio from 0 to 1 with at most 3 decimals, got '%s'", optarg);
		opt_set(a, "updateMaxFailurePermille", json_integer((json_int_t)v));
		return CLI_OK;
	case OPT_VOLUME: {
		struct rec_volume vol;
		if (rec_volume_parse(optarg, strlen(optarg), &vol, err, sizeof err) < 0 ||
		    rec_volume_path_check(vol.path, err, sizeof err) < 0)
			return usage_err("--volume: %s", err);
		if (!*volumes)
			*volumes = json_array();
		if (json_array_size(*volumes) >= REC_MAX_VOLUMES)
			return usage_err("--volume: more than 8 volumes at '%s'", optarg);
		json_array_append_new(*volumes, json_string(optarg));
		return CLI_OK;
	}
	case OPT_STATEFUL:
	case OPT_NO_STATEFUL: opt_set(a, "stateful", json_boolean(ch == OPT_STATEFUL)); return CLI_OK;
	case OPT_READ_ONLY:
	case OPT_NO_READ_ONLY: opt_set(a, "readOnly", json_boolean(ch == OPT_READ_ONLY)); return CLI_OK;
	default: return usage_err("unknown flag or missing value: '%s'", "?");
	}
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
		{"selector", required_argument, NULL, 'l'},
		{"health-cmd", required_argument, NULL, OPT_HEALTH_CMD},
		{"health-arg", required_argument, NULL, OPT_HEALTH_ARG},
		{"health-interval", required_argument, NULL, OPT_HEALTH_INTERVAL},
		{"health-timeout", required_argument, NULL, OPT_HEALTH_TIMEOUT},
		{"health-start-period", required_argument, NULL, OPT_HEALTH_START},
		{"health-retries", required_argument, NULL, OPT_HEALTH_RETRIES},
		{"no-healthcheck", no_argument, NULL, OPT_NO_HEALTHCHECK},
		{"update-parallelism", required_argument, NULL, OPT_UPD_PAR},
		{"update-delay", required_argument, NULL, OPT_UPD_DELAY},
		{"update-failure-action", required_argument, NULL, OPT_UPD_ACTION},
		{"update-max-failure-ratio", required_argument, NULL, OPT_UPD_RATIO},
		{"volume", required_argument, NULL, OPT_VOLUME},
		{"stateful", no_argument, NULL, OPT_STATEFUL},
		{"no-stateful", no_argument, NULL, OPT_NO_STATEFUL},
		{"failover-after", required_argument, NULL, OPT_FAILOVER},
		{"read-only", no_argument, NULL, OPT_READ_ONLY},
		{"no-read-only", no_argument, NULL, OPT_NO_READ_ONLY},
		{NULL, 0, NULL, 0},
	};
	char err[256];
	uint64_t v;
	int ch, ret = CLI_OK;
	optind = 0;
	opterr = 0;
	while (ret == CLI_OK && (ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		json_t *item = NULL, **list = NULL;
		err[0] = '\0';
		if (ch >= OPT_HEALTH_CMD) {
			ret = parse_option_flag(a, ch, &a->health_args, &a->volumes);
			continue;
		}
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
		default:
			ret = usage_err("unknown flag or missing value: '%s'", argv[optind - 1]);
			continue;
		}
		if (list) {
			if (!*list)
				*list = json_array();
			json_array_append_new(*list, item);
		}
	}
	json_t *hc = a->opts ? json_object_get(a->opts, "healthCmd") : NULL;
	if (ret == CLI_OK && a->health_args && hc)
		ret = usage_err("%s", "give --health-cmd, --health-arg or --no-healthcheck, not two of them");
	if (ret == CLI_OK && a->health_args) {
		opt_set(a, "healthCmd", json_incref(a->health_args));
		opt_set(a, "noHealthcheck", json_false());
	}
	if (ret == CLI_OK && a->volumes)
		opt_set(a, "volumes", json_incref(a->volumes));
	/* --stateful alone waits 5 minutes for a dead server (canteen.1). */
	if (ret == CLI_OK && a->opts && json_is_true(json_object_get(a->opts, "stateful")) &&
	    !json_object_get(a->opts, "failoverAfterS"))
		opt_set(a, "failoverAfterS", json_integer(SVC_FAILOVER_DEFAULT_S));
	if (ret != CLI_OK)
		return ret;
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

/* Options with every field at its default (the contract's names). Owned by the caller. */
static json_t *options_default(void)
{
	return json_pack("{s:[], s:i, s:i, s:i, s:i, s:b, s:i, s:i, s:i, s:i, s:[], s:b, s:i, s:b}",
	                 "healthCmd", "healthIntervalMs", 0, "healthTimeoutMs", 0,
	                 "healthStartPeriodMs", 0, "healthRetries", 0, "noHealthcheck", 0,
	                 "updateParallelism", 0, "updateDelayMs", 0, "updateFailureAction", 0,
	                 "updateMaxFailurePermille", 0, "volumes", "stateful", 0, "failoverAfterS", 0,
	                 "readOnly", 0);
}

/* The options the flags give over spec's: none when every field is at its default (a
 * spec without options costs two words of gas, with them fifteen and more). */
static void options_apply(json_t *spec, const json_t *given)
{
	json_t *cur = json_array_get(json_object_get(spec, "options"), 0);
	json_t *o = cur ? json_deep_copy(cur) : options_default(), *probe = json_object();
	json_object_update(o, (json_t *)given);
	int none = probe && rec_options_record(o, probe, NULL, 0) == 0 && json_object_size(probe) == 0;
	json_object_set_new(spec, "options", none ? json_array() : json_pack("[O]", o));
	json_decref(probe);
	json_decref(o);
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
	if (a->opts)
		options_apply(spec, a->opts);
}

/* The ServiceSpec a deploy sends: the defaults, then the flags. Owned by the caller. */
static json_t *deploy_spec(const struct service_cmd *s)
{
	json_t *spec = json_pack("{s:s, s:s, s:[], s:[], s:i, s:i, s:i, s:[], s:i, s:i, s:b, s:[], s:[]}",
	                         "name", s->name, "image", "", "command", "env", "replicas", 1,
	                         "cpuMillis", 100, "memMiB", 64, "ports", "priority", 0, "strategy", 0,
	                         "exclusive", 0, "selector", "options");
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
	json_t *rec = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:o, s:O, s:s, s:O, s:o}",
	                 "name", json_object_get(spec, "name"), "image", json_object_get(spec, "image"),
	                 "command", json_object_get(spec, "command"), "env", json_object_get(spec, "env"),
	                 "replicas", json_object_get(spec, "replicas"),
	                 "cpu_millis", json_object_get(spec, "cpuMillis"),
	                 "mem_mib", json_object_get(spec, "memMiB"), "ports", ports,
	                 "priority", json_object_get(spec, "priority"),
	                 "strategy", strategy ? strategy : "?",
	                 "exclusive", json_object_get(spec, "exclusive"), "selector", sel);
	json_t *opt = json_array_get(json_object_get(spec, "options"), 0);
	if (rec && opt && rec_options_record(opt, rec, NULL, 0) < 0) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

/* The whole record under the contract's rules and the run rules (rec.h), before any gas
 * is spent: what the contract would take but no server could run is refused here. */
static int spec_ok(const json_t *spec)
{
	char err[300] = "the record does not fit the contract's ServiceSpec";
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
	json_decref(s->args.opts);
	json_decref(s->args.health_args);
	json_decref(s->args.volumes);
	memset(&s->args, 0, sizeof s->args);
}

int service_parse(struct service_cmd *s, int argc, char **argv)
{
	static const struct {
		const char *name;
		enum service_op op;
	} ops[] = {
		{"deploy", SERVICE_DEPLOY}, {"update", SERVICE_UPDATE}, {"scale", SERVICE_SCALE},
		{"rm", SERVICE_RM},         {"ls", SERVICE_LS}, {"rollback", SERVICE_ROLLBACK},
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
	case SERVICE_ROLLBACK:
		if (argc != 2)
			ret = usage_err("%s", "service rollback needs one NAME");
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
	case SERVICE_ROLLBACK:
	case SERVICE_UPDATE:
		spec = json_deep_copy(rec);
		json_object_del(spec, "generation");
		if (s->op == SERVICE_UPDATE)
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
	if (s->op == SERVICE_ROLLBACK)
		return chain_service_read_prev(c, s->name, rec);
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
	                            [SERVICE_SCALE] = "scaleService", [SERVICE_RM] = "removeService",
	                            [SERVICE_ROLLBACK] = "updateService"};
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
	case SERVICE_ROLLBACK:
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

/* Replicas of service name running and healthy (-1: none has a health check), cluster-wide
 * as this server knows them: the placement, its dockerd and the members' summaries. */
struct svc_health {
	long long running, healthy;
	long long placed, updated, failed; /* replicas placed; of them at the placement's
	                                     * generation (as their servers say), and failed so */
	long long old;                     /* known to run an older generation */
	long long rolled;                  /* rolled back (of the updated ones) */
};

/* Running and healthy replicas of every service in the placement, in one pass (owned by
 * the caller): {"name": [running, healthy]}, healthy -1 when none has a health check. */
static json_t *health_index(json_t *placement, struct rview *rv)
{
	json_t *out = json_object(), *a;
	size_t i;
	json_array_foreach(json_object_get(placement, "assignments"), i, a) {
		const char *s = json_string_value(json_object_get(a, "service"));
		const char *node = json_string_value(json_object_get(a, "node"));
		if (!out || !s || !node)
			continue;
		json_t *c = json_object_get(out, s);
		if (!c && json_object_set_new(out, s, c = json_pack("[I,I,I,I,I,I,I]", (json_int_t)0, (json_int_t)-1,
		                                                    (json_int_t)0, (json_int_t)0, (json_int_t)0,
		                                                    (json_int_t)0, (json_int_t)0)) < 0)
			continue;
		struct rview_state st;
		rview_lookup(rv, s, json_integer_value(json_object_get(a, "replica")), node, &st);
		json_int_t gen = json_integer_value(json_object_get(a, "generation"));
		int at_gen = gen > 0 && st.generation == gen;
		json_integer_set(json_array_get(c, 2), json_integer_value(json_array_get(c, 2)) + 1);
		json_integer_set(json_array_get(c, 3), json_integer_value(json_array_get(c, 3)) + at_gen);
		json_integer_set(json_array_get(c, 4),
		                 json_integer_value(json_array_get(c, 4)) + (at_gen && rview_failed(&st)));
		json_integer_set(json_array_get(c, 5), json_integer_value(json_array_get(c, 5)) +
		                                           (st.generation > 0 && st.generation < gen));
		json_integer_set(json_array_get(c, 6),
		                 json_integer_value(json_array_get(c, 6)) + (at_gen && st.rolled_back));
		json_int_t running = json_integer_value(json_array_get(c, 0)) + rview_running(&st);
		json_int_t healthy = json_integer_value(json_array_get(c, 1));
		if (st.health && healthy < 0)
			healthy = 0;
		healthy += st.health && strcmp(st.health, "healthy") == 0 && rview_running(&st);
		json_integer_set(json_array_get(c, 0), running);
		json_integer_set(json_array_get(c, 1), healthy);
	}
	return out;
}

static struct svc_health health_of(json_t *health, const char *name)
{
	struct svc_health h = {0, -1, 0, 0, 0, 0, 0};
	json_t *c = name ? json_object_get(health, name) : NULL;
	if (c) {
		h.running = json_integer_value(json_array_get(c, 0));
		h.healthy = json_integer_value(json_array_get(c, 1));
		h.placed = json_integer_value(json_array_get(c, 2));
		h.updated = json_integer_value(json_array_get(c, 3));
		h.failed = json_integer_value(json_array_get(c, 4));
		h.old = json_integer_value(json_array_get(c, 5));
		h.rolled = json_integer_value(json_array_get(c, 6));
	}
	return h;
}

/* The rollout as the replicas' states tell (canteen-dockerd(8), Rolling updates): "rolled
 * back" when a replica runs the previous spec because the rollout failed, "paused" when the
 * failed ones are over the service's ratio, "updating" while a replica is known to run an
 * older generation, "done"; NULL when nothing is placed. */
static const char *rollout_state(const json_t *s, const struct svc_health *h)
{
	json_int_t permille = json_integer_value(json_object_get(json_object_get(s, "update"),
	                                                         "max_failure_permille"));
	if (!h || h->placed == 0)
		return NULL;
	if (h->rolled > 0)
		return "rolled back";
	if (h->failed * 1000 > permille * h->updated)
		return "paused";
	return h->old > 0 ? "updating" : "done";
}

static void print_service_row(const json_t *s, const json_t *sum, const struct svc_health *h)
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
	char running[24] = "-", healthy[24] = "-";
	fmt_placed(sum, placed, sizeof placed, why, sizeof why);
	const char *ro = sum ? rollout_state(s, h) : NULL;
	if (ro && strcmp(ro, "done") != 0) {
		size_t k = strlen(why);
		if (h->rolled > 0)
			snprintf(why + k, sizeof why - k, "%srollout failed: %lld/%lld rolled back to the previous spec",
			         k ? "; " : "", h->rolled, h->placed);
		else
			snprintf(why + k, sizeof why - k, "%srollout %s: %lld/%lld updated, %lld failed",
			         k ? "; " : "", ro, h->updated, h->placed, h->failed);
	}
	if (h && sum)
		snprintf(running, sizeof running, "%lld", h->running);
	if (h && sum && h->healthy >= 0)
		snprintf(healthy, sizeof healthy, "%lld", h->healthy);
	chain_fmt_cpu(json_integer_value(json_object_get(s, "cpu_millis")), cpu, sizeof cpu);
	printf("%-24s  %-30s  %8lld  %7s  %7s  %7s  %6s  %7lldM  %-16s  %8lld  %-10s  %-4lld %s\n",
	       tty_esc(json_string_value(json_object_get(s, "name")), name, sizeof name),
	       tty_esc(json_string_value(json_object_get(s, "image")), image, sizeof image),
	       (long long)json_integer_value(json_object_get(s, "replicas")), placed, running, healthy, cpu,
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
		printf("%-24s  %-30s  %8s  %7s  %7s  %7s  %6s  %8s  %-16s  %8s  %-10s  %s\n", "NAME", "IMAGE",
		       "REPLICAS", "PLACED", "RUNNING", "HEALTHY", "CPU", "MEM", "PORTS", "PRIORITY",
		       "STRATEGY", "GEN");
	size_t i;
	json_t *s, *placement = NULL, *health = NULL, *by_name = summary_index(summary);
	struct rview rv;
	memset(&rv, 0, sizeof rv);
	if (summary) { /* running and healthy: the placement, with every replica's state */
		char path[600], err[256];
		cli_sock_path(cli, SOCK_SCHED, path, sizeof path);
		placement = rview_ask(path, "placement", "placement", 3000, err, sizeof err);
		rview_load(cli, &rv);
		health = health_index(placement, &rv);
	}
	json_array_foreach(all, i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		json_t *sum = name ? json_object_get(by_name, name) : NULL;
		struct svc_health h = health_of(health, name);
		if (cli->json) {
			if (sum) {
				json_object_set(s, "placed", json_object_get(sum, "placed"));
				json_object_set(s, "pending", json_object_get(sum, "pending"));
				json_object_set(s, "reasons", json_object_get(sum, "reasons"));
			}
			if (sum && placement) {
				json_object_set_new(s, "running", json_integer(h.running));
				if (h.healthy >= 0)
					json_object_set_new(s, "healthy", json_integer(h.healthy));
				const char *ro = rollout_state(s, &h);
				if (ro)
					json_object_set_new(s, "rollout", json_pack("{s:s,s:I,s:I,s:I}", "state", ro,
					                                            "updated", (json_int_t)h.updated,
					                                            "failed", (json_int_t)h.failed,
					                                            "rolled_back", (json_int_t)h.rolled));
			}
			chain_print_json(s);
		} else {
			print_service_row(s, sum, placement ? &h : NULL);
		}
	}
	rview_free(&rv);
	json_decref(health);
	json_decref(placement);
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
		[SERVICE_RM] = "removed", [SERVICE_ROLLBACK] = "rolled_back",
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
		printf("%s %s (transaction %s)\n", s.name,
		       s.op == SERVICE_ROLLBACK ? "rolled back" : done[s.op], d.tx);
	}
	return ret;
}
