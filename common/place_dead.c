/* place_dead.c: since when each server has been dead, as this server counts it (stateful holds). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "errf.h"
#include "place_dead.h"
#include "rec.h"

struct place_dead {
	json_t *since;  /* address -> monotonic ms it was first seen dead (may be negative) */
	json_t *loaded; /* address -> the same, from a saved file, for nodes not seen yet */
};

struct place_dead *place_dead_new(void)
{
	struct place_dead *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->since = json_object();
	d->loaded = json_object();
	if (!d->since || !d->loaded) {
		place_dead_free(d);
		return NULL;
	}
	return d;
}

void place_dead_free(struct place_dead *d)
{
	if (!d)
		return;
	json_decref(d->since);
	json_decref(d->loaded);
	free(d);
}

size_t place_dead_count(const struct place_dead *d)
{
	return json_object_size(d->since);
}

static uint32_t seconds_since(json_int_t since, uint64_t now_ms)
{
	if (since >= (json_int_t)now_ms)
		return 0;
	uint64_t s = ((uint64_t)((json_int_t)now_ms - since)) / 1000u;
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

int place_dead_update(struct place_dead *d, struct place_node *nodes, size_t n, uint64_t now_ms)
{
	int changed = 0, rc = 0;
	json_t *keep = json_object();
	if (!keep)
		rc = -1;
	for (size_t i = 0; i < n; i++) {
		struct place_node *nd = &nodes[i];
		nd->dead_s = 0;
		if (!nd->active || nd->live)
			continue;
		json_t *v = json_object_get(d->since, nd->address);
		if (!v) {
			json_t *l = json_object_get(d->loaded, nd->address);
			v = json_integer(l ? json_integer_value(l) : (json_int_t)now_ms);
			if (!v || json_object_set_new(d->since, nd->address, v) < 0) {
				rc = -1;
				continue;
			}
			changed = 1;
		}
		nd->dead_s = seconds_since(json_integer_value(v), now_ms);
		if (keep && json_object_set(keep, nd->address, v) < 0)
			rc = -1;
	}
	/* A loaded entry serves once: the first update after loading decides. */
	json_object_clear(d->loaded);
	if (rc == 0) {
		if (json_object_size(keep) != json_object_size(d->since))
			changed = 1;
		json_decref(d->since);
		d->since = keep;
		keep = NULL;
	}
	json_decref(keep);
	return rc < 0 ? -1 : changed;
}

uint64_t place_dead_next_ms(const struct place_dead *d, const struct place_node *nodes, size_t n,
                            const struct place_service *services, size_t ns, uint64_t now_ms)
{
	uint64_t best = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(d->since, nodes[i].address);
		if (!v || !nodes[i].active || nodes[i].live)
			continue;
		json_int_t since = json_integer_value(v);
		for (size_t k = 0; k < ns; k++) {
			if (!services[k].hold_s || nodes[i].dead_s >= services[k].hold_s)
				continue;
			json_int_t end = since + (json_int_t)services[k].hold_s * 1000;
			uint64_t left = end > (json_int_t)now_ms ? (uint64_t)(end - (json_int_t)now_ms) : 1;
			if (!best || left < best)
				best = left;
		}
	}
	return best;
}

int place_dead_save(const struct place_dead *d, const char *path, uint64_t wall_ms,
                    uint64_t now_ms, char *err, size_t errlen)
{
	char tmp[4096];
	json_t *out = json_object(), *v;
	const char *k;
	int rc = -1;
	if (!out)
		return errf(err, errlen, "out of memory");
	json_object_foreach(d->since, k, v) {
		json_int_t wall = (json_int_t)wall_ms - ((json_int_t)now_ms - json_integer_value(v));
		json_object_set_new(out, k, json_integer(wall < 0 ? 0 : wall));
	}
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
		errf(err, errlen, "%s: path too long", path);
		goto done;
	}
	if (json_dump_file(out, tmp, JSON_COMPACT | JSON_SORT_KEYS) < 0) {
		errf(err, errlen, "cannot write %s", tmp);
		goto done;
	}
	if (rename(tmp, path) < 0) {
		errf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		goto done;
	}
	rc = 0;
done:
	json_decref(out);
	return rc;
}

int place_dead_load(struct place_dead *d, const char *path, uint64_t wall_ms, uint64_t now_ms,
                    char *err, size_t errlen)
{
	struct stat sb;
	json_error_t je;
	json_t *in = NULL, *got = NULL, *v;
	const char *k;
	int rc = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : errf(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > PLACE_DEAD_FILE_MAX) {
		errf(err, errlen, "%s: not a regular file of at most %u bytes", path, PLACE_DEAD_FILE_MAX);
		goto done;
	}
	in = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(in)) {
		errf(err, errlen, "%s: not a JSON object: %s", path, in ? "" : je.text);
		goto done;
	}
	if (json_object_size(in) > PLACE_MAX_NODES) {
		errf(err, errlen, "%s: more than %d entries", path, PLACE_MAX_NODES);
		goto done;
	}
	if (!(got = json_object()))
		goto nomem;
	json_object_foreach(in, k, v) {
		if (!rec_address_ok(k) || !json_is_integer(v) || json_integer_value(v) < 0) {
			errf(err, errlen, "%s: entry '%.64s' is not a node address with a time in "
			     "milliseconds", path, k);
			goto done;
		}
		/* Back to this boot's monotonic clock; a time ahead of now counts as now. */
		json_int_t ago = (json_int_t)wall_ms - json_integer_value(v);
		json_int_t since = (json_int_t)now_ms - (ago > 0 ? ago : 0);
		if (json_object_set_new(got, k, json_integer(since)) < 0)
			goto nomem;
	}
	json_decref(d->loaded);
	d->loaded = got;
	got = NULL;
	rc = 0;
	goto done;
nomem:
	errf(err, errlen, "out of memory");
done:
	close(fd);
	json_decref(in);
	json_decref(got);
	return rc;
}
