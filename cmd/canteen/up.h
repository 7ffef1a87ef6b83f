/* up.h: canteen up/down, the demo harness: up.c (the steps), up_sys.c, up_docker.c. */
/* Only cmd_up and cmd_down use these; the CLI's other commands never include this header. */
#ifndef CANTEEN_UP_H
#define CANTEEN_UP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UP_DEFAULT_DIR "/tmp/canteen-up"
#define UP_DEMO_IMAGE "canteen/demo:1"

/* up_sys.c. Directory holding this executable (bin/), from /proc/self/exe. */
int up_self_dir(char *out, size_t outlen);
/* Create or replace path with text, with this mode. 0 or -1 (errno). */
int up_write_file(const char *path, const char *text, mode_t mode);
/* fork+exec argv with stdin from /dev/null and output appended to logpath (or dropped);
 * detach: a session of its own. The child's pid, or -1. */
pid_t up_spawn(char *const argv[], const char *logpath, int detach);
/* Run argv to completion, capturing stdout into out (NUL-terminated); its exit status. */
int up_run(char *const argv[], char *out, size_t outlen);
int up_alive(pid_t pid);
/* SIGTERM (to the group if group), wait up to grace_ms, then SIGKILL. 1 if killed. */
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
