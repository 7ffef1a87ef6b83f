/* init_conf.c: parser of canteen-init's program list: words, quotes, names, file:line errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"
#include "init_conf.h"
#include "parse.h"
#include "priv.h"

/* Characters a reader would expect a shell to interpret: refused unless quoted. */
#define SHELL_CHARS "$`;|&<>()"

struct words {
	char buf[INIT_CONF_MAX_LINE + 1]; /* the words, each NUL-terminated */
	size_t off[INIT_CONF_MAX_ARGS + 1];
	size_t used;
	int n;
};

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A quoted part starting at s[*i] (the quote itself); appends to w. NULL or why not. */
static const char *quoted(const char *s, size_t len, size_t *i, struct words *w)
{
	char q = s[(*i)++];
	while (*i < len && s[*i] != q) {
		char c = s[*i];
		if (q == '"' && c == '\\' && *i + 1 < len && strchr("\"\\$`", s[*i + 1])) {
			c = s[++*i];
		} else if (q == '"' && (c == '$' || c == '`')) {
			return "'$' and '`' are not expanded: escape them or use sh -c '...'";
		}
		w->buf[w->used++] = c;
		(*i)++;
	}
	if (*i == len)
		return q == '"' ? "unterminated \"" : "unterminated '";
	(*i)++;
	return NULL;
}

/* Split one line (no newline, checked for control characters) into w. 0, or -1 with err. */
static int split_words(const char *s, size_t len, struct words *w, char *err, size_t errlen)
{
	size_t i = 0;
	w->used = 0;
	w->n = 0;
	for (;;) {
		while (i < len && is_blank(s[i]))
			i++;
		if (i == len || s[i] == '#')
			return 0;
		if (w->n == INIT_CONF_MAX_ARGS + 1) {
			errf(err, errlen, "too many words (a command has at most %d)",
			       INIT_CONF_MAX_ARGS);
			return -1;
		}
		w->off[w->n++] = w->used;
		while (i < len && !is_blank(s[i])) {
			char c = s[i];
			if (c == '\'' || c == '"') {
				const char *why = quoted(s, len, &i, w);
				if (why) {
					errf(err, errlen, "%s", why);
					return -1;
				}
			} else if (c == '\\') {
				if (i + 1 == len) {
					errf(err, errlen, "backslash at the end of the line");
					return -1;
				}
				w->buf[w->used++] = s[i + 1];
				i += 2;
			} else if (strchr(SHELL_CHARS, c)) {
				errf(err, errlen, "'%c' needs a shell: quote it or use sh -c '...'", c);
				return -1;
			} else {
				w->buf[w->used++] = c;
				i++;
			}
		}
		w->buf[w->used++] = '\0';
	}
}

static const char *check_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > INIT_CONF_NAME_MAX)
		return "a name has 1 to 32 characters";
	if (!is_alnum(name[0]))
		return "a name starts with a letter or a digit";
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(name[i]) && !strchr("._-", name[i]))
			return "a name holds only letters, digits, '.', '_' and '-'";
	return NULL;
}

/* Copy the words from word cmd on into one allocation: argv pointers, then the strings. */
static int add_prog(struct init_conf *ic, const struct words *w, int cmd, const char *user,
                    unsigned line)
{
	size_t first = w->off[cmd], bytes = w->used - first;
	int argc = w->n - cmd;
	size_t ptrs = ((size_t)argc + 1) * sizeof(char *);
	char **argv = malloc(ptrs + bytes);
	if (!argv)
		return -1;
	char *strs = (char *)argv + ptrs;
	memcpy(strs, w->buf + first, bytes);
	for (int a = 0; a < argc; a++)
		argv[a] = strs + (w->off[a + cmd] - first);
	argv[argc] = NULL;
	struct init_prog *p = &ic->progs[ic->n++];
	memset(p, 0, sizeof *p);
	memcpy(p->name, w->buf, strlen(w->buf) + 1);
	str_copy(p->user, sizeof p->user, user);
	p->argv = argv;
	p->argc = argc;
	p->line = line;
	return 0;
}

/* Check and add one line; 0, or -1 with the reason (without file:line) in err. */
static int parse_line(struct init_conf *ic, const char *s, size_t len, unsigned line,
                      struct words *w, char *err, size_t errlen)
{
	if (len > INIT_CONF_MAX_LINE) {
		errf(err, errlen, "line too long (at most %d bytes)", INIT_CONF_MAX_LINE);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			errf(err, errlen, "control character 0x%02x%s", c,
			       c == '\r' ? " (DOS line ending?)" : "");
			return -1;
		}
	}
	if (split_words(s, len, w, err, errlen) < 0)
		return -1;
	if (w->n == 0)
		return 0;
	const char *name = w->buf;
	const char *why = check_name(name);
	if (why) {
		errf(err, errlen, "bad name '%.40s': %s", name, why);
		return -1;
	}
	int cmd = 1;
	const char *user = "";
	if (w->n > 1 && strncmp(w->buf + w->off[1], "user=", 5) == 0) {
		user = w->buf + w->off[1] + 5;
		why = priv_name_check(user);
		if (why) {
			errf(err, errlen, "'%s': bad user=%.40s: %s", name, user, why);
			return -1;
		}
		cmd = 2;
	}
	if (w->n <= cmd) {
		errf(err, errlen, "'%s' has no command (expected: name [user=NAME] command [args...])",
		     name);
		return -1;
	}
	int dup = init_conf_find(ic, name);
	if (dup >= 0) {
		errf(err, errlen, "duplicate name '%s' (first on line %u)", name,
		       ic->progs[dup].line);
		return -1;
	}
	if (ic->n == INIT_CONF_MAX_PROGS) {
		errf(err, errlen, "too many programs (at most %d)", INIT_CONF_MAX_PROGS);
		return -1;
	}
	if (add_prog(ic, w, cmd, user, line) < 0) {
		errf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int init_conf_parse(struct init_conf *ic, const char *text, size_t len, const char *fname,
                    char *err, size_t errlen)
{
	char why[256];
	unsigned line = 0;
	memset(ic, 0, sizeof *ic);
	struct words *w = malloc(sizeof *w);
	ic->progs = calloc(INIT_CONF_MAX_PROGS, sizeof *ic->progs);
	if (!w || !ic->progs) {
		errf(err, errlen, "%s: out of memory", fname);
		goto fail;
	}
	for (size_t pos = 0; pos < len;) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		line++;
		if (memchr(s, '\0', n)) {
			errf(err, errlen, "%s:%u: NUL byte", fname, line);
			goto fail;
		}
		if (parse_line(ic, s, n, line, w, why, sizeof why) < 0) {
			errf(err, errlen, "%s:%u: %s", fname, line, why);
			goto fail;
		}
		pos += n + (nl ? 1 : 0);
	}
	if (ic->n == 0) {
		errf(err, errlen, "%s: no programs (expected lines: name command [args...])", fname);
		goto fail;
	}
	free(w);
	return 0;
fail:
	free(w);
	init_conf_free(ic);
	return -1;
}

int init_conf_load(struct init_conf *ic, const char *path, char *err, size_t errlen)
{
	memset(ic, 0, sizeof *ic);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		errf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	char *buf = malloc(INIT_CONF_MAX_FILE + 1);
	size_t len = 0;
	ssize_t r = 0;
	while (buf && len <= INIT_CONF_MAX_FILE &&
	       (r = read(fd, buf + len, INIT_CONF_MAX_FILE + 1 - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		len += (size_t)r;
	}
	int saved = errno;
	close(fd);
	int rc = -1;
	if (!buf)
		errf(err, errlen, "%s: out of memory", path);
	else if (r < 0)
		errf(err, errlen, "%s: %s", path, strerror(saved));
	else if (len > INIT_CONF_MAX_FILE)
		errf(err, errlen, "%s: file too large (at most %d bytes)", path, INIT_CONF_MAX_FILE);
	else
		rc = init_conf_parse(ic, buf, len, path, err, errlen);
	free(buf);
	return rc;
}

void init_conf_free(struct init_conf *ic)
{
	for (size_t i = 0; ic->progs && i < ic->n; i++)
		free(ic->progs[i].argv);
	free(ic->progs);
	memset(ic, 0, sizeof *ic);
}

int init_conf_find(const struct init_conf *ic, const char *name)
{
	for (size_t i = 0; i < ic->n; i++)
		if (strcmp(ic->progs[i].name, name) == 0)
			return (int)i;
	return -1;
}
