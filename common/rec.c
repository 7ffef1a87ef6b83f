/* rec.c: the one owner of the contract's records: limits, grammars, tables, the ABI decoder. */
#include <stdio.h>
#include <string.h>

#include "errf.h"
#include "eth_util.h"
#include "rec.h"

/* ---- tables ---- */

static const char *const strategy_names[REC_NSTRATEGIES] = {"spread", "roundrobin", "binpack"};
static const char *const proto_names[REC_NPROTOS] = {"tcp", "udp"};
static const char *const failure_names[REC_NFAILURES] = {"pause", "rollback"};

const char *rec_strategy_name(long s)
{
	return s >= 0 && s < REC_NSTRATEGIES ? strategy_names[s] : NULL;
}

int rec_strategy_parse(const char *s, int *out)
{
	for (int i = 0; s && i < REC_NSTRATEGIES; i++)
		if (strcmp(s, strategy_names[i]) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

const char *rec_proto_name(long p)
{
	return p >= 0 && p < REC_NPROTOS ? proto_names[p] : NULL;
}

int rec_proto_parse(const char *s, int *out)
{
	for (int i = 0; s && i < REC_NPROTOS; i++)
		if (strcmp(s, proto_names[i]) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

const char *rec_failure_name(long f)
{
	return f >= 0 && f < REC_NFAILURES ? failure_names[f] : NULL;
}

int rec_failure_parse(const char *s, int *out)
{
	for (int i = 0; s && i < REC_NFAILURES; i++)
		if (strcmp(s, failure_names[i]) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

/* ---- grammars ---- */

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int is_hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int rec_name_ok(const char *s, size_t n)
{
	if (!s || n == 0 || n > REC_MAX_NAME)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(is_lower_alnum(s[i]) || (s[i] == '-' && i > 0)))
			return 0;
	return 1;
}

int rec_name_check(const char *s, size_t n, char *err, size_t errlen)
{
	if (s && n > REC_MAX_NAME)
		return errf(err, errlen, "service name is %zu bytes long, more than %d", n, REC_MAX_NAME);
	if (!rec_name_ok(s, n))
		return errf(err, errlen, "service name must match [a-z0-9][a-z0-9-]{0,62}");
	return 0;
}

int rec_address_ok(const char *s)
{
	return s && strlen(s) == REC_ADDR_LEN && s[0] == '0' && s[1] == 'x' &&
	       is_hex_lower(s + 2, REC_ADDR_LEN - 2);
}

int rec_kv_ok(const char *s, size_t n, size_t maxlen)
{
	const char *eq = s ? memchr(s, '=', n) : NULL;
	return eq && eq != s && n <= maxlen && !memchr(s, '\0', n);
}

/* Every byte in [lo, 0x7e]. */
static int ascii_from(const char *s, size_t n, char lo)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < lo || s[i] > '~')
			return 0;
	return 1;
}

int rec_label_ok(const char *s, size_t n)
{
	return rec_kv_ok(s, n, REC_MAX_LABEL_LEN) && ascii_from(s, n, ' ');
}

int rec_endpoint_ok(const char *s, size_t n)
{
	return s && n > 0 && n <= REC_MAX_ENDPOINT && ascii_from(s, n, '!');
}

int rec_env_ok(const char *e)
{
	const char *eq = strchr(e, '=');
	if (!eq || eq == e || (e[0] >= '0' && e[0] <= '9'))
		return 0;
	for (const char *p = e; p < eq; p++)
		if (!is_alnum(*p) && *p != '_')
			return 0;
	return 1;
}

int rec_volume_parse(const char *s, size_t n, struct rec_volume *out, char *err, size_t errlen)
{
	static const char want[] = "must be NAME:/path[:ro], NAME [a-z0-9][a-z0-9_-]{0,31}";
	if (!s || n > REC_MAX_VOLUME_LEN)
		return errf(err, errlen, "volume is longer than %d bytes", REC_MAX_VOLUME_LEN);
	size_t k = 0;
	for (; k < n && k <= REC_MAX_VOLUME_NAME && s[k] != ':'; k++)
		if (!(is_lower_alnum(s[k]) || (k > 0 && (s[k] == '-' || s[k] == '_'))))
			return errf(err, errlen, "volume %s", want);
	if (k == 0 || k > REC_MAX_VOLUME_NAME || k + 1 >= n || s[k] != ':' || s[k + 1] != '/')
		return errf(err, errlen, "volume %s", want);
	size_t end = n;
	int ro = 0;
	if (end - k > 4 && memcmp(s + end - 3, ":ro", 3) == 0) {
		end -= 3;
		ro = 1;
	}
	if (end - k < 3)
		return errf(err, errlen, "volume path must be \"/\" and more");
	for (size_t j = k + 1; j < end; j++)
		if (s[j] < '!' || s[j] > '~' || s[j] == ':')
			return errf(err, errlen, "volume path must be printable ASCII without spaces or ':'");
	if (out) {
		memcpy(out->name, s, k);
		out->name[k] = '\0';
		memcpy(out->path, s + k + 1, end - k - 1);
		out->path[end - k - 1] = '\0';
		out->read_only = ro;
	}
	return 0;
}

int rec_volume_path_check(const char *path, char *err, size_t errlen)
{
	size_t n = strlen(path);
	if (n < 2 || path[0] != '/' || path[n - 1] == '/')
		return errf(err, errlen, "volume path %s must be absolute, not \"/\", and not end in \"/\"", path);
	for (const char *c = path + 1;;) {
		const char *e = strchr(c, '/');
		size_t cl = e ? (size_t)(e - c) : strlen(c);
		if (cl == 0 || (cl == 1 && c[0] == '.') || (cl == 2 && c[0] == '.' && c[1] == '.'))
			return errf(err, errlen, "volume path %s has an empty, \".\" or \"..\" component", path);
		if (!e)
			return 0;
		c = e + 1;
	}
}

/* path-component: [a-z0-9]+ ( (\.|_|__|-+) [a-z0-9]+ )* */
static int path_component_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return 0;
	while (i < n) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		int dashes = 1;
		for (; j < n && !is_lower_alnum(s[j]); j++)
			if (s[j] != '-')
				dashes = 0;
		size_t seplen = j - i;
		if (!(dashes || (seplen == 1 && (s[i] == '.' || s[i] == '_')) ||
		      (seplen == 2 && s[i] == '_' && s[i + 1] == '_')))
			return 0;
		i = j;
	}
	return 1;
}

/* domain: label(.label)*(:port)?, label = alnum([alnum-]*alnum)? */
static int domain_ok(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t hn = colon ? (size_t)(colon - s) : n;
	if (colon) {
		size_t pn = n - hn - 1;
		if (pn == 0 || pn > 5)
			return 0;
		for (size_t i = hn + 1; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return 0;
	}
	if (hn == 0)
		return 0;
	size_t start = 0;
	for (size_t i = 0; i <= hn; i++) {
		if (i < hn && s[i] != '.')
			continue;
		if (i == start || !is_alnum(s[start]) || !is_alnum(s[i - 1]))
			return 0;
		for (size_t k = start; k < i; k++)
			if (!is_alnum(s[k]) && s[k] != '-')
				return 0;
		start = i + 1;
	}
	return 1;
}

static int tag_ok(const char *s, size_t n)
{
	if (n == 0 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!(is_alnum(c) || c == '_' || (i > 0 && (c == '.' || c == '-'))))
			return 0;
	}
	return 1;
}

static int digest_ok(const char *s)
{
	return strncmp(s, "sha256:", 7) == 0 && strlen(s + 7) == 64 && is_hex_lower(s + 7, 64);
}

int rec_image_parts(const char *ref, size_t *namelen, const char **tag, size_t *taglen,
                    const char **digest)
{
	size_t n = ref ? strlen(ref) : 0;
	if (n == 0 || n > REC_RUN_IMAGE_MAX)
		return -1;
	const char *at = strchr(ref, '@');
	size_t nt = at ? (size_t)(at - ref) : n; /* name[:tag] */
	*digest = at ? at + 1 : NULL;
	if (*digest && !digest_ok(*digest))
		return -1;
	const char *slash = NULL, *colon = NULL;
	for (size_t i = 0; i < nt; i++) {
		if (ref[i] == '/')
			slash = ref + i;
		else if (ref[i] == ':')
			colon = ref + i;
	}
	*tag = NULL;
	*taglen = 0;
	*namelen = nt;
	if (colon && (!slash || colon > slash)) {
		*namelen = (size_t)(colon - ref);
		*tag = colon + 1;
		*taglen = nt - *namelen - 1;
		if (!tag_ok(*tag, *taglen))
			return -1;
	}
	if (*namelen == 0)
		return -1;
	size_t start = 0;
	for (size_t i = 0; i <= *namelen; i++) {
		if (i < *namelen && ref[i] != '/')
			continue;
		const char *c = ref + start;
		size_t cl = i - start;
		int more = i < *namelen, first = start == 0;
		/* The first of several components is a registry host when it looks like one. */
		int is_domain = first && more &&
		                (memchr(c, '.', cl) || memchr(c, ':', cl) ||
		                 (cl == 9 && memcmp(c, "localhost", 9) == 0));
		for (size_t k = 0; k < cl && first && more && !is_domain; k++)
			if (c[k] >= 'A' && c[k] <= 'Z')
				is_domain = 1;
		if (is_domain ? !domain_ok(c, cl) : !path_component_ok(c, cl))
			return -1;
		start = i + 1;
	}
	return 0;
}

int rec_image_check(const char *ref, size_t n, char *err, size_t errlen)
{
	size_t nl, tl;
	const char *tag, *digest;
	if (!ref || n == 0)
		return errf(err, errlen, "image reference is empty");
	if (n > REC_RUN_IMAGE_MAX)
		return errf(err, errlen, "image reference longer than %d bytes", REC_RUN_IMAGE_MAX);
	if (strlen(ref) != n || rec_image_parts(ref, &nl, &tag, &tl, &digest) < 0)
		return errf(err, errlen, "image reference is not [host[:port]/]path[:tag][@sha256:digest]");
	return 0;
}

/* ---- JSON fields ---- */

/* A string member without NUL bytes (*n its length), or NULL. */
static const char *str_of(const json_t *v, size_t *n)
{
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	*n = json_string_length(v);
	return json_string_value(v);
}

/* Integer member in [lo, hi]; absent is fine unless required. */
static int int_field(const json_t *o, const char *key, json_int_t lo, json_int_t hi, int required,
                     char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v && !required)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return errf(err, errlen, "\"%s\" must be a whole number from %lld to %lld", key,
		            (long long)lo, (long long)hi);
	return 0;
}

static int bool_field(const json_t *o, const char *key, int required, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if ((!v && required) || (v && !json_is_boolean(v)))
		return errf(err, errlen, "\"%s\" must be true or false", key);
	return 0;
}

/* An array of at most max strings of at most maxlen bytes; "k=v" items when kv. */
static int items_check(const json_t *o, const char *key, size_t max, size_t maxlen, int kv,
                       char *err, size_t errlen)
{
	json_t *a = json_object_get(o, key), *v;
	size_t i, n;
	if (!a)
		return 0;
	if (!json_is_array(a))
		return errf(err, errlen, "\"%s\" must be an array of strings", key);
	if (json_array_size(a) > max)
		return errf(err, errlen, "\"%s\" has %zu items, more than %zu", key, json_array_size(a), max);
	json_array_foreach(a, i, v) {
		const char *s = str_of(v, &n);
		if (!s)
			return errf(err, errlen, "%s[%zu] is not a string without NUL bytes", key, i);
		if (n > maxlen)
			return errf(err, errlen, "%s[%zu] is longer than %zu bytes", key, i, maxlen);
		if (kv && !rec_kv_ok(s, n, maxlen))
			return errf(err, errlen, "%s[%zu] is not KEY=VALUE", key, i);
	}
	return 0;
}

/* {"k":"v",...} labels or selector: each "k=v" within the contract's limits. */
static int labels_check(const json_t *o, const char *key, char *err, size_t errlen)
{
	json_t *l = json_object_get(o, key), *v;
	const char *k;
	size_t n;
	if (!l || json_is_null(l))
		return 0;
	if (!json_is_object(l) || json_object_size(l) > REC_MAX_LABELS)
		return errf(err, errlen, "\"%s\" must be an object of at most %d strings", key,
		            REC_MAX_LABELS);
	json_object_foreach(l, k, v) {
		const char *s = str_of(v, &n);
		size_t kl = strlen(k);
		if (!*k || strchr(k, '=') || !s || kl + 1 + n > REC_MAX_LABEL_LEN ||
		    !ascii_from(k, kl, ' ') || !ascii_from(s, n, ' '))
			return errf(err, errlen, "\"%s\": each entry must be KEY=VALUE of at most %d "
			            "printable ASCII bytes", key, REC_MAX_LABEL_LEN);
	}
	return 0;
}

static int ports_check(const json_t *o, char *err, size_t errlen)
{
	json_t *a = json_object_get(o, "ports"), *p;
	size_t i;
	int proto;
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > REC_MAX_PORTS)
		return errf(err, errlen, "\"ports\" must be an array of at most %d mappings", REC_MAX_PORTS);
	json_array_foreach(a, i, p) {
		if (!json_is_object(p))
			return errf(err, errlen, "ports[%zu] is not an object", i);
		if (int_field(p, "host", 1, 65535, 1, err, errlen) < 0 ||
		    int_field(p, "container", 1, 65535, 1, err, errlen) < 0)
			return -1;
		json_t *pr = json_object_get(p, "proto");
		if (pr && rec_proto_parse(json_string_value(pr), &proto) < 0)
			return errf(err, errlen, "ports[%zu]: proto must be \"tcp\" or \"udp\"", i);
	}
	return 0;
}

/* Every key of o is one of keys (NULL-terminated). */
static int keys_known(const json_t *o, const char *what, const char *const *keys, char *err,
                      size_t errlen)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v) {
		size_t i = 0;
		while (keys[i] && strcmp(keys[i], k) != 0)
			i++;
		if (!keys[i])
			return errf(err, errlen, "\"%s\" has an unknown key \"%.32s\"", what, k);
	}
	return 0;
}

static int health_check(const json_t *s, char *err, size_t errlen)
{
	static const char *const keys[] = {"cmd", "interval_ms", "timeout_ms", "start_period_ms",
	                                   "retries", "disabled", NULL};
	json_t *h = json_object_get(s, "health");
	if (!h)
		return 0;
	if (!json_is_object(h))
		return errf(err, errlen, "\"health\" must be an object");
	if (keys_known(h, "health", keys, err, errlen) < 0 ||
	    items_check(h, "cmd", REC_MAX_ITEMS, REC_MAX_ITEM_LEN, 0, err, errlen) < 0 ||
	    int_field(h, "interval_ms", 0, REC_U32_MAX, 0, err, errlen) < 0 ||
	    int_field(h, "timeout_ms", 0, REC_U32_MAX, 0, err, errlen) < 0 ||
	    int_field(h, "start_period_ms", 0, REC_U32_MAX, 0, err, errlen) < 0 ||
	    int_field(h, "retries", 0, REC_U8_MAX, 0, err, errlen) < 0 ||
	    bool_field(h, "disabled", 0, err, errlen) < 0)
		return -1;
	if (json_is_true(json_object_get(h, "disabled")) && json_array_size(json_object_get(h, "cmd")))
		return errf(err, errlen, "a health check cannot be disabled and have a command");
	return 0;
}

static int update_check(const json_t *s, char *err, size_t errlen)
{
	static const char *const keys[] = {"parallelism", "delay_ms", "failure_action",
	                                   "max_failure_permille", NULL};
	json_t *u = json_object_get(s, "update"), *fa;
	int k;
	if (!u)
		return 0;
	if (!json_is_object(u))
		return errf(err, errlen, "\"update\" must be an object");
	if (keys_known(u, "update", keys, err, errlen) < 0 ||
	    int_field(u, "parallelism", 0, REC_U16_MAX, 0, err, errlen) < 0 ||
	    int_field(u, "delay_ms", 0, REC_U32_MAX, 0, err, errlen) < 0 ||
	    int_field(u, "max_failure_permille", 0, REC_MAX_PERMILLE, 0, err, errlen) < 0)
		return -1;
	if ((fa = json_object_get(u, "failure_action")) && rec_failure_parse(json_string_value(fa), &k) < 0)
		return errf(err, errlen, "update failure_action must be pause or rollback");
	return 0;
}

/* "volumes": the contract's grammar, at most REC_MAX_VOLUMES, no path twice. */
static int volumes_check(const json_t *s, char *err, size_t errlen)
{
	json_t *a = json_object_get(s, "volumes"), *v;
	size_t i, n;
	struct rec_volume vol[REC_MAX_VOLUMES];
	if (!a)
		return 0;
	if (!json_is_array(a))
		return errf(err, errlen, "\"volumes\" must be an array of strings");
	if (json_array_size(a) > REC_MAX_VOLUMES)
		return errf(err, errlen, "\"volumes\" has %zu items, more than %d", json_array_size(a),
		            REC_MAX_VOLUMES);
	json_array_foreach(a, i, v) {
		char why[160];
		const char *str = str_of(v, &n);
		if (!str)
			return errf(err, errlen, "volumes[%zu] is not a string without NUL bytes", i);
		if (rec_volume_parse(str, n, &vol[i], why, sizeof why) < 0)
			return errf(err, errlen, "volumes[%zu]: %s", i, why);
		for (size_t k = 0; k < i; k++)
			if (strcmp(vol[k].path, vol[i].path) == 0)
				return errf(err, errlen, "volumes[%zu]: path %s is mounted twice", i, vol[i].path);
	}
	return 0;
}

/* Version 5's options within the contract's rules. */
static int options_check(const json_t *s, char *err, size_t errlen)
{
	if (health_check(s, err, errlen) < 0 || update_check(s, err, errlen) < 0 ||
	    volumes_check(s, err, errlen) < 0 || bool_field(s, "stateful", 0, err, errlen) < 0 ||
	    int_field(s, "failover_after_s", 0, REC_U32_MAX, 0, err, errlen) < 0 ||
	    bool_field(s, "read_only", 0, err, errlen) < 0)
		return -1;
	return 0;
}

int rec_node_check(const json_t *n, char *err, size_t errlen)
{
	size_t len;
	if (!json_is_object(n))
		return errf(err, errlen, "node is not an object");
	if (!rec_address_ok(json_string_value(json_object_get(n, "address"))))
		return errf(err, errlen, "node address must be 0x and 40 lowercase hex digits");
	json_t *ep = json_object_get(n, "endpoint"), *pk = json_object_get(n, "swim_pubkey");
	const char *eps = ep ? str_of(ep, &len) : NULL;
	if (ep && !rec_endpoint_ok(eps, eps ? len : 0))
		return errf(err, errlen, "\"endpoint\" must be 1 to %d printable ASCII bytes without "
		            "spaces", REC_MAX_ENDPOINT);
	if (pk && (!str_of(pk, &len) || len != 64 || !is_hex_lower(json_string_value(pk), 64)))
		return errf(err, errlen, "\"swim_pubkey\" must be 64 lowercase hex digits");
	if (int_field(n, "cpu_millis", 0, REC_U32_MAX, 1, err, errlen) < 0 ||
	    int_field(n, "mem_mib", 0, REC_U32_MAX, 1, err, errlen) < 0 ||
	    labels_check(n, "labels", err, errlen) < 0 || bool_field(n, "active", 1, err, errlen) < 0 ||
	    int_field(n, "activation", 0, REC_MAX_GENERATION, 0, err, errlen) < 0)
		return -1;
	return 0;
}

int rec_service_check(const json_t *s, char *err, size_t errlen)
{
	char why[200];
	size_t n;
	if (!json_is_object(s))
		return errf(err, errlen, "service is not an object");
	const char *name = str_of(json_object_get(s, "name"), &n);
	if (rec_name_check(name, name ? n : 0, err, errlen) < 0)
		return -1;
	const char *image = str_of(json_object_get(s, "image"), &n);
	json_t *st = json_object_get(s, "strategy");
	int k;
	if (!image || n == 0 || n > REC_MAX_IMAGE)
		return errf(err, errlen, "service %s: image must be 1 to %d bytes", name, REC_MAX_IMAGE);
	if (st && rec_strategy_parse(json_string_value(st), &k) < 0)
		return errf(err, errlen, "service %s: strategy must be spread, roundrobin or binpack", name);
	if (int_field(s, "replicas", 1, REC_U32_MAX, 1, why, sizeof why) < 0 ||
	    int_field(s, "cpu_millis", 0, REC_U32_MAX, 0, why, sizeof why) < 0 ||
	    int_field(s, "mem_mib", 0, REC_U32_MAX, 0, why, sizeof why) < 0 ||
	    int_field(s, "priority", REC_I32_MIN, REC_I32_MAX, 0, why, sizeof why) < 0 ||
	    int_field(s, "generation", 0, REC_MAX_GENERATION, 0, why, sizeof why) < 0 ||
	    bool_field(s, "exclusive", 0, why, sizeof why) < 0 ||
	    items_check(s, "command", REC_MAX_ITEMS, REC_MAX_ITEM_LEN, 0, why, sizeof why) < 0 ||
	    items_check(s, "env", REC_MAX_ITEMS, REC_MAX_ITEM_LEN, 1, why, sizeof why) < 0 ||
	    ports_check(s, why, sizeof why) < 0 || labels_check(s, "selector", why, sizeof why) < 0 ||
	    options_check(s, why, sizeof why) < 0)
		return errf(err, errlen, "service %s: %s", name, why);
	return 0;
}

/* Two mappings of one protocol on one host port, or one container port. */
static int ports_run_check(const json_t *a, char *err, size_t errlen)
{
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *p = json_array_get(a, i);
		const char *pp = json_string_value(json_object_get(p, "proto"));
		for (size_t k = 0; k < i; k++) {
			json_t *q = json_array_get(a, k);
			const char *qp = json_string_value(json_object_get(q, "proto"));
			if (strcmp(pp ? pp : "tcp", qp ? qp : "tcp") != 0)
				continue;
			if (json_equal(json_object_get(p, "host"), json_object_get(q, "host")))
				return errf(err, errlen, "host port %lld/%s is mapped twice",
				            json_integer_value(json_object_get(p, "host")), pp ? pp : "tcp");
			if (json_equal(json_object_get(p, "container"), json_object_get(q, "container")))
				return errf(err, errlen, "container port %lld/%s is mapped twice",
				            json_integer_value(json_object_get(p, "container")), pp ? pp : "tcp");
		}
	}
	return 0;
}

/* What Docker can run of health, volumes and read_only (the contract's rules first). */
static int options_run_check(const json_t *o, char *err, size_t errlen)
{
	if (health_check(o, err, errlen) < 0 || volumes_check(o, err, errlen) < 0 ||
	    bool_field(o, "read_only", 0, err, errlen) < 0)
		return -1;
	json_t *cmd = json_object_get(json_object_get(o, "health"), "cmd"), *v;
	size_t i, n = json_array_size(cmd);
	const char *first = json_string_value(json_array_get(cmd, 0));
	if (n > 0 && strcmp(first, "CMD-SHELL") == 0) {
		if (n != 2 || json_string_length(json_array_get(cmd, 1)) == 0)
			return errf(err, errlen, "a CMD-SHELL health check is one non-empty shell command");
	} else if (n > 0 && !*first) {
		return errf(err, errlen, "the health check's program is empty");
	}
	json_array_foreach(json_object_get(o, "volumes"), i, v) {
		struct rec_volume vol;
		rec_volume_parse(json_string_value(v), json_string_length(v), &vol, NULL, 0);
		if (rec_volume_path_check(vol.path, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int rec_run_check(const json_t *o, char *err, size_t errlen)
{
	size_t n, i;
	json_t *v;
	const char *image = str_of(json_object_get(o, "image"), &n);
	if (rec_image_check(image, image ? n : 0, err, errlen) < 0)
		return -1;
	if (items_check(o, "command", REC_MAX_ITEMS, REC_MAX_ITEM_LEN, 0, err, errlen) < 0 ||
	    items_check(o, "env", REC_MAX_ITEMS, REC_MAX_ITEM_LEN, 1, err, errlen) < 0)
		return -1;
	json_array_foreach(json_object_get(o, "env"), i, v)
		if (!rec_env_ok(json_string_value(v)))
			return errf(err, errlen, "env[%zu]: the name is not [A-Za-z_][A-Za-z0-9_]*", i);
	json_int_t cpu = json_integer_value(json_object_get(o, "cpu_millis"));
	json_int_t mem = json_integer_value(json_object_get(o, "mem_mib"));
	if (int_field(o, "cpu_millis", 0, REC_U32_MAX, 0, err, errlen) < 0 ||
	    int_field(o, "mem_mib", 0, REC_U32_MAX, 0, err, errlen) < 0)
		return -1;
	if (cpu > REC_RUN_CPU_MILLIS_MAX)
		return errf(err, errlen, "cpu %lldm is more than %d CPUs", (long long)cpu,
		            REC_RUN_CPU_MILLIS_MAX / 1000);
	if (mem != 0 && mem < REC_RUN_MEM_MIB_MIN)
		return errf(err, errlen, "memory %lld MiB is below Docker's minimum of %d MiB",
		            (long long)mem, REC_RUN_MEM_MIB_MIN);
	if (ports_check(o, err, errlen) < 0 || ports_run_check(json_object_get(o, "ports"), err, errlen) < 0)
		return -1;
	return options_run_check(o, err, errlen);
}

int rec_replicas_check(long long n, char *err, size_t errlen)
{
	if (n > REC_RUN_REPLICAS_MAX)
		return errf(err, errlen, "%lld replicas, more than %d", n, REC_RUN_REPLICAS_MAX);
	return 0;
}

int rec_service_runnable(const json_t *svc, char *err, size_t errlen)
{
	if (rec_replicas_check(json_integer_value(json_object_get(svc, "replicas")), err, errlen) < 0)
		return -1;
	return rec_run_check(svc, err, errlen);
}

/* ---- the ABI decoder ---- */

/* A string value as JSON: valid UTF-8 without NUL; NULL otherwise. */
static json_t *abi_str_json(const struct abi_value *v)
{
	if (v->kind != ABI_STRING || memchr(abi_get_str(v), '\0', v->len))
		return NULL;
	return json_stringn(abi_get_str(v), v->len);
}

static json_t *abi_str_list(const struct abi_value *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < v->n; i++) {
		json_t *s = abi_str_json(v->items[i]);
		if (!s || json_array_append_new(a, s) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* ["k=v", ...] into {"k":"v"} (a later key wins, as it would in a map); NULL if an item
 * is not k=v. */
static json_t *abi_kv_object(const struct abi_value *v)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < v->n; i++) {
		const struct abi_value *it = v->items[i];
		const char *s = abi_get_str(it);
		char key[REC_MAX_LABEL_LEN + 1];
		if (!rec_label_ok(s, it->len))
			goto bad;
		size_t kl = (size_t)((const char *)memchr(s, '=', it->len) - s);
		memcpy(key, s, kl);
		key[kl] = '\0';
		json_t *val = json_stringn(s + kl + 1, it->len - kl - 1);
		if (!val || json_object_set_new(o, key, val) < 0)
			goto bad;
	}
	return o;
bad:
	json_decref(o);
	return NULL;
}

/* A uint word as JSON; NULL if above max. */
static json_t *abi_uint_json(const struct abi_value *v, uint64_t max)
{
	int overflow;
	uint64_t x = abi_get_u64(v, &overflow);
	return overflow || x > max ? NULL : json_integer((json_int_t)x);
}

static json_t *abi_ports(const struct abi_value *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < v->n; i++) {
		const struct abi_value *p = v->items[i];
		int overflow;
		const char *proto = rec_proto_name((long)abi_get_u64(p->items[2], &overflow));
		json_t *h = abi_uint_json(p->items[0], 65535), *c = abi_uint_json(p->items[1], 65535);
		json_t *port = h && c && proto ? json_pack("{s:o, s:o, s:s}", "host", h, "container", c,
		                                           "proto", proto)
		                               : NULL;
		if (!port) {
			json_decref(h);
			json_decref(c);
		}
		if (!port || json_array_append_new(a, port) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Build an object from keys and values (values stolen; any NULL value: NULL). */
static json_t *object_of(const char *const *keys, json_t **vals, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++)
		if (!o || !vals[i] || json_object_set_new(o, keys[i], vals[i]) < 0) {
			for (size_t k = i; k < n; k++)
				json_decref(vals[k]);
			json_decref(o);
			return NULL;
		}
	return o;
}

json_t *rec_node_from_abi(const struct abi_value *t, char *err, size_t errlen)
{
	static const char *const keys[] = {"address", "endpoint", "swim_pubkey", "cpu_millis",
	                                   "mem_mib", "labels", "active", "activation"};
	char addr[43], pub[67];
	if (t->kind != ABI_TUPLE || t->n != 8) {
		errf(err, errlen, "node record has the wrong shape");
		return NULL;
	}
	eth_addr_format(t->items[0]->word + 12, addr);
	eth_hex_encode(t->items[2]->word, 32, pub, sizeof pub);
	json_t *vals[] = {json_string(addr), abi_str_json(t->items[1]), json_string(pub + 2),
	                  abi_uint_json(t->items[3], UINT32_MAX), abi_uint_json(t->items[4], UINT32_MAX),
	                  abi_kv_object(t->items[5]), json_boolean(t->items[6]->word[31] != 0),
	                  abi_uint_json(t->items[7], REC_MAX_GENERATION)};
	json_t *o = object_of(keys, vals, 8);
	char why[200];
	if (!o || rec_node_check(o, why, sizeof why) < 0) {
		errf(err, errlen, "node %s: %s", addr, o ? why : "malformed endpoint or labels, or activation past 2^53");
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Set key to v (stolen) in o unless v is NULL (then *bad); a default (0, false, empty)
 * is left out, so that a record without options and one with every option at its
 * default are the same object. */
static void set_unless_default(json_t *o, const char *key, json_t *v, int *bad)
{
	if (!v) {
		*bad = 1;
		return;
	}
	if ((json_is_integer(v) && json_integer_value(v) == 0) || json_is_false(v) ||
	    (json_is_array(v) && json_array_size(v) == 0) || (json_is_object(v) && json_object_size(v) == 0) ||
	    (json_is_string(v) && strcmp(json_string_value(v), "pause") == 0)) {
		json_decref(v);
		return;
	}
	if (json_object_set_new(o, key, v) < 0)
		*bad = 1;
}

static json_t *abi_bool_json(const struct abi_value *v)
{
	int overflow;
	uint64_t x = abi_get_u64(v, &overflow);
	return overflow || x > 1 ? NULL : json_boolean(x);
}

/* The Options tuple (version 5) into svc's keys. 0, or -1 when a word is out of range. */
static int options_of(const struct abi_value *opt, json_t *svc)
{
	int bad = 0, overflow;
	struct abi_value *const *it = opt->items;
	json_t *h = json_object(), *u = json_object();
	if (opt->kind != ABI_TUPLE || opt->n != 14 || !h || !u) {
		json_decref(h);
		json_decref(u);
		return -1;
	}
	set_unless_default(h, "cmd", abi_str_list(it[0]), &bad);
	set_unless_default(h, "interval_ms", abi_uint_json(it[1], UINT32_MAX), &bad);
	set_unless_default(h, "timeout_ms", abi_uint_json(it[2], UINT32_MAX), &bad);
	set_unless_default(h, "start_period_ms", abi_uint_json(it[3], UINT32_MAX), &bad);
	set_unless_default(h, "retries", abi_uint_json(it[4], UINT8_MAX), &bad);
	set_unless_default(h, "disabled", abi_bool_json(it[5]), &bad);
	set_unless_default(u, "parallelism", abi_uint_json(it[6], UINT16_MAX), &bad);
	set_unless_default(u, "delay_ms", abi_uint_json(it[7], UINT32_MAX), &bad);
	uint64_t fa = abi_get_u64(it[8], &overflow);
	const char *fname = overflow ? NULL : rec_failure_name((long)(fa > 255 ? 255 : fa));
	set_unless_default(u, "failure_action", fname ? json_string(fname) : NULL, &bad);
	set_unless_default(u, "max_failure_permille", abi_uint_json(it[9], UINT16_MAX), &bad);
	set_unless_default(svc, "health", h, &bad);
	set_unless_default(svc, "update", u, &bad);
	set_unless_default(svc, "volumes", abi_str_list(it[10]), &bad);
	set_unless_default(svc, "stateful", abi_bool_json(it[11]), &bad);
	set_unless_default(svc, "failover_after_s", abi_uint_json(it[12], UINT32_MAX), &bad);
	set_unless_default(svc, "read_only", abi_bool_json(it[13]), &bad);
	return bad ? -1 : 0;
}

int rec_options_record(const json_t *opt, json_t *svc, char *err, size_t errlen)
{
	static const char *const names[14] = {
		"healthCmd", "healthIntervalMs", "healthTimeoutMs", "healthStartPeriodMs",
		"healthRetries", "noHealthcheck", "updateParallelism", "updateDelayMs",
		"updateFailureAction", "updateMaxFailurePermille", "volumes", "stateful",
		"failoverAfterS", "readOnly"};
	static const char *const hkeys[] = {"cmd", "interval_ms", "timeout_ms", "start_period_ms",
	                                    "retries", "disabled"};
	static const char *const ukeys[] = {"parallelism", "delay_ms", "failure_action",
	                                    "max_failure_permille"};
	static const char *const skeys[] = {"volumes", "stateful", "failover_after_s", "read_only"};
	int bad = 0;
	json_t *h = json_object(), *u = json_object();
	if (!json_is_object(opt) || json_object_size(opt) != 14 || !h || !u)
		bad = 1;
	for (size_t i = 0; !bad && i < 14; i++) {
		json_t *v = json_object_get(opt, names[i]);
		if (!v) {
			bad = 1;
			break;
		}
		if (i == 8) { /* the failure action by name */
			const char *fa = json_is_integer(v) ? rec_failure_name((long)json_integer_value(v)) : NULL;
			v = fa ? json_string(fa) : NULL;
		} else {
			v = json_deep_copy(v);
		}
		set_unless_default(i < 6 ? h : i < 10 ? u : svc,
		                   i < 6 ? hkeys[i] : i < 10 ? ukeys[i - 6] : skeys[i - 10], v, &bad);
	}
	if (!bad) {
		set_unless_default(svc, "health", h, &bad);
		set_unless_default(svc, "update", u, &bad);
	} else {
		json_decref(h);
		json_decref(u);
	}
	return bad ? errf(err, errlen, "service options are not the contract's Options") : 0;
}

/* A ServiceSpec tuple (12 items, and Options at 12 when opts) and its generation into a
 * SERVICE. */
static json_t *service_of(const struct abi_value *t, json_t *gen, int opts, char *err,
                          size_t errlen)
{
	static const char *const keys[] = {"name", "image", "command", "env", "replicas",
	                                   "cpu_millis", "mem_mib", "ports", "priority", "strategy",
	                                   "exclusive", "selector", "generation"};
	const struct abi_value *name = t->items[0];
	if (name->kind != ABI_STRING || !rec_name_ok(abi_get_str(name), name->len)) {
		json_decref(gen);
		errf(err, errlen, "service record with an invalid name");
		return NULL;
	}
	int overflow;
	/* int32 arrives sign-extended to 256 bits: the low four bytes are the value. */
	const uint8_t *pw = t->items[8]->word + 28;
	int32_t prio = (int32_t)((uint32_t)pw[0] << 24 | (uint32_t)pw[1] << 16 | (uint32_t)pw[2] << 8 | pw[3]);
	const char *strategy = rec_strategy_name((long)abi_get_u64(t->items[9], &overflow));
	json_t *vals[] = {abi_str_json(name), abi_str_json(t->items[1]), abi_str_list(t->items[2]),
	                  abi_str_list(t->items[3]), abi_uint_json(t->items[4], UINT32_MAX),
	                  abi_uint_json(t->items[5], UINT32_MAX), abi_uint_json(t->items[6], UINT32_MAX),
	                  abi_ports(t->items[7]), json_integer(prio),
	                  strategy ? json_string(strategy) : NULL,
	                  json_boolean(t->items[10]->word[31] != 0), abi_kv_object(t->items[11]), gen};
	json_t *o = object_of(keys, vals, 13);
	char why[200];
	const struct abi_value *ol = opts ? t->items[12] : NULL;
	if (o && ol && ol->n > 1) {
		errf(err, errlen, "service %s: more than one options tuple", abi_get_str(name));
		json_decref(o);
		return NULL;
	}
	if (o && ol && ol->n == 1 && options_of(ol->items[0], o) < 0) {
		json_decref(o);
		o = NULL;
	}
	if (!o || rec_service_check(o, why, sizeof why) < 0) {
		if (o)
			errf(err, errlen, "%s", why);
		else
			errf(err, errlen, "service %s: malformed record", abi_get_str(name));
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *rec_service_from_abi(const struct abi_value *t, char *err, size_t errlen)
{
	if (t->kind != ABI_TUPLE || t->n != 13) {
		errf(err, errlen, "service record has the wrong shape");
		return NULL;
	}
	return service_of(t, abi_uint_json(t->items[12], REC_MAX_GENERATION), 0, err, errlen);
}

json_t *rec_service_from_spec(const struct abi_value *t, uint64_t generation, char *err,
                              size_t errlen)
{
	if (t->kind != ABI_TUPLE || t->n != 13) {
		errf(err, errlen, "service spec has the wrong shape");
		return NULL;
	}
	if (generation > (uint64_t)REC_MAX_GENERATION) {
		errf(err, errlen, "service generation out of range");
		return NULL;
	}
	return service_of(t, json_integer((json_int_t)generation), 1, err, errlen);
}

json_t *rec_decode_page(int services, const uint8_t *data, size_t len, size_t *raw,
                        size_t *skipped, char *err, size_t errlen)
{
	struct abi_value *v = NULL;
	char why[256];
	*raw = *skipped = 0;
	struct abi_type *t = abi_type_parse(services ? "(" REC_SERVICE_ABI "[])" : "(" REC_NODE_ABI "[])",
	                                    err, errlen);
	if (!t)
		return NULL;
	if (abi_decode(t, data, len, &v, err, errlen) < 0) {
		abi_type_free(t);
		return NULL;
	}
	const struct abi_value *list = v->items[0];
	json_t *out = json_array();
	*raw = list->n;
	/* Anyone may register a node, with any bytes in its strings: one malformed record
	 * is left out (as its log would be), it must not keep the whole state away. */
	for (size_t i = 0; out && i < list->n; i++) {
		json_t *rec = services ? rec_service_from_abi(list->items[i], why, sizeof why)
		                       : rec_node_from_abi(list->items[i], why, sizeof why);
		if (!rec) {
			if ((*skipped)++ == 0)
				errf(err, errlen, "%s", why);
			continue;
		}
		if (json_array_append_new(out, rec) < 0) {
			json_decref(out);
			out = NULL;
		}
	}
	abi_value_free(v);
	abi_type_free(t);
	if (!out)
		errf(err, errlen, "out of memory");
	return out;
}
