/* fuzz_swim_struct.c: structure-aware SWIM fuzzing: the input is a script of valid messages (built
 * with the encoders, about a small set of members) fed to a 5-member state machine over time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swim_core.h"
#include "swim_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NM 6 /* members 0..4 admitted (0 is us), 5 never admitted */

static struct swim_body body;

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint64_t take_inc(struct in *in, uint64_t near)
{
	uint8_t k = take(in);
	uint64_t v = 0;
	switch (k & 3) {
	case 0: v = near + (k >> 2); break;                       /* just above what we hold */
	case 1: v = near > (k >> 2) ? near - (k >> 2) : 0; break;
	case 2: v = near + SWIM_INC_JUMP_MAX - 2 + (k >> 6); break; /* around the jump bound */
	default:
		for (int i = 0; i < 8; i++)
			v = v << 8 | take(in);
		break;
	}
	/* The encoders write more; the decoder refuses it (tested in fuzz_swim_packet). */
	return v > SWIM_INC_MAX ? SWIM_INC_MAX - (k & 1) : v;
}

static void on_send(void *arg, const uint8_t to[SWIM_ADDR_LEN], const uint8_t *b, size_t len)
{
	static struct swim_body echo;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t addrs[NM][SWIM_ADDR_LEN];
	struct swim_config cfg = {1000, 500, 200, 30000, 3, 4, 6, 4, 3, 8};
	struct swim_io io = {on_send, on_change, NULL};
	uint64_t now = 1000000;
	for (int i = 0; i < NM; i++) {
		memset(addrs[i], 0xa0 + i, SWIM_ADDR_LEN);
	}
	struct swim *s = swim_new(&cfg, addrs[0], &io, 42, now);
	if (!s)
		abort();
	for (int i = 1; i < NM - 1; i++)
		swim_admit(s, addrs[i]);
	struct in in = {data, size};
	uint8_t buf[SWIM_BODY_MAX], meta[SWIM_META_MAX];
	for (int pkt = 0; pkt < 64 && in.n; pkt++) {
		uint8_t op = take(&in);
		if (op >= 0xf0) { /* time passes, or the caller acts */
			now += (uint64_t)take(&in) * 50;
			switch (op & 3) {
			case 0: swim_tick(s, now); break;
			case 1: swim_set_meta(s, buf, take(&in) % 16, now); break;
			case 2: swim_revoke(s, addrs[1 + take(&in) % (NM - 2)]); break;
			default: swim_admit(s, addrs[1 + take(&in) % (NM - 1)]); break;
			}
			continue;
		}
		size_t off = 0, hdr = 0;
		unsigned nmsg = 1 + op % 6;
		for (unsigned k = 0; k < nmsg; k++) {
			uint8_t t = take(&in), who = take(&in) % NM, by = take(&in) % NM;
			const struct swim_member *m = swim_find(s, addrs[who]);
			uint64_t inc = take_inc(&in, m ? m->incarnation : 0);
			uint32_t probe = (uint32_t)take(&in) << 8 | take(&in);
			size_t ml = take(&in) % 24;
			for (size_t i = 0; i < ml; i++)
				meta[i] = take(&in);
			switch (t % 8) {
			case 0: swim_wire_probe(buf, sizeof buf, &off, SWIM_MSG_PING, probe); break;
			case 1: swim_wire_probe(buf, sizeof buf, &off, SWIM_MSG_ACK, probe); break;
			case 2: swim_wire_probe(buf, sizeof buf, &off, SWIM_MSG_NACK, probe); break;
			case 3: swim_wire_ping_req(buf, sizeof buf, &off, probe, addrs[who], (uint16_t)(probe & 0x3ff), t & 8); break;
			case 4: swim_wire_alive(buf, sizeof buf, &off, addrs[who], inc, meta, ml, t & 8); break;
			case 5: swim_wire_suspect_dead(buf, sizeof buf, &off, t & 8 ? SWIM_MSG_DEAD : SWIM_MSG_SUSPECT, addrs[who], inc, addrs[by]); break;
			case 6: swim_wire_left(buf, sizeof buf, &off, addrs[who], inc); break;
			default:
				if (swim_wire_pp_begin(buf, sizeof buf, &off, t & 8, &hdr) == 0)
					for (unsigned e = 0, ne = t >> 4; e < ne; e++) {
						struct swim_entry en = {.state = (uint8_t)(1 + take(&in) % 4),
						                        .incarnation = take_inc(&in, inc),
						                        .has_meta = ml > 0, .meta_len = (uint16_t)ml,
						                        .meta = meta};
						memcpy(en.addr, addrs[take(&in) % NM], SWIM_ADDR_LEN);
						if (swim_wire_pp_entry(buf, sizeof buf, &off, hdr, &en) < 0)
							break;
					}
				break;
			}
		}
		if (off == 0)
			continue;
		char why[256];
		if (swim_wire_decode(buf, off, &body, why, sizeof why) < 0) {
			fprintf(stderr, "decode: %s\n", why);
			abort(); /* everything the encoders write must decode */
		}
		now += take(&in) % 64;
		swim_handle(s, addrs[1 + op % (NM - 1)], &body, now);
		if (swim_next_deadline(s) <= now)
			swim_tick(s, now);
	}
	/* Whatever happened, the clock moving on settles without crashing. */
	for (int i = 0; i < 50; i++) {
		now += 1000;
		swim_tick(s, now);
	}
	swim_free(s);
	return 0;
}
