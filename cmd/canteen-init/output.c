/* output.c: a child's stdout/stderr pipe logged line by line as "name: line", bounded. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

#define READ_CHUNK 4096
#define READ_BUDGET (64 * 1024)    /* per readiness callback, so one child cannot starve others */
#define DRAIN_BUDGET (256 * 1024)  /* read after the child exited, before closing the pipe */

/* One write per line so lines from different children never interleave. */
static void emit(const struct child *c, const char *p, size_t n)
{
	char buf[INIT_CONF_NAME_MAX + 2 + OUT_LINE_MAX + 1];
	size_t name = strlen(c->prog.name), len = 0;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	memcpy(buf, c->prog.name, name);
	len = name;
	buf[len++] = ':';
	buf[len++] = ' ';
	memcpy(buf + len, p, n);
	len += n;
	buf[len++] = '\n';
	for (size_t off = 0; off < len;) {
		ssize_t w = write(STDERR_FILENO, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere to log: drop the line, keep supervising */
		off += (size_t)w;
	}
}

/* Split data into lines; a line longer than OUT_LINE_MAX is logged in pieces. */
static void feed(struct child *c, const char *data, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t seg = nl ? (size_t)(nl - data) : n;
		size_t room = OUT_LINE_MAX - c->linelen;
		if (seg > room) {
			memcpy(c->line + c->linelen, data, room);
			emit(c, c->line, OUT_LINE_MAX);
			c->linelen = 0;
			data += room;
			n -= room;
			continue;
		}
		memcpy(c->line + c->linelen, data, seg);
		c->linelen += seg;
		data += seg;
		n -= seg;
		if (!nl)
			return;
		emit(c, c->line, c->linelen);
		c->linelen = 0;
		data++;
		n--;
	}
}

/* Read up to budget bytes; 1 if the pipe is still open, 0 at end of file or error. */
static int read_some(struct child *c, size_t budget)
{
	char buf[READ_CHUNK];
	size_t total = 0;
	while (total < budget) {
		ssize_t r = read(c->outfd, buf, sizeof buf);
		if (r > 0) {
			feed(c, buf, (size_t)r);
			total += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
	return 1;
}

static void close_out(struct child *c)
{
	if (c->linelen) {
		emit(c, c->line, c->linelen);
		c->linelen = 0;
	}
	loop_del_fd(c->sup->loop, c->outfd);
	close(c->outfd);
	c->outfd = -1;
}

void out_on_readable(struct loop *l, int fd, short revents, void *arg)
{
	(void)l;
	(void)fd;
	(void)revents;
	struct child *c = arg;
	if (c->outfd >= 0 && !read_some(c, READ_BUDGET))
		close_out(c);
}

void out_drain_and_close(struct child *c)
{
	if (c->outfd < 0)
		return;
	read_some(c, DRAIN_BUDGET);
	close_out(c);
}
