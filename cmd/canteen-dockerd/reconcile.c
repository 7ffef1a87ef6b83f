/* reconcile.c: canteen-dockerd's policy: which step each desired replica needs next, and when. */
#include <string.h>

#include "dockerd.h"
#include "emit.h"
#include "imgx.h"
#include "log.h"
#include "ops.h"
#include "pull.h"
#include "reconcile.h"
#include "rollout.h"
#include "rstate.h"
#include "slots.h"

/* Stopping and removing need canteen-sched: a desired set, and its connection still open. */
static int dd_may_remove(const struct dd *dd)
{
	return dd->have_desired && dd->sched_conns > 0;
}

static int ctr_alive(const struct ctr *c)
{
	return !c->removing;
}

static int rank(const struct ctr *c)
{
	return c->state == DOCKER_RUNNING ? 3 : c->state == DOCKER_CREATED ? 2 : 1;
}

/* Is the image still to be pulled? A failed pull is tried again once its back-off is over. */
static int image_waiting(struct dd *dd, const char *ref)
{
	struct image *img = image_find(dd, ref);
	if (!img)
		return 0;
	uint64_t now = loop_now(dd->loop);
	if (img->state == IMG_FAILED && now >= img->retry_at)
		image_get(dd, img);
	else if (img->state == IMG_FAILED)
		reconcile_soon(dd, img->retry_at - now);
	return 1;
}

/* A replica whose spec was invalid keeps what runs; one the node policy refuses does not. */
static int frozen(struct dd *dd, const struct docker_labels *l)
{
	for (size_t i = 0; i < dd->desired.nrejects; i++) {
		const struct docker_reject *r = &dd->desired.rejects[i];
		if (!r->policy && strcmp(r->service, l->service) == 0 &&
		    (r->replica < 0 || r->replica == (long)l->replica))
			return 1;
	}
	return 0;
}

/* Can another operation start now? */
static int room(struct dd *dd)
{
	return dd->ops < dd->parallel;
}

/* Start or restart a stopped container, respecting the slot's back-off. */
static void revive(struct dd *dd, struct ctr *c, struct slot *sl)
{
	uint64_t now = loop_now(dd->loop);
	if (now >= sl->restart_at) {
		if (c->state != DOCKER_CREATED)
			log_info("restarting %s (%.12s), restart %u", c->name, c->id, sl->restarts + 1);
		ops_start(dd, c);
	} else
		reconcile_soon(dd, sl->restart_at - now);
}

/* One desired replica: create, start, restart or replace what it needs. */
static void reconcile_spec(struct dd *dd, const struct docker_spec *want, int may_remove)
{
	struct slot *sl = slot_get(dd, want->service, want->replica);
	if (sl->busy)
		return;
	/* What it is to run: want, or the previous spec when want's rollout failed. */
	struct docker_spec tmp;
	const struct docker_spec *s = rollout_spec(dd, want, &tmp);
	int back = s != want;
	struct ctr *cur = NULL, *other = NULL;
	char name[DOCKER_NAME_MAX], spec[DOCKER_SPEC_HASH_LEN + 1];
	slot_name(dd, s->service, s->replica, name, sizeof name);
	docker_spec_hash(s, spec);
	for (struct ctr *c = dd->ctrs; c; c = c->next) {
		if (!c->lab.labels_ok || c->lab.replica != s->replica ||
		    strcmp(c->lab.service, s->service) != 0)
			continue;
		if (c->busy)
			return;
		if (!ctr_alive(c))
			continue;
		/* A new generation that runs the same thing (a scale, say) keeps the container; in a
		 * rollback only what runs the previous spec is current. */
		int current = (!back && c->lab.generation == s->generation) || strcmp(c->lab.spec, spec) == 0;
		if (current && (!cur || rank(c) > rank(cur))) {
			if (cur)
				other = cur;
			cur = c;
		} else
			other = c;
	}
	if (cur && cur->state == DOCKER_RUNNING) {
		if (other && may_remove)
			ops_remove(dd, other);
		else if (!other && sl->replacing) {
			sl->replacing = 0;
			log_info("%s now runs generation %llu", cur->name,
			         (unsigned long long)s->generation);
		}
		return;
	}
	if (cur) {
		revive(dd, cur, sl);
		return;
	}
	if (image_waiting(dd, s->image) || loop_now(dd->loop) < sl->restart_at) {
		if (loop_now(dd->loop) < sl->restart_at)
			reconcile_soon(dd, sl->restart_at - loop_now(dd->loop));
		return;
	}
	if (!other) {
		ops_create(dd, s, sl);
		return;
	}
	/* Only older generations here: a rolling replacement, batch by batch (rollout.c); or
	 * the failed generation's, rolled back. */
	if (!may_remove || (!sl->replacing && (back ? rollout_rollback_gate(dd, want, s, other)
	                                            : rollout_gate(dd, s, sl)) != RO_OPEN))
		return;
	if (!sl->replacing) {
		log_info("replacing %s.%u: generation %llu -> %llu%s", s->service, s->replica,
		         (unsigned long long)other->lab.generation, (unsigned long long)s->generation,
		         back ? " (rolled back: the previous spec)" : "");
		emit(dd, "rollout.replace", json_pack("{s:s,s:i,s:I,s:I,s:b}", "service", s->service,
		                                      "replica", s->replica, "from",
		                                      (json_int_t)other->lab.generation, "generation",
		                                      (json_int_t)s->generation, "rollback", back));
	}
	sl->replacing = 1;
	if (s->nports > 0)
		ops_remove(dd, other);       /* the ports are the old one's until it is gone */
	else if (strcmp(other->name, name) == 0)
		ops_rename(dd, other);       /* new before old: free the name first */
	else
		ops_create(dd, s, sl);
}

static const struct docker_spec *desired_for(struct dd *dd, const struct docker_labels *l)
{
	for (size_t i = 0; i < dd->desired.n; i++)
		if (dd->desired.specs[i].replica == l->replica &&
		    strcmp(dd->desired.specs[i].service, l->service) == 0)
			return &dd->desired.specs[i];
	return NULL;
}

static void reconcile(struct dd *dd)
{
	if (dd->dk_state != DK_READY)
		return;
	/* Before any desired set: keep what runs and start nothing. A server that was down may
	 * find its old containers exited while their replicas run elsewhere now; canteen-sched's
	 * first desired set says which to start again. */
	if (!dd->have_desired)
		return;
	int may_remove = dd_may_remove(dd);
	rollout_pass(dd);
	for (size_t i = 0; i < dd->desired.n && room(dd); i++)
		reconcile_spec(dd, &dd->desired.specs[i], may_remove);
	if (!may_remove)
		return;
	struct ctr *c = dd->ctrs;
	while (c && room(dd)) {
		struct ctr *next = c->next;
		if (!c->busy && !c->removing && !frozen(dd, &c->lab) &&
		    (!c->lab.labels_ok || !desired_for(dd, &c->lab)))
			ops_remove(dd, c);
		c = next;
	}
	slots_prune(dd);
}

static void on_reconcile(struct loop *l, void *arg)
{
	(void)l;
	struct dd *dd = arg;
	dd->reconcile_timer = 0;
	dd->reconcile_at = 0;
	reconcile(dd);
	rstate_touch(dd); /* states change with time too (a back-off ends) */
}

void reconcile_soon(struct dd *dd, uint64_t delay_ms)
{
	uint64_t at = loop_now(dd->loop) + delay_ms;
	if (dd->reconcile_timer && dd->reconcile_at <= at)
		return;
	if (dd->reconcile_timer)
		loop_timer_cancel(dd->loop, dd->reconcile_timer);
	dd->reconcile_at = at;
	dd->reconcile_timer = loop_timer_add(dd->loop, delay_ms, on_reconcile, dd);
}
