/* tty.h: text from outside (the chain, peers, daemons) made safe to print on a terminal. */
#ifndef CANTEEN_TTY_H
#define CANTEEN_TTY_H

#include <stddef.h>

#define TTY_FIELD_MAX 1024 /* bytes of one escaped field in a table, with its NUL */

/*
 * Copy s into out (outlen bytes, at least 4) with everything a terminal could act on written
 * as \xNN: bytes below 0x20 and 0x7f, C1 controls (U+0080..U+009F), bidirectional and line
 * separator marks (U+200E, U+200F, U+2028..U+202E, U+2066..U+2069) and bytes that are not
 * valid UTF-8; a backslash becomes \\. Valid UTF-8 otherwise passes. Text that does not fit
 * is cut at a character boundary and ends with "...". NULL gives "". Returns out.
 */
const char *tty_esc(const char *s, char *out, size_t outlen);

#endif
