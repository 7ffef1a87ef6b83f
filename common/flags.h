/* flags.h: a daemon's command-line flags as one table: getopt options, conf overrides, --help. */
#ifndef CANTEEN_FLAGS_H
#define CANTEEN_FLAGS_H

#include <stddef.h>
#include <stdio.h>

#include "conf.h"

#define FLAGS_MAX 40       /* rows in one table, -h and -V not counted */
#define FLAGS_REPEAT_MAX 32 /* values of repeatable flags kept at most, all flags together */

/*
 * One flag. A row with a key sets that canteen.conf key (conf_setup applies it on top of
 * the file); a row without one is read by the program from struct flag_values.
 * -h/--help and -V/--version are added to every table.
 */
struct flag {
	const char *name;  /* long name, without the dashes */
	char letter;       /* short name, or 0 */
	const char *arg;   /* the argument in the usage text ("DIR"); NULL: takes none */
	const char *key;   /* the canteen.conf key it sets, or NULL */
	const char *help;  /* one line for --help */
	unsigned repeat;   /* 0: once (the last one given wins); else up to this many times */
};

/* A program's table: rows indexed by the program's own enum. */
struct flag_table {
	const char *prog;     /* "canteen-swim" */
	const struct flag *rows;
	size_t n;
	const char *footer;   /* lines after the options ("See canteen-swim(8).\n") */
};

/* What argv said, by row of the table. */
struct flag_values {
	const char *value[FLAGS_MAX];    /* the last argument given; "" for a flag without
	                                  * argument; NULL when not given */
	const char *all[FLAGS_REPEAT_MAX]; /* every value of the repeatable rows, in order */
	size_t row[FLAGS_REPEAT_MAX];      /* and the row each belongs to */
	size_t nall;
};

/* Rows every daemon has, spelled once. */
#define FLAG_CONFIG {"config", 'c', "FILE", NULL, "canteen.conf (default " CONF_DEFAULT_PATH ")", 0}
#define FLAG_RUNDIR(what) {"rundir", 'd', "DIR", "rundir", what " (default /run/canteen)", 0}
#define FLAG_LOG_LEVEL {"log-level", 0, "LEVEL", "log_level", "error, warn, info or debug", 0}
#define FLAG_NODE {"node", 0, "ADDRESS", "node_name", "this node's 0x address (conf node_name)", 0}

/*
 * Parse argv by the table into v. Returns -1 when the program goes on; otherwise the
 * status it exits with: 0 after --help or --version (written to out), 100 on a usage
 * error (a bad or repeated flag, an argument left over), with a sentence in err.
 */
int flags_parse(const struct flag_table *t, int argc, char **argv, struct flag_values *v,
                FILE *out, char *err, size_t errlen);

/* The usage text: a synopsis, then one line per flag, then the footer. */
void flags_usage(const struct flag_table *t, FILE *out);

/*
 * The configuration on top of what c holds (its defaults): the file of the -c row (or
 * CONF_DEFAULT_PATH, see conf_setup), then the rows with a key that argv gave.
 * 0, or -1 with "path:line: ..." or "--flag: ..." in err.
 */
int flags_conf(const struct flag_table *t, const struct flag_values *v, struct conf *c,
               char *err, size_t errlen);

/*
 * What a daemon does first: flags_parse, then flags_conf on top of c's defaults.
 * Returns -1 when the program goes on, else the status to exit with (0 after --help or
 * --version; 100 on a usage or configuration error, with a sentence in err).
 */
int flags_load(const struct flag_table *t, int argc, char **argv, struct flag_values *v,
               struct conf *c, char *err, size_t errlen);

#endif
