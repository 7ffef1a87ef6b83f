/* place.h: the pure, deterministic placement function shared by every canteen server. */
#ifndef CANTEEN_PLACE_H
#define CANTEEN_PLACE_H

#include <stddef.h>
#include <stdint.h>

/*
 * placement = f(services, nodes). No I/O, no clock, no globals: the same inputs give
 * byte-for-byte the same result whatever their order, on any platform. The exact
 * algorithm is documented in canteen-sched(8); change both together.
 */

#define PLACE_MAX_NODES 65536          /* active nodes accepted in one input */
#define PLACE_MAX_REPLICAS 100000      /* replicas of one service */
#define PLACE_MAX_SLOTS 16777216       /* replicas of all services together */
#define PLACE_MAX_PORTS 64             /* host port mappings of one service */
#define PLACE_MAX_AMOUNT (1ULL << 40)  /* largest CPU millicores or MiB accepted */
#define PLACE_RING_POINTS 256          /* points per node on the spread ring */
#define PLACE_NONE UINT32_MAX          /* slot not placed */
#define PLACE_HASH_LEN 32              /* bytes of a BLAKE2b-256 hash */

/* The contract's strategy numbers (rec.h owns the names). */
enum place_strategy { PLACE_SPREAD = 0, PLACE_ROUNDROBIN = 1, PLACE_BINPACK = 2 };

enum place_reason {
	PLACE_OK = 0,
	PLACE_INSUFFICIENT_CPU,
	PLACE_INSUFFICIENT_MEMORY,
	PLACE_PORT_CONFLICT,
	PLACE_NO_LIVE_NODES,
	PLACE_NO_MAJORITY,
};

enum place_proto { PLACE_TCP = 0, PLACE_UDP = 1 };

struct place_label {
	const char *key, *value;
};

struct place_port {
	uint16_t host;      /* 0: no host port (never conflicts) */
	uint16_t container;
	uint8_t proto;      /* enum place_proto */
};

struct place_node {
	const char *address;        /* unique; lowercase 0x-hex in canteen */
	uint64_t cpu_millis, mem_mib;
	const struct place_label *labels;
	size_t nlabels;
	int active;                 /* approved in the contract */
	int live;                   /* alive or suspect in the membership */
	uint32_t dead_s;            /* not live: for how long, in whole seconds, as the caller
	                             * counts it (canteen-sched(8)); not in the cache key */
	uint64_t activation;        /* the contract's order of becoming active (1, 2, ...; 0:
	                             * unknown): binpack fills older nodes first */
};

struct place_service {
	const char *name;           /* unique */
	uint32_t replicas;
	uint64_t cpu_millis, mem_mib;
	const struct place_port *ports;
	size_t nports;
	int64_t priority;           /* higher is placed first */
	int strategy;               /* enum place_strategy */
	int exclusive;              /* only with a strict majority of active nodes live */
	const struct place_label *selector; /* every key=value must be a label of the node */
	size_t nselector;
	uint64_t generation;
	uint32_t hold_s;            /* stateful: a replica whose reference node is active, not
	                             * live and dead_s < hold_s stays there (0: moves at once) */
};

struct place_input {
	const struct place_service *services;
	size_t nservices;
	const struct place_node *nodes;
	size_t nnodes;
};

struct place_slot {
	uint32_t node;              /* index into result->nodes, or PLACE_NONE */
	uint8_t reason;             /* enum place_reason; PLACE_OK when placed */
};

/*
 * The result borrows the input's strings and records: keep the input alive (unchanged)
 * while the result is used. services are in canonical order (by name, bytewise);
 * the slots of services[i] are slots[first[i] .. first[i + 1]) (first has nservices + 1
 * entries; only the result's own counts are used after computing, names stay borrowed).
 * nodes are all input nodes sorted by address.
 */
struct place_result {
	size_t nservices;
	const struct place_service **services;
	size_t *first;
	struct place_slot *slots;
	size_t nslots;
	size_t nnodes;
	const struct place_node **nodes;
	size_t placed, pending;
	unsigned char hash[32];     /* the placement hash (canteen-sched(8)) */
	char hash_hex[65];
	unsigned char *svc_hash;    /* PLACE_HASH_LEN bytes a service: BLAKE2b-256 of its lines */
};

/* Compute the placement. 0 with *out owned by the caller (place_result_free), or -1
 * with a sentence in err (invalid input: duplicate names, limits exceeded, no memory). */
int place_compute(const struct place_input *in, struct place_result **out, char *err,
                  size_t errlen);
void place_result_free(struct place_result *r);

/*
 * The same placement as place_compute, faster when only liveness changed since the last
 * call with this cache: the reference placement (every active node live) and the spread
 * ring of the active nodes are kept in the cache, keyed by a BLAKE2b-256 of everything in
 * the input but liveness, and reused while that key holds. The cache keeps no pointer
 * into any input. place_cache_new returns NULL on no memory; the cache is owned by the
 * caller (place_cache_free).
 */
struct place_cache;
struct place_cache *place_cache_new(void);
void place_cache_free(struct place_cache *cache);
int place_compute_cached(const struct place_input *in, struct place_cache *cache,
                         struct place_result **out, char *err, size_t errlen);

/* Canonical serialization, streamed in pieces to write (which returns 0, or -1 to stop):
 * the header line, then every service's lines (the hash is over each service's lines,
 * canteen-sched(8)). Returns 0 or -1 if write stopped. */
typedef int (*place_write_fn)(void *arg, const char *data, size_t len);
int place_serialize(const struct place_result *r, place_write_fn write, void *arg);

/* Index of a service by name in r->services, or -1. */
long place_find_service(const struct place_result *r, const char *name);
/* Node address of a slot, or NULL if pending. */
const char *place_slot_node(const struct place_result *r, const struct place_slot *s);

/* Replicas (service, index) placed in before whose node differs in after (moved to
 * another node or now pending). Services or indices absent from after do not count. */
size_t place_moved(const struct place_result *before, const struct place_result *after);
/* Replicas placed on node address in r. */
size_t place_count_on(const struct place_result *r, const char *address);

const char *place_reason_str(int reason);
const char *place_strategy_str(int strategy);

/* The fixed hashes the algorithm uses (documented in canteen-sched(8)). */
uint64_t place_mix64(uint64_t z);
uint64_t place_hash_str(const char *s);
uint64_t place_ring_point(uint64_t node_hash, uint32_t i);
uint64_t place_replica_key(uint64_t service_hash, uint32_t replica);

#endif
