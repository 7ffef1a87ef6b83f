#!/usr/bin/env bats
# isolated.bats: canteen up --isolated, 3 nodes as separate hosts (own network namespace,
# address, dockerd, cgroup): what one shared dockerd hid: a dead server's containers die with
# it, an image one server lacks is not there, a partition and a chain outage seen from each
# server's own dockerd, and down leaves nothing behind.
# needs: docker, root (ip netns, iptables)

load lib/common
load lib/cluster
load lib/isolated

setup_file() {
	load lib/common
	load lib/cluster
	load lib/isolated
	# Every dockerd of the file starts here, in parallel, once.
	up_isolated 3
}

teardown_file() {
	load lib/common
	load lib/cluster
	load lib/isolated
	[ -f "$BATS_FILE_TMPDIR/up/up.json" ] || return 0
	iso_env
	"$BIN/canteen" down > "$BATS_FILE_TMPDIR/down.log" 2>&1
	[ -z "$(iso_leftovers "$SLOT")" ]
}

setup() {
	iso_env
}

teardown() {
	uncut
}

@test "isolated: down refuses an up.json whose slot is not one it could have made, and removes nothing" {
	d=$BATS_TEST_TMPDIR/fake
	mkdir -m 700 "$d"
	for slot in 99 -1 '"0"' 1.5 null; do
		printf '{"isolated":true,"slot":%s,"nodes":[]}\n' "$slot" > "$d/up.json"
		chmod 600 "$d/up.json"
		run "$BIN/canteen" down --dir "$d"
		echo "$slot: $output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"not as canteen up --isolated wrote it"* ]]
		[ -f "$d/up.json" ]
	done
	# This file's own cluster is not touched either.
	[ -e "/var/run/netns/canteen$SLOT-lab" ]
}

@test "isolated: 3 nodes, each its own namespace, address and dockerd; the sample answers on each" {
	for i in 1 2 3; do
		[ -e "/var/run/netns/canteen$SLOT-n$i" ]
		# One web replica per node, in that node's own dockerd.
		[ "$(dk "$i" ps -q --filter label=io.canteen.service=web | wc -l)" -eq 1 ]
		ip=$(jq -r ".nodes[$((i - 1))].ip" "$UP/up.json")
		[ "$(in_ns curl -sf --max-time 2 "http://$ip:8080/")" = "hello from canteen" ]
		# The node's address exists in its namespace only, not on this machine.
		! ip -br addr | grep -qw "$ip"
	done
	# Nothing of the cluster runs in the shared dockerd.
	for i in 1 2 3; do
		[ -z "$(docker ps -aq --filter "label=io.canteen.node=$(node_addr "$i")")" ]
	done
	[ "$(at 2 --json members | jq -r .state | grep -c alive)" -eq 3 ]
	wait_until 30 matches 1 web 3
}

@test "isolated: an image no node holds: the replicas are pending with Docker's pull error" {
	# No node has the image (a node lacking one another holds fetches it: images.bats); no
	# registry is reachable from any namespace.
	# A published port: one replica per node, so node 3 gets one.
	cli service deploy lack --image canteen-iso/only12:1 --replicas 3 --cpu 50m --mem 16M \
		--port 8081:80 -- /bin/busybox httpd -f -p 80 -h /www
	wait_until 60 bash -c '[ "$(placed_set 1 lack | wc -l)" -eq 3 ]'
	[ -z "$(running_set lack)" ]
	# What Docker itself says about that pull, from node 3's namespace.
	run dk 3 pull canteen-iso/only12:1
	[ "$status" -ne 0 ]
	why=${output#Error response from daemon: }
	[ -n "$why" ]
	reason() {
		at 3 --json ps | jq -r --arg n "$(node_addr 3)" \
			'select(.service == "lack" and .node == $n) | "\(.state) \(.reason)"'
	}
	wait_until 30 bash -c "$(declare -f reason); reason | grep -q '^pending pull of canteen-iso/only12:1 failed: '"
	echo "reason: $(reason)"; echo "docker: $why"
	[ "$(reason)" = "pending pull of canteen-iso/only12:1 failed: $why" ]
	grep -qF "pull of canteen-iso/only12:1 failed: $why" "$UP/node3/node.log"
	! grep -q 'failed: no message' "$UP/node3/node.log"
	cli service rm lack
	wait_until 60 bash -c '[ -z "$(running_set lack)" ]'
}

@test "isolated: a killed server takes its dockerd and containers with it; its replicas run on the others" {
	cli service deploy fo --image canteen/demo:1 --replicas 3 --cpu 50m --mem 16M -- /bin/busybox sleep 100000
	wait_until 60 matches 1 fo 3
	placed_set 1 fo > "$BATS_FILE_TMPDIR/fo.before"
	placed_set 1 web > "$BATS_FILE_TMPDIR/web.before"
	victim=3
	addr=$(node_addr $victim)
	# The victim's container processes, as its dockerd knows them.
	pids=$(dk $victim inspect --format '{{.State.Pid}}' $(dk $victim ps -q --filter label=io.canteen.service))
	[ "$(echo "$pids" | wc -w)" -eq 2 ]
	survivors=$(running_set fo | grep -v "$addr")
	t0=$(now_ms)
	kill_node $victim
	# Gone with the server: its dockerd and its containers' processes.
	! dk $victim version
	for p in $pids; do ! kill -0 "$p" 2>/dev/null; done
	[ -z "$(iso_procs $victim)" ]
	wait_until 60 bash -c "[ \"\$(running_set fo | grep -vc $addr)\" -eq 3 ]"
	echo "# isolated failover: server killed -> its replica running elsewhere in $(( $(now_ms) - t0 )) ms" >&3
	[ "$(member_state 1 $victim)" = dead ]
	wait_until 30 matches 1 fo 3
	now=$(running_set fo)
	while read -r line; do echo "$now" | grep -qxF "$line"; done <<< "$survivors"
	wait_until 30 bash -c "at 1 --json ps | jq -c 'select(.service == \"web\" and .reason == \"port conflict\")' | grep -q ."
}

@test "isolated: the killed server boots again with a fresh dockerd: the placement returns to what it was" {
	restart_node 3
	wait_until 30 bash -c '[ "$(member_state 1 3)" = alive ] && [ "$(member_state 3 1)" = alive ]'
	wait_until 90 matches 1 fo 3
	wait_until 60 matches 1 web 3
	[ "$(placed_set 1 fo)" = "$(cat "$BATS_FILE_TMPDIR/fo.before")" ]
	[ "$(placed_set 1 web)" = "$(cat "$BATS_FILE_TMPDIR/web.before")" ]
	# One container of each service on each host (a hand-over in progress may briefly show two).
	one_each() {
		local i
		for i in 1 2 3; do
			[ "$(dk "$i" ps -q --filter label=io.canteen.service=fo | wc -l)" -eq 1 ] || return 1
			[ "$(dk "$i" ps -q --filter label=io.canteen.service=web | wc -l)" -eq 1 ] || return 1
		done
	}
	wait_until 30 one_each
	ip=$(jq -r '.nodes[2].ip' "$UP/up.json")
	wait_until 30 in_ns curl -sf --max-time 2 "http://$ip:8080/"
}

# node_ip I / node_nsexec I CMD...: node I's address; CMD in node I's network namespace only.
node_ip() { jq -r ".nodes[$(($1 - 1))].ip" "$UP/up.json"; }
node_nsexec() {
	local ns
	ns=$(jq -r ".nodes[$(($1 - 1))].netns" "$UP/up.json") && shift
	nsenter --net="/var/run/netns/$ns" "$@"
}

# The rules the tests below add carry this comment; teardown removes any a failed test left.
CUT_TAG=canteen-test-cut

# uncut: remove every rule tagged CUT_TAG from every node's namespace.
uncut() {
	local i rule
	for i in 1 2 3; do
		node_nsexec "$i" iptables -S 2>/dev/null | grep -- "--comment $CUT_TAG" | sed 's/^-A //' |
			while read -r rule; do eval "node_nsexec $i iptables -D $rule"; done
	done
	return 0
}

# cut_off I ACTION: ACTION -I (cut) or -D (heal) the rules, in node I's namespace, that drop
# every packet between node I and the other nodes, both ways (its SWIM, its channel). The
# chain on the lab address stays reachable. -I: ahead of anything its dockerd put there.
cut_off() {
	local i=$1 act=$2 j ip
	for j in 1 2 3; do
		[ "$j" != "$i" ] || continue
		ip=$(node_ip "$j")
		node_nsexec "$i" iptables "$act" INPUT -s "$ip" -m comment --comment "$CUT_TAG" -j DROP
		node_nsexec "$i" iptables "$act" OUTPUT -d "$ip" -m comment --comment "$CUT_TAG" -j DROP
	done
}

# on_node I SERVICE: containers of SERVICE running in node I's own dockerd.
on_node() { dk "$1" ps -q --filter "label=io.canteen.service=$2" | grep -c . || true; }

# side_runs I SERVICE N NODES...: node I's placement of SERVICE has N replicas, all on NODES,
# and the dockerds of NODES run exactly N of them.
side_runs() {
	local i=$1 svc=$2 want=$3 placed n=0 j k ok; shift 3
	placed=$(placed_set "$i" "$svc")
	[ "$(echo "$placed" | grep -c .)" -eq "$want" ] || return 1
	for j in $(echo "$placed" | cut -d' ' -f2); do
		ok=0
		for k in "$@"; do [ "$(node_addr "$k" | tr A-F a-f)" != "$(echo "$j" | tr A-F a-f)" ] || ok=1; done
		[ "$ok" -eq 1 ] || return 1
	done
	for j in "$@"; do n=$((n + $(on_node "$j" "$svc"))); done
	[ "$n" -eq "$want" ]
}

# once SERVICE N: every node's placement of SERVICE is the same N replicas, the dockerds run
# exactly them, and no replica index runs twice anywhere.
once() {
	local i
	for i in 1 2 3; do matches "$i" "$1" "$2" || return 1; done
	[ "$(placed_set 1 "$1")" = "$(placed_set 2 "$1")" ] || return 1
	[ "$(placed_set 1 "$1")" = "$(placed_set 3 "$1")" ] || return 1
	[ -z "$(running_set "$1" | cut -d' ' -f1 | uniq -d)" ] || return 1
	[ "$(( $(on_node 1 "$1") + $(on_node 2 "$1") + $(on_node 3 "$1") ))" -eq "$2" ]
}
export -f node_ip node_nsexec on_node side_runs once

# sdb_log I: the file node I's replica of sdb appends a line to at each start, in its volume.
sdb_log() { dk "$1" exec "$(dk "$1" ps -q --filter label=io.canteen.service=sdb)" /bin/busybox cat /data/log; }
# twice SERVICE: replica indexes running on more than one server (each server's own dockerd).
twice() { running_set "$1" | cut -d' ' -f1 | uniq -d; }
export -f sdb_log twice

@test "isolated: a stateful replica's server killed and booted within failover-after: nothing moved meanwhile, its replica is back on its own dockerd with its volume's data; never two at once" {
	cli service deploy sdb --image canteen/demo:1 --replicas 3 --cpu 50m --mem 16M \
		--volume data:/data --stateful --failover-after 120s -- \
		/bin/busybox sh -c 'echo "$CANTEEN_NODE $CANTEEN_REPLICA" >> /data/log; exec /bin/busybox sleep 100000'
	wait_until 60 matches 1 sdb 3
	victim=2
	addr=$(node_addr $victim)
	wait_until 10 bash -c "[ \"\$(sdb_log $victim | wc -l)\" -eq 1 ]"
	first=$(sdb_log $victim)
	k=$(running_set sdb | awk -v a="$addr" '$2 == a { print $1 }')
	[ -n "$k" ]
	before=$(running_set sdb)
	kill_node $victim
	! dk $victim version
	wait_until 30 bash -c "[ \"\$(member_state 1 $victim)\" = dead ]"
	# Dead, but for less than failover-after: for 15 s its replica runs nowhere else, the
	# others stay where they were, and no index ever runs twice.
	hold_until=$(( $(now_ms) + 15000 ))
	while [ "$(now_ms)" -lt "$hold_until" ]; do
		[ "$(running_set sdb)" = "$(echo "$before" | grep -v " $addr\$")" ]
		[ -z "$(twice sdb)" ]
	done
	at 1 --json ps | jq -r --arg n "$addr" 'select(.service == "sdb" and .node == $n) | .state' | grep -qx unknown
	# Back with a fresh dockerd over its own data root: the replica on it again, with its data.
	restart_node $victim
	wait_until 90 matches 1 sdb 3
	[ "$(running_set sdb)" = "$before" ]
	[ -z "$(twice sdb)" ]
	wait_until 10 bash -c "[ \"\$(sdb_log $victim | wc -l)\" -eq 2 ]"
	[ "$(sdb_log $victim | head -n 1)" = "$first" ]
	[ "$(sdb_log $victim | tail -n 1)" = "$addr $k" ]
	cli service rm sdb
	wait_until 60 bash -c '[ -z "$(running_set sdb)" ]'
}

@test "isolated: node 3 cut off: each side runs what it places over the members it sees, the exclusive one only on the majority; healed, exactly the placement, no replica twice" {
	cli service deploy app --image canteen/demo:1 --replicas 3 --cpu 50m --mem 16M -- /bin/busybox sleep 100000
	cli service deploy solo --image canteen/demo:1 --replicas 1 --cpu 50m --mem 16M --exclusive -- /bin/busybox sleep 100000
	wait_until 60 once app 3
	wait_until 60 once solo 1
	own=$(dk 3 ps -q --no-trunc --filter label=io.canteen.service=app | sort)
	[ -n "$own" ]

	cut_off 3 -I
	wait_until 60 bash -c '[ "$(member_state 1 3)" = dead ] && [ "$(member_state 2 3)" = dead ]'
	wait_until 60 bash -c '[ "$(member_state 3 1)" = dead ] && [ "$(member_state 3 2)" = dead ]'
	# No leader: the majority (1, 2) runs all of app and solo in their own dockerds; node 3,
	# alone, runs all of app in its own (it cannot tell a partition from its peers' deaths),
	# keeping the containers it ran, but not solo: no majority.
	wait_until 60 side_runs 1 app 3 1 2
	wait_until 60 side_runs 2 app 3 1 2
	wait_until 60 side_runs 1 solo 1 1 2
	wait_until 60 side_runs 3 app 3 3
	now=$(dk 3 ps -q --no-trunc --filter label=io.canteen.service=app | sort)
	[ -z "$(comm -23 <(echo "$own") <(echo "$now"))" ]
	wait_until 60 bash -c "at 3 --json ps | jq -c 'select(.service == \"solo\" and .reason == \"no majority\")' | grep -q ."
	wait_until 60 bash -c '[ "$(on_node 3 solo)" -eq 0 ]'
	# Both sides at once: 6 replicas of app run, 3 in node 3's dockerd.
	[ "$(( $(on_node 1 app) + $(on_node 2 app) ))" -eq 3 ]
	[ "$(on_node 3 app)" -eq 3 ]

	cut_off 3 -D
	wait_until 60 bash -c '[ "$(member_state 1 3)" = alive ] && [ "$(member_state 3 1)" = alive ] && [ "$(member_state 3 2)" = alive ]'
	# One placement again, every replica once, checked in each node's own dockerd.
	wait_until 90 once app 3
	wait_until 60 once solo 1
	cli service rm app
	cli service rm solo
	wait_until 60 bash -c '[ -z "$(running_set app)$(running_set solo)" ]'
}

# started I: "id start-time" of every canteen container node I's own dockerd runs.
started() {
	local ids
	ids=$(dk "$1" ps -q --no-trunc --filter label=io.canteen.service)
	[ -z "$ids" ] || dk "$1" inspect --format '{{.Id}} {{.State.StartedAt}}' $ids | sort
}

# rpc_cut ACTION: ACTION -I (cut) or -D (restore) a rule in every node's namespace that
# drops what it sends to the chain's RPC endpoint (anvil on the lab network): an endpoint
# that answers nothing, not even a refusal.
rpc_cut() {
	local hostport host port i
	hostport=$(jq -r .rpc "$UP/up.json" | sed 's|^http://||; s|/.*||')
	host=${hostport%:*} port=${hostport##*:}
	for i in 1 2 3; do
		node_nsexec "$i" iptables "$1" OUTPUT -d "$host" -p tcp --dport "$port" \
			-m comment --comment "$CUT_TAG" -j DROP
	done
}
export -f started

@test "isolated: the chain's endpoint unreachable: every server keeps its containers, nothing restarts; back, a change made meanwhile is applied" {
	cli service deploy steady --image canteen/demo:1 --replicas 3 --cpu 50m --mem 16M -- /bin/busybox sleep 100000
	wait_until 60 once steady 3
	for i in 1 2 3; do
		started "$i" > "$BATS_TEST_TMPDIR/before$i"
		[ -s "$BATS_TEST_TMPDIR/before$i" ]
		wc -l < "$UP/node$i/node.log" > "$BATS_TEST_TMPDIR/from$i"
	done
	since() { tail -n +"$(( $(cat "$BATS_TEST_TMPDIR/from$1") + 1 ))" "$UP/node$1/node.log"; }
	t0=$(now_ms)
	rpc_cut -I
	! node_nsexec 1 curl -s --max-time 2 -X POST -H 'Content-Type: application/json' \
		--data '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$(jq -r .rpc "$UP/up.json")"
	for i in 1 2 3; do
		wait_until 60 bash -c "$(declare -f since); since $i | grep -q 'rpc down: .*keeping the last state'"
	done
	# A change on the chain the servers cannot see (the CLI reaches the chain from the lab).
	cli service scale steady 4
	# For the rest of the outage: every container still runs, started when it was before
	# (nothing restarted or replaced), and no server acts on the change.
	while [ $(( $(now_ms) - t0 )) -lt "${CANTEEN_OUTAGE_MS:-30000}" ]; do
		for i in 1 2 3; do
			started "$i" > "$BATS_TEST_TMPDIR/now$i"
			diff "$BATS_TEST_TMPDIR/before$i" "$BATS_TEST_TMPDIR/now$i"
		done
		[ "$(placed_set 1 steady | wc -l)" -eq 3 ]
		sleep 1
	done
	rpc_cut -D
	for i in 1 2 3; do
		wait_until 60 bash -c "$(declare -f since); since $i | grep -q 'rpc: .* answers again'"
	done
	# Caught up: the change made during the outage is carried out, by every server alike.
	wait_until 60 once steady 4
	wait_until 60 once web 3
	# and what ran before still runs, never restarted
	for i in 1 2 3; do
		started "$i" > "$BATS_TEST_TMPDIR/now$i"
		[ -z "$(comm -23 "$BATS_TEST_TMPDIR/before$i" "$BATS_TEST_TMPDIR/now$i")" ]
	done
	cli service rm steady
	wait_until 60 bash -c '[ -z "$(running_set steady)" ]'
}

@test "isolated: canteen down leaves no namespace, veth, dockerd, mount, cgroup or data behind" {
	[ -n "$(iso_leftovers "$SLOT")" ]
	"$BIN/canteen" down
	left=$(iso_leftovers "$SLOT")
	echo "left: $left"
	[ -z "$left" ]
	# The shared dockerd was never touched.
	docker version > /dev/null
	# Down again: nothing to stop.
	run "$BIN/canteen" down
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to stop"* ]]
}
