/* test_docker_logs.c: undoing Docker's log frames: split anywhere, both streams, bad headers. */
#include <string.h>

#include "docker_logs.h"
#include "tap.h"

struct sink {
	char text[256];
	size_t len;
	int streams;  /* bit per stream seen */
};

static void collect(const char *data, size_t len, int stream, void *arg)
{
	struct sink *s = arg;
	if (s->len + len < sizeof s->text) {
		memcpy(s->text + s->len, data, len);
		s->len += len;
		s->text[s->len] = '\0';
	}
	s->streams |= 1 << stream;
}

static size_t frame(char *out, int stream, const char *text)
{
	size_t n = strlen(text);
	const char h[8] = {(char)stream, 0, 0, 0, (char)(n >> 24), (char)(n >> 16), (char)(n >> 8), (char)n};
	memcpy(out, h, 8);
	memcpy(out + 8, text, n);
	return 8 + n;
}

int main(void)
{
	char buf[256], err[128];
	size_t n = frame(buf, 1, "hello\n");
	n += frame(buf + n, 2, "oops\n");
	n += frame(buf + n, 1, "");
	n += frame(buf + n, 1, "bye\n");
	for (size_t step = 1; step <= n; step++) {
		struct docker_demux m = {0};
		struct sink s = {0};
		int rc = 0;
		for (size_t off = 0; off < n && rc == 0; off += step)
			rc = docker_demux_feed(&m, buf + off, off + step <= n ? step : n - off, collect, &s, err,
			                       sizeof err);
		if (rc != 0 || strcmp(s.text, "hello\noops\nbye\n") != 0 || s.streams != 6) {
			ok(0, "pieces of %zu bytes: got '%s'", step, s.text);
			return done_testing();
		}
	}
	ok(1, "the same output whatever the pieces, stdout and stderr");
	struct docker_demux m = {0};
	struct sink s = {0};
	ok(docker_demux_feed(&m, "hello world\n", 12, collect, &s, err, sizeof err) < 0,
	   "raw text is not a log stream (%s)", err);
	memset(&m, 0, sizeof m);
	const char bad[8] = {1, 0, 1, 0, 0, 0, 0, 1};
	ok(docker_demux_feed(&m, bad, 8, collect, &s, err, sizeof err) < 0, "non-zero padding refused");
	memset(&m, 0, sizeof m);
	const char big[8] = {1, 0, 0, 0, (char)0xff, (char)0xff, (char)0xff, (char)0xff};
	ok(docker_demux_feed(&m, big, 8, collect, &s, err, sizeof err) == 0 && m.left == 0xffffffffu,
	   "a 4 GiB frame is just counted down, never buffered");
	return done_testing();
}
