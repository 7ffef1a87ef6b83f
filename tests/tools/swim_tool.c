/* swim_tool.c: SWIM test helper: key pairs, hostile packets, and a malicious admitted member. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "loop.h"
#include "parse.h"
#include "swim_core.h"
#include "swim_crypto.h"
#include "swim_wire.h"

static void usage(void)
{
	fprintf(stderr,
	        "usage: swim_tool keygen FILE              write a key pair, print the public key\n"
	        "       swim_tool pubkey FILE              print a key file's public key\n"
	        "       swim_tool attack KEYFILE FROM PEERS TO BIND KIND [VICTIM]\n"
	        "  act as admitted member FROM (its key, bound at BIND) towards member TO.\n"
	        "  KIND: valid (a ping: prints 'ack' or 'no-reply'), replay, forged, truncated,\n"
	        "  oversized, foreign (another key claiming FROM), unknown (an unknown sender),\n"
	        "  reflect (TO's own direction). Hostile kinds carry a ping plus 'VICTIM is dead';\n"
	        "  each prints 'ack' or 'no-reply' per packet sent.\n"
	        "       swim_tool evil KEYFILE FROM PEERS BIND ACTION ARGS...\n"
	        "  play admitted member FROM (its key, bound at BIND), sealing what honest members\n"
	        "  never send. ACTION:\n"
	        "  gossip TO TYPE SUBJECT INC   one packet to TO: TYPE (suspect, dead, left, alive)\n"
	        "                               about SUBJECT at incarnation INC\n"
	        "  climb TO INC N               N accusations of TO about itself, at INC + k * 2^20\n"
	        "                               (k = 1..N): each within the bound a refutation allows\n"
	        "  record TO FILE               ping TO, save the sealed packet in FILE; 'ack'/'no-reply'\n"
	        "  replay TO FILE               resend FILE's packet to TO; 'ack' or 'no-reply'\n"
	        "  flood TO N MS                N packets of 64 push-pull requests to TO over MS ms;\n"
	        "                               prints 'sent BYTES received BYTES' (from TO, until\n"
	        "                               MS + 500 ms)\n");
	exit(2);
}

struct peerinfo {
	uint8_t addr[SWIM_ADDR_LEN], pk[SWIM_KEY_LEN];
	char endpoint[128];
};

static int find_peer(const char *peers, const char *want, struct peerinfo *out)
{
	FILE *f = fopen(peers, "r");
	char line[4096];
	int found = 0;
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof line, f)) {
		json_t *o = json_loads(line, 0, NULL);
		const char *a = json_string_value(json_object_get(o, "address"));
		const char *e = json_string_value(json_object_get(o, "endpoint"));
		const char *p = json_string_value(json_object_get(o, "pubkey"));
		if (a && e && p && strcmp(a, want) == 0 && swim_addr_parse(a, out->addr) == 0 &&
		    swim_hex_parse(p, out->pk, SWIM_KEY_LEN) == 0 && strlen(e) < sizeof out->endpoint) {
			memcpy(out->endpoint, e, strlen(e) + 1);
			found = 1;
		}
		json_decref(o);
	}
	fclose(f);
	return found ? 0 : -1;
}

static int resolve(const char *ep, struct sockaddr_storage *sa, socklen_t *len)
{
	char host[256], port[8], err[128];
	uint16_t p;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST}, *res;
	if (parse_hostport(ep, host, sizeof host, &p, err, sizeof err) < 0)
		return -1;
	snprintf(port, sizeof port, "%u", p);
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static uint64_t now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

struct ctx {
	int fd;
	struct sockaddr_storage to_sa;
	socklen_t to_len;
	struct swim_keys keys;
	struct swim_key_pool pool;
	struct swim_peer_key pk;
	struct peerinfo from, to;
	uint32_t probe;
	uint64_t seq;
};

/* A fresh sequence number: the clock, as canteen-swim does (swim_crypto.h). */
static uint64_t next_seq(struct ctx *c)
{
	c->seq = swim_seq_next(c->seq, now_us());
	return c->seq;
}

/* Wait up to ms for an ACK of c->probe from TO; 1 if one came. */
static int wait_ack(struct ctx *c, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= end)
			return 0;
		struct pollfd p = {c->fd, POLLIN, 0};
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		uint8_t pkt[SWIM_PKT_MAX + 1], body[SWIM_PKT_MAX];
		ssize_t n = recv(c->fd, pkt, sizeof pkt, 0);
		size_t blen;
		uint64_t seq;
		static struct swim_body b;
		if (n <= 0 || swim_open(&c->pk, c->from.addr, pkt, (size_t)n, now_us(), body, &blen, &seq) !=
		                  SWIM_DROP_NONE ||
		    swim_wire_decode(body, blen, &b, NULL, 0) < 0)
			continue;
		for (size_t i = 0; i < b.nmsg; i++)
			if (b.msg[i].type == SWIM_MSG_ACK && b.msg[i].probe == c->probe)
				return 1;
	}
}

static void send_report(struct ctx *c, const uint8_t *pkt, size_t n)
{
	if (sendto(c->fd, pkt, n, 0, (struct sockaddr *)&c->to_sa, c->to_len) < 0)
		perror("sendto");
	printf("%s\n", wait_ack(c, 700) ? "ack" : "no-reply");
	fflush(stdout);
}

static size_t make_body(struct ctx *c, uint8_t *body, const char *victim)
{
	size_t off = 0;
	uint8_t v[SWIM_ADDR_LEN];
	c->probe = (uint32_t)randombytes_random();
	swim_wire_probe(body, SWIM_BODY_MAX, &off, SWIM_MSG_PING, c->probe);
	if (victim && swim_addr_parse(victim, v) == 0)
		swim_wire_suspect_dead(body, SWIM_BODY_MAX, &off, SWIM_MSG_DEAD, v, 1000, c->from.addr);
	return off;
}

static int attack(struct ctx *c, const char *kind, const char *victim)
{
	uint8_t body[SWIM_BODY_MAX], pkt[2048];
	int harmless = strcmp(kind, "valid") == 0 || strcmp(kind, "replay") == 0;
	size_t blen = make_body(c, body, harmless ? NULL : victim);
	size_t n = swim_seal(&c->pk, c->from.addr, c->to.addr, next_seq(c), body, blen, pkt);
	if (strcmp(kind, "valid") == 0) {
		send_report(c, pkt, n);
	} else if (strcmp(kind, "replay") == 0) {
		/* The same bytes twice: the first is answered, the copy must not be. */
		send_report(c, pkt, n);
		send_report(c, pkt, n);
	} else if (strcmp(kind, "forged") == 0) {
		pkt[n - 5] ^= 0x40;
		send_report(c, pkt, n);
	} else if (strcmp(kind, "truncated") == 0) {
		send_report(c, pkt, n - 7);
		send_report(c, pkt, 30);
	} else if (strcmp(kind, "oversized") == 0) {
		memset(pkt + n, 0, sizeof pkt - n);
		send_report(c, pkt, 1500);
	} else if (strcmp(kind, "reflect") == 0) {
		/* The direction bit of a packet going the other way. */
		pkt[3 + SWIM_ADDR_LEN] ^= 1;
		send_report(c, pkt, n);
	} else if (strcmp(kind, "foreign") == 0 || strcmp(kind, "unknown") == 0) {
		uint8_t fpk[SWIM_KEY_LEN], fsk[SWIM_KEY_LEN];
		struct swim_keys fk = {.sk = fsk};
		struct swim_peer_key fp;
		uint8_t fake[SWIM_ADDR_LEN];
		crypto_box_keypair(fpk, fsk);
		memcpy(fk.pk, fpk, sizeof fpk);
		if (strcmp(kind, "unknown") == 0)
			randombytes_buf(fake, sizeof fake);
		else
			memcpy(fake, c->from.addr, sizeof fake);
		if (swim_peer_key_init(&fp, &c->pool, &fk, fake, c->to.pk, c->to.addr) < 0)
			return 1;
		n = swim_seal(&fp, fake, c->to.addr, now_us(), body, blen, pkt);
		swim_peer_key_free(&fp);
		sodium_memzero(fsk, sizeof fsk);
		send_report(c, pkt, n);
	} else {
		usage();
	}
	return 0;
}

/* Load KEYFILE, find FROM and TO in PEERS, bind BIND: argv = KEYFILE FROM PEERS TO BIND. */
static int ctx_open(struct ctx *c, char **argv)
{
	char err[512];
	memset(c, 0, sizeof *c);
	c->fd = -1;
	if (swim_keys_load(argv[0], &c->keys, err, sizeof err) < 0) {
		fprintf(stderr, "swim_tool: %s\n", err);
		return -1;
	}
	if (find_peer(argv[2], argv[1], &c->from) < 0 || find_peer(argv[2], argv[3], &c->to) < 0) {
		fprintf(stderr, "swim_tool: %s or %s is not in %s\n", argv[1], argv[3], argv[2]);
		return -1;
	}
	struct sockaddr_storage bsa;
	socklen_t blen;
	if (resolve(argv[4], &bsa, &blen) < 0 || resolve(c->to.endpoint, &c->to_sa, &c->to_len) < 0) {
		fprintf(stderr, "swim_tool: bad endpoint\n");
		return -1;
	}
	c->fd = socket(bsa.ss_family, SOCK_DGRAM, 0);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&bsa, blen) < 0) {
		fprintf(stderr, "swim_tool: bind %s: %s\n", argv[4], strerror(errno));
		return -1;
	}
	if (swim_peer_key_init(&c->pk, &c->pool, &c->keys, c->from.addr, c->to.pk, c->to.addr) < 0)
		return -1;
	return 0;
}

static void ctx_close(struct ctx *c)
{
	swim_peer_key_free(&c->pk);
	swim_key_pool_free(&c->pool);
	swim_keys_free(&c->keys);
	if (c->fd >= 0)
		close(c->fd);
}

static int cmd_attack(char **argv)
{
	struct ctx c;
	int rc = 1;
	if (ctx_open(&c, argv) == 0)
		rc = attack(&c, argv[5], argv[6]);
	ctx_close(&c);
	return rc;
}

/* ---- the malicious member ---- */

static void seal_send(struct ctx *c, const uint8_t *body, size_t len, uint8_t *pkt, size_t *n)
{
	*n = swim_seal(&c->pk, c->from.addr, c->to.addr, next_seq(c), body, len, pkt);
	if (sendto(c->fd, pkt, *n, 0, (struct sockaddr *)&c->to_sa, c->to_len) < 0)
		perror("sendto");
}

static int parse_inc(const char *s, uint64_t *inc)
{
	char err[128];
	return parse_u64(s, 0, UINT64_MAX, inc, err, sizeof err);
}

static int evil_gossip(struct ctx *c, const char *type, const char *subject, const char *incs)
{
	uint8_t body[SWIM_BODY_MAX], pkt[SWIM_PKT_MAX], v[SWIM_ADDR_LEN];
	size_t off = 0, n;
	uint64_t inc;
	if (swim_addr_parse(subject, v) < 0 || parse_inc(incs, &inc) < 0)
		usage();
	if (strcmp(type, "suspect") == 0 || strcmp(type, "dead") == 0)
		swim_wire_suspect_dead(body, sizeof body, &off,
		                       type[0] == 's' ? SWIM_MSG_SUSPECT : SWIM_MSG_DEAD, v, inc,
		                       c->from.addr);
	else if (strcmp(type, "left") == 0)
		swim_wire_left(body, sizeof body, &off, v, inc);
	else if (strcmp(type, "alive") == 0)
		swim_wire_alive(body, sizeof body, &off, v, inc, NULL, 0, 0);
	else
		usage();
	seal_send(c, body, off, pkt, &n);
	return 0;
}

static int evil_climb(struct ctx *c, const char *incs, const char *counts)
{
	uint64_t inc, count;
	char err[128];
	if (parse_inc(incs, &inc) < 0 || parse_u64(counts, 1, 1000000, &count, err, sizeof err) < 0)
		usage();
	for (uint64_t k = 1; k <= count; k++) {
		uint8_t body[SWIM_BODY_MAX], pkt[SWIM_PKT_MAX];
		size_t off = 0, n;
		/* The victim refutes at accused + 1, so the next accusation is within the bound. */
		uint64_t at = inc + k * ((uint64_t)SWIM_INC_JUMP_MAX);
		swim_wire_suspect_dead(body, sizeof body, &off, SWIM_MSG_SUSPECT, c->to.addr, at,
		                       c->from.addr);
		seal_send(c, body, off, pkt, &n);
		if (k % 64 == 0) {
			struct pollfd p = {c->fd, 0, 0};
			poll(&p, 1, 2); /* pace: stay within the victim's receive buffer */
		}
	}
	return 0;
}

static int evil_record(struct ctx *c, const char *file)
{
	uint8_t body[SWIM_BODY_MAX], pkt[SWIM_PKT_MAX];
	size_t off = 0, n;
	c->probe = (uint32_t)randombytes_random();
	swim_wire_probe(body, sizeof body, &off, SWIM_MSG_PING, c->probe);
	n = swim_seal(&c->pk, c->from.addr, c->to.addr, next_seq(c), body, off, pkt);
	FILE *f = fopen(file, "wb");
	if (!f || fwrite(&c->probe, sizeof c->probe, 1, f) != 1 || fwrite(pkt, 1, n, f) != n ||
	    fclose(f) != 0) {
		perror(file);
		return 1;
	}
	send_report(c, pkt, n);
	return 0;
}

static int evil_replay(struct ctx *c, const char *file)
{
	uint8_t pkt[SWIM_PKT_MAX + 1];
	FILE *f = fopen(file, "rb");
	if (!f || fread(&c->probe, sizeof c->probe, 1, f) != 1) {
		perror(file);
		return 1;
	}
	size_t n = fread(pkt, 1, sizeof pkt, f);
	fclose(f);
	if (n == 0 || n > SWIM_PKT_MAX)
		return 1;
	send_report(c, pkt, n);
	return 0;
}

static int same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		              &((const struct sockaddr_in *)b)->sin_addr, sizeof(struct in_addr)) == 0 &&
		       ((const struct sockaddr_in *)a)->sin_port == ((const struct sockaddr_in *)b)->sin_port;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	              &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0 &&
	       ((const struct sockaddr_in6 *)a)->sin6_port == ((const struct sockaddr_in6 *)b)->sin6_port;
}

/* Count what TO sends us until the deadline (ms on the monotonic clock). */
static void count_until(struct ctx *c, uint64_t end, uint64_t *got)
{
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= end)
			return;
		struct pollfd p = {c->fd, POLLIN, 0};
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		uint8_t buf[SWIM_PKT_MAX + 1];
		struct sockaddr_storage sa;
		socklen_t sl = sizeof sa;
		ssize_t r = recvfrom(c->fd, buf, sizeof buf, 0, (struct sockaddr *)&sa, &sl);
		if (r > 0 && same_host(&sa, &c->to_sa))
			*got += (uint64_t)r;
	}
}

static int evil_flood(struct ctx *c, const char *counts, const char *mss)
{
	uint64_t count, ms, sent = 0, got = 0;
	char err[128];
	if (parse_u64(counts, 1, 100000, &count, err, sizeof err) < 0 ||
	    parse_u64(mss, 1, 600000, &ms, err, sizeof err) < 0)
		usage();
	uint8_t body[SWIM_BODY_MAX], pkt[SWIM_PKT_MAX];
	size_t off = 0, hdr, n;
	for (int i = 0; i < SWIM_MAX_MSGS; i++)
		swim_wire_pp_begin(body, sizeof body, &off, 1, &hdr);
	uint64_t start = mono_ms();
	for (uint64_t k = 0; k < count; k++) {
		count_until(c, start + k * ms / count, &got);
		seal_send(c, body, off, pkt, &n);
		sent += n;
	}
	count_until(c, start + ms + 500, &got);
	printf("sent %llu received %llu\n", (unsigned long long)sent, (unsigned long long)got);
	return 0;
}

/* argv: KEYFILE FROM PEERS BIND ACTION TO ARGS... */
static int cmd_evil(int argc, char **argv)
{
	struct ctx c;
	if (argc < 6)
		usage();
	char *open_args[5] = {argv[0], argv[1], argv[2], argv[5], argv[3]};
	const char *action = argv[4];
	int rc = 1;
	if (ctx_open(&c, open_args) == 0) {
		if (strcmp(action, "gossip") == 0 && argc == 9)
			rc = evil_gossip(&c, argv[6], argv[7], argv[8]);
		else if (strcmp(action, "climb") == 0 && argc == 8)
			rc = evil_climb(&c, argv[6], argv[7]);
		else if (strcmp(action, "record") == 0 && argc == 7)
			rc = evil_record(&c, argv[6]);
		else if (strcmp(action, "replay") == 0 && argc == 7)
			rc = evil_replay(&c, argv[6]);
		else if (strcmp(action, "flood") == 0 && argc == 8)
			rc = evil_flood(&c, argv[6], argv[7]);
		else
			usage();
	}
	ctx_close(&c);
	return rc;
}

int main(int argc, char **argv)
{
	char err[512], hex[2 * SWIM_KEY_LEN + 1];
	uint8_t pk[SWIM_KEY_LEN];
	if (swim_crypto_init() < 0)
		return 1;
	if (argc == 3 && strcmp(argv[1], "keygen") == 0) {
		if (swim_keys_generate(argv[2], 0, pk, err, sizeof err) < 0) {
			fprintf(stderr, "swim_tool: %s\n", err);
			return 1;
		}
		sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
		printf("%s\n", hex);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "pubkey") == 0) {
		struct swim_keys k;
		if (swim_keys_load(argv[2], &k, err, sizeof err) < 0) {
			fprintf(stderr, "swim_tool: %s\n", err);
			return 1;
		}
		sodium_bin2hex(hex, sizeof hex, k.pk, sizeof k.pk);
		printf("%s\n", hex);
		swim_keys_free(&k);
		return 0;
	}
	if ((argc == 8 || argc == 9) && strcmp(argv[1], "attack") == 0)
		return cmd_attack(argv + 2);
	if (argc >= 8 && strcmp(argv[1], "evil") == 0)
		return cmd_evil(argc - 2, argv + 2);
	usage();
	return 2;
}
