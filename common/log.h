/* log.h: one-line-per-event logging to stderr for canteen programs. */
#ifndef CANTEEN_LOG_H
#define CANTEEN_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Set the program name printed on each line and the most verbose level shown. */
void log_init(const char *progname, int level);
void log_set_level(int level);
int log_get_level(void);
/* Parse "error", "warn", "info" or "debug"; 0 on success, -1 otherwise. */
int log_level_parse(const char *s, int *level);

/* log_warn and fatal append ": strerror(errno)"; the x variants do not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit with status 111 (temporary failure: a supervisor restarts us). */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Exit codes shared by all daemons (HACKING.md, Processes). */
#define EXIT_DONE 0
#define EXIT_CONFIG 100
#define EXIT_TEMP 111

#endif
