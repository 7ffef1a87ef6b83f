/* link.c: canteen-dockerd's channel: TCP links to and from admitted servers, handshake, frames, limits. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "errf.h"
#include "census.h"
#include "imgx.h"
#include "link.h"
#include "log.h"
#include "parse.h"
#include "priv.h"

enum link_state { L_CONNECTING, L_HELLO, L_REPLY, L_CONFIRM, L_OPEN, L_DEAD };

struct link {
	struct dd *dd;
	int fd;
	int server;                 /* we accepted it */
	enum link_state state;
	uint8_t peer[SWIM_ADDR_LEN];
	int peer_known;             /* server side: after a hello from an admitted address */
	struct chan_sess *sess;
	uint8_t *rbuf;              /* CHAN_WIRE_MAX */
	size_t rlen;
	uint8_t *wbuf;
	size_t wlen, woff, wcap;
	int above_high;             /* the queue passed LINK_OUTQ_HIGH: streams were told to wait */
	int rpaused;                /* not reading: what it brings has nowhere to go yet */
	uint64_t timer;             /* handshake deadline, then idle time-out */
	uint64_t ka_timer;          /* open: heartbeats out, silence in */
	uint64_t last_rx, last_tx;  /* loop time of the last bytes read, of the last frame queued */
	unsigned nstreams;
	uint32_t next_stream;
	struct link *next;
};

static void link_io(struct loop *l, int fd, short revents, void *arg);

static short events(const struct link *k)
{
	return (short)((k->rpaused ? 0 : POLLIN) | (k->wlen > k->woff ? POLLOUT : 0));
}

static void addr_hex(const uint8_t a[SWIM_ADDR_LEN], char out[43]) { swim_addr_hex(a, out); }

static int resolve(const char *endpoint, struct sockaddr_storage *sa, socklen_t *salen, char *err,
                   size_t errlen)
{
	char host[256], port[8];
	uint16_t p;
	if (parse_hostport(endpoint, host, sizeof host, &p, err, errlen) < 0)
		return -1;
	snprintf(port, sizeof port, "%u", p);
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res) {
		snprintf(err, errlen, "'%s' is not an IP address and port", endpoint);
		return -1;
	}
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* ---- life of a link ---- */

static void on_timeout(struct loop *l, void *arg)
{
	(void)l;
	struct link *k = arg;
	k->timer = 0;
	link_close(k, k->state == L_OPEN ? "idle" : "handshake not finished in time");
}

static void arm(struct link *k, uint64_t ms)
{
	if (k->timer)
		loop_timer_cancel(k->dd->loop, k->timer);
	k->timer = ms ? loop_timer_add(k->dd->loop, ms, on_timeout, k) : 0;
}

static struct link *link_new(struct dd *dd, int fd, int server)
{
	struct link *k = calloc(1, sizeof *k);
	if (!k || !(k->rbuf = malloc(CHAN_WIRE_MAX)) || !(k->sess = chan_new())) {
		if (k)
			free(k->rbuf);
		free(k);
		return NULL;
	}
	k->dd = dd;
	k->fd = fd;
	k->server = server;
	k->state = server ? L_HELLO : L_CONNECTING;
	k->next_stream = 1;
	if (loop_add_fd(dd->loop, fd, server ? POLLIN : POLLOUT, link_io, k) < 0) {
		chan_free(k->sess);
		free(k->rbuf);
		free(k);
		return NULL;
	}
	k->next = dd->links;
	dd->links = k;
	if (server)
		dd->nlinks_in++;
	arm(k, LINK_HANDSHAKE_MS);
	return k;
}

void link_close(struct link *k, const char *why)
{
	if (k->state == L_DEAD)
		return;
	char hex[43] = "?";
	if (!k->server || k->peer_known)
		addr_hex(k->peer, hex);
	if (k->state == L_OPEN)
		log_info("channel %s %s closed: %s", k->server ? "from" : "to", hex, why);
	else
		log_warnx("channel %s %s refused or failed: %s", k->server ? "from" : "to", hex, why);
	k->state = L_DEAD;
	arm(k, 0);
	if (k->ka_timer)
		loop_timer_cancel(k->dd->loop, k->ka_timer);
	k->ka_timer = 0;
	loop_del_fd(k->dd->loop, k->fd);
	close(k->fd);
	k->fd = -1;
	if (k->server)
		k->dd->nlinks_in--;
	logs_on_close(k->dd, k, why);
	imgx_on_close(k->dd, k, why);
	census_on_close(k->dd, k, why);
	dd_reap_soon(k->dd);
}

static void reap(struct loop *l, void *arg)
{
	(void)l;
	struct dd *dd = arg;
	dd->reap_timer = 0;
	struct link **pp = &dd->links;
	while (*pp) {
		struct link *k = *pp;
		if (k->state == L_DEAD) {
			*pp = k->next;
			chan_free(k->sess);
			free(k->rbuf);
			free(k->wbuf);
			free(k);
		} else
			pp = &k->next;
	}
	logs_reap(dd);
	imgx_reap(dd);
	census_reap(dd);
}

void dd_reap_soon(struct dd *dd)
{
	if (!dd->reap_timer)
		dd->reap_timer = loop_timer_add(dd->loop, 0, reap, dd);
}

void links_revoked(struct dd *dd)
{
	for (struct link *k = dd->links; k; k = k->next)
		if (k->state != L_DEAD && (!k->server || k->peer_known) && !peer_find(dd, k->peer))
			link_close(k, "no longer admitted");
}

int link_is_open(const struct link *k) { return k->state == L_OPEN; }
int link_is_server(const struct link *k) { return k->server; }
const uint8_t *link_peer(const struct link *k) { return k->peer; }
uint32_t link_stream_new(struct link *k) { return k->next_stream++; }
size_t link_queued(const struct link *k) { return k->wlen - k->woff; }
unsigned link_nstreams(const struct link *k) { return k->nstreams; }

void link_streams(struct link *k, int delta)
{
	if (delta < 0 && k->nstreams > 0)
		k->nstreams--;
	else if (delta > 0)
		k->nstreams++;
	if (k->state == L_OPEN)
		arm(k, k->nstreams ? 0 : LINK_IDLE_MS);
}

/* ---- writing ---- */

static int queue(struct link *k, const void *data, size_t n)
{
	if (k->state == L_DEAD)
		return -1;
	if (k->wlen - k->woff + n > LINK_OUTQ_MAX) {
		link_close(k, "peer does not read: queue over LINK_OUTQ_MAX");
		return -1;
	}
	if (k->woff > 0 && k->wlen + n > k->wcap) {
		memmove(k->wbuf, k->wbuf + k->woff, k->wlen - k->woff);
		k->wlen -= k->woff;
		k->woff = 0;
	}
	if (k->wlen + n > k->wcap) {
		size_t cap = k->wcap ? k->wcap : 16384;
		while (cap < k->wlen + n)
			cap *= 2;
		uint8_t *b = realloc(k->wbuf, cap);
		if (!b) {
			link_close(k, "out of memory");
			return -1;
		}
		k->wbuf = b;
		k->wcap = cap;
	}
	memcpy(k->wbuf + k->wlen, data, n);
	k->wlen += n;
	if (k->state != L_CONNECTING)
		loop_mod_fd(k->dd->loop, k->fd, events(k));
	if (link_queued(k) > LINK_OUTQ_HIGH)
		k->above_high = 1;
	return 0;
}

int link_send(struct link *k, uint8_t type, uint32_t stream, const void *payload, size_t len)
{
	uint8_t *wire = k->dd->wire;
	if (k->state != L_OPEN)
		return -1;
	size_t n = chan_seal(k->sess, type, stream, payload, len, wire);
	if (n == 0) {
		link_close(k, "a frame over CHAN_FRAME_MAX");
		return -1;
	}
	k->last_tx = loop_now(k->dd->loop);
	return queue(k, wire, n);
}

void link_end(struct link *k, uint32_t stream, const char *error)
{
	if (!link_is_open(k))
		return;
	static const char oom[] = "{\"error\":\"out of memory\"}";
	json_t *e = error ? json_pack("{s:s}", "error", error) : NULL;
	char *t = e ? json_dumps(e, JSON_COMPACT) : NULL;
	const char *body = t ? t : error ? oom : "{}";
	link_send(k, CHAN_END, stream, body, strlen(body));
	free(t);
	json_decref(e);
}

static void flush(struct link *k)
{
	while (k->woff < k->wlen) {
		ssize_t w = write(k->fd, k->wbuf + k->woff, k->wlen - k->woff);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (w <= 0) {
			link_close(k, w < 0 ? strerror(errno) : "write failed");
			return;
		}
		k->woff += (size_t)w;
	}
	if (k->woff == k->wlen) {
		k->woff = k->wlen = 0;
		loop_mod_fd(k->dd->loop, k->fd, events(k));
	}
	if (k->above_high && link_queued(k) <= LINK_OUTQ_HIGH / 2 && k->state == L_OPEN) {
		k->above_high = 0;
		logs_on_drain(k->dd, k);
		imgx_on_drain(k->dd, k);
	}
}

/* ---- heartbeats ---- */

/* Every LINK_PING_MS: a PING when we sent nothing for that long (so the peer hears from us
 * even while it sends us nothing), and the end of a link with streams whose peer was silent
 * for LINK_DEAD_MS (a stopped or cut-off server), unless we stopped reading it ourselves. */
static void keepalive(struct loop *l, void *arg)
{
	struct link *k = arg;
	uint64_t now = loop_now(l);
	k->ka_timer = 0;
	if (k->nstreams && !k->rpaused && now - k->last_rx >= LINK_DEAD_MS) {
		link_close(k, "peer silent for LINK_DEAD_MS");
		return;
	}
	if (now - k->last_tx >= LINK_PING_MS && link_send(k, CHAN_PING, 0, NULL, 0) < 0)
		return;
	k->ka_timer = loop_timer_add(l, LINK_PING_MS, keepalive, k);
}

static void opened(struct link *k)
{
	k->state = L_OPEN;
	k->last_rx = k->last_tx = loop_now(k->dd->loop);
	k->ka_timer = loop_timer_add(k->dd->loop, LINK_PING_MS, keepalive, k);
}

/* ---- the handshake ---- */

static void got_hello(struct link *k)
{
	struct dd *dd = k->dd;
	uint8_t reply[CHAN_REPLY_LEN], server[SWIM_ADDR_LEN];
	char err[256];
	if (chan_hello_parse(k->rbuf, k->peer, server, err, sizeof err) < 0) {
		link_close(k, err);
		return;
	}
	if (memcmp(server, dd->self, SWIM_ADDR_LEN) != 0) {
		link_close(k, "the hello is addressed to another server");
		return;
	}
	const struct dd_peer *p = peer_find(dd, k->peer);
	k->peer_known = 1;
	if (!p || memcmp(k->peer, dd->self, SWIM_ADDR_LEN) == 0) {
		link_close(k, "not an admitted server");
		return;
	}
	unsigned same = 0;
	for (struct link *o = dd->links; o; o = o->next)
		same += o != k && o->server && o->state != L_DEAD && o->peer_known &&
		        memcmp(o->peer, k->peer, SWIM_ADDR_LEN) == 0;
	if (same >= LINK_IN_PER_PEER) {
		link_close(k, "too many links from this server (LINK_IN_PER_PEER)");
		return;
	}
	if (chan_accept(k->sess, &dd->keys, p->pk, k->rbuf, reply, err, sizeof err) < 0) {
		link_close(k, err);
		return;
	}
	k->state = L_CONFIRM;
	queue(k, reply, sizeof reply);
}

static void got_confirm(struct link *k)
{
	char err[256];
	if (chan_confirm(k->sess, k->rbuf, err, sizeof err) < 0) {
		link_close(k, err);
		return;
	}
	opened(k);
	arm(k, LINK_IDLE_MS);
	char hex[43];
	addr_hex(k->peer, hex);
	log_info("channel from %s open", hex);
}

static void got_reply(struct link *k)
{
	struct dd *dd = k->dd;
	uint8_t confirm[CHAN_CONFIRM_LEN];
	char err[256];
	const struct dd_peer *p = peer_find(dd, k->peer);
	if (!p) {
		link_close(k, "no longer admitted");
		return;
	}
	if (chan_finish(k->sess, &dd->keys, p->pk, k->rbuf, confirm, err, sizeof err) < 0) {
		link_close(k, err);
		return;
	}
	opened(k);
	if (queue(k, confirm, sizeof confirm) < 0)
		return;
	arm(k, k->nstreams ? 0 : LINK_IDLE_MS);
	logs_on_open(dd, k);
	imgx_on_open(dd, k);
	census_on_open(dd, k);
}

/* ---- reading ---- */

static size_t want(const struct link *k)
{
	switch (k->state) {
	case L_HELLO: return CHAN_HELLO_LEN;
	case L_CONFIRM: return CHAN_CONFIRM_LEN;
	case L_REPLY: return CHAN_REPLY_LEN;
	case L_OPEN: return k->rlen < 4 ? 4 : chan_frame_len(k->rbuf);
	default: return 0;
	}
}

static void got_frame(struct link *k)
{
	struct dd *dd = k->dd;
	uint8_t type;
	uint32_t stream;
	size_t plen;
	char err[256];
	if (chan_open(k->sess, k->rbuf, k->rlen, &type, &stream, dd->plain, &plen, err,
	              sizeof err) < 0) {
		link_close(k, err);
		return;
	}
	if (type != CHAN_PING && !imgx_on_frame(dd, k, type, stream, dd->plain, plen) &&
	    !census_on_frame(dd, k, type, stream, dd->plain, plen))
		logs_on_frame(dd, k, type, stream, dd->plain, plen);
}

void link_read_pause(struct link *k, int on)
{
	if (k->state == L_DEAD || k->rpaused == on)
		return;
	k->rpaused = on;
	if (!on)
		k->last_rx = loop_now(k->dd->loop); /* its silence while we did not read is ours */
	if (k->state != L_CONNECTING)
		loop_mod_fd(k->dd->loop, k->fd, events(k));
}

int link_read_paused(const struct link *k) { return k->rpaused; }

/* force: an error or hang-up is pending, read it even while paused (poll would repeat it). */
static void readable(struct link *k, int force)
{
	size_t total = 0;
	while (k->state != L_DEAD && total < LINK_READ_BURST && (!k->rpaused || force)) {
		size_t need = want(k);
		if (need == 0) {
			link_close(k, "a frame length out of bounds");
			return;
		}
		if (k->rlen < need) {
			ssize_t r = read(k->fd, k->rbuf + k->rlen, need - k->rlen);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (r <= 0) {
				link_close(k, r == 0 ? "closed by the peer" : strerror(errno));
				return;
			}
			k->rlen += (size_t)r;
			total += (size_t)r;
			k->last_rx = loop_now(k->dd->loop);
			continue;
		}
		enum link_state st = k->state;
		if (st == L_HELLO)
			got_hello(k);
		else if (st == L_CONFIRM)
			got_confirm(k);
		else if (st == L_REPLY)
			got_reply(k);
		else
			got_frame(k);
		k->rlen = 0;
	}
}

static void connected(struct link *k)
{
	int e = 0;
	socklen_t el = sizeof e;
	if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e != 0) {
		link_close(k, strerror(e ? e : errno));
		return;
	}
	k->state = L_REPLY;
	loop_mod_fd(k->dd->loop, k->fd, events(k));
}

static void link_io(struct loop *l, int fd, short revents, void *arg)
{
	(void)l;
	(void)fd;
	struct link *k = arg;
	if (k->state == L_CONNECTING) {
		if (revents & (POLLOUT | POLLERR | POLLHUP))
			connected(k);
		return;
	}
	if (revents & (POLLIN | POLLERR | POLLHUP))
		readable(k, (revents & (POLLERR | POLLHUP)) != 0);
	if (k->state != L_DEAD && (revents & POLLOUT))
		flush(k);
}

/* ---- making links ---- */

struct link *link_to(struct dd *dd, const struct dd_peer *peer, char *err, size_t errlen)
{
	for (struct link *k = dd->links; k; k = k->next)
		if (!k->server && k->state != L_DEAD && memcmp(k->peer, peer->addr, SWIM_ADDR_LEN) == 0 &&
		    k->nstreams < LINK_STREAMS_MAX)
			return k;
	struct sockaddr_storage sa;
	socklen_t salen;
	if (resolve(peer->endpoint, &sa, &salen, err, errlen) < 0)
		return NULL;
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sa, salen) < 0 && errno != EINPROGRESS) {
		snprintf(err, errlen, "connect to %s: %s", peer->endpoint, strerror(errno));
		close(fd);
		return NULL;
	}
	struct link *k = link_new(dd, fd, 0);
	if (!k) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return NULL;
	}
	memcpy(k->peer, peer->addr, SWIM_ADDR_LEN);
	uint8_t hello[CHAN_HELLO_LEN];
	chan_hello(k->sess, dd->self, peer->addr, hello);
	queue(k, hello, sizeof hello);
	return k;
}

static void on_accept(struct loop *l, int fd, short revents, void *arg)
{
	(void)l;
	(void)revents;
	struct dd *dd = arg;
	for (int i = 0; i < 16; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0)
			return;
		if (dd->nlinks_in >= LINK_IN_MAX) {
			log_warnx("channel: %d links open: a new one is closed at once", LINK_IN_MAX);
			close(c);
			continue;
		}
		int one = 1;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (!link_new(dd, c, 1))
			close(c);
	}
}

/* The swim key pair, read as canteen.conf's user when we are root (the file is that user's). */
static int load_key(struct dd *dd, char *err, size_t errlen)
{
	struct priv_user u;
	int as = dd->conf.user[0] && geteuid() == 0;
	if (as && (priv_user_lookup(dd->conf.user, &u, err, errlen) < 0 ||
	           priv_enter(&u, err, errlen) < 0))
		return -1;
	int rc = swim_keys_load(dd->conf.swim_key_file, &dd->keys, err, errlen);
	if (as && priv_leave() < 0)
		fatal("cannot return to root after reading swim_key_file");
	return rc;
}

int chan_start(struct dd *dd, char *err, size_t errlen)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	dd->chan_fd = -1;
	if (swim_addr_parse(dd->node, dd->self) < 0)
		return errf(err, errlen, "node address '%s' is not 0x and 40 hex digits", dd->node);
	if (resolve(dd->conf.swim_bind, &sa, &salen, err, errlen) < 0)
		return -1;
	if (load_key(dd, err, errlen) < 0)
		return -1;
	if (!(dd->plain = malloc(CHAN_FRAME_MAX)) || !(dd->wire = malloc(CHAN_WIRE_MAX)))
		return errf(err, errlen, "out of memory");
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		return errf(err, errlen, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, salen) < 0 || listen(fd, 64) < 0 ||
	    loop_add_fd(dd->loop, fd, POLLIN, on_accept, dd) < 0) {
		errf(err, errlen, "TCP %s: %s", dd->conf.swim_bind, strerror(errno));
		close(fd);
		return -1;
	}
	dd->chan_fd = fd;
	dd->chan_on = 1;
	peers_start(dd);
	return 0;
}

void chan_stop(struct dd *dd)
{
	for (struct link *k = dd->links; k; k = k->next)
		link_close(k, "exiting");
	if (dd->reap_timer)
		loop_timer_cancel(dd->loop, dd->reap_timer);
	reap(dd->loop, dd);
	logs_free(dd);
	imgx_free(dd);
	census_free(dd);
	if (dd->chan_fd >= 0) {
		loop_del_fd(dd->loop, dd->chan_fd);
		close(dd->chan_fd);
	}
	peers_stop(dd);
	if (dd->keys.sk)
		swim_keys_free(&dd->keys);
	free(dd->plain);
	free(dd->wire);
}
