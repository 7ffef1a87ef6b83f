/* test_node_id.c: this node's address from node_name, key_file.addr or key_file's key. */
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
	ok(node_id_address(&c, addr, err, sizeof err) == 1 && strstr(err, "only to learn"),
	   "from key_file, with a warning: %s", err);
	is_str(addr, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "the key's address");

	/* The address file: no secret read. The key is made unreadable to prove it. */
	char apath[80];
	snprintf(apath, sizeof apath, "%s.addr", path);
	ok(node_id_write_addr(path, "0x70997970C51812dc3a010c7d01b50e0d17dc79c8", err, sizeof err) == 0,
	   "address file written (%s)", err);
	struct stat st;
	ok(stat(apath, &st) == 0 && (st.st_mode & 0777) == 0644, "address file is public (0644)");
	rename(path, "/tmp/canteen-test-node-id.moved");
	addr[0] = '\0';
	ok(node_id_address(&c, addr, err, sizeof err) == 0, "from key_file.addr without the key (%s)",
	   err);
	is_str(addr, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "the address file's, in lowercase");
	rename("/tmp/canteen-test-node-id.moved", path);
	ok(node_id_write_addr(path, "0x1234", err, sizeof err) < 0, "a bad address is not written");
	FILE *a = fopen(apath, "w");
	fputs("0x70997970c51812dc3a010c7d01b50e0d17dc79c8\nmore\n", a);
	fclose(a);
	ok(node_id_address(&c, addr, err, sizeof err) < 0 && strstr(err, "does not hold"),
	   "an address file with more than the address is refused: %s", err);
	a = fopen(apath, "w");
	fputs("0x70997970c51812dc3a010c7d01b50e0d17dc79zz\n", a);
	fclose(a);
	ok(node_id_address(&c, addr, err, sizeof err) < 0 && strstr(err, "does not hold"),
	   "a non-hex address file is refused: %s", err);
	a = fopen(apath, "w");
	for (int i = 0; i < 100; i++)
		fputs("0x70997970c51812dc3a010c7d01b50e0d17dc79c8", a);
	fclose(a);
	ok(node_id_address(&c, addr, err, sizeof err) < 0 && strstr(err, "does not hold"),
	   "an oversized address file is refused: %s", err);
	unlink(apath);
	mkdir(apath, 0700);
	ok(node_id_address(&c, addr, err, sizeof err) < 0 && strstr(err, "not a regular file"),
	   "a directory is not an address file: %s", err);
	rmdir(apath);

	/* Whoever may write the address file picks the replicas this node runs. */
	ok(node_id_write_addr(path, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", err, sizeof err) == 0,
	   "address file written again (%s)", err);
	chmod(apath, 0666);
	ok(node_id_address(&c, addr, err, sizeof err) < 0 && strstr(err, "writable by others"),
	   "an address file others may write is refused: %s", err);
	chmod(apath, 0644);
	if (geteuid() == 0) {
		struct stat before, after;
		ok(chown(apath, 65534, 65534) == 0 && stat(apath, &before) == 0, "planted as nobody's");
		ok(node_id_address(&c, addr, err, sizeof err) < 0 && strstr(err, "uid 65534"),
		   "an address file another user owns is refused: %s", err);
		ok(node_id_write_addr(path, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", err,
		                      sizeof err) == 0 && stat(apath, &after) == 0 &&
		   after.st_uid == 0 && after.st_ino != before.st_ino,
		   "writing replaces another user's file with a new one of ours");
	}
	unlink(apath);
	ok(symlink("/etc/hostname", apath) == 0, "a symbolic link in its place");
	ok(node_id_address(&c, addr, err, sizeof err) < 0 && strstr(err, "symbolic link"),
	   "a symbolic link is not followed: %s", err);
	unlink(apath);
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
