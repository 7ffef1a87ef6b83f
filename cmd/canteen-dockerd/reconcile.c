/* reconcile.c: canteen-dockerd's state: what Docker runs of ours, and the steps toward desired. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dockerd.h"
#include "log.h"
#include "parse.h"

static void reconcile(struct dd *dd);

int dd_may_remove(const struct dd *dd)
{
	return dd->have_desired && dd->sched_conns > 0;
}

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
	s->next = dd->slots;
	dd->slots = s;
	return s;
}

/* Forget slots nobody wants and no container uses (bounded memory over time). */
static void slots_prune(struct dd *dd)
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

static struct ctr *ctr_find(struct dd *dd, const char *id)
{
	for (struct ctr *c = dd->ctrs; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

static struct ctr *ctr_add(struct dd *dd, const char *id, const char *name,
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

static json_t *ctr_fields(const struct ctr *c)
{
	return json_pack("{s:s,s:i,s:I,s:s,s:s}", "service", c->lab.service, "replica",
	                 (int)c->lab.replica, "generation", (json_int_t)c->lab.generation, "id", c->id,
	                 "name", c->name);
}

/* Drop c from the table and say so (once). */
static void ctr_gone(struct dd *dd, struct ctr *c)
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

/* A container of ours died on its own: schedule its restart with back-off. */
static void died(struct dd *dd, struct ctr *c, int exit_code)
{
	uint64_t now = loop_now(dd->loop);
	c->since = (int64_t)time(NULL);
	json_t *ev = ctr_fields(c);
	json_object_set_new(ev, "exit_code", json_integer(exit_code));
	emit(dd, "container.died", ev);
	if (c->removing || !c->lab.labels_ok)
		return;
	struct slot *s = slot_get(dd, c->lab.service, c->lab.replica);
	if (c->started_mono && now - c->started_mono >= DD_HEALTHY_MS)
		s->fails = 0;
	unsigned shift = s->fails < 6 ? s->fails : 6;
	uint64_t delay = (uint64_t)DD_BACKOFF_MIN_MS << shift;
	if (delay > DD_BACKOFF_MAX_MS)
		delay = DD_BACKOFF_MAX_MS;
	s->fails++;
	s->restart_at = now + delay;
	log_info("%s died (exit %d); restart in %llu ms%s", c->name, exit_code,
	         (unsigned long long)delay, s->fails > DD_CRASHLOOP_FAILS ? " (crash loop)" : "");
	ev = ctr_fields(c);
	json_object_set_new(ev, "delay_ms", json_integer((json_int_t)delay));
	json_object_set_new(ev, "restarts", json_integer(s->restarts));
	json_object_set_new(ev, "state", json_string(s->fails >= DD_CRASHLOOP_FAILS ? "crashloop"
	                                                                            : "restarting"));
	emit(dd, "container.restarting", ev);
	reconcile_soon(dd, delay);
}

static void started(struct dd *dd, struct ctr *c)
{
	if (c->state == DOCKER_RUNNING && c->started_mono)
		return;
	c->state = DOCKER_RUNNING;
	c->started_mono = loop_now(dd->loop);
	c->since = (int64_t)time(NULL);
	log_info("started %s (%.12s) generation %llu", c->name, c->id,
	         (unsigned long long)c->lab.generation);
	emit(dd, "container.started", ctr_fields(c));
}

void reconcile_event(struct dd *dd, const struct docker_event *ev)
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
		started(dd, c);
	else if (strcmp(ev->action, "die") == 0) {
		if (c->state != DOCKER_EXITED) {
			c->state = DOCKER_EXITED;
			died(dd, c, ev->exit_code);
		}
	} else if (strcmp(ev->action, "destroy") == 0) {
		ctr_gone(dd, c);
	} else if (strcmp(ev->action, "rename") == 0 && ev->name[0]) {
		str_copy(c->name, sizeof c->name, ev->name);
	} else if (strcmp(ev->action, "oom") == 0) {
		log_warnx("%s ran out of memory", c->name);
	}
	reconcile_soon(dd, 0);
}

/* Merge a full listing: new ones are adopted as they are, vanished ones forgotten. */
void reconcile_listed(struct dd *dd, struct docker_ctr *v, size_t n)
{
	for (struct ctr *c = dd->ctrs; c; c = c->next)
		c->seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].labels.node, dd->node) != 0)
			continue;
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
				started(dd, c);
			else if (was == DOCKER_RUNNING && (v[i].state == DOCKER_EXITED ||
			                                  v[i].state == DOCKER_DEAD))
				died(dd, c, -1);
		}
		c->seen = 1;
	}
	struct ctr *c = dd->ctrs;
	while (c) {
		struct ctr *next = c->next;
		if (!c->seen && !c->busy)
			ctr_gone(dd, c);
		c = next;
	}
}

/* ---- operations ---------------------------------------------------------------- */

enum op_kind { OP_CREATE, OP_START, OP_STOP, OP_DELETE, OP_RENAME, OP_PULL };

struct op {
	struct dd *dd;
	struct op *prev, *next;         /* dd->oplist: freed at exit if still in flight */
	uint64_t epoch;
	enum op_kind kind;
	char id[DOCKER_ID_LEN + 1];
	char service[DOCKER_SERVICE_MAX];
	unsigned replica;
	char image[DOCKER_IMAGE_MAX];   /* the image (create, pull) or the new name (rename) */
	char pull_error[256];
	int restart;                    /* a start of a container that ran before */
	uint64_t generation;            /* create: the generation and spec hash it was made from */
	char spec[DOCKER_SPEC_HASH_LEN + 1];
};

static void op_done(struct docker *d, int status, const char *body, size_t len,
                    const char *err, void *arg);
static void on_pull_line(struct docker *d, const char *line, size_t len, void *arg);

static struct op *op_new(struct dd *dd, enum op_kind kind, const char *id, const char *service,
                         unsigned replica)
{
	struct op *o = calloc(1, sizeof *o);
	if (!o)
		fatal("out of memory");
	o->dd = dd;
	o->epoch = dd->epoch;
	o->kind = kind;
	str_copy(o->id, sizeof o->id, id ? id : "");
	str_copy(o->service, sizeof o->service, service ? service : "");
	o->replica = replica;
	o->next = dd->oplist;
	if (o->next)
		o->next->prev = o;
	dd->oplist = o;
	return o;
}

static void op_free(struct op *o)
{
	if (o->prev)
		o->prev->next = o->next;
	else
		o->dd->oplist = o->next;
	if (o->next)
		o->next->prev = o->prev;
	free(o);
}

void reconcile_free(struct dd *dd)
{
	while (dd->oplist)
		op_free(dd->oplist);
}

/* Start the request of o (o is freed by op_done, or here on failure). */
static int op_send(struct op *o, const char *method, const char *path, const char *body,
                   uint64_t timeout_ms)
{
	struct dd *dd = o->dd;
	docker_line_cb line = o->kind == OP_PULL ? on_pull_line : NULL;
	if (!docker_request(dd->dk, method, path, body, timeout_ms, line, op_done, o)) {
		log_warnx("cannot start a Docker request %s %s", method, path);
		op_free(o);
		return -1;
	}
	dd->ops++;
	return 0;
}

static void set_busy(struct dd *dd, const char *service, unsigned replica, struct ctr *c, int on)
{
	if (c)
		c->busy = on;
	if (service && service[0]) {
		struct slot *s = on ? slot_get(dd, service, replica) : slot_find(dd, service, replica);
		if (s)
			s->busy = on;
	}
}

static void start_ctr(struct dd *dd, struct ctr *c)
{
	char path[128];
	struct op *o = op_new(dd, OP_START, c->id, c->lab.service, c->lab.replica);
	o->restart = c->state != DOCKER_CREATED;
	snprintf(path, sizeof path, "/containers/%s/start", c->id);
	set_busy(dd, c->lab.service, c->lab.replica, c, 1);
	if (op_send(o, "POST", path, NULL, 60000) < 0)
		set_busy(dd, c->lab.service, c->lab.replica, c, 0);
}

/* The name a new container of the slot gets: canteen.<s>.<r>[.<node prefix>]. */
static void create_name(struct dd *dd, const char *service, unsigned replica, char *name,
                        size_t namelen)
{
	struct slot *sl = slot_find(dd, service, replica);
	docker_spec_name(service, replica, name, namelen);
	if (sl && sl->alt_name) {
		size_t n = strlen(name);
		snprintf(name + n, namelen - n, ".%.8s", dd->node + 2);
	}
}

static void create_ctr(struct dd *dd, const struct docker_spec *s, struct slot *sl)
{
	char name[DOCKER_NAME_MAX], ename[3 * DOCKER_NAME_MAX], path[512];
	create_name(dd, s->service, s->replica, name, sizeof name);
	json_t *body = docker_spec_create_body(s, dd->node, dd->conf.advertise_addr);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text || docker_urlencode(name, ename, sizeof ename) < 0) {
		free(text);
		log_warnx("cannot build the create request for %s", name);
		return;
	}
	snprintf(path, sizeof path, "/containers/create?name=%s", ename);
	struct op *o = op_new(dd, OP_CREATE, NULL, s->service, s->replica);
	str_copy(o->image, sizeof o->image, s->image);
	o->generation = s->generation;
	docker_spec_hash(s, o->spec);
	sl->busy = 1;
	if (op_send(o, "POST", path, text, 60000) < 0)
		sl->busy = 0;
	free(text);
}

static void remove_ctr(struct dd *dd, struct ctr *c)
{
	char path[160];
	c->removing = 1;
	if (c->state == DOCKER_RUNNING || c->state == DOCKER_RESTARTING ||
	    c->state == DOCKER_PAUSED) {
		uint64_t t = (dd->conf.stop_grace_ms + 999) / 1000;
		struct op *o = op_new(dd, OP_STOP, c->id, c->lab.service, c->lab.replica);
		snprintf(path, sizeof path, "/containers/%s/stop?t=%llu", c->id, (unsigned long long)t);
		log_info("stopping %s (%.12s), grace %llu s", c->name, c->id, (unsigned long long)t);
		set_busy(dd, c->lab.labels_ok ? c->lab.service : NULL, c->lab.replica, c, 1);
		if (op_send(o, "POST", path, NULL, t * 1000 + 60000) < 0)
			set_busy(dd, c->lab.labels_ok ? c->lab.service : NULL, c->lab.replica, c, 0);
		return;
	}
	struct op *o = op_new(dd, OP_DELETE, c->id, c->lab.service, c->lab.replica);
	snprintf(path, sizeof path, "/containers/%s?force=1&v=1", c->id);
	set_busy(dd, c->lab.labels_ok ? c->lab.service : NULL, c->lab.replica, c, 1);
	if (op_send(o, "DELETE", path, NULL, 60000) < 0)
		set_busy(dd, c->lab.labels_ok ? c->lab.service : NULL, c->lab.replica, c, 0);
}

static void rename_ctr(struct dd *dd, struct ctr *c)
{
	char name[DOCKER_NAME_MAX + 32], ename[3 * DOCKER_NAME_MAX + 96], path[3 * DOCKER_NAME_MAX + 200];
	snprintf(name, sizeof name, "%s.g%llu", c->name, (unsigned long long)c->lab.generation);
	if (strlen(name) >= DOCKER_NAME_MAX || docker_urlencode(name, ename, sizeof ename) < 0)
		return;
	snprintf(path, sizeof path, "/containers/%s/rename?name=%s", c->id, ename);
	struct op *o = op_new(dd, OP_RENAME, c->id, c->lab.service, c->lab.replica);
	str_copy(o->image, sizeof o->image, name);   /* the new name, kept for the answer */
	set_busy(dd, c->lab.service, c->lab.replica, c, 1);
	if (op_send(o, "POST", path, NULL, 30000) < 0)
		set_busy(dd, c->lab.service, c->lab.replica, c, 0);
}

static struct image *image_find(struct dd *dd, const char *ref)
{
	for (struct image *i = dd->images; i; i = i->next)
		if (strcmp(i->ref, ref) == 0)
			return i;
	return NULL;
}

static void image_forget(struct dd *dd, struct image *img)
{
	for (struct image **pp = &dd->images; *pp; pp = &(*pp)->next)
		if (*pp == img) {
			*pp = img->next;
			free(img);
			return;
		}
}

static void pull_image(struct dd *dd, struct image *img)
{
	char name[DOCKER_IMAGE_MAX], tag[DOCKER_IMAGE_MAX], en[3 * DOCKER_IMAGE_MAX],
	    et[3 * DOCKER_IMAGE_MAX], path[6 * DOCKER_IMAGE_MAX + 64];
	if (docker_image_split(img->ref, name, sizeof name, tag, sizeof tag) < 0 ||
	    docker_urlencode(name, en, sizeof en) < 0 || docker_urlencode(tag, et, sizeof et) < 0)
		return;
	snprintf(path, sizeof path, "/images/create?fromImage=%s&tag=%s", en, et);
	struct op *o = op_new(dd, OP_PULL, NULL, NULL, 0);
	str_copy(o->image, sizeof o->image, img->ref);
	img->state = IMG_PULLING;
	img->last_status[0] = '\0';
	log_info("pulling %s", img->ref);
	op_send(o, "POST", path, NULL, 0);
}

static void on_pull_line(struct docker *d, const char *line, size_t len, void *arg)
{
	(void)d;
	struct op *o = arg;
	struct dd *dd = o->dd;
	struct docker_progress p;
	char err[128];
	if (o->epoch != dd->epoch || docker_parse_progress(line, len, &p, err, sizeof err) < 0)
		return;
	if (p.error[0]) {
		str_copy(o->pull_error, sizeof o->pull_error, p.error);
		return;
	}
	struct image *img = image_find(dd, o->image);
	uint64_t now = loop_now(dd->loop);
	/* One event per change of status, at most one a second while bytes flow. */
	if (!img || (strcmp(img->last_status, p.status) == 0 && now - img->last_emit < 1000))
		return;
	if (strcmp(img->last_status, p.status) != 0)
		log_info("pull %s: %s%s%s", o->image, p.status, p.layer[0] ? " " : "", p.layer);
	str_copy(img->last_status, sizeof img->last_status, p.status);
	img->last_emit = now;
	emit(dd, "pull.progress",
	     json_pack("{s:s,s:s,s:s,s:I,s:I}", "image", o->image, "status", p.status, "layer",
	               p.layer, "current", (json_int_t)p.current, "total", (json_int_t)p.total));
}

/* Every desired spec using image gets an error event. */
static void image_failed(struct dd *dd, struct image *img, const char *why)
{
	uint64_t delay = (uint64_t)DD_BACKOFF_MIN_MS << (img->fails < 6 ? img->fails : 6);
	if (delay > DD_BACKOFF_MAX_MS)
		delay = DD_BACKOFF_MAX_MS;
	img->fails++;
	img->state = IMG_FAILED;
	img->retry_at = loop_now(dd->loop) + delay;
	log_warnx("pull of %s failed: %s; retry in %llu ms", img->ref, why,
	          (unsigned long long)delay);
	for (size_t i = 0; i < dd->desired.n; i++)
		if (strcmp(dd->desired.specs[i].image, img->ref) == 0)
			emit_error(dd, dd->desired.specs[i].service, dd->desired.specs[i].replica,
			           "pull of %s failed: %s", img->ref, why);
	reconcile_soon(dd, delay);
}

/* A failed create/start: back off like a crash so a bad spec cannot spin. */
static void op_failed(struct dd *dd, struct op *o, const char *what, const char *why)
{
	emit_error(dd, o->service[0] ? o->service : NULL, o->service[0] ? (long)o->replica : -1,
	           "%s failed: %s", what, why);
	log_warnx("%s of %s.%u failed: %s", what, o->service, o->replica, why);
	if (!o->service[0])
		return;
	struct slot *s = slot_get(dd, o->service, o->replica);
	uint64_t delay = (uint64_t)DD_BACKOFF_MIN_MS << (s->fails < 6 ? s->fails : 6);
	if (delay > DD_BACKOFF_MAX_MS)
		delay = DD_BACKOFF_MAX_MS;
	s->fails++;
	s->restart_at = loop_now(dd->loop) + delay;
	reconcile_soon(dd, delay);
}

static void created(struct dd *dd, struct op *o, const char *body, size_t len)
{
	char id[DOCKER_ID_LEN + 1], err[256], name[DOCKER_NAME_MAX];
	if (docker_parse_created(body, len, id, err, sizeof err) < 0) {
		op_failed(dd, o, "create", err);
		return;
	}
	/* The labels the container was created with, whatever the desired set says now. */
	struct docker_labels lab = {.labels_ok = 1, .replica = o->replica};
	str_copy(lab.service, sizeof lab.service, o->service);
	str_copy(lab.node, sizeof lab.node, dd->node);
	str_copy(lab.spec, sizeof lab.spec, o->spec);
	lab.generation = o->generation;
	struct ctr *c = ctr_find(dd, id);
	if (!c) {
		create_name(dd, o->service, o->replica, name, sizeof name);
		c = ctr_add(dd, id, name, &lab, DOCKER_CREATED);
	}
	if (!c)
		return;
	log_info("created %s (%.12s) generation %llu", c->name, c->id,
	         (unsigned long long)c->lab.generation);
	emit(dd, "container.created", ctr_fields(c));
	start_ctr(dd, c);
}

static void op_answer(struct dd *dd, struct op *o, int status, const char *body, size_t len)
{
	char msg[256];
	struct ctr *c = o->id[0] ? ctr_find(dd, o->id) : NULL;
	int ok = status >= 200 && status < 300;
	if (!ok)
		docker_parse_error(body, len, msg, sizeof msg);
	switch (o->kind) {
	case OP_CREATE:
		if (ok)
			created(dd, o, body, len);
		else if (status == 404) {
			struct image *img = calloc(1, sizeof *img);
			if (!img)
				fatal("out of memory");
			str_copy(img->ref, sizeof img->ref, o->image);
			img->next = dd->images;
			dd->images = img;
			pull_image(dd, img);
		} else if (status == 409) {
			struct slot *s = slot_get(dd, o->service, o->replica);
			log_warnx("name of %s.%u is taken (%s); using a node-specific name", o->service,
			          o->replica, msg);
			if (s->alt_name)
				op_failed(dd, o, "create", msg);
			s->alt_name = 1;
		} else
			op_failed(dd, o, "create", msg);
		break;
	case OP_START:
		if (ok && c) {
			struct slot *s = slot_find(dd, o->service, o->replica);
			if (s && o->restart)
				s->restarts++;
			started(dd, c);
		} else if (status == 304 && c)
			started(dd, c);
		else if (status == 404 && c)
			ctr_gone(dd, c);
		else if (!ok)
			op_failed(dd, o, "start", msg);
		break;
	case OP_STOP:
		if (c && (ok || status == 304 || status == 404 || status == 409)) {
			c->state = DOCKER_EXITED;
			c->busy = 0;
			remove_ctr(dd, c);
			return;
		}
		if (!ok && c)
			c->removing = 0;
		if (!ok)
			op_failed(dd, o, "stop", msg);
		break;
	case OP_DELETE:
		if ((ok || status == 404) && c)
			ctr_gone(dd, c);
		else if (!ok) {
			if (c)
				c->removing = 0;
			op_failed(dd, o, "remove", msg);
		}
		break;
	case OP_RENAME:
		if (ok && c)
			str_copy(c->name, sizeof c->name, o->image);
		else if (!ok)
			op_failed(dd, o, "rename", msg);
		break;
	case OP_PULL: {
		struct image *img = image_find(dd, o->image);
		if (!img)
			break;
		if (ok && !o->pull_error[0]) {
			log_info("pulled %s", o->image);
			emit(dd, "pull.progress", json_pack("{s:s,s:s}", "image", o->image, "status",
			                                     "done"));
			image_forget(dd, img);
		} else
			image_failed(dd, img, o->pull_error[0] ? o->pull_error : msg);
		break;
	}
	}
}

static void op_done(struct docker *d, int status, const char *body, size_t len,
                    const char *err, void *arg)
{
	(void)d;
	struct op *o = arg;
	struct dd *dd = o->dd;
	if (o->epoch != dd->epoch) {
		op_free(o);
		return;
	}
	dd->ops--;
	struct ctr *c = o->id[0] ? ctr_find(dd, o->id) : NULL;
	/* Clear busy first: the answer may start the next step of the same slot. */
	set_busy(dd, o->service, o->replica, c, 0);
	if (status == 0) {
		if (o->kind == OP_PULL) {
			struct image *img = image_find(dd, o->image);
			if (img)
				image_failed(dd, img, err ? err : "transfer failed");
		}
		engine_lost(dd, err ? err : "transfer failed");
	} else
		op_answer(dd, o, status, body, len);
	op_free(o);
	reconcile_soon(dd, 0);
}

/* ---- the reconcile pass ------------------------------------------------------- */

static int ctr_alive(const struct ctr *c)
{
	return !c->removing;
}

static int rank(const struct ctr *c)
{
	return c->state == DOCKER_RUNNING ? 3 : c->state == DOCKER_CREATED ? 2 : 1;
}

static int service_replacing(struct dd *dd, const char *service, const struct slot *except)
{
	for (struct slot *s = dd->slots; s; s = s->next)
		if (s != except && s->replacing && strcmp(s->service, service) == 0)
			return 1;
	return 0;
}

static int image_waiting(struct dd *dd, const char *ref)
{
	struct image *img = image_find(dd, ref);
	if (!img)
		return 0;
	uint64_t now = loop_now(dd->loop);
	if (img->state == IMG_FAILED && now >= img->retry_at)
		pull_image(dd, img);
	else if (img->state == IMG_FAILED)
		reconcile_soon(dd, img->retry_at - now);
	return 1;
}

static int frozen(struct dd *dd, const struct docker_labels *l)
{
	for (size_t i = 0; i < dd->desired.nrejects; i++) {
		const struct docker_reject *r = &dd->desired.rejects[i];
		if (strcmp(r->service, l->service) == 0 && (r->replica < 0 || r->replica == (long)l->replica))
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
		start_ctr(dd, c);
	} else
		reconcile_soon(dd, sl->restart_at - now);
}

/* One desired replica: create, start, restart or replace what it needs. */
static void reconcile_spec(struct dd *dd, const struct docker_spec *s, int may_remove)
{
	struct slot *sl = slot_get(dd, s->service, s->replica);
	if (sl->busy)
		return;
	struct ctr *cur = NULL, *other = NULL;
	char name[DOCKER_NAME_MAX], spec[DOCKER_SPEC_HASH_LEN + 1];
	create_name(dd, s->service, s->replica, name, sizeof name);
	docker_spec_hash(s, spec);
	for (struct ctr *c = dd->ctrs; c; c = c->next) {
		if (!c->lab.labels_ok || c->lab.replica != s->replica ||
		    strcmp(c->lab.service, s->service) != 0)
			continue;
		if (c->busy)
			return;
		if (!ctr_alive(c))
			continue;
		/* A new generation that runs the same thing (a scale, say) keeps the container. */
		int current = c->lab.generation == s->generation || strcmp(c->lab.spec, spec) == 0;
		if (current && (!cur || rank(c) > rank(cur))) {
			if (cur)
				other = cur;
			cur = c;
		} else
			other = c;
	}
	if (cur && cur->state == DOCKER_RUNNING) {
		if (other && may_remove)
			remove_ctr(dd, other);
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
		create_ctr(dd, s, sl);
		return;
	}
	/* Only older generations here: a rolling replacement, one replica of a service at a time. */
	if (!may_remove || (!sl->replacing && service_replacing(dd, s->service, sl)))
		return;
	/* Across servers, replicas are replaced in turn: replica r waits min(r, 15) staggers. */
	if (!sl->replacing) {
		uint64_t now = loop_now(dd->loop);
		if (sl->replace_gen != s->generation || !sl->replace_after) {
			sl->replace_gen = s->generation;
			sl->replace_after = now + (uint64_t)(s->replica < 15 ? s->replica : 15) *
			                              dd->conf.update_stagger_ms;
		}
		if (now < sl->replace_after) {
			reconcile_soon(dd, sl->replace_after - now);
			return;
		}
	}
	if (!sl->replacing)
		log_info("replacing %s.%u: generation %llu -> %llu", s->service, s->replica,
		         (unsigned long long)other->lab.generation, (unsigned long long)s->generation);
	sl->replacing = 1;
	if (s->nports > 0)
		remove_ctr(dd, other);       /* the ports are the old one's until it is gone */
	else if (strcmp(other->name, name) == 0)
		rename_ctr(dd, other);       /* new before old: free the name first */
	else
		create_ctr(dd, s, sl);
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
	for (size_t i = 0; i < dd->desired.n && room(dd); i++)
		reconcile_spec(dd, &dd->desired.specs[i], may_remove);
	if (!may_remove)
		return;
	struct ctr *c = dd->ctrs;
	while (c && room(dd)) {
		struct ctr *next = c->next;
		if (!c->busy && !c->removing && !frozen(dd, &c->lab) &&
		    (!c->lab.labels_ok || !desired_for(dd, &c->lab)))
			remove_ctr(dd, c);
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
