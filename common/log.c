/* log.c: one line per event on stderr: "prog: level: message". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *log_prog = "canteen";
static int log_level = LOG_LEVEL_INFO;

void log_init(const char *progname, int level)
{
	if (progname)
		log_prog = progname;
	log_level = level;
}

void log_set_level(int level) { log_level = level; }
int log_get_level(void) { return log_level; }

int log_level_parse(const char *s, int *level)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*level = i;
			return 0;
		}
	}
	return -1;
}

/* Format into one buffer and write it with a single call so lines never interleave. */
static void log_emit(const char *tag, int with_errno, int saved_errno, const char *fmt, va_list ap)
{
	char line[2048];
	int n = snprintf(line, sizeof line, "%s: %s", log_prog, tag);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
	if (len >= sizeof line - 1)
		len = sizeof line - 2;
	if (with_errno) {
		int k = snprintf(line + len, sizeof line - 1 - len, ": %s", strerror(saved_errno));
		if (k > 0)
			len += (size_t)k;
		if (len >= sizeof line - 1)
			len = sizeof line - 2;
	}
	/* Keep it one line whatever the message holds. */
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
	fflush(stderr);
}

#define LOG_FN(name, level, tag, with_errno)                                                \
	void name(const char *fmt, ...)                                                         \
	{                                                                                       \
		int saved = errno;                                                                  \
		if (log_level < (level))                                                            \
			return;                                                                         \
		va_list ap;                                                                         \
		va_start(ap, fmt);                                                                  \
		log_emit(tag, with_errno, saved, fmt, ap);                                          \
		va_end(ap);                                                                         \
		errno = saved;                                                                      \
	}

LOG_FN(log_warn, LOG_LEVEL_WARN, "warning: ", 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, "warning: ", 0)
LOG_FN(log_info, LOG_LEVEL_INFO, "", 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, "debug: ", 0)

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	log_emit("fatal: ", 1, saved, fmt, ap);
	va_end(ap);
	exit(EXIT_TEMP);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit("fatal: ", 0, 0, fmt, ap);
	va_end(ap);
	exit(EXIT_TEMP);
}
