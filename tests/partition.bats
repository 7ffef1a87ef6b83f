#!/usr/bin/env bats
# partition.bats: a whole cluster (canteen up, real anvil and dockerd) in a network namespace of
# its own; node 3 is cut off from nodes 1 and 2 with iptables. Both sides keep running their
# services, an exclusive service runs only on the majority side, and once healed the counts are
# exact again with no duplicates.
# needs: docker, root (ip netns, iptables)

setup_file() {
	load lib/common
	load lib/cluster
	export CANTEEN_NETNS=canteen-part-$$
	ip netns add "$CANTEEN_NETNS"
	ip netns exec "$CANTEEN_NETNS" ip link set lo up
	up_cluster 3 --no-sample
}

teardown_file() {
	load lib/common
	load lib/cluster
	down_cluster
	ip netns del "$CANTEEN_NETNS" 2>/dev/null || true
	! pgrep -f "$BATS_FILE_TMPDIR/up/node" >/dev/null
}

setup() {
	load lib/common
	load lib/cluster
	UP=$BATS_FILE_TMPDIR/up
	RPC=$(jq -r .rpc "$UP/up.json")
	CONTRACT=$(jq -r .contract "$UP/up.json")
	ADMIN="$UP/admin.key"
	export UP RPC CONTRACT ADMIN
}

# on_nodes SERVICE I...: running containers of SERVICE on the nodes given.
on_nodes() {
	local svc=$1 n=0 i; shift
	for i in "$@"; do
		n=$((n + $(docker ps -q --filter "label=io.canteen.service=$svc" \
			--filter "label=io.canteen.node=$(node_addr "$i")" | wc -l)))
	done
	echo "$n"
}

# side_runs I SERVICE N NODES...: node I's placement of SERVICE has N replicas, all on NODES,
# and those nodes run exactly them.
side_runs() {
	local i=$1 svc=$2 want=$3 placed; shift 3
	placed=$(placed_set "$i" "$svc")
	[ "$(echo "$placed" | grep -c .)" -eq "$want" ] || return 1
	[ "$(on_nodes "$svc" "$@")" -eq "$want" ]
}

# cut / heal: drop every packet between node 3 (127.0.0.4) and nodes 1 and 2, both ways. The
# chain (127.0.0.1) stays reachable from everyone.
cut() {
	local a
	for a in 127.0.0.2 127.0.0.3; do
		in_ns iptables -A INPUT -s 127.0.0.4 -d "$a" -j DROP
		in_ns iptables -A INPUT -s "$a" -d 127.0.0.4 -j DROP
	done
}
heal() { in_ns iptables -F INPUT; }

export -f on_nodes side_runs

@test "partition: both sides keep their services; exclusive only on the majority; healed, counts are exact" {
	cli service deploy app --image canteen/demo:1 --replicas 3 --cpu 50m --mem 16M -- /bin/busybox sleep 100000
	cli service deploy solo --image canteen/demo:1 --replicas 1 --cpu 50m --mem 16M --exclusive -- /bin/busybox sleep 100000
	wait_until 60 matches 1 app 3
	wait_until 60 matches 1 solo 1
	[ "$(placed_set 1 app)" = "$(placed_set 3 app)" ]

	cut
	wait_until 60 bash -c '[ "$(member_state 1 3)" = dead ] && [ "$(member_state 2 3)" = dead ]'
	wait_until 60 bash -c '[ "$(member_state 3 1)" = dead ] && [ "$(member_state 3 2)" = dead ]'
	# The majority side (1, 2) runs all of app and solo; node 3, alone, runs all of app by itself
	# (it cannot tell a partition from its peers' deaths) but not solo: no majority.
	wait_until 60 side_runs 1 app 3 1 2
	wait_until 60 side_runs 1 solo 1 1 2
	wait_until 60 side_runs 3 app 3 3
	wait_until 60 bash -c "at 3 --json ps | jq -c 'select(.service == \"solo\" and .reason == \"no majority\")' | grep -q ."
	wait_until 60 bash -c '[ "$(on_nodes solo 3)" -eq 0 ]'
	run cli --rundir "$(node_run 3)" service ls
	echo "$output"
	[[ "$output" == *"solo "*" 0/1 "*"no majority"* ]]

	heal
	wait_until 60 bash -c '[ "$(member_state 1 3)" = alive ] && [ "$(member_state 3 1)" = alive ] && [ "$(member_state 3 2)" = alive ]'
	# One placement again, every replica once: the duplicates are gone.
	wait_until 60 matches 1 app 3
	wait_until 60 matches 3 app 3
	wait_until 60 matches 1 solo 1
	[ "$(placed_set 1 app)" = "$(placed_set 3 app)" ]
	[ "$(placed_set 2 solo)" = "$(placed_set 3 solo)" ]
	[ "$(docker ps -q --filter label=io.canteen.service=app | wc -l)" -eq 3 ]
	[ "$(docker ps -q --filter label=io.canteen.service=solo | wc -l)" -eq 1 ]
	cli service rm app
	cli service rm solo
	wait_until 60 bash -c '[ -z "$(running_set app)$(running_set solo)" ]'
}
