# sched.bash: helpers for the canteen-sched bats files: scripted peers, schedulers, placement queries.

# A scripted peer (tests/tools/feed_tool) at SOCK, started in the background.
feed_start() {
	start_bg "$1" "$TBIN/feed_tool" serve "$2"
	wait_until 5 test -S "$2"
}
feed() { "$TBIN/ipc_tool" request "$1" "$2"; }

node_json() { # ADDR [CPU] [LABELS]
	printf '{"address":"%s","endpoint":"127.0.0.1:7946","swim_pubkey":"%064d","cpu_millis":%s,"mem_mib":8192,"labels":%s,"active":true}' \
		"$1" 0 "${2:-4000}" "${3:-{\}}"
}
svc_json() { # NAME REPLICAS [PORT] [GENERATION]
	local ports='[]'
	[ -n "${3:-}" ] && ports="[{\"host\":$3,\"container\":80,\"proto\":\"tcp\"}]"
	printf '{"name":"%s","image":"canteen-test:1","command":["sh","-c","sleep 1000"],"env":["K=V"],"replicas":%s,"cpu_millis":250,"mem_mib":64,"ports":%s,"priority":1,"strategy":"spread","exclusive":false,"selector":{},"generation":%s}' \
		"$1" "$2" "$ports" "${4:-1}"
}
member_json() { printf '{"address":"%s","endpoint":"127.0.0.1:7946","state":"%s","incarnation":0,"meta":null}' "$1" "$2"; }

# chain_lines NODES_JSON SERVICES_JSON: chain.sock's snapshot lines, as a JSON array.
chain_lines() {
	jq -cn --argjson n "[$1]" --argjson s "[$2]" '
		[{type: "snapshot.begin", block: 1, block_hash: "0x01", nodes: ($n | length), services: ($s | length)}]
		+ ($n | map({type: "node", node: .})) + ($s | map({type: "service", service: .}))
		+ [{type: "snapshot.end", block: 1, nodes: ($n | length), services: ($s | length)}]'
}
# chain_set SOCK NODES_JSON SERVICES_JSON
chain_set() {
	feed "$1" "{\"op\":\"set\",\"snapshot\":$(chain_lines "$2" "$3")}" | grep -q '"ok"'
}
publish() { feed "$1" "{\"op\":\"publish\",\"event\":$2}" | grep -q '"ok"'; }

sched_start() { # NAME RUNDIR NODE [FLAGS...]
	local name=$1 dir=$2 node=$3; shift 3
	start_bg "$name" "$BIN/canteen-sched" -d "$dir" --node "$node" --debounce 20ms "$@"
	wait_until 5 test -S "$dir/sched.sock"
}
sched_req() { "$TBIN/ipc_tool" request "$1/sched.sock" "$2"; }
hash_of() { sched_req "$1" '{"op":"placement"}' | jq -r .hash; }
ready() { [ "$(sched_req "$1" '{"op":"placement"}' | jq -r .ready)" = true ]; }
hash_is() { [ "$(hash_of "$1")" = "$2" ]; }
hash_not() { local h; h=$(hash_of "$1"); [ -n "$h" ] && [ "$h" != "$2" ]; }
same_hash() { local a b; a=$(hash_of "$1"); b=$(hash_of "$2"); [ -n "$a" ] && [ "$a" = "$b" ]; }
on_node() { sched_req "$1" '{"op":"placement"}' | jq --arg n "$2" '[.assignments[] | select(.node == $n)] | length'; }
computations() { sched_req "$1" '{"op":"status"}' | jq .computations; }
computed_more() { [ "$(computations "$1")" -gt "$2" ]; }
desired_count() { feed "$1" '{"op":"last_desired"}' | jq '.desired.containers | length'; }
# answer_is SOCK REQUEST JQ_FILTER VALUE: polled by wait_until (evaluated on every try).
answer_is() { [ "$("$TBIN/ipc_tool" request "$1" "$2" | jq -c "$3")" = "$4" ]; }
# desired_matches SCHED_DIR DOCKERD_SOCK NODE: dockerd holds exactly NODE's share.
desired_matches() { [ "$(desired_count "$2")" = "$(on_node "$1" "$3")" ]; }
on_node_is() { [ "$(on_node "$1" "$2")" = "$3" ]; }
