/* fuzz_init_control.c: canteen-init's control socket (init.sock) end to end in one process: the input
 * is written by a client to a real listening socket; framing, parsing and the status answer run. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../cmd/canteen-init/control.c"
#include "../../cmd/canteen-init/super.c"
#include "../../cmd/canteen-init/reload.c"
#include "../../cmd/canteen-init/output.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CTL_MAX 65536 /* bytes of input written (fits a socket buffer) */

static struct sup sup;
static char path[128];
static size_t answered;

static void on_client(struct loop *l, int fd, short revents, void *arg)
{
	(void)revents;
	(void)arg;
	char buf[65536];
	ssize_t r = read(fd, buf, sizeof buf);
	if (r > 0) {
		answered += (size_t)r;
		return;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	loop_stop(l); /* the server closed the connection */
}

static void on_deadline(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	if (!sup.loop) {
		static char dir[] = "/tmp/canteen-fuzz-init-XXXXXX";
		if (!mkdtemp(dir))
			abort();
		sup.loop = loop_new();
		sup.boot_ms = mono_ms();
		sup.devnull = -1;
		snprintf(path, sizeof path, "%s/" SOCK_INIT, dir);
		if (!sup.loop || control_listen(&sup, dir, err, sizeof err) < 0) {
			fprintf(stderr, "fuzz_init_control: %s\n", err);
			abort();
		}
	}
	if (size > FUZZ_CTL_MAX)
		size = FUZZ_CTL_MAX;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		abort();
	size_t off = 0;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			break; /* the server may close first (a bad line) */
		off += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	fd_nonblock(fd);
	loop_add_fd(sup.loop, fd, POLLIN, on_client, NULL);
	uint64_t t = loop_timer_add(sup.loop, 2000, on_deadline, NULL);
	loop_run(sup.loop);
	loop_timer_cancel(sup.loop, t);
	loop_del_fd(sup.loop, fd);
	close(fd);
	/* The server dropped the connection (EOF after the client's), or the deadline passed. */
	if (ipc_server_nconns(sup.srv) > 1)
		abort();
	return 0;
}
