/* test_keyfile.c: key files written through a temporary file and renamed; owner, mode and link checks on read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"
#include "tap.h"

static char dir[] = "/tmp/test_keyfile.XXXXXX";

static const char *at(const char *name)
{
	static char path[4][256];
	static int slot;
	slot = (slot + 1) % 4;
	snprintf(path[slot], sizeof path[slot], "%s/%s", dir, name);
	return path[slot];
}

static void put(const char *name, const char *text, mode_t mode)
{
	FILE *f = fopen(at(name), "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(at(name), mode);
}

static int entries(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

int main(void)
{
	char err[512], buf[64];
	struct stat st, old;
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	umask(022);
	ok(keyfile_write(at("k"), "secret\n", 7, 0, err, sizeof err) == 0, "a new key file: %s", err);
	ok(stat(at("k"), &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_uid == geteuid(),
	   "it is ours with mode 0600 whatever the umask");
	ok(keyfile_read(at("k"), buf, sizeof buf, err, sizeof err) == 7 && strcmp(buf, "secret\n") == 0,
	   "it reads back");
	ok(keyfile_write(at("k"), "other\n", 6, 0, err, sizeof err) < 0 && strstr(err, strerror(EEXIST)),
	   "not replaced without replace: %s", err);
	ok(keyfile_read(at("k"), buf, sizeof buf, err, sizeof err) == 7, "and left as it was");

	/* Replacing: the old file is another inode, left untouched (a hard link shows it). */
	put("victim", "old\n", 0644);
	ok(link(at("victim"), at("victim.old")) == 0, "a second name for the old file");
	stat(at("victim"), &old);
	ok(keyfile_write(at("victim"), "new\n", 4, 1, err, sizeof err) == 0, "replaced: %s", err);
	stat(at("victim"), &st);
	ok(st.st_ino != old.st_ino && (st.st_mode & 0777) == 0600, "a new inode with mode 0600");
	ok(keyfile_read(at("victim"), buf, sizeof buf, err, sizeof err) == 4 && strcmp(buf, "new\n") == 0,
	   "with the new text");
	FILE *f = fopen(at("victim.old"), "r");
	ok(f && fgets(buf, sizeof buf, f) && strcmp(buf, "old\n") == 0, "the old file keeps its text");
	if (f)
		fclose(f);
	stat(at("victim.old"), &st);
	ok((st.st_mode & 0777) == 0644, "and its mode");

	/* Links. */
	ok(symlink("k", at("link")) == 0, "a symbolic link");
	ok(keyfile_read(at("link"), buf, sizeof buf, err, sizeof err) < 0 && strstr(err, "is a symbolic link"),
	   "read through a link refused: %s", err);
	ok(keyfile_write(at("link"), "x", 1, 1, err, sizeof err) < 0 && strstr(err, "symbolic link"),
	   "written through a link refused: %s", err);
	ok(keyfile_read(at("k"), buf, sizeof buf, err, sizeof err) == 7, "the link's target untouched");

	/* Modes, owners, kinds. */
	put("open", "x\n", 0640);
	ok(keyfile_read(at("open"), buf, sizeof buf, err, sizeof err) < 0 && strstr(err, "group or others") &&
	   strstr(err, "readable by others"), "mode 0640 refused: %s", err);
	put("w", "x\n", 0602);
	ok(keyfile_read(at("w"), buf, sizeof buf, err, sizeof err) < 0, "mode 0602 refused");
	put("ro", "x\n", 0400);
	ok(keyfile_read(at("ro"), buf, sizeof buf, err, sizeof err) == 2, "mode 0400 accepted");
	if (geteuid() == 0) {
		put("theirs", "x\n", 0600);
		ok(chown(at("theirs"), 65534, 65534) == 0, "a file given to uid 65534");
		ok(keyfile_read(at("theirs"), buf, sizeof buf, err, sizeof err) < 0 &&
		   strstr(err, "owned by uid 65534"), "another user's file refused: %s", err);
	} else {
		ok(1, "# skip chown needs root");
		ok(1, "# skip chown needs root");
	}
	ok(mkfifo(at("fifo"), 0600) == 0, "a FIFO");
	ok(keyfile_read(at("fifo"), buf, sizeof buf, err, sizeof err) < 0 && strstr(err, "not a regular file"),
	   "a FIFO refused without hanging: %s", err);
	ok(keyfile_read(dir, buf, sizeof buf, err, sizeof err) < 0, "a directory refused");
	ok(keyfile_read(at("missing"), buf, sizeof buf, err, sizeof err) < 0 && strstr(err, "cannot open"),
	   "missing: %s", err);
	char big[100];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	put("big", big, 0600);
	ok(keyfile_read(at("big"), buf, sizeof buf, err, sizeof err) < 0 && strstr(err, "too long"),
	   "longer than the buffer: %s", err);
	ok(keyfile_write(at("nodir/k"), "x", 1, 0, err, sizeof err) < 0 && strstr(err, "temporary"),
	   "a missing directory: %s", err);

	ok(entries() == 10, "no temporary file left behind (%d entries)", entries());
	const char *names[] = {"k", "victim", "victim.old", "link", "open", "w", "ro", "theirs", "fifo", "big"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(at(names[i]));
	rmdir(dir);
	return done_testing();
}
