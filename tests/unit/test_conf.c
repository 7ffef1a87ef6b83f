/* test_conf.c: canteen.conf parsing: values, comments, and errors that name file and line. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"

static char path[64];

static int load_text(struct conf *c, const char *text, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -2;
	fputs(text, f);
	fclose(f);
	conf_defaults(c);
	return conf_load(c, path, err, errlen);
}

int main(void)
{
	struct conf c;
	char err[512];
	snprintf(path, sizeof path, "/tmp/canteen-test-conf.%d", (int)getpid());

	conf_defaults(&c);
	is_str(c.rundir, "/run/canteen", "default rundir");
	is_int(c.probe_interval_ms, 1000, "default probe interval");

	ok(load_text(&c, "# a comment\n\nrpc_url = http://127.0.0.1:8545\n"
	                 "  probe_interval_ms = 200ms   # trailing comment\n"
	                 "confirmations=0\nstop_grace_ms = 1.5s\nlog_level = debug\n",
	             err, sizeof err) == 0, "valid file loads");
	is_str(c.rpc_url, "http://127.0.0.1:8545", "string value");
	is_int(c.probe_interval_ms, 200, "duration value");
	is_int(c.confirmations, 0, "number value");
	is_int(c.stop_grace_ms, 1500, "fractional seconds");

	ok(load_text(&c, "rpc_url = x\nbogus_key = 1\n", err, sizeof err) < 0, "unknown key refused");
	ok(load_text(&c, "rpc_url = x\nupdate_stagger_ms = 2s\n", err, sizeof err) == 0,
	   "an obsolete key (update_stagger_ms) is accepted and ignored: %s", err);
	ok(strstr(err, ":2:") && strstr(err, "bogus_key"), "error names line 2 and the key: %s", err);
	ok(strstr(err, path) != NULL, "error names the file");
	ok(load_text(&c, "confirmations = many\n", err, sizeof err) < 0 && strstr(err, ":1:"),
	   "bad number refused: %s", err);
	ok(load_text(&c, "probe_interval_ms = 1d\n", err, sizeof err) < 0, "bad duration refused: %s", err);
	ok(load_text(&c, "probe_interval_ms = 1ms\n", err, sizeof err) < 0, "duration out of range refused: %s", err);
	ok(load_text(&c, "just some words\n", err, sizeof err) < 0, "line without '=' refused: %s", err);
	ok(load_text(&c, "= value\n", err, sizeof err) < 0, "missing key refused");
	ok(load_text(&c, "log_level = loud\n", err, sizeof err) < 0, "bad log level refused: %s", err);
	char big[3000];
	memset(big, 'a', sizeof big);
	memcpy(big, "rundir = ", 9);
	big[sizeof big - 2] = '\n';
	big[sizeof big - 1] = '\0';
	ok(load_text(&c, big, err, sizeof err) < 0, "over-long line refused: %s", err);
	ok(conf_load(&c, "/nonexistent/canteen.conf", err, sizeof err) < 0 && strstr(err, "No such file"),
	   "missing file: %s", err);
	ok(conf_set(&c, "swim_bind", "127.0.0.2:7946", err, sizeof err) == 0 &&
	   strcmp(c.swim_bind, "127.0.0.2:7946") == 0, "conf_set overrides");
	ok(conf_set(&c, "rpc_url", "a\tb", err, sizeof err) < 0, "control characters refused");
	/* The chain keys: fee caps with defaults, a yes/no switch, chain_id from 1. */
	conf_defaults(&c);
	ok(c.max_fee_gwei == 500 && c.max_priority_fee_gwei == 50 && c.allow_insecure_rpc == 0 &&
	   c.chain_id == 0, "fee caps default to 500 and 50 gwei; plain http only to loopback");
	ok(conf_set(&c, "allow_insecure_rpc", "yes", err, sizeof err) == 0 && c.allow_insecure_rpc == 1 &&
	   conf_set(&c, "allow_insecure_rpc", "no", err, sizeof err) == 0 && c.allow_insecure_rpc == 0,
	   "allow_insecure_rpc takes yes and no");
	ok(conf_set(&c, "allow_insecure_rpc", "1", err, sizeof err) < 0, "allow_insecure_rpc refuses 1: %s", err);
	ok(conf_set(&c, "chain_id", "0", err, sizeof err) < 0, "chain_id 0 refused: %s", err);
	ok(conf_set(&c, "max_fee_gwei", "0", err, sizeof err) < 0 &&
	   conf_set(&c, "max_priority_fee_gwei", "2000", err, sizeof err) == 0 && c.max_priority_fee_gwei == 2000,
	   "fee caps from 1 gwei");
	ok(conf_known("docker_host") && !conf_known("docker"), "conf_known");
	/* rpc_url: a list of endpoints, checked when set; rpc_quorum 0 means a majority. */
	char urls[CONF_RPC_MAX][CONF_STR_MAX];
	size_t n = 99;
	conf_defaults(&c);
	is_int(c.rpc_quorum, 0, "rpc_quorum defaults to 0 (a majority)");
	ok(conf_rpc_urls("", urls, &n, err, sizeof err) == 0 && n == 0, "an empty list");
	ok(conf_rpc_urls(" http://a:1, http://b:2,http://c:3 ", urls, &n, err, sizeof err) == 0 && n == 3 &&
	   strcmp(urls[0], "http://a:1") == 0 && strcmp(urls[2], "http://c:3") == 0,
	   "commas and spaces split the list");
	ok(conf_rpc_urls("http://a:1 http://a:1", urls, &n, err, sizeof err) < 0 &&
	   strstr(err, "endpoints 1 and 2 are the same"), "an endpoint twice refused: %s", err);
	ok(conf_rpc_urls("a b c d e f g h i", urls, &n, err, sizeof err) < 0 && strstr(err, "more than 8"),
	   "nine endpoints refused: %s", err);
	char longu[CONF_STR_MAX + 10];
	memset(longu, 'x', sizeof longu - 1);
	longu[sizeof longu - 1] = '\0';
	ok(conf_rpc_urls(longu, urls, &n, err, sizeof err) < 0 && strstr(err, "endpoint 1 is longer"),
	   "an over-long endpoint refused: %s", err);
	ok(conf_set(&c, "rpc_url", "http://a:1,http://a:1", err, sizeof err) < 0 && c.rpc_url[0] == '\0',
	   "conf_set refuses a bad list and changes nothing: %s", err);
	ok(load_text(&c, "rpc_url = http://127.0.0.1:1, http://127.0.0.1:2\nrpc_quorum = 2\n", err,
	             sizeof err) == 0 && c.rpc_quorum == 2 && strstr(c.rpc_url, ":2"),
	   "a list and a quorum load");
	ok(conf_set(&c, "rpc_quorum", "9", err, sizeof err) < 0, "rpc_quorum above 8 refused: %s", err);
	unlink(path);
	return done_testing();
}
