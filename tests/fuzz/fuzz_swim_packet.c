/* fuzz_swim_packet.c: libFuzzer target for SWIM packets: header checks, body decoding (which must
 * re-encode byte for byte), and the state machine fed whatever decodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swim_core.h"
#include "swim_crypto.h"
#include "swim_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct swim_body body, echo;

/* Everything the state machine sends must itself decode. */
static void on_send(void *arg, const uint8_t to[SWIM_ADDR_LEN], const uint8_t *b, size_t len)
{
	(void)arg;
	(void)to;
	if (len == 0 || len > SWIM_BODY_MAX || swim_wire_decode(b, len, &echo, NULL, 0) < 0)
		abort();
}

static void on_change(void *arg, const struct swim_member *m, int old, int meta_changed)
{
	(void)arg;
	(void)old;
	(void)meta_changed;
	if (m->state < SWIM_ALIVE || m->state > SWIM_LEFT || m->meta_len > SWIM_META_MAX)
		abort();
}

static void reencode(const uint8_t *data, size_t size)
{
	uint8_t out[SWIM_BODY_MAX];
	size_t off = 0, hdr;
	for (size_t i = 0; i < body.nmsg; i++) {
		const struct swim_msg *m = &body.msg[i];
		int rc = 0;
		switch (m->type) {
		case SWIM_MSG_PING:
		case SWIM_MSG_ACK:
		case SWIM_MSG_NACK: rc = swim_wire_probe(out, sizeof out, &off, m->type, m->probe); break;
		case SWIM_MSG_PING_REQ:
			rc = swim_wire_ping_req(out, sizeof out, &off, m->probe, m->target, m->timeout_ms,
			                        m->flags & SWIM_PR_NACK);
			break;
		case SWIM_MSG_ALIVE:
			rc = swim_wire_alive(out, sizeof out, &off, m->e.addr, m->e.incarnation, m->e.meta,
			                     m->e.meta_len, m->e.has_meta);
			break;
		case SWIM_MSG_SUSPECT:
		case SWIM_MSG_DEAD:
			rc = swim_wire_suspect_dead(out, sizeof out, &off, m->type, m->e.addr,
			                            m->e.incarnation, m->from);
			break;
		case SWIM_MSG_LEFT: rc = swim_wire_left(out, sizeof out, &off, m->e.addr, m->e.incarnation); break;
		case SWIM_MSG_PUSHPULL:
			rc = swim_wire_pp_begin(out, sizeof out, &off, m->flags & SWIM_PP_REPLY, &hdr);
			for (size_t k = 0; k < m->count && rc == 0; k++)
				rc = swim_wire_pp_entry(out, sizeof out, &off, hdr, &body.entries[m->first + k]);
			break;
		default: abort();
		}
		if (rc < 0)
			abort();
	}
	if (off != size || memcmp(out, data, size) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct swim *s;
	static uint8_t addrs[4][SWIM_ADDR_LEN];
	static uint64_t now = 1000;
	if (!s) {
		struct swim_config cfg = {1000, 500, 200, 30000, 3, 4, 6, 4, 3, 8};
		struct swim_io io = {on_send, on_change, NULL};
		for (int i = 0; i < 4; i++) {
			memset(addrs[i], 0, SWIM_ADDR_LEN);
			addrs[i][19] = (uint8_t)(i + 1);
		}
		s = swim_new(&cfg, addrs[0], &io, 42, now);
		for (int i = 1; i < 4; i++)
			swim_admit(s, addrs[i]);
	}
	/* The outer layer: header checks never read past size. */
	uint8_t from[SWIM_ADDR_LEN];
	(void)swim_packet_sender(data, size, from);

	if (swim_wire_decode(data, size, &body, NULL, 0) < 0)
		return 0;
	if (body.nmsg == 0 || body.nmsg > SWIM_MAX_MSGS || body.nentry > SWIM_MAX_ENTRIES)
		abort();
	reencode(data, size);
	now += 37;
	swim_handle(s, addrs[1 + size % 3], &body, now);
	swim_tick(s, now);
	if (swim_count(s) != 4)
		abort();
	return 0;
}
