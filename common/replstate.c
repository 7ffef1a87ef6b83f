/* replstate.c: encode and strictly decode a server's replica-state summary (replstate.h). */
#include <stdio.h>
#include <string.h>

#include "errf.h"
#include "replstate.h"
#include "swim_wire.h"

_Static_assert(REPLSTATE_MAX == SWIM_META_MAX, "a summary fills SWIM's metadata");

static const struct {
	char code;
	const char *name;
	enum replstate_class class;
} states[RS_NSTATES] = {
	[RS_RUNNING] = {'r', "running", RSC_RUNNING},
	[RS_CREATED] = {'c', "created", RSC_STARTING},
	[RS_PENDING] = {'p', "pending", RSC_PENDING},
	[RS_RESTARTING] = {'R', "restarting", RSC_FAILING},
	[RS_CRASHLOOP] = {'L', "crashloop", RSC_FAILING},
	[RS_EXITED] = {'e', "exited", RSC_FAILING},
	[RS_DEAD] = {'d', "dead", RSC_FAILING},
	[RS_REMOVING] = {'x', "removing", RSC_OTHER},
	[RS_PAUSED] = {'z', "paused", RSC_OTHER},
};

static const struct {
	char code;
	const char *name;
} healths[RH_NHEALTH] = {
	[RH_NONE] = {0, ""},
	[RH_STARTING] = {'~', "starting"},
	[RH_HEALTHY] = {'+', "healthy"},
	[RH_UNHEALTHY] = {'!', "unhealthy"},
};

const char *replstate_health_name(enum replstate_health h)
{
	return (unsigned)h < RH_NHEALTH ? healths[h].name : NULL;
}

int replstate_health_of(const char *name)
{
	if (strcmp(name, "none") == 0)
		return RH_NONE;
	for (int i = 0; i < RH_NHEALTH; i++)
		if (strcmp(healths[i].name, name) == 0)
			return i;
	return -1;
}

uint32_t replstate_hash(const char *service)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)service; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

const char *replstate_state_name(enum replstate_state s)
{
	return (unsigned)s < RS_NSTATES ? states[s].name : NULL;
}

int replstate_state_of(const char *name)
{
	for (int i = 0; i < RS_NSTATES; i++)
		if (strcmp(states[i].name, name) == 0)
			return i;
	return -1;
}

enum replstate_class replstate_class_of(enum replstate_state s)
{
	return (unsigned)s < RS_NSTATES ? states[s].class : RSC_OTHER;
}

static int has_reason(enum replstate_state s)
{
	enum replstate_class c = replstate_class_of(s);
	return c == RSC_PENDING || c == RSC_FAILING;
}

/* Lines go out failing (and unhealthy) first, then pending, starting, other, running. */
static int rank(const struct replstate_entry *e)
{
	static const int by_class[] = {[RSC_FAILING] = 0, [RSC_PENDING] = 1, [RSC_STARTING] = 2,
	                               [RSC_OTHER] = 3, [RSC_RUNNING] = 4};
	if (e->state == RS_RUNNING && e->health == RH_UNHEALTHY)
		return 0;
	return by_class[replstate_class_of(e->state)];
}

/* The health code of e ("" unless running with a health check). */
static const char *health_code(const struct replstate_entry *e, char buf[2])
{
	buf[0] = e->state == RS_RUNNING && (unsigned)e->health < RH_NHEALTH ? healths[e->health].code : 0;
	buf[1] = '\0';
	return buf;
}

static int line_of(const struct replstate_entry *e, int64_t base, char *out, size_t outlen)
{
	char since[24] = "-", why[REPLSTATE_REASON_MAX + 2] = "";
	if (e->since > 0 && e->since <= REPLSTATE_SINCE_MAX && e->since >= base)
		snprintf(since, sizeof since, "%lld", (long long)(e->since - base));
	if (has_reason(e->state) && e->reason[0]) {
		size_t k = 0;
		why[k++] = ' ';
		for (const char *p = e->reason; *p && k < REPLSTATE_REASON_MAX + 1; p++)
			why[k++] = *p >= 0x20 && *p < 0x7f ? *p : '?';
		why[k] = '\0';
	}
	unsigned replica = e->replica > REPLSTATE_REPLICA_MAX ? REPLSTATE_REPLICA_MAX : e->replica;
	unsigned restarts = e->restarts > REPLSTATE_RESTARTS_MAX ? REPLSTATE_RESTARTS_MAX : e->restarts;
	char hc[2];
	unsigned long long gen = e->generation > (uint64_t)REPLSTATE_GEN_MAX ? 0 : e->generation;
	return snprintf(out, outlen, "\n%08x %u %llu%s %c%s %u %s%s", (unsigned)e->hash, replica, gen,
	                e->rolled_back && gen ? "^" : "", states[e->state].code, health_code(e, hc),
	                restarts, since, why);
}

size_t replstate_encode(const struct replstate_entry *v, size_t n, char *out, size_t outlen)
{
	unsigned counts[5] = {0}, total = 0;
	int64_t base = 0;
	if (outlen == 0)
		return 0;
	for (size_t i = 0; i < n && total < REPLSTATE_TOTAL_MAX; i++) {
		if ((unsigned)v[i].state >= RS_NSTATES)
			continue;
		counts[replstate_class_of(v[i].state)]++;
		total++;
		if (v[i].since > 0 && v[i].since <= REPLSTATE_SINCE_MAX && (!base || v[i].since < base))
			base = v[i].since;
	}
	size_t cap = outlen - 1 < REPLSTATE_MAX ? outlen - 1 : REPLSTATE_MAX;
	int len = snprintf(out, outlen, "R2 %lld %u %u %u %u %u", (long long)base, total,
	                   counts[RSC_RUNNING], counts[RSC_STARTING], counts[RSC_PENDING],
	                   counts[RSC_FAILING]);
	if (len < 0 || (size_t)len > cap) {
		out[0] = '\0';
		return 0;
	}
	size_t off = (size_t)len, shown = 0, counted = 0;
	for (int r = 0; r <= 4; r++)
		for (size_t i = 0; i < n && counted < total; i++) {
			if ((unsigned)v[i].state >= RS_NSTATES || rank(&v[i]) != r)
				continue;
			counted++;
			char line[REPLSTATE_REASON_MAX + 96];
			int k = line_of(&v[i], base, line, sizeof line);
			if (shown >= REPLSTATE_ENTRIES_MAX || k < 0 || off + (size_t)k > cap)
				continue; /* does not fit: the counts still tell */
			memcpy(out + off, line, (size_t)k);
			off += (size_t)k;
			shown++;
		}
	out[off] = '\0';
	return off;
}

/* A decimal number in [0, max] from *p up to the next space, newline or end; no sign, no
 * leading zero. */
static int num(const char **p, const char *end, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (s >= end || *s < '0' || *s > '9' || (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9'))
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return -1;
	}
	*p = s;
	*out = v;
	return 0;
}

/* A single space, then a number. */
static int field(const char **p, const char *end, uint64_t max, uint64_t *out)
{
	if (*p >= end || **p != ' ')
		return -1;
	(*p)++;
	return num(p, end, max, out);
}

static int decode_line(const char *p, const char *end, int64_t base, int version,
                       struct replstate_entry *e, char *err, size_t errlen)
{
	uint64_t v;
	e->hash = 0;
	for (int i = 0; i < 8; i++, p++) {
		int d = p < end && *p >= '0' && *p <= '9' ? *p - '0'
		        : p < end && *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
		if (d < 0)
			return errf(err, errlen, "a service hash is not 8 lowercase hex digits");
		e->hash = e->hash << 4 | (uint32_t)d;
	}
	if (field(&p, end, REPLSTATE_REPLICA_MAX, &v) < 0)
		return errf(err, errlen, "a replica index is missing or over %d", REPLSTATE_REPLICA_MAX);
	e->replica = (unsigned)v;
	e->generation = 0;
	if (version >= 2 && field(&p, end, (uint64_t)REPLSTATE_GEN_MAX, &e->generation) < 0)
		return errf(err, errlen, "a generation is missing or over 2^53");
	e->rolled_back = 0;
	if (version >= 2 && p < end && *p == '^') {
		if (e->generation == 0)
			return errf(err, errlen, "a rollback of generation 0");
		e->rolled_back = 1;
		p++;
	}
	if (end - p < 2 || p[0] != ' ')
		return errf(err, errlen, "a state is missing");
	int st = -1;
	for (int i = 0; i < RS_NSTATES; i++)
		if (states[i].code == p[1])
			st = i;
	if (st < 0)
		return errf(err, errlen, "unknown state code '%c'", p[1]);
	e->state = (enum replstate_state)st;
	e->health = RH_NONE;
	p += 2;
	for (int i = 1; p < end && *p != ' ' && i < RH_NHEALTH; i++)
		if (healths[i].code == *p) {
			if (e->state != RS_RUNNING)
				return errf(err, errlen, "a health on a %s replica", states[st].name);
			e->health = (enum replstate_health)i;
			p++;
			break;
		}
	if (field(&p, end, REPLSTATE_RESTARTS_MAX, &v) < 0)
		return errf(err, errlen, "a restart count is missing or over %u", REPLSTATE_RESTARTS_MAX);
	e->restarts = (unsigned)v;
	if (end - p >= 2 && p[0] == ' ' && p[1] == '-' && (end - p == 2 || p[2] == ' ')) {
		e->since = 0;
		p += 2;
	} else if (field(&p, end, (uint64_t)(REPLSTATE_SINCE_MAX - base), &v) < 0) {
		return errf(err, errlen, "a since offset is missing or too large");
	} else {
		e->since = base + (int64_t)v;
	}
	e->reason[0] = '\0';
	if (p == end)
		return 0;
	size_t rl = (size_t)(end - p) - 1;
	if (*p != ' ' || rl == 0)
		return errf(err, errlen, "junk after a replica's fields");
	if (!has_reason(e->state))
		return errf(err, errlen, "a reason on a %s replica", states[st].name);
	if (rl > REPLSTATE_REASON_MAX)
		return errf(err, errlen, "a reason over %d bytes", REPLSTATE_REASON_MAX);
	memcpy(e->reason, p + 1, rl);
	e->reason[rl] = '\0';
	return 0;
}

static int decode_head(const char **p, const char *end, int64_t *base, int *version,
                       struct replstate *rs, char *err, size_t errlen)
{
	uint64_t v, sum = 0;
	if (end - *p < 2 || (memcmp(*p, "R1", 2) != 0 && memcmp(*p, "R2", 2) != 0))
		return errf(err, errlen, "not a replica-state summary (no R1 or R2)");
	*version = (*p)[1] - '0';
	*p += 2;
	if (field(p, end, REPLSTATE_SINCE_MAX, &v) < 0)
		return errf(err, errlen, "the base time is missing or out of range");
	*base = (int64_t)v;
	if (field(p, end, REPLSTATE_TOTAL_MAX, &v) < 0)
		return errf(err, errlen, "the total is missing or over %d", REPLSTATE_TOTAL_MAX);
	rs->total = (unsigned)v;
	for (int c = 0; c < 4; c++) {
		if (field(p, end, REPLSTATE_TOTAL_MAX, &v) < 0)
			return errf(err, errlen, "a count is missing or over %d", REPLSTATE_TOTAL_MAX);
		rs->counts[c] = (unsigned)v;
		sum += v;
	}
	if (sum > rs->total)
		return errf(err, errlen, "the counts (%llu) add up to more than the total (%u)",
		            (unsigned long long)sum, rs->total);
	if (*p < end && **p != '\n')
		return errf(err, errlen, "junk after the counts");
	return 0;
}

int replstate_decode(const char *s, size_t len, struct replstate *rs, char *err, size_t errlen)
{
	const char *p = s, *end = s + len;
	int64_t base = 0;
	int version = 0;
	unsigned seen[5] = {0};
	if (len > REPLSTATE_MAX)
		return errf(err, errlen, "a summary of %zu bytes; the limit is %d", len, REPLSTATE_MAX);
	for (size_t i = 0; i < len; i++)
		if ((s[i] < 0x20 || s[i] >= 0x7f) && s[i] != '\n')
			return errf(err, errlen, "byte %zu is not printable ASCII", i);
	memset(rs, 0, sizeof *rs);
	if (decode_head(&p, end, &base, &version, rs, err, errlen) < 0)
		return -1;
	while (p < end) {
		p++; /* the newline */
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if (rs->n >= REPLSTATE_ENTRIES_MAX)
			return errf(err, errlen, "more than %d replicas listed", REPLSTATE_ENTRIES_MAX);
		struct replstate_entry *e = &rs->e[rs->n];
		if (decode_line(p, eol, base, version, e, err, errlen) < 0)
			return -1;
		for (size_t i = 0; i < rs->n; i++)
			if (rs->e[i].hash == e->hash && rs->e[i].replica == e->replica)
				return errf(err, errlen, "replica %u of service %08x listed twice", e->replica,
				            (unsigned)e->hash);
		enum replstate_class c = replstate_class_of(e->state);
		unsigned limit = c == RSC_OTHER ? rs->total - rs->counts[0] - rs->counts[1] -
		                                      rs->counts[2] - rs->counts[3]
		                                : rs->counts[c];
		if (++seen[c] > limit)
			return errf(err, errlen, "more %s replicas listed than counted",
			            states[e->state].name);
		rs->n++;
		p = eol;
	}
	return 0;
}
