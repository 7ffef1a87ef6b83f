/* priv.c: least privilege: look up the canteen user, drop to it, hand it the run directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"
#include "parse.h"
#include "priv.h"

static int name_char(char c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return 1;
	return !first && ((c >= '0' && c <= '9') || c == '-' || c == '.');
}

const char *priv_name_check(const char *name)
{
	size_t n = strnlen(name, PRIV_NAME_MAX + 1);
	if (n == 0 || n > PRIV_NAME_MAX)
		return "a user name has 1 to 32 characters";
	for (size_t i = 0; i < n; i++)
		if (!name_char(name[i], i == 0))
			return "a user name starts with a letter or '_', then letters, digits, '_', '-' or '.'";
	return NULL;
}

int priv_user_lookup(const char *name, struct priv_user *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof *u);
	const char *why = priv_name_check(name);
	if (why)
		return errf(err, errlen, "user '%.40s': %s", name, why);
	errno = 0;
	struct passwd *pw = getpwnam(name);
	if (!pw && errno != 0 && errno != ENOENT && errno != ESRCH)
		return errf(err, errlen, "user %s: cannot look it up: %s", name, strerror(errno));
	if (!pw)
		return errf(err, errlen, "unknown user '%s' (create it: useradd --system "
		            "--no-create-home --shell /usr/sbin/nologin %s)", name, name);
	str_copy(u->name, sizeof u->name, name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	int n = PRIV_MAX_GROUPS;
	if (getgrouplist(name, u->gid, u->groups, &n) < 0)
		return errf(err, errlen, "user %s is in more than %d groups", name, PRIV_MAX_GROUPS);
	u->ngroups = n;
	return 0;
}

int priv_drop(const struct priv_user *u)
{
	if (setgroups((size_t)u->ngroups, u->groups) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
	    setresuid(u->uid, u->uid, u->uid) < 0)
		return errno;
	uid_t r, e, s;
	if (getresuid(&r, &e, &s) < 0 || r != u->uid || e != u->uid || s != u->uid)
		return EPERM;
	/* Root cannot be regained: a setuid(0) that succeeds means the drop did not hold. */
	if (u->uid != 0 && setuid(0) == 0)
		return EPERM;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errno;
	return 0;
}

/* Does the directory open at fd hold anything but sockets? Its first other entry in what. */
static int only_sockets(int fd, char *what, size_t whatlen)
{
	int dfd = dup(fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	struct dirent *e;
	int ok = 1;
	while (ok && (e = readdir(d))) {
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode)) {
			str_copy(what, whatlen, e->d_name);
			ok = 0;
		}
	}
	closedir(d);
	return ok;
}

int priv_rundir(const char *dir, const struct priv_user *u, char *err, size_t errlen)
{
	char what[64];
	struct stat st;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return errf(err, errlen, "run directory %s: %s", dir, strerror(errno));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
			return errf(err, errlen, "run directory %s is a symbolic link", dir);
		return errf(err, errlen, "run directory %s: %s", dir, strerror(e));
	}
	int rc = -1;
	if (fstat(fd, &st) < 0) {
		errf(err, errlen, "run directory %s: %s", dir, strerror(errno));
	} else if (st.st_uid != 0 && st.st_uid != u->uid) {
		errf(err, errlen, "run directory %s belongs to uid %u, neither root nor %s: "
		     "not handing it over", dir, (unsigned)st.st_uid, u->name);
	} else if (only_sockets(fd, what, sizeof what) != 1) {
		errf(err, errlen, "run directory %s holds '%s', which is not a socket: only a "
		     "directory of sockets is handed to %s", dir, what, u->name);
	} else if (fchmod(fd, 0700) < 0 || fchown(fd, u->uid, u->gid) < 0) { /* mode while ours */
		errf(err, errlen, "run directory %s: cannot give it to %s: %s", dir, u->name,
		     strerror(errno));
	} else {
		rc = 0;
	}
	close(fd);
	return rc;
}

int priv_enter(const struct priv_user *u, char *err, size_t errlen)
{
	if (setresgid((gid_t)-1, u->gid, (gid_t)-1) < 0)
		return errf(err, errlen, "cannot act as group %u: %s", (unsigned)u->gid, strerror(errno));
	if (setresuid((uid_t)-1, u->uid, (uid_t)-1) < 0) {
		int e = errno;
		if (setresgid((gid_t)-1, getgid(), (gid_t)-1) < 0)
			return errf(err, errlen, "cannot act as %s, nor return to our group: %s", u->name,
			            strerror(e));
		return errf(err, errlen, "cannot act as %s: %s", u->name, strerror(e));
	}
	return 0;
}

int priv_leave(void)
{
	if (setresuid((uid_t)-1, getuid(), (uid_t)-1) < 0 ||
	    setresgid((gid_t)-1, getgid(), (gid_t)-1) < 0)
		return -1;
	return 0;
}
