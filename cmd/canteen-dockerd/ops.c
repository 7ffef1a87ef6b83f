/* ops.c: canteen-dockerd's Docker operations in flight: the requests, and what each answer changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerd.h"
#include "emit.h"
#include "engine.h"
#include "log.h"
#include "ops.h"
#include "parse.h"
#include "imgx.h"
#include "pull.h"
#include "reconcile.h"
#include "slots.h"

enum op_kind { OP_CREATE, OP_START, OP_STOP, OP_DELETE, OP_RENAME, OP_PULL, OP_HALT };

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
	char rollback[DOCKER_SPEC_HASH_LEN + 1]; /* create: its io.canteen.rollback label, or "" */
	struct docker_req *req;         /* the request, until op_done */
	uint64_t timer;                 /* pull: pull_timeout_ms, then it is aborted */
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
	if (o->timer)
		loop_timer_cancel(o->dd->loop, o->timer);
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
	o->req = docker_request(dd->dk, method, path, body, timeout_ms, line, op_done, o);
	if (!o->req) {
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

void ops_start(struct dd *dd, struct ctr *c)
{
	char path[128];
	struct op *o = op_new(dd, OP_START, c->id, c->lab.service, c->lab.replica);
	o->restart = c->state != DOCKER_CREATED;
	snprintf(path, sizeof path, "/containers/%s/start", c->id);
	set_busy(dd, c->lab.service, c->lab.replica, c, 1);
	if (op_send(o, "POST", path, NULL, 60000) < 0)
		set_busy(dd, c->lab.service, c->lab.replica, c, 0);
}

void ops_create(struct dd *dd, const struct docker_spec *s, struct slot *sl)
{
	char name[DOCKER_NAME_MAX], ename[3 * DOCKER_NAME_MAX], path[512];
	slot_name(dd, s->service, s->replica, name, sizeof name);
	struct docker_create_ctx x = {.node = dd->node, .cluster = dd->cluster,
	                              .host_ip = dd->conf.advertise_addr, .policy = &dd->policy,
	                              .peers_dir = dd->peers_dir[0] ? dd->peers_dir : NULL};
	json_t *body = docker_spec_create(s, &x);
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
	str_copy(o->rollback, sizeof o->rollback, s->rollback_of);
	sl->busy = 1;
	if (op_send(o, "POST", path, text, 60000) < 0)
		sl->busy = 0;
	free(text);
}

void ops_remove(struct dd *dd, struct ctr *c)
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

void ops_halt(struct dd *dd, struct ctr *c)
{
	char path[160];
	uint64_t t = (dd->conf.stop_grace_ms + 999) / 1000;
	struct op *o = op_new(dd, OP_HALT, c->id, c->lab.service, c->lab.replica);
	snprintf(path, sizeof path, "/containers/%s/stop?t=%llu", c->id, (unsigned long long)t);
	set_busy(dd, c->lab.service, c->lab.replica, c, 1);
	if (op_send(o, "POST", path, NULL, t * 1000 + 60000) < 0)
		set_busy(dd, c->lab.service, c->lab.replica, c, 0);
}

void ops_rename(struct dd *dd, struct ctr *c)
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

/* A pull past pull_timeout_ms: abort it (Docker drops a pull whose client is gone), free its
 * slot and retry after the image's back-off. */
static void pull_timed_out(struct loop *l, void *arg)
{
	(void)l;
	struct op *o = arg;
	struct dd *dd = o->dd;
	o->timer = 0;
	docker_cancel(dd->dk, o->req);
	if (o->epoch == dd->epoch) {
		dd->ops--;
		struct image *img = image_find(dd, o->image);
		char why[96];
		snprintf(why, sizeof why, "no end after pull_timeout_ms (%llu ms): aborted",
		         (unsigned long long)dd->conf.pull_timeout_ms);
		if (img)
			image_failed(dd, img, why);
		reconcile_soon(dd, 0);
	}
	op_free(o);
}

void ops_pull(struct dd *dd, struct image *img)
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
	img->pull_start = loop_now(dd->loop);
	img->last_status[0] = '\0';
	log_info("pulling %s", img->ref);
	/* A stream without curl's time-out: a timer ends it, and only it (Docker is not lost). */
	if (op_send(o, "POST", path, NULL, 0) == 0)
		o->timer = loop_timer_add(dd->loop, dd->conf.pull_timeout_ms, pull_timed_out, o);
	else
		image_failed(dd, img, "cannot start the pull request");
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
	if (img)
		image_progress(dd, img, &p);
}

/* A failed create/start/stop/remove/rename: the slot backs off like after a crash. */
static void op_failed(struct dd *dd, struct op *o, const char *what, const char *why)
{
	dd->st.op_failures++;
	emit_error(dd, o->service[0] ? o->service : NULL, o->service[0] ? (long)o->replica : -1,
	           "%s failed: %s", what, why);
	log_warnx("%s of %s.%u failed: %s", what, o->service, o->replica, why);
	if (!o->service[0])
		return;
	struct slot *s = slot_get(dd, o->service, o->replica);
	s->delay_ms = slot_backoff(dd, s);
	snprintf(s->why, sizeof s->why, "%s failed: %s", what, why);
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
	str_copy(lab.cluster, sizeof lab.cluster, dd->cluster);
	str_copy(lab.rollback, sizeof lab.rollback, o->rollback);
	lab.generation = o->generation;
	struct ctr *c = ctr_find(dd, id);
	if (!c) {
		slot_name(dd, o->service, o->replica, name, sizeof name);
		c = ctr_add(dd, id, name, &lab, DOCKER_CREATED);
	}
	if (!c)
		return;
	dd->st.creates++;
	log_info("created %s (%.12s) generation %llu", c->name, c->id,
	         (unsigned long long)c->lab.generation);
	emit(dd, "container.created", ctr_fields(c));
	ops_start(dd, c);
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
		else if (status == 404)
			image_get(dd, image_missing(dd, o->image));
		else if (status == 409) {
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
			dd->st.starts++;
			dd->st.restarts += o->restart != 0;
			ctr_started(dd, c);
		} else if (status == 304 && c)
			ctr_started(dd, c);
		else if (status == 404 && c)
			ctr_gone(dd, c);
		else if (!ok)
			op_failed(dd, o, "start", msg);
		break;
	case OP_STOP:
		if (c && (ok || status == 304 || status == 404 || status == 409)) {
			c->state = DOCKER_EXITED;
			c->busy = 0;
			ops_remove(dd, c);
			return;
		}
		if (!ok && c)
			c->removing = 0;
		if (!ok)
			op_failed(dd, o, "stop", msg);
		break;
	case OP_HALT: /* its "die" event restarts it with the crash back-off */
		if (!ok && status != 304 && status != 404)
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
		if (ok && !o->pull_error[0])
			image_pulled(dd, img);
		else
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
