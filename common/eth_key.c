/* eth_key.c: load a hex private key file (owner-only) into sodium_malloc memory. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "errf.h"
#include "eth_key.h"
#include "eth_tx.h"
#include "keyfile.h"

void eth_key_free(struct eth_key *k)
{
	if (!k)
		return;
	if (k->secret)
		sodium_free(k->secret); /* wipes before releasing */
	sodium_memzero(k, sizeof *k);
	sodium_free(k);
}

/* Parse the text in buf (len bytes) into k->secret. */
static int parse_secret(const char *buf, size_t len, uint8_t *secret)
{
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
	               buf[len - 1] == '\t'))
		len--;
	if (len >= 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
		buf += 2;
		len -= 2;
	}
	if (len != 64)
		return -1;
	size_t bin_len;
	if (sodium_hex2bin(secret, 32, buf, len, NULL, &bin_len, NULL) != 0 || bin_len != 32)
		return -1;
	return 0;
}

static struct eth_key *key_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	struct eth_key *k = sodium_malloc(sizeof *k);
	if (!k)
		return NULL;
	memset(k, 0, sizeof *k);
	k->secret = sodium_malloc(32);
	if (!k->secret) {
		sodium_free(k);
		return NULL;
	}
	return k;
}

static int key_finish(struct eth_key *k)
{
	if (eth_key_to_address(k->secret, k->address) < 0)
		return -1;
	eth_addr_format(k->address, k->address_hex);
	sodium_mprotect_readonly(k->secret);
	return 0;
}

struct eth_key *eth_key_from_hex(const char *hex, char *err, size_t errlen)
{
	struct eth_key *k = key_new();
	if (!k) {
		errf(err, errlen, "cannot allocate secure memory for the key");
		return NULL;
	}
	if (parse_secret(hex, strlen(hex), k->secret) < 0 || key_finish(k) < 0) {
		errf(err, errlen, "not a valid private key (64 hex digits)");
		eth_key_free(k);
		return NULL;
	}
	return k;
}

struct eth_key *eth_key_load(const char *path, char *err, size_t errlen)
{
	struct eth_key *k = NULL;
	char *buf = NULL;
	if (sodium_init() < 0 || !(buf = sodium_malloc(256))) {
		errf(err, errlen, "cannot allocate secure memory for the key");
		goto done;
	}
	ssize_t n = keyfile_read(path, buf, 256, err, errlen);
	if (n < 0)
		goto done;
	if (!(k = key_new())) {
		errf(err, errlen, "cannot allocate secure memory for the key");
		goto done;
	}
	if (parse_secret(buf, (size_t)n, k->secret) < 0 || key_finish(k) < 0) {
		errf(err, errlen, "key file %s does not hold a valid private key (64 hex digits)",
		     path);
		eth_key_free(k);
		k = NULL;
	}
done:
	if (buf)
		sodium_free(buf); /* wipes */
	return k;
}
