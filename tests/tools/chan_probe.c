/* chan_probe.c: a channel client for tests: handshakes, log requests, and the attacks the server must survive. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chan.h"
#include "loop.h"
#include "parse.h"

/*
 * chan_probe MODE --endpoint IP:PORT [--self ADDR --peer ADDR --peer-key HEX --key FILE]
 *                 [--service S --replica N --tail N --follow-ms MS] [--image REF]
 * With --image, the request (logs and refused modes) is {"op":"image","image":REF}: logs then
 * prints the image's export (a tar archive).
 * Modes (exit 0 when the outcome is the one named, 1 otherwise, with a line on stderr):
 *   logs      handshake, ask for logs, print the output until the end (or --follow-ms)
 *   hello     handshake only: "open" on stdout
 *   refused   handshake as given; the server must close without opening (prints why)
 *   forge     claim --self without its key: a made-up confirm and a request; the server
 *             must close without a byte of output
 *   replay    a whole session recorded, then its hello, confirm and request replayed on a
 *             new connection: the server must close without a byte of output
 *   garbage   random bytes instead of a hello: the server must close
 *   oversize  handshake, then a frame announcing 2 GiB: the server must close
 *   bigreq    handshake, then a request over CHAN_REQ_MAX: the server must close
 *   stall     connect, send half a hello and wait: the server must close (prints after how many ms)
 *   hold      handshake, print "open", keep the link --follow-ms, then exit 0
 *   streams   handshake, open --count follow streams: prints "refused N: ..." for each the
 *             server ends with an error, "data N" for each that sent output; exit 0
 *   flood     open --count TCP connections sending nothing; after a second, print how many
 *             the server closed ("closed N")
 */

static struct {
	const char *endpoint, *self, *peer, *peer_key, *key, *service, *image;
	long replica, tail, follow_ms, count;
} o = {.replica = 0, .tail = -1, .follow_ms = 0, .count = 1};

static int die(const char *why)
{
	fprintf(stderr, "chan_probe: %s\n", why);
	return 1;
}

static int dial(void)
{
	char host[256], port[8], err[256];
	uint16_t p;
	if (parse_hostport(o.endpoint, host, sizeof host, &p, err, sizeof err) < 0)
		return -1;
	snprintf(port, sizeof port, "%u", p);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *res;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	int fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Read exactly n bytes within ms; n read, 0 on EOF first, -1 on time-out or error. */
static int read_n(int fd, uint8_t *buf, size_t n, int ms)
{
	size_t got = 0;
	uint64_t end = mono_ms() + (uint64_t)ms;
	while (got < n) {
		uint64_t now = mono_ms();
		struct pollfd pfd = {fd, POLLIN, 0};
		if (now >= end || poll(&pfd, 1, (int)(end - now)) <= 0)
			return -1;
		ssize_t r = read(fd, buf + got, n - got);
		if (r == 0)
			return 0;
		if (r < 0)
			return errno == ECONNRESET ? 0 : -1;
		got += (size_t)r;
	}
	return (int)got;
}

static int write_all(int fd, const void *p, size_t n)
{
	return write(fd, p, n) == (ssize_t)n ? 0 : -1;
}

/* Does the server close fd within ms, sending nothing more (rest of any frame ignored)? */
static int closes(int fd, int ms, size_t *extra)
{
	uint8_t b[4096];
	*extra = 0;
	uint64_t end = mono_ms() + (uint64_t)ms;
	for (;;) {
		uint64_t now = mono_ms();
		struct pollfd pfd = {fd, POLLIN, 0};
		if (now >= end || poll(&pfd, 1, (int)(end - now)) <= 0)
			return 0;
		ssize_t r = read(fd, b, sizeof b);
		if (r <= 0)
			return 1;
		*extra += (size_t)r;
	}
}

struct ids {
	uint8_t self[SWIM_ADDR_LEN], peer[SWIM_ADDR_LEN], peer_pk[SWIM_KEY_LEN];
	struct swim_keys keys;
};

static int ids_load(struct ids *id)
{
	char err[256];
	if (!o.self || !o.peer || !o.peer_key || !o.key || swim_addr_parse(o.self, id->self) < 0 ||
	    swim_addr_parse(o.peer, id->peer) < 0 || swim_hex_parse(o.peer_key, id->peer_pk, 32) < 0)
		return -1;
	if (swim_keys_load(o.key, &id->keys, err, sizeof err) < 0) {
		fprintf(stderr, "chan_probe: %s\n", err);
		return -1;
	}
	return 0;
}

/* A handshake on fd; hello and confirm copied out when asked. 0 open, -1 refused (why out). */
static int handshake(int fd, struct chan_sess *s, struct ids *id, uint8_t *hello_out,
                     uint8_t *confirm_out, char *why, size_t whylen)
{
	uint8_t hello[CHAN_HELLO_LEN], reply[CHAN_REPLY_LEN], confirm[CHAN_CONFIRM_LEN];
	chan_hello(s, id->self, id->peer, hello);
	if (hello_out)
		memcpy(hello_out, hello, sizeof hello);
	if (write_all(fd, hello, sizeof hello) < 0) {
		snprintf(why, whylen, "write failed");
		return -1;
	}
	int r = read_n(fd, reply, sizeof reply, 10000);
	if (r <= 0) {
		snprintf(why, whylen, r == 0 ? "closed after the hello" : "no reply in time");
		return -1;
	}
	if (chan_finish(s, &id->keys, id->peer_pk, reply, confirm, why, whylen) < 0)
		return -1;
	if (confirm_out)
		memcpy(confirm_out, confirm, sizeof confirm);
	return write_all(fd, confirm, sizeof confirm);
}

static int send_req_on(int fd, struct chan_sess *s, uint32_t id, uint8_t *wire_out,
                       size_t *wlen_out)
{
	char req[512];
	static uint8_t wire[CHAN_WIRE_MAX];
	int n = o.image
	            ? snprintf(req, sizeof req, "{\"op\":\"image\",\"image\":\"%s\"}", o.image)
	            : snprintf(req, sizeof req,
	                       "{\"op\":\"logs\",\"service\":\"%s\",\"replica\":%ld,\"follow\":%s,\"tail\":%ld}",
	                       o.service ? o.service : "web", o.replica, o.follow_ms ? "true" : "false",
	                       o.tail);
	if (n < 0 || (size_t)n >= sizeof req)
		return -1;
	size_t w = chan_seal(s, CHAN_REQ, id, (const uint8_t *)req, (size_t)n, wire);
	if (wire_out) {
		memcpy(wire_out, wire, w);
		*wlen_out = w;
	}
	return write_all(fd, wire, w);
}

static int send_req(int fd, struct chan_sess *s, uint8_t *wire_out, size_t *wlen_out)
{
	return send_req_on(fd, s, 1, wire_out, wlen_out);
}

/* --count follow streams on one link: which got output, which were refused. */
static int streams(int fd, struct chan_sess *s)
{
	static uint8_t wire[CHAN_WIRE_MAX], pl[CHAN_FRAME_MAX + 1];
	static int seen[1024];
	char err[256];
	long n = o.count < 1000 ? o.count : 1000, answered = 0;
	o.follow_ms = 1;
	for (long i = 1; i <= n; i++)
		if (send_req_on(fd, s, (uint32_t)i, NULL, NULL) < 0)
			return die("write failed");
	while (answered < n) {
		uint8_t type;
		uint32_t id;
		size_t plen, len;
		if (read_n(fd, wire, 4, 15000) <= 0 || !(len = chan_frame_len(wire)) ||
		    read_n(fd, wire + 4, len - 4, 15000) <= 0 ||
		    chan_open(s, wire, len, &type, &id, pl, &plen, err, sizeof err) < 0)
			return die("no answer for every stream");
		if (id < 1 || id > (uint32_t)n || seen[id])
			continue;
		seen[id] = 1;
		answered++;
		pl[plen] = '\0';
		if (type == CHAN_END)
			printf("refused %u: %s\n", id, (char *)pl);
		else
			printf("data %u\n", id);
	}
	return 0;
}

static int flood(void)
{
	static int fds[1024];
	long n = o.count < 1000 ? o.count : 1000, closed = 0;
	for (long i = 0; i < n; i++)
		if ((fds[i] = dial()) < 0)
			return die("cannot connect");
	uint64_t end = mono_ms() + 1000;
	while (mono_ms() < end)
		poll(NULL, 0, 50);
	for (long i = 0; i < n; i++) {
		uint8_t b;
		struct pollfd pfd = {fds[i], POLLIN, 0};
		if (poll(&pfd, 1, 0) == 1 && read(fds[i], &b, 1) <= 0)
			closed++;
	}
	printf("closed %ld\n", closed);
	return 0;
}

/* Print DATA until END (0 if END has no error) or until follow_ms passed (0). */
static int read_logs(int fd, struct chan_sess *s)
{
	static uint8_t wire[CHAN_WIRE_MAX], pl[CHAN_FRAME_MAX + 1];
	char err[256];
	uint64_t end = o.follow_ms ? mono_ms() + (uint64_t)o.follow_ms : 0;
	for (;;) {
		int ms = end ? (int)(end > mono_ms() ? end - mono_ms() : 0) : 15000;
		int r = read_n(fd, wire, 4, ms);
		if (r < 0 && end)
			return 0;
		if (r <= 0)
			return die(r == 0 ? "closed by the server" : "no frame in time");
		size_t n = chan_frame_len(wire);
		uint8_t type;
		uint32_t stream;
		size_t plen;
		if (!n || read_n(fd, wire + 4, n - 4, 15000) <= 0 ||
		    chan_open(s, wire, n, &type, &stream, pl, &plen, err, sizeof err) < 0)
			return die("a bad frame from the server");
		if (type == CHAN_DATA) {
			fwrite(pl, 1, plen, stdout);
			fflush(stdout);
		} else if (type == CHAN_END) {
			pl[plen] = '\0';
			if (strstr((char *)pl, "\"error\"")) {
				fprintf(stderr, "chan_probe: end: %s\n", (char *)pl);
				return 1;
			}
			return 0;
		}
	}
}

static int attack_after_open(int fd, struct chan_sess *s, const char *mode)
{
	size_t extra;
	if (strcmp(mode, "oversize") == 0) {
		const uint8_t big[4] = {0x7f, 0xff, 0xff, 0xff};
		write_all(fd, big, 4);
	} else {
		static uint8_t wire[CHAN_WIRE_MAX], req[CHAN_REQ_MAX + 100];
		memset(req, ' ', sizeof req);
		req[0] = '{';
		req[sizeof req - 1] = '}';
		size_t w = chan_seal(s, CHAN_REQ, 1, req, sizeof req, wire);
		write_all(fd, wire, w);
	}
	if (!closes(fd, 10000, &extra))
		return die("the server kept the link open");
	printf("closed\n");
	return 0;
}

static int run(const char *mode)
{
	struct ids id;
	char why[256];
	size_t extra;
	if (strcmp(mode, "flood") == 0)
		return flood();
	int fd = dial();
	if (fd < 0)
		return die("cannot connect");
	if (strcmp(mode, "garbage") == 0) {
		uint8_t junk[CHAN_HELLO_LEN + 64];
		randombytes_buf(junk, sizeof junk);
		write_all(fd, junk, sizeof junk);
		if (!closes(fd, 10000, &extra))
			return die("the server kept the link open");
		printf("closed\n");
		return 0;
	}
	if (strcmp(mode, "stall") == 0) {
		uint64_t t0 = mono_ms();
		write_all(fd, "cc\001", 3);
		if (!closes(fd, 30000, &extra))
			return die("the server kept a stalled link open");
		printf("closed after %llu ms\n", (unsigned long long)(mono_ms() - t0));
		return 0;
	}
	if (ids_load(&id) < 0)
		return die("--self, --peer, --peer-key and --key are needed, and must be valid");
	struct chan_sess *s = chan_new();
	if (strcmp(mode, "forge") == 0) {
		uint8_t hello[CHAN_HELLO_LEN], reply[CHAN_REPLY_LEN], confirm[CHAN_CONFIRM_LEN];
		chan_hello(s, id.self, id.peer, hello);
		write_all(fd, hello, sizeof hello);
		if (read_n(fd, reply, sizeof reply, 10000) <= 0) {
			printf("closed after the hello\n");
			return 0;
		}
		if (chan_finish(s, &id.keys, id.peer_pk, reply, confirm, why, sizeof why) == 0)
			return die("the handshake checked out with a key that is not the registered one");
		randombytes_buf(confirm, sizeof confirm);
		uint8_t junkreq[200];
		randombytes_buf(junkreq, sizeof junkreq);
		write_all(fd, confirm, sizeof confirm);
		write_all(fd, junkreq, sizeof junkreq);
		if (!closes(fd, 10000, &extra) || extra)
			return die("the server did not close, or sent something");
		printf("closed (%s)\n", why);
		return 0;
	}
	if (strcmp(mode, "replay") == 0) {
		uint8_t hello[CHAN_HELLO_LEN], confirm[CHAN_CONFIRM_LEN], reply[CHAN_REPLY_LEN];
		static uint8_t req[CHAN_WIRE_MAX];
		size_t rlen;
		if (handshake(fd, s, &id, hello, confirm, why, sizeof why) < 0 ||
		    send_req(fd, s, req, &rlen) < 0)
			return die(why);
		close(fd);
		if ((fd = dial()) < 0)
			return die("cannot connect again");
		write_all(fd, hello, sizeof hello);
		if (read_n(fd, reply, sizeof reply, 10000) <= 0)
			return die("no reply to the replayed hello");
		write_all(fd, confirm, sizeof confirm);
		write_all(fd, req, rlen);
		if (!closes(fd, 10000, &extra) || extra)
			return die("the replayed session was not refused");
		printf("closed\n");
		return 0;
	}
	int hs = handshake(fd, s, &id, NULL, NULL, why, sizeof why);
	if (strcmp(mode, "refused") == 0) {
		if (hs == 0) {
			/* The server may still refuse the confirm: it must close without a frame. */
			if (send_req(fd, s, NULL, NULL) < 0 || (closes(fd, 10000, &extra) && extra == 0)) {
				printf("refused after the confirm\n");
				return 0;
			}
			return die("the channel opened");
		}
		printf("refused: %s\n", why);
		return 0;
	}
	if (hs < 0)
		return die(why);
	if (strcmp(mode, "hello") == 0 || strcmp(mode, "hold") == 0) {
		printf("open\n");
		fflush(stdout);
		if (strcmp(mode, "hold") == 0 && !closes(fd, (int)o.follow_ms, &extra))
			return 0;
		return strcmp(mode, "hold") == 0 ? die("closed by the server") : 0;
	}
	if (strcmp(mode, "streams") == 0)
		return streams(fd, s);
	if (strcmp(mode, "oversize") == 0 || strcmp(mode, "bigreq") == 0)
		return attack_after_open(fd, s, mode);
	if (strcmp(mode, "logs") == 0) {
		if (send_req(fd, s, NULL, NULL) < 0)
			return die("write failed");
		return read_logs(fd, s);
	}
	return die("unknown mode");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"endpoint", required_argument, NULL, 'e'}, {"self", required_argument, NULL, 's'},
	    {"peer", required_argument, NULL, 'p'},     {"peer-key", required_argument, NULL, 'P'},
	    {"key", required_argument, NULL, 'k'},      {"service", required_argument, NULL, 'S'},
	    {"replica", required_argument, NULL, 'r'},  {"tail", required_argument, NULL, 't'},
	    {"follow-ms", required_argument, NULL, 'f'}, {"count", required_argument, NULL, 'n'},
	    {"image", required_argument, NULL, 'i'},
	    {NULL, 0, NULL, 0}};
	int ch;
	if (sodium_init() < 0)
		return 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'e': o.endpoint = optarg; break;
		case 's': o.self = optarg; break;
		case 'p': o.peer = optarg; break;
		case 'P': o.peer_key = optarg; break;
		case 'k': o.key = optarg; break;
		case 'S': o.service = optarg; break;
		case 'r': o.replica = strtol(optarg, NULL, 10); break;
		case 't': o.tail = strtol(optarg, NULL, 10); break;
		case 'f': o.follow_ms = strtol(optarg, NULL, 10); break;
		case 'n': o.count = strtol(optarg, NULL, 10); break;
		case 'i': o.image = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || !o.endpoint)
		return die("usage: chan_probe MODE --endpoint IP:PORT [...] (see the source)");
	return run(argv[optind]);
}
