#!/usr/bin/env bats
# isolated.bats: canteen up --isolated, 3 nodes as separate hosts (own network namespace,
# address, dockerd, cgroup): what one shared dockerd hid: a dead server's containers die with
# it, an image one server lacks is not there, and down leaves nothing behind.
# needs: docker

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
