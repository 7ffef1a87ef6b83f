/* node_id.c: this node's address: node_name as configured, or derived from key_file's key. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "eth_key.h"
#include "eth_util.h"
#include "node_id.h"
#include "parse.h"
#include "rec.h"

int node_id_address(const struct conf *c, char out[NODE_ID_LEN + 1], char *err, size_t errlen)
{
	char why[512];
	out[0] = '\0';
	if (!c->node_name[0] && c->key_file[0]) {
		struct eth_key *k = eth_key_load(c->key_file, why, sizeof why);
		if (!k) {
			snprintf(err, errlen, "key_file: %s", why);
			return -1;
		}
		str_copy(out, NODE_ID_LEN + 1, k->address_hex);
		eth_key_free(k);
		return 0;
	}
	/* Any case is accepted: the address is compared in lowercase everywhere. */
	if (strnlen(c->node_name, NODE_ID_LEN + 1) <= NODE_ID_LEN) {
		for (size_t i = 0; i <= NODE_ID_LEN && (i == 0 || c->node_name[i - 1]); i++)
			out[i] = (char)tolower((unsigned char)c->node_name[i]);
		if (rec_address_ok(out))
			return 0;
	}
	out[0] = '\0';
	snprintf(err, errlen, "this node's address is needed: --node 0x<40 hex digits> "
	         "(conf node_name) or key_file%s%.64s", c->node_name[0] ? "; got " : "",
	         c->node_name);
	return -1;
}
