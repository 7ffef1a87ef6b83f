/* docker_logs.h: Docker's log stream: the 8-byte frame headers of a container without a TTY, undone. */
#ifndef CANTEEN_DOCKER_LOGS_H
#define CANTEEN_DOCKER_LOGS_H

#include <stddef.h>
#include <stdint.h>

/*
 * GET /containers/{id}/logs of a container without a TTY (canteen never makes one with a TTY)
 * is a sequence of frames: stream (1 byte: 0 stdin, 1 stdout, 2 stderr) | 0 0 0 | size (u32
 * big-endian) | size bytes of output. A header is checked (stream at most 2, zero padding);
 * a frame may arrive in any number of pieces.
 */
struct docker_demux {
	uint8_t hdr[8];
	size_t hlen;      /* header bytes held */
	uint32_t left;    /* output bytes of the current frame still to come */
	int stream;
};

/* One piece of output (borrowed) of stream 1 or 2. */
typedef void (*docker_demux_cb)(const char *data, size_t len, int stream, void *arg);

/* Feed n bytes; each piece of output goes to out. 0, or -1 with err on a bad header (the
 * stream is then not a multiplexed log stream and must be dropped). */
int docker_demux_feed(struct docker_demux *m, const char *in, size_t n, docker_demux_cb out,
                      void *arg, char *err, size_t errlen);

#endif
