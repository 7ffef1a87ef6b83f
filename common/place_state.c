/* place_state.c: decode chain.sock and swim.sock messages into the placement's inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errf.h"
#include "place_state.h"
#include "rec.h"
#include "replstate.h"

struct place_state {
	json_t *nodes;      /* address -> NODE */
	json_t *services;   /* name -> SERVICE */
	json_t *members;    /* address -> "alive" | "suspect" | "dead" | "left" */
	json_t *held;       /* address -> true: kept from before a snapshot that omitted it */
	json_t *metas;      /* address -> its metadata (canteen-dockerd's replica states) */
	int meta_changed;   /* some member's metadata changed since place_state_meta_changed */
	json_t *rejected;   /* name -> why no server can run it (rec_service_runnable) */
	char self[64];      /* this node (place_state_set_self): always live */
	int have_chain, have_swim;
	/* A chain snapshot being assembled (snapshot.begin seen, snapshot.end not yet):
	 * applied at its end line only, and bounded by REC_SNAP_MAX_RECORDS/_BYTES. */
	json_t *snap_nodes, *snap_svcs; /* NULL: none */
	size_t snap_lines, snap_bytes, snap_bad;
	char snap_why[256];
	/* place_state_input's arrays */
	struct place_node *in_nodes;
	size_t in_nnodes;
	struct place_service *in_svcs;
	struct place_label *in_labels;
	struct place_port *in_ports;
};

struct place_state *place_state_new(void)
{
	struct place_state *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	st->nodes = json_object();
	st->services = json_object();
	st->members = json_object();
	st->held = json_object();
	st->metas = json_object();
	st->rejected = json_object();
	if (!st->nodes || !st->services || !st->members || !st->held || !st->rejected ||
	    !st->metas) {
		place_state_free(st);
		return NULL;
	}
	return st;
}

static void free_input(struct place_state *st)
{
	free(st->in_nodes);
	free(st->in_svcs);
	free(st->in_labels);
	free(st->in_ports);
	st->in_nodes = NULL;
	st->in_svcs = NULL;
	st->in_labels = NULL;
	st->in_ports = NULL;
}

void place_state_free(struct place_state *st)
{
	if (!st)
		return;
	json_decref(st->nodes);
	json_decref(st->services);
	json_decref(st->members);
	json_decref(st->metas);
	json_decref(st->held);
	json_decref(st->rejected);
	json_decref(st->snap_nodes);
	json_decref(st->snap_svcs);
	free_input(st);
	free(st);
}

/* ---- validation: the records' rules are rec.h's ---- */

static const char *const member_states[] = {"alive", "suspect", "dead", "left"};

int place_state_check_member(const json_t *m, char *err, size_t errlen)
{
	const char *a = json_string_value(json_object_get(m, "address"));
	const char *state = json_string_value(json_object_get(m, "state"));
	if (!json_is_object(m) || !rec_address_ok(a)) {
		errf(err, errlen, "member without a valid address");
		return -1;
	}
	for (size_t i = 0; state && i < sizeof member_states / sizeof member_states[0]; i++)
		if (strcmp(state, member_states[i]) == 0)
			return 0;
	errf(err, errlen, "member %s: state must be alive, suspect, dead or left", a);
	return -1;
}

/* ---- applying messages ---- */

typedef int (*check_fn)(const json_t *, char *, size_t);

/* Replace table with the valid entries of array (keyed by field). Counts left-outs. */
static int load_all(json_t **table, json_t *array, const char *field, check_fn check,
                    const char *what, char *err, size_t errlen)
{
	if (!json_is_array(array)) {
		errf(err, errlen, "snapshot without a \"%ss\" array", what);
		return -1;
	}
	json_t *t = json_object(), *v;
	size_t i, bad = 0;
	char why[256] = "";
	if (!t) {
		errf(err, errlen, "out of memory");
		return -1;
	}
	json_array_foreach(array, i, v) {
		const char *key;
		if (check(v, bad ? NULL : why, sizeof why) < 0 ||
		    !(key = json_string_value(json_object_get(v, field))) || json_object_get(t, key)) {
			if (!bad && !why[0])
				snprintf(why, sizeof why, "duplicate %s", what);
			bad++;
			continue;
		}
		json_object_set(t, key, v);
	}
	json_decref(*table);
	*table = t;
	if (bad)
		errf(err, errlen, "left out %zu %s(s): %s", bad, what, why);
	return 0;
}

static void snap_drop(struct place_state *st)
{
	json_decref(st->snap_nodes);
	json_decref(st->snap_svcs);
	st->snap_nodes = st->snap_svcs = NULL;
	st->snap_lines = st->snap_bytes = st->snap_bad = 0;
	st->snap_why[0] = '\0';
}

static int snap_begin(struct place_state *st, char *err, size_t errlen)
{
	int restarted = st->snap_nodes != NULL;
	snap_drop(st);
	st->snap_nodes = json_object();
	st->snap_svcs = json_object();
	if (!st->snap_nodes || !st->snap_svcs) {
		snap_drop(st);
		errf(err, errlen, "out of memory");
		return -1;
	}
	if (restarted)
		errf(err, errlen, "snapshot.begin before the last snapshot's end: that one is dropped");
	return 0;
}

/* One NODE or SERVICE line of the snapshot being assembled. A malformed or repeated
 * record is left out (counted); one past the bounds drops the whole snapshot. */
static int snap_record(struct place_state *st, json_t *rec, int service, char *err,
                       size_t errlen)
{
	const char *what = service ? "service" : "node", *field = service ? "name" : "address";
	json_t *t = service ? st->snap_svcs : st->snap_nodes;
	check_fn check = service ? rec_service_check : rec_node_check;
	if (!t) {
		errf(err, errlen, "a %s line outside a snapshot", what);
		return -1;
	}
	size_t size = rec ? json_dumpb(rec, NULL, 0, JSON_COMPACT) : 0;
	if (++st->snap_lines > REC_SNAP_MAX_RECORDS || size > REC_SNAP_MAX_BYTES - st->snap_bytes) {
		snap_drop(st);
		errf(err, errlen, "snapshot over %d records or %d bytes: dropped, the last state stays",
		     REC_SNAP_MAX_RECORDS, REC_SNAP_MAX_BYTES);
		return -1;
	}
	st->snap_bytes += size;
	char why[256];
	const char *key = NULL;
	if (check(rec, why, sizeof why) < 0 || !(key = json_string_value(json_object_get(rec, field))) ||
	    json_object_get(t, key)) {
		const char *a = json_string_value(json_object_get(rec, field));
		if (st->snap_bad++ == 0)
			errf(st->snap_why, sizeof st->snap_why, "%s %.64s: %s", what, a ? a : "?",
			     key && json_object_get(t, key) ? "repeated" : why);
		return 0;
	}
	json_object_set(t, key, rec);
	return 0;
}

/* The counts the end line announces must be the lines received: else a line was lost. */
static int snap_end(struct place_state *st, json_t *msg, char *err, size_t errlen)
{
	json_t *nn = json_object_get(msg, "nodes"), *ns = json_object_get(msg, "services");
	if (!st->snap_nodes) {
		errf(err, errlen, "snapshot.end without snapshot.begin");
		return -1;
	}
	if (!json_is_integer(nn) || !json_is_integer(ns) ||
	    (size_t)json_integer_value(nn) + (size_t)json_integer_value(ns) != st->snap_lines ||
	    json_integer_value(nn) < 0 || json_integer_value(ns) < 0) {
		errf(err, errlen, "snapshot.end announces other counts than the %zu records received: "
		     "dropped, the last state stays", st->snap_lines);
		snap_drop(st);
		return -1;
	}
	json_decref(st->nodes);
	json_decref(st->services);
	st->nodes = st->snap_nodes;
	st->services = st->snap_svcs;
	st->snap_nodes = st->snap_svcs = NULL;
	if (st->snap_bad)
		errf(err, errlen, "left out %zu malformed or repeated record(s): %s", st->snap_bad,
		     st->snap_why);
	snap_drop(st);
	st->have_chain = 1;
	return 1;
}

static int upsert(json_t *table, json_t *rec, const char *field, check_fn check, char *err,
                  size_t errlen)
{
	if (check(rec, err, errlen) < 0)
		return -1;
	json_object_set(table, json_string_value(json_object_get(rec, field)), rec);
	return 1;
}

static int remove_key(json_t *table, json_t *msg, const char *field, char *err, size_t errlen)
{
	const char *k = json_string_value(json_object_get(msg, field));
	if (!k) {
		errf(err, errlen, "remove event without \"%s\"", field);
		return -1;
	}
	return json_object_del(table, k) == 0 ? 1 : 0;
}

int place_state_chain(struct place_state *st, json_t *msg, char *err, size_t errlen)
{
	const char *type = json_string_value(json_object_get(msg, "type"));
	errf(err, errlen, "%s", "");
	if (!type) {
		errf(err, errlen, "message without \"type\"");
		return -1;
	}
	if (strcmp(type, "snapshot.begin") == 0)
		return snap_begin(st, err, errlen) < 0 ? -1 : 0;
	if (strcmp(type, "node") == 0 || strcmp(type, "service") == 0)
		return snap_record(st, json_object_get(msg, type), type[0] == 's', err, errlen);
	if (strcmp(type, "snapshot.end") == 0)
		return snap_end(st, msg, err, errlen);
	if (st->snap_nodes && strcmp(type, "error") != 0) {
		/* chainwatch queues a snapshot whole: an event inside one means lost lines. */
		snap_drop(st);
		errf(err, errlen, "a %.64s event inside a snapshot: the snapshot is dropped", type);
		return -1;
	}
	if (strcmp(type, "node.upsert") == 0)
		return upsert(st->nodes, json_object_get(msg, "node"), "address", rec_node_check,
		              err, errlen);
	if (strcmp(type, "service.upsert") == 0)
		return upsert(st->services, json_object_get(msg, "service"), "name",
		              rec_service_check, err, errlen);
	if (strcmp(type, "node.remove") == 0)
		return remove_key(st->nodes, msg, "address", err, errlen);
	if (strcmp(type, "service.remove") == 0)
		return remove_key(st->services, msg, "name", err, errlen);
	if (strcmp(type, "head") == 0 || strcmp(type, "rpc.down") == 0 || strcmp(type, "rpc.up") == 0 ||
	    strcmp(type, "rpc.disagree") == 0 || strcmp(type, "ok") == 0)
		return 0;
	if (strcmp(type, "error") == 0) {
		errf(err, errlen, "chainwatch: %s", json_string_value(json_object_get(msg, "error"))
		                                       ? json_string_value(json_object_get(msg, "error"))
		                                       : "unspecified error");
		return -1;
	}
	errf(err, errlen, "unknown chain event type '%.64s'", type);
	return -1;
}

/* Keep a member's metadata (a string of at most REPLSTATE_MAX bytes, else none). */
static void meta_set(struct place_state *st, const char *a, json_t *meta)
{
	json_t *old = json_object_get(st->metas, a);
	if (!json_is_string(meta) || json_string_length(meta) > REPLSTATE_MAX)
		meta = NULL;
	if (!old && !meta)
		return;
	if (old && meta && json_equal(old, meta))
		return;
	st->meta_changed = 1;
	if (meta)
		json_object_set(st->metas, a, meta);
	else
		json_object_del(st->metas, a);
}

static int member_set(struct place_state *st, json_t *m, char *err, size_t errlen)
{
	if (place_state_check_member(m, err, errlen) < 0)
		return -1;
	const char *a = json_string_value(json_object_get(m, "address"));
	const char *s = json_string_value(json_object_get(m, "state"));
	const char *old = json_string_value(json_object_get(st->members, a));
	json_object_del(st->held, a); /* swim speaks for it again */
	meta_set(st, a, json_object_get(m, "meta"));
	if (old && strcmp(old, s) == 0)
		return 0;
	json_object_set_new(st->members, a, json_string(s));
	return 1;
}

int place_state_swim(struct place_state *st, json_t *msg, char *err, size_t errlen)
{
	const char *type = json_string_value(json_object_get(msg, "type"));
	errf(err, errlen, "%s", "");
	if (!type) {
		errf(err, errlen, "message without \"type\"");
		return -1;
	}
	if (strcmp(type, "snapshot") == 0 || strcmp(type, "members") == 0) {
		json_t *self = json_object_get(msg, "self");
		/* canteen-swim says "self": null until the chain has admitted this node. */
		if (json_is_null(self))
			self = NULL;
		if (self && !rec_address_ok(json_string_value(self))) {
			errf(err, errlen, "membership snapshot with a bad \"self\"");
			return -1;
		}
		json_t *tmp = json_object();
		if (!tmp)
			return -1;
		if (load_all(&tmp, json_object_get(msg, "members"), "address", place_state_check_member,
		             "member", err, errlen) < 0) {
			json_decref(tmp);
			return -1;
		}
		json_t *mem = json_object(), *held = json_object(), *v;
		if (!mem || !held) {
			json_decref(mem);
			json_decref(held);
			json_decref(tmp);
			return -1;
		}
		const char *k;
		json_object_foreach(tmp, k, v)
			json_object_set(mem, k, json_object_get(v, "state"));
		json_t *gone = json_object();
		json_object_foreach(st->metas, k, v)
			if (gone && !json_object_get(tmp, k))
				json_object_set_new(gone, k, json_true());
		json_object_foreach(gone, k, v)
			meta_set(st, k, NULL);
		json_decref(gone);
		json_object_foreach(tmp, k, v)
			meta_set(st, k, json_object_get(v, "meta"));
		json_decref(tmp);
		/* A restarted canteen-swim has heard from nobody yet: members it omits that
		 * were alive or suspect keep that state until it reports them or the caller
		 * calls place_state_release. */
		json_object_foreach(st->members, k, v) {
			const char *s = json_string_value(v);
			if (json_object_get(mem, k) || !s ||
			    (strcmp(s, "alive") != 0 && strcmp(s, "suspect") != 0) ||
			    strcmp(k, st->self) == 0) /* always live */
				continue;
			json_object_set(mem, k, v);
			json_object_set_new(held, k, json_true());
		}
		if (self && st->self[0] && strcmp(json_string_value(self), st->self) != 0 && err) {
			size_t used = strnlen(err, errlen); /* after a "left out" warning, if any */
			errf(err + used, errlen - used, "%scanteen-swim says it is %.64s, but this node "
			       "is %s (do they read different node_name or key_file?)", used ? "; " : "",
			       json_string_value(self), st->self);
		}
		json_decref(st->members);
		st->members = mem;
		json_decref(st->held);
		st->held = held;
		st->have_swim = 1;
		return 1;
	}
	static const char *const events[] = {"member.alive", "member.suspect", "member.dead",
	                                     "member.left"};
	for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
		if (strcmp(type, events[i]) != 0)
			continue;
		json_t *m = json_object_get(msg, "member");
		const char *s = json_string_value(json_object_get(m, "state"));
		if (s && strcmp(s, events[i] + 7) != 0) {
			errf(err, errlen, "%s event for a member in state '%.16s'", type, s);
			return -1;
		}
		return member_set(st, m, err, errlen);
	}
	if (strcmp(type, "ok") == 0 || strcmp(type, "stats") == 0)
		return 0;
	errf(err, errlen, "unknown membership event type '%.64s'", type);
	return -1;
}

int place_state_ready(const struct place_state *st) { return st->have_chain && st->have_swim; }

size_t place_state_held(const struct place_state *st) { return json_object_size(st->held); }

size_t place_state_unheard(const struct place_state *st)
{
	const char *k;
	json_t *v;
	size_t n = 0;
	json_object_foreach(st->nodes, k, v) {
		if (!json_is_true(json_object_get(v, "active")) || json_object_get(st->members, k) ||
		    strcmp(k, st->self) == 0)
			continue;
		n++;
	}
	return n;
}

int place_state_release(struct place_state *st)
{
	const char *k;
	json_t *v;
	int changed = 0;
	json_object_foreach(st->held, k, v) {
		(void)v;
		json_object_del(st->members, k);
		changed = 1;
	}
	json_object_clear(st->held);
	return changed;
}

void place_state_set_self(struct place_state *st, const char *address)
{
	snprintf(st->self, sizeof st->self, "%s", address ? address : "");
}

json_t *place_state_service(const struct place_state *st, const char *name)
{
	return json_object_get(st->services, name);
}

void place_state_counts(const struct place_state *st, size_t *nodes, size_t *services,
                        size_t *members)
{
	*nodes = json_object_size(st->nodes);
	*services = json_object_size(st->services);
	*members = json_object_size(st->members);
}

/* ---- building the placement input ---- */

static size_t fill_labels(json_t *obj, struct place_label *out)
{
	const char *k;
	json_t *v;
	size_t n = 0;
	if (!json_is_object(obj))
		return 0;
	json_object_foreach(obj, k, v)
		out[n++] = (struct place_label){k, json_string_value(v)};
	return n;
}

static int64_t int_or(json_t *o, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static int is_live(const struct place_state *st, const char *address)
{
	const char *s = json_string_value(json_object_get(st->members, address));
	if (st->self[0] && strcmp(st->self, address) == 0)
		return 1;
	/* Suspect is not dead: its replicas stay until it is declared dead or leaves. */
	return s && (strcmp(s, "alive") == 0 || strcmp(s, "suspect") == 0);
}

int place_state_input(struct place_state *st, struct place_input *in)
{
	size_t nn = json_object_size(st->nodes), ns = json_object_size(st->services);
	size_t nlabels = 0, nports = 0;
	const char *k;
	json_t *v;
	free_input(st);
	json_object_foreach(st->nodes, k, v)
		nlabels += json_object_size(json_object_get(v, "labels"));
	json_object_foreach(st->services, k, v) {
		nlabels += json_object_size(json_object_get(v, "selector"));
		nports += json_array_size(json_object_get(v, "ports"));
	}
	st->in_nodes = calloc(nn ? nn : 1, sizeof *st->in_nodes);
	st->in_svcs = calloc(ns ? ns : 1, sizeof *st->in_svcs);
	st->in_labels = calloc(nlabels ? nlabels : 1, sizeof *st->in_labels);
	st->in_ports = calloc(nports ? nports : 1, sizeof *st->in_ports);
	if (!st->in_nodes || !st->in_svcs || !st->in_labels || !st->in_ports) {
		free_input(st);
		return -1;
	}
	struct place_label *lab = st->in_labels;
	struct place_port *port = st->in_ports;
	size_t i = 0;
	json_object_foreach(st->nodes, k, v) {
		struct place_node *n = &st->in_nodes[i++];
		n->address = k;
		n->cpu_millis = (uint64_t)int_or(v, "cpu_millis", 0);
		n->mem_mib = (uint64_t)int_or(v, "mem_mib", 0);
		n->labels = lab;
		n->nlabels = fill_labels(json_object_get(v, "labels"), lab);
		lab += n->nlabels;
		n->active = json_is_true(json_object_get(v, "active"));
		n->activation = (uint64_t)int_or(v, "activation", 0);
		n->live = is_live(st, k);
	}
	i = 0;
	json_object_clear(st->rejected);
	json_object_foreach(st->services, k, v) {
		char why[256];
		/* A record the contract took but no server can run: none of its replicas is
		 * placed (each is reported rejected), and it takes no capacity. */
		if (rec_service_runnable(v, why, sizeof why) < 0) {
			if (json_object_set_new(st->rejected, k, json_string(why)) < 0) {
				free_input(st);
				return -1;
			}
			continue;
		}
		struct place_service *s = &st->in_svcs[i++];
		const char *strategy = json_string_value(json_object_get(v, "strategy"));
		s->name = k;
		s->replicas = (uint32_t)int_or(v, "replicas", 0);
		s->cpu_millis = (uint64_t)int_or(v, "cpu_millis", 0);
		s->mem_mib = (uint64_t)int_or(v, "mem_mib", 0);
		s->priority = int_or(v, "priority", 0);
		s->generation = (uint64_t)int_or(v, "generation", 0);
		s->exclusive = json_is_true(json_object_get(v, "exclusive"));
		/* A stateful service's replicas wait for a dead server (canteen-sched(8)). */
		if (json_is_true(json_object_get(v, "stateful")))
			s->hold_s = (uint32_t)int_or(v, "failover_after_s", 0);
		s->strategy = PLACE_SPREAD;
		if (strategy)
			rec_strategy_parse(strategy, &s->strategy);
		s->selector = lab;
		s->nselector = fill_labels(json_object_get(v, "selector"), lab);
		lab += s->nselector;
		s->ports = port;
		size_t j;
		json_t *p;
		json_array_foreach(json_object_get(v, "ports"), j, p) {
			const char *proto = json_string_value(json_object_get(p, "proto"));
			*port++ = (struct place_port){(uint16_t)int_or(p, "host", 0),
			                              (uint16_t)int_or(p, "container", 0),
			                              proto && strcmp(proto, "udp") == 0 ? PLACE_UDP : PLACE_TCP};
		}
		s->nports = (size_t)(port - s->ports);
	}
	in->nodes = st->in_nodes;
	in->nnodes = st->in_nnodes = nn;
	in->services = st->in_svcs;
	in->nservices = i;
	return 0;
}

int place_state_meta_changed(struct place_state *st)
{
	int c = st->meta_changed;
	st->meta_changed = 0;
	return c;
}

/* States in which a server still has the replica's container. */
static int holds_container(enum replstate_state s)
{
	return s == RS_RUNNING || s == RS_CREATED || s == RS_RESTARTING || s == RS_CRASHLOOP ||
	       s == RS_PAUSED || s == RS_REMOVING;
}

json_t *place_state_claims(const struct place_state *st)
{
	json_t *out = json_object(), *v;
	const char *k;
	if (!out)
		return NULL;
	json_object_foreach(st->metas, k, v) {
		struct replstate rs;
		if (!is_live(st, k) || strcmp(k, st->self) == 0 ||
		    replstate_decode(json_string_value(v), json_string_length(v), &rs, NULL, 0) < 0)
			continue;
		for (size_t i = 0; i < replstate_len(&rs); i++) {
			char key[32];
			struct replstate_entry e;
			replstate_at(&rs, i, &e);
			if (!holds_container(e.state))
				continue;
			snprintf(key, sizeof key, "%08x/%u", (unsigned)e.hash, e.replica);
			if (!json_object_get(out, key) || strcmp(k, json_string_value(json_object_get(out, key))) < 0)
				json_object_set_new(out, key, json_string(k));
		}
	}
	return out;
}

struct place_node *place_state_nodes(struct place_state *st, size_t *n)
{
	*n = st->in_nodes ? st->in_nnodes : 0;
	return st->in_nodes;
}

const json_t *place_state_rejected(const struct place_state *st)
{
	return st->rejected;
}
