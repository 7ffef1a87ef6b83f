/* sched.c: canteen-sched's loop: follow chain and swim, place, publish, hand our share to dockerd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docker_spec.h"
#include "log.h"
#include "rec.h"
#include "replstate.h"
#include "sched.h"
#include "sockets.h"

static void recompute(struct loop *l, void *arg);

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Debounced: the first change arms the timer, later ones ride along. */
static void changed(struct sched *s)
{
	if (s->timer)
		return;
	s->timer = loop_timer_add(s->loop, s->conf.debounce_ms, recompute, s);
	if (!s->timer)
		log_warnx("cannot arm the recompute timer (out of memory)");
}

/* ---- inputs ---- */

static void on_chain_msg(struct ipc_client *c, json_t *msg, void *arg)
{
	struct sched *s = arg;
	char err[512];
	int rc = place_state_chain(s->st, msg, err, sizeof err);
	if (rc < 0)
		log_warnx("chain.sock: %s", err);
	else if (err[0])
		log_warnx("chain.sock: %s", err);
	if (rc > 0)
		changed(s);
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (rc > 0 && type && strcmp(type, "snapshot.end") == 0) {
		log_info("chain snapshot applied");
		ipc_client_backoff_reset(c); /* a whole snapshot came: chainwatch works */
	}
	if (type && strcmp(type, "rpc.down") == 0 && !json_object_get(msg, "endpoint")) /* not one of several */
		log_info("chainwatch reports its RPC down: scheduling on the last known state");
}

static void settled(struct loop *l, void *arg)
{
	struct sched *s = arg;
	(void)l;
	s->settle_timer = 0;
	size_t n = place_state_held(s->st);
	if (place_state_release(s->st) > 0) {
		log_info("membership settled: %zu member(s) canteen-swim still does not report are "
		         "no longer counted live", n);
		changed(s);
	}
}

static void startup_settled(struct loop *l, void *arg)
{
	struct sched *s = arg;
	(void)l;
	s->startup_timer = 0;
	if (!s->settled) {
		s->settled = 1;
		changed(s);
	}
}

static void on_swim_msg(struct ipc_client *c, json_t *msg, void *arg)
{
	struct sched *s = arg;
	char err[512];
	size_t held_before = place_state_held(s->st);
	int rc = place_state_swim(s->st, msg, err, sizeof err);
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (rc > 0 && type && strcmp(type, "snapshot") == 0)
		ipc_client_backoff_reset(c);
	if (rc < 0)
		log_warnx("swim.sock: %s", err);
	else if (err[0])
		log_warnx("swim.sock: %s", err);
	size_t held = place_state_held(s->st);
	if (held && !held_before) {
		if (s->conf.membership_settle_ms == 0) {
			place_state_release(s->st);
		} else {
			log_info("the membership snapshot omits %zu member(s) known alive: keeping them "
			         "for %llu ms while canteen-swim settles", held,
			         (unsigned long long)s->conf.membership_settle_ms);
			if (!s->settle_timer)
				s->settle_timer =
				    loop_timer_add(s->loop, s->conf.membership_settle_ms, settled, s);
			if (!s->settle_timer) {
				log_warnx("cannot arm the settle timer (out of memory): trusting the snapshot");
				place_state_release(s->st);
			}
		}
	} else if (!held && s->settle_timer) {
		loop_timer_cancel(s->loop, s->settle_timer);
		s->settle_timer = 0;
	}
	/* A server's replica states changed: a replica of ours that waits for another
	 * server to stop it may go now. */
	if (place_state_meta_changed(s->st) && s->waiting)
		changed(s);
	if (rc > 0)
		changed(s);
}

static void subscribe(struct ipc_client *c, const char *what)
{
	json_t *m = json_pack("{s:s}", "op", "subscribe");
	if (!m || ipc_client_send(c, m) < 0)
		log_warnx("%s: cannot send subscribe", what);
	json_decref(m);
}

static void on_chain_state(struct ipc_client *c, int up, void *arg)
{
	(void)arg;
	if (up) {
		log_info("chain.sock connected: subscribing");
		subscribe(c, SOCK_CHAIN);
	} else {
		log_info("chain.sock away: keeping the last desired state");
	}
}

static void on_swim_state(struct ipc_client *c, int up, void *arg)
{
	(void)arg;
	if (up) {
		log_info("swim.sock connected: subscribing");
		subscribe(c, SOCK_SWIM);
	} else {
		log_info("swim.sock away: keeping the last membership");
	}
}

/* ---- dockerd ---- */

static void send_desired(struct sched *s)
{
	if (!s->desired || !ipc_client_connected(s->dockerd))
		return;
	if (ipc_client_send(s->dockerd, s->desired) < 0) {
		log_warnx("dockerd.sock: cannot queue the desired set");
		return;
	}
	s->desired_sent = 1;
	s->desired_acked = 0;
	log_debug("desired set sent to dockerd (%zu containers)",
	          json_array_size(json_object_get(s->desired, "containers")));
}

/* dockerd's "rejected" list [{service, replica, error}] as "service/replica" -> error.
 * Anything may write to a socket: malformed entries are skipped, the list is bounded. */
static json_t *refused_of(const json_t *list)
{
	json_t *out = json_object(), *r;
	size_t i;
	if (!out || !json_is_array(list))
		return out;
	json_array_foreach(list, i, r) {
		const char *svc = json_string_value(json_object_get(r, "service"));
		const char *why = json_string_value(json_object_get(r, "error"));
		json_t *rep = json_object_get(r, "replica");
		char key[96];
		if (i >= SCHED_LIST_MAX || !svc || !why || !json_is_integer(rep) ||
		    !rec_name_ok(svc, strlen(svc)) || json_integer_value(rep) < 0 ||
		    json_integer_value(rep) >= REC_RUN_REPLICAS_MAX)
			continue;
		/* At most 200 bytes of the reason, cut at a character boundary. */
		size_t n = strnlen(why, 200);
		while (n > 0 && why[n] && ((unsigned char)why[n] & 0xc0) == 0x80)
			n--;
		snprintf(key, sizeof key, "%s/%lld", svc, (long long)json_integer_value(rep));
		json_object_set_new(out, key, json_stringn(why, n));
	}
	return out;
}

static void on_dockerd_msg(struct ipc_client *c, json_t *msg, void *arg)
{
	struct sched *s = arg;
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (type && strcmp(type, "ok") == 0) {
		ipc_client_backoff_reset(c); /* dockerd took the desired set: it works */
		s->desired_acked = 1;
		json_t *refused = refused_of(json_object_get(msg, "rejected"));
		if (refused && !json_equal(refused, s->refused)) {
			if (json_object_size(refused))
				log_warnx("dockerd refused %zu container(s) of the desired set",
				          json_object_size(refused));
			json_decref(s->refused);
			s->refused = refused;
			refused = NULL;
			changed(s); /* the summary reports them */
		}
		json_decref(refused);
	} else if (type && strcmp(type, "error") == 0) {
		const char *e = json_string_value(json_object_get(msg, "error"));
		log_warnx("dockerd refused the desired set: %s", e ? e : "no reason given");
	}
	/* Other answers (per-spec rejects and the like) are dockerd's to log. */
}

static void on_dockerd_state(struct ipc_client *c, int up, void *arg)
{
	struct sched *s = arg;
	(void)c;
	s->desired_sent = s->desired_acked = 0;
	if (up) {
		log_info("dockerd.sock connected");
		send_desired(s);
	} else {
		log_info("dockerd.sock away: will send the desired set again when it is back");
	}
}

/* ---- building messages ---- */

/* Replica of svc into PLACEMENT's pending list, while the list has room. */
static void list_pending(json_t *pend, const char *svc, json_int_t replica, const char *why)
{
	if (json_array_size(pend) < SCHED_LIST_MAX)
		json_array_append_new(pend, json_pack("{s:s,s:I,s:s}", "service", svc, "replica",
		                                      replica, "reason", why));
}

/* One more replica pending for why (a reason name, or "rejected: ..."). */
static void count_pending(json_t **reasons, json_t *pend, const char *svc, size_t replica,
                          const char *why)
{
	list_pending(pend, svc, (json_int_t)replica, why);
	if (!*reasons && !(*reasons = json_object()))
		return;
	json_t *c = json_object_get(*reasons, why);
	json_object_set_new(*reasons, why, json_integer(c ? json_integer_value(c) + 1 : 1));
}

/* dockerd refused replica k of name when it was last sent: "rejected: why" into buf. */
static const char *refused_reason(const struct sched *s, const char *name, size_t k, char *buf,
                                  size_t buflen)
{
	char key[96];
	snprintf(key, sizeof key, "%s/%zu", name, k);
	const char *why = json_string_value(json_object_get(s->refused, key));
	if (!why)
		return NULL;
	snprintf(buf, buflen, "rejected: %s", why);
	return buf;
}

static void set_row(struct sched_row *row, const char *name, size_t placed, size_t pending,
                    json_t *reasons, const char *strategy, json_int_t priority,
                    json_int_t generation)
{
	snprintf(row->name, sizeof row->name, "%s", name);
	snprintf(row->strategy, sizeof row->strategy, "%s", strategy);
	row->placed = placed;
	row->pending = pending;
	row->reasons = reasons;
	row->priority = priority;
	row->generation = generation;
}

static void free_rows(struct sched_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(rows[i].reasons);
	free(rows);
}

/* The summary's services from offset on, limit of them at most, as JSON (owned by the
 * caller), built when asked for. */
static json_t *summary_json(const struct sched *s, size_t offset, size_t limit)
{
	json_t *svcs = json_array();
	for (size_t i = offset; svcs && i < s->nrows && i - offset < limit; i++) {
		const struct sched_row *row = &s->rows[i];
		json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:o,s:s,s:I,s:I}", "name", row->name, "replicas",
		                      (json_int_t)(row->placed + row->pending), "placed",
		                      (json_int_t)row->placed, "pending", (json_int_t)row->pending,
		                      "reasons", row->reasons ? json_deep_copy(row->reasons) : json_object(),
		                      "strategy", row->strategy, "priority", row->priority, "generation",
		                      row->generation);
		if (!o || json_array_append_new(svcs, o) < 0) {
			json_decref(svcs);
			return NULL;
		}
	}
	return svcs;
}

/* Services no server can run (place_state_rejected): every replica pending, with why;
 * one row each, from rows on. */
static size_t add_rejected(struct sched *s, json_t *pend, struct sched_row *rows)
{
	const char *name;
	json_t *why;
	size_t total = 0;
	json_object_foreach((json_t *)place_state_rejected(s->st), name, why) {
		json_t *svc = place_state_service(s->st, name), *reasons = json_object();
		json_int_t n = json_integer_value(json_object_get(svc, "replicas"));
		char reason[300];
		snprintf(reason, sizeof reason, "rejected: %s", json_string_value(why));
		for (json_int_t k = 0; k < n && json_array_size(pend) < SCHED_LIST_MAX; k++)
			list_pending(pend, name, k, reason);
		if (reasons)
			json_object_set_new(reasons, reason, json_integer(n));
		const char *strategy = json_string_value(json_object_get(svc, "strategy"));
		set_row(rows++, name, 0, (size_t)n, reasons, strategy ? strategy : "spread",
		        json_integer_value(json_object_get(svc, "priority")),
		        json_integer_value(json_object_get(svc, "generation")));
		total += (size_t)n;
	}
	return total;
}

/*
 * A stateful replica placed here that another live server still holds a container of, by
 * that server's replica states (canteen-sched(8)): its address, or NULL. Views of a
 * death differ between servers by a few seconds, so a server coming back may be given a
 * replica back while the server that took it over still runs it: this one waits until
 * that one has stopped it. *claims is built on first use (owned by the caller).
 */
static const char *claimed_elsewhere(const struct sched *s, json_t **claims, const json_t *svc,
                                     const char *name, size_t k)
{
	char key[32];
	if (!json_is_true(json_object_get(svc, "stateful")))
		return NULL;
	if (!*claims && !(*claims = place_state_claims(s->st)))
		return NULL;
	snprintf(key, sizeof key, "%08x/%zu", (unsigned)replstate_hash(name), k);
	return json_string_value(json_object_get(*claims, key));
}

static void hold_over(struct loop *l, void *arg)
{
	struct sched *s = arg;
	(void)l;
	s->hold_timer = 0;
	changed(s);
}

/* Fill in how long each dead server has been dead, keep the table on disk when it
 * changed, and arm a recompute for when the next hold ends. */
static void count_deaths(struct sched *s, const struct place_input *in)
{
	size_t n;
	struct place_node *nodes = place_state_nodes(s->st, &n);
	uint64_t now = mono_us() / 1000u;
	char err[256];
	int rc = place_dead_update(s->dead, nodes, n, now);
	if (rc < 0)
		log_warnx("out of memory counting how long servers are dead: counting from now");
	if (rc > 0 && place_dead_save(s->dead, s->dead_path, wall_ms(), now, err, sizeof err) < 0)
		log_warnx("%s", err);
	if (s->hold_timer) {
		loop_timer_cancel(s->loop, s->hold_timer);
		s->hold_timer = 0;
	}
	uint64_t next = place_dead_next_ms(s->dead, nodes, n, in->services, in->nservices, now);
	if (next && !(s->hold_timer = loop_timer_add(s->loop, next, hold_over, s)))
		log_warnx("cannot arm the hold timer (out of memory)");
}

/* PLACEMENT, the summary's rows (*nrows) and this node's desired set from one result. */
static int build(struct sched *s, const struct place_result *r, json_t **placement,
                 struct sched_row **rows, size_t *nrows, json_t **desired)
{
	*placement = *desired = NULL;
	*nrows = r->nservices + json_object_size(place_state_rejected(s->st));
	*rows = calloc(*nrows ? *nrows : 1, sizeof **rows);
	if (!*rows) {
		*nrows = 0;
		return -1;
	}
	json_t *assign = json_array(), *pend = json_array(), *mine = json_array();
	json_t *claims = NULL;
	int truncated = r->nslots > SCHED_LIST_MAX;
	s->waiting = 0;
	for (size_t i = 0; i < r->nservices; i++) {
		const struct place_service *ps = r->services[i];
		json_t *svc = place_state_service(s->st, ps->name), *reasons = NULL;
		size_t placed = 0, pending = 0;
		for (size_t k = 0; k < r->first[i + 1] - r->first[i]; k++) {
			const struct place_slot *sl = &r->slots[r->first[i] + k];
			const char *node = place_slot_node(r, sl);
			char why[300];
			if (node) {
				int me = strcmp(node, s->node) == 0;
				if (!truncated || me)
					json_array_append_new(assign, json_pack("{s:s,s:I,s:s,s:I}", "service", ps->name,
					                                        "replica", (json_int_t)k, "node", node,
					                                        "generation", (json_int_t)ps->generation));
				const char *other = me && svc ? claimed_elsewhere(s, &claims, svc, ps->name, k) : NULL;
				if (other) {
					snprintf(why, sizeof why, "waiting for %s to stop it", other);
					s->waiting++;
				} else if (me && svc) {
					json_array_append_new(mine, docker_spec_of_service(svc, ps->name, (uint32_t)k));
				}
				/* Placed here, but this server's dockerd refused it: say so. */
				if (other || (me && refused_reason(s, ps->name, k, why, sizeof why))) {
					pending++;
					count_pending(&reasons, pend, ps->name, k, why);
				} else {
					placed++;
				}
			} else {
				pending++;
				count_pending(&reasons, pend, ps->name, k, place_reason_str(sl->reason));
			}
		}
		set_row(&(*rows)[i], ps->name, placed, pending, reasons, place_strategy_str(ps->strategy),
		        ps->priority, (json_int_t)ps->generation);
	}
	json_decref(claims);
	size_t rejected = add_rejected(s, pend, *rows + r->nservices);
	*placement = json_pack("{s:s,s:b,s:o,s:o,s:I,s:I}", "hash", r->hash_hex, "ready", 1,
	                       "assignments", assign, "pending", pend, "placed", (json_int_t)r->placed,
	                       "pending_count", (json_int_t)(r->pending + rejected));
	if (*placement && truncated)
		json_object_set_new(*placement, "truncated", json_true());
	*desired = json_pack("{s:s,s:s,s:o}", "op", "desired", "node", s->node, "containers", mine);
	return *placement && *desired ? 0 : -1;
}

static void recompute(struct loop *l, void *arg)
{
	struct sched *s = arg;
	struct place_input in;
	struct place_result *r = NULL;
	json_t *placement = NULL, *desired = NULL;
	struct sched_row *rows = NULL;
	size_t nrows = 0;
	char err[256];
	(void)l;
	s->timer = 0;
	if (!place_state_ready(s->st)) {
		log_debug("waiting for both chain and membership snapshots before placing");
		return;
	}
	/* Just started: canteen-swim may not have heard from everyone yet. Until it has, or
	 * until the settle time is over, place nothing (dockerd keeps what runs meanwhile)
	 * rather than take the unheard nodes' replicas for a moment. */
	size_t unheard = place_state_unheard(s->st);
	if (!s->settled && unheard > 0) {
		log_info("waiting for canteen-swim to hear from %zu active node(s) before the first "
		         "placement (at most %llu ms from start)", unheard,
		         (unsigned long long)s->conf.membership_settle_ms);
		return;
	}
	s->settled = 1;
	if (place_state_input(s->st, &in) < 0) {
		log_warnx("placement failed: out of memory");
		goto done;
	}
	count_deaths(s, &in);
	uint64_t t0 = mono_us();
	int prc = place_compute_cached(&in, s->cache, &r, err, sizeof err);
	s->compute_us += mono_us() - t0;
	if (prc < 0) {
		s->failures++;
		log_warnx("placement failed, keeping the last one: %s", err);
		goto done;
	}
	if (build(s, r, &placement, &rows, &nrows, &desired) < 0) {
		log_warnx("placement: out of memory building messages");
		goto done;
	}
	s->computations++;
	const char *old = json_string_value(json_object_get(s->placement, "hash"));
	/* The hash covers what is placed; a record no server can run, or a replica dockerd
	 * refused, changes only the (bounded) pending list: subscribers hear of that too. */
	if (!old || strcmp(old, r->hash_hex) != 0 ||
	    !json_equal(json_object_get(s->placement, "pending"), json_object_get(placement, "pending"))) {
		size_t n, sv, m;
		place_state_counts(s->st, &n, &sv, &m);
		log_info("placement %.16s: %zu placed, %zu pending, %zu here (%zu nodes, %zu services, "
		         "%zu members)", r->hash_hex, r->placed, r->pending,
		         json_array_size(json_object_get(desired, "containers")), n, sv, m);
		json_t *ev = json_deep_copy(placement);
		if (ev) {
			json_object_set_new(ev, "type", json_string("placement"));
			ipc_publish(s->srv, ev);
			json_decref(ev);
		}
	}
	json_decref(s->placement);
	free_rows(s->rows, s->nrows);
	s->placement = placement;
	s->rows = rows;
	s->nrows = nrows;
	placement = NULL;
	rows = NULL;
	nrows = 0;
	/* Sent when it changed, or again while dockerd has not acknowledged it. */
	if (!s->desired || !json_equal(s->desired, desired) || !s->desired_sent || !s->desired_acked) {
		json_decref(s->desired);
		s->desired = desired;
		desired = NULL;
		send_desired(s);
	}
done:
	json_decref(placement);
	free_rows(rows, nrows);
	json_decref(desired);
	place_result_free(r);
}

/* ---- sched.sock ---- */

static json_t *current_placement(const struct sched *s)
{
	if (s->placement)
		return json_deep_copy(s->placement);
	return json_pack("{s:s,s:b,s:[],s:[],s:i,s:i}", "hash", "", "ready", 0, "assignments",
	                 "pending", "placed", 0, "pending_count", 0);
}

static void on_sched_msg(struct ipc_conn *c, json_t *msg, void *arg)
{
	struct sched *s = arg;
	const char *op = json_string_value(json_object_get(msg, "op"));
	json_t *a = NULL;
	if (!op) {
		ipc_reply_error(c, msg, "request has no \"op\"");
		return;
	}
	if (strcmp(op, "subscribe") == 0 && ipc_conn_subscribed(c)) {
		ipc_reply_error(c, msg, "already subscribed");
		return;
	}
	if (strcmp(op, "subscribe") == 0) {
		a = json_pack("{s:s,s:o}", "type", "snapshot", "placement", current_placement(s));
		if (!a || ipc_subscribe(c, a) < 0)
			log_warnx("sched.sock: cannot send a snapshot");
		json_decref(a);
		return;
	}
	if (strcmp(op, "placement") == 0) {
		a = current_placement(s);
		if (a)
			json_object_set_new(a, "type", json_string("placement"));
	} else if (strcmp(op, "summary") == 0) {
		/* In pages when asked: at 10,000 services the whole summary is longer than the
		 * line a client reads (bench/scale-chain). */
		json_t *off = json_object_get(msg, "offset"), *lim = json_object_get(msg, "limit");
		if ((off && (!json_is_integer(off) || json_integer_value(off) < 0)) ||
		    (lim && (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
		             json_integer_value(lim) > SCHED_SUMMARY_PAGE))) {
			ipc_reply_error(c, msg, "summary: \"offset\" must be an integer from 0 and \"limit\" "
			                "one from 1 to %d", SCHED_SUMMARY_PAGE);
			return;
		}
		a = json_pack("{s:s,s:s,s:o,s:I}", "type", "summary", "hash",
		              s->placement ? json_string_value(json_object_get(s->placement, "hash")) : "",
		              "services",
		              summary_json(s, off ? (size_t)json_integer_value(off) : 0,
		                           lim ? (size_t)json_integer_value(lim) : s->nrows),
		              "total", (json_int_t)s->nrows);
	} else if (strcmp(op, "status") == 0) {
		size_t n, sv, m;
		place_state_counts(s->st, &n, &sv, &m);
		a = json_pack("{s:s,s:s,s:b,s:b,s:b,s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "type",
		              "status", "node",
		              s->node, "chain", ipc_client_connected(s->chain), "swim",
		              ipc_client_connected(s->swim), "dockerd", ipc_client_connected(s->dockerd),
		              "ready", place_state_ready(s->st), "hash",
		              s->placement ? json_string_value(json_object_get(s->placement, "hash")) : "",
		              "nodes", (json_int_t)n, "services", (json_int_t)sv, "members", (json_int_t)m,
		              "computations", (json_int_t)s->computations, "compute_us",
		              (json_int_t)s->compute_us, "failures", (json_int_t)s->failures,
		              "desired_acked", s->desired_acked);
		if (a && s->placement) {
			json_object_set(a, "placed", json_object_get(s->placement, "placed"));
			json_object_set(a, "pending", json_object_get(s->placement, "pending_count"));
		}
	} else {
		ipc_reply_error(c, msg, "unknown op '%.64s' (subscribe, placement, summary, status)", op);
		return;
	}
	if (!a || ipc_reply(c, msg, a) < 0)
		log_warnx("sched.sock: cannot answer '%s'", op);
	json_decref(a);
}

int sched_start(struct sched *s, char *err, size_t errlen)
{
	s->st = place_state_new();
	s->cache = place_cache_new();
	if (!s->st || !s->cache) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	place_state_set_self(s->st, s->node);
	if (!(s->dead = place_dead_new())) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(s->dead_path, sizeof s->dead_path, "%s/sched.dead", s->conf.rundir);
	char why[512];
	if (place_dead_load(s->dead, s->dead_path, wall_ms(), mono_us() / 1000u, why, sizeof why) < 0)
		log_warnx("%s: counting dead servers' time from now", why);
	s->settled = s->conf.membership_settle_ms == 0;
	if (!s->settled) {
		s->startup_timer = loop_timer_add(s->loop, s->conf.membership_settle_ms, startup_settled, s);
		if (!s->startup_timer)
			s->settled = 1;
	}
	s->srv = ipc_listen(s->loop, s->sched_path, on_sched_msg, NULL, s, err, errlen);
	if (!s->srv)
		return -1;
	s->chain = ipc_client_new(s->loop, s->chain_path, on_chain_msg, on_chain_state, s);
	s->swim = ipc_client_new(s->loop, s->swim_path, on_swim_msg, on_swim_state, s);
	s->dockerd = ipc_client_new(s->loop, s->dockerd_path, on_dockerd_msg, on_dockerd_state, s);
	if (!s->chain || !s->swim || !s->dockerd) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void sched_stop(struct sched *s)
{
	if (s->timer)
		loop_timer_cancel(s->loop, s->timer);
	if (s->settle_timer)
		loop_timer_cancel(s->loop, s->settle_timer);
	if (s->startup_timer)
		loop_timer_cancel(s->loop, s->startup_timer);
	if (s->hold_timer)
		loop_timer_cancel(s->loop, s->hold_timer);
	place_dead_free(s->dead);
	ipc_client_free(s->chain);
	ipc_client_free(s->swim);
	ipc_client_free(s->dockerd);
	ipc_server_free(s->srv);
	place_state_free(s->st);
	place_cache_free(s->cache);
	json_decref(s->placement);
	free_rows(s->rows, s->nrows);
	json_decref(s->desired);
	json_decref(s->refused);
}
