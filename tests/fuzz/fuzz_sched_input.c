/* fuzz_sched_input.c: chain.sock and swim.sock lines into the scheduler's state, then a placement. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "place.h"
#include "place_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each line: one byte 'c' (chain) or 's' (swim), then the NDJSON message. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct place_state *st = place_state_new();
	char err[256];
	if (!st)
		return 0;
	size_t at = 0;
	while (at < size) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t end = nl ? (size_t)(nl - data) : size;
		if (end > at + 1) {
			json_t *msg = ipc_parse_line((const char *)data + at + 1, end - at - 1, err, sizeof err);
			if (msg) {
				int rc = data[at] == 'c' ? place_state_chain(st, msg, err, sizeof err)
				                         : place_state_swim(st, msg, err, sizeof err);
				if (rc < -1 || rc > 1)
					abort();
				json_decref(msg);
			}
		}
		at = end + 1;
	}
	struct place_input in;
	if (place_state_input(st, &in) == 0) {
		uint64_t slots = 0;
		for (size_t i = 0; i < in.nservices; i++)
			slots += in.services[i].replicas;
		struct place_result *r = NULL;
		/* Bounded work per input: big replica counts are the benchmark's job. */
		if (slots <= 5000 && place_compute(&in, &r, err, sizeof err) == 0) {
			if (r->placed + r->pending != r->nslots)
				abort();
			for (size_t i = 0; i < r->nservices; i++)
				if (!place_state_service(st, r->services[i]->name))
					abort();
		}
		place_result_free(r);
	}
	place_state_free(st);
	return 0;
}
