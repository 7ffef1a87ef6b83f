/* docker_spec.c: the desired set canteen-sched sends to canteen-dockerd: decode, validate, render. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "docker_policy.h"
#include "docker_spec.h"
#include "errf.h"
#include "parse.h"

int docker_image_split(const char *ref, char *name, size_t namelen, char *tag, size_t taglen)
{
	size_t nl, tl;
	const char *t, *digest;
	if (rec_image_parts(ref, &nl, &t, &tl, &digest) < 0 || nl >= namelen)
		return -1;
	memcpy(name, ref, nl);
	name[nl] = '\0';
	if (digest)
		return str_copy(tag, taglen, digest);
	if (t) {
		if (tl >= taglen)
			return -1;
		memcpy(tag, t, tl);
		tag[tl] = '\0';
		return 0;
	}
	return str_copy(tag, taglen, "latest");
}

void docker_spec_name(const char *service, unsigned replica, char *out, size_t outlen)
{
	snprintf(out, outlen, "canteen.%s.%u", service, replica);
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void docker_spec_free(struct docker_spec *s)
{
	strv_free(s->command, s->ncommand);
	strv_free(s->env, s->nenv);
	strv_free(s->health.cmd, s->health.ncmd);
	s->command = s->env = s->health.cmd = NULL;
	s->ncommand = s->nenv = s->health.ncmd = 0;
}

int docker_spec_health_given(const struct docker_spec *s)
{
	return !s->health.disabled && s->health.ncmd > 0;
}

void docker_volume_name(const char *cluster, const char *node, const char *service,
                        unsigned replica, const char *name, char *out, size_t outlen)
{
	unsigned char h[6];
	char hex[13];
	const char *c = cluster ? cluster : "none", *n = node ? node : "";
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, (const unsigned char *)c, strlen(c) + 1);
	crypto_generichash_update(&st, (const unsigned char *)n, strlen(n));
	crypto_generichash_final(&st, h, sizeof h);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	snprintf(out, outlen, "canteen.%s.%s.%u.%s", hex, service, replica, name);
}

/* A JSON array of strings (rec_run_check has checked it) into a vector owned by the caller. */
static int strv_decode(const json_t *a, char ***out, size_t *n, char *err, size_t errlen)
{
	size_t cnt = json_array_size(a);
	*out = NULL;
	*n = 0;
	char **v = calloc(cnt ? cnt : 1, sizeof *v);
	if (!v)
		return errf(err, errlen, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		v[i] = strdup(json_string_value(json_array_get(a, i)));
		if (!v[i]) {
			strv_free(v, i);
			return errf(err, errlen, "out of memory");
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* A JSON integer in [min, max], or def when absent. */
static int uint_field(const json_t *o, const char *key, int required, uint64_t def, uint64_t min,
                      uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v) {
		if (required)
			return errf(err, errlen, "\"%s\" is missing", key);
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return errf(err, errlen, "\"%s\" is not a whole number", key);
	uint64_t x = (uint64_t)json_integer_value(v);
	if (x < min || x > max)
		return errf(err, errlen, "\"%s\" is %llu, outside %llu..%llu", key,
		            (unsigned long long)x, (unsigned long long)min, (unsigned long long)max);
	*out = x;
	return 0;
}

/* Ports (rec_run_check has checked them) into s. */
static void ports_decode(const json_t *a, struct docker_spec *s)
{
	for (size_t i = 0; i < json_array_size(a) && i < REC_MAX_PORTS; i++) {
		json_t *p = json_array_get(a, i), *pr = json_object_get(p, "proto");
		struct docker_port *dp = &s->ports[i];
		dp->host = (uint16_t)json_integer_value(json_object_get(p, "host"));
		dp->container = (uint16_t)json_integer_value(json_object_get(p, "container"));
		str_copy(dp->proto, sizeof dp->proto, pr ? json_string_value(pr) : "tcp");
		s->nports = i + 1;
	}
}

/* health, volumes and read_only (rec_run_check has checked them) into s; frees s on error. */
static int options_decode(const json_t *o, struct docker_spec *s, char *err, size_t errlen)
{
	json_t *h = json_object_get(o, "health"), *v;
	size_t i;
	s->health.interval_ms = (uint64_t)json_integer_value(json_object_get(h, "interval_ms"));
	s->health.timeout_ms = (uint64_t)json_integer_value(json_object_get(h, "timeout_ms"));
	s->health.start_period_ms = (uint64_t)json_integer_value(json_object_get(h, "start_period_ms"));
	s->health.retries = (unsigned)json_integer_value(json_object_get(h, "retries"));
	s->health.disabled = json_is_true(json_object_get(h, "disabled"));
	s->read_only = json_is_true(json_object_get(o, "read_only"));
	json_array_foreach(json_object_get(o, "volumes"), i, v) {
		if (i >= REC_MAX_VOLUMES)
			break;
		rec_volume_parse(json_string_value(v), json_string_length(v), &s->volumes[i], NULL, 0);
		s->nvolumes = i + 1;
	}
	if (strv_decode(json_object_get(h, "cmd"), &s->health.cmd, &s->health.ncmd, err, errlen) < 0) {
		docker_spec_free(s);
		return -1;
	}
	return 0;
}

int docker_spec_decode(const json_t *o, struct docker_spec *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	if (!json_is_object(o))
		return errf(err, errlen, "container spec is not an object");
	json_t *svc = json_object_get(o, "service");
	uint64_t r;
	if (!json_is_string(svc))
		return errf(err, errlen, "service name must match [a-z0-9][a-z0-9-]{0,62}");
	if (rec_name_check(json_string_value(svc), json_string_length(svc), err, errlen) < 0 ||
	    uint_field(o, "replica", 1, 0, 0, REC_U32_MAX, &r, err, errlen) < 0 ||
	    rec_replicas_check((long long)r + 1, err, errlen) < 0 ||
	    uint_field(o, "generation", 1, 0, 0, REC_MAX_GENERATION, &s->generation, err, errlen) < 0 ||
	    rec_run_check(o, err, errlen) < 0)
		return -1;
	str_copy(s->service, sizeof s->service, json_string_value(svc));
	s->replica = (unsigned)r;
	s->cpu_millis = (uint64_t)json_integer_value(json_object_get(o, "cpu_millis"));
	s->mem_mib = (uint64_t)json_integer_value(json_object_get(o, "mem_mib"));
	str_copy(s->image, sizeof s->image, json_string_value(json_object_get(o, "image")));
	ports_decode(json_object_get(o, "ports"), s);
	if (strv_decode(json_object_get(o, "command"), &s->command, &s->ncommand, err, errlen) < 0)
		return -1;
	if (strv_decode(json_object_get(o, "env"), &s->env, &s->nenv, err, errlen) < 0) {
		docker_spec_free(s);
		return -1;
	}
	return options_decode(o, s, err, errlen);
}

static int strv_equal(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

int docker_spec_same(const struct docker_spec *a, const struct docker_spec *b)
{
	if (strcmp(a->service, b->service) || a->replica != b->replica ||
	    strcmp(a->image, b->image) || a->cpu_millis != b->cpu_millis ||
	    a->mem_mib != b->mem_mib || a->nports != b->nports)
		return 0;
	for (size_t i = 0; i < a->nports; i++)
		if (a->ports[i].host != b->ports[i].host ||
		    a->ports[i].container != b->ports[i].container ||
		    strcmp(a->ports[i].proto, b->ports[i].proto))
			return 0;
	const struct docker_healthcheck *ha = &a->health, *hb = &b->health;
	if (ha->interval_ms != hb->interval_ms || ha->timeout_ms != hb->timeout_ms ||
	    ha->start_period_ms != hb->start_period_ms || ha->retries != hb->retries ||
	    ha->disabled != hb->disabled || a->read_only != b->read_only || a->nvolumes != b->nvolumes)
		return 0;
	for (size_t i = 0; i < a->nvolumes; i++)
		if (strcmp(a->volumes[i].name, b->volumes[i].name) ||
		    strcmp(a->volumes[i].path, b->volumes[i].path) ||
		    a->volumes[i].read_only != b->volumes[i].read_only)
			return 0;
	return strv_equal(a->command, a->ncommand, b->command, b->ncommand) &&
	       strv_equal(a->env, a->nenv, b->env, b->nenv) &&
	       strv_equal(ha->cmd, ha->ncmd, hb->cmd, hb->ncmd);
}

void docker_desired_free(struct docker_desired *d)
{
	for (size_t i = 0; i < d->n; i++)
		docker_spec_free(&d->specs[i]);
	free(d->specs);
	free(d->rejects);
	memset(d, 0, sizeof *d);
}

/* Record a refused spec, keeping what of its service name is printable. */
static void reject(struct docker_desired *d, const json_t *o, const char *why)
{
	struct docker_reject *r = &d->rejects[d->nrejects++];
	memset(r, 0, sizeof *r);
	r->replica = -1;
	json_t *svc = json_object_get(o, "service");
	const char *name = json_is_string(svc) ? json_string_value(svc) : "";
	size_t k = 0;
	for (; name[k] && k + 1 < sizeof r->service; k++) {
		unsigned char ch = (unsigned char)name[k];
		r->service[k] = (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') ? (char)ch : '?';
	}
	r->service[k] = '\0';
	json_t *rep = json_object_get(o, "replica");
	if (json_is_integer(rep) && json_integer_value(rep) >= 0 &&
	    json_integer_value(rep) <= (json_int_t)DOCKER_REPLICA_MAX)
		r->replica = (long)json_integer_value(rep);
	str_copy(r->error, sizeof r->error, why);
}

/* The first check on the set as a whole that a spec fails, or NULL. */
static const char *conflicts(const struct docker_desired *d, const struct docker_spec *s,
                             char *buf, size_t buflen)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct docker_spec *o = &d->specs[i];
		if (strcmp(o->service, s->service) == 0 && o->replica == s->replica) {
			snprintf(buf, buflen, "replica %u of %s is listed twice", s->replica, s->service);
			return buf;
		}
		for (size_t a = 0; a < o->nports; a++)
			for (size_t b = 0; b < s->nports; b++)
				if (o->ports[a].host == s->ports[b].host &&
				    strcmp(o->ports[a].proto, s->ports[b].proto) == 0) {
					snprintf(buf, buflen, "host port %u/%s is already used by %s.%u",
					         s->ports[b].host, s->ports[b].proto, o->service, o->replica);
					return buf;
				}
	}
	return NULL;
}

int docker_desired_decode(const json_t *msg, const char *self_node, struct docker_desired *out,
                          char *err, size_t errlen)
{
	return docker_desired_decode_policy(msg, self_node, NULL, out, err, errlen);
}

int docker_desired_decode_policy(const json_t *msg, const char *self_node,
                                 const struct docker_policy *policy, struct docker_desired *out,
                                 char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!json_is_object(msg))
		return errf(err, errlen, "desired set is not an object");
	json_t *node = json_object_get(msg, "node");
	json_t *ctrs = json_object_get(msg, "containers");
	if (!json_is_string(node) || !rec_address_ok(json_string_value(node)))
		return errf(err, errlen, "\"node\" is missing or not a lowercase 0x address");
	if (self_node && strcmp(json_string_value(node), self_node) != 0)
		return errf(err, errlen, "desired set is for node %s, this is %s",
		            json_string_value(node), self_node);
	if (!json_is_array(ctrs))
		return errf(err, errlen, "\"containers\" is missing or not an array");
	size_t cnt = json_array_size(ctrs);
	if (cnt > DOCKER_SPECS_MAX)
		return errf(err, errlen, "%zu containers, more than %d", cnt, DOCKER_SPECS_MAX);
	str_copy(out->node, sizeof out->node, json_string_value(node));
	out->specs = calloc(cnt ? cnt : 1, sizeof *out->specs);
	out->rejects = calloc(cnt ? cnt : 1, sizeof *out->rejects);
	if (!out->specs || !out->rejects) {
		docker_desired_free(out);
		return errf(err, errlen, "out of memory");
	}
	for (size_t i = 0; i < cnt; i++) {
		json_t *o = json_array_get(ctrs, i);
		char why[256];
		struct docker_spec *s = &out->specs[out->n];
		if (docker_spec_decode(o, s, why, sizeof why) < 0) {
			reject(out, o, why);
			continue;
		}
		/* Before the set's checks: a refused spec takes no host port from another. */
		if (policy && docker_policy_check(policy, s, why, sizeof why) < 0) {
			reject(out, o, why);
			out->rejects[out->nrejects - 1].policy = 1;
			docker_spec_free(s);
			continue;
		}
		const char *c = conflicts(out, s, why, sizeof why);
		if (c) {
			reject(out, o, c);
			docker_spec_free(s);
			continue;
		}
		out->n++;
	}
	return 0;
}

/* Length-prefixed, so that ("ab","c") and ("a","bc") differ. */
static void hash_str(crypto_generichash_state *st, const char *v)
{
	uint64_t n = strlen(v);
	unsigned char len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)(n >> (8 * i));
	crypto_generichash_update(st, len, sizeof len);
	crypto_generichash_update(st, (const unsigned char *)v, (size_t)n);
}

void docker_spec_hash(const struct docker_spec *s, char out[DOCKER_SPEC_HASH_LEN + 1])
{
	crypto_generichash_state st;
	unsigned char h[DOCKER_SPEC_HASH_LEN / 2];
	char num[64];
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	hash_str(&st, s->image);
	snprintf(num, sizeof num, "%zu", s->ncommand);
	hash_str(&st, num);
	for (size_t i = 0; i < s->ncommand; i++)
		hash_str(&st, s->command[i]);
	snprintf(num, sizeof num, "%zu", s->nenv);
	hash_str(&st, num);
	for (size_t i = 0; i < s->nenv; i++)
		hash_str(&st, s->env[i]);
	snprintf(num, sizeof num, "%llu/%llu/%zu", (unsigned long long)s->cpu_millis,
	         (unsigned long long)s->mem_mib, s->nports);
	hash_str(&st, num);
	for (size_t i = 0; i < s->nports; i++) {
		snprintf(num, sizeof num, "%u:%u/%s", s->ports[i].host, s->ports[i].container, s->ports[i].proto);
		hash_str(&st, num);
	}
	/* Version 5's options only when given: a container made before them keeps its hash. */
	const struct docker_healthcheck *hc = &s->health;
	if (hc->ncmd || hc->interval_ms || hc->timeout_ms || hc->start_period_ms || hc->retries ||
	    hc->disabled || s->nvolumes || s->read_only) {
		snprintf(num, sizeof num, "v5/%zu", hc->ncmd);
		hash_str(&st, num);
		for (size_t i = 0; i < hc->ncmd; i++)
			hash_str(&st, hc->cmd[i]);
		snprintf(num, sizeof num, "%llu/%llu/%llu/%u/%d/%d/%zu", (unsigned long long)hc->interval_ms,
		         (unsigned long long)hc->timeout_ms, (unsigned long long)hc->start_period_ms,
		         hc->retries, hc->disabled, s->read_only, s->nvolumes);
		hash_str(&st, num);
		for (size_t i = 0; i < s->nvolumes; i++) {
			hash_str(&st, s->volumes[i].name);
			hash_str(&st, s->volumes[i].path);
			hash_str(&st, s->volumes[i].read_only ? "ro" : "rw");
		}
	}
	crypto_generichash_final(&st, h, sizeof h);
	sodium_bin2hex(out, DOCKER_SPEC_HASH_LEN + 1, h, sizeof h);
}

static int add_str(json_t *o, const char *k, const char *v)
{
	return json_object_set_new(o, k, json_string(v));
}

static json_t *strv_json(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The identity variables set in every replica by docker_spec_create. */
static const char *const identity_vars[] = {"CANTEEN_SERVICE", "CANTEEN_REPLICA", "CANTEEN_NODE"};

static int is_identity_var(const char *kv)
{
	for (size_t i = 0; i < sizeof identity_vars / sizeof identity_vars[0]; i++) {
		size_t n = strlen(identity_vars[i]);
		if (strncmp(kv, identity_vars[i], n) == 0 && kv[n] == '=')
			return 1;
	}
	return 0;
}

/* The service's env, then who the replica is: CANTEEN_SERVICE, CANTEEN_REPLICA and
 * CANTEEN_NODE, which the service's own entries of those names do not override. */
static json_t *env_json(const struct docker_spec *s, const char *node)
{
	json_t *a = json_array();
	char v[3][DOCKER_SERVICE_MAX + 32];
	snprintf(v[0], sizeof v[0], "%s=%s", identity_vars[0], s->service);
	snprintf(v[1], sizeof v[1], "%s=%u", identity_vars[1], s->replica);
	snprintf(v[2], sizeof v[2], "%s=%s", identity_vars[2], node);
	for (size_t i = 0; a && i < s->nenv; i++)
		if (!is_identity_var(s->env[i]) && json_array_append_new(a, json_string(s->env[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	for (size_t i = 0; a && i < 3; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* SERVICE-REPLICA, the service's name cut so that the whole is a DNS label (63 bytes). */
static void hostname_of(const struct docker_spec *s, char *out, size_t outlen)
{
	char idx[16];
	int n = snprintf(idx, sizeof idx, "%u", s->replica);
	int keep = 63 - 1 - n;
	snprintf(out, outlen, "%.*s-%s", keep, s->service, idx);
}

/* The node policy's hardening into HostConfig hc. 0, or -1 when out of memory. */
static int harden(json_t *hc, const struct docker_policy *p)
{
	json_t *caps = json_array();
	int bad = !caps;
	for (size_t i = 0; !bad && i < p->ncap_drop; i++)
		bad = json_array_append_new(caps, json_string(p->cap_drop[i])) < 0;
	if (bad) {
		json_decref(caps);
		return -1;
	}
	bad = json_object_set_new(hc, "CapDrop", caps) || /* steals caps */
	      json_object_set_new(hc, "SecurityOpt", json_pack("[s]", "no-new-privileges"));
	if (!bad && p->pids_limit)
		bad = json_object_set_new(hc, "PidsLimit", json_integer((json_int_t)p->pids_limit));
	if (!bad && p->read_only) {
		char opts[64];
		snprintf(opts, sizeof opts, "rw,nosuid,nodev,size=%dm", DOCKER_POLICY_TMPFS_MB);
		bad = json_object_set_new(hc, "ReadonlyRootfs", json_true()) ||
		      json_object_set_new(hc, "Tmpfs", json_pack("{s:s}", "/tmp", opts));
	}
	return bad ? -1 : 0;
}

/* Docker's Healthcheck of s, or NULL (none given; *bad on no memory). Durations in ns. */
static json_t *healthcheck_json(const struct docker_spec *s, int *bad)
{
	const struct docker_healthcheck *h = &s->health;
	if (!h->ncmd && !h->interval_ms && !h->timeout_ms && !h->start_period_ms && !h->retries &&
	    !h->disabled)
		return NULL;
	json_t *o = json_object(), *test = json_array();
	int b = !o || !test;
	if (h->disabled) {
		b = b || json_array_append_new(test, json_string("NONE"));
	} else if (h->ncmd) {
		int shell = strcmp(h->cmd[0], "CMD-SHELL") == 0;
		b = b || (!shell && json_array_append_new(test, json_string("CMD")));
		for (size_t i = 0; !b && i < h->ncmd; i++)
			b = json_array_append_new(test, json_string(h->cmd[i])) < 0;
	} /* else []: the image's test, with these timings */
	const struct {
		const char *key;
		uint64_t ms;
	} d[] = {{"Interval", h->interval_ms}, {"Timeout", h->timeout_ms}, {"StartPeriod", h->start_period_ms}};
	for (size_t i = 0; !b && i < 3; i++)
		if (d[i].ms)
			b = json_object_set_new(o, d[i].key, json_integer((json_int_t)(d[i].ms * 1000000))) < 0;
	if (!b && h->retries)
		b = json_object_set_new(o, "Retries", json_integer(h->retries)) < 0;
	b = b || json_object_set(o, "Test", test) < 0;
	json_decref(test);
	if (b) {
		json_decref(o);
		*bad = 1;
		return NULL;
	}
	return o;
}

/* HostConfig.Mounts: each named volume of s, created by Docker at the container's
 * creation when missing, with its labels. NULL on no memory. */
static json_t *mounts_json(const struct docker_spec *s, const char *cluster, const char *node)
{
	json_t *a = json_array();
	char rep[16], vol[256];
	snprintf(rep, sizeof rep, "%u", s->replica);
	for (size_t i = 0; a && i < s->nvolumes; i++) {
		const struct rec_volume *v = &s->volumes[i];
		docker_volume_name(cluster, node, s->service, s->replica, v->name, vol, sizeof vol);
		json_t *m = json_pack("{s:s, s:s, s:s, s:b, s:{s:{s:s, s:s, s:s, s:s, s:s}}}", "Type",
		                      "volume", "Source", vol, "Target", v->path, "ReadOnly", v->read_only,
		                      "VolumeOptions", "Labels", DOCKER_LABEL_CLUSTER,
		                      cluster ? cluster : "none", DOCKER_LABEL_SERVICE, s->service,
		                      DOCKER_LABEL_REPLICA, rep, DOCKER_LABEL_VOLUME, v->name,
		                      DOCKER_LABEL_NODE, node ? node : "");
		if (!m || json_array_append_new(a, m) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* The peers file's directory, read-only at /run/canteen; its path is no part of the spec
 * hash, and its content changes without a new container. 0, or -1 on no memory. */
static int add_peers_mount(json_t *mounts, const char *dir, const char *service)
{
	char src[4096];
	if ((size_t)snprintf(src, sizeof src, "%s/%s", dir, service) >= sizeof src)
		return -1;
	return json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:b}", "Type", "bind", "Source",
	                                                src, "Target", "/run/canteen", "ReadOnly", 1));
}

json_t *docker_spec_create_body(const struct docker_spec *s, const char *node,
                                const char *host_ip)
{
	struct docker_create_ctx x = {.node = node, .host_ip = host_ip};
	return docker_spec_create(s, &x);
}

json_t *docker_spec_create(const struct docker_spec *s, const struct docker_create_ctx *x)
{
	char rep[16], gen[24], key[16], hp[8];
	const char *host_ip = x->host_ip;
	snprintf(rep, sizeof rep, "%u", s->replica);
	snprintf(gen, sizeof gen, "%llu", (unsigned long long)s->generation);
	json_t *body = json_object(), *labels = json_object(), *hc = json_object();
	json_t *exposed = json_object(), *bindings = json_object();
	json_t *restart = json_pack("{s:s}", "Name", "no");
	int bad = !body || !labels || !hc || !exposed || !bindings || !restart;
	char spec[DOCKER_SPEC_HASH_LEN + 1];
	docker_spec_hash(s, spec);
	bad = bad || add_str(labels, DOCKER_LABEL_SPEC, spec) ||
	      add_str(labels, DOCKER_LABEL_SERVICE, s->service) ||
	      add_str(labels, DOCKER_LABEL_REPLICA, rep) ||
	      add_str(labels, DOCKER_LABEL_GENERATION, gen) || add_str(labels, DOCKER_LABEL_NODE, x->node);
	if (!bad && x->cluster)
		bad = add_str(labels, DOCKER_LABEL_CLUSTER, x->cluster);
	if (!bad && s->rollback_of[0])
		bad = add_str(labels, DOCKER_LABEL_ROLLBACK, s->rollback_of);
	for (size_t i = 0; !bad && i < s->nports; i++) {
		snprintf(key, sizeof key, "%u/%s", s->ports[i].container, s->ports[i].proto);
		snprintf(hp, sizeof hp, "%u", s->ports[i].host);
		json_t *b = json_pack("[{s:s,s:s}]", "HostIp", host_ip ? host_ip : "", "HostPort", hp);
		bad = !b || json_object_set_new(exposed, key, json_object()) ||
		      json_object_set_new(bindings, key, b);
	}
	bad = bad || json_object_set_new(hc, "NanoCpus", json_integer((json_int_t)(s->cpu_millis * 1000000))) ||
	      json_object_set_new(hc, "Memory", json_integer((json_int_t)(s->mem_mib * 1024 * 1024))) ||
	      json_object_set(hc, "PortBindings", bindings) ||
	      json_object_set(hc, "RestartPolicy", restart);
	if (!bad && s->read_only)
		bad = json_object_set_new(hc, "ReadonlyRootfs", json_true()) < 0;
	if (!bad && (s->nvolumes || x->peers_dir)) {
		json_t *m = mounts_json(s, x->cluster, x->node);
		bad = !m || (x->peers_dir && add_peers_mount(m, x->peers_dir, s->service) < 0) ||
		      json_object_set_new(hc, "Mounts", m) < 0;
	}
	if (!bad && x->policy)
		bad = harden(hc, x->policy) < 0;
	json_t *health = bad ? NULL : healthcheck_json(s, &bad);
	if (health)
		bad = json_object_set_new(body, "Healthcheck", health) < 0;
	char host[64];
	hostname_of(s, host, sizeof host);
	bad = bad || add_str(body, "Image", s->image) || add_str(body, "Hostname", host) ||
	      json_object_set_new(body, "Env", env_json(s, x->node)) ||
	      json_object_set(body, "Labels", labels) ||
	      json_object_set(body, "ExposedPorts", exposed) || json_object_set(body, "HostConfig", hc);
	if (!bad && s->ncommand > 0)
		bad = json_object_set_new(body, "Cmd", strv_json(s->command, s->ncommand));
	json_decref(labels);
	json_decref(hc);
	json_decref(exposed);
	json_decref(bindings);
	json_decref(restart);
	if (bad) {
		json_decref(body);
		return NULL;
	}
	return body;
}

int docker_cluster_id(const char *contract, uint64_t chain_id, char *out, size_t outlen,
                      char *err, size_t errlen)
{
	char lower[REC_ADDR_LEN + 1];
	size_t n = strlen(contract);
	if (n == 0) {
		snprintf(out, outlen, "%llu:none", (unsigned long long)chain_id);
		return 0;
	}
	for (size_t i = 0; i < n && i < REC_ADDR_LEN; i++)
		lower[i] = (contract[i] >= 'A' && contract[i] <= 'Z') ? (char)(contract[i] + 32) : contract[i];
	lower[n < REC_ADDR_LEN ? n : REC_ADDR_LEN] = '\0';
	if (n > REC_ADDR_LEN || !rec_address_ok(lower)) /* longer: cut above */
		return errf(err, errlen, "contract '%.64s' is not a 0x address of 40 hex digits", contract);
	int w = snprintf(out, outlen, "%llu:%s", (unsigned long long)chain_id, lower);
	if (w < 0 || (size_t)w >= outlen)
		return errf(err, errlen, "cluster id does not fit");
	return 0;
}

json_t *docker_spec_of_service(const json_t *svc, const char *name, uint32_t replica)
{
	json_t *ports = json_array(), *p;
	size_t i;
	json_array_foreach(json_object_get(svc, "ports"), i, p) {
		const char *proto = json_string_value(json_object_get(p, "proto"));
		json_array_append_new(ports, json_pack("{s:O,s:O,s:s}", "host", json_object_get(p, "host"),
		                                       "container", json_object_get(p, "container"),
		                                       "proto", proto ? proto : "tcp"));
	}
	json_t *cmd = json_object_get(svc, "command"), *env = json_object_get(svc, "env");
	json_t *gen = json_object_get(svc, "generation");
	json_t *spec = json_pack("{s:s,s:I,s:I,s:O,s:o,s:o,s:O,s:O,s:o}", "service", name, "replica",
	                 (json_int_t)replica, "generation", gen ? json_integer_value(gen) : 0, "image",
	                 json_object_get(svc, "image"), "command", cmd ? json_incref(cmd) : json_array(),
	                 "env", env ? json_incref(env) : json_array(), "cpu_millis",
	                 json_object_get(svc, "cpu_millis"), "mem_mib", json_object_get(svc, "mem_mib"),
	                 "ports", ports);
	/* What of version 5's options the container itself is made with (absent: default). */
	static const char *const pass[] = {"health", "volumes", "read_only"};
	for (size_t k = 0; spec && k < sizeof pass / sizeof pass[0]; k++)
		if (json_object_get(svc, pass[k]))
			json_object_set(spec, pass[k], json_object_get(svc, pass[k]));
	return spec;
}
