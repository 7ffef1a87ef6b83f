/* admit.c: who may be a member: the --peers file, or the active nodes chain.sock reports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "rec.h"
#include "swimd.h"

#define PEERS_FILE_MAX (4 * 1024 * 1024)

static int rec_parse(json_t *o, const char *key_key, struct node_rec *r, char *err,
                     size_t errlen)
{
	const char *addr = json_string_value(json_object_get(o, "address"));
	const char *ep = json_string_value(json_object_get(o, "endpoint"));
	const char *pk = json_string_value(json_object_get(o, key_key));
	if (!addr || swim_addr_parse(addr, r->addr) < 0) {
		snprintf(err, errlen, "\"address\" must be 0x and 40 lowercase hex digits");
		return -1;
	}
	if (!ep || strlen(ep) >= sizeof r->endpoint) {
		snprintf(err, errlen, "\"endpoint\" must be a host:port string");
		return -1;
	}
	memcpy(r->endpoint, ep, strlen(ep) + 1);
	if (!pk || swim_hex_parse(pk, r->pubkey, SWIM_KEY_LEN) < 0) {
		snprintf(err, errlen, "\"%s\" must be 64 hex digits", key_key);
		return -1;
	}
	return 0;
}

static struct node_rec *find_rec(struct node_rec *v, size_t n, const uint8_t *addr)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i].addr, addr, SWIM_ADDR_LEN) == 0)
			return &v[i];
	return NULL;
}

/* One line: {"address":"0x..","endpoint":"ip:port","pubkey":"<64 hex>"}, nothing else. */
static int peers_line(char *line, size_t len, struct node_rec *r, char *err, size_t errlen)
{
	char perr[256];
	json_t *o = ipc_parse_line(line, len, perr, sizeof perr);
	if (!o) {
		snprintf(err, errlen, "%s", perr);
		return -1;
	}
	const char *a, *e, *p;
	json_error_t je;
	int rc = json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:s, s:s}", "address", &a, "endpoint",
	                        &e, "pubkey", &p);
	if (rc < 0)
		snprintf(err, errlen, "%s", je.text);
	else
		rc = rec_parse(o, "pubkey", r, err, errlen);
	json_decref(o);
	return rc;
}

int admit_load_peers(struct swimd *d, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char ebuf[300];
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	char *text = malloc(PEERS_FILE_MAX + 1);
	size_t n = text ? fread(text, 1, PEERS_FILE_MAX + 1, f) : 0;
	fclose(f);
	int rc = -1, lineno = 0;
	if (!text || n > PEERS_FILE_MAX) {
		snprintf(err, errlen, "%s: too large (limit %d bytes)", path, PEERS_FILE_MAX);
		goto out;
	}
	text[n] = '\0';
	for (char *line = text; line && line < text + n;) {
		char *nl = memchr(line, '\n', (size_t)(text + n - line));
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		lineno++;
		char *next = nl ? nl + 1 : NULL;
		if (strspn(line, " \t\r") >= len) {
			line = next;
			continue;
		}
		struct node_rec r;
		if (d->nnodes == SWIMD_MAX_NODES) {
			snprintf(err, errlen, "%s: more than %d nodes", path, SWIMD_MAX_NODES);
			goto out;
		}
		if (peers_line(line, len, &r, ebuf, sizeof ebuf) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, ebuf);
			goto out;
		}
		if (find_rec(d->nodes, d->nnodes, r.addr)) {
			snprintf(err, errlen, "%s:%d: address listed twice", path, lineno);
			goto out;
		}
		struct node_rec *nv = realloc(d->nodes, (d->nnodes + 1) * sizeof *nv);
		if (!nv) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		d->nodes = nv;
		d->nodes[d->nnodes++] = r;
		line = next;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

static void snap_drop(struct swimd *d)
{
	free(d->snap_nodes);
	d->snap_nodes = NULL;
	d->snap_n = d->snap_cap = d->snap_lines = 0;
	d->snap_open = 0;
}

void admit_free(struct swimd *d)
{
	if (d->swim)
		for (size_t i = 0; i < swim_count(d->swim); i++) {
			struct swim_member *m = swim_at(d->swim, i);
			struct peer *p = m->user;
			if (p) {
				swim_peer_key_free(&p->key);
				free(p);
				m->user = NULL;
			}
		}
	free(d->nodes);
	d->nodes = NULL;
	d->nnodes = 0;
	snap_drop(d);
}

/* ---- keeping the state machine in line with d->nodes ---- */

/* Keep the shared key (and so the replay window) unless the public key changed. */
static int peer_set(struct swimd *d, struct swim_member *m, const struct node_rec *r)
{
	struct peer *p = m->user;
	int rekey = !p || memcmp(p->key.pk, r->pubkey, SWIM_KEY_LEN) != 0;
	if (p && !rekey && strcmp(p->endpoint, r->endpoint) == 0)
		return 0;
	if (!p && !(p = calloc(1, sizeof *p)))
		return -1;
	char hex[43], err[256];
	swim_addr_hex(r->addr, hex);
	if (rekey) {
		swim_peer_key_free(&p->key);
		if (swim_peer_key_init(&p->key, &d->keypool, &d->keys, d->self, r->pubkey, r->addr) < 0) {
			log_warnx("node %s: unusable public key; not admitted", hex);
			free(p);
			m->user = NULL;
			return -1;
		}
	}
	memcpy(p->endpoint, r->endpoint, sizeof p->endpoint);
	p->reachable = net_resolve(r->endpoint, &p->sa, &p->salen, err, sizeof err) == 0;
	if (!p->reachable)
		log_warnx("node %s: %s; it cannot be reached", hex, err);
	else if (p->sa.ss_family != d->family)
		log_warnx("node %s: endpoint %s is not in our address family", hex, r->endpoint);
	m->user = p;
	return 0;
}

static void revoke(struct swimd *d, struct swim_member *m)
{
	char hex[43];
	swim_addr_hex(m->addr, hex);
	log_info("node %s is no longer admitted; not talking to it any more", hex);
	if (m->state != SWIM_UNKNOWN)
		ctl_publish_revoked(d, m);
	struct peer *p = m->user;
	if (p) {
		swim_peer_key_free(&p->key);
		free(p);
	}
	m->user = NULL;
	swim_revoke(d->swim, m->addr);
}

static int create_machine(struct swimd *d)
{
	struct swim_io io = {net_send, ctl_on_change, d};
	uint64_t seed;
	randombytes_buf(&seed, sizeof seed);
	d->swim = swim_new(&d->scfg, d->self, &io, seed, loop_now(d->loop));
	if (!d->swim)
		return -1;
	char hex[43];
	swim_addr_hex(d->self, hex);
	log_info("this node is %s", hex);
	return 0;
}

static void add_seeds(struct swimd *d)
{
	for (size_t j = 0; j < d->njoins; j++) {
		int found = 0;
		struct sockaddr_storage sa;
		socklen_t salen;
		char err[256];
		if (net_resolve(d->joins[j], &sa, &salen, err, sizeof err) < 0)
			continue;
		for (size_t i = 0; i < d->nnodes; i++) {
			struct sockaddr_storage nsa;
			socklen_t nlen;
			if (net_resolve(d->nodes[i].endpoint, &nsa, &nlen, err, sizeof err) == 0 &&
			    nlen == salen && memcmp(&nsa, &sa, salen) == 0) {
				swim_add_seed(d->swim, d->nodes[i].addr);
				found = 1;
			}
		}
		if (!found)
			log_warnx("--join %s: no admitted node has that endpoint", d->joins[j]);
	}
}

/* Without node_name, we are the one admitted record that holds our swim public key. */
static const char *learn_self(struct swimd *d)
{
	const struct node_rec *me = NULL;
	size_t n = 0;
	if (d->self_known)
		return "";
	for (size_t i = 0; i < d->nnodes; i++)
		if (sodium_memcmp(d->nodes[i].pubkey, d->keys.pk, SWIM_KEY_LEN) == 0) {
			me = &d->nodes[i];
			n++;
		}
	if (n > 1)
		return "more than one admitted node holds this node's public key (swim_key_file); "
		       "set node_name (--node) to say which one this is";
	if (n == 0)
		return "no admitted node holds this node's public key (swim_key_file); register it "
		       "(canteen node join), or set node_name (--node)";
	memcpy(d->self, me->addr, SWIM_ADDR_LEN);
	d->self_known = 1;
	char hex[43];
	swim_addr_hex(d->self, hex);
	log_info("this node is %s: the admitted node holding this node's public key", hex);
	return "";
}

const struct node_rec *admit_self(const struct swimd *d, const char **why)
{
	const struct node_rec *me = NULL;
	*why = d->self_known ? "" : d->self_why;
	if (!d->self_known)
		return NULL;
	for (size_t i = 0; i < d->nnodes && !me; i++)
		if (memcmp(d->nodes[i].addr, d->self, SWIM_ADDR_LEN) == 0)
			me = &d->nodes[i];
	if (me && sodium_memcmp(me->pubkey, d->keys.pk, SWIM_KEY_LEN) != 0) {
		*why = " with this node's public key (swim_key_file holds another key pair)";
		return NULL;
	}
	return me;
}

void admit_sync(struct swimd *d)
{
	const char *why;
	d->self_why = learn_self(d);
	const struct node_rec *me = admit_self(d, &why);
	if (me)
		d->have_self = 1;
	int active = me != NULL;
	if (active != d->self_active) {
		char hex[43];
		swim_addr_hex(d->self, hex);
		if (!d->self_known)
			log_info("this node is not admitted: %s; no members until it is", why);
		else if (active)
			log_info("this node (%s) is admitted", hex);
		else
			log_info("this node (%s) is not (or no longer) admitted%s: no members until it "
			         "is", hex, why[0] ? why : "");
	}
	d->self_active = active;
	if (!d->have_self)
		return;
	if (!d->swim) {
		if (create_machine(d) < 0) {
			log_warnx("out of memory creating the membership state");
			return;
		}
	}
	/* Forget whoever is gone (everyone but us while we are not admitted ourselves). */
	for (size_t i = swim_count(d->swim); i-- > 0;) {
		struct swim_member *m = swim_at(d->swim, i);
		if (memcmp(m->addr, d->self, SWIM_ADDR_LEN) == 0)
			continue;
		if (!active || !find_rec(d->nodes, d->nnodes, m->addr))
			revoke(d, m);
	}
	if (!active)
		return;
	for (size_t i = 0; i < d->nnodes; i++) {
		const struct node_rec *r = &d->nodes[i];
		if (r == me)
			continue;
		struct swim_member *m = swim_admit(d->swim, r->addr);
		if (!m || peer_set(d, m, r) < 0) {
			if (m)
				swim_revoke(d->swim, r->addr);
			continue;
		}
	}
	if (d->njoins)
		add_seeds(d);
	swimd_reschedule(d);
}

/* ---- chain.sock ---- */

static int node_json(json_t *n, struct node_rec *r, int *active)
{
	char err[128];
	*active = json_is_true(json_object_get(n, "active"));
	return rec_parse(n, "swim_pubkey", r, err, sizeof err);
}

/* One node or service line of a snapshot: an approved, well-formed node is kept (at most
 * SWIMD_MAX_NODES); past REC_SNAP_MAX_RECORDS lines the snapshot is dropped. */
static void snap_line(struct swimd *d, json_t *msg, int service)
{
	if (!d->snap_open) {
		log_warnx("chain.sock: a record line outside a snapshot; ignored");
		return;
	}
	if (++d->snap_lines > REC_SNAP_MAX_RECORDS) {
		log_warnx("chain.sock: snapshot over %d records: dropped, keeping the admitted set",
		          REC_SNAP_MAX_RECORDS);
		snap_drop(d);
		return;
	}
	json_t *n = json_object_get(msg, "node");
	struct node_rec r;
	int active;
	char err[256];
	if (service)
		return;
	if (rec_node_check(n, err, sizeof err) < 0 || node_json(n, &r, &active) < 0) {
		const char *a = json_string_value(json_object_get(n, "address"));
		log_warnx("chain.sock: snapshot: node %.42s left out: %s", a ? a : "?", err);
		return;
	}
	if (!active || find_rec(d->snap_nodes, d->snap_n, r.addr))
		return;
	if (d->snap_n == SWIMD_MAX_NODES)
		return; /* snap_end says so */
	if (d->snap_n == d->snap_cap) {
		size_t cap = d->snap_cap ? d->snap_cap * 2 : 16;
		struct node_rec *nv = realloc(d->snap_nodes, cap * sizeof *nv);
		if (!nv) {
			log_warnx("chain.sock: out of memory reading a snapshot: dropped");
			snap_drop(d);
			return;
		}
		d->snap_nodes = nv;
		d->snap_cap = cap;
	}
	d->snap_nodes[d->snap_n++] = r;
}

/* The end line: its counts must be the lines read, else a line went missing. */
static int snap_end(struct swimd *d, json_t *msg)
{
	json_t *nn = json_object_get(msg, "nodes"), *ns = json_object_get(msg, "services");
	if (!d->snap_open) {
		log_warnx("chain.sock: snapshot.end without snapshot.begin; ignored");
		return -1;
	}
	if (!json_is_integer(nn) || !json_is_integer(ns) || json_integer_value(nn) < 0 ||
	    json_integer_value(ns) < 0 ||
	    (size_t)json_integer_value(nn) + (size_t)json_integer_value(ns) != d->snap_lines) {
		log_warnx("chain.sock: snapshot.end announces other counts than the %zu records read: "
		          "dropped, keeping the admitted set", d->snap_lines);
		snap_drop(d);
		return -1;
	}
	free(d->nodes);
	d->nodes = d->snap_nodes;
	d->nnodes = d->snap_n;
	d->snap_nodes = NULL;
	snap_drop(d);
	log_info("chain snapshot: %zu active nodes", d->nnodes);
	if (d->nnodes == SWIMD_MAX_NODES)
		log_warnx("chain.sock: at most %d nodes are admitted; any others are not",
		          SWIMD_MAX_NODES);
	return 0;
}

static void node_upsert(struct swimd *d, json_t *n)
{
	struct node_rec r;
	int active;
	if (node_json(n, &r, &active) < 0)
		return;
	struct node_rec *old = find_rec(d->nodes, d->nnodes, r.addr);
	if (!active) {
		if (old)
			*old = d->nodes[--d->nnodes];
		return;
	}
	if (old) {
		*old = r;
		return;
	}
	if (d->nnodes == SWIMD_MAX_NODES)
		return;
	struct node_rec *nv = realloc(d->nodes, (d->nnodes + 1) * sizeof *nv);
	if (!nv)
		return;
	d->nodes = nv;
	d->nodes[d->nnodes++] = r;
}

static void on_chain_msg(struct ipc_client *c, json_t *msg, void *arg)
{
	struct swimd *d = arg;
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!type)
		return;
	if (strcmp(type, "snapshot.begin") == 0) {
		snap_drop(d);
		d->snap_open = 1;
		return;
	} else if (strcmp(type, "node") == 0 || strcmp(type, "service") == 0) {
		snap_line(d, msg, type[0] == 's');
		return;
	} else if (strcmp(type, "snapshot.end") == 0) {
		if (snap_end(d, msg) < 0)
			return;
		ipc_client_backoff_reset(c); /* a whole snapshot came: chainwatch works */
	} else if (d->snap_open && strcmp(type, "error") != 0) {
		/* chainwatch queues a snapshot whole: an event inside one means lost lines. */
		log_warnx("chain.sock: a %.64s event inside a snapshot: the snapshot is dropped", type);
		snap_drop(d);
		return;
	} else if (strcmp(type, "node.upsert") == 0) {
		node_upsert(d, json_object_get(msg, "node"));
	} else if (strcmp(type, "node.remove") == 0) {
		uint8_t a[SWIM_ADDR_LEN];
		const char *s = json_string_value(json_object_get(msg, "address"));
		struct node_rec *old = s && swim_addr_parse(s, a) == 0 ? find_rec(d->nodes, d->nnodes, a)
		                                                        : NULL;
		if (old)
			*old = d->nodes[--d->nnodes];
	} else if (strcmp(type, "error") == 0) {
		log_warnx("chain.sock: %s", json_string_value(json_object_get(msg, "error")));
		return;
	} else {
		return; /* services, heads, rpc state: not ours */
	}
	admit_sync(d);
}

static void on_chain_state(struct ipc_client *c, int connected, void *arg)
{
	struct swimd *d = arg;
	if (!connected) {
		log_warnx("lost %s; keeping the last admitted set", d->chain_sock);
		snap_drop(d);
		return;
	}
	json_t *req = json_pack("{s:s}", "op", "subscribe");
	if (req && ipc_client_send(c, req) == 0)
		log_info("subscribed to %s", d->chain_sock);
	json_decref(req);
}

void admit_start_chain(struct swimd *d)
{
	d->chain = ipc_client_new(d->loop, d->chain_sock, on_chain_msg, on_chain_state, d);
	if (!d->chain)
		fatalx("cannot create the chain.sock client");
}
