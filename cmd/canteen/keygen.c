/* keygen.c: "canteen node keygen": a libsodium key pair for SWIM (and optionally an Ethereum key). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "cmd.h"
#include "eth_key.h"
#include "keyfile.h"
#include "node_id.h"
#include "swim_crypto.h"

/* A fresh secp256k1 secret key as a new hex file (mode 0600, keyfile_write) and its
 * address in path.addr (mode 0644, for the daemons that need no secret); the address out. */
int cli_eth_keygen(const char *path, int force, char address[43])
{
	uint8_t raw[32];
	char hex[65], err[768];
	struct eth_key *k = NULL;
	int rc = -1;
	for (int tries = 0; tries < 16 && !k; tries++) {
		randombytes_buf(raw, sizeof raw);
		sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
		k = eth_key_from_hex(hex, err, sizeof err);
	}
	if (!k) {
		cli_err("cannot make an Ethereum key: %s", err);
		goto out;
	}
	memcpy(address, k->address_hex, 43);
	hex[64] = '\n';
	if (keyfile_write(path, hex, 65, force, err, sizeof err) < 0) {
		cli_err("%s", err);
		goto out;
	}
	if (node_id_write_addr(path, address, err, sizeof err) < 0) {
		cli_err("%s", err);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(hex, sizeof hex);
	eth_key_free(k);
	return rc;
}

int keygen_run(const struct keygen_cmd *k, struct keygen_out *out)
{
	uint8_t pk[SWIM_KEY_LEN];
	char err[512];
	memset(out, 0, sizeof *out);
	if (swim_keys_generate(k->swim_path, k->force, pk, err, sizeof err) < 0) {
		cli_err("%s%s", err, strstr(err, strerror(EEXIST)) ? " (use --force to replace it)" : "");
		return CLI_FAIL;
	}
	sodium_bin2hex(out->swim_pubkey, sizeof out->swim_pubkey, pk, sizeof pk);
	if (k->eth_path && cli_eth_keygen(k->eth_path, k->force, out->address) < 0)
		return CLI_FAIL;
	return CLI_OK;
}

int cli_node_keygen(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"swim-key", required_argument, NULL, 's'},
		{"eth-key", required_argument, NULL, 'e'},
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	struct keygen_cmd k = {cli->conf.swim_key_file[0] ? cli->conf.swim_key_file : NULL, NULL, 0};
	struct keygen_out o;
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		switch (ch) {
		case 's': k.swim_path = optarg; break;
		case 'e': k.eth_path = optarg; break;
		case 'f': k.force = 1; break;
		default:
			cli_err("usage: canteen node keygen [--swim-key FILE] [--eth-key FILE] [--force]");
			return CLI_USAGE;
		}
	}
	if (optind != argc || !k.swim_path) {
		cli_err("usage: canteen node keygen [--swim-key FILE] [--eth-key FILE] [--force] "
		        "(the swim key file defaults to swim_key_file in canteen.conf)");
		return CLI_USAGE;
	}
	int ret = keygen_run(&k, &o);
	if (ret != CLI_OK)
		return ret;
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:s}", "swim_key_file", k.swim_path, "swim_pubkey", o.swim_pubkey);
		if (j && k.eth_path) {
			json_object_set_new(j, "eth_key_file", json_string(k.eth_path));
			json_object_set_new(j, "address", json_string(o.address));
		}
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(j);
		return s ? CLI_OK : CLI_FAIL;
	}
	printf("%s\n", o.swim_pubkey);
	if (k.eth_path)
		printf("%s\n", o.address);
	return CLI_OK;
}
