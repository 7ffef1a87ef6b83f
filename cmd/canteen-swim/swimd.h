/* swimd.h: canteen-swim's context and the functions its files share. */
#ifndef CANTEEN_SWIMD_H
#define CANTEEN_SWIMD_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "ipc.h"
#include "loop.h"
#include "swim_core.h"
#include "swim_crypto.h"

#define SWIMD_MAX_JOIN 32
#define SWIMD_MAX_NODES 4096

/* One admitted node, as the chain (or the peers file) describes it. */
struct node_rec {
	uint8_t addr[SWIM_ADDR_LEN];
	char endpoint[128];
	uint8_t pubkey[SWIM_KEY_LEN];
};

/* Transport state of one admitted member (the swim_member's user pointer). */
struct peer {
	char endpoint[128];
	struct sockaddr_storage sa;
	socklen_t salen;
	int reachable;
	struct swim_peer_key key;
};

struct swimd_stats {
	uint64_t packets_in, bytes_in, packets_out, bytes_out, send_errors;
	uint64_t drops[SWIM_DROP_NREASONS];
	uint64_t events[SWIM_LEFT + 1]; /* member.* events published, by state */
};

struct swimd {
	struct conf cf;
	struct loop *loop;
	struct swim_config scfg;
	struct swim *swim;            /* NULL until this node's own record is admitted */
	struct swim_keys keys;
	struct swim_key_pool keypool; /* every peer's shared key, derived at first use */
	uint8_t self[SWIM_ADDR_LEN];  /* this node's address: node_name, or learnt (self_known) */
	int self_known;               /* self is set: from node_name, or the admitted record
	                               * holding our swim public key (never the Ethereum key) */
	const char *self_why;         /* while !self_known: why (static text) */
	int have_self;                /* our own record has been admitted (at least once) */
	int self_active;              /* and is now: 1, 0, or -1 before the first list */
	int fd, family;
	uint64_t seq;
	uint64_t timer, timer_at;
	struct ipc_server *srv;
	struct ipc_client *chain;
	char chain_sock[1024];
	const char *joins[SWIMD_MAX_JOIN];
	size_t njoins;
	struct node_rec *nodes;       /* the admitted set */
	size_t nnodes;
	/* A chain.sock snapshot being read (admit.c): applied at snapshot.end only. */
	struct node_rec *snap_nodes;
	size_t snap_n, snap_cap, snap_lines;
	int snap_open;
	struct swimd_stats st;
	int leaving;
};

/* net.c */
int net_open(struct swimd *d, char *err, size_t errlen);
void net_send(void *arg, const uint8_t to[SWIM_ADDR_LEN], const uint8_t *body, size_t len);
int net_resolve(const char *endpoint, struct sockaddr_storage *sa, socklen_t *salen,
                char *err, size_t errlen);
void swimd_reschedule(struct swimd *d);

/* admit.c */
int admit_load_peers(struct swimd *d, const char *path, char *err, size_t errlen);
void admit_start_chain(struct swimd *d);
/* Our own admitted record: the one with our address, if it carries our public key. NULL
 * otherwise, with *why saying what is wrong ("" when the address is not listed). */
const struct node_rec *admit_self(const struct swimd *d, const char **why);
/* Make the state machine's members match d->nodes (creating the machine once our own
 * record appears). */
void admit_sync(struct swimd *d);
void admit_free(struct swimd *d);

/* ctl.c */
int ctl_listen(struct swimd *d, char *err, size_t errlen);
void ctl_on_change(void *arg, const struct swim_member *m, int old_state, int meta_changed);
void ctl_publish_revoked(struct swimd *d, const struct swim_member *m);

#endif
