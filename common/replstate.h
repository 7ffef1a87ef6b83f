/* replstate.h: a server's replica states as a compact text that fits in SWIM's member metadata. */
#ifndef CANTEEN_REPLSTATE_H
#define CANTEEN_REPLSTATE_H

#include <stddef.h>
#include <stdint.h>

/*
 * canteen-dockerd publishes it through swim.sock's set_meta; every member's copy reaches every
 * other member, and canteen ps reads it back with the names it knows from the placement.
 * Printable ASCII and newlines only (it travels as a JSON string):
 *
 *   R2 <base> <total> <running> <starting> <pending> <failing>
 *   <hash> <replica> <generation> <state> <restarts> <since>[ <reason>]   one line per replica
 *
 * generation: of the desired spec the replica's container runs (the spec's own generation when
 * the container runs what it asks for, as after a scale; the container's otherwise), 0 when
 * unknown, followed by '^' when the replica was rolled back: generation's rollout failed and
 * the container runs the service's previous spec instead (canteen-dockerd(8), rollback);
 * peers' canteen-dockerd read it to gate a rolling update (rollout.c). A summary of
 * the previous version, R1 (no generation field), still decodes, with every generation 0.
 *
 * hash: 8 lowercase hex digits, replstate_hash of the service name; state: one letter of
 * replstate_state_name's table, followed for a running replica whose container has a health
 * check (its own or its image's) by '+' healthy, '!' unhealthy or '~' starting; since: seconds after base (unix seconds) of the last state
 * change, or "-" when unknown; reason: only for pending and failing states. The counts cover
 * every replica of the server; lines are written while they fit in REPLSTATE_MAX bytes
 * (failing and pending ones first), so a server with more replicas still says how many it
 * has and how they fare.
 *
 * When the running replicas' lines do not all fit, they go out grouped instead, without
 * restarts and since (R2 only):
 *
 *   =<hash> <generation>[^] r[<health>] <replicas>
 *
 * one line per service, generation, rollback mark and health; replicas a comma-separated,
 * strictly increasing list of indexes and ranges a-b (a < b), e.g. "0,3,6-9". A reader
 * gets each as a running replica with restarts 0 and since unknown (replstate_at).
 */
#define REPLSTATE_MAX 512           /* bytes: SWIM_META_MAX (swim_wire.h) */
#define REPLSTATE_REASON_MAX 120    /* bytes of a reason kept (longer ones are cut) */
#define REPLSTATE_ENTRIES_MAX 29    /* lines: (512 - 14) / 17, the shortest header and R1 line */
#define REPLSTATE_GROUPED_MAX 256   /* replicas of group lines: (512 - 14) / 2 ("N,") and more */
#define REPLSTATE_TOTAL_MAX 16384   /* replicas one server may claim (DD_CTRS_MAX) */
#define REPLSTATE_REPLICA_MAX 99999 /* a replica index (REC_RUN_REPLICAS_MAX - 1) */
#define REPLSTATE_RESTARTS_MAX 999999999u
#define REPLSTATE_SINCE_MAX 4102444800 /* unix seconds: 2100-01-01 */
#define REPLSTATE_GEN_MAX (1LL << 53) /* a generation (REC_MAX_GENERATION) */

enum replstate_state {
	RS_RUNNING, RS_CREATED, RS_PENDING, RS_RESTARTING, RS_CRASHLOOP, RS_EXITED, RS_DEAD,
	RS_REMOVING, RS_PAUSED, RS_NSTATES
};

/* Docker's State.Health.Status of a running container; RH_NONE: no health check. */
enum replstate_health { RH_NONE, RH_STARTING, RH_HEALTHY, RH_UNHEALTHY, RH_NHEALTH };

/* What the counts of the first line group states into. */
enum replstate_class { RSC_RUNNING, RSC_STARTING, RSC_PENDING, RSC_FAILING, RSC_OTHER };

struct replstate_entry {
	uint32_t hash;
	unsigned replica;
	uint64_t generation;                  /* 0 when unknown */
	int rolled_back;                      /* runs the spec before generation's, whose rollout failed */
	int brief;                            /* from a group line: restarts and since unknown */
	enum replstate_state state;
	enum replstate_health health;         /* RH_NONE unless running */
	unsigned restarts;
	int64_t since;                        /* unix seconds; 0 when unknown */
	char reason[REPLSTATE_REASON_MAX + 1]; /* "" when none */
};

/* A running replica of a group line. */
struct replstate_brief {
	uint32_t hash;
	unsigned replica;
	uint64_t generation;
	unsigned char health, rolled_back;
};

struct replstate {
	unsigned total;
	unsigned counts[4];                   /* by class: running, starting, pending, failing */
	size_t n;                             /* lines shown, one replica each */
	struct replstate_entry e[REPLSTATE_ENTRIES_MAX];
	size_t ng;                            /* replicas of group lines */
	struct replstate_brief g[REPLSTATE_GROUPED_MAX];
};

/* Replicas a decoded summary shows: rs->n lines, then rs->ng grouped ones. */
size_t replstate_len(const struct replstate *rs);
/* The i-th of them (i < replstate_len) as an entry (a grouped one: running, restarts 0,
 * since 0, no reason). */
void replstate_at(const struct replstate *rs, size_t i, struct replstate_entry *out);
/* The replica (hash, replica) if rs shows it: into *out, 1; else 0. */
int replstate_find(const struct replstate *rs, uint32_t hash, unsigned replica,
                   struct replstate_entry *out);

/* FNV-1a of the service name. */
uint32_t replstate_hash(const char *service);
/* "running", "created", ... (dockerd's state names); NULL outside the table. */
const char *replstate_state_name(enum replstate_state s);
/* The state of a name, or -1. */
int replstate_state_of(const char *name);
enum replstate_class replstate_class_of(enum replstate_state s);
/* "", "starting", "healthy", "unhealthy"; NULL outside the table. */
const char *replstate_health_name(enum replstate_health h);
/* The health of a name ("" or "none": RH_NONE), or -1. */
int replstate_health_of(const char *name);

/*
 * Summarise n replicas (in any order) into out (at least REPLSTATE_MAX + 1 bytes, NUL-ended);
 * returns its length. Reasons are cut to REPLSTATE_REASON_MAX bytes and bytes other than
 * printable ASCII become '?'; a reason of a running or starting replica is left out.
 * At most REPLSTATE_TOTAL_MAX replicas are counted.
 */
size_t replstate_encode(const struct replstate_entry *v, size_t n, char *out, size_t outlen);

/* Parse a member's summary (untrusted): 0, or -1 with a sentence in err and *rs unspecified.
 * Refused: more than REPLSTATE_MAX bytes, any byte outside printable ASCII and newline, a
 * field out of range, counts that do not add up (more in a class than total, more lines of
 * a class than its count), a replica shown twice, a reason on a state that has none. */
int replstate_decode(const char *s, size_t len, struct replstate *rs, char *err, size_t errlen);

#endif
