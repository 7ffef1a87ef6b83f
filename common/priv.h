/* priv.h: least privilege: the canteen user's ids, dropping to them, and the run directory. */
#ifndef CANTEEN_PRIV_H
#define CANTEEN_PRIV_H

#include <stddef.h>
#include <sys/types.h>

#define PRIV_NAME_MAX 32   /* bytes of a user name */
#define PRIV_MAX_GROUPS 64 /* supplementary groups kept for a user; more is an error */

/* A user's ids, looked up once; everything priv_drop needs without touching NSS. */
struct priv_user {
	char name[PRIV_NAME_MAX + 1];
	uid_t uid;
	gid_t gid;
	gid_t groups[PRIV_MAX_GROUPS];
	int ngroups;
};

/* Is name a user name canteen accepts (a letter or '_', then letters, digits, '_', '-' or
 * '.'; at most PRIV_NAME_MAX bytes)? NULL, or why not. */
const char *priv_name_check(const char *name);

/* name's uid, primary gid and groups into u. 0, or -1 with a sentence in err (an unknown
 * user says how to create one). */
int priv_user_lookup(const char *name, struct priv_user *u, char *err, size_t errlen);

/*
 * In a child between fork and exec: become u for good (groups, then gid, then uid; real,
 * effective and saved), and refuse new privileges (setuid files). Only system calls: safe
 * after fork. 0, or an errno value; on failure the caller must _exit without exec.
 */
int priv_drop(const struct priv_user *u);

/*
 * Root handing the run directory to u: dir is made (0700) if missing, must be a directory
 * (not a symbolic link) owned by root or by u and hold nothing but sockets, and becomes u's
 * (owner and group) with mode 0700. 0, or -1 with a sentence in err.
 */
int priv_rundir(const char *dir, const struct priv_user *u, char *err, size_t errlen);

/*
 * Root working as u for a while (creating its sockets in u's run directory): the effective
 * gid, then uid, become u's; the real and saved ids stay root, so priv_leave returns.
 * 0, or -1 with a sentence in err (nothing changed).
 */
int priv_enter(const struct priv_user *u, char *err, size_t errlen);
/* Back to the real (root's) effective ids after priv_enter. 0, or -1 (errno set). */
int priv_leave(void);

#endif
