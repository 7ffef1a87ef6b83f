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
	export UP RPC CONTRACT ADMIN
}

@test "system: canteen up brings 3 nodes and a sample service that answers on its endpoints" {
	# endpoints lists ready replicas: the others' states reach node 1 within a second or two
	wait_until 15 bash -c '[ "$(at 1 endpoints web | wc -l)" -eq 3 ]'
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

@test "system: scale up and down: containers match the placement exactly; scaling restarts nothing" {
	cli service deploy worker --image canteen/demo:1 --replicas 2 --cpu 50m --mem 16M -- /bin/busybox sleep 100000
	wait_until 60 matches 1 worker 2
	before=$(docker ps -q --filter label=io.canteen.service=worker | sort)
	cli service scale worker 5
	wait_until 60 matches 1 worker 5
	[ "$(placed_set 1 worker)" = "$(placed_set 3 worker)" ]   # every node computes the same placement
	# The two replicas that ran before the scale still run in the same containers.
	for id in $before; do docker ps -q --filter label=io.canteen.service=worker | grep -q "^$id"; done
	cli service scale worker 2
	wait_until 60 matches 2 worker 2
	cli service rm worker
	wait_until 60 bash -c '[ -z "$(running_set worker)" ]'
}

@test "system: a published port limits replicas to one per node; the rest are pending with the reason" {
	cli service scale web 4
	wait_until 30 bash -c "at 1 --json ps | jq -c 'select(.service == \"web\" and .reason == \"port conflict\")' | grep -q ."
	wait_until 60 matches 1 web 3
	cli service scale web 3
}

@test "system: update bumps the generation and replaces every replica" {
	gen=$(placed_gen 1 web)
	cli service update web --env GREETING=hi
	wait_until 60 bash -c "[ \"\$(placed_gen 1 web)\" -gt $gen ]"
	wait_until 60 matches 1 web 3
	# Every node replaces its own replica: wait for all three, of the new generation.
	wait_until 60 bash -c "[ \"\$(running_gens web | awk -v g=$gen '\$1 > g' | wc -l)\" -eq 3 ]"
	wait_until 60 matches 1 web 3
	[ -z "$(running_gens web | awk -v g="$gen" '$1 <= g')" ]
	for id in $(docker ps -q --filter label=io.canteen.service=web); do
		docker inspect "$id" --format '{{json .Config.Env}}' | grep -q GREETING=hi
	done
}

@test "system: SIGKILL each daemon of a node: canteen-init restarts it, no container restarts or moves" {
	before=$(docker ps --filter label=io.canteen.service=web --format '{{.ID}} {{.Label "io.canteen.node"}}' | sort)
	for d in chainwatch swim sched dockerd; do
		pid=$(at 2 --json status | jq -r --arg d "$d" 'select(.name == $d) | .pid')
		[ -n "$pid" ] && [ "$pid" != null ]
		kill -KILL "$pid"
		wait_until 10 bash -c "at 2 --json status | jq -c --arg d $d 'select(.name == \$d and .state == \"up\" and .pid != $pid)' | grep -q ."
	done
	[ "$(at 2 --json status | jq -c 'select(.restarts >= 1)' | wc -l)" -eq 4 ]
	wait_until 30 matches 2 web 3
	after=$(docker ps --filter label=io.canteen.service=web --format '{{.ID}} {{.Label "io.canteen.node"}}' | sort)
	echo "before: $before"; echo "after: $after"
	[ "$before" = "$after" ]
}

@test "system: a killed node's replicas run again on the others; the time is printed" {
	cli service deploy fo --image canteen/demo:1 --replicas 3 --cpu 50m --mem 16M -- /bin/busybox sleep 100000
	wait_until 60 matches 1 fo 3
	victim=3
	addr=$(node_addr $victim)
	survivors=$(running_set fo | grep -v "$addr")
	t0=$(now_ms)
	kill_node $victim
	wait_until 60 bash -c "[ \"\$(running_set fo | grep -vc $addr)\" -eq 3 ] && ! running_set fo | grep -q $addr"
	echo "# failover: node killed -> its replicas running elsewhere in $(( $(now_ms) - t0 )) ms" >&3
	[ "$(at 1 --json members | jq -r --arg a "$addr" 'select(.address == $a) | .state')" = dead ]
	wait_until 30 matches 1 fo 3
	# Only the dead node's replicas moved: the others kept their containers.
	now=$(running_set fo)
	while read -r line; do
		echo "$now" | grep -qxF "$line"
	done <<< "$survivors"
	# web has one replica per node (a published port): the dead node's is pending now.
	wait_until 30 bash -c "at 1 --json ps | jq -c 'select(.service == \"web\" and .reason == \"port conflict\")' | grep -q ."
}

@test "system: the killed node boots again: it rejoins and the placement is what it was" {
	restart_node 3
	wait_until 30 bash -c '[ "$(member_state 1 3)" = alive ] && [ "$(member_state 3 1)" = alive ]'
	# Every node runs one of each again: fo's replicas went back where they were. (Node 1's
	# placement may match what runs a moment before it has heard node 3 is back: wait for
	# one of each on every node, then for the placement to match again.)
	one_each() {
		local i
		for i in 1 2 3; do
			[ "$(running_set fo | grep -c "$(node_addr $i)")" -eq 1 ] || return 1
			[ "$(running_set web | grep -c "$(node_addr $i)")" -eq 1 ] || return 1
		done
	}
	wait_until 60 one_each || { running_set fo; running_set web; placed_set 1 fo; false; }
	wait_until 60 matches 1 fo 3
	wait_until 60 matches 1 web 3
	[ "$(placed_set 1 fo)" = "$(placed_set 3 fo)" ]
}

@test "system: chain outage of 60 s: nothing stops, a node killed meanwhile still fails over, then it catches up" {
	ids() { docker ps -q --no-trunc --filter "label=io.canteen.node=$(node_addr "$1")" | sort; }
	keep=$(ids 1; ids 3)
	[ -n "$keep" ]
	t0=$(now_ms)
	chain_stop
	! cast block-number --rpc-url "$RPC"
	wait_until 30 grep -q "rpc down: .*keeping the last state" "$UP/node1/node.log"
	kill_node 2
	addr=$(node_addr 2)
	wait_until 60 bash -c "[ \"\$(running_set fo | grep -vc $addr)\" -eq 3 ] && ! running_set fo | grep -q $addr"
	echo "# outage: node 2 killed with the chain down, fo running elsewhere $(( $(now_ms) - t0 )) ms after the chain stopped" >&3
	# For the rest of the 60 s: every container nodes 1 and 3 ran before still runs.
	while [ $(( $(now_ms) - t0 )) -lt "${CANTEEN_OUTAGE_MS:-60000}" ]; do
		now=$(docker ps -q --no-trunc --filter label=io.canteen.service | sort)
		for id in $keep; do grep -qx "$id" <<< "$now"; done
		sleep 1
	done
	chain_start
	restart_node 2
	# Caught up: a change made on the chain after the outage is carried out.
	cli service scale fo 4
	wait_until 60 matches 1 fo 4
	wait_until 60 matches 2 fo 4
	wait_until 60 matches 1 web 3
	for id in $keep; do
		docker ps -q --no-trunc | grep -qx "$id" ||
			{ docker ps -a --no-trunc --filter "id=$id"; docker inspect "$id" --format '{{json .Config.Labels}}'; false; }
	done
	cli service scale fo 3
	wait_until 60 matches 1 fo 3
}

@test "system: a service that does not fit is pending with its reason; adding a node places it" {
	# Nodes have 2 CPUs: 1.5 CPU a replica is one per node, so the fourth replica waits.
	cli service deploy big --image canteen/demo:1 --replicas 4 --cpu 1500m --mem 32M -- /bin/busybox sleep 3600
	wait_until 60 matches 1 big 3
	wait_until 30 bash -c "at 1 --json ps | jq -c 'select(.service == \"big\" and .reason == \"insufficient cpu\")' | grep -q ."
	run cli --rundir "$(node_run 1)" service ls
	echo "$output"
	[[ "$output" == *"big "*" 3/4 "*"pending: 1 insufficient cpu"* ]]
	cli --rundir "$(node_run 1)" --json service ls | jqe 'select(.name == "big") | .placed == 3 and .pending == 1'
	# canteen up --nodes 4 adds a node to the running cluster: the pending replica goes there.
	"$BIN/canteen" up --nodes 4 --fast --detach
	wait_until 60 matches 1 big 4
	wait_until 60 matches 4 big 4
	[ "$(running_set big | grep -c "$(node_addr 4)")" -eq 1 ]
	cli --rundir "$(node_run 1)" --json service ls | jqe 'select(.name == "big") | .placed == 4 and .pending == 0'
	cli service rm big
	wait_until 60 bash -c '[ -z "$(running_set big)" ]'
}

@test "system: a service with a health check, a volume and a read-only root (contract v5): Docker runs it so, ps and service ls show it healthy, its data outlives an update" {
	cli service deploy st --image canteen/demo:1 --replicas 2 --cpu 50m --mem 16M \
		--health-cmd 'test -f /data/ok' --health-interval 500ms --health-retries 1 \
		--volume data:/data --read-only -- /bin/busybox sh -c 'touch /data/ok; exec /bin/busybox sleep 100000'
	wait_until 60 matches 1 st 2
	for id in $(docker ps -q --filter label=io.canteen.service=st); do
		out=$(docker inspect --format '{{json .Config.Healthcheck.Test}} {{.HostConfig.ReadonlyRootfs}}' "$id")
		echo "$out"
		[ "$out" = '["CMD-SHELL","test -f /data/ok"] true' ]
		# the replica's volume, and the peers file's directory, read-only (in whatever order
		# Docker lists them: mostly by path, not always)
		mounts=$(docker inspect --format '{{range .Mounts}}{{.Destination}} {{.RW}} {{.Name}}{{"\n"}}{{end}}' "$id" | grep . | sort)
		echo "$mounts"
		[[ "$mounts" == "/data true canteen."*".st."[01]".data"$'\n'"/run/canteen false " ]]
		! docker exec "$id" /bin/busybox touch /rootfile
	done
	wait_until 30 bash -c "[ \"\$(at 1 --json ps | jq -r 'select(.service == \"st\") | .health' | sort -u)\" = healthy ]"
	wait_until 30 bash -c "cli --rundir '$(node_run 1)' --json service ls | jqe 'select(.name == \"st\") | .running == 2 and .healthy == 2'"
	# a file written before an update is still there after it (same replica, same server)
	id0=$(docker ps -q --filter label=io.canteen.service=st --filter label=io.canteen.replica=0)
	docker exec "$id0" /bin/busybox sh -c 'echo kept > /data/f'
	gen=$(placed_gen 1 st)
	cli service update st --env X=1
	wait_until 60 bash -c "[ \"\$(running_gens st | awk -v g=$gen '\$1 > g' | wc -l)\" -eq 2 ]"
	# the new generation's replica 0 (the old one may still be on its way out)
	id0=$(docker ps -q --filter label=io.canteen.service=st --filter label=io.canteen.replica=0 \
		--filter "label=io.canteen.generation=$(placed_gen 1 st)")
	[ "$(echo "$id0" | wc -w)" -eq 1 ]
	[ "$(docker exec "$id0" /bin/busybox cat /data/f)" = kept ]
	cli service rm st
	wait_until 60 bash -c '[ -z "$(running_set st)" ]'
	docker volume rm $(docker volume ls -q --filter label=io.canteen.service=st) > /dev/null
}

@test "system: removing the service removes every container" {
	cli service rm web
	cli service rm fo
	wait_until 60 bash -c '[ -z "$(running_set web)$(running_set fo)" ]'
	# The live nodes removed theirs; the killed node's stay, as a dead server's would.
	for i in 1 2; do
		run docker ps -a -q --filter label=io.canteen.service=web --filter "label=io.canteen.node=$(node_addr $i)"
		[ -z "$output" ]
	done
}
