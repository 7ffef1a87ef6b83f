/* docker_api.h: Docker Engine API requests over a Unix socket, libcurl multi driven by loop.h. */
#ifndef CANTEEN_DOCKER_API_H
#define CANTEEN_DOCKER_API_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct docker;
struct docker_req;

/*
 * A finished request. status is the HTTP status (0 when the transfer failed: then err
 * says why and the Docker daemon is probably away). body is the answer (for a stream,
 * whatever followed the last complete line), borrowed for the callback only.
 * The request is freed after the callback returns.
 */
typedef void (*docker_done_cb)(struct docker *d, int status, const char *body, size_t len,
                               const char *err, void *arg);
/* One line of a streamed answer (/events, a pull), without its newline, borrowed. */
typedef void (*docker_line_cb)(struct docker *d, const char *line, size_t len, void *arg);

#define DOCKER_LINE_MAX (1024 * 1024)  /* longest line of a stream */
#define DOCKER_STREAM_BUF (256 * 1024) /* bytes of a raw stream held before it is paused */

/* Bytes of a raw stream (docker_stream), borrowed. Returns how many it took; taking fewer
 * than len holds the stream (the transfer is paused, nothing more is offered) until
 * docker_resume. */
typedef size_t (*docker_data_cb)(struct docker *d, const char *data, size_t len, void *arg);

/* sock is the Unix socket path. Owned by the caller: docker_free (cancels everything
 * without calling callbacks). NULL with err on failure. */
struct docker *docker_new(struct loop *l, const char *sock, char *err, size_t errlen);
void docker_free(struct docker *d);

/* Prefix every path with "/v<major>.<minor>" (0.0: no prefix). */
void docker_set_api(struct docker *d, unsigned major, unsigned minor);

/*
 * Start a request: method "GET"/"POST"/"DELETE", path (with query string, URL-encoded by
 * the caller), optional JSON body (copied). timeout_ms 0 means none (streams).
 * on_line, when set, makes it a stream: each complete line goes to on_line as it arrives.
 * Returns a handle valid until done runs or docker_cancel; NULL if it could not start
 * (then nothing is called).
 */
struct docker_req *docker_request(struct docker *d, const char *method, const char *path,
                                  const char *body, uint64_t timeout_ms, docker_line_cb on_line,
                                  docker_done_cb done, void *arg);
/*
 * A GET whose 2xx answer is a raw byte stream (container logs, an image export), without a
 * time-out: its bytes go to on_data as they arrive, at most DOCKER_STREAM_BUF held, the
 * transfer paused while they are not taken. done runs at the end with what was not taken
 * (or, for an answer that is not 2xx, Docker's error body). Returns as docker_request.
 */
struct docker_req *docker_stream(struct docker *d, const char *path, docker_data_cb on_data,
                                 docker_done_cb done, void *arg);
/* An upload's buffer has room again (called from the loop, never from inside a write). */
typedef void (*docker_room_cb)(struct docker *d, void *arg);
/*
 * A POST whose body is streamed (chunked, application/x-tar: an image load) as the caller
 * writes it: docker_upload_write takes what fits in DOCKER_STREAM_BUF and on_room says when
 * more fits; docker_upload_end completes the body. The answer goes to on_line and done as for
 * docker_request. Returns as docker_request.
 */
struct docker_req *docker_upload(struct docker *d, const char *path, docker_line_cb on_line,
                                 docker_room_cb on_room, docker_done_cb done, void *arg);
size_t docker_upload_write(struct docker *d, struct docker_req *r, const void *data, size_t len);
size_t docker_upload_room(const struct docker_req *r);
void docker_upload_end(struct docker *d, struct docker_req *r);
/* Offer a held stream's bytes again, and let the transfer go on once they are taken. */
void docker_resume(struct docker *d, struct docker_req *r);
/* Abort without calling done. Safe from inside any callback of this client. */
void docker_cancel(struct docker *d, struct docker_req *r);
/* Cancel every request (no callbacks). */
void docker_cancel_all(struct docker *d);
size_t docker_inflight(const struct docker *d);

/* Percent-encode s for a query string into out; -1 if it does not fit. */
int docker_urlencode(const char *s, char *out, size_t outlen);

/*
 * One request run to completion on a loop of its own, for command-line tools (canteen up):
 * never call it from inside an event loop. body (bodylen bytes, Content-Type ctype, NULL
 * for JSON) is optional. On 0, *status is the HTTP status and *answer (when answer is not
 * NULL) the body, NUL-terminated, owned by the caller. -1 with err when Docker did not answer.
 */
int docker_call(const char *sock, const char *method, const char *path, const void *body,
                size_t bodylen, const char *ctype, uint64_t timeout_ms, int *status, char **answer,
                char *err, size_t errlen);

#endif
