/* conf.c: the canteen.conf parser: a table of keys with types, strict values, file:line errors. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "parse.h"

enum conf_type { T_STR, T_U64, T_MS, T_LEVEL, T_BOOL, T_URLS };

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t offset;
	size_t size;     /* for strings: buffer size */
	uint64_t min, max;
};

#define S(f) #f, T_STR, offsetof(struct conf, f), sizeof(((struct conf *)0)->f), 0, 0
#define U(f, lo, hi) #f, T_U64, offsetof(struct conf, f), 0, lo, hi
#define D(f, lo, hi) #f, T_MS, offsetof(struct conf, f), 0, lo, hi
#define B(f) #f, T_BOOL, offsetof(struct conf, f), 0, 0, 1

static const struct conf_key keys[] = {
	{S(rundir)},
	{"log_level", T_LEVEL, offsetof(struct conf, log_level), sizeof(((struct conf *)0)->log_level), 0, 0},
	{S(node_name)},
	{S(user)},
	{"rpc_url", T_URLS, offsetof(struct conf, rpc_url), sizeof(((struct conf *)0)->rpc_url), 0, 0},
	{U(rpc_quorum, 0, CONF_RPC_MAX)},
	{S(contract)},
	{S(key_file)},
	{S(chain_state_file)},
	{U(chain_id, 1, UINT64_MAX)},
	{U(confirmations, 0, 1000)},
	{D(poll_ms, 10, 3600000)},
	{D(rpc_timeout_ms, 100, 600000)},
	{U(max_fee_gwei, 1, 1000000)},
	{U(max_priority_fee_gwei, 1, 1000000)},
	{B(allow_insecure_rpc)},
	{S(swim_key_file)},
	{S(swim_bind)},
	{S(swim_advertise)},
	{S(swim_peers_file)},
	{D(probe_interval_ms, 10, 600000)},
	{D(probe_timeout_ms, 5, 600000)},
	{U(indirect_checks, 0, 32)},
	{U(suspicion_min_mult, 1, 1000)},
	{U(suspicion_max_mult, 1, 1000)},
	{U(retransmit_mult, 1, 100)},
	{D(pushpull_interval_ms, 0, 86400000)},
	{D(gossip_interval_ms, 5, 600000)},
	{U(gossip_nodes, 1, 64)},
	{U(awareness_max, 1, 64)},
	{D(debounce_ms, 0, 600000)},
	{D(membership_settle_ms, 0, 600000)},
	{S(docker_host)},
	{S(advertise_addr)},
	{D(stop_grace_ms, 0, 3600000)},
	{S(policy_ports)},
	{S(policy_images)},
	{U(policy_max_cpu_millis, 0, 4294967295u)},
	{U(policy_max_mem_mib, 0, 4294967295u)},
	{U(policy_default_cpu_millis, 0, 4294967295u)},
	{U(policy_default_mem_mib, 0, 4294967295u)},
	{U(policy_pids_limit, 0, 4194304)},
	{S(policy_cap_drop)},
	{S(policy_read_only)},
	{D(pull_timeout_ms, 1000, 86400000)},
	{S(image_source)},
	{U(image_uploads, 1, 64)},
	{U(image_upload_kib_s, 0, 16777216)},
};

void conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof *c);
	str_copy(c->rundir, sizeof c->rundir, "/run/canteen");
	str_copy(c->log_level, sizeof c->log_level, "info");
	c->confirmations = 2;
	c->poll_ms = 1000;
	c->rpc_timeout_ms = 10000;
	c->max_fee_gwei = 500;
	c->max_priority_fee_gwei = 50;
	str_copy(c->swim_bind, sizeof c->swim_bind, "0.0.0.0:7946");
	c->probe_interval_ms = 1000;
	c->probe_timeout_ms = 500;
	c->indirect_checks = 3;
	c->suspicion_min_mult = 3;
	c->suspicion_max_mult = 6;
	c->retransmit_mult = 4;
	c->pushpull_interval_ms = 30000;
	c->gossip_interval_ms = 200;
	c->gossip_nodes = 3;
	c->awareness_max = 8;
	c->debounce_ms = 100;
	c->membership_settle_ms = 5000;
	str_copy(c->docker_host, sizeof c->docker_host, "/var/run/docker.sock");
	c->stop_grace_ms = 10000;
	str_copy(c->policy_ports, sizeof c->policy_ports, "1024-65535");
	c->policy_pids_limit = 4096;
	str_copy(c->policy_cap_drop, sizeof c->policy_cap_drop, "NET_RAW,MKNOD,SYS_CHROOT,AUDIT_WRITE");
	str_copy(c->policy_read_only, sizeof c->policy_read_only, "no");
	c->pull_timeout_ms = 600000;
	str_copy(c->image_source, sizeof c->image_source, "peers_first");
	c->image_uploads = 2;
}

static const struct conf_key *find_key(const char *name)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

int conf_known(const char *key) { return find_key(key) != NULL; }

/* Keys of earlier versions that mean nothing now: accepted and ignored, so that a file
 * written for them still loads (canteen.conf(5), OBSOLETE KEYS). */
static const char *const obsolete[] = {"update_stagger_ms"};

int conf_set(struct conf *c, const char *key, const char *value, char *err, size_t errlen)
{
	const struct conf_key *k = find_key(key);
	char why[256];
	for (size_t i = 0; !k && i < sizeof obsolete / sizeof obsolete[0]; i++)
		if (strcmp(key, obsolete[i]) == 0)
			return 0;
	if (!k) {
		snprintf(err, errlen, "unknown key '%s'", key);
		return -1;
	}
	char *field = (char *)c + k->offset;
	uint64_t v = 0;
	int level;
	switch (k->type) {
	case T_STR:
	case T_LEVEL:
	case T_URLS:
		if (k->type == T_LEVEL && log_level_parse(value, &level) < 0) {
			snprintf(err, errlen, "%s: '%s' is not one of error, warn, info, debug", key, value);
			return -1;
		}
		for (const char *p = value; *p; p++) {
			if (iscntrl((unsigned char)*p)) {
				snprintf(err, errlen, "%s: control characters are not allowed", key);
				return -1;
			}
		}
		if (strlen(value) >= k->size) {
			snprintf(err, errlen, "%s: value longer than %zu bytes", key, k->size - 1);
			return -1;
		}
		if (k->type == T_URLS) {
			char urls[CONF_RPC_MAX][CONF_STR_MAX];
			size_t n;
			if (conf_rpc_urls(value, urls, &n, why, sizeof why) < 0) {
				snprintf(err, errlen, "%s: %s", key, why);
				return -1;
			}
		}
		str_copy(field, k->size, value);
		return 0;
	case T_U64:
		if (parse_u64(value, k->min, k->max, &v, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s: %s", key, why);
			return -1;
		}
		break;
	case T_BOOL:
		if (strcmp(value, "yes") == 0)
			v = 1;
		else if (strcmp(value, "no") != 0) {
			snprintf(err, errlen, "%s: '%s' is not yes or no", key, value);
			return -1;
		}
		break;
	case T_MS:
		if (parse_duration_ms(value, &v, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s: %s", key, why);
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(err, errlen, "%s: %s is out of range (%llums to %llums)", key, value,
			         (unsigned long long)k->min, (unsigned long long)k->max);
			return -1;
		}
		break;
	}
	memcpy(field, &v, sizeof v);
	return 0;
}

int conf_rpc_urls(const char *list, char urls[][CONF_STR_MAX], size_t *n, char *err, size_t errlen)
{
	const char *p = list;
	*n = 0;
	for (;;) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (!*p)
			return 0;
		size_t len = strcspn(p, ", \t\r\n\v\f");
		if (*n == CONF_RPC_MAX) {
			snprintf(err, errlen, "more than %d endpoints", CONF_RPC_MAX);
			return -1;
		}
		if (len >= CONF_STR_MAX) {
			snprintf(err, errlen, "endpoint %zu is longer than %d bytes", *n + 1, CONF_STR_MAX - 1);
			return -1;
		}
		memcpy(urls[*n], p, len);
		urls[*n][len] = '\0';
		for (size_t i = 0; i < *n; i++) {
			if (strcmp(urls[i], urls[*n]) == 0) {
				snprintf(err, errlen, "endpoints %zu and %zu are the same", i + 1, *n + 1);
				return -1;
			}
		}
		(*n)++;
		p += len;
	}
}

/* Trim ASCII whitespace at both ends, in place. */
static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[2048], why[512];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		size_t n = strlen(line);
		if (n == sizeof line - 1 && line[n - 1] != '\n' && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			rc = -1;
			break;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *key = trim(s), *value = trim(eq + 1);
		if (!*key) {
			snprintf(err, errlen, "%s:%d: missing key before '='", path, lineno);
			rc = -1;
			break;
		}
		if (conf_set(c, key, value, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

int conf_setup(struct conf *c, const char *path, const struct conf_flag *flags, size_t nflags,
               char *err, size_t errlen)
{
	char why[768];
	if (!path && access(CONF_DEFAULT_PATH, F_OK) == 0)
		path = CONF_DEFAULT_PATH;
	if (path && conf_load(c, path, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < nflags; i++)
		if (flags[i].value && conf_set(c, flags[i].key, flags[i].value, why, sizeof why) < 0) {
			snprintf(err, errlen, "--%s: %s", flags[i].flag, why);
			return -1;
		}
	int level = LOG_LEVEL_INFO;
	log_level_parse(c->log_level, &level); /* conf_set has checked it */
	log_set_level(level);
	return 0;
}
