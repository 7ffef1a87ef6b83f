/* fuzz_init_conf.c: libFuzzer target for canteen-init's program list parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "init_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct init_conf ic;
	char err[512];
	if (init_conf_parse(&ic, (const char *)data, size, "fuzz", err, sizeof err) == 0) {
		/* Invariants of a successful parse. */
		if (ic.n == 0 || ic.n > INIT_CONF_MAX_PROGS)
			abort();
		for (size_t i = 0; i < ic.n; i++) {
			const struct init_prog *p = &ic.progs[i];
			if (p->argc < 1 || p->argc > INIT_CONF_MAX_ARGS || p->argv[p->argc] != NULL)
				abort();
			if (init_conf_find(&ic, p->name) != (int)i)
				abort();
			for (int a = 0; a < p->argc; a++)
				if (strlen(p->argv[a]) > INIT_CONF_MAX_LINE)
					abort();
		}
		init_conf_free(&ic);
	} else if (ic.n != 0 || ic.progs != NULL || !strchr(err, ':')) {
		abort();
	}
	return 0;
}
