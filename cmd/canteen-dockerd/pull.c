/* pull.c: the images Docker lacks: their pull progress, failures and retry back-off. */
#include <stdlib.h>
#include <string.h>

#include "dockerd.h"
#include "emit.h"
#include "imgx.h"
#include "log.h"
#include "parse.h"
#include "pull.h"
#include "reconcile.h"

struct image *image_find(struct dd *dd, const char *ref)
{
	for (struct image *i = dd->images; i; i = i->next)
		if (strcmp(i->ref, ref) == 0)
			return i;
	return NULL;
}

struct image *image_missing(struct dd *dd, const char *ref)
{
	struct image *img = calloc(1, sizeof *img);
	if (!img)
		fatal("out of memory");
	str_copy(img->ref, sizeof img->ref, ref);
	img->next = dd->images;
	dd->images = img;
	return img;
}

void image_progress(struct dd *dd, struct image *img, const struct docker_progress *p)
{
	uint64_t now = loop_now(dd->loop);
	if (strcmp(img->last_status, p->status) == 0 && now - img->last_emit < 1000)
		return;
	if (strcmp(img->last_status, p->status) != 0)
		log_info("pull %s: %s%s%s", img->ref, p->status, p->layer[0] ? " " : "", p->layer);
	str_copy(img->last_status, sizeof img->last_status, p->status);
	img->last_emit = now;
	emit(dd, "pull.progress",
	     json_pack("{s:s,s:s,s:s,s:I,s:I}", "image", img->ref, "status", p->status, "layer",
	               p->layer, "current", (json_int_t)p->current, "total", (json_int_t)p->total));
}

/* The pull in flight of img ended: count it and its time. */
static void pull_ended(struct dd *dd, struct image *img, int ok)
{
	if (!img->pull_start)
		return;
	dd->st.pull_ms += loop_now(dd->loop) - img->pull_start;
	img->pull_start = 0;
	if (ok)
		dd->st.pulls++;
	else
		dd->st.pull_failures++;
}

void image_pulled(struct dd *dd, struct image *img)
{
	pull_ended(dd, img, 1);
	log_info("pulled %s", img->ref);
	emit(dd, "pull.progress", json_pack("{s:s,s:s}", "image", img->ref, "status", "done"));
	for (struct image **pp = &dd->images; *pp; pp = &(*pp)->next)
		if (*pp == img) {
			*pp = img->next;
			free(img);
			return;
		}
}

void image_failed(struct dd *dd, struct image *img, const char *why)
{
	pull_ended(dd, img, 0);
	/* With two sources, the second is tried at once; after both, the back-off. */
	int two = dd->image_source == SRC_PEERS_FIRST || dd->image_source == SRC_REGISTRY_FIRST;
	uint64_t delay = two && img->turn == 0
	                     ? 0
	                     : backoff_next(&img->fails, DD_BACKOFF_MIN_MS, DD_BACKOFF_MAX_MS);
	img->turn = two ? !img->turn : 0;
	img->state = IMG_FAILED;
	str_copy(img->why, sizeof img->why, why);
	img->retry_at = loop_now(dd->loop) + delay;
	log_warnx("pull of %s failed: %s; retry in %llu ms", img->ref, why,
	          (unsigned long long)delay);
	for (size_t i = 0; i < dd->desired.n; i++)
		if (strcmp(dd->desired.specs[i].image, img->ref) == 0)
			emit_error(dd, dd->desired.specs[i].service, dd->desired.specs[i].replica,
			           "pull of %s failed: %s", img->ref, why);
	reconcile_soon(dd, delay);
}
