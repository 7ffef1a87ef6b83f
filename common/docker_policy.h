/* docker_policy.h: the node's container policy (canteen.conf's policy_* keys): checks and defaults. */
#ifndef CANTEEN_DOCKER_POLICY_H
#define CANTEEN_DOCKER_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "docker_spec.h"

#define DOCKER_POLICY_RANGES_MAX 64  /* port ranges in policy_ports */
#define DOCKER_POLICY_IMAGES_MAX 64  /* patterns in policy_images */
#define DOCKER_POLICY_CAPS_MAX 64    /* capabilities in policy_cap_drop */
#define DOCKER_POLICY_TMPFS_MB 64    /* size of the /tmp tmpfs of a read-only container */

struct docker_port_range {
	uint16_t lo, hi;
};

/*
 * What a node lets a container spec do, whatever the contract says. Built from canteen.conf
 * by docker_policy_from_conf; checked against each spec of a desired set
 * (docker_policy_check) and applied to each container created (docker_spec_create).
 */
struct docker_policy {
	struct docker_port_range ports[DOCKER_POLICY_RANGES_MAX];
	size_t nports;                               /* 0: no host port may be published */
	char ports_text[CONF_STR_MAX];               /* policy_ports as written, for messages */
	char images[DOCKER_POLICY_IMAGES_MAX][DOCKER_IMAGE_MAX];
	size_t nimages;                              /* 0: any image */
	uint64_t max_cpu_millis, max_mem_mib;        /* 0: no cap */
	uint64_t default_cpu_millis, default_mem_mib; /* for a spec's 0 (no limit) */
	uint64_t pids_limit;                         /* 0: no limit */
	const char *cap_drop[DOCKER_POLICY_CAPS_MAX]; /* static names, without "CAP_" */
	size_t ncap_drop;
	int read_only;                               /* read-only root, a tmpfs on /tmp */
};

/* The policy of c (its policy_* keys). 0, or -1 with "policy_x: ..." in err. */
int docker_policy_from_conf(const struct conf *c, struct docker_policy *p, char *err,
                            size_t errlen);

/*
 * Does p allow spec s? 0, after filling a CPU or memory of 0 (no limit) with the default
 * (or, when there is none, the cap); or -1 with err "by node policy (<rule>)", s unchanged.
 */
int docker_policy_check(const struct docker_policy *p, struct docker_spec *s, char *err,
                        size_t errlen);

/* Is image reference ref allowed by p's policy_images? 1 or 0. */
int docker_policy_image_ok(const struct docker_policy *p, const char *ref);

#endif
