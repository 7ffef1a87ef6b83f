/* swim_core.c: SWIM membership rules: alive/suspect/dead/left by incarnation, Lifeguard suspicion. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "swim_int.h"

uint64_t swim_rand(struct swim *s)
{
	/* xorshift64*: good enough to shuffle and sample; seeded by the caller. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1DULL;
}

int swim_is_self(const struct swim *s, const uint8_t addr[SWIM_ADDR_LEN])
{
	return memcmp(addr, s->self->addr, SWIM_ADDR_LEN) == 0;
}

static int live(int state) { return state == SWIM_ALIVE || state == SWIM_SUSPECT; }

size_t swim_live_count(const struct swim *s)
{
	size_t c = 0;
	for (size_t i = 0; i < s->n; i++)
		c += live(s->m[i]->state);
	return c;
}

size_t swim_known_count(const struct swim *s)
{
	size_t c = 0;
	for (size_t i = 0; i < s->n; i++)
		c += s->m[i]->state != SWIM_UNKNOWN;
	return c;
}

void swim_awareness(struct swim *s, int delta)
{
	int v = s->awareness + delta, max = (int)s->cfg.awareness_max - 1;
	s->awareness = v < 0 ? 0 : v > max ? max : v;
}

int swim_health(const struct swim *s) { return s->awareness; }
const struct swim_counters *swim_counters(const struct swim *s) { return &s->ctr; }

static uint64_t addr_key(const uint8_t addr[SWIM_ADDR_LEN])
{
	uint64_t k = 0;
	for (int i = 0; i < 8; i++)
		k = k << 8 | addr[i];
	return k;
}

/* Binary search; *pos is where addr is or would go. The keys order members as memcmp does
 * on their first 8 bytes; only an equal key needs the whole address. */
static struct swim_member *lookup(const struct swim *s, const uint8_t addr[SWIM_ADDR_LEN],
                                  size_t *pos)
{
	size_t lo = 0, hi = s->n;
	uint64_t k = addr_key(addr);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t mk = s->mkey[mid];
		int c = mk < k ? -1 : mk > k ? 1 : memcmp(s->m[mid]->addr, addr, SWIM_ADDR_LEN);
		if (c == 0) {
			if (pos)
				*pos = mid;
			return s->m[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return NULL;
}

struct swim_member *swim_find(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN])
{
	return lookup(s, addr, NULL);
}

size_t swim_count(const struct swim *s) { return s->n; }
struct swim_member *swim_at(struct swim *s, size_t i) { return i < s->n ? s->m[i] : NULL; }
const struct swim_member *swim_self(const struct swim *s) { return s->self; }

struct swim_member *swim_admit(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN])
{
	size_t pos;
	struct swim_member *m = lookup(s, addr, &pos);
	if (m)
		return m;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		struct swim_member **nm = realloc(s->m, nc * sizeof *nm);
		if (!nm)
			return NULL;
		s->m = nm;
		uint64_t *nk = realloc(s->mkey, nc * sizeof *nk);
		if (!nk)
			return NULL;
		s->mkey = nk;
		s->cap = nc;
	}
	m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	memcpy(m->addr, addr, SWIM_ADDR_LEN);
	m->state = SWIM_UNKNOWN;
	memmove(s->m + pos + 1, s->m + pos, (s->n - pos) * sizeof *s->m);
	memmove(s->mkey + pos + 1, s->mkey + pos, (s->n - pos) * sizeof *s->mkey);
	s->mkey[pos] = addr_key(addr);
	s->m[pos] = m;
	s->n++;
	return m;
}

void swim_revoke(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN])
{
	size_t pos;
	struct swim_member *m = lookup(s, addr, &pos);
	if (!m || m == s->self)
		return;
	swim_probe_forget(s, addr);
	if (m->state == SWIM_SUSPECT)
		s->nsuspect--;
	memmove(s->m + pos, s->m + pos + 1, (s->n - pos - 1) * sizeof *s->m);
	memmove(s->mkey + pos, s->mkey + pos + 1, (s->n - pos - 1) * sizeof *s->mkey);
	s->n--;
	free(m);
}

static void broadcast_member(struct swim *s, const struct swim_member *m);

struct swim *swim_new(const struct swim_config *cfg, const uint8_t self[SWIM_ADDR_LEN],
                      const struct swim_io *io, uint64_t seed, uint64_t now)
{
	struct swim *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->cfg = *cfg;
	if (s->cfg.awareness_max < 1)
		s->cfg.awareness_max = 1;
	if (s->cfg.gossip_nodes < 1)
		s->cfg.gossip_nodes = 1;
	s->io = *io;
	s->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
	s->now = now;
	s->next_id = (uint32_t)swim_rand(s);
	swim_bcast_init(&s->bq, 65536);
	s->self = swim_admit(s, self);
	if (!s->self) {
		swim_free(s);
		return NULL;
	}
	s->self->state = SWIM_ALIVE;
	s->self->state_since = now;
	broadcast_member(s, s->self); /* announce ourselves with the first packets we send */
	s->next_probe = now + cfg->probe_interval_ms;
	s->next_gossip = now + cfg->gossip_interval_ms;
	s->next_pushpull = now + cfg->pushpull_interval_ms;
	s->next_join = now;
	return s;
}

void swim_free(struct swim *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->m[i]);
	free(s->m);
	free(s->mkey);
	free(s->order);
	swim_bcast_free(&s->bq);
	free(s);
}

void swim_add_seed(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN])
{
	for (size_t i = 0; i < s->nseeds; i++)
		if (memcmp(s->seeds[i], addr, SWIM_ADDR_LEN) == 0)
			return;
	if (s->nseeds < SWIM_MAX_SEEDS)
		memcpy(s->seeds[s->nseeds++], addr, SWIM_ADDR_LEN);
}

/* ---- sending ---- */

void swim_send(struct swim *s, const uint8_t to[SWIM_ADDR_LEN], uint8_t *body, size_t off,
               int piggyback)
{
	size_t cap = SWIM_BODY_MAX;
	if (s->handling) {
		/* An answer to a packet: within what that packet may cause (SWIM_REPLY_MAX on
		 * the wire, each packet's sealing overhead included). */
		if (s->reply_left < SWIM_PKT_OVERHEAD || off > s->reply_left - SWIM_PKT_OVERHEAD) {
			s->ctr.replies_capped++;
			return;
		}
		cap = s->reply_left - SWIM_PKT_OVERHEAD;
	}
	/* Retransmissions scale with the admitted set, not with the members heard from so far:
	 * in a cold start everyone knows few members at first, and updates sent only
	 * mult x log(few) times leave some members never hearing of others. */
	if (piggyback)
		swim_bcast_fill(&s->bq, body, cap, &off,
		                swim_retransmit_limit(s->cfg.retransmit_mult, s->n));
	if (off == 0)
		return;
	if (s->handling)
		s->reply_left -= off + SWIM_PKT_OVERHEAD;
	s->io.send(s->io.arg, to, body, off);
}

static void encode_member(const struct swim_member *m, uint8_t *buf, size_t cap, size_t *off)
{
	switch (m->state) {
	case SWIM_ALIVE:
		swim_wire_alive(buf, cap, off, m->addr, m->incarnation, m->meta, m->meta_len,
		                m->has_meta);
		break;
	case SWIM_LEFT:
		swim_wire_left(buf, cap, off, m->addr, m->incarnation);
		break;
	default:
		break;
	}
}

static void broadcast(struct swim *s, const uint8_t subject[SWIM_ADDR_LEN], const uint8_t *msg,
                      size_t len)
{
	swim_bcast_push(&s->bq, subject, msg, len);
}

static void broadcast_member(struct swim *s, const struct swim_member *m)
{
	uint8_t buf[SWIM_BCAST_MSG_MAX];
	size_t off = 0;
	encode_member(m, buf, sizeof buf, &off);
	if (off)
		broadcast(s, m->addr, buf, off);
}

static void broadcast_sd(struct swim *s, uint8_t type, const uint8_t addr[SWIM_ADDR_LEN],
                         uint64_t inc, const uint8_t from[SWIM_ADDR_LEN])
{
	uint8_t buf[64];
	size_t off = 0;
	swim_wire_suspect_dead(buf, sizeof buf, &off, type, addr, inc, from);
	broadcast(s, addr, buf, off);
}

static void member_entry(const struct swim_member *m, struct swim_entry *e)
{
	*e = (struct swim_entry){.state = (uint8_t)m->state, .incarnation = m->incarnation,
	                         .has_meta = m->has_meta, .meta_len = m->meta_len,
	                         .meta = m->meta};
	memcpy(e->addr, m->addr, SWIM_ADDR_LEN);
}

/* One packet: us first, then members from pp_cursor on, as many as fit. The cursor moves
 * past them, so that successive replies (at most one per member per protocol period)
 * cover everyone without any one of them being larger than a packet. */
void swim_reply_state(struct swim *s, const uint8_t to[SWIM_ADDR_LEN])
{
	uint8_t body[SWIM_BODY_MAX];
	size_t off = 0, hdr = 0, cap = sizeof body;
	if (s->handling)
		cap = s->reply_left < SWIM_PKT_OVERHEAD ? 0
		      : s->reply_left - SWIM_PKT_OVERHEAD < cap ? s->reply_left - SWIM_PKT_OVERHEAD : cap;
	struct swim_entry e;
	if (swim_wire_pp_begin(body, cap, &off, 0, &hdr) < 0)
		return;
	member_entry(s->self, &e);
	swim_wire_pp_entry(body, cap, &off, hdr, &e);
	size_t i, tried;
	for (i = s->pp_cursor, tried = 0; tried < s->n; tried++, i++) {
		if (i >= s->n)
			i = 0;
		const struct swim_member *m = s->m[i];
		if (m == s->self || m->state == SWIM_UNKNOWN)
			continue;
		member_entry(m, &e);
		if (swim_wire_pp_entry(body, cap, &off, hdr, &e) < 0)
			break;
	}
	s->pp_cursor = i >= s->n ? 0 : i;
	swim_send(s, to, body, off, 0);
	s->ctr.pushpulls++;
}

/* A push-pull request carrying only us: the answer is one packet of the other's state. */
void swim_ask_state(struct swim *s, const uint8_t to[SWIM_ADDR_LEN])
{
	uint8_t body[SWIM_BODY_MAX];
	size_t off = 0, hdr = 0;
	struct swim_entry e;
	member_entry(s->self, &e);
	if (swim_wire_pp_begin(body, sizeof body, &off, 1, &hdr) == 0 &&
	    swim_wire_pp_entry(body, sizeof body, &off, hdr, &e) == 0)
		swim_send(s, to, body, off, 0);
}

/* Full state in as many chunks as it takes; only the first asks for a reply. */
void swim_send_state(struct swim *s, const uint8_t to[SWIM_ADDR_LEN], int want_reply)
{
	uint8_t body[SWIM_BODY_MAX];
	size_t off = 0, hdr = 0;
	int first = 1;
	for (size_t i = 0; i < s->n; i++) {
		const struct swim_member *m = s->m[i];
		if (m->state == SWIM_UNKNOWN)
			continue;
		struct swim_entry e;
		member_entry(m, &e);
		if (off == 0) {
			swim_wire_pp_begin(body, sizeof body, &off, first && want_reply, &hdr);
			first = 0;
		}
		if (swim_wire_pp_entry(body, sizeof body, &off, hdr, &e) < 0) {
			swim_send(s, to, body, off, 0);
			off = 0;
			swim_wire_pp_begin(body, sizeof body, &off, 0, &hdr);
			swim_wire_pp_entry(body, sizeof body, &off, hdr, &e);
		}
	}
	if (off)
		swim_send(s, to, body, off, 0);
	s->ctr.pushpulls++;
}

/* ---- suspicion (Lifeguard) ---- */

uint64_t swim_period(const struct swim_config *cfg, size_t n)
{
	uint64_t full = cfg->probe_interval_ms;
	uint64_t floor = full < SWIM_PERIOD_FLOOR_MS ? full : SWIM_PERIOD_FLOOR_MS;
	if (n >= SWIM_FULL_PERIOD_N)
		return full;
	uint64_t p = full * n / SWIM_FULL_PERIOD_N;
	return p < floor ? floor : p;
}

uint64_t swim_probe_timeout(const struct swim_config *cfg, size_t n)
{
	uint64_t p = swim_period(cfg, n), t = cfg->probe_timeout_ms;
	if (p == cfg->probe_interval_ms || cfg->probe_interval_ms == 0)
		return t;
	t = t * p / cfg->probe_interval_ms;
	return t ? t : 1;
}

void swim_suspicion_bounds(const struct swim_config *cfg, size_t n, uint64_t *min,
                           uint64_t *max)
{
	double scale = n > 1 ? log10((double)n) : 0.0;
	if (scale < 1.0)
		scale = 1.0;
	if (scale > SWIM_SUSPICION_SCALE_MAX)
		scale = SWIM_SUSPICION_SCALE_MAX;
	*min = (uint64_t)(cfg->suspicion_min_mult * scale * (double)swim_period(cfg, n));
	*max = *min * (cfg->suspicion_max_mult ? cfg->suspicion_max_mult : 1);
}

uint64_t swim_suspicion_timeout(uint64_t min, uint64_t max, unsigned c, unsigned k)
{
	if (k == 0 || c >= k || max <= min)
		return min;
	double frac = log((double)c + 1.0) / log((double)k + 1.0);
	double t = (double)max - frac * (double)(max - min);
	return t < (double)min ? min : (uint64_t)t;
}

/* Tell a member we hold suspect so, directly: if it lives, it answers its refutation
 * straight back (swim_handle). Gossip alone reaches a given member with high probability,
 * not certainty: under steady loss, a member the refutation missed declared a live member
 * dead about once an hour in a 10-member cluster (10% loss, simulated). Each holder of a
 * suspicion asks when it learns it from others (its own failed probe has just asked) and
 * again halfway to its deadline: at most two small packets per suspicion and member. */
void swim_suspicion_check(struct swim *s, struct swim_member *m)
{
	uint8_t body[SWIM_BODY_MAX];
	size_t off = 0;
	if (swim_wire_suspect_dead(body, sizeof body, &off, SWIM_MSG_SUSPECT, m->addr,
	                           m->incarnation, m->susp_from[0]) == 0)
		swim_send(s, m->addr, body, off, 0);
}

static void plan_check(struct swim_member *m)
{
	uint64_t mid = m->susp_start + (m->susp_deadline - m->susp_start) / 2;
	if (m->susp_check && mid < m->susp_check)
		m->susp_check = mid ? mid : 1;
}

static void start_suspicion(struct swim *s, struct swim_member *m,
                            const uint8_t from[SWIM_ADDR_LEN])
{
	size_t n = swim_live_count(s);
	int k = SWIM_SUSP_K;
	if ((int)n - 2 < k)
		k = (int)n - 2; /* as many as there are other members to confirm */
	if (k > SWIM_SUSP_CONFIRM_MAX - 1)
		k = SWIM_SUSP_CONFIRM_MAX - 1;
	swim_suspicion_bounds(&s->cfg, n, &m->susp_min, &m->susp_max);
	m->susp_k = (unsigned)(k < 0 ? 0 : k);
	m->susp_n = 0;
	memcpy(m->susp_from[0], from, SWIM_ADDR_LEN);
	m->susp_start = s->now;
	m->susp_deadline = s->now + swim_suspicion_timeout(m->susp_min, m->susp_max, 0, m->susp_k);
	if (m->susp_deadline == 0)
		m->susp_deadline = 1;
	m->susp_check = UINT64_MAX;
	plan_check(m);
	if (memcmp(from, s->self->addr, SWIM_ADDR_LEN) != 0)
		swim_suspicion_check(s, m);
}

/* An independent confirmation shortens the timer; 1 if from was new. */
static int confirm_suspicion(struct swim_member *m, const uint8_t from[SWIM_ADDR_LEN])
{
	if (!m->susp_deadline || m->susp_n >= m->susp_k)
		return 0;
	for (unsigned i = 0; i <= m->susp_n; i++)
		if (memcmp(m->susp_from[i], from, SWIM_ADDR_LEN) == 0)
			return 0;
	m->susp_n++;
	memcpy(m->susp_from[m->susp_n], from, SWIM_ADDR_LEN);
	m->susp_deadline =
	    m->susp_start + swim_suspicion_timeout(m->susp_min, m->susp_max, m->susp_n, m->susp_k);
	plan_check(m);
	return 1;
}

/* ---- the rules ---- */

static void set_state(struct swim *s, struct swim_member *m, int state, uint64_t inc)
{
	int old = m->state;
	s->nsuspect += (state == SWIM_SUSPECT) - (old == SWIM_SUSPECT);
	m->state = state;
	m->incarnation = inc;
	m->state_since = s->now;
	m->susp_deadline = 0;
	if (old == SWIM_UNKNOWN && state != SWIM_UNKNOWN)
		s->learned++;
	if (state != old && live(state) && !live(old) && m != s->self)
		swim_probe_insert(s, m);
	if (state != old)
		s->io.change(s->io.arg, m, old, 0);
}

static uint64_t inc_above(uint64_t inc) { return inc < SWIM_INC_MAX ? inc + 1 : SWIM_INC_MAX; }

static void refute(struct swim *s, uint64_t accused)
{
	struct swim_member *me = s->self;
	uint64_t inc = inc_above(me->incarnation);
	if (accused >= inc)
		inc = inc_above(accused); /* saturates: SWIM_INC_JUMP_MAX keeps the top out of reach */
	me->incarnation = inc;
	broadcast_member(s, me);
	swim_awareness(s, 1);
	s->ctr.refutes++;
}

static int from_subject(const uint8_t sender[SWIM_ADDR_LEN], const uint8_t subject[SWIM_ADDR_LEN])
{
	return memcmp(sender, subject, SWIM_ADDR_LEN) == 0;
}

/* direct: said by the member itself (the packet's authenticated sender).
 * Gossiped news is gossiped on (the epidemic). A member first heard of through a
 * push-pull (pulled) is not: that is anti-entropy, and in a cold start of n members,
 * re-gossiping each of the n members every member pulls would cost n^2 x retransmissions. */
static void apply_alive(struct swim *s, const struct swim_entry *e, int direct, int pulled)
{
	struct swim_member *m = lookup(s, e->addr, NULL);
	if (!m)
		return;
	if (m == s->self) {
		if (s->leaving || e->incarnation < m->incarnation)
			return;
		if (e->incarnation == m->incarnation && e->has_meta == m->has_meta &&
		    e->meta_len == m->meta_len && memcmp(e->meta, m->meta, e->meta_len) == 0)
			return;
		refute(s, e->incarnation);
		return;
	}
	/* A member's own word that it is alive wins over a failure we hold at an incarnation
	 * more than SWIM_INC_JUMP_MAX above it: the member could not refute that one (it
	 * ignores such claims about itself), as after third-party gossip climbed our copy
	 * step by step, or after it restarted from 0 while we held it high. */
	if (m->state != SWIM_UNKNOWN && e->incarnation <= m->incarnation &&
	    !(direct && !live(m->state) && m->incarnation - e->incarnation > SWIM_INC_JUMP_MAX))
		return;
	int meta_changed = e->has_meta != m->has_meta || e->meta_len != m->meta_len ||
	                   memcmp(e->meta, m->meta, e->meta_len) != 0;
	int old = m->state;
	m->has_meta = e->has_meta;
	m->meta_len = e->meta_len;
	if (e->meta_len)
		memcpy(m->meta, e->meta, e->meta_len);
	if (old == SWIM_ALIVE) {
		m->incarnation = e->incarnation;
		if (meta_changed)
			s->io.change(s->io.arg, m, old, 1);
	} else {
		set_state(s, m, SWIM_ALIVE, e->incarnation);
	}
	if (!(pulled && old == SWIM_UNKNOWN))
		broadcast_member(s, m);
}

void swim_apply_suspect(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN], uint64_t inc,
                        const uint8_t from[SWIM_ADDR_LEN])
{
	struct swim_member *m = lookup(s, addr, NULL);
	if (!m || m->state == SWIM_UNKNOWN || inc < m->incarnation)
		return;
	if (m->state == SWIM_SUSPECT) {
		if (confirm_suspicion(m, from))
			broadcast_sd(s, SWIM_MSG_SUSPECT, addr, inc, from);
		return;
	}
	if (m->state != SWIM_ALIVE)
		return;
	if (m == s->self) {
		if (!s->leaving)
			refute(s, inc);
		return;
	}
	set_state(s, m, SWIM_SUSPECT, inc);
	start_suspicion(s, m, from);
	s->ctr.suspicions++;
	broadcast_sd(s, SWIM_MSG_SUSPECT, addr, inc, from);
}

void swim_apply_dead(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN], uint64_t inc,
                     const uint8_t from[SWIM_ADDR_LEN], int left)
{
	struct swim_member *m = lookup(s, addr, NULL);
	if (!m || m->state == SWIM_UNKNOWN || inc < m->incarnation)
		return;
	if (m->state == SWIM_DEAD || m->state == SWIM_LEFT)
		return;
	if (m == s->self) {
		if (!s->leaving)
			refute(s, inc);
		return;
	}
	set_state(s, m, left ? SWIM_LEFT : SWIM_DEAD, inc);
	if (left)
		broadcast_member(s, m);
	else
		broadcast_sd(s, SWIM_MSG_DEAD, addr, inc, from);
}

/* Whether to believe what sender says about subject at incarnation inc: anything from the
 * subject itself; from anyone else, at most SWIM_INC_JUMP_MAX above what we hold. */
static int believable(struct swim *s, const uint8_t sender[SWIM_ADDR_LEN],
                      const uint8_t subject[SWIM_ADDR_LEN], uint64_t inc)
{
	if (memcmp(sender, subject, SWIM_ADDR_LEN) == 0)
		return 1;
	const struct swim_member *m = lookup(s, subject, NULL);
	if (!m)
		return 0;
	uint64_t base = m->state == SWIM_UNKNOWN ? 0 : m->incarnation;
	if (inc <= base || inc - base <= SWIM_INC_JUMP_MAX)
		return 1;
	s->ctr.gossip_ignored++;
	if (m == s->self)
		s->doubted_self = 1;
	return 0;
}

/* Push-pull: a remote "dead" is only a suspicion here (we have not seen it fail), and so is
 * "left" unless the member that left says so itself. */
static void merge_state(struct swim *s, const uint8_t from[SWIM_ADDR_LEN],
                        const struct swim_body *b, const struct swim_msg *msg)
{
	for (size_t i = 0; i < msg->count; i++) {
		const struct swim_entry *e = &b->entries[msg->first + i];
		if (!believable(s, from, e->addr, e->incarnation))
			continue;
		switch (e->state) {
		case SWIM_ALIVE: apply_alive(s, e, from_subject(from, e->addr), 1); break;
		case SWIM_LEFT:
			if (from_subject(from, e->addr)) {
				swim_apply_dead(s, e->addr, e->incarnation, e->addr, 1);
				break;
			}
			s->ctr.gossip_ignored++;
			/* FALLTHROUGH */
		case SWIM_SUSPECT:
		case SWIM_DEAD: {
			/* Not a confirmation: the sender only repeats what it heard, and two members
			 * repeating one accusation are not two witnesses. */
			const struct swim_member *m = lookup(s, e->addr, NULL);
			if (!m || m->state != SWIM_SUSPECT)
				swim_apply_suspect(s, e->addr, e->incarnation, from);
			break;
		}
		default: break;
		}
	}
}

/* A LEFT message: from the member that leaves, it left; from anyone else it is only a
 * DEAD claim, which a live subject refutes. */
static void handle_left(struct swim *s, const uint8_t from[SWIM_ADDR_LEN], const struct swim_msg *m)
{
	if (from_subject(from, m->e.addr)) {
		swim_apply_dead(s, m->e.addr, m->e.incarnation, m->e.addr, 1);
		return;
	}
	s->ctr.gossip_ignored++;
	swim_apply_dead(s, m->e.addr, m->e.incarnation, from, 0);
}

/* A push-pull request: one reply per member per protocol period. */
static void handle_pushpull(struct swim *s, struct swim_member *src, const struct swim_body *b,
                            const struct swim_msg *m)
{
	merge_state(s, src->addr, b, m);
	if (!(m->flags & SWIM_PP_REPLY) || s->leaving)
		return;
	if (src->last_state_reply && s->now - src->last_state_reply < s->cfg.probe_interval_ms) {
		s->ctr.pushpulls_refused++;
		return;
	}
	src->last_state_reply = s->now ? s->now : 1;
	swim_reply_state(s, src->addr);
}

/* A live-looking packet from a member we hold suspect or dead: tell it, so it can refute
 * without waiting for gossip to reach it. From a member we never heard of (it knows us,
 * gossip about it has not reached us): ask for its state, one small push-pull request
 * carrying only us, whose one-packet reply starts with it. At most once per protocol
 * period either way. */
static void hint(struct swim *s, struct swim_member *src)
{
	if (src->state == SWIM_ALIVE || src == s->self ||
	    (src->last_hint && s->now - src->last_hint < s->cfg.probe_interval_ms))
		return;
	src->last_hint = s->now ? s->now : 1;
	uint8_t body[SWIM_BODY_MAX];
	size_t off = 0;
	if (src->state == SWIM_UNKNOWN) {
		swim_ask_state(s, src->addr);
		return;
	}
	if (src->state == SWIM_LEFT)
		swim_wire_left(body, sizeof body, &off, src->addr, src->incarnation);
	else
		swim_wire_suspect_dead(body, sizeof body, &off,
		                       src->state == SWIM_DEAD ? SWIM_MSG_DEAD : SWIM_MSG_SUSPECT,
		                       src->addr, src->incarnation, s->self->addr);
	swim_send(s, src->addr, body, off, 0);
}

void swim_handle(struct swim *s, const uint8_t from[SWIM_ADDR_LEN], const struct swim_body *b,
                 uint64_t now)
{
	struct swim_member *src = lookup(s, from, NULL);
	s->now = now;
	if (!src || src == s->self)
		return;
	s->handling = 1;
	s->reply_left = SWIM_REPLY_MAX;
	for (size_t i = 0; i < b->nmsg; i++) {
		const struct swim_msg *m = &b->msg[i];
		uint8_t body[SWIM_BODY_MAX];
		size_t off = 0;
		/* The sender holds us dead or left at an incarnation below ours: a refutation
		 * of ours passed it by. */
		if ((m->type == SWIM_MSG_LEFT ||
		     (m->type == SWIM_MSG_DEAD && memcmp(m->from, from, SWIM_ADDR_LEN) == 0)) &&
		    memcmp(m->e.addr, s->self->addr, SWIM_ADDR_LEN) == 0 &&
		    m->e.incarnation < s->self->incarnation)
			s->doubted_self = 1;
		/* Told directly that we are suspected or dead (a buddy ping, a hint, gossip): the
		 * refutation also goes straight back to the teller, not only into gossip that
		 * may miss the very member that holds the stale view. */
		if ((m->type == SWIM_MSG_SUSPECT || m->type == SWIM_MSG_DEAD) &&
		    memcmp(m->e.addr, s->self->addr, SWIM_ADDR_LEN) == 0)
			s->doubted_self = 1;
		if (m->type >= SWIM_MSG_ALIVE && m->type <= SWIM_MSG_LEFT &&
		    !believable(s, from, m->e.addr, m->e.incarnation))
			continue;
		switch (m->type) {
		case SWIM_MSG_PING:
			if (s->leaving)
				break;
			swim_wire_probe(body, sizeof body, &off, SWIM_MSG_ACK, m->probe);
			swim_send(s, from, body, off, 1);
			break;
		case SWIM_MSG_PING_REQ:
			if (!s->leaving)
				swim_probe_handle_req(s, from, m);
			break;
		case SWIM_MSG_ACK: swim_probe_handle_ack(s, from, m->probe); break;
		case SWIM_MSG_NACK: swim_probe_handle_nack(s, m->probe); break;
		case SWIM_MSG_ALIVE: apply_alive(s, &m->e, from_subject(from, m->e.addr), 0); break;
		case SWIM_MSG_SUSPECT: swim_apply_suspect(s, m->e.addr, m->e.incarnation, m->from); break;
		case SWIM_MSG_DEAD: swim_apply_dead(s, m->e.addr, m->e.incarnation, m->from, 0); break;
		case SWIM_MSG_LEFT: handle_left(s, from, m); break;
		case SWIM_MSG_PUSHPULL:
			src = lookup(s, from, NULL);
			if (src)
				handle_pushpull(s, src, b, m);
			break;
		default: break;
		}
	}
	if (s->doubted_self) {
		/* A claim about us too far above our incarnation to refute, or below it: answer
		 * the sender with our own word, which it takes over what it holds (apply_alive). */
		uint8_t body[SWIM_BODY_MAX];
		size_t off = 0;
		s->doubted_self = 0;
		if (!s->leaving && swim_wire_alive(body, sizeof body, &off, s->self->addr, s->self->incarnation,
		                    s->self->meta, s->self->meta_len, s->self->has_meta) == 0)
			swim_send(s, from, body, off, 0);
	}
	s->handling = 0; /* the hint is rate-limited on its own */
	src = lookup(s, from, NULL);
	if (src)
		hint(s, src);
}

int swim_set_meta(struct swim *s, const uint8_t *meta, size_t len, uint64_t now)
{
	struct swim_member *me = s->self;
	if (len > SWIM_META_MAX)
		return -1;
	s->now = now;
	me->has_meta = meta != NULL;
	me->meta_len = meta ? (uint16_t)len : 0;
	if (meta && len)
		memcpy(me->meta, meta, len);
	me->incarnation = inc_above(me->incarnation);
	broadcast_member(s, me);
	s->io.change(s->io.arg, me, me->state, 1);
	return 0;
}

void swim_leave(struct swim *s, uint64_t now)
{
	struct swim_member *me = s->self;
	s->now = now;
	if (s->leaving)
		return;
	s->leaving = 1;
	s->probe.active = 0;
	set_state(s, me, SWIM_LEFT, me->incarnation);
	broadcast_member(s, me);
	uint8_t body[64];
	size_t off = 0;
	swim_wire_left(body, sizeof body, &off, me->addr, me->incarnation);
	for (size_t i = 0; i < s->n; i++)
		if (s->m[i] != me && live(s->m[i]->state))
			swim_send(s, s->m[i]->addr, body, off, 0);
}
