/* swim_wire.c: the SWIM message codec: every field bounds-checked, nothing partially accepted. */
#include <string.h>

#include "errf.h"
#include "rec.h"
#include "swim_wire.h"

/* A read cursor: every get fails once the end would be passed, and stays failed. */
struct rd {
	const uint8_t *p;
	size_t len, off;
	int bad;
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = 1;
		return NULL;
	}
	const uint8_t *p = r->p + r->off;
	r->off += n;
	return p;
}

static uint8_t rd_u8(struct rd *r)
{
	const uint8_t *p = rd_take(r, 1);
	return p ? p[0] : 0;
}

static uint16_t rd_u16(struct rd *r)
{
	const uint8_t *p = rd_take(r, 2);
	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static uint32_t rd_u32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);
	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

static uint64_t rd_u64(struct rd *r)
{
	const uint8_t *p = rd_take(r, 8);
	uint64_t v = 0;
	for (int i = 0; p && i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* An incarnation: 64 bits on the wire, at most SWIM_INC_MAX. */
static int rd_inc(struct rd *r, uint64_t *inc, char *err, size_t errlen)
{
	*inc = rd_u64(r);
	if (!r->bad && *inc > SWIM_INC_MAX)
		return errf(err, errlen, "incarnation %llu above the limit %llu",
		            (unsigned long long)*inc, (unsigned long long)SWIM_INC_MAX);
	return 0;
}

static void rd_addr(struct rd *r, uint8_t out[SWIM_ADDR_LEN])
{
	const uint8_t *p = rd_take(r, SWIM_ADDR_LEN);
	if (p)
		memcpy(out, p, SWIM_ADDR_LEN);
}

static int rd_meta(struct rd *r, struct swim_entry *e, char *err, size_t errlen)
{
	uint8_t present = rd_u8(r);
	uint16_t n = rd_u16(r);
	if (r->bad)
		return 0;
	if (present > 1 || (!present && n != 0)) {
		errf(err, errlen, "bad metadata flag");
		return -1;
	}
	if (n > SWIM_META_MAX) {
		errf(err, errlen, "metadata of %u bytes (limit %d)", n, SWIM_META_MAX);
		return -1;
	}
	e->has_meta = present;
	e->meta_len = n;
	e->meta = rd_take(r, n);
	return 0;
}

static int rd_entry(struct rd *r, struct swim_entry *e, char *err, size_t errlen)
{
	rd_addr(r, e->addr);
	e->state = rd_u8(r);
	if (rd_inc(r, &e->incarnation, err, errlen) < 0)
		return -1;
	if (!r->bad && (e->state < SWIM_ALIVE || e->state > SWIM_LEFT)) {
		errf(err, errlen, "bad member state %u", e->state);
		return -1;
	}
	return rd_meta(r, e, err, errlen);
}

static int decode_one(struct rd *r, struct swim_body *out, struct swim_msg *m, char *err,
                      size_t errlen)
{
	switch (m->type) {
	case SWIM_MSG_PING:
	case SWIM_MSG_ACK:
	case SWIM_MSG_NACK:
		m->probe = rd_u32(r);
		return 0;
	case SWIM_MSG_PING_REQ:
		m->probe = rd_u32(r);
		rd_addr(r, m->target);
		m->timeout_ms = rd_u16(r);
		m->flags = rd_u8(r);
		if (!r->bad && (m->flags & ~SWIM_PR_NACK)) {
			errf(err, errlen, "bad ping-req flags 0x%02x", m->flags);
			return -1;
		}
		return 0;
	case SWIM_MSG_ALIVE:
		rd_addr(r, m->e.addr);
		if (rd_inc(r, &m->e.incarnation, err, errlen) < 0)
			return -1;
		m->e.state = SWIM_ALIVE;
		return rd_meta(r, &m->e, err, errlen);
	case SWIM_MSG_SUSPECT:
	case SWIM_MSG_DEAD:
		rd_addr(r, m->e.addr);
		if (rd_inc(r, &m->e.incarnation, err, errlen) < 0)
			return -1;
		rd_addr(r, m->from);
		m->e.state = m->type == SWIM_MSG_SUSPECT ? SWIM_SUSPECT : SWIM_DEAD;
		return 0;
	case SWIM_MSG_LEFT:
		rd_addr(r, m->e.addr);
		if (rd_inc(r, &m->e.incarnation, err, errlen) < 0)
			return -1;
		m->e.state = SWIM_LEFT;
		return 0;
	case SWIM_MSG_PUSHPULL: {
		m->flags = rd_u8(r);
		size_t count = rd_u8(r);
		if (r->bad)
			return 0;
		if (m->flags & ~SWIM_PP_REPLY) {
			errf(err, errlen, "bad push-pull flags 0x%02x", m->flags);
			return -1;
		}
		if (count > SWIM_MAX_ENTRIES - out->nentry) {
			errf(err, errlen, "too many push-pull entries");
			return -1;
		}
		m->first = out->nentry;
		m->count = count;
		for (size_t i = 0; i < count; i++)
			if (rd_entry(r, &out->entries[out->nentry++], err, errlen) < 0)
				return -1;
		return 0;
	}
	default:
		errf(err, errlen, "unknown message type %u", m->type);
		return -1;
	}
}

int swim_wire_decode(const uint8_t *buf, size_t len, struct swim_body *out, char *err,
                     size_t errlen)
{
	struct rd r = {buf, len, 0, 0};
	out->nmsg = 0;
	out->nentry = 0;
	if (len == 0) {
		errf(err, errlen, "empty body");
		return -1;
	}
	if (len > SWIM_BODY_MAX) {
		errf(err, errlen, "body of %zu bytes (limit %d)", len, SWIM_BODY_MAX);
		return -1;
	}
	while (r.off < r.len) {
		if (out->nmsg == SWIM_MAX_MSGS) {
			errf(err, errlen, "more than %d messages", SWIM_MAX_MSGS);
			return -1;
		}
		struct swim_msg *m = &out->msg[out->nmsg];
		memset(m, 0, sizeof *m);
		m->type = rd_u8(&r);
		if (decode_one(&r, out, m, err, errlen) < 0)
			return -1;
		if (r.bad) {
			errf(err, errlen, "message %zu (type %u) truncated", out->nmsg, m->type);
			return -1;
		}
		out->nmsg++;
	}
	return 0;
}

/* A write cursor over buf[0..cap). */
static void wr_u8(uint8_t *p, size_t *o, uint8_t v) { p[(*o)++] = v; }
static void wr_u16(uint8_t *p, size_t *o, uint16_t v)
{
	p[(*o)++] = (uint8_t)(v >> 8);
	p[(*o)++] = (uint8_t)v;
}
static void wr_u32(uint8_t *p, size_t *o, uint32_t v)
{
	for (int s = 24; s >= 0; s -= 8)
		p[(*o)++] = (uint8_t)(v >> s);
}
static void wr_bytes(uint8_t *p, size_t *o, const uint8_t *src, size_t n)
{
	if (n)
		memcpy(p + *o, src, n);
	*o += n;
}

static void wr_u64(uint8_t *p, size_t *o, uint64_t v)
{
	for (int s = 56; s >= 0; s -= 8)
		p[(*o)++] = (uint8_t)(v >> s);
}

static int room(size_t cap, size_t off, size_t need) { return off <= cap && cap - off >= need; }

int swim_wire_probe(uint8_t *buf, size_t cap, size_t *off, uint8_t type, uint32_t probe)
{
	if (!room(cap, *off, 5))
		return -1;
	wr_u8(buf, off, type);
	wr_u32(buf, off, probe);
	return 0;
}

int swim_wire_ping_req(uint8_t *buf, size_t cap, size_t *off, uint32_t probe,
                       const uint8_t target[SWIM_ADDR_LEN], uint16_t timeout_ms, int nack)
{
	if (!room(cap, *off, 1 + 4 + SWIM_ADDR_LEN + 2 + 1))
		return -1;
	wr_u8(buf, off, SWIM_MSG_PING_REQ);
	wr_u32(buf, off, probe);
	wr_bytes(buf, off, target, SWIM_ADDR_LEN);
	wr_u16(buf, off, timeout_ms);
	wr_u8(buf, off, nack ? SWIM_PR_NACK : 0);
	return 0;
}

size_t swim_wire_entry_size(size_t meta_len) { return SWIM_ADDR_LEN + 1 + 8 + 1 + 2 + meta_len; }

static void wr_meta(uint8_t *buf, size_t *off, const uint8_t *meta, size_t n, int has)
{
	wr_u8(buf, off, has ? 1 : 0);
	wr_u16(buf, off, has ? (uint16_t)n : 0);
	if (has)
		wr_bytes(buf, off, meta, n);
}

int swim_wire_alive(uint8_t *buf, size_t cap, size_t *off, const uint8_t addr[SWIM_ADDR_LEN],
                    uint64_t inc, const uint8_t *meta, size_t meta_len, int has_meta)
{
	if (!has_meta)
		meta_len = 0;
	if (meta_len > SWIM_META_MAX || !room(cap, *off, swim_wire_entry_size(meta_len)))
		return -1;
	wr_u8(buf, off, SWIM_MSG_ALIVE);
	wr_bytes(buf, off, addr, SWIM_ADDR_LEN);
	wr_u64(buf, off, inc);
	wr_meta(buf, off, meta, meta_len, has_meta);
	return 0;
}

int swim_wire_suspect_dead(uint8_t *buf, size_t cap, size_t *off, uint8_t type,
                           const uint8_t addr[SWIM_ADDR_LEN], uint64_t inc,
                           const uint8_t from[SWIM_ADDR_LEN])
{
	if ((type != SWIM_MSG_SUSPECT && type != SWIM_MSG_DEAD) ||
	    !room(cap, *off, 1 + 2 * SWIM_ADDR_LEN + 8))
		return -1;
	wr_u8(buf, off, type);
	wr_bytes(buf, off, addr, SWIM_ADDR_LEN);
	wr_u64(buf, off, inc);
	wr_bytes(buf, off, from, SWIM_ADDR_LEN);
	return 0;
}

int swim_wire_left(uint8_t *buf, size_t cap, size_t *off, const uint8_t addr[SWIM_ADDR_LEN],
                   uint64_t inc)
{
	if (!room(cap, *off, 1 + SWIM_ADDR_LEN + 8))
		return -1;
	wr_u8(buf, off, SWIM_MSG_LEFT);
	wr_bytes(buf, off, addr, SWIM_ADDR_LEN);
	wr_u64(buf, off, inc);
	return 0;
}

int swim_wire_pp_begin(uint8_t *buf, size_t cap, size_t *off, int reply, size_t *hdr)
{
	if (!room(cap, *off, 3))
		return -1;
	wr_u8(buf, off, SWIM_MSG_PUSHPULL);
	*hdr = *off;
	wr_u8(buf, off, reply ? SWIM_PP_REPLY : 0);
	wr_u8(buf, off, 0);
	return 0;
}

int swim_wire_pp_entry(uint8_t *buf, size_t cap, size_t *off, size_t hdr,
                       const struct swim_entry *e)
{
	size_t n = e->has_meta ? e->meta_len : 0;
	if (buf[hdr + 1] >= SWIM_MAX_ENTRIES || n > SWIM_META_MAX ||
	    e->state < SWIM_ALIVE || e->state > SWIM_LEFT || !room(cap, *off, swim_wire_entry_size(n)))
		return -1;
	wr_bytes(buf, off, e->addr, SWIM_ADDR_LEN);
	wr_u8(buf, off, e->state);
	wr_u64(buf, off, e->incarnation);
	wr_meta(buf, off, e->meta, n, e->has_meta);
	buf[hdr + 1]++;
	return 0;
}

const char *swim_state_name(int state)
{
	switch (state) {
	case SWIM_ALIVE: return "alive";
	case SWIM_SUSPECT: return "suspect";
	case SWIM_DEAD: return "dead";
	case SWIM_LEFT: return "left";
	default: return "unknown";
	}
}

void swim_addr_hex(const uint8_t addr[SWIM_ADDR_LEN], char out[43])
{
	static const char hex[] = "0123456789abcdef";
	out[0] = '0';
	out[1] = 'x';
	for (size_t i = 0; i < SWIM_ADDR_LEN; i++) {
		out[2 + 2 * i] = hex[addr[i] >> 4];
		out[3 + 2 * i] = hex[addr[i] & 15];
	}
	out[42] = '\0';
}

static int hexval(char c, int lower_only)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (!lower_only && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hex_parse(const char *s, uint8_t *out, size_t n, int lower_only)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i], lower_only), lo = hexval(s[2 * i + 1], lower_only);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int swim_hex_parse(const char *s, uint8_t *out, size_t n) { return hex_parse(s, out, n, 0); }

int swim_addr_parse(const char *s, uint8_t addr[SWIM_ADDR_LEN])
{
	if (!rec_address_ok(s))
		return -1;
	return hex_parse(s + 2, addr, SWIM_ADDR_LEN, 1);
}
