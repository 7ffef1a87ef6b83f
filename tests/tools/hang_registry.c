/* hang_registry.c: a registry on 127.0.0.1 that answers Docker's ping and never anything else. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * usage: hang_registry PORTFILE
 * Listens on 127.0.0.1 (a port the kernel picks, written to PORTFILE) only. A TLS hello is
 * answered by closing (Docker then tries plain HTTP, as it does for a loopback registry);
 * GET /v2/ gets 200 as from a registry; any other request (the manifest) is never answered,
 * the connection held open: a pull through it hangs. Prints one line per request: "tls",
 * "ping", "held <request line>". At most MAX_CONNS connections; runs until killed.
 */

#define MAX_CONNS 64
#define REQ_MAX 4096

struct conn {
	int fd;
	int held;
	size_t len;
	char buf[REQ_MAX];
};

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	c->held = 0;
	c->len = 0;
}

/* Answer the complete requests in c's buffer (ping) or hold on the first other one. */
static void serve(struct conn *c)
{
	static const char pong[] = "HTTP/1.1 200 OK\r\n"
	                           "Docker-Distribution-API-Version: registry/2.0\r\n"
	                           "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
	if (c->len > 0 && (unsigned char)c->buf[0] == 0x16) {
		printf("tls\n");
		conn_close(c);
		return;
	}
	for (;;) {
		char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (!end)
			return;
		size_t n = (size_t)(end - c->buf) + 4;
		char *eol = memchr(c->buf, '\r', n);
		*eol = '\0';
		if (strncmp(c->buf, "GET /v2/ ", 9) != 0) {
			printf("held %.200s\n", c->buf);
			c->held = 1;
			return;
		}
		printf("ping\n");
		if (write(c->fd, pong, sizeof pong - 1) != (ssize_t)(sizeof pong - 1)) {
			conn_close(c);
			return;
		}
		memmove(c->buf, c->buf + n, c->len - n);
		c->len -= n;
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: hang_registry PORTFILE\n");
		return 2;
	}
	static struct conn conns[MAX_CONNS];
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sin;
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(ls, 16) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sin, &sl) < 0) {
		fprintf(stderr, "hang_registry: %s\n", strerror(errno));
		return 1;
	}
	FILE *pf = fopen(argv[1], "w");
	if (!pf || fprintf(pf, "%u\n", ntohs(sin.sin_port)) < 0 || fclose(pf) != 0) {
		fprintf(stderr, "hang_registry: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	for (;;) {
		struct pollfd p[MAX_CONNS + 1];
		p[MAX_CONNS] = (struct pollfd){.fd = ls, .events = POLLIN};
		for (int i = 0; i < MAX_CONNS; i++)
			p[i] = (struct pollfd){.fd = conns[i].fd, .events = conns[i].held ? POLLRDHUP : POLLIN};
		if (poll(p, MAX_CONNS + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];
			if (c->fd < 0 || !p[i].revents)
				continue;
			if (c->held) {          /* the peer went away */
				conn_close(c);
				continue;
			}
			ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
			if (n <= 0 || c->len + (size_t)n == sizeof c->buf) {
				conn_close(c);
				continue;
			}
			c->len += (size_t)n;
			serve(c);
		}
		if (p[MAX_CONNS].revents) {
			int fd = accept(ls, NULL, NULL);
			int slot = -1;
			for (int i = 0; fd >= 0 && slot < 0 && i < MAX_CONNS; i++)
				if (conns[i].fd < 0)
					slot = i;
			if (fd >= 0 && slot < 0)
				close(fd);
			else if (fd >= 0)
				conns[slot].fd = fd;
		}
	}
}
