/* rollout.c: health-gated rolling updates, decided by every server from the same shared facts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "docker_policy.h"
#include "emit.h"
#include "errf.h"
#include "log.h"
#include "parse.h"
#include "pull.h"
#include "rec.h"
#include "reconcile.h"
#include "rollout.h"
#include "slots.h"
#include "sockets.h"

/* A service's policy as chain.sock said it. */
struct ro_svc {
	char name[DOCKER_SERVICE_MAX];
	struct ro_policy p;
	int stale;                  /* not (yet) in the snapshot being read */
	uint64_t paused_gen;        /* the generation whose pause was announced; 0: none */
	unsigned replicas;          /* of the record */
	struct docker_spec *prev;   /* the record's "previous" (replica 0), when the failure action
	                             * is rollback and it is within the rules; NULL otherwise */
	char prev_hash[DOCKER_SPEC_HASH_LEN + 1];
	char back_hash[DOCKER_SPEC_HASH_LEN + 1]; /* the spec found failed and rolled back from
	                             * (kept: a replica being replaced says nothing meanwhile) */
};

/* What one replica line of a member's summary says, as much as the gate needs. */
struct ro_ent {
	uint32_t hash;
	unsigned replica;
	uint64_t generation;
	enum replstate_state state;
	enum replstate_health health;
	int failed_pending;         /* pending with a failure for its reason (a pull, a create) */
	int rolled_back;
};

enum ro_live { RO_GONE, RO_SUSPECT, RO_ALIVE };

struct ro_member {
	char addr[43];
	enum ro_live live;
	size_t n;                   /* 0 also when its summary is absent or refused */
	struct ro_ent *e;           /* n of them (room for cap), kept with the slot */
	size_t cap;
};

struct rollout {
	struct ro_svc *svcs;
	size_t nsvcs, capsvcs;
	struct ro_member *members;
	size_t nmembers, capmembers; /* slots up to capmembers keep their e buffers */
	char self[43];
	struct ipc_client *chain;   /* our own chain.sock client while the channel (peers.c) is off */
	unsigned refused_logged;    /* summaries refused and logged (a few, then quiet) */
	uint64_t gated_at;          /* loop time a gate last held a replica back; 0: never */
	struct replstate rs;        /* a member's summary being decoded */
	/* The facts of one service's replicas 0 .. nfacts-1, for one generation and one pass:
	 * every gate of the pass reads them, none recomputes them. */
	char c_service[DOCKER_SERVICE_MAX];
	uint64_t c_gen, c_pass, pass;
	unsigned nfacts, capfacts;
	unsigned char *facts;
	int c_failed;               /* the generation failed (gen_failed), -1: not worked out yet */
	unsigned nback;             /* rollback facts (back_at) of replicas 0 .. nback-1 */
	unsigned char *back;        /* capfacts of them */
};

void rollout_init(struct dd *dd)
{
	dd->ro = calloc(1, sizeof *dd->ro);
	if (!dd->ro)
		fatal("out of memory");
}

static void svc_prev_drop(struct ro_svc *s)
{
	if (s->prev)
		docker_spec_free(s->prev);
	free(s->prev);
	s->prev = NULL;
	s->prev_hash[0] = '\0';
}

void rollout_free(struct dd *dd)
{
	if (!dd->ro)
		return;
	ipc_client_free(dd->ro->chain);
	for (size_t i = 0; i < dd->ro->nsvcs; i++)
		svc_prev_drop(&dd->ro->svcs[i]);
	free(dd->ro->facts);
	free(dd->ro->back);
	free(dd->ro->svcs);
	for (size_t i = 0; i < dd->ro->capmembers; i++)
		free(dd->ro->members[i].e);
	free(dd->ro->members);
	free(dd->ro);
	dd->ro = NULL;
}

/* ---- policies, from chain.sock ---- */

static struct ro_svc *svc_find(struct rollout *ro, const char *name)
{
	for (size_t i = 0; i < ro->nsvcs; i++)
		if (strcmp(ro->svcs[i].name, name) == 0)
			return &ro->svcs[i];
	return NULL;
}

/* A new, zeroed policy at the end of the table (grown by doubling), or NULL when full. */
static struct ro_svc *svc_append(struct rollout *ro)
{
	if (ro->nsvcs == RO_POLICIES_MAX)
		return NULL;
	if (ro->nsvcs == ro->capsvcs) {
		size_t cap = ro->capsvcs ? ro->capsvcs * 2 : 16;
		struct ro_svc *v = realloc(ro->svcs, cap * sizeof *v);
		if (!v)
			return NULL;
		ro->svcs = v;
		ro->capsvcs = cap;
	}
	struct ro_svc *s = &ro->svcs[ro->nsvcs++];
	memset(s, 0, sizeof *s);
	return s;
}

/* A record's "previous" (from chain.sock: checked here as any spec) into *out (owned): 0, or
 * -1 with err. */
static int prev_decode(const struct docker_policy *policy, const char *name, json_t *pj,
                       struct docker_spec **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!json_is_object(pj))
		return errf(err, errlen, "not an object");
	json_t *sj = docker_spec_of_service(pj, name, 0);
	struct docker_spec *d = calloc(1, sizeof *d);
	int rc = !sj ? errf(err, errlen, "a key is missing")
	       : !d  ? errf(err, errlen, "out of memory")
	             : docker_spec_decode(sj, d, err, errlen);
	json_decref(sj);
	/* The node's policy as on the desired set (its limits filled in): the same hash as the
	 * containers made from this spec when it was the desired one. */
	if (rc == 0 && docker_policy_check(policy, d, err, errlen) < 0) {
		docker_spec_free(d);
		rc = -1;
	}
	if (rc < 0) {
		free(d);
		return -1;
	}
	*out = d;
	return 0;
}

/* A SERVICE object: its update policy (the contract's defaults for keys left out). */
static void svc_upsert(struct rollout *ro, const struct docker_policy *policy, json_t *svc)
{
	char err[256];
	const char *name = json_string_value(json_object_get(svc, "name"));
	if (!name || strlen(name) >= DOCKER_SERVICE_MAX || rec_service_check(svc, err, sizeof err) < 0)
		return;
	json_t *u = json_object_get(svc, "update");
	struct ro_policy p = {0};
	p.parallelism = (unsigned)json_integer_value(json_object_get(u, "parallelism"));
	p.delay_ms = (uint64_t)json_integer_value(json_object_get(u, "delay_ms"));
	p.max_failure_permille = (unsigned)json_integer_value(json_object_get(u, "max_failure_permille"));
	int fa = REC_FAILURE_PAUSE;
	const char *fs = json_string_value(json_object_get(u, "failure_action"));
	if (fs && rec_failure_parse(fs, &fa) < 0)
		fa = REC_FAILURE_PAUSE;
	p.rollback = fa == REC_FAILURE_ROLLBACK;
	json_t *pj = p.rollback ? json_object_get(svc, "previous") : NULL;
	struct docker_spec *prev = NULL;
	if (pj && prev_decode(policy, name, pj, &prev, err, sizeof err) < 0)
		log_warnx("service %s: its previous spec is refused (%s); a failed rollout pauses", name, err);
	struct ro_svc *s = svc_find(ro, name);
	if (!s && (s = svc_append(ro)) != NULL)
		(void)str_copy(s->name, sizeof s->name, name);
	if (!s) {
		if (prev)
			docker_spec_free(prev);
		free(prev);
		return;
	}
	svc_prev_drop(s);
	s->prev = prev;
	if (prev)
		docker_spec_hash(prev, s->prev_hash);
	s->p = p;
	s->replicas = (unsigned)json_integer_value(json_object_get(svc, "replicas"));
	s->stale = 0;
}

static void svc_remove(struct rollout *ro, const char *name)
{
	struct ro_svc *s = name ? svc_find(ro, name) : NULL;
	if (s) {
		svc_prev_drop(s);
		*s = ro->svcs[--ro->nsvcs];
	}
}

void rollout_on_chain(struct dd *dd, const char *type, json_t *msg)
{
	struct rollout *ro = dd->ro;
	if (strcmp(type, "snapshot.begin") == 0) {
		for (size_t i = 0; i < ro->nsvcs; i++)
			ro->svcs[i].stale = 1;
	} else if (strcmp(type, "service") == 0 || strcmp(type, "service.upsert") == 0) {
		svc_upsert(ro, &dd->policy, json_object_get(msg, "service"));
	} else if (strcmp(type, "service.remove") == 0) {
		svc_remove(ro, json_string_value(json_object_get(msg, "name")));
	} else if (strcmp(type, "snapshot.end") == 0) {
		for (size_t i = 0; i < ro->nsvcs;)
			if (ro->svcs[i].stale) {
				svc_prev_drop(&ro->svcs[i]);
				ro->svcs[i] = ro->svcs[--ro->nsvcs];
			} else
				i++;
	} else
		return;
	reconcile_soon(dd, 0);
}

static void on_chain_msg(struct ipc_client *c, json_t *msg, void *arg)
{
	(void)c;
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (type)
		rollout_on_chain(arg, type, msg);
}

static void on_chain_state(struct ipc_client *c, int connected, void *arg)
{
	(void)arg;
	json_t *req = connected ? json_pack("{s:s}", "op", "subscribe") : NULL;
	if (req && ipc_client_send(c, req) < 0)
		log_warnx("chain.sock: cannot subscribe for the update policies");
	json_decref(req);
}

void rollout_start(struct dd *dd)
{
	char path[CONF_STR_MAX + 32];
	if (dd->chain)
		return; /* peers.c's client passes the services on */
	snprintf(path, sizeof path, "%s/" SOCK_CHAIN, dd->conf.rundir);
	dd->ro->chain = ipc_client_new(dd->loop, path, on_chain_msg, on_chain_state, dd);
	if (!dd->ro->chain)
		fatal("out of memory");
}

struct ro_policy rollout_policy(struct dd *dd, const char *service)
{
	struct ro_svc *s = svc_find(dd->ro, service);
	if (s)
		return s->p;
	struct ro_policy unknown = {.parallelism = 1};
	return unknown;
}

/* ---- the members' summaries, from swim.sock ---- */

static struct ro_member *member_find(struct rollout *ro, const char *addr)
{
	for (size_t i = 0; i < ro->nmembers; i++)
		if (strcasecmp(ro->members[i].addr, addr) == 0)
			return &ro->members[i];
	return NULL;
}

/* Its summary (untrusted) into m; a refused one leaves m with nothing to say. */
static void member_meta(struct rollout *ro, struct ro_member *m, const char *meta)
{
	struct replstate *rs = &ro->rs;
	char err[256];
	m->n = 0;
	if (!meta)
		return;
	if (replstate_decode(meta, strlen(meta), rs, err, sizeof err) < 0) {
		if (ro->refused_logged < 16 && ++ro->refused_logged)
			log_warnx("member %s: replica states refused: %s", m->addr, err);
		return;
	}
	size_t n = replstate_len(rs);
	if (n > m->cap) {
		struct ro_ent *v = realloc(m->e, n * sizeof *v);
		if (!v)
			return; /* out of memory: says nothing */
		m->e = v;
		m->cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		struct replstate_entry e;
		replstate_at(rs, i, &e);
		m->e[i] = (struct ro_ent){.hash = e.hash, .replica = e.replica,
		                          .generation = e.generation, .state = e.state,
		                          .health = e.health, .rolled_back = e.rolled_back,
		                          .failed_pending = e.state == RS_PENDING &&
		                                            strstr(e.reason, "failed") != NULL};
	}
	m->n = n;
}

/* A MEMBER object (untrusted): kept, or updated. */
static void member_upsert(struct rollout *ro, json_t *mj)
{
	const char *addr = json_string_value(json_object_get(mj, "address"));
	const char *state = json_string_value(json_object_get(mj, "state"));
	json_t *meta = json_object_get(mj, "meta");
	if (!addr || !rec_address_ok(addr) || !state || (meta && !json_is_string(meta) && !json_is_null(meta)))
		return;
	if (strcasecmp(addr, ro->self) == 0)
		return; /* our own replicas are judged from Docker's word, not our summary */
	struct ro_member *m = member_find(ro, addr);
	if (!m) {
		if (ro->nmembers == RO_MEMBERS_MAX)
			return;
		if (ro->nmembers == ro->capmembers) {
			size_t cap = ro->capmembers ? ro->capmembers * 2 : 16;
			struct ro_member *v = realloc(ro->members, cap * sizeof *v);
			if (!v)
				return;
			memset(v + ro->capmembers, 0, (cap - ro->capmembers) * sizeof *v);
			ro->members = v;
			ro->capmembers = cap;
		}
		m = &ro->members[ro->nmembers++];
		struct ro_ent *keep = m->e;
		size_t kcap = m->cap;
		memset(m, 0, sizeof *m);
		m->e = keep;
		m->cap = kcap;
		memcpy(m->addr, addr, 43);
	}
	m->live = strcmp(state, "alive") == 0 ? RO_ALIVE : strcmp(state, "suspect") == 0 ? RO_SUSPECT
	                                                                               : RO_GONE;
	member_meta(ro, m, json_string_value(meta));
}

int rollout_on_swim(struct dd *dd, const char *type, json_t *msg)
{
	struct rollout *ro = dd->ro;
	if (strcmp(type, "snapshot") == 0) {
		const char *self = json_string_value(json_object_get(msg, "self"));
		(void)str_copy(ro->self, sizeof ro->self, self && rec_address_ok(self) ? self : "");
		ro->nmembers = 0;
		size_t i;
		json_t *m;
		json_array_foreach(json_object_get(msg, "members"), i, m)
			member_upsert(ro, m);
	} else if (strncmp(type, "member.", 7) == 0) {
		member_upsert(ro, json_object_get(msg, "member"));
	} else
		return 0;
	/* Others' news matter only to a gate holding a replica back (set again at each pass). */
	if (ro->gated_at && loop_now(dd->loop) - ro->gated_at < RO_RECHECK_WINDOW_MS)
		reconcile_soon(dd, RO_RECHECK_MS);
	return 1;
}

void rollout_subscribe(struct dd *dd)
{
	dd->ro->nmembers = 0; /* a restarted canteen-swim: the snapshot tells again */
	json_t *req = json_pack("{s:s}", "op", "subscribe");
	if (req && ipc_client_send(dd->swim, req) < 0)
		log_warnx("swim.sock: cannot subscribe to the membership");
	json_decref(req);
}

/* ---- the gate ---- */

enum ro_fact { RF_READY, RF_FAILED, RF_NOT_READY };

/* Docker's word on our replica (service, r) against generation gen. */
static enum ro_fact local_fact(struct dd *dd, const struct docker_spec *want)
{
	char spec[DOCKER_SPEC_HASH_LEN + 1];
	struct slot *ws = slot_find(dd, want->service, want->replica);
	if (ws && ws->replacing)
		return RF_NOT_READY; /* its old container is still to go */
	docker_spec_hash(want, spec);
	enum ro_fact f = RF_NOT_READY;
	for (struct ctr *c = dd->ctrs; c; c = c->next) {
		if (!c->lab.labels_ok || c->removing || c->lab.replica != want->replica ||
		    strcmp(c->lab.service, want->service) != 0 ||
		    (c->lab.generation != want->generation && strcmp(c->lab.spec, spec) != 0))
			continue;
		if (strcmp(c->lab.rollback, spec) == 0)
			return RF_FAILED; /* rolled back from it: the rollout failed */
		if (c->state == DOCKER_RUNNING &&
		    (c->health == DOCKER_HEALTH_HEALTHY ||
		     (c->health == DOCKER_HEALTH_NONE && !docker_spec_health_given(want))))
			return RF_READY;
		struct slot *sl = slot_find(dd, want->service, want->replica);
		if ((c->state == DOCKER_RUNNING && c->health == DOCKER_HEALTH_UNHEALTHY) ||
		    c->state == DOCKER_EXITED || c->state == DOCKER_DEAD || (sl && sl->unhealthy))
			f = RF_FAILED;
	}
	if (f == RF_NOT_READY) {
		struct slot *sl = slot_find(dd, want->service, want->replica);
		struct image *img = image_find(dd, want->image);
		if ((sl && sl->why[0]) || (img && img->why[0]))
			f = RF_FAILED; /* a create or a pull Docker refused */
	}
	return f;
}

static enum ro_fact entry_fact(const struct ro_ent *e, uint64_t gen)
{
	if (e->generation != gen)
		return RF_NOT_READY;
	if (e->rolled_back)
		return RF_FAILED;
	if (e->state == RS_RUNNING && (e->health == RH_NONE || e->health == RH_HEALTHY))
		return RF_READY;
	if ((e->state == RS_RUNNING && e->health == RH_UNHEALTHY) || e->failed_pending ||
	    replstate_class_of(e->state) == RSC_FAILING)
		return RF_FAILED;
	return RF_NOT_READY;
}

/*
 * Another server's replica r: ready only when an alive member says so and no live member
 * (alive or suspect) says otherwise; failed when one says failed and none says ready. A
 * member that lies can so hold a batch back, never let one start early: the replica's own
 * server still says what it is. Nobody saying anything: unknown, not ready.
 */
static enum ro_fact peer_fact(struct rollout *ro, uint32_t hash, unsigned r, uint64_t gen)
{
	int ready = 0, failed = 0, other = 0;
	for (size_t i = 0; i < ro->nmembers; i++) {
		const struct ro_member *m = &ro->members[i];
		if (m->live == RO_GONE)
			continue;
		for (size_t k = 0; k < m->n; k++) {
			if (m->e[k].hash != hash || m->e[k].replica != r)
				continue;
			enum ro_fact f = entry_fact(&m->e[k], gen);
			if (f == RF_READY && m->live == RO_ALIVE)
				ready = 1;
			else if (f == RF_FAILED)
				failed = 1;
			else if (f != RF_READY)
				other = 1;
		}
	}
	if (other || (ready && failed))
		return RF_NOT_READY;
	return ready ? RF_READY : failed ? RF_FAILED : RF_NOT_READY;
}

static const struct docker_spec *ours(struct dd *dd, const char *service, unsigned r)
{
	for (size_t i = 0; i < dd->desired.n; i++)
		if (dd->desired.specs[i].replica == r && strcmp(dd->desired.specs[i].service, service) == 0)
			return &dd->desired.specs[i];
	return NULL;
}

static void announce_pause(struct dd *dd, const struct docker_spec *s, unsigned failed,
                           unsigned updated)
{
	struct ro_svc *sv = svc_find(dd->ro, s->service);
	if (sv && sv->paused_gen == s->generation)
		return;
	if (sv)
		sv->paused_gen = s->generation;
	log_warnx("rollout of %s generation %llu paused: %u of %u updated replicas failed",
	          s->service, (unsigned long long)s->generation, failed, updated);
	emit(dd, "rollout.paused", json_pack("{s:s,s:I,s:i,s:i}", "service", s->service, "generation",
	                                     (json_int_t)s->generation, "failed", failed, "updated",
	                                     updated));
}

void rollout_pass(struct dd *dd)
{
	dd->ro->pass++;
}

static void facts_grow(struct rollout *ro)
{
	unsigned cap = ro->capfacts ? ro->capfacts * 2 : 64;
	unsigned char *v = realloc(ro->facts, cap), *b = v ? realloc(ro->back, cap) : NULL;
	if (!v || !b)
		fatal("out of memory");
	ro->facts = v;
	ro->back = b;
	ro->capfacts = cap;
}

/* Replica k of s's service against s's generation, computed once per pass. */
/* The pass's cache is for s's service and generation from here on (emptied when it was not). */
static void cache_for(struct rollout *ro, const struct docker_spec *s)
{
	if (ro->c_pass != ro->pass || ro->c_gen != s->generation || strcmp(ro->c_service, s->service)) {
		ro->c_pass = ro->pass;
		ro->c_gen = s->generation;
		(void)str_copy(ro->c_service, sizeof ro->c_service, s->service);
		ro->nfacts = ro->nback = 0;
		ro->c_failed = -1;
	}
}

static enum ro_fact fact_at(struct dd *dd, const struct docker_spec *s, unsigned k)
{
	struct rollout *ro = dd->ro;
	cache_for(ro, s);
	while (ro->nfacts <= k) {
		if (ro->nfacts == ro->capfacts)
			facts_grow(ro);
		unsigned j = ro->nfacts;
		const struct docker_spec *mine = ours(dd, s->service, j);
		ro->facts[j] = (unsigned char)(mine && mine->generation == s->generation ? local_fact(dd, mine)
		                               : mine ? RF_NOT_READY
		                                      : peer_fact(ro, replstate_hash(s->service), j,
		                                                  s->generation));
		ro->nfacts++;
	}
	return (enum ro_fact)ro->facts[k];
}

enum ro_gate rollout_gate(struct dd *dd, const struct docker_spec *s, struct slot *sl)
{
	struct ro_policy p = rollout_policy(dd, s->service);
	unsigned par = p.parallelism ? p.parallelism : 1; /* unset: one at a time */
	unsigned first = s->replica / par * par;
	unsigned failed = 0, waiting = 0;
	for (unsigned k = 0; k < first; k++) {
		enum ro_fact f = fact_at(dd, s, k);
		failed += f == RF_FAILED;
		waiting += f == RF_NOT_READY;
	}
	/* Failed ones over the ratio stop the rollout whatever else is still under way. */
	if (first && (failed || waiting))
		dd->ro->gated_at = loop_now(dd->loop);
	if (first && (uint64_t)failed * 1000 > (uint64_t)p.max_failure_permille * first) {
		announce_pause(dd, s, failed, first);
		sl->gate_at = 0;
		return RO_PAUSED;
	}
	if (waiting) {
		sl->gate_at = 0;
		return RO_WAIT;
	}
	if (!first)
		return RO_OPEN;
	uint64_t now = loop_now(dd->loop);
	if (!sl->gate_at || sl->gate_gen != s->generation) {
		sl->gate_at = now;
		sl->gate_gen = s->generation;
	}
	if (now < sl->gate_at + p.delay_ms) {
		dd->ro->gated_at = now;
		reconcile_soon(dd, sl->gate_at + p.delay_ms - now);
		return RO_WAIT;
	}
	return RO_OPEN;
}

/* ---- rollback ---- */

/*
 * Has the rollout of s's generation failed? Failed replicas (rolled-back ones count: their
 * rollout failed) over the ratio of the replicas up to the end of some batch, the last
 * batch included. Worked out once per pass and service.
 */
static int gen_failed(struct dd *dd, const struct docker_spec *s, const struct ro_svc *sv)
{
	struct rollout *ro = dd->ro;
	cache_for(ro, s);
	if (ro->c_failed >= 0)
		return ro->c_failed;
	unsigned par = sv->p.parallelism ? sv->p.parallelism : 1, failed = 0, n = sv->replicas;
	ro->c_failed = 0;
	for (unsigned k = 0; k < n && !ro->c_failed; k++) {
		failed += fact_at(dd, s, k) == RF_FAILED;
		unsigned b = k + 1;
		if ((b % par == 0 || b == n) && failed &&
		    (uint64_t)failed * 1000 > (uint64_t)sv->p.max_failure_permille * b)
			ro->c_failed = 1;
	}
	return ro->c_failed;
}

/* Where a replica stands in a rollback from generation G's spec (hash x) to the previous. */
enum ro_back { RB_DOWN, RB_READY_NEW, RB_READY_BACK };

static int ctr_ready(const struct ctr *c)
{
	return c->state == DOCKER_RUNNING &&
	       (c->health == DOCKER_HEALTH_HEALTHY || c->health == DOCKER_HEALTH_NONE);
}

/* Our replica r: what its best container runs. */
static enum ro_back local_back(struct dd *dd, const char *service, unsigned r, uint64_t gen,
                               const char *x)
{
	enum ro_back b = RB_DOWN;
	for (struct ctr *c = dd->ctrs; c; c = c->next) {
		if (!c->lab.labels_ok || c->removing || c->lab.replica != r ||
		    strcmp(c->lab.service, service) != 0 || !ctr_ready(c))
			continue;
		int is_new = strcmp(c->lab.rollback, x) != 0 &&
		             (strcmp(c->lab.spec, x) == 0 || c->lab.generation == gen);
		if (!is_new)
			return RB_READY_BACK;
		b = RB_READY_NEW;
	}
	return b;
}

/* Another server's replica r, from the live members' summaries: ready back only when an
 * alive member says so and no live member says otherwise (as peer_fact). */
static enum ro_back peer_back(struct rollout *ro, uint32_t hash, unsigned r, uint64_t gen)
{
	int back = 0, fresh = 0, down = 0;
	for (size_t i = 0; i < ro->nmembers; i++) {
		const struct ro_member *m = &ro->members[i];
		if (m->live == RO_GONE)
			continue;
		for (size_t k = 0; k < m->n; k++) {
			const struct ro_ent *e = &m->e[k];
			if (e->hash != hash || e->replica != r)
				continue;
			int ready = e->state == RS_RUNNING && (e->health == RH_NONE || e->health == RH_HEALTHY);
			if (!ready || m->live != RO_ALIVE)
				down = 1;
			else if (e->rolled_back || e->generation != gen)
				back = 1;
			else
				fresh = 1;
		}
	}
	return down ? RB_DOWN : fresh ? RB_READY_NEW : back ? RB_READY_BACK : RB_DOWN;
}

static enum ro_back back_at(struct dd *dd, const struct docker_spec *s, const char *x, unsigned k)
{
	struct rollout *ro = dd->ro;
	cache_for(ro, s);
	while (ro->nback <= k) {
		if (ro->nback == ro->capfacts)
			facts_grow(ro);
		unsigned j = ro->nback++;
		const struct docker_spec *mine = ours(dd, s->service, j);
		ro->back[j] = (unsigned char)(mine ? local_back(dd, s->service, j, s->generation, x)
		                                   : peer_back(ro, replstate_hash(s->service), j,
		                                               s->generation));
	}
	return (enum ro_back)ro->back[k];
}

static void announce_rollback(struct dd *dd, const struct docker_spec *s, struct ro_svc *sv)
{
	log_warnx("rollout of %s generation %llu failed: rolling back to the spec of generation %llu",
	          s->service, (unsigned long long)s->generation,
	          (unsigned long long)sv->prev->generation);
	emit(dd, "rollout.rollback", json_pack("{s:s,s:I,s:I}", "service", s->service, "generation",
	                                       (json_int_t)s->generation, "to",
	                                       (json_int_t)sv->prev->generation));
}

const struct docker_spec *rollout_spec(struct dd *dd, const struct docker_spec *s,
                                       struct docker_spec *tmp)
{
	struct ro_svc *sv = svc_find(dd->ro, s->service);
	char x[DOCKER_SPEC_HASH_LEN + 1];
	if (!sv || !sv->p.rollback || !sv->prev || s->replica >= sv->replicas)
		return s;
	docker_spec_hash(s, x);
	if (strcmp(x, sv->prev_hash) == 0)
		return s;
	/* Once found failed, this spec stays rolled back here: the facts that showed it may go
	 * while replicas are replaced; the others learn it from the rolled-back replicas. */
	if (strcmp(x, sv->back_hash) != 0) {
		if (!gen_failed(dd, s, sv))
			return s;
		memcpy(sv->back_hash, x, sizeof sv->back_hash);
		announce_rollback(dd, s, sv);
	}
	*tmp = *sv->prev; /* its strings stay sv->prev's: tmp is never freed */
	(void)str_copy(tmp->service, sizeof tmp->service, s->service);
	tmp->replica = s->replica;
	tmp->generation = s->generation;
	memcpy(tmp->rollback_of, x, sizeof tmp->rollback_of);
	return tmp;
}

enum ro_gate rollout_rollback_gate(struct dd *dd, const struct docker_spec *want,
                                   const struct docker_spec *back, const struct ctr *old)
{
	if (!ctr_ready(old))
		return RO_OPEN; /* down already: back at once */
	struct ro_svc *sv = svc_find(dd->ro, want->service);
	unsigned par = sv && sv->p.parallelism ? sv->p.parallelism : 1;
	unsigned n = sv ? sv->replicas : 0, first = want->replica / par * par;
	for (unsigned k = 0; k < n; k++) {
		if (k >= first && k - first < par)
			continue; /* its own batch */
		enum ro_back b = back_at(dd, want, back->rollback_of, k);
		if (b == RB_DOWN || (k < first && b != RB_READY_BACK)) {
			dd->ro->gated_at = loop_now(dd->loop);
			return RO_WAIT;
		}
	}
	return RO_OPEN;
}
