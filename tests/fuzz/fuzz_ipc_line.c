/* fuzz_ipc_line.c: the NDJSON line parser on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_t *j = ipc_parse_line((const char *)data, size, err, sizeof err);
	if (j) {
		/* Whatever parsed must be an object that serialises again. */
		if (!json_is_object(j))
			abort();
		char *s = json_dumps(j, JSON_COMPACT);
		if (!s)
			abort();
		free(s);
		json_decref(j);
	}
	return 0;
}
