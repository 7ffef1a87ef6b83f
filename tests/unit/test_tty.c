/* test_tty.c: the CLI's terminal escaping (cmd/canteen/tty.c): controls, C1, bidi, bad UTF-8, cuts. */
#include <stdio.h>
#include <string.h>

#include "../../cmd/canteen/tty.c"
#include "tap.h"

static int esc_is(const char *in, const char *want, size_t outlen)
{
	char out[256];
	tty_esc(in, out, outlen);
	if (strcmp(out, want) != 0) {
		printf("# got '%s' want '%s'\n", out, want);
		return 0;
	}
	return 1;
}

int main(void)
{
	char out[64];
	ok(esc_is("127.0.0.2:7946", "127.0.0.2:7946", 64), "plain text passes");
	ok(esc_is("zone=\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8d\xb2", "zone=\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8d\xb2", 64),
	   "valid UTF-8 passes");
	ok(esc_is("a\x1b[2Jb", "a\\x1b[2Jb", 64), "ESC escaped");
	ok(esc_is("\r\n\t\x07\x7f", "\\x0d\\x0a\\x09\\x07\\x7f", 64), "C0 controls and DEL escaped");
	ok(esc_is("x\xc2\x9b" "31m", "x\\xc2\\x9b31m", 64), "C1 CSI (U+009B) escaped");
	ok(esc_is("a\xe2\x80\xae" "b", "a\\xe2\\x80\\xaeb", 64), "right-to-left override escaped");
	ok(esc_is("\xe2\x81\xa6\xe2\x80\xa8", "\\xe2\\x81\\xa6\\xe2\\x80\\xa8", 64), "isolates and line separator escaped");
	ok(esc_is("\xff\xfe", "\\xff\\xfe", 64), "invalid bytes escaped");
	ok(esc_is("\xc0\xaf", "\\xc0\\xaf", 64), "overlong form escaped");
	ok(esc_is("\xed\xa0\x80", "\\xed\\xa0\\x80", 64), "surrogate escaped");
	ok(esc_is("\xe2\x82", "\\xe2\\x82", 64), "truncated sequence escaped");
	ok(esc_is("a\\x1b", "a\\\\x1b", 64), "a backslash is doubled, so escapes cannot be faked");
	ok(esc_is(NULL, "", 64), "NULL gives empty text");
	ok(esc_is("abcdefghij", "abcdefghij", 11), "exact fit is not cut");
	ok(esc_is("abcdefghijk", "abcdefg...", 11), "a cut ends with ...");
	ok(esc_is("abcdef\x1b", "abcdef\\x1b", 11), "an escape that fits is whole");
	ok(esc_is("abcdefg\x1b", "abcdefg...", 11), "an escape is never cut in half");
	ok(esc_is("abcde\xe2\x82\xac\xe2\x82\xac", "abcde...", 11), "a character is never cut in half");
	ok(esc_is("abcdef", "...", 4), "smallest buffer");
	tty_esc("abc", out, 3);
	ok(out[0] == '\0', "a buffer too small for ... gives empty text");
	/* Every byte value alone: the result holds no byte below 0x20, no 0x7f, no C1. */
	int clean = 1;
	for (int b = 1; b < 256; b++) {
		char in[2] = {(char)b, 0};
		tty_esc(in, out, sizeof out);
		for (const unsigned char *q = (const unsigned char *)out; *q; q++)
			clean &= *q >= 0x20 && *q != 0x7f && *q < 0x80;
	}
	ok(clean, "no single byte comes out as a control or a lone high byte");
	return done_testing();
}
