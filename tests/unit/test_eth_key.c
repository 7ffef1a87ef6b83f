/* test_eth_key.c: key files: owner-only modes, formats, refusals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eth_key.h"
#include "tap.h"

static char dir[] = "/tmp/test_eth_key.XXXXXX";

static const char *write_key(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
	return path;
}

static int loads(const char *path, char *err, size_t errlen)
{
	struct eth_key *k = eth_key_load(path, err, errlen);
	int r = k && strcmp(k->address_hex, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8") == 0;
	eth_key_free(k);
	return r;
}

int main(void)
{
	char err[512], link_path[300];
	const char *hexkey = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
	char line[128];
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	snprintf(line, sizeof line, "0x%s\n", hexkey);
	ok(loads(write_key("a", line, 0600), err, sizeof err), "0x-prefixed key with newline, mode 0600");
	ok(loads(write_key("b", hexkey, 0400), err, sizeof err), "bare hex, mode 0400");
	ok(!loads(write_key("c", line, 0640), err, sizeof err) && strstr(err, "group or others"),
	   "mode 0640 refused: %s", err);
	ok(!loads(write_key("d", line, 0604), err, sizeof err), "mode 0604 refused");
	ok(!loads(write_key("e", "0x1234\n", 0600), err, sizeof err), "short key refused: %s", err);
	ok(!loads(write_key("f", "zz6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", 0600), err,
	          sizeof err), "non-hex refused");
	ok(!loads(write_key("g", "0000000000000000000000000000000000000000000000000000000000000000", 0600),
	          err, sizeof err), "zero key refused");
	ok(!loads(write_key("h", "", 0600), err, sizeof err), "empty file refused");
	snprintf(link_path, sizeof link_path, "%s/link", dir);
	int sl = symlink("a", link_path);
	ok(sl == 0 && !loads(link_path, err, sizeof err), "symlink refused");
	ok(!loads(dir, err, sizeof err), "a directory refused");
	snprintf(link_path, sizeof link_path, "%s/missing", dir);
	ok(!loads(link_path, err, sizeof err) && strstr(err, "cannot open"), "missing file: %s", err);
	char big[600];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ok(!loads(write_key("i", big, 0600), err, sizeof err), "oversized file refused: %s", err);

	struct eth_key *k = eth_key_from_hex(hexkey, err, sizeof err);
	ok(k && k->secret[0] == 0x59, "key from hex in memory");
	eth_key_free(k);

	/* Clean up. */
	const char *names[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "link"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char p[300];
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
	return done_testing();
}
