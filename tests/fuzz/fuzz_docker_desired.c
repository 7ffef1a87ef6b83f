/* fuzz_docker_desired.c: the desired-set decoder, node policy and create body never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker_policy.h"
#include "docker_spec.h"
#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	json_t *msg = ipc_parse_line((const char *)data, size, err, sizeof err);
	if (!msg)
		return 0;
	struct docker_desired d;
	/* A strict node policy: images under one prefix, capped limits, hardening. */
	static struct docker_policy pol;
	static int have_pol;
	if (!have_pol) {
		struct conf c;
		conf_defaults(&c);
		if (conf_set(&c, "policy_images", "b, x/*", err, sizeof err) < 0 ||
		    conf_set(&c, "policy_max_mem_mib", "512", err, sizeof err) < 0 ||
		    conf_set(&c, "policy_max_cpu_millis", "2000", err, sizeof err) < 0 ||
		    conf_set(&c, "policy_read_only", "yes", err, sizeof err) < 0 ||
		    docker_policy_from_conf(&c, &pol, err, sizeof err) < 0)
			abort();
		have_pol = 1;
	}
	/* With the node check and without it, so specs get decoded whatever the node; then
	 * under the policy, whose accepted specs must be within it. */
	for (int pass = 0; pass < 3; pass++) {
		const char *self = pass == 1 ? NULL : "0x00000000000000000000000000000000000000aa";
		const struct docker_policy *p = pass == 2 ? &pol : NULL;
		if (docker_desired_decode_policy(msg, self, p, &d, err, sizeof err) < 0)
			continue;
		if (d.n + d.nrejects > DOCKER_SPECS_MAX)
			abort();
		for (size_t i = 0; i < d.n; i++) {
			struct docker_spec *s = &d.specs[i];
			/* Every other one as a rollback (rollout.c): its label is the hash given. */
			if (pass == 1 && (i & 1))
				docker_spec_hash(s, s->rollback_of);
			char name[DOCKER_NAME_MAX], from[DOCKER_IMAGE_MAX], tag[DOCKER_IMAGE_MAX];
			if (!rec_name_ok(s->service, strlen(s->service)) ||
			    rec_image_check(s->image, strlen(s->image), NULL, 0) < 0 ||
			    docker_image_split(s->image, from, sizeof from, tag, sizeof tag) < 0)
				abort(); /* accepted specs are valid by construction */
			docker_spec_name(s->service, s->replica, name, sizeof name);
			if (p && (!docker_policy_image_ok(p, s->image) || s->mem_mib == 0 ||
			          s->mem_mib > 512 || s->cpu_millis == 0 || s->cpu_millis > 2000))
				abort(); /* the policy holds for every accepted spec */
			for (size_t k = 0; p && k < s->nports; k++)
				if (s->ports[k].host < 1024)
					abort();
			struct docker_create_ctx x = {.node = d.node, .cluster = "1:none",
			                              .host_ip = "127.0.0.1", .policy = p};
			json_t *body = docker_spec_create(s, &x);
			if (!body)
				abort();
			const char *rb = json_string_value(json_object_get(json_object_get(body, "Labels"),
			                                                    DOCKER_LABEL_ROLLBACK));
			if ((s->rollback_of[0] != 0) != (rb != NULL) || (rb && strcmp(rb, s->rollback_of) != 0))
				abort();
			json_decref(body);
			if (!docker_spec_same(s, s))
				abort();
		}
		docker_desired_free(&d);
	}
	json_decref(msg);
	return 0;
}
