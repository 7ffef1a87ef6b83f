/* chain_node.c: `canteen node register|approve|revoke|readmit|ls` (and keygen, which swim implements). */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "cmd.h"
#include "parse.h"
#include "tty.h"

/* A limit of rec.h as a string literal. */
#define LIMIT_(x) #x
#define LIMIT(x) LIMIT_(x)

static int usage_err(const char *fmt, const char *arg)
{
	cli_err(fmt, arg);
	fprintf(stderr, "%s\n", USAGE_NODE);
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

int node_reg_set(struct node_reg *r, int flag, const char *arg)
{
	char err[256], host[256];
	uint16_t port;
	uint8_t pkbin[32];
	switch (flag) {
	case NODE_ENDPOINT:
		if (parse_hostport(arg, host, sizeof host, &port, err, sizeof err) < 0)
			return usage_err("--endpoint: %s", err);
		if (port == 0)
			return usage_err("--endpoint: %s", "port 0 is not allowed");
		if (!rec_endpoint_ok(arg, strlen(arg)) || str_copy(r->endpoint, sizeof r->endpoint, arg) < 0)
			return usage_err("--endpoint: '%s' is not 1 to " LIMIT(REC_MAX_ENDPOINT)
			                 " printable ASCII bytes without spaces", arg);
		return CLI_OK;
	case NODE_SWIM_PUBKEY:
		if (eth_hex_decode_exact(arg, pkbin, 32) < 0)
			return usage_err("--swim-pubkey needs 64 hex digits, got '%s'", arg);
		str_copy(r->swim_pubkey, sizeof r->swim_pubkey, arg);
		return CLI_OK;
	case NODE_SWIM_KEY_FILE:
		if (swim_pubkey_from_file(arg, r->swim_pubkey, sizeof r->swim_pubkey) < 0) {
			cli_err("%s is not a SWIM key file with a 'public <64 hex>' line", arg);
			return CLI_FAIL;
		}
		return CLI_OK;
	case NODE_CPU:
		if (parse_cpu_millis(arg, &r->cpu_millis, err, sizeof err) < 0 || r->cpu_millis == 0 ||
		    r->cpu_millis > UINT32_MAX)
			return usage_err("--cpu needs a positive amount like 4 or 3500m, got '%s'", arg);
		return CLI_OK;
	case NODE_MEM: {
		uint64_t mem;
		if (parse_mem_bytes(arg, &mem, err, sizeof err) < 0 || mem < 1048576 ||
		    mem / 1048576 > UINT32_MAX)
			return usage_err("--mem needs a size of at least 1M like 8G, got '%s'", arg);
		r->mem_mib = mem / 1048576;
		return CLI_OK;
	}
	case NODE_LABEL:
		if (!rec_label_ok(arg, strlen(arg)))
			return usage_err("--label needs KEY=VALUE of at most " LIMIT(REC_MAX_LABEL_LEN)
			                 " printable ASCII bytes, got '%s'", arg);
		if (r->nlabels == REC_MAX_LABELS)
			return usage_err("%s", "--label: at most " LIMIT(REC_MAX_LABELS) " labels");
		r->labels[r->nlabels++] = arg;
		return CLI_OK;
	}
	return usage_err("%s", "unknown node flag");
}

int node_register_parse(struct node_reg *r, int argc, char **argv)
{
	static const struct option opts[] = {
		{"endpoint", required_argument, NULL, NODE_ENDPOINT},
		{"swim-pubkey", required_argument, NULL, NODE_SWIM_PUBKEY},
		{"swim-key-file", required_argument, NULL, NODE_SWIM_KEY_FILE},
		{"cpu", required_argument, NULL, NODE_CPU}, {"mem", required_argument, NULL, NODE_MEM},
		{"label", required_argument, NULL, NODE_LABEL}, {NULL, 0, NULL, 0},
	};
	int ch, ret;
	memset(r, 0, sizeof *r);
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == '?' || ch == ':')
			return usage_err("unknown flag or missing value: '%s'", argv[optind - 1]);
		if ((ret = node_reg_set(r, ch, optarg)) != CLI_OK)
			return ret;
	}
	if (optind != argc || !r->endpoint[0] || !r->swim_pubkey[0] || !r->cpu_millis || !r->mem_mib)
		return usage_err("node register needs %s", optind != argc ? "no positional arguments"
		                                          : "--endpoint, a SWIM public key, --cpu and --mem");
	return CLI_OK;
}

int node_register_run(struct cli *cli, const struct node_reg *r, struct chain_done *out)
{
	uint8_t pkbin[32];
	char pk0x[70];
	memset(out, 0, sizeof *out);
	if (eth_hex_decode_exact(r->swim_pubkey, pkbin, 32) < 0) {
		cli_err("bad SWIM public key");
		return CLI_FAIL;
	}
	eth_hex_encode(pkbin, 32, pk0x, sizeof pk0x);
	json_t *labels = json_array();
	for (size_t i = 0; i < r->nlabels; i++)
		json_array_append_new(labels, json_string(r->labels[i]));
	struct chain c;
	struct eth_receipt rc;
	int ret = chain_open(&c, cli, CHAIN_NEED_CONTRACT | CHAIN_NEED_KEY);
	if (ret == CLI_OK) {
		ret = chain_send(&c, "registerNode",
		                 json_pack("[s,s,I,I,O]", r->endpoint, pk0x, (json_int_t)r->cpu_millis,
		                           (json_int_t)r->mem_mib, labels), &rc);
		if (ret == CLI_OK) {
			memcpy(out->address, c.key->address_hex, sizeof out->address);
			chain_done_fill(out, &rc);
		}
	}
	chain_close(&c);
	json_decref(labels);
	return ret;
}

static int node_register(struct cli *cli, int argc, char **argv)
{
	struct node_reg r;
	struct chain_done d;
	int ret = node_register_parse(&r, argc, argv);
	if (ret == CLI_OK)
		ret = node_register_run(cli, &r, &d);
	if (ret == CLI_OK)
		printf(cli->json ? "{\"address\":\"%s\",\"registered\":true,\"tx\":\"%s\"}\n" : "%s\n",
		       d.address, d.tx);
	return ret;
}

int node_admin_parse(struct node_admin *a, int argc, char **argv)
{
	uint8_t bin[ETH_ADDR_LEN];
	memset(a, 0, sizeof *a);
	if (argc != 2 || eth_addr_parse(argv[1], bin) < 0)
		return usage_err("node %s needs one address (0x and 40 hex digits)", argv[0]);
	a->approve = strcmp(argv[0], "approve") == 0;
	a->readmit = strcmp(argv[0], "readmit") == 0;
	eth_addr_format(bin, a->address);
	return CLI_OK;
}

int node_admin_run(struct cli *cli, const struct node_admin *a, struct chain_done *out)
{
	struct eth_receipt rc;
	memset(out, 0, sizeof *out);
	int ret = chain_transact(cli, a->approve ? "approveNode" : a->readmit ? "readmitNode" : "revokeNode",
	                         json_pack("[s]", a->address), &rc);
	if (ret == CLI_OK)
		chain_done_fill(out, &rc);
	return ret;
}

static int node_admin(struct cli *cli, int argc, char **argv)
{
	struct node_admin a;
	struct chain_done d;
	int ret = node_admin_parse(&a, argc, argv);
	if (ret == CLI_OK)
		ret = node_admin_run(cli, &a, &d);
	const char *what = a.approve ? "approved" : a.readmit ? "readmitted" : "revoked";
	if (ret == CLI_OK && cli->json)
		printf("{\"address\":\"%s\",\"%s\":true,\"tx\":\"%s\"}\n", a.address, what, d.tx);
	else if (ret == CLI_OK)
		printf("%s %s (transaction %s)\n", a.address, what, d.tx);
	return ret;
}

static void print_labels(const json_t *labels)
{
	const char *k;
	json_t *v;
	int first = 1;
	json_object_foreach((json_t *)labels, k, v) {
		char ek[TTY_FIELD_MAX], ev[TTY_FIELD_MAX];
		printf("%s%s=%s", first ? "" : ",", tty_esc(k, ek, sizeof ek),
		       tty_esc(json_string_value(v), ev, sizeof ev));
		first = 0;
	}
	if (first)
		printf("-");
}

int node_ls_run(struct cli *cli, json_t **nodes)
{
	struct chain c;
	*nodes = NULL;
	int ret = chain_open(&c, cli, CHAIN_NEED_CONTRACT);
	if (ret == CLI_OK)
		ret = chain_list(&c, "getNodes", nodes);
	chain_close(&c);
	return ret;
}

static int node_ls(struct cli *cli, int argc, char **argv)
{
	/* --pending: only the nodes waiting for an admin's approval (chainwatch's feed leaves
	 * them out; the chain still holds them). */
	int pending = argc == 2 && strcmp(argv[1], "--pending") == 0;
	if (argc != 1 && !pending)
		return usage_err("%s", "node ls takes no arguments but --pending");
	json_t *all = NULL;
	int ret = node_ls_run(cli, &all);
	if (ret == CLI_OK && !cli->json)
		printf("%-42s  %-21s  %6s  %8s  %-6s  %10s  %s\n", "ADDRESS", "ENDPOINT", "CPU", "MEM",
		       "ACTIVE", "ACTIVATION", "LABELS");
	size_t i;
	json_t *n;
	json_array_foreach(all, i, n) {
		if (pending && json_is_true(json_object_get(n, "active")))
			continue;
		if (cli->json) {
			chain_print_json(n);
		} else {
			char cpu[32], act[24] = "-", addr[TTY_FIELD_MAX], ep[TTY_FIELD_MAX];
			chain_fmt_cpu(json_integer_value(json_object_get(n, "cpu_millis")), cpu, sizeof cpu);
			json_int_t a = json_integer_value(json_object_get(n, "activation"));
			if (a > 0) /* 0: pending, never activated since its record last changed */
				snprintf(act, sizeof act, "%lld", (long long)a);
			/* What a node registered is a stranger's text: escaped for the terminal. */
			printf("%-42s  %-21s  %6s  %7lldM  %-6s  %10s  ",
			       tty_esc(json_string_value(json_object_get(n, "address")), addr, sizeof addr),
			       tty_esc(json_string_value(json_object_get(n, "endpoint")), ep, sizeof ep), cpu,
			       (long long)json_integer_value(json_object_get(n, "mem_mib")),
			       json_is_true(json_object_get(n, "active")) ? "yes" : "no", act);
			print_labels(json_object_get(n, "labels"));
			printf("\n");
		}
	}
	json_decref(all);
	return ret;
}

int cmd_node(struct cli *cli, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "%s\n", USAGE_NODE);
		return CLI_USAGE;
	}
	const char *sub = argv[1];
	argc--;
	argv++;
	optind = 0;
	if (strcmp(sub, "register") == 0)
		return node_register(cli, argc, argv);
	if (strcmp(sub, "approve") == 0 || strcmp(sub, "revoke") == 0 || strcmp(sub, "readmit") == 0)
		return node_admin(cli, argc, argv);
	if (strcmp(sub, "ls") == 0)
		return node_ls(cli, argc, argv);
	if (strcmp(sub, "keygen") == 0)
		return cli_node_keygen(cli, argc, argv);
	if (strcmp(sub, "join") == 0)
		return cli_node_join(cli, argc, argv);
	return usage_err("unknown node command '%s'", sub);
}
