/* fuzz_docker_desired.c: the desired-set decoder and create-body renderer never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	/* Both with the node check and without it, so specs get decoded whatever the node. */
	for (int pass = 0; pass < 2; pass++) {
		const char *self = pass ? NULL : "0x00000000000000000000000000000000000000aa";
		if (docker_desired_decode(msg, self, &d, err, sizeof err) < 0)
			continue;
		if (d.n + d.nrejects > DOCKER_SPECS_MAX)
			abort();
		for (size_t i = 0; i < d.n; i++) {
			const struct docker_spec *s = &d.specs[i];
			char name[DOCKER_NAME_MAX], from[DOCKER_IMAGE_MAX], tag[DOCKER_IMAGE_MAX];
			if (!rec_name_ok(s->service, strlen(s->service)) ||
			    rec_image_check(s->image, strlen(s->image), NULL, 0) < 0 ||
			    docker_image_split(s->image, from, sizeof from, tag, sizeof tag) < 0)
				abort(); /* accepted specs are valid by construction */
			docker_spec_name(s->service, s->replica, name, sizeof name);
			json_t *body = docker_spec_create_body(s, d.node, "127.0.0.1");
			if (!body)
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
