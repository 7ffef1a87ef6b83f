/* swim_int.h: the SWIM state machine's internals, shared by swim_core.c and swim_probe.c only. */
#ifndef CANTEEN_SWIM_INT_H
#define CANTEEN_SWIM_INT_H

#include "swim_core.h"

struct swim_probe {
	int active, acked, indirect_sent;
	uint8_t target[SWIM_ADDR_LEN];
	uint32_t id;
	uint64_t start, ack_deadline, end;
	unsigned expected_nacks, nacks;
};

/* We probe target on behalf of origin (an indirect probe). */
struct swim_relay {
	int active, want_nack;
	uint32_t local_id, origin_id;
	uint8_t origin[SWIM_ADDR_LEN], target[SWIM_ADDR_LEN];
	uint64_t deadline;
};

struct swim {
	struct swim_config cfg;
	struct swim_io io;
	struct swim_member **m; /* sorted by address */
	uint64_t *mkey;         /* mkey[i]: m[i]'s first 8 address bytes, big-endian: the binary
	                         * search reads this array, not each member */
	size_t n, cap;
	size_t nsuspect;        /* members in SWIM_SUSPECT (swim_next_deadline skips the scan) */
	struct swim_member *self;
	struct swim_bcast bq;
	uint64_t rng, now;
	int awareness;
	int leaving;
	/* probing: a shuffled round-robin list of addresses */
	uint8_t (*order)[SWIM_ADDR_LEN];
	size_t norder, order_pos, order_cap;
	struct swim_probe probe;
	uint64_t next_probe;
	uint32_t next_id;
	struct swim_relay relays[SWIM_MAX_RELAYS];
	uint64_t next_gossip, next_pushpull, next_join;
	uint8_t seeds[SWIM_MAX_SEEDS][SWIM_ADDR_LEN];
	size_t nseeds;
	struct swim_counters ctr;
	int handling;          /* inside swim_handle: sends spend reply_left */
	int doubted_self;       /* this packet holds us failed at an incarnation we cannot refute */
	size_t reply_left;     /* bytes of body the packet being handled may still cause */
	size_t pp_cursor;      /* where the next push-pull reply starts in the member list */
	uint64_t learned;      /* members that went from unknown to known, ever */
	uint64_t pp_learned;   /* learned when the last periodic push-pull went out */
	uint64_t pp_idle;      /* push-pulls since one last taught us a member */
};

/* swim_core.c */
uint64_t swim_rand(struct swim *s);
int swim_is_self(const struct swim *s, const uint8_t addr[SWIM_ADDR_LEN]);
size_t swim_live_count(const struct swim *s);
size_t swim_known_count(const struct swim *s);
void swim_awareness(struct swim *s, int delta);
void swim_apply_suspect(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN], uint64_t inc,
                        const uint8_t from[SWIM_ADDR_LEN]);
void swim_apply_dead(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN], uint64_t inc,
                     const uint8_t from[SWIM_ADDR_LEN], int left);
/* Send body[0..off) to addr, topped up with queued gossip when piggyback is set. */
void swim_send(struct swim *s, const uint8_t to[SWIM_ADDR_LEN], uint8_t *body, size_t off,
               int piggyback);
/* Our state to to: all of it in as many packets as it takes (want_reply: a request), or
 * as a reply one packet of it, starting at pp_cursor. */
/* Tell suspect m directly that we suspect it, so that it can answer its refutation. */
void swim_suspicion_check(struct swim *s, struct swim_member *m);
void swim_send_state(struct swim *s, const uint8_t to[SWIM_ADDR_LEN], int want_reply);
void swim_reply_state(struct swim *s, const uint8_t to[SWIM_ADDR_LEN]);
/* A push-pull request carrying only us (one small packet; the answer is one packet). */
void swim_ask_state(struct swim *s, const uint8_t to[SWIM_ADDR_LEN]);

/* swim_probe.c */
void swim_probe_insert(struct swim *s, struct swim_member *m);
void swim_probe_forget(struct swim *s, const uint8_t addr[SWIM_ADDR_LEN]);
void swim_probe_handle_ack(struct swim *s, const uint8_t from[SWIM_ADDR_LEN], uint32_t id);
void swim_probe_handle_nack(struct swim *s, uint32_t id);
void swim_probe_handle_req(struct swim *s, const uint8_t from[SWIM_ADDR_LEN],
                           const struct swim_msg *m);
/* Up to k distinct random members passing ok(); returns how many went into out. */
size_t swim_pick(struct swim *s, size_t k, int (*ok)(const struct swim *, const struct swim_member *,
                                                    const void *), const void *arg,
                 struct swim_member **out);

#endif
