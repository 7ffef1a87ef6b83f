/* node_id.h: this node's identity, its Ethereum address, from node_name or key_file. */
#ifndef CANTEEN_NODE_ID_H
#define CANTEEN_NODE_ID_H

#include <stddef.h>

#include "conf.h"
#include "rec.h"

#define NODE_ID_LEN REC_ADDR_LEN /* "0x" and 40 hex digits */

/*
 * The node's address into out, in lowercase: node_name when set, else the address of
 * key_file's key. 0, or -1 with a sentence in err when neither is set, the key cannot
 * be read, or node_name is not 0x and 40 hex digits.
 */
int node_id_address(const struct conf *c, char out[NODE_ID_LEN + 1], char *err, size_t errlen);

#endif
