/* census.c: "images" on dockerd.sock and "images?" over the channel: which server holds which of a set of images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "errf.h"
#include "link.h"
#include "log.h"
#include "parse.h"
#include "rec.h"

#define CENSUS_REFS_MAX 64         /* images one request names */
#define CENSUS_LIST_MAX 3000       /* bytes of their JSON list: it must fit a channel request */
#define CENSUS_MAX 16              /* dockerd.sock requests under way at once */
#define CENSUS_ANSWERS_MAX 64      /* peers' "images?" being answered at once */
#define CENSUS_WAIT_MS 10000       /* a peer that has not answered by then is reported so */

/* Which of refs our Docker holds: one inspect each; done runs when all answered. */
struct check {
	struct dd *dd;
	json_t *held;
	unsigned pending;
	int orphan;                    /* its owner is gone: free it when the last answer comes */
	void (*done)(struct check *ck);
	void *owner;
};

struct check_req {
	struct check *ck;
	char ref[DOCKER_IMAGE_MAX];
};

/* One peer asked for a census. */
struct cpeer {
	struct census *cs;
	struct link *link;
	uint32_t stream;
	int sent, counted, answered;
	char node[43];
	struct cpeer *next;
};

/* One dockerd.sock "images" request. */
struct census {
	struct dd *dd;
	struct ipc_conn *conn;
	json_t *refs;
	unsigned waiting;              /* servers that have not answered */
	struct check *self;
	struct cpeer *peers;
	uint64_t timer;
	int dead;
	struct census *next;
};

/* One "images?" from a peer, answered after our Docker's. */
struct canswer {
	struct dd *dd;
	struct link *link;
	uint32_t stream;
	struct check *ck;
	int dead;
	struct canswer *next;
};

static void check_fin(struct check *ck)
{
	if (ck->pending)
		return;
	if (!ck->orphan && ck->done) {
		ck->done(ck);
		return; /* done frees it */
	}
	json_decref(ck->held);
	free(ck);
}

static void check_answer(struct docker *d, int status, const char *body, size_t len,
                         const char *err, void *arg)
{
	(void)d, (void)body, (void)len, (void)err;
	struct check_req *r = arg;
	struct check *ck = r->ck;
	if (status == 200)
		json_array_append_new(ck->held, json_string(r->ref));
	free(r);
	ck->pending--;
	check_fin(ck);
}

static struct check *check_start(struct dd *dd, json_t *refs, void (*done)(struct check *),
                                 void *owner)
{
	struct check *ck = calloc(1, sizeof *ck);
	if (!ck || !(ck->held = json_array())) {
		free(ck);
		return NULL;
	}
	ck->dd = dd;
	ck->done = done;
	ck->owner = owner;
	ck->pending = 1; /* held until every request is out */
	size_t i;
	json_t *v;
	json_array_foreach(refs, i, v) {
		char en[3 * DOCKER_IMAGE_MAX], path[3 * DOCKER_IMAGE_MAX + 32];
		struct check_req *r = calloc(1, sizeof *r);
		if (!r || dd->dk_state != DK_READY ||
		    docker_urlencode(json_string_value(v), en, sizeof en) < 0) {
			free(r);
			continue;
		}
		snprintf(path, sizeof path, "/images/%s/json", en);
		r->ck = ck;
		str_copy(r->ref, sizeof r->ref, json_string_value(v));
		if (docker_request(dd->dk, "GET", path, NULL, 10000, NULL, check_answer, r))
			ck->pending++;
		else
			free(r);
	}
	return ck;
}

/* Out of the loop's way: the last reference is dropped from a timer (no callback under us). */
static void check_release(struct check *ck)
{
	ck->pending--;
	check_fin(ck);
}

/* The request's "images": an array of at most CENSUS_REFS_MAX image references. */
static json_t *refs_parse(json_t *v, char *err, size_t errlen)
{
	size_t i;
	json_t *r;
	if (!json_is_array(v) || json_array_size(v) > CENSUS_REFS_MAX) {
		errf(err, errlen, "images: \"images\" must be an array of at most %d references",
		     CENSUS_REFS_MAX);
		return NULL;
	}
	json_array_foreach(v, i, r) {
		const char *s = json_string_value(r);
		char why[128];
		if (!s || rec_image_check(s, json_string_length(r), why, sizeof why) < 0) {
			errf(err, errlen, "images: entry %zu: %s", i, s ? why : "not a string");
			return NULL;
		}
	}
	char *t = json_dumps(v, JSON_COMPACT);
	size_t n = t ? strlen(t) : CENSUS_LIST_MAX + 1;
	free(t);
	if (n > CENSUS_LIST_MAX) {
		errf(err, errlen, "images: the list is over %d bytes", CENSUS_LIST_MAX);
		return NULL;
	}
	return json_incref(v);
}

/* ---- answering a peer ---- */

static void canswer_done(struct check *ck)
{
	struct canswer *a = ck->owner;
	if (!a->dead && a->link && link_is_open(a->link)) {
		json_t *o = json_pack("{s:O}", "held", ck->held);
		char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
		link_send(a->link, CHAN_END, a->stream, t ? t : "{\"error\":\"out of memory\"}",
		          t ? strlen(t) : 24);
		free(t);
		json_decref(o);
	}
	if (!a->dead && a->link)
		link_streams(a->link, -1);
	a->dead = 1;
	a->ck = NULL;
	json_decref(ck->held);
	free(ck);
	dd_reap_soon(a->dd);
}

static void answer(struct dd *dd, struct link *k, uint32_t stream, json_t *o)
{
	char err[256];
	json_error_t je;
	json_t *list;
	const char *op;
	unsigned n = 0;
	for (struct canswer *a = dd->canswers; a; a = a->next)
		n += !a->dead;
	if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:o}", "op", &op, "images", &list) < 0)
		snprintf(err, sizeof err, "images?: %s", je.text);
	else if (!(list = refs_parse(list, err, sizeof err)))
		;
	else if (link_nstreams(k) >= LINK_STREAMS_MAX || n >= CENSUS_ANSWERS_MAX) {
		json_decref(list);
		list = NULL;
		snprintf(err, sizeof err, "too many streams open: try again later");
	} else
		err[0] = '\0';
	if (err[0]) {
		link_end(k, stream, err);
		return;
	}
	struct canswer *a = calloc(1, sizeof *a);
	if (!a) {
		json_decref(list);
		return;
	}
	a->dd = dd;
	a->link = k;
	a->stream = stream;
	a->next = dd->canswers;
	dd->canswers = a;
	link_streams(k, 1);
	a->ck = check_start(dd, list, canswer_done, a);
	json_decref(list);
	if (!a->ck) {
		link_end(k, stream, "out of memory");
		link_streams(k, -1);
		a->dead = 1;
		return;
	}
	check_release(a->ck);
}

/* ---- a dockerd.sock request ---- */

static void census_send(struct census *cs, json_t *ev)
{
	if (ev && cs->conn && !cs->dead)
		ipc_send(cs->conn, ev);
	json_decref(ev);
}

static void census_end(struct census *cs)
{
	if (cs->dead)
		return;
	json_t *end = json_pack("{s:s}", "type", "end");
	census_send(cs, end);
	cs->dead = 1;
	if (cs->timer)
		loop_timer_cancel(cs->dd->loop, cs->timer);
	cs->timer = 0;
	for (struct cpeer *p = cs->peers; p; p = p->next)
		if (p->link && p->counted) {
			if (p->sent && !p->answered && link_is_open(p->link))
				link_send(p->link, CHAN_END, p->stream, "{}", 2);
			link_streams(p->link, -1);
			p->counted = 0;
		}
	if (cs->self) {
		cs->self->orphan = 1;
		cs->self = NULL;
	}
	dd_reap_soon(cs->dd);
}

static void census_server(struct census *cs, const char *node, json_t *held, const char *error)
{
	json_t *ev = json_pack("{s:s,s:s}", "type", "image.server", "node", node);
	if (ev && error)
		json_object_set_new(ev, "error", json_string(error));
	else if (ev)
		json_object_set(ev, "images", held);
	census_send(cs, ev);
	if (cs->waiting && --cs->waiting == 0)
		census_end(cs);
}

static void self_done(struct check *ck)
{
	struct census *cs = ck->owner;
	cs->self = NULL;
	census_server(cs, cs->dd->node, ck->held, NULL);
	json_decref(ck->held);
	free(ck);
}

static void census_timeout(struct loop *l, void *arg)
{
	(void)l;
	struct census *cs = arg;
	cs->timer = 0;
	for (struct cpeer *p = cs->peers; p && !cs->dead; p = p->next)
		if (!p->answered) {
			p->answered = 1;
			census_server(cs, p->node, NULL, "no answer within 10 s");
		}
	if (!cs->dead && cs->self) {
		cs->self->orphan = 1;
		cs->self = NULL;
		census_server(cs, cs->dd->node, NULL, "Docker did not answer within 10 s");
	}
}

static void cpeer_send(struct cpeer *p)
{
	json_t *o = json_pack("{s:s,s:O}", "op", "images?", "images", p->cs->refs);
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	p->stream = link_stream_new(p->link);
	p->sent = 1;
	if (!t || link_send(p->link, CHAN_REQ, p->stream, t, strlen(t)) < 0) {
		p->answered = 1;
		census_server(p->cs, p->node, NULL, "cannot send the request");
	}
	free(t);
}

/* {"op":"images","images":[REF...]}: {"type":"images","servers":N}, then one image.server
 * event per server ({"node","images":[held]} or {"node","error"}), then {"type":"end"}. */
void census_op(struct dd *dd, struct ipc_conn *c, json_t *msg)
{
	char err[256];
	json_error_t je;
	json_t *list, *idv = NULL;
	const char *op;
	unsigned n = 0;
	for (struct census *cs = dd->censuses; cs; cs = cs->next)
		n += !cs->dead;
	if (json_unpack_ex(msg, &je, JSON_STRICT, "{s:s, s:o, s?O}", "op", &op, "images", &list,
	                   "id", &idv) < 0) {
		ipc_reply_error(c, msg, "images: %s", je.text);
		return;
	}
	json_decref(idv);
	if (!(list = refs_parse(list, err, sizeof err))) {
		ipc_reply_error(c, msg, "%s", err);
		return;
	}
	if (n >= CENSUS_MAX) {
		json_decref(list);
		ipc_reply_error(c, msg, "images: %d requests under way: try again later", CENSUS_MAX);
		return;
	}
	struct census *cs = calloc(1, sizeof *cs);
	if (!cs) {
		json_decref(list);
		ipc_reply_error(c, msg, "out of memory");
		return;
	}
	cs->dd = dd;
	cs->conn = c;
	cs->refs = list;
	cs->next = dd->censuses;
	dd->censuses = cs;
	unsigned servers = 1;
	for (size_t i = 0; dd->chan_on && i < dd->npeers; i++)
		servers += memcmp(dd->peers[i].addr, dd->self, SWIM_ADDR_LEN) != 0;
	json_t *ok = json_pack("{s:s,s:i}", "type", "images", "servers", (int)servers);
	int rc = ipc_reply(c, msg, ok);
	json_decref(ok);
	if (rc < 0) {
		cs->conn = NULL;
		census_end(cs);
		return;
	}
	cs->waiting = servers;
	cs->timer = loop_timer_add(dd->loop, CENSUS_WAIT_MS, census_timeout, cs);
	for (size_t i = 0; dd->chan_on && i < dd->npeers && !cs->dead; i++) {
		const struct dd_peer *pe = &dd->peers[i];
		if (memcmp(pe->addr, dd->self, SWIM_ADDR_LEN) == 0)
			continue;
		struct cpeer *p = calloc(1, sizeof *p);
		if (!p)
			break;
		p->cs = cs;
		swim_addr_hex(pe->addr, p->node);
		p->next = cs->peers;
		cs->peers = p;
		if (!(p->link = link_to(dd, pe, err, sizeof err))) {
			p->answered = 1;
			census_server(cs, p->node, NULL, err);
			continue;
		}
		link_streams(p->link, 1);
		p->counted = 1;
		if (link_is_open(p->link))
			cpeer_send(p);
	}
	if (cs->dead)
		return;
	cs->self = check_start(dd, list, self_done, cs);
	if (!cs->self)
		census_server(cs, dd->node, NULL, "out of memory");
	else
		check_release(cs->self);
}

void census_conn_closed(struct dd *dd, struct ipc_conn *c)
{
	for (struct census *cs = dd->censuses; cs; cs = cs->next)
		if (cs->conn == c) {
			cs->conn = NULL;
			census_end(cs);
		}
}

/* ---- what links deliver ---- */

int census_on_frame(struct dd *dd, struct link *k, uint8_t type, uint32_t stream,
                    const uint8_t *payload, size_t len)
{
	if (link_is_server(k)) {
		if (type == CHAN_END) {
			for (struct canswer *a = dd->canswers; a; a = a->next)
				if (!a->dead && a->link == k && a->stream == stream) {
					a->dead = 1; /* the asker gave up: the check finishes unanswered */
					link_streams(k, -1);
					a->link = NULL;
					return 1;
				}
			return 0;
		}
		if (type != CHAN_REQ || len > CHAN_REQ_MAX)
			return 0;
		char err[128];
		json_t *req = ipc_parse_line((const char *)payload, len, err, sizeof err);
		const char *op = req ? json_string_value(json_object_get(req, "op")) : NULL;
		int ours = op && strcmp(op, "images?") == 0;
		if (ours)
			answer(dd, k, stream, req);
		json_decref(req);
		return ours;
	}
	for (struct census *cs = dd->censuses; cs; cs = cs->next)
		for (struct cpeer *p = cs->peers; !cs->dead && p; p = p->next) {
			if (p->link != k || !p->sent || p->stream != stream)
				continue;
			if (p->answered)
				return 1;
			if (type != CHAN_END) {
				link_close(k, "data on a census stream");
				return 1;
			}
			char err[256];
			json_t *o = len <= CHAN_REQ_MAX ? ipc_parse_line((const char *)payload, len, err, sizeof err)
			                                : NULL;
			json_t *held = json_object_get(o, "held");
			const char *e = json_string_value(json_object_get(o, "error"));
			p->answered = 1;
			link_streams(k, -1);
			p->counted = 0;
			if (json_is_array(held) && json_array_size(held) <= CENSUS_REFS_MAX)
				census_server(cs, p->node, held, NULL);
			else
				census_server(cs, p->node, NULL, e ? e : "a malformed answer");
			json_decref(o);
			return 1;
		}
	return 0;
}

void census_on_open(struct dd *dd, struct link *k)
{
	for (struct census *cs = dd->censuses; cs; cs = cs->next)
		for (struct cpeer *p = cs->peers; !cs->dead && p; p = p->next)
			if (p->link == k && !p->sent && !p->answered)
				cpeer_send(p);
}

void census_on_close(struct dd *dd, struct link *k, const char *why)
{
	char msg[300];
	snprintf(msg, sizeof msg, "channel: %s", why);
	for (struct canswer *a = dd->canswers; a; a = a->next)
		if (a->link == k) {
			a->link = NULL;
			a->dead = 1;
		}
	for (struct census *cs = dd->censuses; cs; cs = cs->next)
		for (struct cpeer *p = cs->peers; p; p = p->next)
			if (p->link == k) {
				p->link = NULL;
				p->counted = 0;
				if (!cs->dead && !p->answered) {
					p->answered = 1;
					census_server(cs, p->node, NULL, msg);
				}
			}
}

void census_reap(struct dd *dd)
{
	struct census **cp = &dd->censuses;
	while (*cp) {
		struct census *cs = *cp;
		if (cs->dead) {
			*cp = cs->next;
			while (cs->peers) {
				struct cpeer *p = cs->peers;
				cs->peers = p->next;
				free(p);
			}
			json_decref(cs->refs);
			free(cs);
		} else
			cp = &cs->next;
	}
	struct canswer **ap = &dd->canswers;
	while (*ap) {
		struct canswer *a = *ap;
		if (a->dead) {
			*ap = a->next;
			if (a->ck) {
				a->ck->orphan = 1;
			}
			free(a);
		} else
			ap = &a->next;
	}
}

void census_free(struct dd *dd)
{
	for (struct census *cs = dd->censuses; cs; cs = cs->next) {
		cs->conn = NULL;
		census_end(cs);
	}
	for (struct canswer *a = dd->canswers; a; a = a->next)
		a->dead = 1;
	census_reap(dd);
}
