/* flags.c: getopt_long options, canteen.conf overrides and --help, all from one flag table. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "flags.h"
#include "log.h"

enum { OPT_HELP = 'h', OPT_VERSION = 'V', OPT_ROW = 256 };

#define USAGE_WIDTH 80

/* getopt's tables: long options (each row returns OPT_ROW + its index) and short ones. */
static int build(const struct flag_table *t, struct option *lo, char *so, size_t solen)
{
	size_t n = 0, s = 0;
	if (t->n > FLAGS_MAX)
		return -1;
	so[s++] = ':'; /* a missing argument returns ':', told apart from an unknown flag */
	for (size_t i = 0; i < t->n; i++) {
		const struct flag *f = &t->rows[i];
		lo[n++] = (struct option){f->name, f->arg ? required_argument : no_argument, NULL,
		                          (int)(OPT_ROW + i)};
		if (f->letter && s + 3 < solen) {
			so[s++] = f->letter;
			if (f->arg)
				so[s++] = ':';
		}
	}
	lo[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
	lo[n++] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	lo[n] = (struct option){NULL, 0, NULL, 0};
	if (s + 3 > solen)
		return -1;
	memcpy(so + s, "hV", 3);
	return 0;
}

static long row_of_letter(const struct flag_table *t, int ch)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->rows[i].letter && t->rows[i].letter == ch)
			return (long)i;
	return -1;
}

/* The flag argv[optind - 1] named, for messages. */
static const char *bad_flag(int argc, char **argv)
{
	return optind > 0 && optind <= argc ? argv[optind - 1] : "?";
}

static int store(const struct flag_table *t, size_t row, struct flag_values *v, char *err,
                 size_t errlen)
{
	const struct flag *f = &t->rows[row];
	const char *val = f->arg ? optarg : "";
	if (f->repeat) {
		size_t seen = 0;
		for (size_t i = 0; i < v->nall; i++)
			seen += v->row[i] == row;
		if (seen == f->repeat || v->nall == FLAGS_REPEAT_MAX) {
			snprintf(err, errlen, "too many --%s flags (limit %u)", f->name, f->repeat);
			return -1;
		}
		v->all[v->nall] = val;
		v->row[v->nall++] = row;
	}
	v->value[row] = val;
	return 0;
}

int flags_parse(const struct flag_table *t, int argc, char **argv, struct flag_values *v,
                FILE *out, char *err, size_t errlen)
{
	struct option lo[FLAGS_MAX + 3];
	char so[2 * FLAGS_MAX + 8];
	memset(v, 0, sizeof *v);
	err[0] = '\0';
	if (build(t, lo, so, sizeof so) < 0) {
		snprintf(err, errlen, "%s: too many flags in the table", t->prog);
		return EXIT_CONFIG;
	}
	opterr = 0;
	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		long row = ch >= OPT_ROW ? ch - OPT_ROW : row_of_letter(t, ch);
		if (ch == OPT_HELP) {
			flags_usage(t, out);
			return EXIT_DONE;
		} else if (ch == OPT_VERSION) {
			fprintf(out, "%s %s\n", t->prog, CANTEEN_VERSION);
			return EXIT_DONE;
		} else if (ch == ':') {
			snprintf(err, errlen, "%s needs an argument (see %s --help)", bad_flag(argc, argv),
			         t->prog);
			return EXIT_CONFIG;
		} else if (ch == '?' || row < 0) {
			snprintf(err, errlen, "bad flag %s (see %s --help)", bad_flag(argc, argv),
			         t->prog);
			return EXIT_CONFIG;
		}
		if (store(t, (size_t)row, v, err, errlen) < 0)
			return EXIT_CONFIG;
	}
	if (optind != argc) {
		snprintf(err, errlen, "unexpected argument '%s' (see %s --help)", argv[optind], t->prog);
		return EXIT_CONFIG;
	}
	return -1;
}

/* "-c, --config FILE" or "    --bind IP:PORT" into buf. */
static void flag_words(const struct flag *f, char *buf, size_t len)
{
	char letter[8] = "    ";
	if (f->letter)
		snprintf(letter, sizeof letter, "-%c, ", f->letter);
	snprintf(buf, len, "%s--%s%s%s", letter, f->name, f->arg ? " " : "", f->arg ? f->arg : "");
}

/* "usage: PROG [-c FILE] [--bind IP:PORT]...", wrapped under the program name. */
static void synopsis(const struct flag_table *t, FILE *out)
{
	size_t indent = strlen("usage: ") + strlen(t->prog), col = indent;
	fprintf(out, "usage: %s", t->prog);
	for (size_t i = 0; i < t->n; i++) {
		const struct flag *f = &t->rows[i];
		char word[128];
		int n;
		if (f->letter)
			n = snprintf(word, sizeof word, "[-%c%s%s]", f->letter, f->arg ? " " : "",
			             f->arg ? f->arg : "");
		else
			n = snprintf(word, sizeof word, "[--%s%s%s]%s", f->name, f->arg ? " " : "",
			             f->arg ? f->arg : "", f->repeat ? "..." : "");
		if (n < 0)
			continue;
		if (col + 1 + (size_t)n > USAGE_WIDTH) {
			fprintf(out, "\n%*s", (int)indent, "");
			col = indent;
		}
		fprintf(out, " %s", word);
		col += 1 + (size_t)n;
	}
	fputc('\n', out);
}

void flags_usage(const struct flag_table *t, FILE *out)
{
	static const struct flag help = {"help", 'h', NULL, NULL, "this text", 0};
	static const struct flag version = {"version", 'V', NULL, NULL, "the version", 0};
	char words[128];
	size_t width = 0;
	synopsis(t, out);
	for (size_t i = 0; i < t->n; i++) {
		flag_words(&t->rows[i], words, sizeof words);
		if (strlen(words) > width)
			width = strlen(words);
	}
	for (size_t i = 0; i < t->n + 2; i++) {
		const struct flag *f = i < t->n ? &t->rows[i] : i == t->n ? &help : &version;
		flag_words(f, words, sizeof words);
		fprintf(out, "  %-*s  %s%s\n", (int)width, words, f->help,
		        f->repeat ? " (repeatable)" : "");
	}
	if (t->footer)
		fputs(t->footer, out);
}

int flags_conf(const struct flag_table *t, const struct flag_values *v, struct conf *c,
               char *err, size_t errlen)
{
	struct conf_flag set[FLAGS_MAX];
	const char *path = NULL;
	size_t n = 0;
	for (size_t i = 0; i < t->n && i < FLAGS_MAX; i++) {
		const struct flag *f = &t->rows[i];
		if (f->key)
			set[n++] = (struct conf_flag){f->name, f->key, v->value[i]};
		else if (strcmp(f->name, "config") == 0)
			path = v->value[i];
	}
	return conf_setup(c, path, set, n, err, errlen);
}

int flags_load(const struct flag_table *t, int argc, char **argv, struct flag_values *v,
               struct conf *c, char *err, size_t errlen)
{
	int rc = flags_parse(t, argc, argv, v, stdout, err, errlen);
	if (rc >= 0)
		return rc;
	return flags_conf(t, v, c, err, errlen) < 0 ? EXIT_CONFIG : -1;
}
