/* fuzz_docker_answer.c: the parsers of Docker Engine API answers never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], msg[256], id[DOCKER_ID_LEN + 1];
	if (size < 1)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 6) {
	case 0: {
		struct docker_version v;
		docker_parse_version(body, len, &v, err, sizeof err);
		break;
	}
	case 1: {
		struct docker_ctr *v = NULL;
		size_t n = 0;
		if (docker_parse_list(body, len, 64, &v, &n, err, sizeof err) == 0) {
			for (size_t i = 0; i < n; i++)
				if (!docker_valid_id(v[i].id) || strlen(v[i].name) >= DOCKER_NAME_MAX)
					abort();
			free(v);
		}
		break;
	}
	case 2: {
		struct docker_event ev;
		if (docker_parse_event(body, len, &ev, err, sizeof err) == 1 && !docker_valid_id(ev.id))
			abort();
		break;
	}
	case 3:
		docker_parse_created(body, len, id, err, sizeof err);
		break;
	case 4:
		docker_parse_error(body, len, msg, sizeof msg);
		if (strlen(msg) >= sizeof msg)
			abort();
		break;
	default: {
		struct docker_progress p;
		docker_parse_progress(body, len, &p, err, sizeof err);
		break;
	}
	}
	return 0;
}
