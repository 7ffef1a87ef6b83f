/* cache.c: the last state chainwatch read, kept on disk so that a restart during a chain outage still serves it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chainwatch.h"
#include "errf.h"
#include "keyfile.h"
#include "log.h"
#include "rec.h"

#define CACHE_FORMAT "canteen-chainwatch-state/1"

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- saving ---- */

static json_t *values(const json_t *obj)
{
	json_t *a = json_array(), *v;
	const char *k;
	if (!a)
		return NULL;
	json_object_foreach((json_t *)obj, k, v) json_array_append(a, v);
	return a;
}

int cw_cache_save(struct chainwatch *cw)
{
	char err[512];
	if (!cw->cache_path[0] || !cw->st.valid || cw->st.cached)
		return 0;
	json_t *nodes = values(cw->st.nodes), *svcs = values(cw->st.services);
	json_t *o = nodes && svcs
	                ? json_pack("{s:s, s:I, s:s, s:I, s:s, s:I, s:o, s:o}", "format", CACHE_FORMAT,
	                            "chain_id", (json_int_t)cw->chain_id, "contract", cw->contract_hex,
	                            "block", (json_int_t)cw->st.block, "hash", cw->st.hash, "saved_ms",
	                            (json_int_t)wall_ms(), "nodes", nodes, "services", svcs)
	                : NULL;
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!o) {
		json_decref(nodes);
		json_decref(svcs);
	}
	if (!text) {
		log_warnx("%s: out of memory; the state is not saved", cw->cache_path);
		return -1;
	}
	size_t len = strlen(text);
	int rc = 0;
	if (len > CW_CACHE_MAX) {
		log_warnx("%s: the state is %zu bytes, over %d: not saved", cw->cache_path, len,
		          CW_CACHE_MAX);
		rc = -1;
	} else if (keyfile_write(cw->cache_path, text, len, 1, err, sizeof err) < 0) {
		log_warnx("saving the state: %s", err);
		rc = -1;
	}
	free(text);
	if (rc == 0)
		cw->cache_dirty = 0;
	return rc;
}

static void on_save(struct loop *l, void *arg)
{
	struct chainwatch *cw = arg;
	(void)l;
	cw->cache_timer = 0;
	if (cw->cache_dirty)
		cw_cache_save(cw);
}

void cw_cache_dirty(struct chainwatch *cw)
{
	if (!cw->cache_path[0] || cw->st.cached)
		return;
	cw->cache_dirty = 1;
	if (!cw->cache_timer)
		cw->cache_timer = loop_timer_add(cw->loop, CW_CACHE_DELAY_MS, on_save, cw);
}

/* ---- loading ---- */

/* The file's content when it is ours: a regular file (no link), owned by us or root,
 * writable by nobody else, at most CW_CACHE_MAX bytes. NULL with err otherwise. */
static char *read_own(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			errf(err, errlen, "%s is a symbolic link", path);
		else
			errf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) < 0) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		errf(err, errlen, "%s is not a regular file", path);
	} else if (st.st_uid != geteuid() && st.st_uid != 0) {
		errf(err, errlen, "%s is owned by uid %u, not by this daemon's user", path,
		     (unsigned)st.st_uid);
	} else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		errf(err, errlen, "%s may be written by others (mode %03o)", path,
		     (unsigned)(st.st_mode & 0777));
	} else if (st.st_size > CW_CACHE_MAX) {
		errf(err, errlen, "%s is over %d bytes", path, CW_CACHE_MAX);
	} else if (!(buf = malloc((size_t)st.st_size + 1))) {
		errf(err, errlen, "out of memory");
	} else {
		size_t got = 0;
		while (got < (size_t)st.st_size) {
			ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (got != (size_t)st.st_size) {
			errf(err, errlen, "%s: short read", path);
			free(buf);
			buf = NULL;
		} else {
			buf[got] = '\0';
			*len = got;
		}
	}
	close(fd);
	return buf;
}

/* Records of arr into an object keyed by field, each passing check; NULL with err. */
static json_t *records(const json_t *arr, const char *field, size_t max,
                       int (*check)(const json_t *, char *, size_t), char *err, size_t errlen)
{
	if (!json_is_array(arr) || json_array_size(arr) > max) {
		errf(err, errlen, "\"%ss\" must be an array of at most %zu records", field, max);
		return NULL;
	}
	json_t *o = json_object(), *v;
	size_t i;
	char why[400];
	if (!o) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	json_array_foreach(arr, i, v) {
		const char *key = json_string_value(
		    json_object_get(v, strcmp(field, "node") == 0 ? "address" : "name"));
		if (check(v, why, sizeof why) < 0 || !key) {
			errf(err, errlen, "%s %zu: %s", field, i, key ? why : "no key");
			json_decref(o);
			return NULL;
		}
		if (json_object_get(o, key)) {
			errf(err, errlen, "%s %.64s appears twice", field, key);
			json_decref(o);
			return NULL;
		}
		json_object_set(o, key, v);
	}
	return o;
}

static int load(struct chainwatch *cw, char *err, size_t errlen)
{
	size_t len = 0;
	char *text = read_own(cw->cache_path, &len, err, errlen);
	if (!text)
		return -1;
	json_error_t je;
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!o)
		return errf(err, errlen, "%s: not JSON (%s)", cw->cache_path, je.text);
	int rc = -1;
	json_int_t chain = 0, block = -1;
	const char *format = NULL, *contract = NULL, *hash = NULL;
	uint8_t h[32];
	json_t *nodes = NULL, *svcs = NULL, *n = NULL, *sv = NULL;
	if (json_unpack(o, "{s:s, s:I, s:s, s:I, s:s, s:o, s:o}", "format", &format, "chain_id",
	                &chain, "contract", &contract, "block", &block, "hash", &hash, "nodes", &nodes,
	                "services", &svcs) < 0 || strcmp(format, CACHE_FORMAT) != 0) {
		errf(err, errlen, "%s: not a saved state of this version (%s)", cw->cache_path,
		     CACHE_FORMAT);
	} else if (chain <= 0 || (uint64_t)chain != cw->chain_id || strcmp(contract, cw->contract_hex) != 0) {
		errf(err, errlen, "%s is of contract %.42s on chain %lld, not of this one", cw->cache_path,
		     contract, (long long)chain);
	} else if (block < 0 || strlen(hash) != 66 || eth_hex_decode_exact(hash, h, 32) < 0) {
		errf(err, errlen, "%s: bad block or hash", cw->cache_path);
	} else if ((n = records(nodes, "node", CW_CACHE_RECORDS, rec_node_check, err, errlen)) &&
	           (sv = records(svcs, "service", CW_CACHE_RECORDS, rec_service_check, err, errlen))) {
		json_decref(cw->st.nodes);
		json_decref(cw->st.services);
		cw->st.nodes = n;
		cw->st.services = sv;
		n = sv = NULL;
		cw->st.block = (uint64_t)block;
		eth_hex_encode(h, 32, cw->st.hash, sizeof cw->st.hash);
		json_int_t saved = 0;
		json_unpack(o, "{s?:I}", "saved_ms", &saved);
		cw->cache_saved_ms = saved > 0 ? (uint64_t)saved : 0;
		rc = 0;
	}
	json_decref(n);
	json_decref(sv);
	json_decref(o);
	return rc;
}

int cw_cache_load(struct chainwatch *cw)
{
	char err[1024];
	if (!cw->cache_path[0])
		return 0;
	if (access(cw->cache_path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (load(cw, err, sizeof err) < 0) {
		log_warnx("the saved state is not used: %s", err);
		return 0;
	}
	cw_state_refeed(&cw->st);
	cw->st.valid = 1;
	cw->st.cached = 1;
	cw->need_snapshot = 1;
	uint64_t now = wall_ms();
	log_info("serving the state saved at block %llu (%llu s ago: %zu nodes, %zu services) "
	         "until the chain answers",
	         (unsigned long long)cw->st.block,
	         (unsigned long long)(cw->cache_saved_ms && now > cw->cache_saved_ms
	                                  ? (now - cw->cache_saved_ms) / 1000
	                                  : 0),
	         json_object_size(cw->st.nodes), json_object_size(cw->st.services));
	return 1;
}
