/* keyfile.c: secret key files: written whole through a private temporary file, read only when owner-only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "errf.h"
#include "keyfile.h"

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The directory holding path, synced so that a rename in it survives a crash. */
static void sync_dir_of(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path) >=
	         (int)sizeof dir)
		return;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* A fresh temporary file beside path, mode 0600, never an existing file or link. */
static int open_temp(const char *path, char *tmp, size_t tmplen, char *err, size_t errlen)
{
	for (int tries = 0; tries < 8; tries++) {
		unsigned char r[8];
		char hex[2 * sizeof r + 1];
		randombytes_buf(r, sizeof r);
		sodium_bin2hex(hex, sizeof hex, r, sizeof r);
		if (snprintf(tmp, tmplen, "%s.new-%s", path, hex) >= (int)tmplen)
			return errf(err, errlen, "key file path %s is too long", path);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			break;
	}
	return errf(err, errlen, "cannot create a temporary file beside %s: %s", path, strerror(errno));
}

/* tmp becomes path: replacing it, or only if path does not exist. */
static int move_into_place(const char *tmp, const char *path, int replace)
{
	if (replace)
		return rename(tmp, path);
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: link() does not replace either. */
	if (link(tmp, path) < 0)
		return -1;
	unlink(tmp);
	return 0;
}

int keyfile_write(const char *path, const void *data, size_t len, int replace, char *err,
                  size_t errlen)
{
	char tmp[4200];
	struct stat st;
	if (sodium_init() < 0)
		return errf(err, errlen, "libsodium could not be initialised");
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return errf(err, errlen, "cannot write key file %s: it is a symbolic link", path);
		if (!replace)
			return errf(err, errlen, "cannot create %s: %s", path, strerror(EEXIST));
		if (!S_ISREG(st.st_mode))
			return errf(err, errlen, "cannot replace %s: not a regular file", path);
	}
	int fd = open_temp(path, tmp, sizeof tmp, err, errlen);
	if (fd < 0)
		return -1;
	int ok = fchmod(fd, 0600) == 0 && write_all(fd, data, len) == 0 && fsync(fd) == 0;
	int saved = errno;
	if (close(fd) < 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (!ok) {
		unlink(tmp);
		return errf(err, errlen, "cannot write %s: %s", tmp, strerror(saved));
	}
	if (move_into_place(tmp, path, replace) < 0) {
		saved = errno;
		unlink(tmp);
		return errf(err, errlen, "cannot create %s: %s", path, strerror(saved));
	}
	sync_dir_of(path);
	return 0;
}

/* Why an open with O_NOFOLLOW failed: a symbolic link gets its own sentence. */
static int open_failed(const char *path, char *err, size_t errlen)
{
	int saved = errno;
	struct stat st;
	if (saved == ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return errf(err, errlen, "key file %s is a symbolic link: refused (name the file itself)",
		            path);
	return errf(err, errlen, "cannot open key file %s: %s", path, strerror(saved));
}

static int check_owner_mode(const char *path, const struct stat *st, char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode))
		return errf(err, errlen, "key file %s is not a regular file", path);
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return errf(err, errlen, "key file %s is owned by uid %u, neither you (uid %u) nor root: "
		            "refused; another user could have read or replaced it", path,
		            (unsigned)st->st_uid, (unsigned)geteuid());
	if (st->st_mode & (S_IRWXG | S_IRWXO))
		return errf(err, errlen, "key file %s is accessible by group or others (mode %03o) and "
		            "a key readable by others is refused; run chmod 600 %s", path,
		            (unsigned)(st->st_mode & 0777), path);
	return 0;
}

ssize_t keyfile_read(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n = 0, r = 0;
	if (cap < 2)
		return errf(err, errlen, "no room to read key file %s", path);
	/* O_NONBLOCK: a FIFO put in the key's place must not hang the reader. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return open_failed(path, err, errlen);
	if (fstat(fd, &st) < 0) {
		errf(err, errlen, "cannot stat key file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (check_owner_mode(path, &st, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	while ((size_t)n < cap - 1) {
		r = read(fd, buf + n, cap - 1 - (size_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	int saved = errno;
	close(fd);
	buf[n] = '\0';
	if (r < 0)
		return errf(err, errlen, "cannot read key file %s: %s", path, strerror(saved));
	if ((size_t)n == cap - 1)
		return errf(err, errlen, "cannot read key file %s: too long", path);
	return n;
}
