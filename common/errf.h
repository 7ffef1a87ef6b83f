/* errf.h: the one way library code formats an error sentence into a caller's buffer. */
#ifndef CANTEEN_ERRF_H
#define CANTEEN_ERRF_H

#include <stdarg.h>
#include <stddef.h>

/* Format into err (errlen bytes, truncated, always NUL-terminated); err may be NULL or
 * errlen 0 when the caller does not want the text. Returns -1, so a failing function
 * can end with `return errf(err, errlen, "...", ...);`. */
int errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int verrf(char *err, size_t errlen, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

#endif
