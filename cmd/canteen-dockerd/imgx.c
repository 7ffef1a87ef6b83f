/* imgx.c: images from peers: "image" over the channel, served from Docker's export and fed to Docker's load as it streams. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emit.h"
#include "errf.h"
#include "imgx.h"
#include "link.h"
#include "log.h"
#include "ops.h"
#include "parse.h"
#include "pull.h"
#include "rec.h"
#include "reconcile.h"

#define IMGX_LOADED_MAX 8        /* images one load names that we remember, to remove them */

/* A fetch of one image from one peer after another. */
struct fetch {
	struct dd *dd;
	char ref[DOCKER_IMAGE_MAX];
	size_t start, asked;          /* the walk: dd->peers[(start + asked) % npeers] next */
	int busy;                     /* a peer of this walk had no upload slot free */
	uint8_t peer[SWIM_ADDR_LEN];
	char peer_hex[43];
	struct link *link;
	uint32_t stream;
	int sent, counted, got_end, paused;
	struct docker_req *load;      /* POST /images/load, fed as frames arrive */
	struct docker_req *check;     /* the inspect that follows */
	char load_error[256];
	char loaded[IMGX_LOADED_MAX][DOCKER_IMAGE_MAX];
	unsigned nloaded;
	uint8_t *held;                /* a frame's bytes the load had no room for */
	size_t held_len;
	uint64_t bytes, started;
	char why[256];                /* the last peer's failure */
	int dead;
	struct fetch *nextf;
};

/*
 * An export served to a peer. Peers that ask for an image whose export has not yet sent a
 * byte share it (Docker's save prepares the whole archive before its first byte, the costly
 * part): each is a receiver whose lead owns the Docker transfer, and every byte goes to all.
 */
struct iserve {
	struct dd *dd;
	struct link *link;            /* NULL: this receiver's peer is gone */
	uint32_t stream;
	struct docker_req *dreq;      /* the export (a lead's only) */
	struct iserve *lead;          /* NULL: this one owns the export */
	char ref[DOCKER_IMAGE_MAX];
	uint64_t sent;                /* bytes the export has produced (a lead's) */
	int dead;
	struct iserve *next;
};

int imgx_source_parse(const char *s, enum img_source *out)
{
	static const char *const names[] = {"peers_first", "registry_first", "peers_only",
	                                    "registry_only"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum img_source)i;
			return 0;
		}
	return -1;
}

/* ---- the avoided peers ---- */

static int avoided(struct dd *dd, const uint8_t a[SWIM_ADDR_LEN])
{
	uint64_t now = loop_now(dd->loop);
	for (unsigned i = 0; i < IMGX_AVOID_MAX; i++)
		if (dd->avoid_until[i] > now && memcmp(dd->avoid[i], a, SWIM_ADDR_LEN) == 0)
			return 1;
	return 0;
}

static void avoid(struct dd *dd, const uint8_t a[SWIM_ADDR_LEN])
{
	unsigned slot = 0;
	for (unsigned i = 0; i < IMGX_AVOID_MAX; i++)
		if (dd->avoid_until[i] < dd->avoid_until[slot] ||
		    memcmp(dd->avoid[i], a, SWIM_ADDR_LEN) == 0) {
			slot = i;
			if (memcmp(dd->avoid[i], a, SWIM_ADDR_LEN) == 0)
				break;
		}
	memcpy(dd->avoid[slot], a, SWIM_ADDR_LEN);
	dd->avoid_until[slot] = loop_now(dd->loop) + IMGX_AVOID_MS;
}

/* ---- serving ---- */

/* The live receivers sharing lead's export, lead's own excluded. */
static unsigned sharers(const struct iserve *lead)
{
	unsigned n = 0;
	for (const struct iserve *s = lead->dd->iserves; s; s = s->next)
		n += !s->dead && s->lead == lead;
	return n;
}

/* This receiver's stream ends (error NULL: whole); its link forgets it. */
static void receiver_end(struct iserve *s, const char *error)
{
	if (!s->link)
		return;
	link_end(s->link, s->stream, error);
	link_streams(s->link, -1);
	s->link = NULL;
}

/* The export is over: every receiver's stream ends with error (NULL: whole). */
static void export_end(struct iserve *lead, const char *error)
{
	if (lead->dead)
		return;
	for (struct iserve *s = lead->dd->iserves; s; s = s->next)
		if (!s->dead && s->lead == lead) {
			receiver_end(s, error);
			s->dead = 1;
		}
	lead->dead = 1;
	lead->dd->niserves--;
	if (lead->dreq)
		docker_cancel(lead->dd->dk, lead->dreq);
	lead->dreq = NULL;
	receiver_end(lead, error);
	dd_reap_soon(lead->dd);
}

/* One receiver is done with (its stream ended with error, or its peer went away): the
 * export goes on while another receiver still wants it. */
static void iserve_end(struct iserve *s, const char *error)
{
	if (s->dead)
		return;
	struct iserve *lead = s->lead ? s->lead : s;
	receiver_end(s, error);
	if (s->lead) {
		s->dead = 1;
		dd_reap_soon(s->dd);
	}
	if (!lead->dead && !lead->link && sharers(lead) == 0)
		export_end(lead, NULL);
}

/* Frame data onto s's link; -1 when the link refused some (closing, or its queue full). */
static int iserve_send(struct iserve *s, const char *data, size_t len)
{
	if (!s->link)
		return 0;
	size_t off = 0;
	while (off < len && !s->dead && link_is_open(s->link)) {
		size_t n = len - off < CHAN_FRAME_MAX ? len - off : CHAN_FRAME_MAX;
		if (link_send(s->link, CHAN_DATA, s->stream, data + off, n) < 0)
			return -1;
		off += n;
	}
	return off == len ? 0 : -1;
}

/*
 * The upload cap (image_upload_kib_s): one token bucket over every export this server
 * serves, refilled at the rate and holding at most a quarter of a second's worth (at least
 * a frame). An export with no token left is held (Docker's transfer paused) until a timer
 * resumes the held ones.
 */
static int64_t upload_rate(const struct dd *dd)
{
	return (int64_t)dd->conf.image_upload_kib_s * 1024;
}

static int64_t upload_burst(const struct dd *dd)
{
	int64_t b = upload_rate(dd) / 4;
	return b < CHAN_FRAME_MAX ? CHAN_FRAME_MAX : b;
}

static void upload_refill(struct dd *dd)
{
	uint64_t now = mono_ms(), dt = now - dd->upload_refilled; /* the clock, not the iteration's */
	if (dd->upload_refilled == 0 || dt > 1000)
		dt = 1000; /* the bucket is full after a quarter of a second anyway */
	dd->upload_refilled = now;
	dd->upload_tokens += (int64_t)dt * upload_rate(dd) / 1000;
	if (dd->upload_tokens > upload_burst(dd))
		dd->upload_tokens = upload_burst(dd);
}

static void upload_resume(struct loop *l, void *arg)
{
	(void)l;
	struct dd *dd = arg;
	dd->upload_timer = 0;
	for (struct iserve *s = dd->iserves; s; s = s->next)
		if (!s->dead && s->dreq)
			docker_resume(dd->dk, s->dreq);
}

/* Resume the held exports once the bucket holds a twentieth of a second's worth again
 * (at least 1 KiB, at most a frame): a low cap sends small pieces often rather than a
 * frame after a silence the peer would take for a stall. */
static void upload_wait(struct dd *dd)
{
	if (dd->upload_timer)
		return;
	int64_t want = upload_rate(dd) / 20;
	want = want < 1024 ? 1024 : want > CHAN_FRAME_MAX ? CHAN_FRAME_MAX : want;
	int64_t owed = want - dd->upload_tokens;
	uint64_t ms = owed > 0 ? (uint64_t)(owed * 1000 / upload_rate(dd)) + 1 : 1;
	dd->upload_timer = loop_timer_add(dd->loop, ms, upload_resume, dd);
}

/* A receiver whose link is closing takes nothing more: its stream ends. */
static int receiver_gone(struct iserve *s)
{
	return !s->link || !link_is_open(s->link);
}

static size_t iserve_data(struct docker *d, const char *data, size_t len, void *arg)
{
	(void)d;
	struct iserve *lead = arg, *s;
	struct dd *dd = lead->dd;
	size_t n = len;
	unsigned nrecv = 0;
	if (lead->dead)
		return len;
	/* Held until the slowest receiver reads: imgx_on_drain resumes it. */
	for (s = dd->iserves; s; s = s->next)
		if (!s->dead && (s == lead || s->lead == lead) && !receiver_gone(s)) {
			if (link_queued(s->link) > LINK_OUTQ_HIGH)
				return 0;
			nrecv++;
		}
	if (nrecv == 0)
		return len;
	if (upload_rate(dd) > 0) { /* every receiver's copy counts */
		upload_refill(dd);
		if (dd->upload_tokens <= 0) {
			upload_wait(dd);
			return 0;
		}
		if ((int64_t)(n * nrecv) > dd->upload_tokens)
			n = (size_t)(dd->upload_tokens / nrecv);
		if (n == 0) {
			upload_wait(dd);
			return 0;
		}
		dd->upload_tokens -= (int64_t)(n * nrecv);
		if (n < len)
			upload_wait(dd);
	}
	lead->sent += n;
	for (s = dd->iserves; s; s = s->next)
		if (!s->dead && (s == lead || s->lead == lead) && !receiver_gone(s))
			iserve_send(s, data, n);
	return n;
}

static void iserve_done(struct docker *d, int status, const char *body, size_t len,
                        const char *err, void *arg)
{
	(void)d;
	struct iserve *lead = arg;
	struct dd *dd = lead->dd;
	char msg[256];
	lead->dreq = NULL;
	if (lead->dead)
		return;
	if (status >= 200 && status < 300) {
		/* What Docker sent after the stream was last held (at most DOCKER_STREAM_BUF):
		 * queued whatever the watermark, since nothing resumes a finished transfer; a
		 * link that cannot take it ends that stream with an error, never short. */
		for (struct iserve *s = dd->iserves; s; s = s->next) {
			if (s->dead || (s != lead && s->lead != lead) || receiver_gone(s))
				continue;
			if (len && upload_rate(dd) > 0) { /* owed: the next exports wait for it */
				upload_refill(dd);
				dd->upload_tokens -= (int64_t)len;
			}
			if (len && iserve_send(s, body, len) < 0)
				receiver_end(s, "the link could not take the end of the export");
		}
		export_end(lead, NULL);
		return;
	}
	if (status == 0)
		snprintf(msg, sizeof msg, "Docker: %s", err ? err : "transfer failed");
	else
		docker_parse_error(body, len, msg, sizeof msg);
	export_end(lead, msg);
}

static struct iserve *iserve_find(struct dd *dd, struct link *k, uint32_t stream)
{
	for (struct iserve *s = dd->iserves; s; s = s->next)
		if (!s->dead && s->link == k && s->stream == stream)
			return s;
	return NULL;
}

/*
 * Test mode, for the tests of the digest check: a member that serves another image than the
 * one asked for. CANTEEN_TEST_WRONG_IMAGE_FILE names a file whose first line is "NODE REF":
 * the node NODE serves REF's export whatever it is asked.
 */
static int wrong_image(struct dd *dd, char *ref, size_t reflen)
{
	const char *path = getenv("CANTEEN_TEST_WRONG_IMAGE_FILE");
	char line[DOCKER_IMAGE_MAX + 64], err[128];
	FILE *fp = path && *path ? fopen(path, "r") : NULL;
	if (!fp)
		return 0;
	int got = fgets(line, sizeof line, fp) != NULL;
	fclose(fp);
	size_t nl = strlen(dd->node);
	if (!got || strncasecmp(line, dd->node, nl) != 0 || line[nl] != ' ')
		return 0;
	line[strcspn(line, "\r\n")] = '\0';
	const char *r = line + nl + 1;
	if (rec_image_check(r, strlen(r), err, sizeof err) < 0)
		return 0;
	str_copy(ref, reflen, r);
	log_warnx("test mode: serving %s in place of the image asked for", ref);
	return 1;
}

/* {"op":"image","image":REF}: Docker's export of REF, or an end with Docker's error. */
static void serve_image(struct dd *dd, struct link *k, uint32_t stream, json_t *o)
{
	const char *op, *ref;
	char err[256], en[3 * DOCKER_IMAGE_MAX], path[3 * DOCKER_IMAGE_MAX + 32];
	json_error_t je;
	if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:s}", "op", &op, "image", &ref) < 0) {
		snprintf(err, sizeof err, "image: %s", je.text);
		link_end(k, stream, err);
		return;
	}
	if (rec_image_check(ref, strlen(ref), err, sizeof err) < 0) {
		link_end(k, stream, err);
		return;
	}
	if (dd->dk_state != DK_READY) {
		link_end(k, stream, "Docker is not reachable on this server");
		return;
	}
	if (link_nstreams(k) >= LINK_STREAMS_MAX) {
		link_end(k, stream, IMGX_BUSY);
		return;
	}
	char swap[DOCKER_IMAGE_MAX];
	if (wrong_image(dd, swap, sizeof swap))
		ref = swap;
	/* An export of it that has not sent a byte yet: this peer gets it too, whole. */
	struct iserve *lead = NULL;
	for (struct iserve *l = dd->iserves; l && !lead; l = l->next)
		if (!l->dead && !l->lead && l->dreq && l->sent == 0 && strcmp(l->ref, ref) == 0 &&
		    sharers(l) + 1 < IMGX_SHARE_MAX)
			lead = l;
	if (!lead && dd->niserves >= dd->conf.image_uploads) {
		link_end(k, stream, IMGX_BUSY);
		return;
	}
	if (docker_urlencode(ref, en, sizeof en) < 0) {
		link_end(k, stream, "image reference too long");
		return;
	}
	snprintf(path, sizeof path, "/images/%s/get", en);
	struct iserve *s = calloc(1, sizeof *s);
	if (!s) {
		link_end(k, stream, "out of memory");
		return;
	}
	s->dd = dd;
	s->link = k;
	s->stream = stream;
	s->lead = lead;
	str_copy(s->ref, sizeof s->ref, ref);
	s->next = dd->iserves;
	dd->iserves = s;
	link_streams(k, 1);
	if (lead) {
		log_info("image %s: serving it to a peer (sharing an export under way)", ref);
		return;
	}
	dd->niserves++;
	log_info("image %s: serving it to a peer", ref);
	if (!(s->dreq = docker_stream(dd->dk, path, iserve_data, iserve_done, s)))
		export_end(s, "cannot start a Docker request");
}

/* ---- fetching ---- */

static void fetch_next(struct fetch *f);

static struct image *fetch_image(struct fetch *f)
{
	return image_find(f->dd, f->ref);
}

static void fetch_detach(struct fetch *f)
{
	if (f->load)
		docker_cancel(f->dd->dk, f->load);
	if (f->check)
		docker_cancel(f->dd->dk, f->check);
	f->load = f->check = NULL;
	if (f->link) {
		if (f->sent && !f->got_end && link_is_open(f->link))
			link_send(f->link, CHAN_END, f->stream, "{}", 2);
		if (f->paused)
			link_read_pause(f->link, 0);
		if (f->counted)
			link_streams(f->link, -1);
	}
	f->link = NULL;
	f->sent = f->counted = f->got_end = f->paused = 0;
	f->held_len = 0;
	f->nloaded = 0;
	f->load_error[0] = '\0';
}

/* The fetch is over: the image is loaded, or no peer could give it. */
static void fetch_finish(struct fetch *f, int ok)
{
	struct dd *dd = f->dd;
	struct image *img = fetch_image(f);
	fetch_detach(f);
	f->dead = 1;
	dd_reap_soon(dd);
	if (!img)
		return;
	img->fetching = 0;
	if (ok && !f->peer_hex[0]) {
		image_pulled(dd, img);
		return;
	}
	if (ok) {
		emit(dd, "image.transfer",
		     json_pack("{s:s,s:s,s:s,s:I,s:I}", "image", f->ref, "status", "done", "peer",
		               f->peer_hex, "bytes", (json_int_t)f->bytes, "ms",
		               (json_int_t)(loop_now(dd->loop) - f->started)));
		image_pulled(dd, img);
		return;
	}
	uint64_t now = loop_now(dd->loop);
	if (!f->busy)
		img->busy_since = 0;
	else if (!img->busy_since)
		img->busy_since = now;
	if (f->busy && now - img->busy_since < IMGX_BUSY_WAIT_MS) {
		/* A holder is only busy: its slot frees when an upload ends, and those that have
		 * loaded meanwhile serve too. Ask again soon, neither the registry nor a back-off. */
		img->state = IMG_FAILED;
		img->retry_at = now + IMGX_BUSY_RETRY_MS;
		reconcile_soon(dd, IMGX_BUSY_RETRY_MS);
		return;
	}
	char why[300];
	snprintf(why, sizeof why, "from peers: %s", f->why[0] ? f->why : "no admitted peer to ask");
	log_warnx("image %s: %s", f->ref, why);
	/* The registry's word, once it was asked, stays the reason shown: it says more. */
	if (img->why[0] && strncmp(img->why, "from peers: ", 12) != 0)
		str_copy(why, sizeof why, img->why);
	image_failed(dd, img, why);
}

/* This peer failed: say so, and ask the next. */
static void fetch_failed(struct fetch *f, const char *why)
{
	log_warnx("image %s from %s: %s", f->ref, f->peer_hex, why);
	if (strcmp(why, IMGX_BUSY) == 0)
		f->busy = 1;
	else
		str_copy(f->why, sizeof f->why, why); /* "busy" is no reason to show a user */
	emit(f->dd, "image.transfer", json_pack("{s:s,s:s,s:s,s:s}", "image", f->ref, "status",
	                                        "failed", "peer", f->peer_hex, "error", why));
	fetch_detach(f);
	fetch_next(f);
}

static void remove_done(struct docker *d, int status, const char *body, size_t len,
                        const char *err, void *arg)
{
	(void)d, (void)body, (void)len, (void)err;
	log_info("removed the wrong image %s: HTTP %d", (char *)arg, status);
	free(arg);
}

/* The image a peer served was not the one asked for: remove what it loaded, avoid the peer. */
static void fetch_wrong(struct fetch *f, const char *why)
{
	char en[3 * DOCKER_IMAGE_MAX], path[3 * DOCKER_IMAGE_MAX + 32];
	for (unsigned i = 0; i < f->nloaded; i++) {
		if (strcmp(f->loaded[i], f->ref) == 0 || docker_urlencode(f->loaded[i], en, sizeof en) < 0)
			continue;
		snprintf(path, sizeof path, "/images/%s", en);
		char *name = strdup(f->loaded[i]);
		if (name && !docker_request(f->dd->dk, "DELETE", path, NULL, 30000, NULL, remove_done, name))
			free(name);
	}
	avoid(f->dd, f->peer);
	log_warnx("image %s: peer %s avoided for %d s", f->ref, f->peer_hex, IMGX_AVOID_MS / 1000);
	fetch_failed(f, why);
}

static void check_done(struct docker *d, int status, const char *body, size_t len,
                       const char *err, void *arg)
{
	(void)d, (void)body, (void)len, (void)err;
	struct fetch *f = arg;
	f->check = NULL;
	if (status == 200)
		fetch_finish(f, 1);
	else if (status == 404)
		fetch_wrong(f, "the loaded image is not the one asked for (digest check failed)");
	else
		fetch_failed(f, "cannot inspect the loaded image");
}

/* "Loaded image: NAME" / "Loaded image ID: sha256:..." lines, and errors. */
static void load_line(struct docker *d, const char *line, size_t len, void *arg)
{
	(void)d;
	struct fetch *f = arg;
	char err[128];
	json_t *o = ipc_parse_line(line, len, err, sizeof err);
	if (!o)
		return;
	const char *e = json_string_value(json_object_get(o, "error"));
	const char *s = json_string_value(json_object_get(o, "stream"));
	if (e && !f->load_error[0])
		str_copy(f->load_error, sizeof f->load_error, e);
	const char *p = NULL;
	if (s && strncmp(s, "Loaded image ID: ", 17) == 0)
		p = s + 17;
	else if (s && strncmp(s, "Loaded image: ", 14) == 0)
		p = s + 14;
	if (p && f->nloaded < IMGX_LOADED_MAX) {
		char *dst = f->loaded[f->nloaded];
		size_t n = strcspn(p, "\r\n");
		if (n > 0 && n < DOCKER_IMAGE_MAX) {
			memcpy(dst, p, n);
			dst[n] = '\0';
			f->nloaded++;
		}
	}
	json_decref(o);
}

static void load_done(struct docker *d, int status, const char *body, size_t len,
                      const char *err, void *arg)
{
	(void)d;
	struct fetch *f = arg;
	char msg[320], en[3 * DOCKER_IMAGE_MAX], path[3 * DOCKER_IMAGE_MAX + 32];
	f->load = NULL;
	if (status < 200 || status >= 300 || f->load_error[0]) {
		if (f->load_error[0])
			snprintf(msg, sizeof msg, "Docker's load: %s", f->load_error);
		else if (status == 0)
			snprintf(msg, sizeof msg, "Docker's load: %s", err ? err : "transfer failed");
		else
			docker_parse_error(body, len, msg, sizeof msg);
		/* A peer that sent something Docker cannot load sent a wrong image. */
		if (f->got_end)
			fetch_wrong(f, msg);
		else
			fetch_failed(f, msg);
		return;
	}
	if (!f->got_end) {
		fetch_failed(f, "Docker's load ended before the peer's stream");
		return;
	}
	if (docker_urlencode(f->ref, en, sizeof en) < 0) {
		fetch_failed(f, "image reference too long");
		return;
	}
	snprintf(path, sizeof path, "/images/%s/json", en);
	if (!(f->check = docker_request(f->dd->dk, "GET", path, NULL, 30000, NULL, check_done, f)))
		fetch_failed(f, "cannot start a Docker request");
}

/* Write what the load has room for; pause the link while some is held. */
static void fetch_feed(struct fetch *f)
{
	if (f->held_len) {
		size_t n = docker_upload_write(f->dd->dk, f->load, f->held, f->held_len);
		memmove(f->held, f->held + n, f->held_len - n);
		f->held_len -= n;
	}
	if (f->held_len && !f->paused && f->link) {
		link_read_pause(f->link, 1);
		f->paused = 1;
	} else if (!f->held_len && f->paused && f->link) {
		link_read_pause(f->link, 0);
		f->paused = 0;
	}
	if (!f->held_len && f->got_end)
		docker_upload_end(f->dd->dk, f->load);
}

static void load_room(struct docker *d, void *arg)
{
	(void)d;
	struct fetch *f = arg;
	if (!f->dead && f->load)
		fetch_feed(f);
}

static void fetch_send(struct fetch *f)
{
	json_t *o = json_pack("{s:s,s:s}", "op", "image", "image", f->ref);
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	f->stream = link_stream_new(f->link);
	f->sent = 1;
	f->started = loop_now(f->dd->loop);
	if (!t || link_send(f->link, CHAN_REQ, f->stream, t, strlen(t)) < 0) {
		free(t);
		fetch_failed(f, "cannot send the request");
		return;
	}
	free(t);
	if (!(f->load = docker_upload(f->dd->dk, "/images/load?quiet=1", load_line, load_room,
	                              load_done, f)))
		fetch_failed(f, "cannot start Docker's load");
}

/* Ask the next admitted peer (not us, not avoided); none left: the fetch failed. The walk
 * starts past us in the peer list, which every server holds in the same order, so the
 * servers fetching one image at once ask different peers first rather than all the first
 * one (whose upload slots they would fill while the others' loaded copies sat idle). */
static void fetch_next(struct fetch *f)
{
	struct dd *dd = f->dd;
	char err[256];
	while (f->asked < dd->npeers) {
		const struct dd_peer *p = &dd->peers[(f->start + f->asked++) % dd->npeers];
		if (memcmp(p->addr, dd->self, SWIM_ADDR_LEN) == 0 || avoided(dd, p->addr))
			continue;
		memcpy(f->peer, p->addr, SWIM_ADDR_LEN);
		swim_addr_hex(p->addr, f->peer_hex);
		if (!(f->link = link_to(dd, p, err, sizeof err))) {
			str_copy(f->why, sizeof f->why, err);
			continue;
		}
		link_streams(f->link, 1);
		f->counted = 1;
		emit(dd, "image.transfer", json_pack("{s:s,s:s,s:s}", "image", f->ref, "status",
		                                     "started", "peer", f->peer_hex));
		if (link_is_open(f->link))
			fetch_send(f);
		return;
	}
	fetch_finish(f, 0);
}

/* Before the peers: Docker may hold it by now (loaded by hand, or by another service's fetch). */
static void local_done(struct docker *d, int status, const char *body, size_t len,
                       const char *err, void *arg)
{
	(void)d, (void)body, (void)len, (void)err;
	struct fetch *f = arg;
	f->check = NULL;
	if (status == 200) {
		log_info("image %s: Docker holds it now", f->ref);
		fetch_finish(f, 1);
	} else
		fetch_next(f);
}

static int peers_usable(struct dd *dd, const char *ref)
{
	/* A repository digest (name@sha256:) is not kept by save and load: it could not be checked. */
	return dd->chan_on && dd->have_peers && !strchr(ref, '@');
}

void image_get(struct dd *dd, struct image *img)
{
	enum img_source src = dd->image_source;
	int peers_turn = src == SRC_PEERS_ONLY || (src == SRC_PEERS_FIRST && img->turn == 0) ||
	                 (src == SRC_REGISTRY_FIRST && img->turn == 1);
	if (!peers_turn) {
		ops_pull(dd, img);
		return;
	}
	if (!peers_usable(dd, img->ref)) {
		if (src == SRC_PEERS_ONLY) {
			img->state = IMG_PULLING;
			image_failed(dd, img, strchr(img->ref, '@')
			                          ? "a repository digest cannot be checked on a peer's image"
			                          : "the channel to peers is off");
		} else {
			img->turn = !img->turn;
			ops_pull(dd, img);
		}
		return;
	}
	struct fetch *f = calloc(1, sizeof *f);
	if (f)
		f->held = malloc(CHAN_FRAME_MAX);
	if (!f || !f->held) {
		if (f)
			free(f);
		img->state = IMG_PULLING;
		image_failed(dd, img, "out of memory");
		return;
	}
	f->dd = dd;
	str_copy(f->ref, sizeof f->ref, img->ref);
	for (size_t i = 0; i < dd->npeers; i++)
		if (memcmp(dd->peers[i].addr, dd->self, SWIM_ADDR_LEN) == 0)
			f->start = i + 1;
	img->state = IMG_PULLING;
	img->fetching = 1;
	f->nextf = dd->fetches;
	dd->fetches = f;
	log_info("image %s: asking peers", img->ref);
	char en[3 * DOCKER_IMAGE_MAX], path[3 * DOCKER_IMAGE_MAX + 32];
	if (docker_urlencode(f->ref, en, sizeof en) == 0) {
		snprintf(path, sizeof path, "/images/%s/json", en);
		f->check = docker_request(dd->dk, "GET", path, NULL, 10000, NULL, local_done, f);
	}
	if (!f->check)
		fetch_next(f);
}

/* ---- what the links deliver ---- */

static struct fetch *fetch_find(struct dd *dd, struct link *k, uint32_t stream)
{
	for (struct fetch *f = dd->fetches; f; f = f->nextf)
		if (!f->dead && f->link == k && f->sent && f->stream == stream)
			return f;
	return NULL;
}

int imgx_on_frame(struct dd *dd, struct link *k, uint8_t type, uint32_t stream,
                  const uint8_t *payload, size_t len)
{
	char err[256];
	if (link_is_server(k)) {
		if (type == CHAN_END) {
			struct iserve *s = iserve_find(dd, k, stream);
			if (!s)
				return 0;
			s->link = NULL; /* the peer ended it: no END back */
			link_streams(k, -1);
			iserve_end(s, NULL);
			return 1;
		}
		if (type != CHAN_REQ || len > CHAN_REQ_MAX)
			return 0;
		json_t *o = ipc_parse_line((const char *)payload, len, err, sizeof err);
		const char *op = o ? json_string_value(json_object_get(o, "op")) : NULL;
		int ours = op && strcmp(op, "image") == 0;
		if (ours) {
			if (iserve_find(dd, k, stream))
				link_close(k, "a request on a stream already open");
			else
				serve_image(dd, k, stream, o);
		}
		json_decref(o);
		return ours;
	}
	struct fetch *f = fetch_find(dd, k, stream);
	if (!f)
		return 0;
	if (type == CHAN_DATA) {
		if (f->got_end || !f->load) {
			fetch_failed(f, "data after the end");
			return 1;
		}
		f->bytes += len;
		size_t n = f->held_len ? 0 : docker_upload_write(dd->dk, f->load, payload, len);
		if (n < len) {
			if (f->held_len + (len - n) > CHAN_FRAME_MAX) {
				fetch_failed(f, "the peer sent past the load's room");
				return 1;
			}
			memcpy(f->held + f->held_len, payload + n, len - n);
			f->held_len += len - n;
		}
		fetch_feed(f);
	} else if (type == CHAN_END) {
		json_t *o = len <= CHAN_REQ_MAX ? ipc_parse_line((const char *)payload, len, err, sizeof err)
		                                : NULL;
		const char *e = o ? json_string_value(json_object_get(o, "error")) : "a malformed end";
		char why[300];
		if (e)
			snprintf(why, sizeof why, "%s", e);
		json_decref(o);
		f->got_end = 1;
		if (e) {
			fetch_failed(f, why);
			return 1;
		}
		if (f->load)
			fetch_feed(f);
	} else
		link_close(k, "an unexpected frame type from a server");
	return 1;
}

void imgx_on_open(struct dd *dd, struct link *k)
{
	for (struct fetch *f = dd->fetches; f; f = f->nextf)
		if (!f->dead && f->link == k && !f->sent)
			fetch_send(f);
}

void imgx_on_drain(struct dd *dd, struct link *k)
{
	for (struct iserve *s = dd->iserves; s; s = s->next) {
		struct iserve *lead = s->lead ? s->lead : s;
		if (!s->dead && s->link == k && !lead->dead && lead->dreq)
			docker_resume(dd->dk, lead->dreq);
	}
}

void imgx_on_close(struct dd *dd, struct link *k, const char *why)
{
	char msg[300];
	snprintf(msg, sizeof msg, "channel: %s", why);
	for (struct iserve *s = dd->iserves; s; s = s->next)
		if (!s->dead && s->link == k) {
			s->link = NULL;
			iserve_end(s, NULL);
		}
	for (struct fetch *f = dd->fetches; f; f = f->nextf)
		if (!f->dead && f->link == k) {
			f->counted = f->paused = 0;
			f->sent = 0;
			f->link = NULL;
			fetch_failed(f, msg);
		}
}

void imgx_reap(struct dd *dd)
{
	struct fetch **fp = &dd->fetches;
	while (*fp) {
		struct fetch *f = *fp;
		if (f->dead) {
			*fp = f->nextf;
			free(f->held);
			free(f);
		} else
			fp = &f->nextf;
	}
	struct iserve **sp = &dd->iserves;
	while (*sp) {
		struct iserve *s = *sp;
		if (s->dead) {
			*sp = s->next;
			if (s->dreq)
				docker_cancel(dd->dk, s->dreq);
			free(s);
		} else
			sp = &s->next;
	}
}

void imgx_free(struct dd *dd)
{
	for (struct fetch *f = dd->fetches; f; f = f->nextf)
		if (!f->dead) {
			fetch_detach(f);
			f->dead = 1;
		}
	for (struct iserve *s = dd->iserves; s; s = s->next)
		s->dead = 1;
	if (dd->upload_timer)
		loop_timer_cancel(dd->loop, dd->upload_timer);
	dd->upload_timer = 0;
	imgx_reap(dd);
}
