/* test_docker_policy.c: the node policy: its canteen.conf keys, image patterns, checks, hardening. */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "docker_policy.h"
#include "docker_spec.h"
#include "parse.h"
#include "tap.h"

#define NODE "0x00000000000000000000000000000000000000aa"
#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The policy of canteen.conf defaults plus key=value pairs; 0 or -1 with err. */
static int policy_of(struct docker_policy *p, const char *const *kv, char *err, size_t errlen)
{
	struct conf c;
	conf_defaults(&c);
	for (; kv && kv[0]; kv += 2)
		if (conf_set(&c, kv[0], kv[1], err, errlen) < 0)
			return -1;
	return docker_policy_from_conf(&c, p, err, errlen);
}

static void test_defaults(void)
{
	struct docker_policy p;
	char err[256] = "";
	ok(policy_of(&p, NULL, err, sizeof err) == 0, "defaults load: %s", err);
	ok(p.nports == 1 && p.ports[0].lo == 1024 && p.ports[0].hi == 65535, "ports 1024-65535");
	is_int(p.nimages, 0, "any image");
	is_int(p.pids_limit, 4096, "PIDs limit 4096");
	ok(p.ncap_drop == 4 && strcmp(p.cap_drop[0], "NET_RAW") == 0 &&
	       strcmp(p.cap_drop[3], "AUDIT_WRITE") == 0, "NET_RAW ... AUDIT_WRITE dropped");
	is_int(p.read_only, 0, "root writable");
	struct conf c;
	conf_defaults(&c);
	is_int(c.pull_timeout_ms, 600000, "pull_timeout_ms 10 minutes");
	ok(conf_set(&c, "pull_timeout_ms", "2s", err, sizeof err) == 0 && c.pull_timeout_ms == 2000,
	   "pull_timeout_ms takes a duration");
	ok(conf_set(&c, "pull_timeout_ms", "10ms", err, sizeof err) < 0, "under 1 s refused: %s", err);
}

static void test_bad(void)
{
	static const char *const bad[][4] = {
	    {"policy_ports", "80-20"},          {"policy_ports", "0"},
	    {"policy_ports", "1-65536"},        {"policy_ports", ""},
	    {"policy_ports", "22,,x"},          {"policy_ports", "-5"},
	    {"policy_images", "x::y"},          {"policy_images", "sha256:12"},
	    {"policy_images", "a/*/b"},         {"policy_images", "x:1/*"},
	    {"policy_cap_drop", "NET_FOO"},     {"policy_cap_drop", ""},
	    {"policy_read_only", "maybe"},
	    {"policy_default_mem_mib", "512", "policy_max_mem_mib", "256"},
	    {"policy_default_cpu_millis", "3000", "policy_max_cpu_millis", "2000"},
	    {"policy_max_mem_mib", "5"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct docker_policy p;
		char err[256] = "";
		const char *kv[] = {bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL};
		ok(policy_of(&p, kv, err, sizeof err) < 0 && strstr(err, "policy_"),
		   "%s = '%s' refused: %s", bad[i][0], bad[i][1], err);
	}
	struct conf c;
	char err[256];
	conf_defaults(&c);
	ok(conf_set(&c, "policy_pids_limit", "-1", err, sizeof err) < 0, "negative PIDs limit refused");
}

static void test_images(void)
{
	struct docker_policy p;
	char err[256] = "";
	const char *kv[] = {"policy_images",
	                    " registry.example/team/* , busybox:1.36,alpine, " DIGEST ", nginx@" DIGEST,
	                    NULL};
	ok(policy_of(&p, kv, err, sizeof err) == 0, "patterns load: %s", err);
	is_int(p.nimages, 5, "five patterns");
	static const struct {
		const char *ref;
		int ok;
	} cases[] = {
	    {"registry.example/team/web:1", 1},    {"registry.example/team/a/b@" DIGEST, 1},
	    {"registry.example/teamx/web:1", 0},   {"registry.example/team", 0},
	    {"registry.example/other/web:1", 0},   {"busybox:1.36", 1},
	    {"busybox:1.37", 0},                   {"busybox", 0},
	    {"busybox:1.36@" DIGEST, 1},           {"alpine", 1},
	    {"alpine:3", 1},                       {"alpinex", 0},
	    {"evil.example/x@" DIGEST, 1},         {"nginx", 0},
	    {"registry.example/library/alpine", 0}, {"registry.example/team/../x", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		is_int(docker_policy_image_ok(&p, cases[i].ref), cases[i].ok, "%s %s", cases[i].ref,
		       cases[i].ok ? "allowed" : "refused");
	const char *latest[] = {"policy_images", "busybox:latest", NULL};
	ok(policy_of(&p, latest, err, sizeof err) == 0 && docker_policy_image_ok(&p, "busybox") &&
	       !docker_policy_image_ok(&p, "busybox@" DIGEST), "no tag is latest; a bare digest is not");
	const char *any[] = {"policy_images", "*", NULL};
	ok(policy_of(&p, any, err, sizeof err) == 0 && docker_policy_image_ok(&p, "x/y:z"), "* allows any");
}

static struct docker_spec spec(uint64_t cpu, uint64_t mem, uint16_t host)
{
	struct docker_spec s;
	memset(&s, 0, sizeof s);
	str_copy(s.service, sizeof s.service, "web");
	str_copy(s.image, sizeof s.image, "busybox:1.36");
	s.cpu_millis = cpu;
	s.mem_mib = mem;
	if (host) {
		s.ports[0].host = host;
		s.ports[0].container = 80;
		str_copy(s.ports[0].proto, sizeof s.ports[0].proto, "tcp");
		s.nports = 1;
	}
	return s;
}

static void test_check(void)
{
	struct docker_policy p;
	char err[256] = "";
	const char *kv[] = {"policy_ports", "8000-8999, 443", "policy_max_cpu_millis", "2000",
	                    "policy_max_mem_mib", "1024", "policy_default_mem_mib", "256", NULL};
	ok(policy_of(&p, kv, err, sizeof err) == 0, "policy loads: %s", err);
	struct docker_spec s = spec(0, 0, 8080);
	ok(docker_policy_check(&p, &s, err, sizeof err) == 0, "a spec within the policy passes: %s", err);
	ok(s.cpu_millis == 2000 && s.mem_mib == 256, "0 CPU gets the cap, 0 memory the default");
	s = spec(500, 100, 443);
	ok(docker_policy_check(&p, &s, err, sizeof err) == 0 && s.cpu_millis == 500 && s.mem_mib == 100,
	   "set limits are kept");
	s = spec(500, 100, 22);
	ok(docker_policy_check(&p, &s, err, sizeof err) < 0, "port 22 refused");
	is_str(err, "by node policy (host port 22/tcp is outside policy_ports 8000-8999, 443)", "its reason");
	s = spec(500, 100, 9000);
	ok(docker_policy_check(&p, &s, err, sizeof err) < 0, "port 9000 refused");
	s = spec(2001, 0, 0);
	ok(docker_policy_check(&p, &s, err, sizeof err) < 0 && s.mem_mib == 0, "CPU above the cap refused, spec unchanged");
	is_str(err, "by node policy (cpu_millis 2001 is above policy_max_cpu_millis 2000)", "its reason");
	s = spec(0, 1025, 0);
	ok(docker_policy_check(&p, &s, err, sizeof err) < 0 && s.cpu_millis == 0, "memory above the cap refused");
	is_str(err, "by node policy (mem_mib 1025 is above policy_max_mem_mib 1024)", "its reason");
	const char *img[] = {"policy_images", "registry.example/*", NULL};
	ok(policy_of(&p, img, err, sizeof err) == 0, "image policy loads");
	s = spec(0, 0, 0);
	ok(docker_policy_check(&p, &s, err, sizeof err) < 0, "image outside policy_images refused");
	is_str(err, "by node policy (image busybox:1.36 is not in policy_images)", "its reason");
	const char *none[] = {"policy_ports", "none", NULL};
	ok(policy_of(&p, none, err, sizeof err) == 0, "policy_ports none loads");
	s = spec(0, 0, 8080);
	ok(docker_policy_check(&p, &s, err, sizeof err) < 0, "no host port at all");
	s = spec(0, 0, 0);
	ok(docker_policy_check(&p, &s, err, sizeof err) == 0 && s.cpu_millis == 0 && s.mem_mib == 0,
	   "no cap, no default: 0 stays 0");
}

/* The policy in a desired set: refused specs are marked, take no port, the rest decode. */
static void test_desired(void)
{
	struct docker_policy p;
	char err[256] = "";
	ok(policy_of(&p, NULL, err, sizeof err) == 0, "default policy");
	json_t *m = json_loads(
	    "{\"op\":\"desired\",\"node\":\"" NODE "\",\"containers\":["
	    "{\"service\":\"ssh\",\"replica\":0,\"generation\":1,\"image\":\"b\","
	    "\"ports\":[{\"host\":22,\"container\":22}]},"
	    "{\"service\":\"bad\",\"replica\":0,\"generation\":1,\"image\":\"B::\"},"
	    "{\"service\":\"web\",\"replica\":0,\"generation\":1,\"image\":\"b\","
	    "\"ports\":[{\"host\":22,\"container\":80}]},"
	    "{\"service\":\"ok\",\"replica\":0,\"generation\":1,\"image\":\"b\","
	    "\"ports\":[{\"host\":8080,\"container\":80}]}]}", 0, NULL);
	struct docker_desired d;
	ok(m && docker_desired_decode_policy(m, NODE, &p, &d, err, sizeof err) == 0, "set decodes: %s", err);
	is_int(d.n, 1, "one accepted");
	is_int(d.nrejects, 3, "three refused");
	if (d.nrejects == 3) {
		ok(d.rejects[0].policy && d.rejects[2].policy && !d.rejects[1].policy,
		   "policy refusals are marked, a malformed spec is not");
		is_str(d.rejects[2].error, "by node policy (host port 22/tcp is outside policy_ports 1024-65535)",
		       "the second port 22 is refused by the policy, not as taken by the first");
	}
	docker_desired_free(&d);
	json_decref(m);
}

static void test_create(void)
{
	struct docker_policy p;
	char err[256] = "";
	const char *kv[] = {"policy_pids_limit", "100", "policy_read_only", "yes", "policy_cap_drop",
	                    "CAP_NET_RAW, SYS_ADMIN, NET_RAW", NULL};
	ok(policy_of(&p, kv, err, sizeof err) == 0, "policy loads: %s", err);
	struct docker_spec s = spec(100, 64, 8080);
	struct docker_create_ctx x = {.node = NODE, .cluster = "31337:0x5fbdb2315678afecb367f032d93f642f64180aa3",
	                              .host_ip = "127.0.0.1", .policy = &p};
	json_t *body = docker_spec_create(&s, &x);
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	ok(text && strstr(text, "\"SecurityOpt\":[\"no-new-privileges\"]") &&
	       strstr(text, "\"PidsLimit\":100") && strstr(text, "\"CapDrop\":[\"NET_RAW\",\"SYS_ADMIN\"]") &&
	       strstr(text, "\"ReadonlyRootfs\":true") &&
	       strstr(text, "\"Tmpfs\":{\"/tmp\":\"rw,nosuid,nodev,size=64m\"}") &&
	       strstr(text, "\"io.canteen.cluster\":\"31337:0x5fbdb2315678afecb367f032d93f642f64180aa3\""),
	   "hardened body with the cluster label: %s", text ? text : "(null)");
	free(text);
	json_decref(body);
	const char *plain[] = {"policy_pids_limit", "0", "policy_cap_drop", "none", NULL};
	ok(policy_of(&p, plain, err, sizeof err) == 0, "no PIDs limit, no caps dropped");
	body = docker_spec_create(&s, &x);
	text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	ok(text && !strstr(text, "PidsLimit") && strstr(text, "\"CapDrop\":[]") &&
	       strstr(text, "no-new-privileges") && !strstr(text, "Readonly"), "so the body says: %s",
	   text ? text : "(null)");
	free(text);
	json_decref(body);
}

static void test_cluster(void)
{
	char id[DOCKER_CLUSTER_MAX], err[128];
	ok(docker_cluster_id("0x5FbDB2315678afecb367f032d93F642f64180aa3", 31337, id, sizeof id, err,
	                     sizeof err) == 0, "checksummed contract");
	is_str(id, "31337:0x5fbdb2315678afecb367f032d93f642f64180aa3", "lowercased, after the chain id");
	ok(docker_cluster_id("", 0, id, sizeof id, err, sizeof err) == 0, "no contract");
	is_str(id, "0:none", "0:none");
	ok(docker_cluster_id("0x12", 1, id, sizeof id, err, sizeof err) < 0, "short contract refused: %s", err);
	ok(docker_cluster_id("0x5fbdb2315678afecb367f032d93f642f64180aa3ff", 1, id, sizeof id, err,
	                     sizeof err) < 0, "long contract refused");
	ok(docker_cluster_id("0xzzbdb2315678afecb367f032d93f642f64180aa3", 1, id, sizeof id, err,
	                     sizeof err) < 0, "non-hex contract refused");
	ok(docker_cluster_id("0x5fbdb2315678afecb367f032d93f642f64180aa3", UINT64_MAX, id, sizeof id,
	                     err, sizeof err) == 0 && strlen(id) < DOCKER_CLUSTER_MAX, "largest chain id fits");
}

int main(void)
{
	test_defaults();
	test_bad();
	test_images();
	test_check();
	test_desired();
	test_create();
	test_cluster();
	return done_testing();
}
