/* replstate.c: encode and strictly decode a server's replica-state summary (replstate.h). */
#include <stdio.h>
#include <stdlib.h>
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

/* The lines of rank r among the first total valid entries of v, while they fit. */
static void put_lines(const struct replstate_entry *v, size_t n, unsigned total, int r, int64_t base,
                      char *out, size_t cap, size_t *off, size_t *shown)
{
	for (size_t i = 0, counted = 0; i < n && counted < total; i++) {
		if ((unsigned)v[i].state >= RS_NSTATES)
			continue;
		counted++;
		if (rank(&v[i]) != r)
			continue;
		char line[REPLSTATE_REASON_MAX + 96];
		int k = line_of(&v[i], base, line, sizeof line);
		if (*shown >= REPLSTATE_ENTRIES_MAX || k < 0 || *off + (size_t)k > cap)
			continue; /* does not fit: the counts still tell */
		memcpy(out + *off, line, (size_t)k);
		*off += (size_t)k;
		(*shown)++;
	}
}

static unsigned long long gen_out(const struct replstate_entry *e)
{
	return e->generation > (uint64_t)REPLSTATE_GEN_MAX ? 0 : e->generation;
}

/* Group order: service, generation, rollback mark, health, replica. */
static int group_cmp(const void *a, const void *b)
{
	const struct replstate_entry *x = *(const struct replstate_entry *const *)a;
	const struct replstate_entry *y = *(const struct replstate_entry *const *)b;
	unsigned long long gx = gen_out(x), gy = gen_out(y);
	int rx = x->rolled_back && gx, ry = y->rolled_back && gy;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (gx != gy)
		return gx < gy ? -1 : 1;
	if (rx != ry)
		return rx - ry;
	if (x->health != y->health)
		return (int)x->health - (int)y->health;
	return x->replica < y->replica ? -1 : x->replica > y->replica;
}

static int same_group(const struct replstate_entry *x, const struct replstate_entry *y)
{
	return x->hash == y->hash && gen_out(x) == gen_out(y) &&
	       (x->rolled_back && gen_out(x)) == (y->rolled_back && gen_out(y)) && x->health == y->health;
}

/* The running entries (rank 4) as group lines, while they fit: at most REPLSTATE_GROUPED_MAX
 * replicas in all. */
static void put_groups(const struct replstate_entry *v, size_t n, unsigned total, char *out,
                       size_t cap, size_t *off)
{
	const struct replstate_entry **run = malloc((n ? n : 1) * sizeof *run);
	size_t nrun = 0, listed = 0;
	if (!run)
		return; /* the counts still tell */
	for (size_t i = 0, counted = 0; i < n && counted < total; i++) {
		if ((unsigned)v[i].state >= RS_NSTATES)
			continue;
		counted++;
		if (rank(&v[i]) == 4)
			run[nrun++] = &v[i];
	}
	qsort(run, nrun, sizeof *run, group_cmp);
	for (size_t i = 0; i < nrun && listed < REPLSTATE_GROUPED_MAX;) {
		const struct replstate_entry *e = run[i];
		char hc[2], line[REPLSTATE_MAX + 1];
		unsigned long long gen = gen_out(e);
		int k = snprintf(line, sizeof line, "\n=%08x %llu%s r%s ", (unsigned)e->hash, gen,
		                 e->rolled_back && gen ? "^" : "", health_code(e, hc));
		size_t len = (size_t)k, items = 0;
		size_t j = i;
		unsigned last = 0;
		while (j < nrun && same_group(run[j], e) && listed < REPLSTATE_GROUPED_MAX) {
			if (items && run[j]->replica <= last) { /* the same replica twice: once */
				j++;
				continue;
			}
			/* a run of consecutive indexes: a-b when 3 or more, as the limit allows */
			size_t t = j;
			while (t + 1 < nrun && same_group(run[t + 1], e) && run[t + 1]->replica == run[t]->replica + 1 &&
			       listed + (t + 1 - j) + 1 <= REPLSTATE_GROUPED_MAX)
				t++;
			if (run[j]->replica > REPLSTATE_REPLICA_MAX)
				break;
			char tok[32];
			int tk = t - j >= 2 ? snprintf(tok, sizeof tok, "%s%u-%u", items ? "," : "", run[j]->replica,
			                               run[t]->replica)
			                    : snprintf(tok, sizeof tok, "%s%u", items ? "," : "", run[j]->replica);
			if (t - j < 2)
				t = j;
			if (tk < 0 || *off + len + (size_t)tk > cap || (t - j >= 2 && run[t]->replica > REPLSTATE_REPLICA_MAX))
				break;
			memcpy(line + len, tok, (size_t)tk);
			len += (size_t)tk;
			items++;
			last = run[t]->replica;
			listed += t - j + 1;
			j = t + 1;
		}
		if (items) {
			memcpy(out + *off, line, len);
			*off += len;
		}
		/* the rest of this group did not fit: on to the next group */
		while (j < nrun && same_group(run[j], e))
			j++;
		i = j;
	}
	free(run);
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
	size_t off = (size_t)len, shown = 0;
	for (int r = 0; r <= 3; r++)
		put_lines(v, n, total, r, base, out, cap, &off, &shown);
	/* The running ones: a line each when they all fit, else grouped. */
	size_t need = 0, nrun = 0;
	for (size_t i = 0, counted = 0; i < n && counted < total; i++) {
		if ((unsigned)v[i].state >= RS_NSTATES)
			continue;
		counted++;
		if (rank(&v[i]) == 4) {
			char line[REPLSTATE_REASON_MAX + 96];
			int k = line_of(&v[i], base, line, sizeof line);
			need += k > 0 ? (size_t)k : 0;
			nrun++;
		}
	}
	if (off + need <= cap && shown + nrun <= REPLSTATE_ENTRIES_MAX)
		put_lines(v, n, total, 4, base, out, cap, &off, &shown);
	else
		put_groups(v, n, total, out, cap, &off);
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

/* 8 lowercase hex digits at *p into *h. */
static int hex8(const char **p, const char *end, uint32_t *h, char *err, size_t errlen)
{
	*h = 0;
	for (int i = 0; i < 8; i++, (*p)++) {
		int d = *p < end && **p >= '0' && **p <= '9' ? **p - '0'
		        : *p < end && **p >= 'a' && **p <= 'f' ? **p - 'a' + 10 : -1;
		if (d < 0)
			return errf(err, errlen, "a service hash is not 8 lowercase hex digits");
		*h = *h << 4 | (uint32_t)d;
	}
	return 0;
}

/* A generation and its rollback mark: " <gen>[^]". */
static int gen_mark(const char **p, const char *end, uint64_t *gen, int *rolled_back, char *err,
                    size_t errlen)
{
	if (field(p, end, (uint64_t)REPLSTATE_GEN_MAX, gen) < 0)
		return errf(err, errlen, "a generation is missing or over 2^53");
	*rolled_back = 0;
	if (*p < end && **p == '^') {
		if (*gen == 0)
			return errf(err, errlen, "a rollback of generation 0");
		*rolled_back = 1;
		(*p)++;
	}
	return 0;
}

/* Is (hash, replica) shown already? */
static int shown_twice(const struct replstate *rs, uint32_t hash, unsigned replica)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->e[i].hash == hash && rs->e[i].replica == replica)
			return 1;
	for (size_t i = 0; i < rs->ng; i++)
		if (rs->g[i].hash == hash && rs->g[i].replica == replica)
			return 1;
	return 0;
}

/* A group line after its '=': its replicas into rs->g. */
static int decode_group(const char *p, const char *end, struct replstate *rs, char *err,
                        size_t errlen)
{
	struct replstate_brief b = {0};
	uint64_t gen, a, z;
	int rb, any = 0;
	if (hex8(&p, end, &b.hash, err, errlen) < 0 || gen_mark(&p, end, &gen, &rb, err, errlen) < 0)
		return -1;
	b.generation = gen;
	b.rolled_back = (unsigned char)rb;
	if (end - p < 2 || p[0] != ' ' || p[1] != states[RS_RUNNING].code)
		return errf(err, errlen, "a group line of a state other than running");
	p += 2;
	for (int i = 1; p < end && *p != ' ' && i < RH_NHEALTH; i++)
		if (healths[i].code == *p) {
			if (i == RH_UNHEALTHY)
				return errf(err, errlen, "an unhealthy replica in a group line");
			b.health = (unsigned char)i;
			p++;
			break;
		}
	if (p >= end || *p != ' ')
		return errf(err, errlen, "a group line without replicas");
	p++;
	uint64_t prev = 0;
	for (;;) {
		if (num(&p, end, REPLSTATE_REPLICA_MAX, &a) < 0)
			return errf(err, errlen, "a replica of a group line is missing or over %d", REPLSTATE_REPLICA_MAX);
		z = a;
		if (p < end && *p == '-') {
			p++;
			if (num(&p, end, REPLSTATE_REPLICA_MAX, &z) < 0 || z <= a)
				return errf(err, errlen, "a range of a group line is not a-b with a < b");
		}
		if (any && a <= prev)
			return errf(err, errlen, "the replicas of a group line are not in increasing order");
		if (z - a + 1 > REPLSTATE_GROUPED_MAX - rs->ng)
			return errf(err, errlen, "more than %d replicas in group lines", REPLSTATE_GROUPED_MAX);
		for (uint64_t r = a; r <= z; r++) {
			if (shown_twice(rs, b.hash, (unsigned)r))
				return errf(err, errlen, "replica %u of service %08x listed twice", (unsigned)r,
				            (unsigned)b.hash);
			b.replica = (unsigned)r;
			rs->g[rs->ng++] = b;
		}
		prev = z;
		any = 1;
		if (p == end)
			return 0;
		if (*p != ',')
			return errf(err, errlen, "junk in a group line");
		p++;
	}
}

static int decode_line(const char *p, const char *end, int64_t base, int version,
                       struct replstate_entry *e, char *err, size_t errlen)
{
	uint64_t v;
	if (hex8(&p, end, &e->hash, err, errlen) < 0)
		return -1;
	if (field(&p, end, REPLSTATE_REPLICA_MAX, &v) < 0)
		return errf(err, errlen, "a replica index is missing or over %d", REPLSTATE_REPLICA_MAX);
	e->replica = (unsigned)v;
	e->generation = 0;
	e->rolled_back = 0;
	if (version >= 2 && gen_mark(&p, end, &e->generation, &e->rolled_back, err, errlen) < 0)
		return -1;
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
		if (version >= 2 && p < eol && *p == '=') {
			size_t before = rs->ng;
			if (decode_group(p + 1, eol, rs, err, errlen) < 0)
				return -1;
			seen[RSC_RUNNING] += (unsigned)(rs->ng - before);
			if (seen[RSC_RUNNING] > rs->counts[RSC_RUNNING])
				return errf(err, errlen, "more running replicas listed than counted");
			p = eol;
			continue;
		}
		if (rs->n >= REPLSTATE_ENTRIES_MAX)
			return errf(err, errlen, "more than %d replicas listed", REPLSTATE_ENTRIES_MAX);
		struct replstate_entry *e = &rs->e[rs->n];
		if (decode_line(p, eol, base, version, e, err, errlen) < 0)
			return -1;
		if (shown_twice(rs, e->hash, e->replica))
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

size_t replstate_len(const struct replstate *rs)
{
	return rs->n + rs->ng;
}

void replstate_at(const struct replstate *rs, size_t i, struct replstate_entry *out)
{
	if (i < rs->n) {
		*out = rs->e[i];
		return;
	}
	const struct replstate_brief *b = &rs->g[i - rs->n];
	memset(out, 0, sizeof *out);
	out->hash = b->hash;
	out->replica = b->replica;
	out->generation = b->generation;
	out->rolled_back = b->rolled_back;
	out->state = RS_RUNNING;
	out->health = (enum replstate_health)b->health;
	out->brief = 1;
}

int replstate_find(const struct replstate *rs, uint32_t hash, unsigned replica,
                   struct replstate_entry *out)
{
	for (size_t i = 0; i < replstate_len(rs); i++) {
		const int line = i < rs->n;
		uint32_t h = line ? rs->e[i].hash : rs->g[i - rs->n].hash;
		unsigned r = line ? rs->e[i].replica : rs->g[i - rs->n].replica;
		if (h == hash && r == replica) {
			replstate_at(rs, i, out);
			return 1;
		}
	}
	return 0;
}
