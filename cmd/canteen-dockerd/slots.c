/* slots.c: canteen-dockerd's tables: Docker's containers of ours, and what each replica's slot keeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dockerd.h"
#include "engine.h"
#include "ops.h"
#include "emit.h"
#include "log.h"
#include "parse.h"
#include "reconcile.h"
#include "slots.h"

struct slot *slot_find(struct dd *dd, const char *service, unsigned replica)
{
	for (struct slot *s = dd->slots; s; s = s->next)
		if (s->replica == replica && strcmp(s->service, service) == 0)
			return s;
	return NULL;
}

struct slot *slot_get(struct dd *dd, const char *service, unsigned replica)
{
	struct slot *s = slot_find(dd, service, replica);
	if (s)
		return s;
	s = calloc(1, sizeof *s);
	if (!s)
		fatal("out of memory");
	str_copy(s->service, sizeof s->service, service);
	s->replica = replica;
	s->exit_code = -1;
	s->next = dd->slots;
	dd->slots = s;
	return s;
}

/* Bounded memory over time: a slot lives while it is wanted, busy or has a container. */
void slots_prune(struct dd *dd)
{
	struct slot **pp = &dd->slots;
	while (*pp) {
		struct slot *s = *pp;
		int used = s->busy, wanted = 0;
		for (size_t i = 0; !wanted && i < dd->desired.n; i++)
			wanted = dd->desired.specs[i].replica == s->replica &&
			         strcmp(dd->desired.specs[i].service, s->service) == 0;
		if (!wanted)
			s->replacing = 0;   /* a replacement of something no longer wanted is over */
		used = used || wanted;
		for (struct ctr *c = dd->ctrs; !used && c; c = c->next)
			used = c->lab.labels_ok && c->lab.replica == s->replica &&
			       strcmp(c->lab.service, s->service) == 0;
		if (used)
			pp = &s->next;
		else {
			*pp = s->next;
			free(s);
		}
	}
}

/* A death or a failed create/start: back off like a crash so a bad spec cannot spin. */
uint64_t slot_backoff(struct dd *dd, struct slot *s)
{
	uint64_t delay = backoff_next(&s->fails, DD_BACKOFF_MIN_MS, DD_BACKOFF_MAX_MS);
	s->restart_at = loop_now(dd->loop) + delay;
	reconcile_soon(dd, delay);
	return delay;
}

void slot_name(struct dd *dd, const char *service, unsigned replica, char *name, size_t namelen)
{
	struct slot *sl = slot_find(dd, service, replica);
	docker_spec_name(service, replica, name, namelen);
	if (sl && sl->alt_name) {
		size_t n = strlen(name);
		snprintf(name + n, namelen - n, ".%.8s", dd->node + 2);
	}
}

struct ctr *ctr_find(struct dd *dd, const char *id)
{
	for (struct ctr *c = dd->ctrs; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

struct ctr *ctr_add(struct dd *dd, const char *id, const char *name,
                    const struct docker_labels *lab, enum docker_state st)
{
	if (dd->nctrs >= DD_CTRS_MAX)
		return NULL;
	struct ctr *c = calloc(1, sizeof *c);
	if (!c)
		fatal("out of memory");
	str_copy(c->id, sizeof c->id, id);
	str_copy(c->name, sizeof c->name, name);
	c->lab = *lab;
	c->state = st;
	c->since = (int64_t)time(NULL);
	c->next = dd->ctrs;
	dd->ctrs = c;
	dd->nctrs++;
	return c;
}

json_t *ctr_fields(const struct ctr *c)
{
	return json_pack("{s:s,s:i,s:I,s:s,s:s}", "service", c->lab.service, "replica",
	                 (int)c->lab.replica, "generation", (json_int_t)c->lab.generation, "id", c->id,
	                 "name", c->name);
}

void ctr_gone(struct dd *dd, struct ctr *c)
{
	for (struct ctr **pp = &dd->ctrs; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			dd->nctrs--;
			break;
		}
	log_info("removed %s (%.12s)", c->name, c->id);
	emit(dd, "container.removed", ctr_fields(c));
	free(c);
}

const char *ctr_state_name(struct dd *dd, const struct ctr *c)
{
	if (c->removing)
		return "removing";
	if (c->state == DOCKER_EXITED || c->state == DOCKER_DEAD) {
		struct slot *s = c->lab.labels_ok ? slot_find(dd, c->lab.service, c->lab.replica) : NULL;
		if (s && s->restart_at > loop_now(dd->loop))
			return s->fails >= DD_CRASHLOOP_FAILS ? "crashloop" : "restarting";
	}
	return docker_state_name(c->state);
}

/* Has the desired spec of c's replica a health check of its own? */
static int own_health_check(struct dd *dd, const struct ctr *c)
{
	for (size_t i = 0; dd->have_desired && i < dd->desired.n; i++) {
		const struct docker_spec *s = &dd->desired.specs[i];
		if (s->replica == c->lab.replica && strcmp(s->service, c->lab.service) == 0)
			return docker_spec_health_given(s);
	}
	return 0;
}

/* Docker says c's health is h: recorded and published; an unhealthy container of ours is
 * stopped, and its death restarts it with the crash back-off. */
static void ctr_health(struct dd *dd, struct ctr *c, enum docker_health h)
{
	if (c->state != DOCKER_RUNNING || c->health == h)
		return;
	c->health = h;
	json_t *ev = ctr_fields(c);
	json_object_set_new(ev, "health", json_string(docker_health_name(h)));
	emit(dd, "container.health", ev);
	struct slot *s = c->lab.labels_ok ? slot_get(dd, c->lab.service, c->lab.replica) : NULL;
	if (h == DOCKER_HEALTH_HEALTHY && s)
		s->unhealthy = 0;
	if (h != DOCKER_HEALTH_UNHEALTHY || c->busy || c->removing || !s)
		return;
	log_warnx("%s is unhealthy: restarting it", c->name);
	s->unhealthy = 1;
	ops_halt(dd, c);
}

/* A container of ours died on its own: schedule its restart with back-off. */
static void died(struct dd *dd, struct ctr *c, int exit_code)
{
	uint64_t now = loop_now(dd->loop);
	c->since = (int64_t)time(NULL);
	c->health = DOCKER_HEALTH_NONE;
	json_t *ev = ctr_fields(c);
	json_object_set_new(ev, "exit_code", json_integer(exit_code));
	emit(dd, "container.died", ev);
	if (c->removing || !c->lab.labels_ok)
		return;
	dd->st.deaths++;
	struct slot *s = slot_get(dd, c->lab.service, c->lab.replica);
	if (c->started_mono && now - c->started_mono >= DD_HEALTHY_MS)
		s->fails = 0;
	uint64_t delay = slot_backoff(dd, s);
	s->exit_code = exit_code;
	s->oom = c->oom;
	s->delay_ms = delay;
	c->oom = 0;
	log_info("%s died (exit %d); restart in %llu ms%s", c->name, exit_code,
	         (unsigned long long)delay, s->fails > DD_CRASHLOOP_FAILS ? " (crash loop)" : "");
	ev = ctr_fields(c);
	json_object_set_new(ev, "delay_ms", json_integer((json_int_t)delay));
	json_object_set_new(ev, "restarts", json_integer(s->restarts));
	json_object_set_new(ev, "state", json_string(s->fails >= DD_CRASHLOOP_FAILS ? "crashloop"
	                                                                            : "restarting"));
	emit(dd, "container.restarting", ev);
}

void ctr_started(struct dd *dd, struct ctr *c)
{
	if (c->state == DOCKER_RUNNING && c->started_mono)
		return;
	c->state = DOCKER_RUNNING;
	c->started_mono = loop_now(dd->loop);
	c->since = (int64_t)time(NULL);
	/* Its own check starts as "starting"; an image's HEALTHCHECK shows in the listing. */
	c->health = own_health_check(dd, c) ? DOCKER_HEALTH_STARTING : DOCKER_HEALTH_NONE;
	engine_resync_soon(dd);
	struct slot *s = c->lab.labels_ok ? slot_find(dd, c->lab.service, c->lab.replica) : NULL;
	if (s)
		s->why[0] = '\0';
	log_info("started %s (%.12s) generation %llu", c->name, c->id,
	         (unsigned long long)c->lab.generation);
	emit(dd, "container.started", ctr_fields(c));
}

void ctrs_on_event(struct dd *dd, const struct docker_event *ev)
{
	struct ctr *c = ctr_find(dd, ev->id);
	if (!c) {
		if (strcmp(ev->action, "create") == 0 && ev->labels.node[0])
			ctr_add(dd, ev->id, ev->name, &ev->labels, DOCKER_CREATED);
		else if (strcmp(ev->action, "destroy") != 0)
			reconcile_soon(dd, 0);
		return;
	}
	if (strcmp(ev->action, "start") == 0)
		ctr_started(dd, c);
	else if (strcmp(ev->action, "die") == 0) {
		if (c->state != DOCKER_EXITED) {
			c->state = DOCKER_EXITED;
			died(dd, c, ev->exit_code);
		}
	} else if (strcmp(ev->action, "destroy") == 0) {
		ctr_gone(dd, c);
	} else if (strcmp(ev->action, "rename") == 0 && ev->name[0]) {
		str_copy(c->name, sizeof c->name, ev->name);
	} else if (strcmp(ev->action, "health_status") == 0 && ev->health != DOCKER_HEALTH_NONE) {
		ctr_health(dd, c, ev->health);
	} else if (strcmp(ev->action, "oom") == 0) {
		log_warnx("%s ran out of memory", c->name);
		c->oom = 1;
	}
	reconcile_soon(dd, 0);
}

/* Merge a full listing: new ones are adopted as they are, vanished ones forgotten. */
void ctrs_on_listing(struct dd *dd, struct docker_ctr *v, size_t n)
{
	size_t unlabeled = 0;
	for (struct ctr *c = dd->ctrs; c; c = c->next)
		c->seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].labels.node, dd->node) != 0)
			continue;
		/* Another cluster's, or made before containers carried their cluster: not ours. */
		if (strcmp(v[i].labels.cluster, dd->cluster) != 0) {
			unlabeled += v[i].labels.cluster[0] == '\0';
			continue;
		}
		struct ctr *c = ctr_find(dd, v[i].id);
		if (!c) {
			c = ctr_add(dd, v[i].id, v[i].name, &v[i].labels, v[i].state);
			if (!c)
				continue;
			if (v[i].created > 0)
				c->since = v[i].created;
			if (v[i].state == DOCKER_RUNNING)
				c->started_mono = loop_now(dd->loop);
			log_info("adopted %s (%.12s), %s", c->name, c->id, docker_state_name(c->state));
			if (v[i].state == DOCKER_EXITED || v[i].state == DOCKER_DEAD) {
				struct slot *s = c->lab.labels_ok
				                     ? slot_get(dd, c->lab.service, c->lab.replica) : NULL;
				if (s && s->restart_at == 0)
					s->restart_at = loop_now(dd->loop) + DD_BACKOFF_MIN_MS;
			}
		} else if (!c->busy && c->state != v[i].state) {
			enum docker_state was = c->state;
			c->state = v[i].state;
			if (v[i].state == DOCKER_RUNNING)
				ctr_started(dd, c);
			else if (was == DOCKER_RUNNING && (v[i].state == DOCKER_EXITED ||
			                                  v[i].state == DOCKER_DEAD))
				died(dd, c, -1);
		}
		if (!c->busy && v[i].state == DOCKER_RUNNING && v[i].health != DOCKER_HEALTH_NONE)
			ctr_health(dd, c, v[i].health); /* a health_status event missed */
		c->seen = 1;
	}
	if (unlabeled != dd->unlabeled)
		log_warnx("%zu container(s) with this node's label but no %s label: left alone "
		          "(remove them with docker rm once their replicas run again)",
		          unlabeled, DOCKER_LABEL_CLUSTER);
	dd->unlabeled = unlabeled;
	struct ctr *c = dd->ctrs;
	while (c) {
		struct ctr *next = c->next;
		if (!c->seen && !c->busy)
			ctr_gone(dd, c);
		c = next;
	}
}

void ctrs_forget_busy(struct dd *dd)
{
	for (struct ctr *c = dd->ctrs; c; c = c->next)
		c->busy = c->removing = 0;
	for (struct slot *s = dd->slots; s; s = s->next)
		s->busy = 0;
}
