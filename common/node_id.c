/* node_id.c: this node's address: node_name, else key_file.addr, else derived from key_file's key. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"
#include "eth_key.h"
#include "eth_util.h"
#include "keyfile.h"
#include "node_id.h"
#include "parse.h"
#include "rec.h"

/* s (len bytes, trailing blanks ignored) lowercased into out if it is an address. */
static int address_of(const char *s, size_t len, char out[NODE_ID_LEN + 1])
{
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' ||
	               s[len - 1] == '\t'))
		len--;
	if (len != NODE_ID_LEN)
		return -1;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[len] = '\0';
	return rec_address_ok(out) ? 0 : -1;
}

static int addr_path(const char *key_file, char *path, size_t pathlen, char *err, size_t errlen)
{
	int n = snprintf(path, pathlen, "%s" NODE_ID_ADDR_SUFFIX, key_file);
	if (n < 0 || (size_t)n >= pathlen)
		return errf(err, errlen, "key_file: path too long");
	return 0;
}

/* From key_file.addr: 0, 1 when there is no such file, -1 with err. */
static int from_addr_file(const char *key_file, char out[NODE_ID_LEN + 1], char *err,
                          size_t errlen)
{
	char path[CONF_STR_MAX + 8], buf[NODE_ID_ADDR_FILE_MAX + 1];
	struct stat st;
	if (addr_path(key_file, path, sizeof path, err, errlen) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return errf(err, errlen, "cannot read %s: %s", path,
		            errno == ELOOP ? "it is a symbolic link" : strerror(errno));
	ssize_t n = -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errf(err, errlen, "%s is not a regular file", path);
	}
	/* The address decides which replicas this node runs: only root or this user may
	 * have written it. */
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		close(fd);
		return errf(err, errlen, "%s is owned by uid %u or writable by others (mode %04o): "
		            "only root or this user may write it", path, (unsigned)st.st_uid,
		            (unsigned)(st.st_mode & 07777));
	}
	while ((n = read(fd, buf, sizeof buf)) < 0 && errno == EINTR)
		;
	close(fd);
	if (n < 0 || n > NODE_ID_ADDR_FILE_MAX || address_of(buf, (size_t)n, out) < 0)
		return errf(err, errlen, "%s does not hold this node's address (0x and 40 hex "
		            "digits, from canteen node keygen or join)", path);
	return 0;
}

int node_id_address(const struct conf *c, char out[NODE_ID_LEN + 1], char *err, size_t errlen)
{
	char why[512];
	out[0] = '\0';
	if (!c->node_name[0] && c->key_file[0]) {
		int rc = from_addr_file(c->key_file, out, err, errlen);
		if (rc <= 0)
			return rc;
		struct eth_key *k = eth_key_load(c->key_file, why, sizeof why);
		if (!k)
			return errf(err, errlen, "key_file: %s (and no %s" NODE_ID_ADDR_SUFFIX ")", why,
			            c->key_file);
		str_copy(out, NODE_ID_LEN + 1, k->address_hex);
		eth_key_free(k);
		errf(err, errlen, "read the private key %s only to learn its address: write it to "
		     "%s" NODE_ID_ADDR_SUFFIX " (canteen node join does)", c->key_file, c->key_file);
		return 1;
	}
	/* Any case is accepted: the address is compared in lowercase everywhere. */
	if (address_of(c->node_name, strnlen(c->node_name, NODE_ID_LEN + 1), out) == 0)
		return 0;
	out[0] = '\0';
	return errf(err, errlen, "this node's address is needed: --node 0x<40 hex digits> "
	            "(conf node_name) or key_file%s%.64s", c->node_name[0] ? "; got " : "",
	            c->node_name);
}

int node_id_write_addr(const char *key_file, const char *address, char *err, size_t errlen)
{
	char path[CONF_STR_MAX + 8], line[NODE_ID_LEN + 2], check[NODE_ID_LEN + 1];
	if (address_of(address, strlen(address), check) < 0)
		return errf(err, errlen, "'%.64s' is not an address", address);
	if (addr_path(key_file, path, sizeof path, err, errlen) < 0)
		return -1;
	int n = snprintf(line, sizeof line, "%s\n", check);
	/* A new file renamed into place, never an existing one rewritten: whoever owned a
	 * file planted here could change the address the daemons read. */
	if (keyfile_write(path, line, (size_t)n, 1, err, errlen) < 0)
		return -1;
	if (chmod(path, 0644) < 0)
		return errf(err, errlen, "cannot chmod %s: %s", path, strerror(errno));
	return 0;
}
