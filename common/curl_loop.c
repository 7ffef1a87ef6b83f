/* curl_loop.c: libcurl's socket and timer callbacks mapped onto loop.h's watchers and timers. */
#include <poll.h>
#include <pthread.h>
#include <string.h>

#include "curl_loop.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_ok;

static void global_init_once(void)
{
	global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int curl_loop_global_init(void)
{
	pthread_once(&global_once, global_init_once);
	return global_ok ? 0 : -1;
}

/* A hang-up is read by curl (it sees the end of the stream itself); POLLERR alone is an
 * error for it. */
static void on_fd(struct loop *l, int fd, short revents, void *arg)
{
	struct curl_loop *c = arg;
	int flags = 0, running;
	(void)l;
	if (revents & (POLLIN | POLLHUP))
		flags |= CURL_CSELECT_IN;
	if (revents & POLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (revents & (POLLERR | POLLNVAL))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->m, fd, flags, &running);
	c->after(c->arg);
}

static int socket_cb(CURL *h, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct curl_loop *c = userp;
	(void)h;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		loop_del_fd(c->l, s);
		return 0;
	}
	short ev = 0;
	if (what & CURL_POLL_IN)
		ev |= POLLIN;
	if (what & CURL_POLL_OUT)
		ev |= POLLOUT;
	if (loop_mod_fd(c->l, s, ev) < 0 && loop_add_fd(c->l, s, ev, on_fd, c) < 0)
		return -1;
	return 0;
}

static void on_timer(struct loop *l, void *arg)
{
	struct curl_loop *c = arg;
	int running;
	(void)l;
	c->timer = 0;
	curl_multi_socket_action(c->m, CURL_SOCKET_TIMEOUT, 0, &running);
	c->after(c->arg);
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct curl_loop *c = userp;
	(void)m;
	if (c->timer)
		loop_timer_cancel(c->l, c->timer);
	c->timer = 0;
	if (timeout_ms >= 0) {
		c->timer = loop_timer_add(c->l, (uint64_t)timeout_ms, on_timer, c);
		if (!c->timer)
			return -1;
	}
	return 0;
}

int curl_loop_init(struct curl_loop *c, struct loop *l, curl_loop_cb after, void *arg)
{
	memset(c, 0, sizeof *c);
	if (curl_loop_global_init() < 0 || !(c->m = curl_multi_init()))
		return -1;
	c->l = l;
	c->after = after;
	c->arg = arg;
	curl_multi_setopt(c->m, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->m, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->m, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->m, CURLMOPT_TIMERDATA, c);
	return 0;
}

/* The timer goes last: curl_multi_cleanup may still call timer_cb. */
void curl_loop_fini(struct curl_loop *c)
{
	if (c->m)
		curl_multi_cleanup(c->m);
	c->m = NULL;
	if (c->timer)
		loop_timer_cancel(c->l, c->timer);
	c->timer = 0;
}

void *curl_loop_next_done(struct curl_loop *c, CURLcode *rc)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(c->m, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		char *priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		if (!priv)
			continue;
		*rc = msg->data.result;
		return priv;
	}
	return NULL;
}
