/* rstate.c: our replicas' states and reasons, summarised into swim.sock's member metadata. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "parse.h"
#include "pull.h"
#include "rollout.h"
#include "rstate.h"
#include "slots.h"
#include "sockets.h"

static const char *oom_text(int oom)
{
	return oom ? " (OOM killed)" : "";
}

const char *rstate_reason(struct dd *dd, const struct ctr *c, char *buf, size_t len)
{
	const char *state = ctr_state_name(dd, c);
	struct slot *s = c->lab.labels_ok ? slot_find(dd, c->lab.service, c->lab.replica) : NULL;
	if (!s)
		return NULL;
	if (strcmp(state, "crashloop") == 0 && s->unhealthy)
		snprintf(buf, len, "crash loop: unhealthy, next restart in %llu s",
		         (unsigned long long)((s->delay_ms + 999) / 1000));
	else if (strcmp(state, "restarting") == 0 && s->unhealthy)
		snprintf(buf, len, "unhealthy: restart in %llu s",
		         (unsigned long long)((s->delay_ms + 999) / 1000));
	else if (strcmp(state, "crashloop") == 0 && s->exit_code >= 0)
		snprintf(buf, len, "crash loop: exit %d%s, next restart in %llu s", s->exit_code,
		         oom_text(s->oom), (unsigned long long)((s->delay_ms + 999) / 1000));
	else if ((strcmp(state, "restarting") == 0 || strcmp(state, "exited") == 0 ||
	          strcmp(state, "dead") == 0) && s->exit_code >= 0)
		snprintf(buf, len, "exited %d%s", s->exit_code, oom_text(s->oom));
	else if (strcmp(state, "running") != 0 && s->why[0])
		snprintf(buf, len, "%s", s->why);
	else
		return NULL;
	return buf;
}

const char *rstate_pending_reason(struct dd *dd, const struct docker_spec *s, char *buf,
                                  size_t len)
{
	struct image *img = image_find(dd, s->image);
	struct slot *sl = slot_find(dd, s->service, s->replica);
	if (img && img->why[0])
		snprintf(buf, len, "pull of %s failed: %s", img->ref, img->why);
	else if (img)
		snprintf(buf, len, "pulling %s", img->ref);
	else if (sl && sl->why[0])
		snprintf(buf, len, "%s", sl->why);
	else
		return NULL;
	return buf;
}

const char *rstate_reject_reason(const struct docker_reject *r, char *buf, size_t len)
{
	static const char pre[] = "rejected: "; /* as canteen-sched's pending reason */
	(void)str_copy(buf, len, pre);
	if (len > sizeof pre)
		(void)str_copy(buf + sizeof pre - 1, len - (sizeof pre - 1), r->error);
	return buf;
}

/* Our container of (service, replica): a live one before one being removed, newest first. */
static const struct ctr *ctr_of(struct dd *dd, const char *service, unsigned replica)
{
	const struct ctr *best = NULL;
	for (const struct ctr *c = dd->ctrs; c; c = c->next) {
		if (!c->lab.labels_ok || c->lab.replica != replica || strcmp(c->lab.service, service))
			continue;
		if (!best || (best->removing && !c->removing) ||
		    (best->removing == c->removing && c->lab.generation > best->lab.generation))
			best = c;
	}
	return best;
}

static void from_ctr(struct dd *dd, const struct ctr *c, struct replstate_entry *e)
{
	char why[sizeof e->reason + 64];
	struct slot *s = slot_find(dd, c->lab.service, c->lab.replica);
	int st = replstate_state_of(ctr_state_name(dd, c));
	e->hash = replstate_hash(c->lab.service);
	e->replica = c->lab.replica;
	e->state = st < 0 ? RS_DEAD : (enum replstate_state)st;
	e->restarts = s ? s->restarts : 0;
	e->since = c->since;
	e->generation = c->lab.generation;
	static const enum replstate_health of[] = {
	    [DOCKER_HEALTH_NONE] = RH_NONE, [DOCKER_HEALTH_STARTING] = RH_STARTING,
	    [DOCKER_HEALTH_HEALTHY] = RH_HEALTHY, [DOCKER_HEALTH_UNHEALTHY] = RH_UNHEALTHY};
	e->health = e->state == RS_RUNNING && (unsigned)c->health < 4 ? of[c->health] : RH_NONE;
	const char *r = rstate_reason(dd, c, why, sizeof why);
	(void)str_copy(e->reason, sizeof e->reason, r ? r : "");
}

/* Containers of ours of replicas no longer desired here that still run (or are being
 * stopped and removed): listed as they are until they are gone, so that another server
 * given the replica sees it still runs here (canteen-sched(8), stateful services). */
static size_t add_leaving(struct dd *dd, struct replstate_entry *v, size_t n, size_t cap)
{
	json_t *want = json_object();
	char key[DOCKER_SERVICE_MAX + 16];
	for (size_t i = 0; want && i < dd->desired.n; i++) {
		snprintf(key, sizeof key, "%s/%u", dd->desired.specs[i].service, dd->desired.specs[i].replica);
		json_object_set_new(want, key, json_true());
	}
	for (const struct ctr *c = dd->ctrs; want && c && n < cap; c = c->next) {
		if (!c->lab.labels_ok || ctr_of(dd, c->lab.service, c->lab.replica) != c ||
		    c->state == DOCKER_EXITED || c->state == DOCKER_DEAD)
			continue;
		snprintf(key, sizeof key, "%s/%u", c->lab.service, c->lab.replica);
		if (!json_object_get(want, key))
			from_ctr(dd, c, &v[n++]);
	}
	json_decref(want);
	return n;
}

/* Every desired replica (and every refused one) as it is now; the caller frees *out. */
static size_t collect(struct dd *dd, struct replstate_entry **out)
{
	size_t cap = dd->have_desired ? dd->desired.n + dd->desired.nrejects + dd->nctrs : dd->nctrs, n = 0;
	if (cap > REPLSTATE_TOTAL_MAX)
		cap = REPLSTATE_TOTAL_MAX;
	struct replstate_entry *v = calloc(cap ? cap : 1, sizeof *v);
	if (!v)
		fatal("out of memory");
	char why[REPLSTATE_REASON_MAX + 64];
	if (!dd->have_desired) { /* before canteen-sched spoke: what Docker has */
		for (const struct ctr *c = dd->ctrs; c && n < cap; c = c->next)
			if (c->lab.labels_ok && ctr_of(dd, c->lab.service, c->lab.replica) == c)
				from_ctr(dd, c, &v[n++]);
		*out = v;
		return n;
	}
	for (size_t i = 0; i < dd->desired.n && n < cap; i++) {
		const struct docker_spec *s = &dd->desired.specs[i];
		const struct ctr *c = ctr_of(dd, s->service, s->replica);
		if (c) {
			char spec[DOCKER_SPEC_HASH_LEN + 1];
			docker_spec_hash(s, spec);
			from_ctr(dd, c, &v[n]);
			/* What runs the desired spec runs its generation (as after a scale). */
			v[n].generation = c->lab.generation == s->generation || strcmp(c->lab.spec, spec) == 0
			                      ? s->generation : c->lab.generation;
			/* Rolled back from this very spec (after a scale too): of its generation, back. */
			v[n].rolled_back = strcmp(c->lab.rollback, spec) == 0;
			if (v[n].rolled_back)
				v[n].generation = s->generation;
			n++;
			continue;
		}
		struct slot *sl = slot_find(dd, s->service, s->replica);
		struct replstate_entry *e = &v[n++];
		e->hash = replstate_hash(s->service);
		e->replica = s->replica;
		e->generation = s->generation;
		e->state = RS_PENDING;
		e->restarts = sl ? sl->restarts : 0;
		const char *r = rstate_pending_reason(dd, s, why, sizeof why);
		(void)str_copy(e->reason, sizeof e->reason, r ? r : "");
	}
	for (size_t i = 0; i < dd->desired.nrejects && n < cap; i++) {
		const struct docker_reject *r = &dd->desired.rejects[i];
		if (r->replica < 0)
			continue;
		struct replstate_entry *e = &v[n++];
		e->hash = replstate_hash(r->service);
		e->replica = (unsigned)r->replica;
		e->state = RS_PENDING;
		(void)str_copy(e->reason, sizeof e->reason, rstate_reject_reason(r, why, sizeof why));
	}
	n = add_leaving(dd, v, n, cap);
	*out = v;
	return n;
}

static void publish(struct loop *l, void *arg)
{
	(void)l;
	struct dd *dd = arg;
	dd->meta_timer = 0;
	if (!dd->swim || !ipc_client_connected(dd->swim))
		return;
	struct replstate_entry *v;
	size_t n = collect(dd, &v);
	char meta[REPLSTATE_MAX + 1];
	replstate_encode(v, n, meta, sizeof meta);
	free(v);
	if (dd->meta_ok && strcmp(meta, dd->meta_sent) == 0)
		return;
	json_t *req = json_pack("{s:s,s:s}", "op", "set_meta", "meta", meta);
	if (req && ipc_client_send(dd->swim, req) == 0) {
		memcpy(dd->meta_sent, meta, sizeof meta);
		dd->meta_ok = 1;
		dd->meta_at = loop_now(dd->loop);
		dd->meta_sends++;
	}
	json_decref(req);
}

void rstate_touch(struct dd *dd)
{
	if (!dd->swim || dd->meta_timer)
		return;
	uint64_t now = loop_now(dd->loop), at = dd->meta_at + RSTATE_MIN_GAP_MS;
	dd->meta_timer = loop_timer_add(dd->loop, dd->meta_sends && at > now ? at - now : 0, publish, dd);
}

static void on_msg(struct ipc_client *c, json_t *msg, void *arg)
{
	struct dd *dd = arg;
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (type && rollout_on_swim(dd, type, msg))
		return;
	if (type && strcmp(type, "ok") == 0) {
		ipc_client_backoff_reset(c);
		dd->meta_warned = 0;
		return;
	}
	/* Refused (not a member yet, or anything else): say so once, send it again later. */
	const char *e = json_string_value(json_object_get(msg, "error"));
	if (!dd->meta_warned++)
		log_warnx("canteen-swim refused our replica states: %s", e ? e : "no reason given");
	dd->meta_ok = 0;
	if (!dd->meta_timer)
		dd->meta_timer = loop_timer_add(dd->loop, RSTATE_RETRY_MS, publish, dd);
}

static void on_state(struct ipc_client *c, int connected, void *arg)
{
	(void)c;
	struct dd *dd = arg;
	dd->meta_ok = 0; /* a restarted canteen-swim has no metadata of ours */
	if (connected) {
		rollout_subscribe(dd);
		rstate_touch(dd);
	}
}

void rstate_start(struct dd *dd)
{
	char path[CONF_STR_MAX + 32];
	snprintf(path, sizeof path, "%s/" SOCK_SWIM, dd->conf.rundir);
	dd->swim = ipc_client_new(dd->loop, path, on_msg, on_state, dd);
	if (!dd->swim)
		fatal("out of memory");
}

void rstate_stop(struct dd *dd)
{
	if (dd->meta_timer)
		loop_timer_cancel(dd->loop, dd->meta_timer);
	dd->meta_timer = 0;
	ipc_client_free(dd->swim);
	dd->swim = NULL;
}
