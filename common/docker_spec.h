/* docker_spec.h: the desired set canteen-sched sends to canteen-dockerd: decode, validate, render. */
#ifndef CANTEEN_DOCKER_SPEC_H
#define CANTEEN_DOCKER_SPEC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "docker_json.h"

/* The limits are the run rules of rec.h, the one owner of the records' rules. */
#define DOCKER_IMAGE_MAX (REC_RUN_IMAGE_MAX + 1) /* an image reference and its NUL */
#define DOCKER_SPECS_MAX 4096                    /* containers in one desired set */

struct docker_port {
	uint16_t host, container;
	char proto[4];              /* "tcp" or "udp" */
};

/* A service's health check (rec.h's "health"); all zero: none given. */
struct docker_healthcheck {
	char **cmd;                 /* as on chain: CMD args, or "CMD-SHELL" and a command */
	size_t ncmd;                /* 0: the image's own HEALTHCHECK */
	uint64_t interval_ms, timeout_ms, start_period_ms; /* 0: Docker's default */
	unsigned retries;           /* 0: Docker's default */
	int disabled;               /* the image's HEALTHCHECK off */
};

/* One container canteen-sched wants on this node. Strings are owned by the spec. */
struct docker_spec {
	char service[DOCKER_SERVICE_MAX];
	unsigned replica;
	uint64_t generation;
	char image[DOCKER_IMAGE_MAX];
	char **command;
	size_t ncommand;
	char **env;
	size_t nenv;
	uint64_t cpu_millis, mem_mib; /* 0: no limit */
	struct docker_port ports[REC_MAX_PORTS];
	size_t nports;
	struct docker_healthcheck health;
	struct rec_volume volumes[REC_MAX_VOLUMES]; /* named volumes of this replica */
	size_t nvolumes;
	int read_only;              /* read-only root filesystem */
	/* Set by canteen-dockerd, never decoded: the docker_spec_hash of the spec whose failed
	 * rollout this one returns from (the io.canteen.rollback label); "" otherwise. */
	char rollback_of[DOCKER_SPEC_HASH_LEN + 1];
};

/* Has s a health check of its own, or the image's (disabled: no)? As far as the spec
 * knows: the image's HEALTHCHECK is Docker's to tell (State.Health). */
int docker_spec_health_given(const struct docker_spec *s);

/* A spec refused by validation or by the node's policy: the service (as far as it is
 * printable) and why. */
struct docker_reject {
	char service[DOCKER_SERVICE_MAX];
	long replica;               /* -1 when unknown */
	char error[256];
	int policy;                 /* refused by the node policy (the spec itself is valid) */
};

struct docker_desired {
	char node[DOCKER_NODE_LEN + 1];
	struct docker_spec *specs;
	size_t n;
	struct docker_reject *rejects;
	size_t nrejects;
};

/*
 * Decode {"op":"desired","node":"0x..","containers":[SPEC...]}. A message that is not of
 * that shape, or whose node is not self_node, is refused whole (-1, err). A single SPEC
 * that is malformed (image reference, name, replica, ports, limits, duplicates) goes to
 * rejects and the others are kept (0). out is owned by the caller: docker_desired_free.
 */
int docker_desired_decode(const json_t *msg, const char *self_node, struct docker_desired *out,
                          char *err, size_t errlen);
/* The same, and every valid SPEC is then checked against policy (docker_policy_check: its
 * limits of 0 filled in) before the checks on the set as a whole; NULL: no policy. */
struct docker_policy;
int docker_desired_decode_policy(const json_t *msg, const char *self_node,
                                 const struct docker_policy *policy, struct docker_desired *out,
                                 char *err, size_t errlen);
void docker_desired_free(struct docker_desired *d);

/* One SPEC object, under the same rules as canteen-sched's (rec_run_check, with the
 * same sentences); 0, or -1 with err (s then holds nothing to free). */
int docker_spec_decode(const json_t *o, struct docker_spec *s, char *err, size_t errlen);
void docker_spec_free(struct docker_spec *s);
/* The SPEC object of replica `replica` of a SERVICE record (rec.h; checked by the caller) named
 * name, as canteen-sched sends it (docker_spec_decode reads it back); NULL when out of memory. */
json_t *docker_spec_of_service(const json_t *svc, const char *name, uint32_t replica);
/* Do two specs ask for the same container (everything but the generation)? */
int docker_spec_same(const struct docker_spec *a, const struct docker_spec *b);
/* What a container runs (image, command, env, limits, ports), hashed to DOCKER_SPEC_HASH_LEN
 * hex digits: equal hashes mean a new generation need not replace the container (a scale or
 * a priority change bumps the generation without changing the container). */
void docker_spec_hash(const struct docker_spec *s, char out[DOCKER_SPEC_HASH_LEN + 1]);

/* Split for POST /images/create: fromImage and tag (a tag, a digest, or "latest"). */
int docker_image_split(const char *ref, char *name, size_t namelen, char *tag, size_t taglen);

/* Who creates a container, and under which rules. */
struct docker_create_ctx {
	const char *node;                    /* the io.canteen.node label */
	const char *cluster;                 /* the io.canteen.cluster label; NULL: none */
	const char *host_ip;                 /* published ports bind to it; NULL or "": Docker's default */
	const struct docker_policy *policy;  /* hardening (docker_policy.h); NULL: none */
	const char *peers_dir;               /* peers_dir/SERVICE is bound read-only at
	                                      * /run/canteen (the peers file); NULL: none */
};
/* The body of POST /containers/create (new reference). */
json_t *docker_spec_create(const struct docker_spec *s, const struct docker_create_ctx *x);
/* The same with only node and host_ip (no cluster label, no hardening). */
json_t *docker_spec_create_body(const struct docker_spec *s, const char *node,
                                const char *host_ip);
/* "<chain_id>:<contract>" (contract lowercased; "none" when empty), the io.canteen.cluster
 * label of the containers one cluster's canteen-dockerd makes. 0, or -1 with err when the
 * contract is not a 0x address. */
int docker_cluster_id(const char *contract, uint64_t chain_id, char *out, size_t outlen,
                      char *err, size_t errlen);
/* The Docker volume of a replica's named volume: canteen.<h>.<service>.<replica>.<name>,
 * h the first 12 hex digits of the BLAKE2b hash of the cluster id (NULL: "none"), a NUL
 * and the node's address (NULL: ""), so that two clusters, or two nodes of one cluster,
 * on one Docker never share one; '.' appears in no part. */
void docker_volume_name(const char *cluster, const char *node, const char *service,
                        unsigned replica, const char *name, char *out, size_t outlen);
/* The container name canteen.<service>.<replica>. */
void docker_spec_name(const char *service, unsigned replica, char *out, size_t outlen);

#endif
