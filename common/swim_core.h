/* swim_core.h: the SWIM + Lifeguard membership state machine, with no I/O and no clock of its own. */
#ifndef CANTEEN_SWIM_CORE_H
#define CANTEEN_SWIM_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "swim_bcast.h"
#include "swim_crypto.h"
#include "swim_wire.h"

/*
 * The caller feeds it decoded packet bodies from admitted senders (swim_handle) and the
 * time (every entry point takes now, in monotonic ms), calls swim_tick when
 * swim_next_deadline passes, and gets packet bodies to seal and send through io.send and
 * member changes through io.change. Randomness comes from a seed, so a unit test can
 * run a whole cluster in memory, deterministically.
 */

struct swim_config {
	uint64_t probe_interval_ms;    /* protocol period */
	uint64_t probe_timeout_ms;     /* direct ack timeout, < probe_interval_ms */
	uint64_t gossip_interval_ms;
	uint64_t pushpull_interval_ms; /* 0: no periodic push-pull */
	unsigned indirect_checks;      /* k members asked to probe indirectly */
	unsigned suspicion_min_mult;   /* min suspicion = this * max(1, log10 n) * interval */
	unsigned suspicion_max_mult;   /* max suspicion = this * min */
	unsigned retransmit_mult;      /* each update is sent this * ceil(log10(n + 1)) times */
	unsigned gossip_nodes;         /* members gossiped to per gossip interval */
	unsigned awareness_max;        /* local health multiplier cap (timeouts * (score + 1)) */
};

/*
 * What one admitted member can make us believe or send:
 * - Gossip about member X from anyone but X itself is ignored when its incarnation is more
 *   than SWIM_INC_JUMP_MAX above the one we hold for X (0 if we never heard of X). X's own
 *   word about itself has no such bound. Refutations are at most one above an accusation,
 *   and incarnations stop at SWIM_INC_MAX (swim_wire.h): raising a member to the top takes
 *   2^63 / SWIM_INC_JUMP_MAX accusations, so incarnations never wrap.
 * - LEFT is honoured only from the leaving member itself (the packet's authenticated
 *   sender); from anyone else it is a DEAD claim, which the subject can refute.
 * - One received packet causes at most SWIM_REPLY_MAX bytes on the wire (sealed packets,
 *   overhead included) sent because of it (acks, relayed pings, state), and a push-pull reply goes to a member at most once
 *   per protocol period, in one packet (successive replies walk the member list).
 */
#define SWIM_INC_JUMP_MAX 1048576 /* incarnations: the most third-party gossip may raise one */
#define SWIM_REPLY_MAX SWIM_PKT_MAX /* bytes on the wire sent in answer to one received packet */
_Static_assert(SWIM_BODY_MAX + SWIM_PKT_OVERHEAD == SWIM_PKT_MAX, "a full body fills a packet");

/*
 * Small clusters probe faster: the protocol period is probe_interval_ms scaled by
 * n / SWIM_FULL_PERIOD_N (n: live members, self included), never below
 * min(SWIM_PERIOD_FLOOR_MS, probe_interval_ms) nor above probe_interval_ms; the ack timeout
 * and the suspicion bounds scale with it. Each member still sends one probe per period, so
 * a member's load is at most probe_interval_ms / SWIM_PERIOD_FLOOR_MS times the large-cluster
 * load, and is flat in n from SWIM_FULL_PERIOD_N members on.
 */
#define SWIM_FULL_PERIOD_N 20     /* members: from this many on, the full probe_interval_ms */
#define SWIM_PERIOD_FLOOR_MS 200  /* ms: the shortest period scaling may give */
/*
 * The suspicion minimum grows with log10 n (SWIM/Lifeguard: time for a refutation to
 * spread), up to this factor (about 32 members). Past it the refutation does not need
 * gossip's depth: every member holding a suspicion tells the suspect directly, twice
 * (swim_suspicion_check), and the suspect answers each straight back, so the time a live
 * member needs to refute is a few round trips whatever n. Uncapped, 1,000 members waited
 * 9 s (3 x 3 periods) before declaring a crashed member dead.
 */
#define SWIM_SUSPICION_SCALE_MAX 1.5

#define SWIM_CATCHUP_IDLE 8        /* catch-up pulls that teach nothing before stopping (+ n/16) */
#define SWIM_CATCHUP_PULLS 4       /* most catch-up pulls of each kind per probe interval */
#define SWIM_CATCHUP_SPAN 128      /* one more pull of each kind per this many unknown */

/* Lifeguard's k: independent confirmations that take a suspicion from its maximum timeout
 * down to its minimum (fewer when fewer than k + 2 members are live: n - 2). */
#define SWIM_SUSP_K 3
#define SWIM_SUSP_CONFIRM_MAX 32
#define SWIM_MAX_RELAYS 64
#define SWIM_MAX_SEEDS 32

struct swim_member {
	uint8_t addr[SWIM_ADDR_LEN];
	int state;               /* enum swim_state; SWIM_UNKNOWN until first heard of */
	uint64_t incarnation;
	uint64_t state_since;    /* ms of the last state change */
	int has_meta;
	uint16_t meta_len;
	uint8_t meta[SWIM_META_MAX];
	/* suspicion (Lifeguard): active while susp_deadline != 0 */
	uint64_t susp_start, susp_deadline, susp_min, susp_max;
	unsigned susp_k, susp_n;
	uint8_t susp_from[SWIM_SUSP_CONFIRM_MAX][SWIM_ADDR_LEN];
	uint64_t susp_check;     /* when to tell the suspect directly (0: done), see swim_core.c */
	uint64_t last_hint;      /* last time we told it how we see it */
	uint64_t last_state_reply; /* last time we answered its push-pull (0: never) */
	int in_round;            /* in the rest of this probe round (swim_probe.c) */
	void *user;              /* the caller's, untouched here */
};

struct swim_io {
	/* Send body (len <= SWIM_BODY_MAX) to the admitted member addr. */
	void (*send)(void *arg, const uint8_t to[SWIM_ADDR_LEN], const uint8_t *body, size_t len);
	/* m's state or metadata changed (old is its previous state). */
	void (*change)(void *arg, const struct swim_member *m, int old_state, int meta_changed);
	void *arg;
};

struct swim_counters {
	uint64_t probes, acks, indirect, nacks_in, nacks_out, suspicions, refutes;
	uint64_t pushpulls, joins, paused;
	uint64_t replies_capped;  /* sends dropped: a packet's reply budget was spent */
	uint64_t pushpulls_refused; /* push-pull replies not sent: one this period already */
	uint64_t gossip_ignored;  /* third-party gossip past SWIM_INC_JUMP_MAX, or LEFT not from its subject */
};

struct swim;

/* Owned by the caller; self is this node's address (admitted implicitly). */
struct swim *swim_new(const struct swim_config *cfg, const uint8_t self[SWIM_ADDR_LEN],
                      const struct swim_io *io, uint64_t seed, uint64_t now);
void swim_free(struct swim *s);

/* Admission: members exist only while admitted. swim_admit returns the member (new ones
 * start SWIM_UNKNOWN) or NULL (no memory). swim_revoke forgets one entirely. */
struct swim_member *swim_admit(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN]);
void swim_revoke(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN]);
struct swim_member *swim_find(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN]);
/* Members in address order, self included (unknown ones too). */
size_t swim_count(const struct swim *s);
struct swim_member *swim_at(struct swim *s, size_t i);
const struct swim_member *swim_self(const struct swim *s);

/* Join through these members first (default: any admitted member). */
void swim_add_seed(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN]);
/* Contact seeds now (also done on its own while this node knows nobody). */
void swim_join(struct swim *s, uint64_t now);

/* A decoded body from the admitted member from. */
void swim_handle(struct swim *s, const uint8_t from[SWIM_ADDR_LEN], const struct swim_body *b,
                 uint64_t now);
void swim_tick(struct swim *s, uint64_t now);
uint64_t swim_next_deadline(const struct swim *s);

/* Set this node's metadata (<= SWIM_META_MAX) and gossip it. 0 or -1. */
int swim_set_meta(struct swim *s, const uint8_t *meta, size_t len, uint64_t now);
/* Graceful leave: gossip "left" and tell every live member directly. */
void swim_leave(struct swim *s, uint64_t now);

int swim_health(const struct swim *s); /* Lifeguard local health score, 0 = healthy */
const struct swim_counters *swim_counters(const struct swim *s);
/* The protocol period for n live members (self included), in ms (see SWIM_FULL_PERIOD_N). */
uint64_t swim_period(const struct swim_config *cfg, size_t n);
/* The direct ack timeout for n live members, in ms: probe_timeout_ms scaled as the period. */
uint64_t swim_probe_timeout(const struct swim_config *cfg, size_t n);
/* The suspicion timeout bounds for n live members, in ms. */
void swim_suspicion_bounds(const struct swim_config *cfg, size_t n, uint64_t *min,
                           uint64_t *max);
/* Lifeguard: timeout after c of k confirmations, between min and max. */
uint64_t swim_suspicion_timeout(uint64_t min, uint64_t max, unsigned c, unsigned k);

#endif
