/* test_priv.c: user names, user lookup, handing a run directory over, acting as a user and back. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "priv.h"
#include "tap.h"

static void test_names(void)
{
	ok(priv_name_check("_canteen") == NULL, "_canteen is a user name");
	ok(priv_name_check("a.b-c_9") == NULL, "letters, digits, '.', '-', '_'");
	ok(priv_name_check("") != NULL, "empty refused");
	ok(priv_name_check("-x") != NULL, "a leading '-' refused (would read as an option)");
	ok(priv_name_check("9x") != NULL, "a leading digit refused");
	ok(priv_name_check("a/b") != NULL, "'/' refused");
	ok(priv_name_check("a b") != NULL, "a blank refused");
	ok(priv_name_check("abcdefghijklmnopqrstuvwxyz012345") == NULL, "32 bytes accepted");
	ok(priv_name_check("abcdefghijklmnopqrstuvwxyz0123456") != NULL, "33 bytes refused");
}

static void test_lookup(void)
{
	struct priv_user u;
	char err[256];
	is_int(priv_user_lookup("root", &u, err, sizeof err), 0, "root is found (%s)", err);
	ok(u.uid == 0 && u.gid == 0 && u.ngroups >= 1, "root's ids and groups");
	is_int(priv_user_lookup("nosuchuser_canteen_t", &u, err, sizeof err), -1, "unknown user");
	ok(strstr(err, "unknown user 'nosuchuser_canteen_t' (create it: useradd --system") != NULL,
	   "says how to create it: %s", err);
	is_int(priv_user_lookup("a/b", &u, err, sizeof err), -1, "a bad name is not looked up");
}

/* A socket file at dir/name. */
static void make_socket(const char *dir, const char *name)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%s", dir, name);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
		close(fd);
}

/* Root only: hand directories to nobody; act as nobody and come back. */
static void test_rundir(void)
{
	struct priv_user u;
	struct stat st;
	char err[512], dir[64], path[128];
	if (geteuid() != 0 || priv_user_lookup("nobody", &u, err, sizeof err) < 0) {
		ok(1, "# SKIP not root, or no user nobody");
		return;
	}
	snprintf(dir, sizeof dir, "/tmp/canteen-test-priv.%d", (int)getpid());
	mkdir(dir, 0755);
	make_socket(dir, "a.sock");
	is_int(priv_rundir(dir, &u, err, sizeof err), 0, "a directory of sockets is handed over (%s)",
	       err);
	ok(stat(dir, &st) == 0 && st.st_uid == u.uid && st.st_gid == u.gid &&
	   (st.st_mode & 07777) == 0700, "it is nobody's, mode 0700");
	is_int(priv_rundir(dir, &u, err, sizeof err), 0, "again: already the user's is fine");

	/* Acting as nobody: files made are nobody's; root's real ids come back. */
	is_int(priv_enter(&u, err, sizeof err), 0, "act as nobody (%s)", err);
	ok(geteuid() == u.uid && getegid() == u.gid && getuid() == 0, "effective ids are nobody's");
	snprintf(path, sizeof path, "%s/made", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ok(fd >= 0, "nobody creates a file in its directory");
	if (fd >= 0)
		close(fd);
	is_int(priv_leave(), 0, "back to root");
	ok(geteuid() == 0 && getegid() == 0, "effective ids are root's again");
	ok(stat(path, &st) == 0 && st.st_uid == u.uid, "the file made is nobody's");
	is_int(priv_rundir(dir, &u, err, sizeof err), -1, "a directory holding a file is refused");
	ok(strstr(err, "holds 'made', which is not a socket") != NULL, "says what: %s", err);
	unlink(path);

	snprintf(path, sizeof path, "%s.link", dir);
	symlink(dir, path);
	is_int(priv_rundir(path, &u, err, sizeof err), -1, "a symbolic link is refused");
	ok(strstr(err, "is a symbolic link") != NULL, "says so: %s", err);
	unlink(path);

	struct priv_user root;
	priv_user_lookup("root", &root, err, sizeof err);
	chown(dir, 1, 1);
	is_int(priv_rundir(dir, &root, err, sizeof err), -1, "another user's directory is refused");
	ok(strstr(err, "belongs to uid 1, neither root nor root") != NULL, "says whose: %s", err);
	snprintf(path, sizeof path, "%s/a.sock", dir);
	unlink(path);
	rmdir(dir);
}

/* Root only: a forked child drops to nobody for good. */
static void test_drop(void)
{
	struct priv_user u;
	char err[256];
	if (geteuid() != 0 || priv_user_lookup("nobody", &u, err, sizeof err) < 0) {
		ok(1, "# SKIP not root, or no user nobody");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		if (priv_drop(&u) != 0)
			_exit(1);
		if (getuid() != u.uid || geteuid() != u.uid || getgid() != u.gid)
			_exit(2);
		if (setuid(0) == 0 || seteuid(0) == 0)
			_exit(3);
		gid_t g[PRIV_MAX_GROUPS];
		int n = getgroups(PRIV_MAX_GROUPS, g);
		for (int i = 0; i < n; i++)
			if (g[i] == 0)
				_exit(4);
		_exit(0);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "the child is nobody for good: no way back to root, no group of root's (status %d)",
	   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(void)
{
	test_names();
	test_lookup();
	test_rundir();
	test_drop();
	return done_testing();
}
