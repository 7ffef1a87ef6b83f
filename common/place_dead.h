/* place_dead.h: since when each server has been dead, as this server counts it (stateful holds). */
#ifndef CANTEEN_PLACE_DEAD_H
#define CANTEEN_PLACE_DEAD_H

#include <stddef.h>
#include <stdint.h>

#include "place.h"

/*
 * canteen-sched keeps, per active node that is not live, the time it first saw it so
 * (monotonic milliseconds), and fills place_node.dead_s from it before each placement.
 * The table is saved to a file (wall-clock milliseconds) so that a restarted
 * canteen-sched does not count a long death again from zero (canteen-sched(8)).
 */
#define PLACE_DEAD_FILE_MAX (4u << 20) /* bytes of the saved table at most */

struct place_dead;

struct place_dead *place_dead_new(void);
void place_dead_free(struct place_dead *d);

/*
 * Set dead_s of every node of nodes (n) from the table at now_ms (monotonic): a node
 * that is active and not live and not in the table enters it at now_ms (or at the time
 * a loaded file gave it); a live, inactive or absent node leaves it. dead_s saturates at
 * UINT32_MAX. Returns 1 if the table changed (worth saving), 0 if not, -1 on no memory
 * (the nodes then count as dead since now: never early).
 */
int place_dead_update(struct place_dead *d, struct place_node *nodes, size_t n, uint64_t now_ms);

/* Milliseconds from now_ms until some hold of services (ns) on a dead node of nodes ends
 * (the placement changes then), or 0 if none is running. Call after place_dead_update. */
uint64_t place_dead_next_ms(const struct place_dead *d, const struct place_node *nodes, size_t n,
                            const struct place_service *services, size_t ns, uint64_t now_ms);

/*
 * Save the table to path (written to path.tmp, then renamed) as one JSON object address
 * -> wall-clock milliseconds since the epoch, given the clocks now. 0 or -1 with err.
 */
int place_dead_save(const struct place_dead *d, const char *path, uint64_t wall_ms,
                    uint64_t now_ms, char *err, size_t errlen);

/*
 * Read a table saved by place_dead_save: its entries are used by the next
 * place_dead_update for nodes not yet in the table. A time in the future (the wall clock
 * went back) counts as now; a node address that is not one, a value that is not a
 * non-negative integer, more than PLACE_MAX_NODES entries or a file larger than
 * PLACE_DEAD_FILE_MAX are refused (-1 with err, nothing taken). A missing file is 0.
 */
int place_dead_load(struct place_dead *d, const char *path, uint64_t wall_ms, uint64_t now_ms,
                    char *err, size_t errlen);

/* Entries in the table (for logs and tests). */
size_t place_dead_count(const struct place_dead *d);

#endif
