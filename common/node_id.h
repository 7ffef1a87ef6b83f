/* node_id.h: this node's identity, its Ethereum address, from node_name or the public address file. */
#ifndef CANTEEN_NODE_ID_H
#define CANTEEN_NODE_ID_H

#include <stddef.h>

#include "conf.h"
#include "rec.h"

#define NODE_ID_LEN REC_ADDR_LEN /* "0x" and 40 hex digits */
#define NODE_ID_ADDR_SUFFIX ".addr" /* key_file + this: the key's address, public */
#define NODE_ID_ADDR_FILE_MAX 128   /* bytes of an address file */

/*
 * The node's address into out, in lowercase, from the first of: node_name; the address
 * file next to key_file (key_file.addr, written by canteen node keygen and join: no secret
 * is read); key_file's private key itself. 0 from node_name or the address file; 1 from the
 * private key, with a sentence for a warning in err (a daemon that does not sign should not
 * read it); -1 with a sentence in err when neither is set, a file cannot be read or holds
 * no address, or node_name is not 0x and 40 hex digits.
 */
int node_id_address(const struct conf *c, char out[NODE_ID_LEN + 1], char *err, size_t errlen);

/* Write address (0x and 40 hex digits) to key_file.addr, mode 0644, replacing it.
 * 0, or -1 with a sentence in err. */
int node_id_write_addr(const char *key_file, const char *address, char *err, size_t errlen);

#endif
