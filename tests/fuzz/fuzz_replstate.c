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
	if (size > REPLSTATE_MAX || rs.n > REPLSTATE_ENTRIES_MAX || rs.n > rs.total ||
	    sum > rs.total || rs.total > REPLSTATE_TOTAL_MAX)
		abort();
	for (size_t i = 0; i < rs.n; i++)
		if (rs.e[i].replica > REPLSTATE_REPLICA_MAX || strlen(rs.e[i].reason) > REPLSTATE_REASON_MAX ||
		    !replstate_state_name(rs.e[i].state))
			abort();
	char out[REPLSTATE_MAX + 1];
	size_t len = replstate_encode(rs.e, rs.n, out, sizeof out);
	if (len > REPLSTATE_MAX || replstate_decode(out, len, &again, err, sizeof err) < 0 ||
	    again.total != rs.n)
		abort();
	return 0;
}
