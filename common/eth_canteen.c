/* eth_canteen.c: Canteen contract records (decoded ABI tuples) into NODE and SERVICE objects. */
#include <string.h>

#include "eth_canteen.h"

json_t *eth_canteen_kv(const json_t *list)
{
	json_t *o = json_object();
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item) {
		const char *s = json_string_value(item);
		const char *eq = s ? strchr(s, '=') : NULL;
		if (!eq)
			continue;
		char key[512];
		size_t kl = (size_t)(eq - s);
		if (kl >= sizeof key)
			continue;
		memcpy(key, s, kl);
		key[kl] = '\0';
		json_object_set_new(o, key, json_string(eq + 1));
	}
	return o;
}

json_t *eth_canteen_node(const json_t *rec)
{
	const char *pk = json_string_value(json_object_get(rec, "swimPubKey"));
	return json_pack("{s:O, s:O, s:s, s:O, s:O, s:o, s:O}",
	                 "address", json_object_get(rec, "addr"),
	                 "endpoint", json_object_get(rec, "endpoint"),
	                 "swim_pubkey", pk && strlen(pk) == 66 ? pk + 2 : "",
	                 "cpu_millis", json_object_get(rec, "cpuMillis"),
	                 "mem_mib", json_object_get(rec, "memMiB"),
	                 "labels", eth_canteen_kv(json_object_get(rec, "labels")),
	                 "active", json_object_get(rec, "active"));
}

const char *eth_canteen_strategy(json_int_t s)
{
	static const char *names[] = {"spread", "roundrobin", "binpack"};
	return s >= 0 && s < 3 ? names[s] : "unknown";
}

json_t *eth_canteen_service(const json_t *rec)
{
	json_t *ports = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(rec, "ports"), i, p) {
		json_array_append_new(ports, json_pack("{s:O, s:O, s:s}", "host", json_object_get(p, "host"),
		                                       "container", json_object_get(p, "container"), "proto",
		                                       json_integer_value(json_object_get(p, "proto")) == 1
		                                           ? "udp" : "tcp"));
	}
	return json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:o, s:O, s:s, s:O, s:o, s:O}",
	                 "name", json_object_get(rec, "name"),
	                 "image", json_object_get(rec, "image"),
	                 "command", json_object_get(rec, "command"),
	                 "env", json_object_get(rec, "env"),
	                 "replicas", json_object_get(rec, "replicas"),
	                 "cpu_millis", json_object_get(rec, "cpuMillis"),
	                 "mem_mib", json_object_get(rec, "memMiB"),
	                 "ports", ports,
	                 "priority", json_object_get(rec, "priority"),
	                 "strategy", eth_canteen_strategy(json_integer_value(json_object_get(rec, "strategy"))),
	                 "exclusive", json_object_get(rec, "exclusive"),
	                 "selector", eth_canteen_kv(json_object_get(rec, "selector")),
	                 "generation", json_object_get(rec, "generation"));
}
