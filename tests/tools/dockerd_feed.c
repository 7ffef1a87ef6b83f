/* dockerd_feed.c: stands in for canteen-sched in tests: one open connection, lines from a FIFO. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * usage: dockerd_feed SOCK FIFO
 * Connects to SOCK and keeps the connection open (as canteen-sched does, so
 * canteen-dockerd may remove what is no longer desired). Every line written to FIFO is
 * sent as is; every line SOCK answers is printed on stdout. Exits when SOCK closes.
 */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: dockerd_feed SOCK FIFO\n");
		return 2;
	}
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(argv[1]) >= sizeof sun.sun_path) {
		fprintf(stderr, "dockerd_feed: socket path too long\n");
		return 2;
	}
	memcpy(sun.sun_path, argv[1], strlen(argv[1]) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sun, sizeof sun) < 0) {
		fprintf(stderr, "dockerd_feed: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int f = open(argv[2], O_RDWR); /* O_RDWR: never EOF when writers come and go */
	if (f < 0) {
		fprintf(stderr, "dockerd_feed: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	char buf[65536];
	for (;;) {
		struct pollfd p[2] = {{.fd = s, .events = POLLIN}, {.fd = f, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (p[0].revents) {
			ssize_t n = read(s, buf, sizeof buf);
			if (n <= 0)
				return 0;
			if (write_all(1, buf, (size_t)n) < 0)
				return 1;
		}
		if (p[1].revents) {
			ssize_t n = read(f, buf, sizeof buf);
			if (n <= 0)
				return 1;
			if (write_all(s, buf, (size_t)n) < 0)
				return 1;
		}
	}
}
