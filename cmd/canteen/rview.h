/* rview.h: each placed replica's state and health as this server knows them (its dockerd, the members' summaries). */
#ifndef CANTEEN_CLI_RVIEW_H
#define CANTEEN_CLI_RVIEW_H

#include <jansson.h>

#include "cli.h"
#include "replstate.h"

#define RVIEW_NOTE_MAX 200 /* bytes of a reason written here */

/* A member of canteen-swim's list and its summary, decoded on first use. */
struct rview_member {
	const char *address, *state, *meta;
	long long since_ms;
	int decoded;                 /* 0 not yet, 1 ok, -1 refused */
	char err[160];
	struct replstate rs;
};

/* What this server knows: its canteen-dockerd's ps and canteen-swim's members (either may
 * be missing: what it would tell is then unknown). */
struct rview {
	json_t *ps, *mem;
	struct rview_member *mv;
	size_t nm;
};

/* One replica: strings borrowed from the rview or written into the row. */
struct rview_state {
	const char *state, *reason;
	const char *health;          /* "starting", "healthy", "unhealthy"; NULL: no check or unknown */
	long long restarts;          /* -1 unknown */
	long long since;             /* unix seconds; 0 unknown */
	long long generation;        /* of the spec it runs, from its server's summary; 0 unknown */
	int rolled_back;             /* runs the spec before generation's (a failed rollout) */
	char note[RVIEW_NOTE_MAX];
	char rs_state[16], rs_reason[REPLSTATE_REASON_MAX + 1];
};

/* Ask dockerd.sock (ps) and swim.sock (members) of cli's run directory. */
void rview_load(struct cli *cli, struct rview *v);
void rview_free(struct rview *v);
/* The state of (service, replica) placed on node: this server's dockerd for its own, the
 * node's summary for the others (a suspect or dead node's replica is "unknown"). */
void rview_lookup(struct rview *v, const char *service, json_int_t replica, const char *node,
                  struct rview_state *out);
/* Ready: running, and healthy when its container has a health check. */
int rview_ready(const struct rview_state *s);
int rview_running(const struct rview_state *s);
/* Failed as canteen-dockerd's rollout counts it: exited, dead, restarting, in a crash loop,
 * running unhealthy, or pending after a refused pull or create. */
int rview_failed(const struct rview_state *s);
/* One request to a socket; the answer if its type is want, else NULL with err. */
json_t *rview_ask(const char *path, const char *op, const char *want, int timeout_ms, char *err,
                  size_t errlen);

#endif
