/* eth_key.h: an Ethereum private key read from a hex file into locked, wiped memory. */
#ifndef CANTEEN_ETH_KEY_H
#define CANTEEN_ETH_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "eth_util.h"

/* secret points into sodium_malloc memory (guarded, locked); eth_key_free wipes it. */
struct eth_key {
	uint8_t *secret; /* 32 bytes */
	uint8_t address[ETH_ADDR_LEN];
	char address_hex[43];
};

/*
 * Load a key file: 64 hex digits, optional "0x", optional trailing newline. Refused
 * if the file is group- or world-accessible, owned by another user than the caller or
 * root, a symbolic link, not a regular file, or malformed (keyfile_read).
 * Returns a key the caller frees with eth_key_free, or NULL with a sentence in err.
 */
struct eth_key *eth_key_load(const char *path, char *err, size_t errlen);
/* The same from a hex string held in memory (tests, tools). */
struct eth_key *eth_key_from_hex(const char *hex, char *err, size_t errlen);
void eth_key_free(struct eth_key *k);

#endif
