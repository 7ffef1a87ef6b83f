/* chain_node.c: `canteen node register|approve|revoke|ls` (and keygen, which swim implements). */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "parse.h"

#define NODE_USAGE \
	"usage: canteen node register --endpoint HOST:PORT (--swim-pubkey HEX | --swim-key-file FILE)\n" \
	"                             --cpu CPU --mem SIZE [--label K=V]...\n" \
	"       canteen node approve|revoke ADDRESS\n" \
	"       canteen node ls\n" \
	"       canteen node keygen [--swim-key FILE] [--eth-key FILE]\n" \
	"       canteen node join [--endpoint HOST:PORT] [--cpu CPU] [--mem SIZE] [--label K=V]..."

static int usage_err(const char *fmt, const char *arg)
{
	cli_err(fmt, arg);
	fprintf(stderr, "%s\n", NODE_USAGE);
	return CLI_USAGE;
}

/* The "public <64 hex>" line of a SWIM key file (see canteen node keygen). */
static int swim_pubkey_from_file(const char *path, char *hex, size_t hexlen)
{
	char text[2048];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(line, "public ", 7) == 0) {
			const char *v = line + 7;
			size_t len = strcspn(v, " \t\r");
			if (len == 64 && len < hexlen) {
				memcpy(hex, v, len);
				hex[len] = '\0';
				explicit_bzero(text, sizeof text);
				return 0;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	explicit_bzero(text, sizeof text);
	return -1;
}

static int node_register(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"endpoint", required_argument, NULL, 'e'}, {"swim-pubkey", required_argument, NULL, 'p'},
		{"swim-key-file", required_argument, NULL, 'f'}, {"cpu", required_argument, NULL, 'c'},
		{"mem", required_argument, NULL, 'm'}, {"label", required_argument, NULL, 'l'},
		{NULL, 0, NULL, 0},
	};
	char err[256], host[256], pk[80] = "";
	const char *endpoint = NULL;
	uint64_t cpu = 0, mem = 0;
	uint16_t port;
	uint8_t pkbin[32];
	json_t *labels = json_array();
	int ch, ret = CLI_USAGE;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			if (parse_hostport(optarg, host, sizeof host, &port, err, sizeof err) < 0 || port == 0) {
				ret = usage_err("--endpoint: %s", port == 0 ? "port 0 is not allowed" : err);
				goto out;
			}
			endpoint = optarg;
			break;
		case 'p':
			if (eth_hex_decode_exact(optarg, pkbin, 32) < 0) {
				ret = usage_err("--swim-pubkey needs 64 hex digits, got '%s'", optarg);
				goto out;
			}
			str_copy(pk, sizeof pk, optarg);
			break;
		case 'f':
			if (swim_pubkey_from_file(optarg, pk, sizeof pk) < 0) {
				cli_err("%s is not a SWIM key file with a 'public <64 hex>' line", optarg);
				ret = CLI_FAIL;
				goto out;
			}
			break;
		case 'c':
			if (parse_cpu_millis(optarg, &cpu, err, sizeof err) < 0 || cpu == 0 || cpu > UINT32_MAX) {
				ret = usage_err("--cpu needs a positive amount like 4 or 3500m, got '%s'", optarg);
				goto out;
			}
			break;
		case 'm':
			if (parse_mem_bytes(optarg, &mem, err, sizeof err) < 0 || mem < 1048576 ||
			    mem / 1048576 > UINT32_MAX) {
				ret = usage_err("--mem needs a size of at least 1M like 8G, got '%s'", optarg);
				goto out;
			}
			break;
		case 'l':
			if (!rec_kv_ok(optarg, strlen(optarg), REC_MAX_LABEL_LEN)) {
				ret = usage_err("--label needs KEY=VALUE of at most 256 bytes, got '%s'", optarg);
				goto out;
			}
			json_array_append_new(labels, json_string(optarg));
			break;
		default:
			ret = usage_err("unknown flag or missing value: '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (optind != argc || !endpoint || !pk[0] || !cpu || !mem) {
		ret = usage_err("node register needs %s", optind != argc ? "no positional arguments"
		                                          : "--endpoint, a SWIM public key, --cpu and --mem");
		goto out;
	}
	if (eth_hex_decode_exact(pk, pkbin, 32) < 0) {
		cli_err("bad SWIM public key");
		ret = CLI_FAIL;
		goto out;
	}
	char pk0x[70];
	eth_hex_encode(pkbin, 32, pk0x, sizeof pk0x);
	struct chain c;
	struct eth_receipt rc;
	ret = chain_open(&c, cli, CHAIN_NEED_CONTRACT | CHAIN_NEED_KEY);
	if (ret == CLI_OK) {
		ret = chain_send(&c, "registerNode",
		                 json_pack("[s,s,I,I,O]", endpoint, pk0x, (json_int_t)cpu,
		                           (json_int_t)(mem / 1048576), labels), &rc);
		if (ret == CLI_OK)
			printf(cli->json ? "{\"address\":\"%s\",\"registered\":true}\n" : "%s\n",
			       c.key->address_hex);
	}
	chain_close(&c);
out:
	json_decref(labels);
	return ret;
}

static int node_admin(struct cli *cli, int argc, char **argv, const char *fn)
{
	uint8_t a[ETH_ADDR_LEN];
	char addr[43];
	if (argc != 2 || eth_addr_parse(argv[1], a) < 0)
		return usage_err("node %s needs one address (0x and 40 hex digits)", argv[0]);
	eth_addr_format(a, addr);
	struct eth_receipt rc;
	const char *what = argv[0][0] == 'a' ? "approved" : "revoked";
	int ret = chain_transact(cli, fn, json_pack("[s]", addr), &rc);
	if (ret == CLI_OK && cli->json)
		printf("{\"address\":\"%s\",\"%s\":true}\n", addr, what);
	else if (ret == CLI_OK)
		printf("%s %s\n", addr, what);
	return ret;
}

static void print_labels(const json_t *labels)
{
	const char *k;
	json_t *v;
	int first = 1;
	json_object_foreach((json_t *)labels, k, v) {
		printf("%s%s=%s", first ? "" : ",", k, json_string_value(v));
		first = 0;
	}
	if (first)
		printf("-");
}

static int node_ls(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage_err("%s", "node ls takes no arguments");
	struct chain c;
	json_t *all = NULL;
	int ret = chain_open(&c, cli, CHAIN_NEED_CONTRACT);
	if (ret == CLI_OK)
		ret = chain_list(&c, "getNodes", &all);
	if (ret == CLI_OK && !cli->json)
		printf("%-42s  %-21s  %6s  %8s  %-6s  %s\n", "ADDRESS", "ENDPOINT", "CPU", "MEM", "ACTIVE",
		       "LABELS");
	size_t i;
	json_t *rec;
	json_array_foreach(all, i, rec) {
		json_t *n = json_incref(rec);
		if (!n) {
			cli_err("the contract returned a node record this CLI does not understand");
			ret = CLI_FAIL;
			break;
		}
		if (cli->json) {
			chain_print_json(n);
		} else {
			char cpu[32];
			chain_fmt_cpu(json_integer_value(json_object_get(n, "cpu_millis")), cpu, sizeof cpu);
			printf("%-42s  %-21s  %6s  %7lldM  %-6s  ", json_string_value(json_object_get(n, "address")),
			       json_string_value(json_object_get(n, "endpoint")), cpu,
			       (long long)json_integer_value(json_object_get(n, "mem_mib")),
			       json_is_true(json_object_get(n, "active")) ? "yes" : "no");
			print_labels(json_object_get(n, "labels"));
			printf("\n");
		}
		json_decref(n);
	}
	json_decref(all);
	chain_close(&c);
	return ret;
}

int cmd_node(struct cli *cli, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "%s\n", NODE_USAGE);
		return CLI_USAGE;
	}
	const char *sub = argv[1];
	argc--;
	argv++;
	optind = 0;
	if (strcmp(sub, "register") == 0)
		return node_register(cli, argc, argv);
	if (strcmp(sub, "approve") == 0)
		return node_admin(cli, argc, argv, "approveNode");
	if (strcmp(sub, "revoke") == 0)
		return node_admin(cli, argc, argv, "revokeNode");
	if (strcmp(sub, "ls") == 0)
		return node_ls(cli, argc, argv);
	if (strcmp(sub, "keygen") == 0)
		return cli_node_keygen(cli, argc, argv);
	if (strcmp(sub, "join") == 0)
		return cli_node_join(cli, argc, argv);
	return usage_err("unknown node command '%s'", sub);
}
