/* swim_probe.c: SWIM's periodic work: probes, indirect probes and nacks, gossip, push-pull, joins. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "swim_int.h"

static int live(int state) { return state == SWIM_ALIVE || state == SWIM_SUSPECT; }

size_t swim_pick(struct swim *s, size_t k,
                 int (*ok)(const struct swim *, const struct swim_member *, const void *),
                 const void *arg, struct swim_member **out)
{
	size_t seen = 0, got = 0;
	for (size_t i = 0; i < s->n && k > 0; i++) {
		struct swim_member *m = s->m[i];
		if (m == s->self || !ok(s, m, arg))
			continue;
		seen++;
		if (got < k) {
			out[got++] = m;
		} else {
			size_t j = (size_t)(swim_rand(s) % seen);
			if (j < k)
				out[j] = m;
		}
	}
	return got;
}

/* ---- the round-robin probe list ---- */

static int order_reserve(struct swim *s, size_t n)
{
	if (n <= s->order_cap)
		return 0;
	size_t nc = s->order_cap ? s->order_cap : 16;
	while (nc < n)
		nc *= 2;
	uint8_t(*no)[SWIM_ADDR_LEN] = realloc(s->order, nc * sizeof *no);
	if (!no)
		return -1;
	s->order = no;
	s->order_cap = nc;
	return 0;
}

static void reshuffle(struct swim *s)
{
	s->norder = 0;
	s->order_pos = 0;
	for (size_t i = 0; i < s->n; i++)
		s->m[i]->in_round = 0;
	if (order_reserve(s, s->n) < 0)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (s->m[i] != s->self && live(s->m[i]->state)) {
			memcpy(s->order[s->norder++], s->m[i]->addr, SWIM_ADDR_LEN);
			s->m[i]->in_round = 1;
		}
	for (size_t i = s->norder; i > 1; i--) {
		size_t j = (size_t)(swim_rand(s) % i);
		uint8_t t[SWIM_ADDR_LEN];
		memcpy(t, s->order[i - 1], SWIM_ADDR_LEN);
		memcpy(s->order[i - 1], s->order[j], SWIM_ADDR_LEN);
		memcpy(s->order[j], t, SWIM_ADDR_LEN);
	}
}

/* A member that became live joins the rest of this round at a random place: it takes a
 * random place among the rest, whose holder moves to the end (the rest stays a uniformly
 * random order). in_round says it is there already, without a scan: in a cold start of
 * 1,000 members every one of them arrives like this. */
void swim_probe_insert(struct swim *s, struct swim_member *m)
{
	if (m->in_round || order_reserve(s, s->norder + 1) < 0)
		return;
	size_t span = s->norder - s->order_pos + 1;
	size_t at = s->order_pos + (size_t)(swim_rand(s) % span);
	memcpy(s->order[s->norder], s->order[at], SWIM_ADDR_LEN);
	memcpy(s->order[at], m->addr, SWIM_ADDR_LEN);
	s->norder++;
	m->in_round = 1;
}

/* Every place of addr in the list goes (revoked: it is no longer a member). */
void swim_probe_forget(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN])
{
	for (size_t i = s->norder; i-- > 0;) {
		if (memcmp(s->order[i], addr, SWIM_ADDR_LEN) != 0)
			continue;
		memmove(s->order[i], s->order[i + 1], (s->norder - i - 1) * sizeof *s->order);
		s->norder--;
		if (i < s->order_pos)
			s->order_pos--;
	}
	if (s->probe.active && memcmp(s->probe.target, addr, SWIM_ADDR_LEN) == 0) {
		s->probe.active = 0;
		s->next_probe = s->now;
	}
	for (size_t i = 0; i < SWIM_MAX_RELAYS; i++) {
		struct swim_relay *r = &s->relays[i];
		if (r->active && (memcmp(r->origin, addr, SWIM_ADDR_LEN) == 0 ||
		                  memcmp(r->target, addr, SWIM_ADDR_LEN) == 0))
			r->active = 0;
	}
}

/* ---- probing ---- */

static uint64_t scaled(const struct swim *s, uint64_t ms)
{
	return ms * (uint64_t)(s->awareness + 1);
}

static void start_probe(struct swim *s)
{
	struct swim_member *m = NULL;
	int shuffled = 0;
	while (!m) {
		if (s->order_pos >= s->norder) {
			if (shuffled)
				break;
			reshuffle(s);
			shuffled = 1;
			continue;
		}
		struct swim_member *c = swim_find(s, s->order[s->order_pos++]);
		if (c)
			c->in_round = 0;
		if (c && c != s->self && live(c->state))
			m = c;
	}
	size_t n = swim_live_count(s);
	if (!m) {
		s->next_probe = s->now + swim_period(&s->cfg, n);
		return;
	}
	struct swim_probe *p = &s->probe;
	memset(p, 0, sizeof *p);
	p->active = 1;
	memcpy(p->target, m->addr, SWIM_ADDR_LEN);
	p->id = s->next_id++;
	p->start = s->now;
	p->ack_deadline = s->now + scaled(s, swim_probe_timeout(&s->cfg, n));
	p->end = s->now + scaled(s, swim_period(&s->cfg, n));
	s->next_probe = p->end;
	s->ctr.probes++;
	uint8_t body[SWIM_BODY_MAX];
	size_t off = 0;
	swim_wire_probe(body, sizeof body, &off, SWIM_MSG_PING, p->id);
	/* Lifeguard's buddy system: a ping to a member we hold suspect tells it so, and it
	 * answers its refutation straight back (swim_handle), whatever gossip loses. */
	if (m->state == SWIM_SUSPECT)
		swim_wire_suspect_dead(body, sizeof body, &off, SWIM_MSG_SUSPECT, m->addr,
		                       m->incarnation, s->self->addr);
	swim_send(s, m->addr, body, off, 1);
}

static int ok_helper(const struct swim *s, const struct swim_member *m, const void *target)
{
	(void)s;
	return m->state == SWIM_ALIVE && memcmp(m->addr, target, SWIM_ADDR_LEN) != 0;
}

static void send_indirect(struct swim *s)
{
	struct swim_probe *p = &s->probe;
	struct swim_member *helpers[32];
	size_t k = s->cfg.indirect_checks < 32 ? s->cfg.indirect_checks : 32;
	p->indirect_sent = 1;
	size_t got = swim_pick(s, k, ok_helper, p->target, helpers);
	uint64_t left = p->end > s->now ? (p->end - s->now) * 4 / 5 : 1;
	uint16_t tmo = (uint16_t)(left > 65535 ? 65535 : left ? left : 1);
	for (size_t i = 0; i < got; i++) {
		uint8_t body[SWIM_BODY_MAX];
		size_t off = 0;
		swim_wire_ping_req(body, sizeof body, &off, p->id, p->target, tmo, 1);
		swim_send(s, helpers[i]->addr, body, off, 1);
	}
	p->expected_nacks = (unsigned)got;
	s->ctr.indirect += got;
	/* And once more directly: on a lossy path a second try is worth more than a helper
	 * (2 packets to get through, not 4). At 1% loss, loss alone then raises a suspicion
	 * once in 41 million probes rather than once in 820,000: 1,000 members probing for 10
	 * minutes (600,000 probes) expected 0.7 false suspicions, now 0.015. */
	uint8_t body[SWIM_BODY_MAX];
	size_t off = 0;
	swim_wire_probe(body, sizeof body, &off, SWIM_MSG_PING, p->id);
	swim_send(s, p->target, body, off, 1);
}

/* Lifeguard: a failed probe hurts our own health score only as far as helpers failed to
 * answer us, since missing nacks mean the problem may be on our side. */
static void finish_probe(struct swim *s)
{
	struct swim_probe *p = &s->probe;
	p->active = 0;
	int delta = 1;
	if (p->expected_nacks > 0)
		delta = p->nacks < p->expected_nacks ? (int)(p->expected_nacks - p->nacks) : 0;
	swim_awareness(s, delta);
	struct swim_member *m = swim_find(s, p->target);
	if (m && live(m->state)) {
		swim_apply_suspect(s, m->addr, m->incarnation, s->self->addr);
		s->next_gossip = s->now; /* spread our own verdict at once */
	}
}

void swim_probe_handle_ack(struct swim *s, const uint8_t from[SWIM_ADDR_LEN], uint32_t id)
{
	struct swim_probe *p = &s->probe;
	if (p->active && id == p->id) {
		p->active = 0;
		swim_awareness(s, -1);
		s->ctr.acks++;
		return;
	}
	for (size_t i = 0; i < SWIM_MAX_RELAYS; i++) {
		struct swim_relay *r = &s->relays[i];
		if (!r->active || r->local_id != id || memcmp(r->target, from, SWIM_ADDR_LEN) != 0)
			continue;
		r->active = 0;
		uint8_t body[SWIM_BODY_MAX];
		size_t off = 0;
		swim_wire_probe(body, sizeof body, &off, SWIM_MSG_ACK, r->origin_id);
		swim_send(s, r->origin, body, off, 1);
		return;
	}
}

void swim_probe_handle_nack(struct swim *s, uint32_t id)
{
	struct swim_probe *p = &s->probe;
	if (p->active && id == p->id && p->indirect_sent && p->nacks < p->expected_nacks) {
		p->nacks++;
		s->ctr.nacks_in++;
		/* Every helper tried and failed, and our own ack timeout passed: nothing more
		 * is coming, so conclude now rather than at the end of the period. */
		if (p->nacks == p->expected_nacks)
			finish_probe(s);
	}
}

static void send_nack(struct swim *s, const uint8_t to[SWIM_ADDR_LEN], uint32_t id)
{
	uint8_t body[SWIM_BODY_MAX];
	size_t off = 0;
	swim_wire_probe(body, sizeof body, &off, SWIM_MSG_NACK, id);
	swim_send(s, to, body, off, 0);
	s->ctr.nacks_out++;
}

void swim_probe_handle_req(struct swim *s, const uint8_t from[SWIM_ADDR_LEN],
                           const struct swim_msg *m)
{
	uint8_t body[SWIM_BODY_MAX];
	size_t off = 0;
	int nack = (m->flags & SWIM_PR_NACK) != 0;
	if (swim_is_self(s, m->target)) {
		swim_wire_probe(body, sizeof body, &off, SWIM_MSG_ACK, m->probe);
		swim_send(s, from, body, off, 1);
		return;
	}
	struct swim_member *t = swim_find(s, m->target);
	struct swim_relay *r = NULL;
	for (size_t i = 0; i < SWIM_MAX_RELAYS && !r; i++)
		if (!s->relays[i].active)
			r = &s->relays[i];
	if (!t || t->state == SWIM_UNKNOWN || memcmp(m->target, from, SWIM_ADDR_LEN) == 0 || !r) {
		if (nack)
			send_nack(s, from, m->probe);
		return;
	}
	uint64_t tmo = m->timeout_ms ? m->timeout_ms : s->cfg.probe_timeout_ms;
	if (tmo > s->cfg.probe_interval_ms)
		tmo = s->cfg.probe_interval_ms;
	memset(r, 0, sizeof *r);
	r->active = 1;
	r->want_nack = nack;
	r->local_id = s->next_id++;
	r->origin_id = m->probe;
	memcpy(r->origin, from, SWIM_ADDR_LEN);
	memcpy(r->target, m->target, SWIM_ADDR_LEN);
	r->deadline = s->now + tmo;
	swim_wire_probe(body, sizeof body, &off, SWIM_MSG_PING, r->local_id);
	swim_send(s, r->target, body, off, 1);
}

static void probe_step(struct swim *s)
{
	struct swim_probe *p = &s->probe;
	if (p->active && s->now >= p->end + s->cfg.probe_interval_ms) {
		/* We did not run for a whole period (stopped, starved): no verdict on anyone. */
		p->active = 0;
		swim_awareness(s, 1);
		s->ctr.paused++;
		s->next_probe = s->now;
	}
	if (p->active && !p->indirect_sent && s->now >= p->ack_deadline && s->now < p->end)
		send_indirect(s);
	if (p->active && s->now >= p->end)
		finish_probe(s);
	if (!p->active && s->now >= s->next_probe)
		start_probe(s);
}

static void relay_step(struct swim *s)
{
	for (size_t i = 0; i < SWIM_MAX_RELAYS; i++) {
		struct swim_relay *r = &s->relays[i];
		if (!r->active || s->now < r->deadline)
			continue;
		r->active = 0;
		if (r->want_nack)
			send_nack(s, r->origin, r->origin_id);
	}
}

static void suspicion_step(struct swim *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct swim_member *m = s->m[i];
		if (m->state != SWIM_SUSPECT || !m->susp_deadline)
			continue;
		if (m->susp_check && s->now >= m->susp_check && s->now < m->susp_deadline) {
			m->susp_check = 0;
			swim_suspicion_check(s, m);
		}
		if (s->now < m->susp_deadline)
			continue;
		m->susp_deadline = 0;
		swim_apply_dead(s, m->addr, m->incarnation, s->self->addr, 0);
		s->next_gossip = s->now;
	}
}

/* Gossip goes to live members, and to the recently dead so that they can refute. */
static int ok_gossip(const struct swim *s, const struct swim_member *m, const void *arg)
{
	(void)arg;
	if (live(m->state))
		return 1;
	return (m->state == SWIM_DEAD || m->state == SWIM_LEFT) &&
	       s->now - m->state_since < 30 * s->cfg.probe_interval_ms;
}

static void gossip_step(struct swim *s)
{
	if (s->now < s->next_gossip)
		return;
	s->next_gossip = s->now + s->cfg.gossip_interval_ms;
	if (swim_bcast_len(&s->bq) == 0)
		return;
	struct swim_member *to[64];
	size_t k = s->cfg.gossip_nodes < 64 ? s->cfg.gossip_nodes : 64;
	size_t got = swim_pick(s, k, ok_gossip, NULL, to);
	for (size_t i = 0; i < got; i++) {
		uint8_t body[SWIM_BODY_MAX];
		swim_send(s, to[i]->addr, body, 0, 1);
	}
}

static int ok_alive(const struct swim *s, const struct swim_member *m, const void *arg)
{
	(void)s;
	(void)arg;
	return m->state == SWIM_ALIVE;
}

static int ok_unknown(const struct swim *s, const struct swim_member *m, const void *arg)
{
	(void)s;
	(void)arg;
	return m->state == SWIM_UNKNOWN;
}

/* Push-pull with one random member; the period grows with the cluster past 32 members.
 * Catching up (a late starter, whose join got a packet of state from each of a few seeds,
 * after the others' announcements were spent): while some admitted members are unknown,
 * every probe interval pulls (requests carrying only us, each answered with one packet):
 * to up to SWIM_CATCHUP_PULLS random unknown members (which, if they run, answer starting
 * with themselves: the last few missing are learnt that way), and from random alive
 * members, one per SWIM_CATCHUP_SPAN unknown, at least one and at most SWIM_CATCHUP_PULLS,
 * so that a member starting among 1,000 learns of them in seconds, not in the 30 s one
 * window a second takes. Each answer is one packet, and every member answers a given one
 * at most once per probe interval. It stops after SWIM_CATCHUP_IDLE + n / 16 intervals in
 * a row taught us nothing, so admitted servers that are off cost little. */
static void pushpull_step(struct swim *s)
{
	if (!s->cfg.pushpull_interval_ms || s->now < s->next_pushpull)
		return;
	size_t n = swim_known_count(s);
	double scale = n > 32 ? ceil(log2((double)n) - log2(32.0)) + 1.0 : 1.0;
	uint64_t every = (uint64_t)(scale * (double)s->cfg.pushpull_interval_ms);
	if (s->learned != s->pp_learned)
		s->pp_idle = 0;
	else if (s->pp_idle < UINT64_MAX)
		s->pp_idle++;
	s->pp_learned = s->learned;
	int catching_up = n < s->n && s->pp_idle <= SWIM_CATCHUP_IDLE + s->n / 16;
	if (catching_up && s->cfg.probe_interval_ms < every)
		every = s->cfg.probe_interval_ms;
	s->next_pushpull = s->now + every;
	struct swim_member *to[SWIM_CATCHUP_PULLS];
	if (catching_up) {
		size_t k = 1 + (s->n - n) / SWIM_CATCHUP_SPAN;
		if (k > SWIM_CATCHUP_PULLS)
			k = SWIM_CATCHUP_PULLS;
		size_t got = swim_pick(s, SWIM_CATCHUP_PULLS, ok_unknown, NULL, to);
		for (size_t i = 0; i < got; i++)
			swim_ask_state(s, to[i]->addr);
		got = swim_pick(s, k, ok_alive, NULL, to);
		for (size_t i = 0; i < got; i++)
			swim_ask_state(s, to[i]->addr);
		return;
	}
	if (swim_pick(s, 1, ok_alive, NULL, to) == 1)
		swim_send_state(s, to[0]->addr, 1);
}

static int ok_seed(const struct swim *s, const struct swim_member *m, const void *arg)
{
	(void)arg;
	if (s->nseeds == 0)
		return 1;
	for (size_t i = 0; i < s->nseeds; i++)
		if (memcmp(s->seeds[i], m->addr, SWIM_ADDR_LEN) == 0)
			return 1;
	return 0;
}

static int ok_reconnect(const struct swim *s, const struct swim_member *m, const void *arg)
{
	(void)s;
	(void)arg;
	return m->state == SWIM_UNKNOWN || m->state == SWIM_DEAD;
}

/* Alone: push-pull with up to 3 seeds every period. Otherwise, now and then, try one
 * admitted member we do not see (never heard of, or dead): this heals partitions. */
static void join_step(struct swim *s)
{
	if (s->now < s->next_join)
		return;
	struct swim_member *to[3];
	size_t got;
	if (swim_live_count(s) <= 1) {
		got = swim_pick(s, 3, ok_seed, NULL, to);
		s->next_join = s->now + s->cfg.probe_interval_ms;
		/* What the seeds answer is a packet each: catch up on the rest soon. */
		if (s->cfg.pushpull_interval_ms && s->next_pushpull > s->next_join)
			s->next_pushpull = s->next_join;
		s->ctr.joins += got > 0;
	} else {
		got = swim_pick(s, 1, ok_reconnect, NULL, to);
		uint64_t every = s->cfg.pushpull_interval_ms ? s->cfg.pushpull_interval_ms
		                                             : 30 * s->cfg.probe_interval_ms;
		s->next_join = s->now + every;
	}
	for (size_t i = 0; i < got; i++)
		swim_send_state(s, to[i]->addr, 1);
}

void swim_join(struct swim *s, uint64_t now)
{
	s->now = now;
	s->next_join = now;
	join_step(s);
}

void swim_tick(struct swim *s, uint64_t now)
{
	s->now = now;
	if (!s->leaving) {
		probe_step(s);
		relay_step(s);
		suspicion_step(s);
		pushpull_step(s);
		join_step(s);
	}
	gossip_step(s);
}

static void earliest(uint64_t *d, uint64_t t)
{
	if (t < *d)
		*d = t;
}

uint64_t swim_next_deadline(const struct swim *s)
{
	/* Nothing to gossip, no gossip tick: an idle member wakes for its probes, not five
	 * times a second (a broadcast queued meanwhile goes at once: next_gossip is past). */
	uint64_t d = swim_bcast_len(&s->bq) || s->leaving ? s->next_gossip : UINT64_MAX;
	if (s->leaving)
		return d;
	const struct swim_probe *p = &s->probe;
	if (p->active) {
		earliest(&d, p->end);
		if (!p->indirect_sent)
			earliest(&d, p->ack_deadline);
	} else {
		earliest(&d, s->next_probe);
	}
	for (size_t i = 0; i < SWIM_MAX_RELAYS; i++)
		if (s->relays[i].active)
			earliest(&d, s->relays[i].deadline);
	for (size_t i = 0; s->nsuspect && i < s->n; i++)
		if (s->m[i]->state == SWIM_SUSPECT && s->m[i]->susp_deadline) {
			earliest(&d, s->m[i]->susp_deadline);
			if (s->m[i]->susp_check)
				earliest(&d, s->m[i]->susp_check);
		}
	if (s->cfg.pushpull_interval_ms)
		earliest(&d, s->next_pushpull);
	earliest(&d, s->next_join);
	return d;
}
