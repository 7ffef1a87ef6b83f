/* up.h: canteen up/down, the demo harness: up.c (the steps), up_sys.c, up_docker.c. */
/* Only cmd_up and cmd_down use these; the CLI's other commands never include this header. */
#ifndef CANTEEN_UP_H
#define CANTEEN_UP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UP_ROOT_DIR "/run/canteen-up" /* the default directory when run as root */
#define UP_DEMO_IMAGE "canteen/demo:1"
#define UP_EXE_MAX 1024 /* bytes of a recorded executable path */

/* A process canteen up started, as it was when recorded: down signals it only while the pid
 * still names that process (same start time and executable). */
struct up_proc {
	pid_t pid;                 /* 0: none */
	unsigned long long start;  /* field 22 of /proc/PID/stat: clock ticks after boot */
	char exe[UP_EXE_MAX];      /* readlink /proc/PID/exe */
};

/* up_sys.c. The directory up and down use when no --dir is given: CANTEEN_UP_DIR, else
 * UP_ROOT_DIR for root, else $XDG_RUNTIME_DIR/canteen-up, else /tmp/canteen-up-UID. */
void up_dir_default(char *out, size_t outlen);
/* dir (made with mode 0700 if create and missing) is a directory, not a link, owned by us,
 * writable by nobody else, inside a parent of ours or root's that others cannot write to
 * unless it is sticky. 0 (also: missing and not create), or -1 with why. */
int up_dir_check(const char *dir, int create, char *why, size_t whylen);
/* Open path for reading if it is a regular file of ours that nobody else can write: the
 * descriptor, or -1 with why (empty when path does not exist). */
int up_open_private(const char *path, char *why, size_t whylen);
/* Directory holding this executable (bin/), from /proc/self/exe. */
int up_self_dir(char *out, size_t outlen);
/* Create or replace path with text, with this mode. 0 or -1 (errno). */
int up_write_file(const char *path, const char *text, mode_t mode);
/* fork+exec argv with stdin from /dev/null and output appended to logpath (or dropped);
 * detach: a session of its own. Returns once the exec is done: the child's pid, or -1 (with
 * errno) when it could not start. */
pid_t up_spawn(char *const argv[], const char *logpath, int detach);
/* Record pid's start time and executable now. 0, or -1 when it is gone or unreadable. */
int up_proc_read(pid_t pid, struct up_proc *out);
/* Is the recorded process still the one running under its pid? 1 yes, 0 it is gone,
 * -1 the pid now names another process or nothing was recorded to tell (why says which). */
int up_proc_check(const struct up_proc *p, char *why, size_t whylen);
/* Run argv to completion, capturing stdout into out (NUL-terminated); its exit status. */
int up_run(char *const argv[], char *out, size_t outlen);
int up_alive(pid_t pid);
/* SIGTERM (to its process group if group and pid still leads one), wait up to grace_ms, then
 * SIGKILL. 1 if killed. The caller has checked the pid with up_proc_check. */
int up_stop_pid(pid_t pid, int group, uint64_t grace_ms);
/* Can ip:port (SOCK_STREAM or SOCK_DGRAM) be bound right now? */
int up_port_free(const char *ip, unsigned port, int type);
/* GET url answers 200 within timeout_ms (body copied into body when given). */
int up_http_ok(const char *url, long timeout_ms, char *body, size_t bodylen);

/* up_docker.c, Docker through docker_api.h (sock is the Unix socket path). */
/* Docker answers /_ping at sock. */
int up_docker_ping(const char *sock);
/* Import canteen/demo:1 (busybox-static, its applets, /www/index.html) from a tar built in
 * memory. 0, or -1 with err. */
int up_docker_import_demo(const char *sock, const char *busybox, char *err, size_t errlen);
/* Remove (force) every container labelled io.canteen.node=address; how many went. */
int up_docker_remove_node(const char *sock, const char *address);

#endif
