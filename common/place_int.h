/* place_int.h: internals shared by place.c, place_ring.c and place_out.c (not an API). */
#ifndef CANTEEN_PLACE_INT_H
#define CANTEEN_PLACE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "place.h"

/* Per-node state while placing (indexed like result->nodes). */
struct place_nstate {
	uint64_t free_cpu, free_mem, used_cpu, cap_cpu;
	uint64_t res_cpu, res_mem;     /* held for pinned replicas of services not placed yet */
	uint64_t activation;           /* the node's (binpack's order among equals) */
	uint32_t svc_stamp, svc_count; /* replicas of the current service (stamp = serial) */
	uint32_t elig_stamp;           /* matches the current service's selector */
	uint32_t rr_count;             /* roundrobin replicas placed here */
	uint8_t usable;                /* active and live */
};

struct place_ctx {
	struct place_result *res;
	struct place_nstate *ns;
	uint32_t *usable;              /* active and live nodes, ascending index */
	size_t nusable;
	uint32_t *ringset;             /* active nodes (live or not): the ring's points */
	size_t nring;
	int majority;                  /* live*2 > active */
	/* spread ring: points sorted by (position, node, point number) */
	uint64_t *ring_pos;
	uint32_t *ring_node;
	size_t ring_len;
	uint32_t *bucket;              /* first ring index per top-bits bucket */
	unsigned bucket_bits;
	uint64_t *node_points;         /* per usable node, its points ascending (lazy) */
	uint32_t *upos;                /* node index -> position in ringset */
	/* host ports in use: open addressing set of (node, proto, port) + 1 */
	uint64_t *ports;
	size_t ports_cap, ports_len;
	uint32_t rr_cap;               /* roundrobin replicas a node holds at most (when rr_on) */
	int rr_on;
	/* the service being placed */
	const struct place_service *svc;
	uint32_t serial, maxper;
	int has_selector;
	int use_res;                   /* a new replica leaves the reservations alone */
	uint32_t *elig, *elig_buf, *heap;
	uint32_t *by_age;              /* usable nodes by (activation, index), built for binpack */
	size_t nelig;
};

/* A spread ring, handed from one computation to the next over the same active nodes. */
struct place_ring {
	uint64_t *pos;
	uint32_t *node;
	uint32_t *bucket;
	unsigned bits;
};

int place_validate(const struct place_input *in, char *err, size_t errlen);
int place_run(const struct place_input *in, const struct place_result *ref, int exact,
              struct place_ring *ring, struct place_result **out, char *err, size_t errlen);
/* A cache for one call: it keeps no copy of the reference when every node is live. */
struct place_cache *place_cache_once(void);
int place_ring_build(struct place_ctx *c);
size_t place_ring_find(const struct place_ctx *c, uint64_t key);
size_t place_ring_index(const struct place_ctx *c, uint32_t n, uint64_t pos);
int place_node_distance(struct place_ctx *c, uint32_t n, uint64_t key, uint64_t *dist);
int place_ports_free(struct place_ctx *c, uint32_t n);
int place_ports_take(struct place_ctx *c, uint32_t n);
void place_ctx_free(struct place_ctx *c);
int place_hash_result(struct place_result *r, const struct place_result *ref);

#endif
