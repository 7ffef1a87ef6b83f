/* eth_util.h: hex conversion and a bounded growable byte buffer for the eth_ modules. */
#ifndef CANTEEN_ETH_UTIL_H
#define CANTEEN_ETH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ETH_ADDR_LEN 20
#define ETH_HASH_LEN 32
/* Largest buffer any eth_ encoder grows to (transactions, ABI data, RPC answers). */
#define ETH_BUF_MAX (32u * 1024 * 1024)

/*
 * A growable byte buffer that refuses to grow past ETH_BUF_MAX. After a failed
 * append, err is set and every later append fails too, so a chain of appends needs
 * one check at the end. The buffer owns p; eth_buf_free releases it.
 */
struct eth_buf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

void eth_buf_init(struct eth_buf *b);
void eth_buf_free(struct eth_buf *b);
void eth_buf_reset(struct eth_buf *b);
int eth_buf_put(struct eth_buf *b, const void *data, size_t n);
int eth_buf_put_byte(struct eth_buf *b, uint8_t c);
/* n zero bytes. */
int eth_buf_put_zeros(struct eth_buf *b, size_t n);
/* Insert n bytes at offset off (off <= len), moving the tail. */
int eth_buf_insert(struct eth_buf *b, size_t off, const void *data, size_t n);

/*
 * Hex. eth_hex_decode accepts an optional "0x"/"0X" prefix and an even number of hex
 * digits; returns the byte count, or -1 if malformed or longer than outlen.
 * eth_hex_decode_exact requires exactly outlen bytes.
 * eth_hex_encode writes "0x" + 2n lowercase digits + NUL; outlen >= 2n + 3.
 * eth_hex_alloc returns a malloc'd "0x..." string (caller frees) or NULL.
 */
long eth_hex_decode(const char *s, uint8_t *out, size_t outlen);
int eth_hex_decode_exact(const char *s, uint8_t *out, size_t outlen);
/* Decode into a buffer (replacing its contents); -1 if malformed. */
int eth_hex_decode_buf(const char *s, struct eth_buf *out);
void eth_hex_encode(const uint8_t *p, size_t n, char *out, size_t outlen);
char *eth_hex_alloc(const uint8_t *p, size_t n);

/* Addresses: "0x" + 40 hex digits in, lowercase out (out: 43 bytes). A mixed-case
 * address must carry a valid EIP-55 checksum; all-lower and all-upper are accepted. */
int eth_addr_parse(const char *s, uint8_t addr[ETH_ADDR_LEN]);
void eth_addr_format(const uint8_t addr[ETH_ADDR_LEN], char out[43]);

/*
 * JSON-RPC quantities: "0x" followed by hex digits without leading zeros ("0x0" for 0).
 * eth_qty_parse is lenient about leading zeros (some nodes send them) but not about
 * anything else. eth_qty_format writes "0x..." into out (>= 19 bytes).
 */
int eth_qty_parse(const char *s, uint64_t *out);
void eth_qty_format(uint64_t v, char *out, size_t outlen);
/* A quantity of up to 256 bits into 32 big-endian bytes. */
int eth_qty_parse_u256(const char *s, uint8_t out[32]);

/* Big-endian helpers: v into the last 8 bytes of a zeroed 32-byte word. */
void eth_u256_from_u64(uint64_t v, uint8_t out[32]);
/* 0 and *v if the 32-byte big-endian value fits in 64 bits, else -1. */
int eth_u256_to_u64(const uint8_t in[32], uint64_t *v);

#endif
