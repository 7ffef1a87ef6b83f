/* init_conf.h: canteen-init's program list ("name command [args...]" lines) parsed strictly. */
#ifndef CANTEEN_INIT_CONF_H
#define CANTEEN_INIT_CONF_H

#include <stddef.h>

#include "priv.h"

#define INIT_CONF_DEFAULT_PATH "/etc/canteen/init.conf"
#define INIT_CONF_MAX_PROGS 64          /* programs per file */
#define INIT_CONF_MAX_ARGS 64           /* words per line, the name not counted */
#define INIT_CONF_MAX_LINE 4096         /* bytes per line, newline not counted */
#define INIT_CONF_MAX_FILE (256 * 1024) /* bytes per file */
#define INIT_CONF_NAME_MAX 32           /* bytes per name */

/*
 * One program. argv is NULL-terminated and owned by the init_conf, as are its strings.
 * line is the 1-based line the program was declared on; user is "" unless the line says
 * user=NAME.
 */
struct init_prog {
	char name[INIT_CONF_NAME_MAX + 1];
	char user[PRIV_NAME_MAX + 1];
	char **argv;
	int argc;
	unsigned line;
};

struct init_conf {
	struct init_prog *progs;
	size_t n;
};

/*
 * Syntax: one program per line, words separated by blanks; the first word is the name
 * (a letter or digit, then letters, digits, '.', '_' or '-'; unique), then optionally
 * user=NAME (the user the program runs as; a valid user name, see priv_name_check), the
 * rest the command looked up through PATH. '...' quotes literally, "..." quotes with \" \\ \$ \` escapes,
 * a backslash outside quotes escapes the next character. A '#' that starts a word starts
 * a comment. Control characters (tab aside) and NUL bytes are errors.
 *
 * Both fill ic (which must be zeroed or freed) and return 0, or -1 with
 * "fname:line: what is wrong" in err and ic left empty. At least one program is required.
 */
int init_conf_parse(struct init_conf *ic, const char *text, size_t len, const char *fname,
                    char *err, size_t errlen);
int init_conf_load(struct init_conf *ic, const char *path, char *err, size_t errlen);
/* Frees what the parser allocated and zeroes ic; safe on a zeroed ic. */
void init_conf_free(struct init_conf *ic);
/* Index of the program called name, or -1. */
int init_conf_find(const struct init_conf *ic, const char *name);

#endif
