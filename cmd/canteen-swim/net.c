/* net.c: canteen-swim's UDP socket: seal and send, receive, check, open and hand to the state machine. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"
#include "swimd.h"

int net_resolve(const char *endpoint, struct sockaddr_storage *sa, socklen_t *salen,
                char *err, size_t errlen)
{
	char host[256], port[8];
	uint16_t p;
	if (parse_hostport(endpoint, host, sizeof host, &p, err, errlen) < 0)
		return -1;
	snprintf(port, sizeof port, "%u", p);
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, errlen, "'%s' is not an IP address and port", endpoint);
		return -1;
	}
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static uint64_t wall_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

void net_send(void *arg, const uint8_t to[SWIM_ADDR_LEN], const uint8_t *body, size_t len)
{
	struct swimd *d = arg;
	uint8_t pkt[SWIM_PKT_MAX];
	struct swim_member *m = d->swim ? swim_find(d->swim, to) : NULL;
	struct peer *p = m ? m->user : NULL;
	if (!p || !p->reachable || p->sa.ss_family != d->family)
		return;
	d->seq = swim_seq_next(d->seq, wall_us());
	size_t n = swim_seal(&p->key, d->self, to, d->seq, body, len, pkt);
	if (n == 0)
		return;
	ssize_t w = sendto(d->fd, pkt, n, 0, (struct sockaddr *)&p->sa, p->salen);
	if (w < 0) {
		d->st.send_errors++;
		return;
	}
	d->st.packets_out++;
	d->st.bytes_out += (uint64_t)w;
}

static void drop(struct swimd *d, enum swim_drop why, const uint8_t *from)
{
	d->st.drops[why]++;
	if (log_get_level() >= LOG_LEVEL_DEBUG) {
		char hex[43] = "?";
		if (from)
			swim_addr_hex(from, hex);
		log_debug("dropped a packet (%s) claiming to be from %s", swim_drop_name(why), hex);
	}
}

static void receive_one(struct swimd *d, const uint8_t *pkt, size_t n)
{
	uint8_t from[SWIM_ADDR_LEN], body[SWIM_PKT_MAX];
	size_t blen = 0;
	uint64_t seq;
	enum swim_drop why = swim_packet_sender(pkt, n, from);
	if (why != SWIM_DROP_NONE) {
		drop(d, why, NULL);
		return;
	}
	if (memcmp(from, d->self, SWIM_ADDR_LEN) == 0 && d->have_self) {
		drop(d, SWIM_DROP_SELF, from);
		return;
	}
	struct swim_member *m = d->swim ? swim_find(d->swim, from) : NULL;
	struct peer *p = m ? m->user : NULL;
	if (!p) {
		drop(d, SWIM_DROP_UNKNOWN_SENDER, from);
		return;
	}
	why = swim_open(&p->key, d->self, pkt, n, wall_us(), body, &blen, &seq);
	if (why != SWIM_DROP_NONE) {
		drop(d, why, from);
		return;
	}
	static struct swim_body decoded; /* large; the loop is single-threaded */
	char err[128];
	if (swim_wire_decode(body, blen, &decoded, err, sizeof err) < 0) {
		char hex[43];
		swim_addr_hex(from, hex);
		log_debug("undecodable body from %s: %s", hex, err);
		drop(d, SWIM_DROP_DECODE, from);
		return;
	}
	swim_handle(d->swim, from, &decoded, loop_now(d->loop));
}

static void on_readable(struct loop *l, int fd, short revents, void *arg)
{
	struct swimd *d = arg;
	(void)l;
	(void)revents;
	uint8_t buf[SWIM_PKT_MAX + 1];
	for (int i = 0; i < 256; i++) {
		ssize_t n = recv(fd, buf, sizeof buf, MSG_TRUNC);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("udp receive");
			break;
		}
		d->st.packets_in++;
		d->st.bytes_in += (uint64_t)n;
		if ((size_t)n > SWIM_PKT_MAX) {
			drop(d, SWIM_DROP_OVERSIZED, NULL);
			continue;
		}
		receive_one(d, buf, (size_t)n);
	}
	swimd_reschedule(d);
}

static void on_timer(struct loop *l, void *arg)
{
	struct swimd *d = arg;
	d->timer = 0;
	if (d->swim)
		swim_tick(d->swim, loop_now(l));
	swimd_reschedule(d);
}

void swimd_reschedule(struct swimd *d)
{
	if (!d->swim)
		return;
	uint64_t at = swim_next_deadline(d->swim), now = loop_now(d->loop);
	if (d->timer && at == d->timer_at)
		return;
	if (d->timer)
		loop_timer_cancel(d->loop, d->timer);
	d->timer_at = at;
	d->timer = loop_timer_add(d->loop, at > now ? at - now : 0, on_timer, d);
}

int net_open(struct swimd *d, char *err, size_t errlen)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	if (net_resolve(d->cf.swim_bind, &sa, &salen, err, errlen) < 0)
		return -1;
	d->family = sa.ss_family;
	d->fd = socket(sa.ss_family, SOCK_DGRAM, 0);
	if (d->fd < 0 || fd_nonblock(d->fd) < 0) {
		snprintf(err, errlen, "cannot make a UDP socket: %s", strerror(errno));
		return -1;
	}
	int rcvbuf = 1 << 20;
	setsockopt(d->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (bind(d->fd, (struct sockaddr *)&sa, salen) < 0) {
		snprintf(err, errlen, "cannot bind %s: %s", d->cf.swim_bind, strerror(errno));
		return -1;
	}
	if (loop_add_fd(d->loop, d->fd, POLLIN, on_readable, d) < 0) {
		snprintf(err, errlen, "cannot watch the UDP socket");
		return -1;
	}
	/* Sequence numbers are the wall clock at sending (swim_seq_next), so a restarted
	 * daemon continues above what its peers have seen from it, and a packet recorded
	 * before a peer restarted is refused there as stale (swim_crypto.h). */
	d->seq = 0;
	return 0;
}
