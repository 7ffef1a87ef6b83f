#!/usr/bin/env bats
# system.bats: canteen as one product: canteen up with 3 nodes on loopback addresses, a real
# anvil, real dockerd; deploy, scale, update, daemon and node failures, removal.
# needs: docker

load lib/common
load lib/cluster

setup_file() {
	load lib/common
	load lib/cluster
	up_cluster 3
}

teardown_file() {
	load lib/common
	load lib/cluster
	down_cluster
	# Nothing of the cluster is left running.
	! pgrep -f "$BATS_FILE_TMPDIR/up/node" >/dev/null
}

setup() {
	UP=$BATS_FILE_TMPDIR/up
	RPC=$(jq -r .rpc "$UP/up.json")
	CONTRACT=$(jq -r .contract "$UP/up.json")
	ADMIN="$UP/admin.key"
}

@test "system: canteen up brings 3 nodes and a sample service that answers on its endpoints" {
	run at 1 endpoints web
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" -eq 3 ]
	for ep in $output; do
		[ "$(curl -sf --max-time 2 "http://$ep/")" = "hello from canteen" ]
	done
	run at 2 members --json
	[ "$(echo "$output" | jq -r .state | grep -c alive)" -eq 3 ]
	wait_until 30 matches 1 web 3
}

@test "system: canteen up again is idempotent" {
	run "$BIN/canteen" up --nodes 3 --fast --detach
	[ "$status" -eq 0 ]
	[[ "$output" == *"already up"* ]]
}

@test "system: scale up and down: running containers match the placement exactly" {
	cli service scale web 5
	wait_until 60 matches 1 web 5
	[ "$(placed_set 1 web)" = "$(placed_set 3 web)" ]   # every node computes the same placement
	cli service scale web 2
	wait_until 60 matches 2 web 2
}

@test "system: update bumps the generation and replaces every replica" {
	gen=$(placed_set 1 web | awk 'NR==1 {print $3}')
	cli service update web --env GREETING=hi
	wait_until 60 bash -c "[ \"\$(placed_set 1 web | awk 'NR==1 {print \$3}')\" -gt $gen ]"
	wait_until 60 matches 1 web 2
	running_set web | awk -v g="$gen" '$3 <= g { exit 1 }'
}

@test "system: SIGKILL each daemon of a node: canteen-init restarts it, no container restarts or moves" {
	before=$(docker ps --filter label=io.canteen.service=web --format '{{.ID}} {{.Label "io.canteen.node"}}' | sort)
	for d in chainwatch swim sched dockerd; do
		pid=$(at 2 --json status | jq -r --arg d "$d" 'select(.name == $d) | .pid')
		[ -n "$pid" ] && [ "$pid" != null ]
		kill -KILL "$pid"
		wait_until 10 bash -c "at 2 --json status | jq -e --arg d $d 'select(.name == \$d and .state == \"up\" and .pid != $pid)'"
	done
	at 2 --json status | jq -e 'select(.restarts >= 1)' >/dev/null
	wait_until 30 matches 2 web 2
	after=$(docker ps --filter label=io.canteen.service=web --format '{{.ID}} {{.Label "io.canteen.node"}}' | sort)
	[ "$before" = "$after" ]
}

@test "system: a killed node's replicas run again on the others; the time is printed" {
	cli service scale web 3
	wait_until 60 matches 1 web 3
	victim=3
	addr=$(node_addr $victim)
	t0=$(now_ms)
	kill_node $victim
	wait_until 60 bash -c "[ \"\$(running_set web | grep -vc $addr)\" -eq 3 ] && ! running_set web | grep -q $addr"
	echo "# failover: kill to 3 replicas running elsewhere in $(( $(now_ms) - t0 )) ms" >&3
	wait_until 30 matches 1 web 3
	[ "$(at 1 --json members | jq -r --arg a "$addr" 'select(.address == $a) | .state')" = dead ]
}

@test "system: a service that does not fit is pending with its reason" {
	cli service deploy huge --image canteen/demo:1 --replicas 1 --cpu 64 --mem 32M -- /bin/busybox sleep 3600
	wait_until 30 bash -c "at 1 --json ps | jq -e 'select(.service == \"huge\" and .reason == \"insufficient cpu\")'"
	cli service rm huge
}

@test "system: removing the service removes every container" {
	cli service rm web
	wait_until 60 bash -c '[ -z "$(running_set web)" ]'
	run docker ps -a -q --filter label=io.canteen.service=web
	[ -z "$output" ]
}
