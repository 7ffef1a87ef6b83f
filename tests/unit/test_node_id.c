/* test_node_id.c: this node's address from node_name or from key_file's key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node_id.h"
#include "tap.h"

int main(void)
{
	struct conf c;
	char addr[NODE_ID_LEN + 1], err[512], path[64];
	/* anvil's second key and its address */
	const char *hexkey = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
	snprintf(path, sizeof path, "/tmp/canteen-test-node-id.%d", (int)getpid());
	FILE *f = fopen(path, "w");
	ok(f != NULL, "key file written");
	if (!f)
		return done_testing();
	fprintf(f, "0x%s\n", hexkey);
	fclose(f);
	chmod(path, 0600);

	conf_defaults(&c);
	ok(node_id_address(&c, addr, err, sizeof err) < 0 && strstr(err, "address is needed"),
	   "neither node_name nor key_file: %s", err);
	snprintf(c.key_file, sizeof c.key_file, "%s", path);
	ok(node_id_address(&c, addr, err, sizeof err) == 0, "from key_file");
	is_str(addr, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "the key's address");
	snprintf(c.node_name, sizeof c.node_name, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
	ok(node_id_address(&c, addr, err, sizeof err) == 0, "node_name wins over key_file");
	is_str(addr, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "in lowercase");
	snprintf(c.node_name, sizeof c.node_name, "0x12");
	ok(node_id_address(&c, addr, err, sizeof err) < 0 && strstr(err, "got 0x12"),
	   "a short node_name is refused: %s", err);
	snprintf(c.node_name, sizeof c.node_name, "0x70997970c51812dc3a010c7d01b50e0d17dc79cg");
	ok(node_id_address(&c, addr, err, sizeof err) < 0, "a non-hex node_name is refused");
	c.node_name[0] = '\0';
	chmod(path, 0644);
	ok(node_id_address(&c, addr, err, sizeof err) < 0 && strncmp(err, "key_file: ", 10) == 0,
	   "an exposed key file is refused: %s", err);
	unlink(path);
	return done_testing();
}
