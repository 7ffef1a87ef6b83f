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
/* The same, the child first joining the cgroup whose cgroup.procs file is given and entering
 * the network namespace of file netns (either may be NULL). */
pid_t up_spawn_in(char *const argv[], const char *logpath, int detach, const char *netns,
                  const char *cgroup_procs);
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

/* up_iso.c: --isolated, each node a host of its own. Node 0 stands for the lab (the bridge
 * and the chain), nodes 1..n for the servers; everything is named after the slot. */
#define UP_ISO_SLOTS 16     /* isolated clusters on one machine at most */
#define UP_ISO_MAX_NODES 14 /* nodes of one isolated cluster at most */
#define UP_ISO_ARGV_MAX 24  /* words of a node's dockerd command line at most */
void up_iso_netns(unsigned slot, unsigned node, char *out, size_t outlen);
void up_iso_ip(unsigned slot, unsigned node, char *out, size_t outlen);
void up_iso_rundir(unsigned slot, unsigned node, char *out, size_t outlen);
void up_iso_docker_sock(unsigned slot, unsigned node, char *out, size_t outlen);
/* Claim a free slot by creating its lab namespace. 0 or -1 with err. */
int up_iso_claim(unsigned *slot, char *err, size_t errlen);
/* The lab's bridge, and for each node a namespace with its veth on the bridge and address. */
int up_iso_wire(unsigned slot, unsigned nodes, char *err, size_t errlen);
/* This process into the namespace of node (0: the lab). */
int up_iso_enter(unsigned slot, unsigned node, char *err, size_t errlen);
/* The node's cgroup (made if missing): its host/cgroup.procs path into out. */
int up_iso_cgroup_procs(unsigned slot, unsigned node, char *out, size_t outlen);
/* The node's dockerd command line into argv (words in buf, max slots in argv). 0 or -1. */
int up_iso_dockerd_argv(unsigned slot, unsigned node, const char *dir, char buf[][256],
                        char *argv[], size_t max);
/* What that command line needs: its empty daemon.json, its run directory. 0 or -1 (errno). */
int up_iso_dockerd_prepare(unsigned slot, unsigned node, const char *dir);
/* SIGKILL everything in the node's cgroup (init, daemons, dockerd, containerd, containers),
 * as a server's death would; 0 once it is empty. */
int up_iso_kill_node(unsigned slot, unsigned node);
/* Kill the node, then remove its mounts, directories, cgroups and namespace. */
void up_iso_remove_node(unsigned slot, unsigned node, const char *dir);
/* The lab namespace (bridge, veths) and the slot's run directory. */
void up_iso_remove_lab(unsigned slot);

#endif
