/* test_errf.c: errf formats, truncates, returns -1 and accepts no buffer. */
#include <string.h>

#include "errf.h"
#include "tap.h"

int main(void)
{
	char err[16];
	is_int(errf(err, sizeof err, "bad %s %d", "port", 70000), -1, "returns -1");
	is_str(err, "bad port 70000", "formats");
	errf(err, sizeof err, "%s", "a sentence much longer than sixteen bytes");
	ok(strlen(err) == sizeof err - 1 && strncmp(err, "a sentence much", 15) == 0,
	   "truncates and terminates: '%s'", err);
	is_int(errf(NULL, 0, "nobody reads %s", "this"), -1, "NULL buffer");
	char one[1] = {'x'};
	errf(one, 0, "nothing");
	ok(one[0] == 'x', "errlen 0 leaves the buffer alone");
	errf(one, sizeof one, "anything");
	ok(one[0] == '\0', "one byte holds the terminator");
	return done_testing();
}
