/* test_init_conf.c: canteen-init's program list: words, quoting, names, file:line errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init_conf.h"
#include "tap.h"

static int parse(struct init_conf *ic, const char *text, char *err, size_t errlen)
{
	return init_conf_parse(ic, text, strlen(text), "init.conf", err, errlen);
}

/* The error for text, or "" when it parsed. */
static const char *error_of(const char *text)
{
	static char err[512];
	struct init_conf ic;
	err[0] = '\0';
	if (parse(&ic, text, err, sizeof err) == 0) {
		init_conf_free(&ic);
		return "";
	}
	return err;
}

static void test_good(void)
{
	struct init_conf ic;
	char err[512] = "";
	const char *text = "# programs\n"
	                   "\n"
	                   "chainwatch canteen-chainwatch -c /etc/canteen/canteen.conf\n"
	                   "  swim\tcanteen-swim   -c /etc/canteen/canteen.conf   # comment\n"
	                   "web sh -c 'echo \"hi\"; exit 3' \"a \\\"b\\\" \\$c\" x\\ y ''\n"
	                   "last.one_2-x prog";
	is_int(parse(&ic, text, err, sizeof err), 0, "good file parses (%s)", err);
	is_int(ic.n, 4, "four programs");
	is_str(ic.progs[0].name, "chainwatch", "first name");
	is_int(ic.progs[0].line, 3, "first program's line");
	is_int(ic.progs[0].argc, 3, "first program's argc");
	is_str(ic.progs[0].argv[0], "canteen-chainwatch", "command");
	is_str(ic.progs[0].argv[2], "/etc/canteen/canteen.conf", "last arg");
	ok(ic.progs[0].argv[3] == NULL, "argv is NULL-terminated");
	is_int(ic.progs[1].argc, 3, "blanks and a trailing comment are not words");
	is_str(ic.progs[1].name, "swim", "indented line");
	is_int(ic.progs[2].argc, 6, "quoted words count once");
	is_str(ic.progs[2].argv[2], "echo \"hi\"; exit 3", "single quotes are literal");
	is_str(ic.progs[2].argv[3], "a \"b\" $c", "double quotes with escapes");
	is_str(ic.progs[2].argv[4], "x y", "backslash escapes a blank");
	is_str(ic.progs[2].argv[5], "", "'' is an empty word");
	is_str(ic.progs[3].name, "last.one_2-x", "name with . _ - and no final newline");
	is_int(init_conf_find(&ic, "web"), 2, "find by name");
	is_int(init_conf_find(&ic, "nope"), -1, "find misses");
	init_conf_free(&ic);
	ok(ic.progs == NULL && ic.n == 0, "free zeroes");
	init_conf_free(&ic);
	ok(1, "double free is harmless");
}

static void test_errors(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"", "init.conf: no programs"},
		{"# only a comment\n\n", "init.conf: no programs"},
		{"a b\nsolo\n", "init.conf:2: 'solo' has no command"},
		{"a b\nb c\na d\n", "init.conf:3: duplicate name 'a' (first on line 1)"},
		{"-x cmd\n", "init.conf:1: bad name '-x': a name starts with a letter or a digit"},
		{"a/b cmd\n", "init.conf:1: bad name 'a/b'"},
		{"abcdefghijklmnopqrstuvwxyz0123456 cmd\n", "init.conf:1: bad name"},
		{"a cmd 'open\n", "init.conf:1: unterminated '"},
		{"a cmd \"open\n", "init.conf:1: unterminated \""},
		{"a cmd \\\n", "init.conf:1: backslash at the end of the line"},
		{"a cmd $HOME\n", "init.conf:1: '$' needs a shell"},
		{"a cmd x;y\n", "init.conf:1: ';' needs a shell"},
		{"a cmd | tee\n", "init.conf:1: '|' needs a shell"},
		{"a cmd \"$x\"\n", "init.conf:1: '$' and '`' are not expanded"},
		{"a b\r\n", "init.conf:1: control character 0x0d (DOS line ending?)"},
		{"a b\n\nc d\x01\n", "init.conf:3: control character 0x01"},
		{"a user=_canteen\n", "init.conf:1: 'a' has no command (expected: name [user=NAME]"},
		{"a user= cmd\n", "init.conf:1: 'a': bad user=: a user name has 1 to 32"},
		{"a user=-x cmd\n", "init.conf:1: 'a': bad user=-x: a user name starts with"},
		{"a user=x/y cmd\n", "init.conf:1: 'a': bad user=x/y"},
		{"a user=abcdefghijklmnopqrstuvwxyz0123456 cmd\n", "init.conf:1: 'a': bad user="},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *got = error_of(cases[i].text);
		ok(strncmp(got, cases[i].want, strlen(cases[i].want)) == 0, "error %zu: %s", i,
		   cases[i].want);
		if (strncmp(got, cases[i].want, strlen(cases[i].want)) != 0)
			diag("got '%s'", got);
	}

	struct init_conf ic;
	char err[512];
	is_int(init_conf_parse(&ic, "a b\0c d\n", 8, "f", err, sizeof err), -1, "NUL byte refused");
	is_str(err, "f:1: NUL byte", "NUL byte error");
	ok(ic.n == 0 && ic.progs == NULL, "failed parse leaves ic empty");
}

static void test_user(void)
{
	struct init_conf ic;
	char err[512] = "";
	const char *text = "sched user=_canteen canteen-sched -c c.conf\n"
	                   "dockerd canteen-dockerd -c c.conf\n"
	                   "odd 'user=x' prog\n"
	                   "later prog user=y\n";
	is_int(parse(&ic, text, err, sizeof err), 0, "user= parses (%s)", err);
	is_str(ic.progs[0].user, "_canteen", "user= after the name");
	is_str(ic.progs[0].argv[0], "canteen-sched", "the command follows user=");
	is_int(ic.progs[0].argc, 3, "user= is not a word of the command");
	is_str(ic.progs[1].user, "", "no user= means no user");
	is_str(ic.progs[2].user, "x", "a quoted user=x is still the option (quotes only group)");
	is_str(ic.progs[3].user, "", "user= after the command is an argument");
	is_str(ic.progs[3].argv[1], "user=y", "and stays one");
	init_conf_free(&ic);
}

static void test_limits(void)
{
	size_t cap = 64 * 1024;
	char *big = malloc(cap), err[512];
	struct init_conf ic;
	size_t n = 0;
	/* A line of exactly the maximum is fine; one byte more is not. */
	n += (size_t)snprintf(big, cap, "a ");
	memset(big + n, 'x', INIT_CONF_MAX_LINE - n);
	n = INIT_CONF_MAX_LINE;
	big[n] = '\0';
	is_int(parse(&ic, big, err, sizeof err), 0, "line of %d bytes accepted", INIT_CONF_MAX_LINE);
	init_conf_free(&ic);
	big[n] = 'x';
	big[n + 1] = '\0';
	is_int(parse(&ic, big, err, sizeof err), -1, "longer line refused");
	ok(strstr(err, "init.conf:1: line too long") != NULL, "long line error: %s", err);

	n = (size_t)snprintf(big, cap, "a");
	for (int i = 0; i < INIT_CONF_MAX_ARGS; i++)
		n += (size_t)snprintf(big + n, cap - n, " w");
	is_int(parse(&ic, big, err, sizeof err), 0, "%d words accepted", INIT_CONF_MAX_ARGS);
	is_int(ic.progs[0].argc, INIT_CONF_MAX_ARGS, "all words kept");
	init_conf_free(&ic);
	snprintf(big + n, cap - n, " w");
	is_int(parse(&ic, big, err, sizeof err), -1, "one word more refused");
	ok(strstr(err, "too many words") != NULL, "too many words: %s", err);

	n = 0;
	for (int i = 0; i <= INIT_CONF_MAX_PROGS; i++)
		n += (size_t)snprintf(big + n, cap - n, "p%d cmd\n", i);
	is_int(parse(&ic, big, err, sizeof err), -1, "%d programs refused", INIT_CONF_MAX_PROGS + 1);
	ok(strstr(err, "init.conf:65: too many programs") != NULL, "too many programs: %s", err);
	free(big);
}

static void test_load(void)
{
	char path[64], err[512];
	struct init_conf ic;
	snprintf(path, sizeof path, "/tmp/canteen-test-init-conf.%d", (int)getpid());
	FILE *f = fopen(path, "w");
	fputs("x true\ny\n", f);
	fclose(f);
	is_int(init_conf_load(&ic, path, err, sizeof err), -1, "load reports errors");
	char want[128];
	snprintf(want, sizeof want, "%s:2: 'y' has no command", path);
	ok(strncmp(err, want, strlen(want)) == 0, "error names the path and line: %s", err);
	f = fopen(path, "w");
	fputs("x true\n", f);
	fclose(f);
	is_int(init_conf_load(&ic, path, err, sizeof err), 0, "load reads a good file");
	is_str(ic.progs[0].argv[0], "true", "loaded command");
	init_conf_free(&ic);
	unlink(path);
	is_int(init_conf_load(&ic, path, err, sizeof err), -1, "missing file");
	ok(strstr(err, "No such file") != NULL, "missing file error: %s", err);
	is_int(init_conf_load(&ic, "/tmp", err, sizeof err), -1, "directory refused");
}

int main(void)
{
	test_good();
	test_errors();
	test_user();
	test_limits();
	test_load();
	return done_testing();
}
