/* fuzz_replstate.c: a member's replica-state summary (swim metadata) on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct replstate rs, again;
	char err[256];
	if (replstate_decode((const char *)data, size, &rs, err, sizeof err) < 0)
		return 0;
	/* What was accepted holds together and survives a round trip through the encoder. */
	unsigned sum = rs.counts[0] + rs.counts[1] + rs.counts[2] + rs.counts[3];
	size_t n = replstate_len(&rs);
	if (size > REPLSTATE_MAX || rs.n > REPLSTATE_ENTRIES_MAX || rs.ng > REPLSTATE_GROUPED_MAX ||
	    n > rs.total || sum > rs.total || rs.total > REPLSTATE_TOTAL_MAX)
		abort();
	struct replstate_entry *v = calloc(n ? n : 1, sizeof *v);
	if (!v)
		abort();
	for (size_t i = 0; i < n; i++) {
		replstate_at(&rs, i, &v[i]);
		struct replstate_entry f;
		if (v[i].replica > REPLSTATE_REPLICA_MAX || strlen(v[i].reason) > REPLSTATE_REASON_MAX ||
		    !replstate_state_name(v[i].state) || (v[i].rolled_back && v[i].generation == 0) ||
		    !replstate_find(&rs, v[i].hash, v[i].replica, &f) || f.state != v[i].state)
			abort();
	}
	char out[REPLSTATE_MAX + 1];
	size_t len = replstate_encode(v, n, out, sizeof out);
	if (len > REPLSTATE_MAX || replstate_decode(out, len, &again, err, sizeof err) < 0 ||
	    again.total != n)
		abort();
	free(v);
	return 0;
}
