/* docker_json.h: strict, bounded parsers for the Docker Engine API's JSON answers. */
#ifndef CANTEEN_DOCKER_JSON_H
#define CANTEEN_DOCKER_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "rec.h"

#define DOCKER_BODY_MAX (16u * 1024 * 1024) /* largest answer body we parse */
#define DOCKER_ID_LEN 64                    /* full container ID: 64 lowercase hex */
#define DOCKER_NAME_MAX 128
#define DOCKER_SERVICE_MAX (REC_MAX_NAME + 1)     /* a service name and its NUL */
#define DOCKER_NODE_LEN REC_ADDR_LEN              /* 0x + 40 hex */
#define DOCKER_REPLICA_MAX (REC_RUN_REPLICAS_MAX - 1u)
#define DOCKER_LABEL_SERVICE "io.canteen.service"
#define DOCKER_LABEL_REPLICA "io.canteen.replica"
#define DOCKER_LABEL_GENERATION "io.canteen.generation"
#define DOCKER_LABEL_NODE "io.canteen.node"
#define DOCKER_LABEL_SPEC "io.canteen.spec"   /* docker_spec_hash of what the container runs */
#define DOCKER_LABEL_CLUSTER "io.canteen.cluster" /* docker_cluster_id: chain id and contract */
#define DOCKER_LABEL_VOLUME "io.canteen.volume"   /* a replica's named volume: its NAME */
#define DOCKER_LABEL_ROLLBACK "io.canteen.rollback" /* docker_spec_hash of the spec whose failed
                                                     * rollout this container's spec replaced */
#define DOCKER_CLUSTER_MAX 72                 /* "<chain_id>:0x<40 hex>" and its NUL */
#define DOCKER_SPEC_HASH_LEN 32               /* hex digits */

/* API version from GET /version. */
struct docker_version {
	unsigned api_major, api_minor;   /* ApiVersion */
	unsigned min_major, min_minor;   /* MinAPIVersion (0.0 when absent, as in Podman) */
	char engine[64];                 /* Version, for the log */
};

/* Container states as Docker names them. */
enum docker_state {
	DOCKER_CREATED, DOCKER_RESTARTING, DOCKER_RUNNING, DOCKER_REMOVING, DOCKER_PAUSED,
	DOCKER_EXITED, DOCKER_DEAD
};

/* A container's State.Health.Status; DOCKER_HEALTH_NONE: no health check (or not known). */
enum docker_health { DOCKER_HEALTH_NONE, DOCKER_HEALTH_STARTING, DOCKER_HEALTH_HEALTHY,
                     DOCKER_HEALTH_UNHEALTHY };

/* The canteen labels of a container; labels_ok is 0 when any is missing or malformed. */
struct docker_labels {
	int labels_ok;
	char service[DOCKER_SERVICE_MAX];
	unsigned replica;
	uint64_t generation;
	char node[DOCKER_NODE_LEN + 1];
	char spec[DOCKER_SPEC_HASH_LEN + 1]; /* empty when absent or malformed (older containers) */
	char cluster[DOCKER_CLUSTER_MAX];    /* empty when absent or malformed (older containers) */
	char rollback[DOCKER_SPEC_HASH_LEN + 1]; /* empty unless a rolled-back container's */
};

/* One row of GET /containers/json?all=1. */
struct docker_ctr {
	char id[DOCKER_ID_LEN + 1];
	char name[DOCKER_NAME_MAX];      /* without the leading '/' */
	enum docker_state state;
	enum docker_health health;       /* from Status: "Up 3 s (healthy)", "(health: starting)" */
	int64_t created;                 /* unix seconds */
	struct docker_labels labels;
};

/* One line of GET /events (container events only are returned as 1). */
struct docker_event {
	char action[32];                 /* "die", "start", ... ("exec_start: x" is cut at ':') */
	char id[DOCKER_ID_LEN + 1];
	char name[DOCKER_NAME_MAX];
	int exit_code;                   /* -1 when absent */
	enum docker_health health;       /* "health_status: healthy" etc.; NONE for other actions */
	int64_t time_ns;
	struct docker_labels labels;
};

/* One line of a pull's progress stream; Docker's {"message":"..."} answer to a pull that
 * failed before streaming counts as an error line. */
struct docker_progress {
	char status[128];
	char layer[80];
	char error[256];                 /* non-empty when the pull failed */
	uint64_t current, total;
};

/* All return 0, or -1 with a sentence in err; outputs are untouched on error. */
int docker_parse_version(const char *body, size_t len, struct docker_version *v, char *err,
                         size_t errlen);
/* *out is malloc'd and owned by the caller (free); at most max rows are accepted. */
int docker_parse_list(const char *body, size_t len, size_t max, struct docker_ctr **out,
                      size_t *n, char *err, size_t errlen);
/* 1 for a container event, 0 for another type (ignored), -1 on error. */
int docker_parse_event(const char *line, size_t len, struct docker_event *ev, char *err,
                       size_t errlen);
/* {"Id":"..."} of POST /containers/create. */
int docker_parse_created(const char *body, size_t len, char id[DOCKER_ID_LEN + 1], char *err,
                         size_t errlen);
/* {"message":"..."} of any error answer; falls back to a short description of the body. */
void docker_parse_error(const char *body, size_t len, char *msg, size_t msglen);
int docker_parse_progress(const char *line, size_t len, struct docker_progress *p, char *err,
                          size_t errlen);


int docker_valid_id(const char *s);
const char *docker_state_name(enum docker_state s);
/* "", "starting", "healthy", "unhealthy" (replstate.h's names). */
const char *docker_health_name(enum docker_health h);

#endif
