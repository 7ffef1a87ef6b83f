/* docker_json.c: strict, bounded parsers for the Docker Engine API's JSON answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "docker_json.h"
#include "errf.h"
#include "parse.h"

/* Parse a bounded body into a JSON value of the wanted type (owned by the caller). */
static json_t *load(const char *body, size_t len, json_type want, char *err, size_t errlen)
{
	if (!body || len == 0) {
		errf(err, errlen, "empty answer from Docker");
		return NULL;
	}
	if (len > DOCKER_BODY_MAX) {
		errf(err, errlen, "answer from Docker is too large (%zu bytes)", len);
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		errf(err, errlen, "malformed JSON from Docker: %s", je.text);
		return NULL;
	}
	if (json_typeof(j) != want) {
		json_decref(j);
		errf(err, errlen, "unexpected JSON type in Docker's answer");
		return NULL;
	}
	return j;
}

/* A string member, or NULL when absent or not a string (or holding a NUL). */
static const char *get_str(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

static int is_hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int docker_valid_id(const char *s)
{
	return s && strlen(s) == DOCKER_ID_LEN && is_hex_lower(s, DOCKER_ID_LEN);
}

const char *docker_state_name(enum docker_state s)
{
	static const char *names[] = {"created", "restarting", "running", "removing",
	                              "paused", "exited", "dead"};
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

static int state_parse(const char *s, enum docker_state *out)
{
	for (int i = DOCKER_CREATED; i <= DOCKER_DEAD; i++)
		if (strcmp(s, docker_state_name((enum docker_state)i)) == 0) {
			*out = (enum docker_state)i;
			return 0;
		}
	return -1;
}

static int spec_hash_ok(const char *h)
{
	return strlen(h) == DOCKER_SPEC_HASH_LEN && strspn(h, "0123456789abcdef") == DOCKER_SPEC_HASH_LEN;
}

/* The canteen labels from a string map (Labels, or an event's Attributes). */
static void labels_parse(const json_t *map, struct docker_labels *l)
{
	memset(l, 0, sizeof *l);
	if (!json_is_object(map))
		return;
	const char *svc = get_str(map, DOCKER_LABEL_SERVICE);
	const char *rep = get_str(map, DOCKER_LABEL_REPLICA);
	const char *gen = get_str(map, DOCKER_LABEL_GENERATION);
	const char *node = get_str(map, DOCKER_LABEL_NODE);
	const char *spec = get_str(map, DOCKER_LABEL_SPEC);
	const char *cluster = get_str(map, DOCKER_LABEL_CLUSTER);
	if (node && rec_address_ok(node))
		str_copy(l->node, sizeof l->node, node);
	const char *back = get_str(map, DOCKER_LABEL_ROLLBACK);
	if (spec && spec_hash_ok(spec))
		str_copy(l->spec, sizeof l->spec, spec);
	if (back && spec_hash_ok(back))
		str_copy(l->rollback, sizeof l->rollback, back);
	/* Only ever compared whole with our own id: any printable value that fits is kept. */
	int printable = cluster != NULL;
	for (const char *p = cluster; printable && *p; p++)
		printable = *p > 0x20 && *p < 0x7f;
	if (printable && strlen(cluster) < sizeof l->cluster)
		str_copy(l->cluster, sizeof l->cluster, cluster);
	uint64_t r, g;
	if (!svc || !rep || !gen || !rec_name_ok(svc, strlen(svc)) ||
	    parse_u64(rep, 0, DOCKER_REPLICA_MAX, &r, NULL, 0) < 0 ||
	    parse_u64(gen, 0, UINT64_MAX, &g, NULL, 0) < 0 || !l->node[0])
		return;
	str_copy(l->service, sizeof l->service, svc);
	l->replica = (unsigned)r;
	l->generation = g;
	l->labels_ok = 1;
}

/* "1.41" into major and minor; refuses anything else. */
static int api_version_parse(const char *s, unsigned *major, unsigned *minor)
{
	const char *dot = s ? strchr(s, '.') : NULL;
	char a[8], b[8];
	uint64_t x, y;
	if (!dot || (size_t)(dot - s) >= sizeof a || strlen(dot + 1) >= sizeof b)
		return -1;
	memcpy(a, s, (size_t)(dot - s));
	a[dot - s] = '\0';
	str_copy(b, sizeof b, dot + 1);
	if (parse_u64(a, 0, 99, &x, NULL, 0) < 0 || parse_u64(b, 0, 999, &y, NULL, 0) < 0)
		return -1;
	*major = (unsigned)x;
	*minor = (unsigned)y;
	return 0;
}

int docker_parse_version(const char *body, size_t len, struct docker_version *v, char *err,
                         size_t errlen)
{
	json_t *j = load(body, len, JSON_OBJECT, err, errlen);
	if (!j)
		return -1;
	struct docker_version out;
	memset(&out, 0, sizeof out);
	int rc = -1;
	const char *api = get_str(j, "ApiVersion");
	const char *min = get_str(j, "MinAPIVersion");
	const char *ver = get_str(j, "Version");
	if (!api || api_version_parse(api, &out.api_major, &out.api_minor) < 0) {
		errf(err, errlen, "Docker's /version has no valid ApiVersion");
		goto out;
	}
	if (min && api_version_parse(min, &out.min_major, &out.min_minor) < 0) {
		errf(err, errlen, "Docker's /version has a malformed MinAPIVersion");
		goto out;
	}
	str_copy(out.engine, sizeof out.engine, ver ? ver : "unknown");
	*v = out;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

const char *docker_health_name(enum docker_health h)
{
	static const char *const names[] = {"", "starting", "healthy", "unhealthy"};
	return (unsigned)h < sizeof names / sizeof names[0] ? names[h] : "";
}

/* The health Docker appends to a listing's Status ("Up 2 minutes (healthy)"). */
static enum docker_health status_health(const char *status)
{
	if (!status)
		return DOCKER_HEALTH_NONE;
	if (strstr(status, "(unhealthy)"))
		return DOCKER_HEALTH_UNHEALTHY;
	if (strstr(status, "(healthy)"))
		return DOCKER_HEALTH_HEALTHY;
	if (strstr(status, "(health: starting)"))
		return DOCKER_HEALTH_STARTING;
	return DOCKER_HEALTH_NONE;
}

static int ctr_parse(const json_t *o, struct docker_ctr *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	if (!json_is_object(o))
		return errf(err, errlen, "container list entry is not an object");
	const char *id = get_str(o, "Id");
	const char *state = get_str(o, "State");
	json_t *names = json_object_get(o, "Names");
	json_t *created = json_object_get(o, "Created");
	if (!docker_valid_id(id))
		return errf(err, errlen, "container list entry has no valid Id");
	memcpy(c->id, id, DOCKER_ID_LEN + 1);
	if (!state || state_parse(state, &c->state) < 0)
		return errf(err, errlen, "container %.12s has an unknown State", id);
	if (json_is_array(names) && json_array_size(names) > 0) {
		json_t *n0 = json_array_get(names, 0);
		const char *n = json_is_string(n0) ? json_string_value(n0) : "";
		if (n[0] == '/')
			n++;
		if (str_copy(c->name, sizeof c->name, n) < 0)
			return errf(err, errlen, "container %.12s has an overlong name", id);
	}
	if (json_is_integer(created))
		c->created = (int64_t)json_integer_value(created);
	if (c->state == DOCKER_RUNNING)
		c->health = status_health(get_str(o, "Status"));
	labels_parse(json_object_get(o, "Labels"), &c->labels);
	return 0;
}

int docker_parse_list(const char *body, size_t len, size_t max, struct docker_ctr **out,
                      size_t *n, char *err, size_t errlen)
{
	json_t *j = load(body, len, JSON_ARRAY, err, errlen);
	if (!j)
		return -1;
	size_t cnt = json_array_size(j);
	struct docker_ctr *v = NULL;
	int rc = -1;
	if (cnt > max) {
		errf(err, errlen, "Docker listed %zu containers, more than the %zu allowed", cnt, max);
		goto out;
	}
	v = calloc(cnt ? cnt : 1, sizeof *v);
	if (!v) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < cnt; i++)
		if (ctr_parse(json_array_get(j, i), &v[i], err, errlen) < 0)
			goto out;
	*out = v;
	*n = cnt;
	v = NULL;
	rc = 0;
out:
	free(v);
	json_decref(j);
	return rc;
}

int docker_parse_event(const char *line, size_t len, struct docker_event *ev, char *err,
                       size_t errlen)
{
	json_t *j = load(line, len, JSON_OBJECT, err, errlen);
	if (!j)
		return -1;
	int rc = -1;
	struct docker_event e;
	memset(&e, 0, sizeof e);
	e.exit_code = -1;
	const char *type = get_str(j, "Type");
	const char *action = get_str(j, "Action");
	json_t *actor = json_object_get(j, "Actor");
	json_t *attrs = json_object_get(actor, "Attributes");
	json_t *tn = json_object_get(j, "timeNano");
	if (!type || !action) {
		errf(err, errlen, "Docker event without Type or Action");
		goto out;
	}
	if (strcmp(type, "container") != 0) {
		rc = 0;
		goto out;
	}
	const char *id = get_str(actor, "ID");
	if (!docker_valid_id(id)) {
		errf(err, errlen, "Docker container event without a valid Actor.ID");
		goto out;
	}
	memcpy(e.id, id, DOCKER_ID_LEN + 1);
	size_t alen = strcspn(action, ":");
	if (alen >= sizeof e.action)
		alen = sizeof e.action - 1;
	memcpy(e.action, action, alen);
	e.action[alen] = '\0';
	if (strcmp(e.action, "health_status") == 0) {
		const char *h = action + strcspn(action, ":");
		h += *h == ':' ? 1 : 0;
		h += *h == ' ' ? 1 : 0;
		e.health = strcmp(h, "healthy") == 0     ? DOCKER_HEALTH_HEALTHY
		           : strcmp(h, "unhealthy") == 0 ? DOCKER_HEALTH_UNHEALTHY
		           : strcmp(h, "starting") == 0  ? DOCKER_HEALTH_STARTING
		                                         : DOCKER_HEALTH_NONE;
	}
	const char *name = get_str(attrs, "name");
	if (name)
		str_copy(e.name, sizeof e.name, name);
	const char *code = get_str(attrs, "exitCode");
	uint64_t c;
	if (code && parse_u64(code, 0, 255, &c, NULL, 0) == 0)
		e.exit_code = (int)c;
	if (json_is_integer(tn))
		e.time_ns = (int64_t)json_integer_value(tn);
	labels_parse(attrs, &e.labels);
	*ev = e;
	rc = 1;
out:
	json_decref(j);
	return rc;
}

int docker_parse_created(const char *body, size_t len, char id[DOCKER_ID_LEN + 1], char *err,
                         size_t errlen)
{
	json_t *j = load(body, len, JSON_OBJECT, err, errlen);
	if (!j)
		return -1;
	const char *v = get_str(j, "Id");
	int rc = -1;
	if (!docker_valid_id(v))
		errf(err, errlen, "Docker's create answer has no valid Id");
	else {
		memcpy(id, v, DOCKER_ID_LEN + 1);
		rc = 0;
	}
	json_decref(j);
	return rc;
}

/* Copy at most msglen-1 printable bytes (others become '?'). */
static void copy_printable(char *dst, size_t dstlen, const char *src, size_t n)
{
	size_t i;
	if (dstlen == 0)
		return;
	for (i = 0; i < n && i + 1 < dstlen; i++) {
		unsigned char ch = (unsigned char)src[i];
		dst[i] = (ch >= 0x20 && ch != 0x7f) ? (char)ch : '?';
	}
	dst[i] = '\0';
}

void docker_parse_error(const char *body, size_t len, char *msg, size_t msglen)
{
	json_t *j = (body && len && len <= DOCKER_BODY_MAX)
	                ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	const char *m = json_is_object(j) ? get_str(j, "message") : NULL;
	if (m)
		copy_printable(msg, msglen, m, strlen(m));
	else if (body && len)
		copy_printable(msg, msglen, body, len > 200 ? 200 : len);
	else
		copy_printable(msg, msglen, "no message", 10);
	json_decref(j);
}

int docker_parse_progress(const char *line, size_t len, struct docker_progress *p, char *err,
                          size_t errlen)
{
	json_t *j = load(line, len, JSON_OBJECT, err, errlen);
	if (!j)
		return -1;
	struct docker_progress out;
	memset(&out, 0, sizeof out);
	const char *s = get_str(j, "status");
	const char *id = get_str(j, "id");
	const char *e = get_str(j, "error");
	/* A pull refused before its stream starts (no registry reachable, say) is answered with
	 * Docker's error object instead: {"message":"..."} alone is that failure. */
	if (!s && !e && json_object_size(j) == 1)
		e = get_str(j, "message");
	json_t *d = json_object_get(j, "progressDetail");
	if (s)
		copy_printable(out.status, sizeof out.status, s, strlen(s));
	if (id)
		copy_printable(out.layer, sizeof out.layer, id, strlen(id));
	if (e)
		copy_printable(out.error, sizeof out.error, e, strlen(e));
	json_t *cur = json_object_get(d, "current"), *tot = json_object_get(d, "total");
	if (json_is_integer(cur) && json_integer_value(cur) >= 0)
		out.current = (uint64_t)json_integer_value(cur);
	if (json_is_integer(tot) && json_integer_value(tot) >= 0)
		out.total = (uint64_t)json_integer_value(tot);
	json_decref(j);
	if (!s && !e)
		return errf(err, errlen, "pull progress line without status or error");
	*p = out;
	return 0;
}
