/* fuzz_chan.c: libFuzzer target for what a peer sends on the channel: hellos, confirms, frames, and Docker's log frames. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chan.h"
#include "docker_logs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct swim_keys ck, sk;
static uint8_t payload[CHAN_FRAME_MAX];

static void sink(const char *d, size_t n, int stream, void *arg)
{
	(void)d;
	(void)arg;
	if (n == 0 || (stream != 1 && stream != 2))
		abort();
}

/* An open server session, the client's side thrown away. */
static struct chan_sess *server_open(void)
{
	uint8_t hello[CHAN_HELLO_LEN], reply[CHAN_REPLY_LEN], confirm[CHAN_CONFIRM_LEN];
	uint8_t a[SWIM_ADDR_LEN] = {1}, b[SWIM_ADDR_LEN] = {2};
	struct chan_sess *c = chan_new(), *s = chan_new();
	chan_hello(c, a, b, hello);
	if (chan_accept(s, &sk, ck.pk, hello, reply, NULL, 0) < 0 ||
	    chan_finish(c, &ck, sk.pk, reply, confirm, NULL, 0) < 0 || chan_confirm(s, confirm, NULL, 0) < 0)
		abort();
	chan_free(c);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!sk.sk) {
		if (sodium_init() < 0)
			abort();
		ck.sk = sodium_malloc(32);
		sk.sk = sodium_malloc(32);
		crypto_box_keypair(ck.pk, ck.sk);
		crypto_box_keypair(sk.pk, sk.sk);
	}
	if (size == 0)
		return 0;
	uint8_t mode = data[0] % 3;
	data++;
	size--;
	if (mode == 0 && size >= CHAN_HELLO_LEN + CHAN_CONFIRM_LEN) {
		/* A hello and a confirm from someone: never an open channel without the key. */
		uint8_t a[SWIM_ADDR_LEN], b[SWIM_ADDR_LEN], reply[CHAN_REPLY_LEN];
		struct chan_sess *s = chan_new();
		if (chan_hello_parse(data, a, b, NULL, 0) == 0 &&
		    chan_accept(s, &sk, ck.pk, data, reply, NULL, 0) == 0 &&
		    chan_confirm(s, data + CHAN_HELLO_LEN, NULL, 0) == 0)
			abort();
		chan_free(s);
	} else if (mode == 1) {
		/* Frames on an open channel: lengths bounded, none authentic. */
		struct chan_sess *s = server_open();
		size_t off = 0;
		while (size - off >= 4) {
			size_t n = chan_frame_len(data + off);
			if (n == 0 || n > size - off)
				break;
			if (n > CHAN_WIRE_MAX)
				abort();
			uint8_t type;
			uint32_t stream;
			size_t plen;
			if (chan_open(s, data + off, n, &type, &stream, payload, &plen, NULL, 0) == 0)
				abort();
			off += n;
		}
		chan_free(s);
	} else if (mode == 2) {
		struct docker_demux m = {0};
		size_t step = size ? (size_t)data[0] % 17 + 1 : 1;
		for (size_t off = 0; off < size; off += step)
			if (docker_demux_feed(&m, (const char *)data + off, off + step <= size ? step : size - off,
			                      sink, NULL, NULL, 0) < 0)
				break;
	}
	return 0;
}
