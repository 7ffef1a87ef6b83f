/* engine.c: canteen-dockerd's link to Docker: version negotiation, /events, listing, reconnects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerd.h"
#include "emit.h"
#include "engine.h"
#include "log.h"
#include "reconcile.h"
#include "slots.h"

#define API_WANT_MAJOR 1
#define API_WANT_MINOR 41      /* the semantics we speak; older servers get their own */
#define API_LEAST_MINOR 25     /* NanoCpus needs 1.25 */
#define RECONNECT_MIN_MS 250
#define RECONNECT_MAX_MS 10000

static void connect_now(struct loop *l, void *arg);
static void list_containers(struct dd *dd);

/* JSON filters={"label":["io.canteen.node=<node>"]} URL-encoded; for events also our
 * cluster's label and type=container (the listing counts containers without the label). */
static int filters(struct dd *dd, int events, char *out, size_t outlen)
{
	char raw[384];
	if (events)
		snprintf(raw, sizeof raw,
		         "{\"type\":[\"container\"],\"label\":[\"%s=%s\",\"%s=%s\"]}",
		         DOCKER_LABEL_NODE, dd->node, DOCKER_LABEL_CLUSTER, dd->cluster);
	else
		snprintf(raw, sizeof raw, "{\"label\":[\"%s=%s\"]}", DOCKER_LABEL_NODE, dd->node);
	return docker_urlencode(raw, out, outlen);
}

void engine_lost(struct dd *dd, const char *why)
{
	if (dd->dk_state == DK_DOWN)
		return;
	uint64_t delay = backoff_next(&dd->dk_fails, RECONNECT_MIN_MS, RECONNECT_MAX_MS);
	log_warnx("Docker is unreachable (%s); retrying in %llu ms, nothing is changed meanwhile",
	          why, (unsigned long long)delay);
	emit_error(dd, NULL, -1, "Docker is unreachable: %s", why);
	dd->dk_state = DK_DOWN;
	dd->epoch++;
	/* Operations in flight fail on their own; their answers carry a stale epoch. */
	docker_cancel(dd->dk, dd->events_req);
	docker_cancel(dd->dk, dd->ctl_req);
	dd->events_req = dd->ctl_req = NULL;
	dd->ops = 0;
	ctrs_forget_busy(dd);
	if (dd->resync_timer)
		loop_timer_cancel(dd->loop, dd->resync_timer);
	dd->resync_timer = 0;
	dd->dk_timer = loop_timer_add(dd->loop, delay, connect_now, dd);
}

/* A /version or listing answer that is not 200: Docker is treated as lost. 1 if so. */
static int control_failed(struct dd *dd, int status, const char *body, size_t len,
                          const char *err)
{
	char msg[256];
	dd->ctl_req = NULL;
	if (status == 200)
		return 0;
	if (status)
		docker_parse_error(body, len, msg, sizeof msg);
	engine_lost(dd, status ? msg : err);
	return 1;
}

static void on_event_line(struct docker *d, const char *line, size_t len, void *arg)
{
	(void)d;
	struct dd *dd = arg;
	struct docker_event ev;
	char err[256];
	int r = docker_parse_event(line, len, &ev, err, sizeof err);
	if (r < 0) {
		log_warnx("ignoring a malformed Docker event: %s", err);
		return;
	}
	if (r == 0 || strcmp(ev.labels.node, dd->node) != 0 ||
	    strcmp(ev.labels.cluster, dd->cluster) != 0)
		return;
	if (dd->dk_state == DK_READY)
		ctrs_on_event(dd, &ev);
}

static void on_events_end(struct docker *d, int status, const char *body, size_t len,
                          const char *err, void *arg)
{
	(void)d;
	struct dd *dd = arg;
	char msg[256];
	dd->events_req = NULL;
	if (status == 200 || status == 0)
		snprintf(msg, sizeof msg, "event stream ended%s%s", err ? ": " : "", err ? err : "");
	else
		docker_parse_error(body, len, msg, sizeof msg);
	engine_lost(dd, msg);
}

static void on_resync(struct loop *l, void *arg)
{
	(void)l;
	struct dd *dd = arg;
	dd->resync_timer = 0;
	if (dd->dk_state == DK_READY)
		list_containers(dd);
}

void engine_resync_soon(struct dd *dd)
{
	if (dd->dk_state != DK_READY || !dd->resync_timer)
		return; /* a listing is under way (or Docker is away) */
	loop_timer_cancel(dd->loop, dd->resync_timer);
	dd->resync_timer = loop_timer_add(dd->loop, DD_RESYNC_SOON_MS, on_resync, dd);
}

static void on_list(struct docker *d, int status, const char *body, size_t len,
                    const char *err, void *arg)
{
	(void)d;
	struct dd *dd = arg;
	char msg[256];
	if (control_failed(dd, status, body, len, err))
		return;
	struct docker_ctr *v = NULL;
	size_t n = 0;
	if (docker_parse_list(body, len, DD_CTRS_MAX, &v, &n, msg, sizeof msg) < 0) {
		engine_lost(dd, msg);
		return;
	}
	if (dd->dk_state != DK_READY) {
		log_info("Docker is ready (API %u.%u); %zu containers of node %s found", dd->api_major,
		         dd->api_minor, n, dd->node);
		dd->dk_state = DK_READY;
		dd->dk_fails = 0;
	}
	ctrs_on_listing(dd, v, n);
	free(v);
	dd->resync_timer = loop_timer_add(dd->loop, DD_RESYNC_MS, on_resync, dd);
	reconcile_soon(dd, 0);
}

static void list_containers(struct dd *dd)
{
	char f[512], path[640];
	if (filters(dd, 0, f, sizeof f) < 0)
		return;
	snprintf(path, sizeof path, "/containers/json?all=1&filters=%s", f);
	dd->ctl_req = docker_request(dd->dk, "GET", path, NULL, 30000, NULL, on_list, dd);
	if (!dd->ctl_req)
		engine_lost(dd, "cannot start a request");
}

/* Prefer our API version; an older server gets its own when it still has what we use. */
static int negotiate(struct dd *dd, const struct docker_version *v)
{
	unsigned maj = API_WANT_MAJOR, min = API_WANT_MINOR;
	if (v->api_major < maj || (v->api_major == maj && v->api_minor < min)) {
		maj = v->api_major;
		min = v->api_minor;
	}
	if (v->min_major > maj || (v->min_major == maj && v->min_minor > min)) {
		maj = v->min_major;
		min = v->min_minor;
	}
	if (maj < 1 || (maj == 1 && min < API_LEAST_MINOR))
		return -1;
	dd->api_major = maj;
	dd->api_minor = min;
	docker_set_api(dd->dk, maj, min);
	return 0;
}

static void on_version(struct docker *d, int status, const char *body, size_t len,
                       const char *err, void *arg)
{
	(void)d;
	struct dd *dd = arg;
	struct docker_version v;
	char msg[256], f[1200], path[1300];
	if (control_failed(dd, status, body, len, err))
		return;
	if (docker_parse_version(body, len, &v, msg, sizeof msg) < 0) {
		engine_lost(dd, msg);
		return;
	}
	if (negotiate(dd, &v) < 0) {
		snprintf(msg, sizeof msg, "Docker %s speaks API %u.%u, older than 1.%u", v.engine,
		         v.api_major, v.api_minor, API_LEAST_MINOR);
		engine_lost(dd, msg);
		return;
	}
	log_info("Docker %s, API %u.%u (server %u.%u)", v.engine, dd->api_major, dd->api_minor,
	         v.api_major, v.api_minor);
	if (filters(dd, 1, f, sizeof f) < 0)
		return;
	snprintf(path, sizeof path, "/events?filters=%s", f);
	dd->events_req = docker_request(dd->dk, "GET", path, NULL, 0, on_event_line,
	                                on_events_end, dd);
	if (!dd->events_req) {
		engine_lost(dd, "cannot start the event stream");
		return;
	}
	list_containers(dd);
}

static void connect_now(struct loop *l, void *arg)
{
	(void)l;
	struct dd *dd = arg;
	dd->dk_timer = 0;
	dd->dk_state = DK_CONNECTING;
	docker_set_api(dd->dk, 0, 0);
	dd->ctl_req = docker_request(dd->dk, "GET", "/version", NULL, 10000, NULL, on_version, dd);
	if (!dd->ctl_req)
		engine_lost(dd, "cannot start a request");
}

void engine_start(struct dd *dd)
{
	dd->dk_fails = 0;
	connect_now(dd->loop, dd);
}
