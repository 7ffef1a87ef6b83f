/* test_docker.c: Docker answer parsers, image references, desired-set decoding, create bodies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_api.h"
#include "docker_json.h"
#include "docker_policy.h"
#include "docker_spec.h"
#include "tap.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NODE "0x00000000000000000000000000000000000000aa"
#define LABELS                                                                            \
	"{\"io.canteen.service\":\"web\",\"io.canteen.replica\":\"2\","                      \
	"\"io.canteen.generation\":\"7\",\"io.canteen.node\":\"" NODE "\"}"

static int parse(const char *s, size_t len) /* helper: docker_parse_version's rc */
{
	struct docker_version v;
	char err[256];
	return docker_parse_version(s, len, &v, err, sizeof err);
}

static void test_version(void)
{
	struct docker_version v;
	char err[256];
	const char *ok20 = "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}";
	ok(docker_parse_version(ok20, strlen(ok20), &v, err, sizeof err) == 0, "version of 20.10");
	is_int(v.api_major * 1000 + v.api_minor, 1041, "ApiVersion 1.41");
	is_int(v.min_major * 1000 + v.min_minor, 1012, "MinAPIVersion 1.12");
	is_str(v.engine, "20.10.24", "engine version");
	const char *podman = "{\"Version\":\"4.3.1\",\"ApiVersion\":\"1.41\"}";
	ok(docker_parse_version(podman, strlen(podman), &v, err, sizeof err) == 0 &&
	       v.min_major == 0, "Podman-style answer without MinAPIVersion");
	const char *bad[] = {"{\"ApiVersion\":\"1\"}", "{\"ApiVersion\":141}", "[]", "{",
	                     "{\"ApiVersion\":\"1.41\",\"ApiVersion\":\"1.40\"}",
	                     "{\"ApiVersion\":\"-1.41\"}", "{\"ApiVersion\":\"1.41x\"}", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ok(parse(bad[i], strlen(bad[i])) < 0, "bad version answer %zu refused", i);
}

static void test_list(void)
{
	char err[256];
	struct docker_ctr *v = NULL;
	size_t n = 0;
	const char *body = "[{\"Id\":\"" ID64 "\",\"Names\":[\"/canteen.web.2\"],\"State\":\"exited\","
	                   "\"Created\":1700000000,\"Labels\":" LABELS "},"
	                   "{\"Id\":\"" ID64 "\",\"Names\":[\"/x\"],\"State\":\"running\","
	                   "\"Labels\":{\"io.canteen.node\":\"" NODE "\",\"io.canteen.replica\":\"x\"}}]";
	ok(docker_parse_list(body, strlen(body), 10, &v, &n, err, sizeof err) == 0, "list parses: %s",
	   err);
	is_int(n, 2, "two rows");
	if (n == 2) {
		is_str(v[0].name, "canteen.web.2", "name without slash");
		is_int(v[0].state, DOCKER_EXITED, "state exited");
		is_int(v[0].created, 1700000000, "created");
		ok(v[0].labels.labels_ok && v[0].labels.replica == 2 && v[0].labels.generation == 7 &&
		       strcmp(v[0].labels.service, "web") == 0 && strcmp(v[0].labels.node, NODE) == 0,
		   "labels read");
		ok(!v[1].labels.labels_ok && strcmp(v[1].labels.node, NODE) == 0,
		   "malformed replica label: labels_ok 0, node still known");
	}
	free(v);
	ok(docker_parse_list(body, strlen(body), 1, &v, &n, err, sizeof err) < 0,
	   "more rows than allowed refused");
	const char *bad[] = {
	    "[{\"Id\":\"abc\",\"State\":\"running\"}]",
	    "[{\"Id\":\"" ID64 "\",\"State\":\"flying\"}]",
	    "[{\"Id\":\"" ID64 "\"}]",
	    "{}",
	    "[1]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ok(docker_parse_list(bad[i], strlen(bad[i]), 10, &v, &n, err, sizeof err) < 0,
		   "bad list %zu refused (%s)", i, err);
	ok(docker_parse_list("[]", 2, 10, &v, &n, err, sizeof err) == 0 && n == 0, "empty list");
	free(v);
	/* the health Docker appends to Status, only of running containers */
	const char *hb = "[{\"Id\":\"" ID64 "\",\"State\":\"running\",\"Status\":\"Up 3 minutes (healthy)\"},"
	                 "{\"Id\":\"" ID64 "\",\"State\":\"running\",\"Status\":\"Up 1 second (health: starting)\"},"
	                 "{\"Id\":\"" ID64 "\",\"State\":\"running\",\"Status\":\"Up 2 hours (unhealthy)\"},"
	                 "{\"Id\":\"" ID64 "\",\"State\":\"running\",\"Status\":\"Up 2 hours\"},"
	                 "{\"Id\":\"" ID64 "\",\"State\":\"exited\",\"Status\":\"Exited (1) (unhealthy)\"},"
	                 "{\"Id\":\"" ID64 "\",\"State\":\"running\",\"Status\":7}]";
	ok(docker_parse_list(hb, strlen(hb), 10, &v, &n, err, sizeof err) == 0 && n == 6, "health list: %s", err);
	if (n == 6)
		ok(v[0].health == DOCKER_HEALTH_HEALTHY && v[1].health == DOCKER_HEALTH_STARTING &&
		       v[2].health == DOCKER_HEALTH_UNHEALTHY && v[3].health == DOCKER_HEALTH_NONE &&
		       v[4].health == DOCKER_HEALTH_NONE && v[5].health == DOCKER_HEALTH_NONE,
		   "health from Status");
	free(v);
}

static void test_event(void)
{
	char err[256];
	struct docker_event ev;
	const char *die = "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"" ID64
	                  "\",\"Attributes\":{\"exitCode\":\"137\",\"name\":\"canteen.web.2\","
	                  "\"io.canteen.service\":\"web\",\"io.canteen.replica\":\"2\","
	                  "\"io.canteen.generation\":\"7\",\"io.canteen.node\":\"" NODE "\"}},"
	                  "\"timeNano\":1700000000123456789}";
	is_int(docker_parse_event(die, strlen(die), &ev, err, sizeof err), 1, "die event");
	is_str(ev.action, "die", "action");
	is_int(ev.exit_code, 137, "exit code");
	ok(ev.labels.labels_ok && ev.labels.replica == 2, "labels from attributes");
	const char *exec = "{\"Type\":\"container\",\"Action\":\"exec_start: sh -c true\",\"Actor\":"
	                   "{\"ID\":\"" ID64 "\",\"Attributes\":{}}}";
	is_int(docker_parse_event(exec, strlen(exec), &ev, err, sizeof err), 1, "exec event");
	is_str(ev.action, "exec_start", "action cut at the colon");
	is_int(ev.exit_code, -1, "no exit code");
	const char *hs = "{\"Type\":\"container\",\"Action\":\"health_status: unhealthy\",\"Actor\":"
	                 "{\"ID\":\"" ID64 "\",\"Attributes\":{}}}";
	is_int(docker_parse_event(hs, strlen(hs), &ev, err, sizeof err), 1, "health event");
	ok(strcmp(ev.action, "health_status") == 0 && ev.health == DOCKER_HEALTH_UNHEALTHY,
	   "health_status: unhealthy");
	hs = "{\"Type\":\"container\",\"Action\":\"health_status: healthy\",\"Actor\":"
	     "{\"ID\":\"" ID64 "\",\"Attributes\":{}}}";
	ok(docker_parse_event(hs, strlen(hs), &ev, err, sizeof err) == 1 && ev.health == DOCKER_HEALTH_HEALTHY,
	   "health_status: healthy");
	hs = "{\"Type\":\"container\",\"Action\":\"health_status: bogus\",\"Actor\":"
	     "{\"ID\":\"" ID64 "\",\"Attributes\":{}}}";
	ok(docker_parse_event(hs, strlen(hs), &ev, err, sizeof err) == 1 && ev.health == DOCKER_HEALTH_NONE,
	   "an unknown health: none");
	const char *net = "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"x\"}}";
	is_int(docker_parse_event(net, strlen(net), &ev, err, sizeof err), 0, "network event ignored");
	const char *noid = "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"zz\"}}";
	is_int(docker_parse_event(noid, strlen(noid), &ev, err, sizeof err), -1, "bad ID refused");
	is_int(docker_parse_event("nope", 4, &ev, err, sizeof err), -1, "not JSON refused");
}

static void test_small_answers(void)
{
	char err[256], id[DOCKER_ID_LEN + 1], msg[64];
	const char *c = "{\"Id\":\"" ID64 "\",\"Warnings\":[]}";
	ok(docker_parse_created(c, strlen(c), id, err, sizeof err) == 0 && strcmp(id, ID64) == 0,
	   "create answer");
	ok(docker_parse_created("{\"Id\":\"x\"}", 10, id, err, sizeof err) < 0, "short Id refused");
	const char *e = "{\"message\":\"No such image: a:1\"}";
	docker_parse_error(e, strlen(e), msg, sizeof msg);
	is_str(msg, "No such image: a:1", "error message");
	docker_parse_error("plain\ntext", 10, msg, sizeof msg);
	is_str(msg, "plain?text", "non-JSON error body kept printable");
	struct docker_progress p;
	const char *pr = "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":5,\"total\":9},"
	                 "\"id\":\"abc\"}";
	ok(docker_parse_progress(pr, strlen(pr), &p, err, sizeof err) == 0 && p.current == 5 &&
	       p.total == 9 && strcmp(p.layer, "abc") == 0, "pull progress");
	const char *pe = "{\"error\":\"pull access denied\",\"errorDetail\":{}}";
	ok(docker_parse_progress(pe, strlen(pe), &p, err, sizeof err) == 0 &&
	       strcmp(p.error, "pull access denied") == 0, "pull error line");
	const char *pm = "{\"message\":\"Get \\\"http://127.0.0.1:1/v2/\\\": connection refused\"}";
	ok(docker_parse_progress(pm, strlen(pm), &p, err, sizeof err) == 0 &&
	       strcmp(p.error, "Get \"http://127.0.0.1:1/v2/\": connection refused") == 0,
	   "a pull refused before streaming: Docker's message is the error");
	const char *px = "{\"message\":\"x\",\"other\":1}";
	ok(docker_parse_progress(px, strlen(px), &p, err, sizeof err) < 0,
	   "a message among other keys is no error line");
	char enc[64];
	ok(docker_urlencode("{\"a\":[\"b=c\"]}", enc, sizeof enc) == 0 &&
	       strcmp(enc, "%7B%22a%22%3A%5B%22b%3Dc%22%5D%7D") == 0, "urlencode");
	ok(docker_urlencode("abcdef", enc, 4) < 0, "urlencode refuses to truncate");
}

static void test_images(void)
{
	const char *good[] = {
	    "busybox", "busybox:1", "canteen-test/busybox:1", "library/ubuntu:22.04",
	    "registry.example.com:5000/team/app:v1.2-rc_3", "localhost/a", "localhost:5000/a/b",
	    "a__b/c.d/e-f---g:latest",
	    "web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    "web:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    "127.0.0.1:1/nothing:1", "Registry.Example/x",
	};
	const char *bad[] = {
	    "", "UPPER", "a/UPPER", "a:", ":tag", "a::b", "a//b", "/a", "a/", "-a", "a-", "a..b",
	    "a___b", "a:-tag", "a@sha256:abc", "a@md5:0123456789abcdef0123456789abcdef",
	    "a b", "a\"b", "host:port/a", "a:tag/b", ".a", "a:t@g",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ok(rec_image_check(good[i], strlen(good[i]), NULL, 0) == 0, "valid image %s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ok(rec_image_check(bad[i], strlen(bad[i]), NULL, 0) < 0, "invalid image '%s'", bad[i]);
	char name[DOCKER_IMAGE_MAX], tag[DOCKER_IMAGE_MAX];
	ok(docker_image_split("localhost:5000/a/b", name, sizeof name, tag, sizeof tag) == 0 &&
	       strcmp(name, "localhost:5000/a/b") == 0 && strcmp(tag, "latest") == 0,
	   "split: registry port is no tag");
	ok(docker_image_split("x/y:2", name, sizeof name, tag, sizeof tag) == 0 &&
	       strcmp(name, "x/y") == 0 && strcmp(tag, "2") == 0, "split: tag");
	ok(docker_image_split("x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	                      name, sizeof name, tag, sizeof tag) == 0 &&
	       strcmp(name, "x") == 0 && strncmp(tag, "sha256:", 7) == 0, "split: digest");
	char big[300];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ok(rec_image_check(big, strlen(big), NULL, 0) < 0, "overlong reference refused");
}

static json_t *load(const char *s)
{
	return json_loads(s, JSON_REJECT_DUPLICATES, NULL);
}

static void test_desired(void)
{
	char err[512];
	struct docker_desired d;
	json_t *m = load(
	    "{\"op\":\"desired\",\"node\":\"" NODE "\",\"containers\":["
	    "{\"service\":\"web\",\"replica\":0,\"generation\":3,\"image\":\"busybox:1\","
	    "\"command\":[\"sleep\",\"9\"],\"env\":[\"A=1\"],\"cpu_millis\":500,\"mem_mib\":128,"
	    "\"ports\":[{\"host\":8080,\"container\":80,\"proto\":\"tcp\"}]},"
	    "{\"service\":\"web\",\"replica\":0,\"generation\":3,\"image\":\"busybox:1\"},"
	    "{\"service\":\"db\",\"replica\":0,\"generation\":1,\"image\":\"b\","
	    "\"ports\":[{\"host\":8080,\"container\":5432}]},"
	    "{\"service\":\"Bad\",\"replica\":0,\"generation\":1,\"image\":\"b\"},"
	    "{\"service\":\"m\",\"replica\":0,\"generation\":1,\"image\":\"b\",\"mem_mib\":5},"
	    "{\"service\":\"c\",\"replica\":0,\"generation\":1,\"image\":\"b\",\"cpu_millis\":1.5},"
	    "{\"service\":\"r\",\"replica\":100000,\"generation\":1,\"image\":\"b\"},"
	    "{\"service\":\"p\",\"replica\":0,\"generation\":1,\"image\":\"b\","
	    "\"ports\":[{\"host\":1,\"container\":2,\"proto\":\"sctp\"}]},"
	    "{\"service\":\"e\",\"replica\":0,\"generation\":1,\"image\":\"b\",\"env\":[\"1A=x\"]},"
	    "{\"service\":\"ok2\",\"replica\":1,\"generation\":1,\"image\":\"b\","
	    "\"ports\":[{\"host\":8081,\"container\":80}]}]}");
	ok(m && docker_desired_decode(m, NODE, &d, err, sizeof err) == 0, "set decodes: %s", err);
	is_int(d.n, 2, "two specs accepted");
	is_int(d.nrejects, 8, "eight refused");
	if (d.n == 2) {
		const struct docker_spec *s = &d.specs[0];
		ok(strcmp(s->service, "web") == 0 && s->generation == 3 && s->cpu_millis == 500 &&
		       s->mem_mib == 128 && s->nports == 1 && s->ncommand == 2 && s->nenv == 1,
		   "first spec fields");
		is_str(d.specs[1].ports[0].proto, "tcp", "proto defaults to tcp");
		json_t *body = docker_spec_create_body(s, NODE, "127.0.0.1");
		char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
		ok(text && strstr(text, "\"NanoCpus\":500000000") && strstr(text, "\"Memory\":134217728") &&
		       strstr(text, "\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080\"}]") &&
		       strstr(text, "\"io.canteen.generation\":\"3\"") &&
		       strstr(text, "\"Cmd\":[\"sleep\",\"9\"]") && strstr(text, "\"Image\":\"busybox:1\""),
		   "create body: %s", text ? text : "(null)");
		char want[256];
		snprintf(want, sizeof want, "\"CANTEEN_SERVICE=web\",\"CANTEEN_REPLICA=%u\",\"CANTEEN_NODE=%s\"]",
		         s->replica, NODE);
		ok(text && strstr(text, want), "the replica's identity ends its env: %s", want);
		snprintf(want, sizeof want, "\"Hostname\":\"web-%u\"", s->replica);
		ok(text && strstr(text, want), "its hostname is SERVICE-REPLICA: %s", want);
		free(text);
		json_decref(body);
		/* A service cannot pass itself off as another through its env; a long name is cut
		 * so that the hostname stays one DNS label. */
		struct docker_spec t = *s;
		char *env[] = {"CANTEEN_SERVICE=evil", "KEEP=1", "CANTEEN_NODE=0xbad"};
		t.env = env;
		t.nenv = 3;
		memset(t.service, 'a', 63);
		t.service[63] = '\0';
		t.replica = 12345;
		body = docker_spec_create_body(&t, NODE, NULL);
		text = json_dumps(body, JSON_COMPACT);
		ok(text && !strstr(text, "evil") && !strstr(text, "0xbad") && strstr(text, "\"KEEP=1\""),
		   "the service's own CANTEEN_SERVICE and CANTEEN_NODE are dropped, other entries kept");
		json_t *h = json_object_get(body, "Hostname");
		ok(json_is_string(h) && json_string_length(h) == 63 &&
		       strcmp(json_string_value(h) + 57, "-12345") == 0,
		   "a 63-byte name with replica 12345: hostname cut to 63 bytes (%s)",
		   h ? json_string_value(h) : "none");
		free(text);
		json_decref(body);
		char name[DOCKER_NAME_MAX];
		docker_spec_name("web", 3, name, sizeof name);
		is_str(name, "canteen.web.3", "container name");
		ok(docker_spec_same(&d.specs[0], &d.specs[0]) && !docker_spec_same(&d.specs[0], &d.specs[1]),
		   "spec comparison");
	}
	if (d.nrejects >= 2) {
		ok(strstr(d.rejects[0].error, "listed twice") != NULL, "duplicate replica: %s",
		   d.rejects[0].error);
		ok(strstr(d.rejects[1].error, "8080/tcp") != NULL && strcmp(d.rejects[1].service, "db") == 0,
		   "host port conflict names the service: %s", d.rejects[1].error);
	}
	docker_desired_free(&d);
	ok(docker_desired_decode(m, "0x00000000000000000000000000000000000000bb", &d, err, sizeof err) < 0,
	   "set for another node refused: %s", err);
	json_decref(m);
	const char *bad[] = {
	    "{\"op\":\"desired\",\"containers\":[]}",
	    "{\"op\":\"desired\",\"node\":\"0xAA\",\"containers\":[]}",
	    "{\"op\":\"desired\",\"node\":\"" NODE "\",\"containers\":{}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		m = load(bad[i]);
		ok(docker_desired_decode(m, NODE, &d, err, sizeof err) < 0, "bad set %zu refused: %s", i,
		   err);
		json_decref(m);
	}
}

/* Version 5's options: decoded, refused by the run rules, in the hash, in the create body. */
static void test_options(void)
{
	char err[512], h0[DOCKER_SPEC_HASH_LEN + 1], h1[DOCKER_SPEC_HASH_LEN + 1];
	struct docker_desired d;
	json_t *m = load(
	    "{\"op\":\"desired\",\"node\":\"" NODE "\",\"containers\":["
	    "{\"service\":\"db\",\"replica\":2,\"generation\":1,\"image\":\"b\","
	    "\"health\":{\"cmd\":[\"CMD-SHELL\",\"test -f /tmp/ok\"],\"interval_ms\":1500,"
	    "\"timeout_ms\":2000,\"start_period_ms\":3,\"retries\":4},"
	    "\"volumes\":[\"data:/var/lib/db\",\"conf:/etc/db:ro\"],\"read_only\":true},"
	    "{\"service\":\"plain\",\"replica\":0,\"generation\":1,\"image\":\"b\"},"
	    "{\"service\":\"plain0\",\"replica\":0,\"generation\":1,\"image\":\"b\",\"read_only\":false,"
	    "\"volumes\":[],\"health\":{}},"
	    "{\"service\":\"args\",\"replica\":0,\"generation\":1,\"image\":\"b\","
	    "\"health\":{\"cmd\":[\"/bin/check\",\"-q\"]}},"
	    "{\"service\":\"off\",\"replica\":0,\"generation\":1,\"image\":\"b\",\"health\":{\"disabled\":true,"
	    "\"retries\":2}},"
	    "{\"service\":\"v1\",\"replica\":0,\"generation\":1,\"image\":\"b\",\"volumes\":[\"d:/a/../b\"]},"
	    "{\"service\":\"v2\",\"replica\":0,\"generation\":1,\"image\":\"b\",\"volumes\":[\"d:/a\",\"e:/a:ro\"]},"
	    "{\"service\":\"v3\",\"replica\":0,\"generation\":1,\"image\":\"b\",\"volumes\":[\"D:/a\"]},"
	    "{\"service\":\"h1\",\"replica\":0,\"generation\":1,\"image\":\"b\","
	    "\"health\":{\"cmd\":[\"CMD-SHELL\",\"a\",\"b\"]}},"
	    "{\"service\":\"h2\",\"replica\":0,\"generation\":1,\"image\":\"b\",\"health\":{\"cmd\":[\"\"]}},"
	    "{\"service\":\"h3\",\"replica\":0,\"generation\":1,\"image\":\"b\",\"health\":{\"cmd\":[\"x\"],"
	    "\"disabled\":true}},"
	    "{\"service\":\"h4\",\"replica\":0,\"generation\":1,\"image\":\"b\",\"health\":{\"retries\":256}},"
	    "{\"service\":\"h5\",\"replica\":0,\"generation\":1,\"image\":\"b\",\"health\":{\"bogus\":1}},"
	    "{\"service\":\"r\",\"replica\":0,\"generation\":1,\"image\":\"b\",\"read_only\":1}]}");
	ok(m && docker_desired_decode(m, NODE, &d, err, sizeof err) == 0, "options set decodes: %s", err);
	is_int(d.n, 5, "five specs with options accepted");
	is_int(d.nrejects, 9, "nine refused by the run rules");
	const char *why[] = {"component", "mounted twice", "NAME:/path", "one non-empty shell command",
	                     "program is empty", "disabled and have a command", "retries", "unknown key",
	                     "read_only"};
	for (size_t i = 0; i < d.nrejects && i < 9; i++)
		ok(strstr(d.rejects[i].error, why[i]) != NULL, "refused %s: %s", d.rejects[i].service,
		   d.rejects[i].error);
	if (d.n == 5) {
		const struct docker_spec *s = &d.specs[0];
		ok(s->health.ncmd == 2 && s->health.interval_ms == 1500 && s->health.retries == 4 &&
		       s->nvolumes == 2 && s->volumes[1].read_only && s->read_only &&
		       strcmp(s->volumes[0].path, "/var/lib/db") == 0 && docker_spec_health_given(s),
		   "options decoded");
		struct docker_create_ctx x = {.node = NODE, .cluster = "31337:0xabc"};
		json_t *body = docker_spec_create(s, &x);
		char *text = json_dumps(json_object_get(body, "Healthcheck"), JSON_COMPACT | JSON_SORT_KEYS);
		is_str(text, "{\"Interval\":1500000000,\"Retries\":4,\"StartPeriod\":3000000,"
		             "\"Test\":[\"CMD-SHELL\",\"test -f /tmp/ok\"],\"Timeout\":2000000000}",
		       "Healthcheck in ns, the shell form as is");
		free(text);
		json_t *hc = json_object_get(body, "HostConfig");
		ok(json_is_true(json_object_get(hc, "ReadonlyRootfs")), "ReadonlyRootfs");
		char vol[256];
		docker_volume_name("31337:0xabc", NODE, "db", 2, "conf", vol, sizeof vol);
		ok(strncmp(vol, "canteen.", 8) == 0 && strlen(vol) == 8 + 12 + strlen(".db.2.conf") &&
		       strcmp(vol + 20, ".db.2.conf") == 0, "volume name %s", vol);
		json_t *m1 = json_array_get(json_object_get(hc, "Mounts"), 1);
		ok(strcmp(json_string_value(json_object_get(m1, "Source")), vol) == 0 &&
		       strcmp(json_string_value(json_object_get(m1, "Target")), "/etc/db") == 0 &&
		       json_is_true(json_object_get(m1, "ReadOnly")) &&
		       strcmp(json_string_value(json_object_get(m1, "Type")), "volume") == 0,
		   "a volume mount, read-only");
		json_t *lab = json_object_get(json_object_get(m1, "VolumeOptions"), "Labels");
		text = json_dumps(lab, JSON_COMPACT | JSON_SORT_KEYS);
		is_str(text, "{\"io.canteen.cluster\":\"31337:0xabc\",\"io.canteen.node\":\"" NODE "\","
		             "\"io.canteen.replica\":\"2\",\"io.canteen.service\":\"db\","
		             "\"io.canteen.volume\":\"conf\"}",
		       "the volume's labels");
		free(text);
		json_decref(body);
		char other[256];
		docker_volume_name("31337:0xabd", NODE, "db", 2, "conf", other, sizeof other);
		ok(strcmp(vol, other) != 0, "another cluster, another volume");
		docker_volume_name("31337:0xabc", "0x2222222222222222222222222222222222222222", "db", 2,
		                   "conf", other, sizeof other);
		ok(strcmp(vol, other) != 0, "another node, another volume (one Docker for two nodes)");
		/* The peers file's directory: bound read-only at /run/canteen, out of the hash. */
		struct docker_create_ctx xpeers = x;
		xpeers.peers_dir = "/run/canteen/peers";
		body = docker_spec_create(s, &xpeers);
		json_t *ms = json_object_get(json_object_get(body, "HostConfig"), "Mounts");
		json_t *pm = json_array_get(ms, json_array_size(ms) - 1);
		text = json_dumps(pm, JSON_COMPACT | JSON_SORT_KEYS);
		is_str(text, "{\"ReadOnly\":true,\"Source\":\"/run/canteen/peers/db\",\"Target\":\"/run/canteen\","
		             "\"Type\":\"bind\"}", "the peers directory, read-only");
		free(text);
		ok(json_array_size(ms) == s->nvolumes + 1, "after the volumes");
		json_decref(body);
		docker_volume_name(NULL, NODE, "db", 3, "conf", other, sizeof other);
		ok(strcmp(vol + 20, other + 20) != 0, "another replica, another volume");

		/* no options, or every option at its default: no Healthcheck, no Mounts, same hash */
		body = docker_spec_create(&d.specs[1], &x);
		hc = json_object_get(body, "HostConfig");
		ok(!json_object_get(body, "Healthcheck") && !json_object_get(hc, "Mounts") &&
		       !json_object_get(hc, "ReadonlyRootfs"), "no options: none in the body");
		json_decref(body);
		docker_spec_hash(&d.specs[1], h0);
		docker_spec_hash(&d.specs[2], h1);
		is_str(h0, h1, "options at their default leave the hash alone");
		/* the hash of a spec without options is the one of the code before them */
		is_str(h0, "b175fe46092f23729aca2517c109a9d8", "hash unchanged for old specs");

		body = docker_spec_create(&d.specs[3], &x);
		text = json_dumps(json_object_get(body, "Healthcheck"), JSON_COMPACT);
		is_str(text, "{\"Test\":[\"CMD\",\"/bin/check\",\"-q\"]}", "CMD form");
		free(text);
		json_decref(body);
		body = docker_spec_create(&d.specs[4], &x);
		text = json_dumps(json_object_get(body, "Healthcheck"), JSON_COMPACT | JSON_SORT_KEYS);
		is_str(text, "{\"Retries\":2,\"Test\":[\"NONE\"]}", "--no-healthcheck: Test NONE");
		free(text);
		json_decref(body);
		ok(!docker_spec_health_given(&d.specs[4]) && !docker_spec_health_given(&d.specs[1]),
		   "health given: only with a command");

		/* the node's policy_read_only still makes every root read-only, with /tmp */
		struct docker_policy pol;
		memset(&pol, 0, sizeof pol);
		pol.read_only = 1;
		struct docker_create_ctx xp = {.node = NODE, .cluster = "31337:0xabc", .policy = &pol};
		for (int k = 0; k < 2; k++) {
			body = docker_spec_create(&d.specs[k], &xp);
			hc = json_object_get(body, "HostConfig");
			ok(json_is_true(json_object_get(hc, "ReadonlyRootfs")) &&
			       json_object_get(json_object_get(hc, "Tmpfs"), "/tmp") &&
			       json_array_size(json_object_get(hc, "Mounts")) == (k ? 0u : 2u),
			   "policy_read_only over spec %d: read-only root, /tmp tmpfs, its volumes", k);
			json_decref(body);
		}

		/* every option is in the hash and in the comparison */
		struct docker_spec t = d.specs[0];
		docker_spec_hash(&t, h0);
		const char *what[] = {"interval", "retries", "volume path", "volume ro", "read_only", "cmd"};
		for (int k = 0; k < 6; k++) {
			t = d.specs[0];
			char *cmd2[] = {"CMD-SHELL", "test -f /tmp/no"};
			switch (k) {
			case 0: t.health.interval_ms++; break;
			case 1: t.health.retries++; break;
			case 2: t.volumes[0].path[1] = 'X'; break;
			case 3: t.volumes[0].read_only = 1; break;
			case 4: t.read_only = 0; break;
			default: t.health.cmd = cmd2; break;
			}
			docker_spec_hash(&t, h1);
			ok(strcmp(h0, h1) != 0 && !docker_spec_same(&t, &d.specs[0]), "%s changes the hash", what[k]);
		}
	}
	docker_desired_free(&d);
	json_decref(m);
}

int main(void)
{
	test_version();
	test_list();
	test_event();
	test_small_answers();
	test_images();
	test_desired();
	test_options();
	return done_testing();
}
