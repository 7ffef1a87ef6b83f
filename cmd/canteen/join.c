/* join.c: `canteen node join`: one command for a server to join a cluster (keys, registration). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "eth_key.h"
#include "eth_rpc.h"
#include "parse.h"

#define JOIN_USAGE "usage: canteen node join [--endpoint HOST:PORT] [--cpu CPU] [--mem SIZE] [--label K=V]..."

/* This machine's size, as the default capacity to offer. */
static void machine_size(char *cpu, size_t cpulen, char *mem, size_t memlen)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN), pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	snprintf(cpu, cpulen, "%ld", n > 0 ? n : 1);
	snprintf(mem, memlen, "%lldM", pages > 0 && psz > 0 ? (long long)pages * psz / (1024 * 1024) : 1024LL);
}

/* Wei balance of address is zero? -1 when the node cannot tell. */
static int balance_zero(const char *rpc_url, const char *address)
{
	struct eth_rpc_opts o;
	struct eth_rpc_err e;
	eth_rpc_opts_default(&o);
	struct eth_rpc *r = eth_rpc_new(rpc_url, &o, &e);
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
		{"endpoint", required_argument, NULL, 'e'}, {"cpu", required_argument, NULL, 'c'},
		{"mem", required_argument, NULL, 'm'},      {"label", required_argument, NULL, 'l'},
		{NULL, 0, NULL, 0},
	};
	char cpu[32], mem[32];
	const char *endpoint = cli->conf.swim_advertise[0] ? cli->conf.swim_advertise : NULL;
	const char *labels[32];
	int nlabels = 0, ch;
	machine_size(cpu, sizeof cpu, mem, sizeof mem);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'e': endpoint = optarg; break;
		case 'c': str_copy(cpu, sizeof cpu, optarg); break;
		case 'm': str_copy(mem, sizeof mem, optarg); break;
		case 'l':
			if (nlabels == 32) {
				cli_err("at most 32 labels");
				return CLI_USAGE;
			}
			labels[nlabels++] = optarg;
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
	}
	if (access(cli->conf.swim_key_file, F_OK) != 0) {
		char *kg[] = {"keygen", "--swim-key", cli->conf.swim_key_file, NULL};
		int json = cli->json;
		cli->json = 0;
		printf("new SWIM key pair in %s, public key: ", cli->conf.swim_key_file);
		fflush(stdout);
		int rc = cli_node_keygen(cli, 3, kg);
		cli->json = json;
		if (rc != CLI_OK)
			return rc;
	}
	if (balance_zero(cli->conf.rpc_url, address) == 1) {
		cli_err("%s has no funds to pay for its registration: send it some, then run this again", address);
		return CLI_FAIL;
	}
	/* Register through the ordinary command, so its checks and errors apply. */
	char *reg[80];
	int n = 0;
	reg[n++] = "node";
	reg[n++] = "register";
	reg[n++] = "--endpoint";
	reg[n++] = (char *)endpoint;
	reg[n++] = "--swim-key-file";
	reg[n++] = cli->conf.swim_key_file;
	reg[n++] = "--cpu";
	reg[n++] = cpu;
	reg[n++] = "--mem";
	reg[n++] = mem;
	for (int i = 0; i < nlabels; i++) {
		reg[n++] = "--label";
		reg[n++] = (char *)labels[i];
	}
	reg[n] = NULL;
	int json = cli->json;
	cli->json = 0;
	int rc = cmd_node(cli, n, reg);
	cli->json = json;
	if (rc != CLI_OK)
		return rc;
	printf("%s registered with endpoint %s (%s CPU, %s memory).\n"
	       "Unless registration is open, an admin must approve it:\n"
	       "  canteen --rpc %s --contract %s node approve %s\n",
	       address, endpoint, cpu, mem, cli->conf.rpc_url, cli->conf.contract, address);
	return CLI_OK;
}
