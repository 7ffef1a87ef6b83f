/* test_flags.c: one flag table: getopt parsing, exit statuses, conf overrides, the usage text. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"
#include "log.h"
#include "tap.h"

enum { F_CONFIG, F_RUNDIR, F_CHECK, F_POLL, F_JOIN, F_SOCK, F_LOG_LEVEL, F_N };

static const struct flag rows[F_N] = {
	[F_CONFIG] = FLAG_CONFIG,
	[F_RUNDIR] = FLAG_RUNDIR("run directory"),
	[F_CHECK] = {"check", 'n', NULL, NULL, "check and exit", 0},
	[F_POLL] = {"poll", 0, "DURATION", "poll_ms", "how often", 0},
	[F_JOIN] = {"join", 0, "IP:PORT", NULL, "contact first", 2},
	[F_SOCK] = {"sock", 0, "PATH", NULL, "the socket", 0},
	[F_LOG_LEVEL] = FLAG_LOG_LEVEL,
};

static const struct flag_table table = {"canteen-test", rows, F_N, "See canteen-test(8).\n"};

/* Parse a NULL-terminated list of arguments; the output (--help) lands in out. */
static int parse(struct flag_values *v, char *out, size_t outlen, char *err, size_t errlen, ...)
{
	char *argv[32] = {"canteen-test"};
	int argc = 1;
	va_list ap;
	va_start(ap, errlen);
	for (char *a; argc < 31 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	FILE *f = fmemopen(out, outlen, "w");
	int rc = flags_parse(&table, argc, argv, v, f, err, errlen);
	fclose(f);
	return rc;
}

int main(void)
{
	struct flag_values v;
	struct conf c;
	char out[4096], err[512];

	is_int(parse(&v, out, sizeof out, err, sizeof err, "-c", "/dev/null", "--poll", "5s", "-n",
	             "--join", "a:1", "--join", "b:2", "-d", "/tmp/x", (char *)NULL), -1, "flags parse");
	is_str(v.value[F_CONFIG], "/dev/null", "short flag with an argument");
	is_str(v.value[F_POLL], "5s", "long flag with an argument");
	is_str(v.value[F_CHECK], "", "a switch given is \"\"");
	ok(v.value[F_SOCK] == NULL, "a flag not given is NULL");
	ok(v.nall == 2 && strcmp(v.all[0], "a:1") == 0 && strcmp(v.all[1], "b:2") == 0 &&
	   v.row[0] == F_JOIN && v.row[1] == F_JOIN, "a repeatable flag keeps every value in order");
	conf_defaults(&c);
	ok(flags_conf(&table, &v, &c, err, sizeof err) == 0, "conf from the flags: %s", err);
	is_int(c.poll_ms, 5000, "--poll set poll_ms");
	is_str(c.rundir, "/tmp/x", "-d set rundir");

	is_int(parse(&v, out, sizeof out, err, sizeof err, "--poll", "soon", (char *)NULL), -1,
	       "a bad value parses");
	conf_defaults(&c);
	ok(flags_conf(&table, &v, &c, err, sizeof err) < 0 && strncmp(err, "--poll: poll_ms:", 16) == 0,
	   "and is refused by the conf key, naming the flag: %s", err);

	is_int(parse(&v, out, sizeof out, err, sizeof err, "--bogus", (char *)NULL), EXIT_CONFIG,
	       "unknown flag: 100");
	ok(strstr(err, "--bogus") && strstr(err, "canteen-test --help"), "named: %s", err);
	is_int(parse(&v, out, sizeof out, err, sizeof err, "--poll", (char *)NULL), EXIT_CONFIG,
	       "missing argument: 100");
	ok(strstr(err, "--poll needs an argument") != NULL, "named: %s", err);
	is_int(parse(&v, out, sizeof out, err, sizeof err, "left", (char *)NULL), EXIT_CONFIG,
	       "an argument left over: 100");
	ok(strstr(err, "'left'") != NULL, "named: %s", err);
	is_int(parse(&v, out, sizeof out, err, sizeof err, "--join", "a:1", "--join", "b:2", "--join",
	             "c:3", (char *)NULL), EXIT_CONFIG, "a repeatable flag past its limit: 100");
	ok(strstr(err, "too many --join flags (limit 2)") != NULL, "named: %s", err);

	is_int(parse(&v, out, sizeof out, err, sizeof err, "-V", (char *)NULL), EXIT_DONE, "-V: 0");
	is_str(out, "canteen-test " CANTEEN_VERSION "\n", "the version");
	is_int(parse(&v, out, sizeof out, err, sizeof err, "--poll", "1s", "--help", (char *)NULL),
	       EXIT_DONE, "--help: 0");
	const char *synopsis = "usage: canteen-test [-c FILE] [-d DIR] [-n] [--poll DURATION]";
	ok(strncmp(out, synopsis, strlen(synopsis)) == 0, "the synopsis comes from the table");
	ok(strstr(out, "  -c, --config FILE ") && strstr(out, "      --join IP:PORT ") &&
	   strstr(out, "contact first (repeatable)") && strstr(out, "[--join IP:PORT]...") &&
	   strstr(out, "  -h, --help ") && strstr(out, "  -V, --version "),
	   "one line per flag, help and version included");
	ok(strstr(out, "See canteen-test(8).\n") != NULL, "then the footer");
	return done_testing();
}
