/* peerfile.c: the peers file of each service with a replica here: where its replicas run, from canteen-sched's placement. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dockerd.h"
#include "eth_util.h"
#include "link.h"
#include "log.h"
#include "peerfile.h"
#include "sockets.h"

struct pf_ep {
	unsigned replica;
	const char *node;
};

static int cmp_ep(const void *a, const void *b)
{
	const struct pf_ep *x = a, *y = b;
	return x->replica < y->replica ? -1 : x->replica > y->replica;
}

/* The host part of node's SWIM endpoint ("host:port", "[v6]:port") into out, or "-". */
static void node_host(struct dd *dd, const char *node, char *out, size_t len)
{
	uint8_t addr[SWIM_ADDR_LEN];
	snprintf(out, len, "-");
	if (eth_addr_parse(node, addr) < 0)
		return;
	const struct dd_peer *p = peer_find(dd, addr);
	const char *colon = p ? strrchr(p->endpoint, ':') : NULL;
	if (colon && colon > p->endpoint)
		snprintf(out, len, "%.*s", (int)(colon - p->endpoint), p->endpoint);
}

/* Write data to dir/peers through dir/peers.tmp and a rename, unless it holds that already. */
static void write_peers(const char *dir, const char *data, size_t len)
{
	char path[CONF_STR_MAX + 128], tmp[CONF_STR_MAX + 136], old[PEERFILE_MAX];
	snprintf(path, sizeof path, "%s/peers", dir);
	snprintf(tmp, sizeof tmp, "%s/peers.tmp", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		ssize_t n = read(fd, old, sizeof old);
		close(fd);
		if (n >= 0 && (size_t)n == len && memcmp(old, data, len) == 0)
			return;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fchmod(fd, 0644) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		log_warn("cannot write %s", path);
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	}
}

/* The file of one service: a line per placed replica, by index. */
static void service_file(struct dd *dd, const struct docker_spec *s)
{
	char dir[CONF_STR_MAX + 96];
	snprintf(dir, sizeof dir, "%s/%s", dd->peers_dir, s->service);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		log_warn("cannot make %s", dir);
		return;
	}
	size_t n = 0, i, cap = json_array_size(dd->assignments);
	struct pf_ep *eps = calloc(cap ? cap : 1, sizeof *eps);
	char *buf = malloc(PEERFILE_MAX);
	json_t *a;
	if (!eps || !buf) {
		free(eps);
		free(buf);
		return;
	}
	json_array_foreach(dd->assignments, i, a) {
		if (strcmp(json_string_value(json_object_get(a, "service")), s->service) != 0)
			continue;
		eps[n].replica = (unsigned)json_integer_value(json_object_get(a, "replica"));
		eps[n++].node = json_string_value(json_object_get(a, "node"));
	}
	qsort(eps, n, sizeof *eps, cmp_ep);
	size_t len = 0;
	for (i = 0; i < n; i++) {
		char line[1024], host[REC_MAX_ENDPOINT + 1];
		node_host(dd, eps[i].node, host, sizeof host);
		int w = snprintf(line, sizeof line, "%u %s", eps[i].replica, eps[i].node);
		for (size_t p = 0; p < s->nports && w > 0 && (size_t)w < sizeof line; p++)
			if (s->ports[p].host)
				w += snprintf(line + w, sizeof line - (size_t)w, " %s:%u%s", host, s->ports[p].host,
				              strcmp(s->ports[p].proto, "udp") == 0 ? "/udp" : "");
		if (w < 0 || (size_t)w >= sizeof line - 1 || len + (size_t)w + 1 > PEERFILE_MAX)
			break; /* bounded: the lines that fit */
		memcpy(buf + len, line, (size_t)w);
		len += (size_t)w;
		buf[len++] = '\n';
	}
	write_peers(dir, buf, len);
	free(eps);
	free(buf);
}

void peerfile_update(struct dd *dd)
{
	if (!dd->peers_dir[0] || !dd->have_desired)
		return;
	for (size_t i = 0; i < dd->desired.n; i++) {
		size_t j = 0;
		while (j < i && strcmp(dd->desired.specs[j].service, dd->desired.specs[i].service) != 0)
			j++;
		if (j == i) /* once a service */
			service_file(dd, &dd->desired.specs[i]);
	}
}

/* A placement's assignments, checked (anything may write to a socket): a new array
 * (owned by the caller), or NULL when one is malformed. */
static json_t *checked(const json_t *list)
{
	json_t *out = json_array(), *a;
	size_t i;
	if (!out || !json_is_array(list) || json_array_size(list) > PEERFILE_ASSIGN_MAX) {
		json_decref(out);
		return NULL;
	}
	json_array_foreach(list, i, a) {
		const char *svc = json_string_value(json_object_get(a, "service"));
		const char *node = json_string_value(json_object_get(a, "node"));
		json_t *r = json_object_get(a, "replica");
		if (!svc || !rec_name_ok(svc, strlen(svc)) || !rec_address_ok(node) || !json_is_integer(r) ||
		    json_integer_value(r) < 0 || json_integer_value(r) >= REC_RUN_REPLICAS_MAX) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, json_pack("{s:s,s:O,s:s}", "service", svc, "replica", r, "node", node));
	}
	return out;
}

static void on_msg(struct ipc_client *c, json_t *msg, void *arg)
{
	struct dd *dd = arg;
	const char *type = json_string_value(json_object_get(msg, "type"));
	json_t *pl = NULL;
	if (type && strcmp(type, "snapshot") == 0)
		pl = json_object_get(msg, "placement");
	else if (type && strcmp(type, "placement") == 0)
		pl = msg;
	if (!pl || !json_is_true(json_object_get(pl, "ready")))
		return;
	json_t *list = checked(json_object_get(pl, "assignments"));
	if (!list) {
		log_warnx("sched.sock: a placement with a malformed assignment: peers files unchanged");
		return;
	}
	ipc_client_backoff_reset(c);
	json_decref(dd->assignments);
	dd->assignments = list;
	peerfile_update(dd);
}

static void on_state(struct ipc_client *c, int up, void *arg)
{
	(void)arg;
	if (!up)
		return;
	json_t *m = json_pack("{s:s}", "op", "subscribe");
	if (!m || ipc_client_send(c, m) < 0)
		log_warnx("sched.sock: cannot send subscribe");
	json_decref(m);
}

void peerfile_start(struct dd *dd)
{
	char path[CONF_STR_MAX + 32];
	snprintf(dd->peers_dir, sizeof dd->peers_dir, "%s/peers", dd->conf.rundir);
	if (mkdir(dd->peers_dir, 0755) < 0 && errno != EEXIST) {
		log_warn("peers files off: cannot make %s", dd->peers_dir);
		dd->peers_dir[0] = '\0';
		return;
	}
	dd->assignments = json_array();
	snprintf(path, sizeof path, "%s/" SOCK_SCHED, dd->conf.rundir);
	dd->sched = ipc_client_new(dd->loop, path, on_msg, on_state, dd);
	if (!dd->sched || !dd->assignments)
		fatal("out of memory");
}

void peerfile_stop(struct dd *dd)
{
	ipc_client_free(dd->sched);
	dd->sched = NULL;
	json_decref(dd->assignments);
	dd->assignments = NULL;
}
