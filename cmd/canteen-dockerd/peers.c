/* peers.c: the channel's admitted set: the active nodes chain.sock reports, with their keys and endpoints. */
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "log.h"
#include "rec.h"
#include "rollout.h"

const struct dd_peer *peer_find(const struct dd *dd, const uint8_t addr[SWIM_ADDR_LEN])
{
	for (size_t i = 0; i < dd->npeers; i++)
		if (memcmp(dd->peers[i].addr, addr, SWIM_ADDR_LEN) == 0)
			return &dd->peers[i];
	return NULL;
}

/* An active, well-formed NODE object into p; 1 kept, 0 inactive, -1 malformed. */
static int peer_of(json_t *n, struct dd_peer *p)
{
	char err[256];
	if (rec_node_check(n, err, sizeof err) < 0)
		return -1;
	const char *a = json_string_value(json_object_get(n, "address"));
	const char *e = json_string_value(json_object_get(n, "endpoint"));
	const char *k = json_string_value(json_object_get(n, "swim_pubkey"));
	if (!a || !e || !k || swim_addr_parse(a, p->addr) < 0 || strlen(e) > REC_MAX_ENDPOINT ||
	    swim_hex_parse(k, p->pk, SWIM_KEY_LEN) < 0)
		return -1;
	memcpy(p->endpoint, e, strlen(e) + 1);
	return json_is_true(json_object_get(n, "active")) ? 1 : 0;
}

static void snap_drop(struct dd *dd)
{
	free(dd->snap);
	dd->snap = NULL;
	dd->snap_n = dd->snap_cap = dd->snap_lines = 0;
	dd->snap_open = 0;
}

static void snap_line(struct dd *dd, json_t *msg, int service)
{
	struct dd_peer p;
	if (!dd->snap_open)
		return;
	if (++dd->snap_lines > REC_SNAP_MAX_RECORDS) {
		log_warnx("chain.sock: snapshot over %d records: dropped, keeping the admitted set",
		          REC_SNAP_MAX_RECORDS);
		snap_drop(dd);
		return;
	}
	if (service || peer_of(json_object_get(msg, "node"), &p) != 1 || dd->snap_n == DD_PEERS_MAX)
		return;
	for (size_t i = 0; i < dd->snap_n; i++)
		if (memcmp(dd->snap[i].addr, p.addr, SWIM_ADDR_LEN) == 0)
			return;
	if (dd->snap_n == dd->snap_cap) {
		size_t cap = dd->snap_cap ? dd->snap_cap * 2 : 16;
		struct dd_peer *v = realloc(dd->snap, cap * sizeof *v);
		if (!v) {
			log_warnx("chain.sock: out of memory reading a snapshot: dropped");
			snap_drop(dd);
			return;
		}
		dd->snap = v;
		dd->snap_cap = cap;
	}
	dd->snap[dd->snap_n++] = p;
}

static int snap_end(struct dd *dd, json_t *msg)
{
	json_t *nn = json_object_get(msg, "nodes"), *ns = json_object_get(msg, "services");
	if (!dd->snap_open || !json_is_integer(nn) || !json_is_integer(ns) ||
	    json_integer_value(nn) < 0 || json_integer_value(ns) < 0 ||
	    (size_t)json_integer_value(nn) + (size_t)json_integer_value(ns) != dd->snap_lines) {
		log_warnx("chain.sock: a snapshot that does not add up: dropped, keeping the admitted set");
		snap_drop(dd);
		return -1;
	}
	free(dd->peers);
	dd->peers = dd->snap;
	dd->npeers = dd->snap_n;
	dd->snap = NULL;
	snap_drop(dd);
	if (!dd->have_peers)
		log_info("channel: %zu admitted servers", dd->npeers);
	dd->have_peers = 1;
	return 0;
}

static void peer_remove(struct dd *dd, const uint8_t addr[SWIM_ADDR_LEN])
{
	struct dd_peer *p = (struct dd_peer *)peer_find(dd, addr);
	if (p)
		*p = dd->peers[--dd->npeers];
}

static void node_upsert(struct dd *dd, json_t *n)
{
	struct dd_peer p;
	int active = peer_of(n, &p);
	if (active < 0)
		return;
	peer_remove(dd, p.addr);
	if (!active || dd->npeers == DD_PEERS_MAX)
		return;
	struct dd_peer *v = realloc(dd->peers, (dd->npeers + 1) * sizeof *v);
	if (!v)
		return;
	dd->peers = v;
	dd->peers[dd->npeers++] = p;
}

static void on_chain_msg(struct ipc_client *c, json_t *msg, void *arg)
{
	struct dd *dd = arg;
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!type)
		return;
	rollout_on_chain(dd, type, msg); /* the services' update policies */
	if (strcmp(type, "snapshot.begin") == 0) {
		snap_drop(dd);
		dd->snap_open = 1;
		return;
	}
	if (strcmp(type, "node") == 0 || strcmp(type, "service") == 0) {
		snap_line(dd, msg, type[0] == 's');
		return;
	}
	if (strcmp(type, "snapshot.end") == 0) {
		if (snap_end(dd, msg) < 0)
			return;
		ipc_client_backoff_reset(c);
	} else if (dd->snap_open) {
		if (strcmp(type, "error") != 0)
			snap_drop(dd); /* an event inside a snapshot: lines were lost */
		return;
	} else if (strcmp(type, "node.upsert") == 0) {
		node_upsert(dd, json_object_get(msg, "node"));
	} else if (strcmp(type, "node.remove") == 0) {
		uint8_t a[SWIM_ADDR_LEN];
		const char *s = json_string_value(json_object_get(msg, "address"));
		if (s && swim_addr_parse(s, a) == 0)
			peer_remove(dd, a);
	} else
		return;
	links_revoked(dd);
}

static void on_chain_state(struct ipc_client *c, int connected, void *arg)
{
	struct dd *dd = arg;
	if (!connected) {
		log_warnx("lost %s; keeping the last admitted set", dd->chain_sock);
		snap_drop(dd);
		return;
	}
	json_t *req = json_pack("{s:s}", "op", "subscribe");
	if (req && ipc_client_send(c, req) == 0)
		log_info("subscribed to %s", dd->chain_sock);
	json_decref(req);
}

void peers_start(struct dd *dd)
{
	dd->chain = ipc_client_new(dd->loop, dd->chain_sock, on_chain_msg, on_chain_state, dd);
	if (!dd->chain)
		fatalx("cannot create the chain.sock client");
}

void peers_stop(struct dd *dd)
{
	ipc_client_free(dd->chain);
	dd->chain = NULL;
	snap_drop(dd);
	free(dd->peers);
	dd->peers = NULL;
	dd->npeers = 0;
}
