/* place_state.h: the scheduler's inputs (chain.sock and swim.sock streams) decoded and kept. */
#ifndef CANTEEN_PLACE_STATE_H
#define CANTEEN_PLACE_STATE_H

#include <stddef.h>
#include <jansson.h>

#include "place.h"


/*
 * Holds the last desired state seen on chain.sock (nodes and services, as validated
 * JSON) and the last membership seen on swim.sock. A peer going away changes nothing:
 * the state stays until a new snapshot replaces it. No I/O.
 */
struct place_state;

struct place_state *place_state_new(void);
void place_state_free(struct place_state *st);

/*
 * Apply one message (borrowed) from chain.sock or swim.sock. Returns 1 if the
 * placement inputs may have changed, 0 if not (head, rpc.up, answers), or -1 with a
 * sentence in err when the message is malformed or of an unknown type (state
 * unchanged). In a snapshot, a malformed NODE, SERVICE or MEMBER is left out and the
 * rest applied: then err holds a sentence about what was left out (else err[0] = 0).
 * chain.sock's snapshot comes as lines (snapshot.begin, node and service lines,
 * snapshot.end): they are assembled, at most REC_SNAP_MAX_RECORDS records of
 * REC_SNAP_MAX_BYTES together, and applied at the end line only (which returns 1);
 * past a bound, on a count the end line does not confirm, or on an event in between,
 * the assembly is dropped (-1) and the last state stays.
 */
int place_state_chain(struct place_state *st, json_t *msg, char *err, size_t errlen);
int place_state_swim(struct place_state *st, json_t *msg, char *err, size_t errlen);

/*
 * Members that the last membership snapshot omitted although they were alive or
 * suspect before it (a restarted canteen-swim has not heard from them yet): they keep
 * their state until an event names them or place_state_release forgets them.
 * place_state_release returns 1 if that changed the membership, else 0.
 */
size_t place_state_held(const struct place_state *st);
int place_state_release(struct place_state *st);

/* Active nodes of the chain state that the membership does not list at all (this node
 * aside): canteen-swim has not heard from them yet, or they are down. */
size_t place_state_unheard(const struct place_state *st);

/* Both a chain snapshot and a membership snapshot have been seen. */
int place_state_ready(const struct place_state *st);
/* This node's address: live whatever swim says (this node is alive to itself); a
 * membership snapshot whose "self" differs is applied with a warning in err. */
void place_state_set_self(struct place_state *st, const char *address);

/*
 * The placement input for the current state. The arrays and strings belong to st and
 * stay valid until the next place_state_* call that changes it. 0 or -1 (no memory).
 */
int place_state_input(struct place_state *st, struct place_input *in);

/* The nodes of the last place_state_input (*n of them), writable so that the caller can
 * set what the state does not know (dead_s, a matter of the caller's clock). */
struct place_node *place_state_nodes(struct place_state *st, size_t *n);

/* Whether some member's metadata changed since the last call (then cleared). Metadata
 * alone does not change the placement: place_state_swim returns 0 for it. */
int place_state_meta_changed(struct place_state *st);

/*
 * The replicas other live members say they hold a container of (running, created,
 * restarting, crash-looping, paused or being removed), from their metadata
 * (canteen-dockerd's replica states, replstate.h): an object "HASH/REPLICA" -> address
 * (HASH: replstate_hash of the service as 8 hex digits; of two holders, the lower
 * address), owned by the caller; NULL on no memory. A summary that does not list every
 * replica of its server names only those it lists.
 */
json_t *place_state_claims(const struct place_state *st);

/* The validated SERVICE object of that name (borrowed), or NULL. */
json_t *place_state_service(const struct place_state *st, const char *name);
/* Counts for logs: nodes, services, members. */
void place_state_counts(const struct place_state *st, size_t *nodes, size_t *services,
                        size_t *members);

/* A MEMBER of swim.sock; 0 or -1 with err. (NODE and SERVICE are rec.h's.) */
int place_state_check_member(const json_t *member, char *err, size_t errlen);

/* Services that place_state_input left out because no server can run them: an object
 * name -> reason (borrowed; valid until the next place_state_input). */
const json_t *place_state_rejected(const struct place_state *st);

#endif
