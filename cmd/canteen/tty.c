/* tty.c: text from outside (the chain, peers, daemons) made safe to print on a terminal. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tty.h"

/* Length of the valid UTF-8 sequence at s (n bytes left) and its code point; 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, c = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, c = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* A code point a terminal acts on instead of showing. */
static int is_control(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x200e || c == 0x200f ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* The escaped form of the character at p (len bytes, code point cp; len 0: an invalid byte)
 * into piece; its length. */
static size_t esc_piece(const unsigned char *p, size_t *len, uint32_t cp, char piece[32])
{
	size_t plen = 0;
	if (*len == 1 && cp == '\\')
		return (size_t)snprintf(piece, 32, "\\\\");
	if (*len == 0 || is_control(cp)) {
		if (*len == 0)
			*len = 1;
		for (size_t i = 0; i < *len; i++)
			plen += (size_t)snprintf(piece + plen, 32 - plen, "\\x%02x", p[i]);
		return plen;
	}
	memcpy(piece, p, *len);
	return *len;
}

const char *tty_esc(const char *s, char *out, size_t outlen)
{
	static const char dots[] = "...";
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), o = 0, cut = 0;
	if (outlen < sizeof dots) {
		if (outlen)
			out[0] = '\0';
		return out;
	}
	while (n > 0) {
		char piece[32];
		uint32_t cp = 0;
		size_t len = utf8_seq(p, n, &cp);
		size_t plen = esc_piece(p, &len, cp, piece);
		if (o + plen >= outlen) {
			/* It does not all fit: back to the last boundary "..." fits after. */
			memcpy(out + cut, dots, sizeof dots - 1);
			o = cut + sizeof dots - 1;
			break;
		}
		memcpy(out + o, piece, plen);
		o += plen;
		if (o + sizeof dots <= outlen)
			cut = o;
		p += len;
		n -= len;
	}
	out[o] = '\0';
	return out;
}
