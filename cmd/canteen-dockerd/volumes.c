/* volumes.c: dockerd.sock's "volumes" and "volume.prune": this server's replica volumes of this cluster. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerd.h"
#include "log.h"
#include "volumes.h"

#define VOL_DF_TIMEOUT_MS 60000  /* /system/df computes sizes: it may take a while */
#define VOL_RM_TIMEOUT_MS 30000

/* One request of a dockerd.sock client, while Docker answers. */
struct volq {
	struct dd *dd;
	struct ipc_conn *conn;       /* NULL once the client went away */
	json_t *msg;                 /* the request (for its id) */
	json_t *names;               /* prune: the names asked for; NULL: a listing */
	json_t *list;                /* our volumes, from /system/df */
	json_t *removed, *refused;   /* prune's outcome */
	size_t left;                 /* removals in flight */
	struct volq *next;
};

static void volq_free(struct volq *q)
{
	struct volq **p = &q->dd->volqs;
	while (*p && *p != q)
		p = &(*p)->next;
	if (*p)
		*p = q->next;
	json_decref(q->msg);
	json_decref(q->names);
	json_decref(q->list);
	json_decref(q->removed);
	json_decref(q->refused);
	free(q);
}

static void reply_error(struct volq *q, const char *why)
{
	if (q->conn)
		ipc_reply_error(q->conn, q->msg, "%s", why);
	volq_free(q);
}

/* Whether a container of ours (any state) is replica (service, replica). */
static int replica_here(struct dd *dd, const char *service, unsigned replica)
{
	for (struct ctr *c = dd->ctrs; c; c = c->next)
		if (c->lab.labels_ok && c->lab.replica == replica && strcmp(c->lab.service, service) == 0)
			return 1;
	return 0;
}

/* Whether this server's desired set has that replica (it is about to use the volume). */
static int replica_desired(struct dd *dd, const char *service, unsigned replica)
{
	for (size_t i = 0; dd->have_desired && i < dd->desired.n; i++)
		if (dd->desired.specs[i].replica == replica &&
		    strcmp(dd->desired.specs[i].service, service) == 0)
			return 1;
	return 0;
}

/* Docker's /system/df volumes into our list: those labelled with this cluster and either
 * this node or no node (volumes made before the node label). */
static json_t *our_volumes(struct dd *dd, const json_t *df)
{
	json_t *out = json_array(), *v;
	size_t i;
	json_array_foreach(json_object_get(df, "Volumes"), i, v) {
		json_t *lab = json_object_get(v, "Labels");
		const char *name = json_string_value(json_object_get(v, "Name"));
		const char *cl = json_string_value(json_object_get(lab, DOCKER_LABEL_CLUSTER));
		const char *node = json_string_value(json_object_get(lab, DOCKER_LABEL_NODE));
		const char *svc = json_string_value(json_object_get(lab, DOCKER_LABEL_SERVICE));
		const char *rep = json_string_value(json_object_get(lab, DOCKER_LABEL_REPLICA));
		const char *vol = json_string_value(json_object_get(lab, DOCKER_LABEL_VOLUME));
		unsigned long long r;
		char *end;
		if (!out || !name || !cl || !svc || !rep || !vol || strcmp(cl, dd->cluster) != 0 ||
		    (node && strcmp(node, dd->node) != 0) || !rec_name_ok(svc, strlen(svc)) ||
		    strlen(name) > 255 || !*rep || strlen(rep) > 6)
			continue;
		r = strtoull(rep, &end, 10);
		if (*end || r >= REC_RUN_REPLICAS_MAX)
			continue;
		json_t *usage = json_object_get(v, "UsageData");
		json_t *size = json_object_get(usage, "Size"), *refs = json_object_get(usage, "RefCount");
		int here = replica_here(dd, svc, (unsigned)r);
		int used = here || replica_desired(dd, svc, (unsigned)r) ||
		           (json_is_integer(refs) && json_integer_value(refs) != 0);
		json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:b,s:b}", "name", name, "service", svc,
		                      "replica", (json_int_t)r, "volume", vol, "replica_here", here,
		                      "used", used);
		/* Docker says -1 where it did not compute the size. */
		if (o && json_is_integer(size) && json_integer_value(size) >= 0)
			json_object_set(o, "size", size);
		if (o && json_is_integer(refs) && json_integer_value(refs) >= 0)
			json_object_set(o, "containers", refs);
		if (!o || json_array_append_new(out, o) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static void finish_prune(struct volq *q)
{
	if (q->conn) {
		json_t *a = json_pack("{s:s,s:O,s:O}", "type", "volume.prune", "removed", q->removed,
		                      "refused", q->refused);
		ipc_reply(q->conn, q->msg, a);
		json_decref(a);
	}
	volq_free(q);
}

struct rmarg {
	struct volq *q;
	char name[256];
};

static void rm_done(struct docker *d, int status, const char *body, size_t len, const char *err,
                    void *arg)
{
	struct rmarg *a = arg;
	struct volq *q = a->q;
	(void)d;
	if (status == 204 || status == 200) {
		log_info("volume %s removed (canteen volume prune)", a->name);
		json_array_append_new(q->removed, json_string(a->name));
	} else {
		char why[300];
		if (status == 0)
			snprintf(why, sizeof why, "Docker did not answer: %s", err ? err : "?");
		else
			snprintf(why, sizeof why, "Docker said %d: %.*s", status, (int)(len > 200 ? 200 : len),
			         body ? body : "");
		json_array_append_new(q->refused, json_pack("{s:s,s:s}", "name", a->name, "error", why));
	}
	free(a);
	if (--q->left == 0)
		finish_prune(q);
}

/* Remove every name asked for that is ours and unused, now. */
static void prune(struct volq *q)
{
	size_t i;
	json_t *n;
	q->removed = json_array();
	q->refused = json_array();
	if (!q->removed || !q->refused) {
		reply_error(q, "out of memory");
		return;
	}
	q->left = 1; /* held while the removals start */
	json_array_foreach(q->names, i, n) {
		const char *name = json_string_value(n), *why = "not a volume of this cluster on this server";
		json_t *v;
		size_t j;
		json_array_foreach(q->list, j, v) {
			if (strcmp(json_string_value(json_object_get(v, "name")), name) != 0)
				continue;
			why = json_is_true(json_object_get(v, "used")) ? "in use by a replica of this server" : NULL;
			break;
		}
		char path[300];
		struct rmarg *a = why ? NULL : calloc(1, sizeof *a);
		if (!why && !a)
			why = "out of memory";
		if (!why && docker_urlencode(name, a->name, sizeof a->name) < 0)
			why = "name too long";
		if (why) {
			free(a);
			json_array_append_new(q->refused, json_pack("{s:s,s:s}", "name", name, "error", why));
			continue;
		}
		snprintf(path, sizeof path, "/volumes/%s", a->name);
		snprintf(a->name, sizeof a->name, "%s", name);
		a->q = q;
		q->left++;
		if (!docker_request(q->dd->dk, "DELETE", path, NULL, VOL_RM_TIMEOUT_MS, NULL, rm_done, a)) {
			q->left--;
			free(a);
			json_array_append_new(q->refused, json_pack("{s:s,s:s}", "name", name, "error",
			                                            "cannot ask Docker"));
		}
	}
	if (--q->left == 0)
		finish_prune(q);
}

static void df_done(struct docker *d, int status, const char *body, size_t len, const char *err,
                    void *arg)
{
	struct volq *q = arg;
	json_error_t je;
	(void)d;
	if (status != 200) {
		char why[300];
		snprintf(why, sizeof why, "Docker's volume listing failed: %s",
		         status ? "an error answer" : (err ? err : "no answer"));
		reply_error(q, why);
		return;
	}
	json_t *df = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	q->list = json_is_object(df) ? our_volumes(q->dd, df) : NULL;
	json_decref(df);
	if (!q->list) {
		reply_error(q, "Docker's volume listing is not what was expected");
		return;
	}
	if (q->names) {
		prune(q);
		return;
	}
	if (q->conn) {
		json_t *a = json_pack("{s:s,s:s,s:O}", "type", "volumes", "node", q->dd->node, "volumes",
		                      q->list);
		ipc_reply(q->conn, q->msg, a);
		json_decref(a);
	}
	volq_free(q);
}

/* A prune's "names": 1 to VOL_PRUNE_MAX strings of 1 to 255 bytes. */
static int names_ok(const json_t *names, char *why, size_t len)
{
	size_t i;
	json_t *n;
	if (!json_is_array(names) || json_array_size(names) == 0 ||
	    json_array_size(names) > VOL_PRUNE_MAX) {
		snprintf(why, len, "volume.prune: \"names\" must be an array of 1 to %d volume names",
		         VOL_PRUNE_MAX);
		return 0;
	}
	json_array_foreach(names, i, n) {
		if (!json_is_string(n) || json_string_length(n) == 0 || json_string_length(n) > 255) {
			snprintf(why, len, "volume.prune: name %zu is not a string of 1 to 255 bytes", i);
			return 0;
		}
	}
	return 1;
}

void volumes_op(struct dd *dd, struct ipc_conn *c, json_t *msg, int prune_op)
{
	char why[160];
	json_t *names = json_object_get(msg, "names");
	if (prune_op && !names_ok(names, why, sizeof why)) {
		ipc_reply_error(c, msg, "%s", why);
		return;
	}
	if (dd->dk_state != DK_READY) {
		ipc_reply_error(c, msg, "Docker is not reachable");
		return;
	}
	size_t n = 0;
	for (struct volq *q = dd->volqs; q; q = q->next)
		n++;
	if (n >= VOL_QUERIES_MAX) {
		ipc_reply_error(c, msg, "too many volume requests in flight (%d): try again", VOL_QUERIES_MAX);
		return;
	}
	struct volq *q = calloc(1, sizeof *q);
	if (!q) {
		ipc_reply_error(c, msg, "out of memory");
		return;
	}
	q->dd = dd;
	q->conn = c;
	q->msg = json_incref(msg);
	q->names = prune_op ? json_incref(names) : NULL;
	q->next = dd->volqs;
	dd->volqs = q;
	if (!docker_request(dd->dk, "GET", "/system/df?type=volume", NULL, VOL_DF_TIMEOUT_MS, NULL,
	                    df_done, q))
		reply_error(q, "cannot ask Docker");
}

void volumes_conn_closed(struct dd *dd, struct ipc_conn *c)
{
	for (struct volq *q = dd->volqs; q; q = q->next)
		if (q->conn == c)
			q->conn = NULL;
}

void volumes_free(struct dd *dd)
{
	while (dd->volqs)
		volq_free(dd->volqs);
}
