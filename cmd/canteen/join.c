/* join.c: `canteen node join`: one command for a server to join a cluster (keys, registration). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cmd.h"
#include "eth_chain.h"
#include "eth_key.h"
#include "eth_rpc.h"
#include "node_id.h"
#include "parse.h"

#define JOIN_USAGE "usage: canteen node join [--endpoint HOST:PORT] [--cpu CPU] [--mem SIZE] [--label K=V]..."

/* This machine's size, as the default capacity to offer. */
static void machine_size(char *cpu, size_t cpulen, char *mem, size_t memlen)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN), pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	snprintf(cpu, cpulen, "%ld", n > 0 ? n : 1);
	snprintf(mem, memlen, "%lldM", pages > 0 && psz > 0 ? (long long)pages * psz / (1024 * 1024) : 1024LL);
}

/*
 * Without chain_id, take the endpoint's (trust on first use) and write it into the
 * canteen.conf read, so every later command and daemon checks against it. CLI_OK, or
 * the failure printed.
 */
static int learn_chain_id(struct cli *cli)
{
	struct eth_rpc_opts o;
	struct eth_rpc_err e;
	uint64_t id = 0;
	if (cli->conf.chain_id)
		return CLI_OK;
	if (!cli->conf_path || strcmp(cli->conf_path, "/dev/null") == 0) {
		cli_err("chain_id is not set and there is no canteen.conf to write it into: give "
		        "--chain-id or -c FILE");
		return CLI_USAGE;
	}
	eth_rpc_opts_default(&o);
	o.timeout_ms = cli->conf.rpc_timeout_ms;
	o.allow_http = cli->conf.allow_insecure_rpc != 0;
	struct eth_rpc *r = eth_rpc_new(cli->conf.rpc_url, &o, &e);
	int rc = r ? eth_chain_id(r, &id, &e) : -1;
	eth_rpc_free(r);
	if (rc < 0) {
		cli_err("%s", e.msg);
		return CLI_FAIL;
	}
	FILE *f = fopen(cli->conf_path, "a");
	if (!f || fprintf(f, "\n# written by canteen node join: the chain the RPC endpoint was on\n"
	                     "chain_id = %llu\n", (unsigned long long)id) < 0 || fclose(f) != 0) {
		cli_err("cannot add chain_id to %s: %s", cli->conf_path, strerror(errno));
		return CLI_FAIL;
	}
	cli->conf.chain_id = id;
	printf("chain_id = %llu (the RPC endpoint's) added to %s\n", (unsigned long long)id, cli->conf_path);
	return CLI_OK;
}

/* Wei balance of address is zero? -1 when the node cannot tell. */
static int balance_zero(const struct conf *cf, const char *address)
{
	struct eth_rpc_opts o;
	struct eth_rpc_err e;
	eth_rpc_opts_default(&o);
	o.timeout_ms = cf->rpc_timeout_ms;
	o.allow_http = cf->allow_insecure_rpc != 0;
	struct eth_rpc *r = eth_rpc_new(cf->rpc_url, &o, &e);
	json_t *res = NULL;
	int zero = -1;
	if (r && eth_rpc_call(r, "eth_getBalance", json_pack("[s, s]", address, "latest"), &res, &e) == 0) {
		const char *v = json_string_value(res);
		zero = v && (strcmp(v, "0x0") == 0 || strcmp(v, "0x") == 0);
	}
	json_decref(res);
	eth_rpc_free(r);
	return zero;
}

int cli_node_join(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"endpoint", required_argument, NULL, NODE_ENDPOINT}, {"cpu", required_argument, NULL, NODE_CPU},
		{"mem", required_argument, NULL, NODE_MEM},           {"label", required_argument, NULL, NODE_LABEL},
		{NULL, 0, NULL, 0},
	};
	struct node_reg reg;
	struct chain_done done;
	char cpu[32], mem[32];
	const char *endpoint = cli->conf.swim_advertise[0] ? cli->conf.swim_advertise : NULL;
	int ch, nlabels = 0, ret;
	memset(&reg, 0, sizeof reg);
	machine_size(cpu, sizeof cpu, mem, sizeof mem);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case NODE_ENDPOINT: endpoint = optarg; break;
		case NODE_CPU: str_copy(cpu, sizeof cpu, optarg); break;
		case NODE_MEM: str_copy(mem, sizeof mem, optarg); break;
		case NODE_LABEL:
			if (nlabels++ == REC_MAX_LABELS) {
				cli_err("at most %d labels", REC_MAX_LABELS);
				return CLI_USAGE;
			}
			if ((ret = node_reg_set(&reg, NODE_LABEL, optarg)) != CLI_OK)
				return ret;
			break;
		default: cli_err(JOIN_USAGE); return CLI_USAGE;
		}
	}
	if (optind != argc) {
		cli_err(JOIN_USAGE);
		return CLI_USAGE;
	}
	if (!endpoint) {
		cli_err("no endpoint: give --endpoint HOST:PORT or swim_advertise in canteen.conf");
		return CLI_USAGE;
	}
	if (!cli->conf.key_file[0] || !cli->conf.swim_key_file[0]) {
		cli_err("key_file and swim_key_file must be set (canteen.conf, -c FILE, or --key-file)");
		return CLI_USAGE;
	}
	if (!cli->conf.rpc_url[0] || !cli->conf.contract[0]) {
		cli_err("the chain is not set: give --rpc URL and --contract ADDR (or rpc_url and contract in canteen.conf)");
		return CLI_USAGE;
	}
	if ((ret = learn_chain_id(cli)) != CLI_OK)
		return ret;
	/* What node register would refuse is refused before any key is made. */
	if ((ret = node_reg_set(&reg, NODE_ENDPOINT, endpoint)) != CLI_OK ||
	    (ret = node_reg_set(&reg, NODE_CPU, cpu)) != CLI_OK ||
	    (ret = node_reg_set(&reg, NODE_MEM, mem)) != CLI_OK)
		return ret;
	/* Keys: made when missing, never replaced. */
	char address[43] = "", err[256];
	if (access(cli->conf.key_file, F_OK) != 0) {
		if (cli_eth_keygen(cli->conf.key_file, 0, address) < 0)
			return CLI_FAIL;
		printf("new Ethereum key in %s\n", cli->conf.key_file);
	} else {
		struct eth_key *k = eth_key_load(cli->conf.key_file, err, sizeof err);
		if (!k) {
			cli_err("%s", err);
			return CLI_FAIL;
		}
		memcpy(address, k->address_hex, sizeof address);
		eth_key_free(k);
		/* A key made before address files existed gets one (the daemons read that). */
		if (node_id_write_addr(cli->conf.key_file, address, err, sizeof err) < 0) {
			cli_err("%s", err);
			return CLI_FAIL;
		}
	}
	if (access(cli->conf.swim_key_file, F_OK) != 0) {
		struct keygen_cmd kg = {cli->conf.swim_key_file, NULL, 0};
		struct keygen_out ko;
		if ((ret = keygen_run(&kg, &ko)) != CLI_OK)
			return ret;
		printf("new SWIM key pair in %s, public key: %s\n", cli->conf.swim_key_file, ko.swim_pubkey);
	}
	if (balance_zero(&cli->conf, address) == 1) {
		cli_err("%s has no funds to pay for its registration: send it some, then run this again", address);
		return CLI_FAIL;
	}
	if ((ret = node_reg_set(&reg, NODE_SWIM_KEY_FILE, cli->conf.swim_key_file)) != CLI_OK ||
	    (ret = node_register_run(cli, &reg, &done)) != CLI_OK)
		return ret;
	/* The URL may hold an API key: the admin has their own. */
	char shown[ETH_RPC_SHOWN_MAX];
	eth_rpc_url_redact(cli->conf.rpc_url, shown, sizeof shown);
	printf("%s registered with endpoint %s (%s CPU, %s memory) in transaction %s.\n"
	       "Unless registration is open, an admin must approve it:\n"
	       "  canteen --rpc %s --chain-id %llu --contract %s node approve %s\n",
	       address, endpoint, cpu, mem, done.tx, shown, (unsigned long long)cli->conf.chain_id,
	       cli->conf.contract, address);
	return CLI_OK;
}
