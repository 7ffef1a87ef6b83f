/* test_place_state.c: decoding chain.sock and swim.sock messages into placement inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "place.h"
#include "place_state.h"
#include "rec.h"
#include "replstate.h"
#include "tap.h"

#define A1 "0x1111111111111111111111111111111111111111"
#define A2 "0x2222222222222222222222222222222222222222"
#define A3 "0x3333333333333333333333333333333333333333"

static json_t *parse(const char *s)
{
	char err[256];
	json_t *j = ipc_parse_line(s, strlen(s), err, sizeof err);
	if (!j)
		diag("parse: %s: %s", err, s);
	return j;
}

static int chain(struct place_state *st, const char *line, char *err, size_t errlen)
{
	json_t *m = parse(line);
	int rc = place_state_chain(st, m, err, errlen);
	json_decref(m);
	return rc;
}

static int swim(struct place_state *st, const char *line, char *err, size_t errlen)
{
	json_t *m = parse(line);
	int rc = place_state_swim(st, m, err, errlen);
	json_decref(m);
	return rc;
}

static const struct place_node *node(const struct place_input *in, const char *a)
{
	for (size_t i = 0; i < in->nnodes; i++)
		if (strcmp(in->nodes[i].address, a) == 0)
			return &in->nodes[i];
	return NULL;
}

static const struct place_service *svc(const struct place_input *in, const char *name)
{
	for (size_t i = 0; i < in->nservices; i++)
		if (strcmp(in->services[i].name, name) == 0)
			return &in->services[i];
	return NULL;
}

#define PK "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NODE(a, cpu, labels) "{\"address\":\"" a "\",\"endpoint\":\"127.0.0.2:7946\",\"swim_pubkey\":\"" PK "\"," \
	"\"cpu_millis\":" #cpu ",\"mem_mib\":1024,\"labels\":" labels ",\"active\":true}"
#define MEMBER(a, s) "{\"address\":\"" a "\",\"endpoint\":\"x\",\"state\":\"" s "\",\"incarnation\":1,\"meta\":null}"

/* A whole chain snapshot written as one object {"nodes":[...],"services":[...]} goes in
 * as chainwatch sends it: snapshot.begin, a line per record, snapshot.end (whose answer
 * is returned; a record line's error goes to err). */
static int chain_snap(struct place_state *st, const char *text, char *err, size_t errlen)
{
	json_t *m = parse(text), *v;
	json_t *nodes = json_object_get(m, "nodes"), *svcs = json_object_get(m, "services");
	size_t i;
	char lerr[256];
	json_t *b = json_pack("{s:s, s:i}", "type", "snapshot.begin", "block", 5);
	int rc = place_state_chain(st, b, err, errlen);
	json_decref(b);
	json_array_foreach(nodes, i, v) {
		json_t *l = json_pack("{s:s, s:O}", "type", "node", "node", v);
		if (place_state_chain(st, l, lerr, sizeof lerr) != 0)
			rc = -2;
		json_decref(l);
	}
	json_array_foreach(svcs, i, v) {
		json_t *l = json_pack("{s:s, s:O}", "type", "service", "service", v);
		if (place_state_chain(st, l, lerr, sizeof lerr) != 0)
			rc = -2;
		json_decref(l);
	}
	json_t *e = json_pack("{s:s, s:I, s:I}", "type", "snapshot.end", "nodes",
	                      (json_int_t)json_array_size(nodes), "services",
	                      (json_int_t)json_array_size(svcs));
	if (rc == 0)
		rc = place_state_chain(st, e, err, errlen);
	json_decref(e);
	json_decref(m);
	return rc;
}

/* Snapshot lines are assembled and applied at the end only, within bounds. */
static void test_snapshot_lines(void)
{
	struct place_state *st = place_state_new();
	struct place_input in;
	char err[512];
	is_int(chain(st, "{\"type\":\"node\",\"node\":" NODE(A1, 1000, "{}") "}", err, sizeof err), -1,
	       "a node line outside a snapshot is refused: %s", err);
	is_int(chain(st, "{\"type\":\"snapshot.end\",\"nodes\":0,\"services\":0}", err, sizeof err), -1,
	       "snapshot.end without a begin is refused");
	is_int(chain_snap(st, "{\"nodes\":[" NODE(A1, 1000, "{}") "],\"services\":[]}", err, sizeof err), 1,
	       "a snapshot of one node");
	is_int(chain(st, "{\"type\":\"snapshot.begin\",\"block\":6}", err, sizeof err), 0, "begin");
	is_int(chain(st, "{\"type\":\"node\",\"node\":" NODE(A2, 1000, "{}") "}", err, sizeof err), 0, "a line");
	place_state_input(st, &in);
	ok(in.nnodes == 1 && node(&in, A1), "nothing of a snapshot applies before its end");
	is_int(chain(st, "{\"type\":\"snapshot.end\",\"nodes\":2,\"services\":0}", err, sizeof err), -1,
	       "an end announcing more records than came is refused: %s", err);
	place_state_input(st, &in);
	ok(in.nnodes == 1 && node(&in, A1), "and the last state stays");
	chain(st, "{\"type\":\"snapshot.begin\",\"block\":6}", err, sizeof err);
	chain(st, "{\"type\":\"node\",\"node\":" NODE(A2, 1000, "{}") "}", err, sizeof err);
	is_int(chain(st, "{\"type\":\"node.remove\",\"address\":\"" A1 "\"}", err, sizeof err), -1,
	       "an event inside a snapshot drops it: %s", err);
	is_int(chain(st, "{\"type\":\"snapshot.end\",\"nodes\":1,\"services\":0}", err, sizeof err), -1,
	       "so its end is refused");
	/* Past REC_SNAP_MAX_RECORDS the snapshot is dropped, whatever else comes. */
	chain(st, "{\"type\":\"snapshot.begin\",\"block\":7}", err, sizeof err);
	json_t *l = parse("{\"type\":\"node\",\"node\":" NODE(A2, 1000, "{}") "}");
	int rc = 0;
	size_t n;
	for (n = 0; n <= REC_SNAP_MAX_RECORDS && rc == 0; n++)
		rc = place_state_chain(st, l, err, sizeof err);
	json_decref(l);
	is_int(rc, -1, "record %zu of a snapshot is refused: %s", n, err);
	is_int((int)n, REC_SNAP_MAX_RECORDS + 1, "after exactly %d records", REC_SNAP_MAX_RECORDS);
	is_int(chain(st, "{\"type\":\"snapshot.end\",\"nodes\":65537,\"services\":0}", err, sizeof err),
	       -1, "and its end finds nothing to apply");
	/* Past REC_SNAP_MAX_BYTES too: services with big commands. */
	chain(st, "{\"type\":\"snapshot.begin\",\"block\":8}", err, sizeof err);
	json_t *cmd = json_array();
	char big[REC_MAX_ITEM_LEN + 1];
	memset(big, 'x', REC_MAX_ITEM_LEN);
	big[REC_MAX_ITEM_LEN] = '\0';
	for (int i = 0; i < REC_MAX_ITEMS; i++)
		json_array_append_new(cmd, json_string(big));
	json_t *sv = json_pack("{s:s, s:{s:s, s:s, s:i, s:o}}", "type", "service", "service", "name", "big",
	                       "image", "img", "replicas", 1, "command", cmd);
	size_t one = json_dumpb(json_object_get(sv, "service"), NULL, 0, JSON_COMPACT);
	rc = 0;
	for (n = 0; n < REC_SNAP_MAX_RECORDS && rc == 0; n++)
		rc = place_state_chain(st, sv, err, sizeof err);
	json_decref(sv);
	ok(rc == -1 && n == REC_SNAP_MAX_BYTES / one + 1,
	   "service %zu of %zu bytes each passes REC_SNAP_MAX_BYTES: refused: %s", n, one, err);
	place_state_input(st, &in);
	ok(in.nnodes == 1 && node(&in, A1) && in.nservices == 0, "the state is still the last whole snapshot");
	place_state_free(st);
}

/* Who else holds a container of a replica, from the members' replica states. */
static void test_claims(void)
{
	struct place_state *st = place_state_new();
	char err[512], meta[REPLSTATE_MAX + 1], line[2048];
	struct replstate_entry e[2] = {
		{.hash = replstate_hash("db"), .replica = 1, .state = RS_RUNNING},
		{.hash = replstate_hash("db"), .replica = 2, .state = RS_EXITED}};
	replstate_encode(e, 2, meta, sizeof meta);
	json_t *jm = json_string(meta);
	char *qm = json_dumps(jm, JSON_ENCODE_ANY);
	place_state_set_self(st, A1);
	snprintf(line, sizeof line, "{\"type\":\"snapshot\",\"seq\":1,\"self\":\"" A1 "\",\"members\":["
	         "{\"address\":\"" A2 "\",\"endpoint\":\"x\",\"state\":\"alive\",\"incarnation\":1,\"meta\":%s},"
	         "{\"address\":\"" A1 "\",\"endpoint\":\"x\",\"state\":\"alive\",\"incarnation\":1,\"meta\":%s}]}",
	         qm, qm);
	is_int(swim(st, line, err, sizeof err), 1, "snapshot with replica states applied %s", err);
	ok(place_state_meta_changed(st) && !place_state_meta_changed(st), "metadata change seen once");
	json_t *c = place_state_claims(st);
	char k1[32], k2[32];
	snprintf(k1, sizeof k1, "%08x/1", (unsigned)replstate_hash("db"));
	snprintf(k2, sizeof k2, "%08x/2", (unsigned)replstate_hash("db"));
	is_str(json_string_value(json_object_get(c, k1)), A2, "db/1 running on A2: claimed by A2 (not by self)");
	ok(!json_object_get(c, k2), "db/2 exited: not claimed");
	json_decref(c);
	snprintf(line, sizeof line, "{\"type\":\"member.dead\",\"seq\":2,\"member\":{\"address\":\"" A2
	         "\",\"endpoint\":\"x\",\"state\":\"dead\",\"incarnation\":1,\"meta\":%s}}", qm);
	swim(st, line, err, sizeof err);
	c = place_state_claims(st);
	ok(c && json_object_size(c) == 0, "a dead member claims nothing");
	json_decref(c);
	snprintf(line, sizeof line, "{\"type\":\"member.alive\",\"seq\":3,\"member\":{\"address\":\"" A2
	         "\",\"endpoint\":\"x\",\"state\":\"alive\",\"incarnation\":2,\"meta\":\"R1 junk\"}}");
	swim(st, line, err, sizeof err);
	c = place_state_claims(st);
	ok(c && json_object_size(c) == 0 && place_state_meta_changed(st),
	   "malformed replica states claim nothing");
	json_decref(c);
	free(qm);
	json_decref(jm);
	place_state_free(st);
}

int main(void)
{
	char err[512];
	struct place_input in;
	struct place_state *st = place_state_new();
	ok(st && !place_state_ready(st), "new state is not ready");

	int rc = chain_snap(st, "{\"nodes\":[" NODE(A1, 4000, "{\"zone\":\"a\"}") ","
	             NODE(A2, 2000, "{}") ",{\"address\":\"0xBAD\",\"cpu_millis\":1,\"mem_mib\":1,\"active\":true}],"
	             "\"services\":[{\"name\":\"web\",\"image\":\"img:1\",\"command\":[\"sh\"],\"env\":[\"A=B\"],"
	             "\"replicas\":2,\"cpu_millis\":100,\"mem_mib\":64,\"ports\":[{\"host\":8080,\"container\":80,"
	             "\"proto\":\"udp\"}],\"priority\":-3,\"strategy\":\"binpack\",\"exclusive\":true,"
	             "\"selector\":{\"zone\":\"a\"},\"generation\":9},"
	             "{\"name\":\"Bad Name\",\"image\":\"x\",\"replicas\":1,\"cpu_millis\":1,\"mem_mib\":1}]}",
	             err, sizeof err);
	is_int(rc, 1, "chain snapshot applied");
	ok(strstr(err, "left out 2 malformed") != NULL,
	   "malformed node and service left out and reported: %s", err);
	ok(!place_state_ready(st), "not ready without membership");
	place_state_set_self(st, A1);
	rc = swim(st, "{\"type\":\"snapshot\",\"seq\":1,\"self\":\"" A1 "\",\"members\":[" MEMBER(A1, "alive") ","
	          MEMBER(A2, "suspect") "," MEMBER(A3, "alive") "]}", err, sizeof err);
	is_int(rc, 1, "membership snapshot applied");
	ok(place_state_ready(st), "ready with both snapshots");
	is_str(err, "", "swim's self is this node: no warning");

	ok(place_state_input(st, &in) == 0 && in.nnodes == 2 && in.nservices == 1, "input: 2 nodes, 1 service");
	const struct place_node *n2 = node(&in, A2);
	ok(n2 && n2->live && n2->active && n2->cpu_millis == 2000, "suspect member is live");
	const struct place_service *w = svc(&in, "web");
	ok(w && w->replicas == 2 && w->priority == -3 && w->strategy == PLACE_BINPACK && w->exclusive &&
	   w->generation == 9 && w->nports == 1 && w->ports[0].proto == PLACE_UDP &&
	   w->ports[0].host == 8080 && w->nselector == 1 && strcmp(w->selector[0].value, "a") == 0,
	   "service fields decoded");
	struct place_result *r = NULL;
	ok(place_compute(&in, &r, err, sizeof err) == 0 && r->nslots == 2, "the input places");
	place_result_free(r);

	is_int(swim(st, "{\"type\":\"member.dead\",\"seq\":2,\"member\":" MEMBER(A2, "dead") "}", err, sizeof err),
	       1, "member.dead applied");
	place_state_input(st, &in);
	ok(!node(&in, A2)->live, "dead member is not live");
	is_int(swim(st, "{\"type\":\"member.dead\",\"seq\":3,\"member\":" MEMBER(A2, "dead") "}", err, sizeof err),
	       0, "the same state again changes nothing");
	is_int(swim(st, "{\"type\":\"member.alive\",\"seq\":3,\"member\":" MEMBER(A2, "dead") "}", err, sizeof err),
	       -1, "event type and member state must agree");
	is_int(swim(st, "{\"type\":\"member.dead\",\"member\":" MEMBER(A1, "dead") "}", err, sizeof err), 1,
	       "self reported dead");
	place_state_input(st, &in);
	ok(node(&in, A1)->live, "this node stays live whatever swim says");

	is_int(chain(st, "{\"type\":\"node.upsert\",\"node\":" NODE(A3, 1000, "{}") "}", err, sizeof err), 1,
	       "node.upsert");
	is_int(chain(st, "{\"type\":\"node.upsert\",\"node\":{\"address\":\"" A3 "\",\"cpu_millis\":-5,"
	             "\"mem_mib\":1,\"active\":true}}", err, sizeof err), -1, "bad node.upsert refused: %s", err);
	place_state_input(st, &in);
	ok(node(&in, A3) && node(&in, A3)->cpu_millis == 1000, "refused upsert left the node as it was");
	/* activation (contract version 6): binpack's order; a hostile line cannot set one out
	 * of range, and a good one reaches the placement's input. */
	static const char *const bad_act[] = {"-1", "9007199254740993", "\"7\"", "1.5", "true"};
	int act_bad = 0;
	for (size_t k = 0; k < sizeof bad_act / sizeof bad_act[0]; k++) {
		char line[400];
		snprintf(line, sizeof line, "{\"type\":\"node.upsert\",\"node\":{\"address\":\"" A3
		         "\",\"cpu_millis\":1000,\"mem_mib\":1,\"active\":true,\"activation\":%s}}",
		         bad_act[k]);
		act_bad += chain(st, line, err, sizeof err) != -1;
	}
	is_int(act_bad, 0, "node.upsert with an activation out of range or not an integer refused");
	is_int(chain(st, "{\"type\":\"node.upsert\",\"node\":{\"address\":\"" A3 "\",\"cpu_millis\":1000,"
	             "\"mem_mib\":1,\"active\":true,\"activation\":42}}", err, sizeof err), 1,
	       "node.upsert with an activation");
	place_state_input(st, &in);
	ok(node(&in, A3) && node(&in, A3)->activation == 42, "the activation reaches the placement");
	is_int(chain(st, "{\"type\":\"node.remove\",\"address\":\"" A2 "\"}", err, sizeof err), 1, "node.remove");
	is_int(chain(st, "{\"type\":\"service.upsert\",\"service\":{\"name\":\"db\",\"image\":\"pg\","
	             "\"replicas\":1,\"cpu_millis\":1,\"mem_mib\":64,\"ports\":[{\"host\":5432,\"container\":5432},"
	             "{\"host\":5432,\"container\":5433}]}}", err, sizeof err), 1,
	       "a host port listed twice is kept (the contract takes it)");
	place_state_input(st, &in);
	ok(!svc(&in, "db") && json_string_value(json_object_get(place_state_rejected(st), "db")) &&
	   strcmp(json_string_value(json_object_get(place_state_rejected(st), "db")),
	          "host port 5432/tcp is mapped twice") == 0,
	   "but not placed: rejected with the run rule's reason");
	is_int(chain(st, "{\"type\":\"service.upsert\",\"service\":{\"name\":\"db\",\"image\":\"pg\","
	             "\"replicas\":1,\"cpu_millis\":1,\"mem_mib\":64}}", err, sizeof err), 1,
	       "minimal service.upsert (defaults: spread, priority 0)");
	ok(place_state_service(st, "db") != NULL, "service kept as JSON for the specs");
	is_int(chain(st, "{\"type\":\"service.remove\",\"name\":\"web\"}", err, sizeof err), 1, "service.remove");
	is_int(chain(st, "{\"type\":\"head\",\"block\":7,\"hash\":\"0x00\"}", err, sizeof err), 0,
	       "head changes nothing");
	is_int(chain(st, "{\"type\":\"rpc.down\",\"error\":\"x\"}", err, sizeof err), 0, "rpc.down keeps state");
	is_int(chain(st, "{\"type\":\"rpc.disagree\",\"endpoint\":\"http://127.0.0.1:1\",\"error\":\"x\"}", err,
	             sizeof err), 0, "rpc.disagree (one endpoint of several) keeps state");
	is_int(chain(st, "{\"type\":\"mystery\"}", err, sizeof err), -1, "unknown type refused: %s", err);
	is_int(chain(st, "{\"seq\":1}", err, sizeof err), -1, "message without type refused");
	place_state_input(st, &in);
	ok(in.nnodes == 2 && in.nservices == 1 && svc(&in, "db") && svc(&in, "db")->strategy == PLACE_SPREAD,
	   "state after the events: 2 nodes, service db");
	is_int(swim(st, "{\"type\":\"snapshot\",\"self\":null,\"members\":[" MEMBER(A1, "alive") "]}", err,
	            sizeof err), 1, "membership snapshot with \"self\": null (not admitted yet) accepted");
	is_int(swim(st, "{\"type\":\"snapshot\",\"self\":\"0x12\",\"members\":[]}", err, sizeof err), -1,
	       "membership snapshot with a bad self refused");
	swim(st, "{\"type\":\"snapshot\",\"self\":\"" A1 "\",\"members\":[" MEMBER(A1, "alive") ","
	     MEMBER(A2, "dead") "," MEMBER(A3, "alive") "]}", err, sizeof err);
	size_t nn, ns, nm;
	place_state_counts(st, &nn, &ns, &nm);
	ok(nn == 2 && ns == 1 && nm == 3, "counts %zu nodes %zu services %zu members", nn, ns, nm);

	/* A restarted canteen-swim's first snapshot omits members it has not heard from yet.
	 * Members now: A1 (self) alive, A2 dead, A3 alive; nodes: A1, A3. */
	is_int(swim(st, "{\"type\":\"member.alive\",\"member\":" MEMBER(A2, "alive") "}", err, sizeof err), 1,
	       "member.alive A2");
	is_int((int)place_state_held(st), 0, "nothing held while swim reports everyone");
	is_int(swim(st, "{\"type\":\"snapshot\",\"self\":null,\"members\":[]}", err, sizeof err), 1,
	       "empty snapshot from a restarted swim");
	is_int((int)place_state_held(st), 2, "the alive members it omits (A2, A3) are held; self (A1) needs no hold");
	place_state_input(st, &in);
	ok(node(&in, A3) && node(&in, A3)->live, "a held member still counts as live");
	is_int(swim(st, "{\"type\":\"member.alive\",\"member\":" MEMBER(A3, "alive") "}", err, sizeof err), 0,
	       "swim reporting a held member as it was changes nothing");
	is_int((int)place_state_held(st), 1, "and it is no longer held");
	is_int(place_state_release(st), 1, "release forgets the rest");
	is_int((int)place_state_held(st), 0, "nothing held after release");
	place_state_input(st, &in);
	ok(node(&in, A3) && node(&in, A3)->live && node(&in, A1) && node(&in, A1)->live,
	   "reported members (and self) stay live after release");
	place_state_counts(st, &nn, &ns, &nm);
	is_int((int)nm, 1, "members swim did not report are gone (%zu left)", nm);
	is_int(place_state_release(st), 0, "releasing again changes nothing");
	swim(st, "{\"type\":\"snapshot\",\"self\":null,\"members\":[" MEMBER(A1, "alive") "]}", err, sizeof err);
	is_int((int)place_state_held(st), 1, "a snapshot omitting A3 holds it");
	swim(st, "{\"type\":\"snapshot\",\"self\":null,\"members\":[" MEMBER(A1, "alive") ","
	     MEMBER(A3, "dead") "]}", err, sizeof err);
	is_int((int)place_state_held(st), 0, "a later snapshot that lists it ends the hold");
	place_state_input(st, &in);
	ok(node(&in, A3) && !node(&in, A3)->live, "and its state is the one swim reports (dead)");
	is_int((int)place_state_unheard(st), 0, "every active node is listed (A3 as dead)");
	swim(st, "{\"type\":\"snapshot\",\"self\":null,\"members\":[]}", err, sizeof err);
	is_int((int)place_state_unheard(st), 1, "a snapshot without (dead) A3: one active node unheard; self never");
	is_int(swim(st, "{\"type\":\"snapshot\",\"self\":\"" A2 "\",\"members\":[]}", err, sizeof err), 1,
	       "a snapshot whose self is another node is applied");
	ok(strstr(err, "canteen-swim says it is " A2 ", but this node is " A1) != NULL,
	   "with a warning: %s", err);

	ok(rec_address_ok(A1) && !rec_address_ok("0x11") &&
	   !rec_address_ok("0x111111111111111111111111111111111111111G"), "address check");
	place_state_free(st);
	test_snapshot_lines();
	test_claims();
	return done_testing();
}
