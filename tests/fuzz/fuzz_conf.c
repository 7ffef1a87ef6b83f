/* fuzz_conf.c: the canteen.conf parser on arbitrary file contents. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (!path[0])
		snprintf(path, sizeof path, "/tmp/canteen-fuzz-conf.%d", (int)getpid());
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	struct conf c;
	char err[512];
	conf_defaults(&c);
	if (conf_load(&c, path, err, sizeof err) < 0 && strlen(err) == 0)
		abort(); /* a refusal always says why */
	/* Every string field stays NUL-terminated. */
	if (memchr(c.rundir, 0, sizeof c.rundir) == NULL || memchr(c.rpc_url, 0, sizeof c.rpc_url) == NULL)
		abort();
	unlink(path);
	return 0;
}
