/* rec_fold.h: services from the contract's logs (version 4): decode, fold, check against serviceStates. */
#ifndef CANTEEN_REC_FOLD_H
#define CANTEEN_REC_FOLD_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "eth_util.h"
#include "rec.h"

/*
 * The contract keeps no service record in storage: ServiceUpserted carries the spec
 * bytes, ServiceScaled and ServiceRemoved the name and the new generation; storage holds
 * per service its generation, replicas and the first 20 bytes of keccak256 of the spec
 * bytes (serviceStates). A reader folds the logs from deployBlock to a block, then checks
 * the fold against serviceCount and serviceStates at that block: equal, or the fold is
 * wrong (a log missing, another chain) and must not be used. The pure part is here; the
 * transports (chainwatch's eth_arpc, the CLI's eth_rpc) are their own.
 */

#define REC_FOLD_NEVENTS 3
enum rec_fold_kind { REC_FOLD_UPSERT, REC_FOLD_SCALE, REC_FOLD_REMOVE };

#define REC_FOLD_STATES_MAX 1000 /* names per serviceStates call (the contract's MAX_PAGE) */
#define REC_FOLD_HASH_LEN 20     /* bytes of keccak256(spec) the contract keeps */

struct rec_fold {
	json_t *services; /* name -> SERVICE: the records within the rules */
	json_t *meta;     /* name -> [generation, replicas, "0x" + 40 hex]: every service held */
};

/* One decoded log. */
struct rec_fold_change {
	enum rec_fold_kind kind;
	char name[REC_MAX_NAME + 1];
	uint64_t generation, replicas;
	char hash[2 * REC_FOLD_HASH_LEN + 3]; /* upsert: the spec's hash as the contract keeps it */
	json_t *service; /* upsert, scale: the SERVICE (owned); NULL when it breaks the rules */
};

/* 0, or -1 when out of memory. */
int rec_fold_init(struct rec_fold *f);
void rec_fold_free(struct rec_fold *f);
/* topic0 of ServiceUpserted, ServiceScaled, ServiceRemoved (in rec_fold_kind order). */
void rec_fold_topics(uint8_t topics[REC_FOLD_NEVENTS][32]);

/*
 * Decode one service log (its topics and data) against the fold so far (a scale needs the
 * record it scales). 0: c is filled (c->service NULL with err set when the record breaks
 * the rules: the contract holds it, no server runs it); -1: the log is malformed, or
 * scales a service the fold does not hold (err). Free c with rec_fold_change_free.
 */
int rec_fold_decode(const struct rec_fold *f, const uint8_t (*topics)[32], size_t ntopics,
                    const uint8_t *data, size_t len, struct rec_fold_change *c, char *err,
                    size_t errlen);
/* An upsert's record carries "previous" (canteen-events(7)): the generation and the run keys
 * (image, command, env, cpu_millis, mem_mib, ports, health, volumes, read_only) of the record
 * before it when those differ, else the record before's own "previous"; absent for a
 * service's first record. canteen-dockerd returns to it when a rollout fails (rollback). */

/* Apply a decoded change; takes c->service. 0, or -1 when out of memory. */
int rec_fold_apply(struct rec_fold *f, struct rec_fold_change *c);
void rec_fold_change_free(struct rec_fold_change *c);
/* The chain.sock event of a change at block (owned): service.upsert, or service.remove
 * for a removal or a record left out. */
json_t *rec_fold_event(const struct rec_fold_change *c, uint64_t block);

/* ---- checking a fold against the contract at one block ---- */
/* The names the fold holds, in a fixed order (owned array of strings). */
json_t *rec_fold_names(const struct rec_fold *f);
/* Calldata of serviceStates(keccak256 of names[off .. off+n)) into out (n <= REC_FOLD_STATES_MAX). */
int rec_fold_states_call(const json_t *names, size_t off, size_t n, struct eth_buf *out,
                         char *err, size_t errlen);
/* What serviceStates returned for those names equals the fold: 0, or -1 with the first
 * difference in err. */
int rec_fold_states_check(const struct rec_fold *f, const json_t *names, size_t off, size_t n,
                          const uint8_t *ret, size_t len, char *err, size_t errlen);
/* serviceCount's answer equals the number of services the fold holds: 0, or -1 (err). */
int rec_fold_count_check(const struct rec_fold *f, const uint8_t *ret, size_t len, char *err,
                         size_t errlen);
/* Selectors (4 bytes, hex "0x........") of serviceCount() and deployBlock(). */
void rec_fold_selector(const char *sig, char out[11]);

#endif
