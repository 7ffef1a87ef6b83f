#!/usr/bin/env bats
# stateful.bats: a stateful service (a volume per replica, --stateful --failover-after) on a
# 3-node canteen up cluster, real anvil, real dockerd: data outlives updates, a server that
# comes back in time finds its replica, one dead too long loses it to a new empty volume.
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
	local up=$BATS_FILE_TMPDIR/up cl
	cl="$(sed -n 's/^chain_id = //p' "$up/node1/canteen.conf"):$(jq -r .contract "$up/up.json" | tr A-F a-f)"
	down_cluster
	# This cluster's volumes only (other runs may share this Docker).
	docker volume ls -q --filter "label=io.canteen.cluster=$cl" | xargs -r docker volume rm > /dev/null 2>&1 || true
	docker volume rm canteen-test-foreign canteen-test-plain > /dev/null 2>&1 || true
}

setup() {
	UP=$BATS_FILE_TMPDIR/up
	RPC=$(jq -r .rpc "$UP/up.json")
	CONTRACT=$(jq -r .contract "$UP/up.json")
	ADMIN="$UP/admin.key"
	export UP RPC CONTRACT ADMIN
	# Docker's own view, sampled all along: no replica index of db ever runs on two servers
	# at once (the killed node's containers are killed with it, so whatever runs is on a
	# live server; an update may run two generations of a replica on its one server).
	start_bg sampler bash -c 'while :; do
		docker ps --filter label=io.canteen.service=db \
			--format "{{.Label \"io.canteen.replica\"}} {{.Label \"io.canteen.node\"}}" | sort -u |
			awk "{ n[\$1]++; s[\$1] = s[\$1] \" \" \$2 } END { for (k in n) if (n[k] > 1) print \"twice: \" k s[k] }"
		sleep 0.2
	done'
}

teardown() {
	stop_started
	if grep -q twice "$BATS_TEST_TMPDIR/sampler.log"; then
		echo "a replica ran on two servers at once:" >&2
		sort -u "$BATS_TEST_TMPDIR/sampler.log" >&2
		return 1
	fi
}

# cid K: the running container of db's replica K (one, or the test fails on it).
cid() { docker ps -q --filter label=io.canteen.service=db --filter "label=io.canteen.replica=$1"; }
# log_of K: the file replica K's container appends a line to at each start.
log_of() { docker exec "$(cid "$1")" /bin/busybox cat /data/log; }
# node_of K: the node running replica K.
node_of() { running_set db | awk -v k="$1" '$1 == k { print $2 }'; }
export -f cid log_of node_of

@test "stateful: 3 replicas with a volume each; an update keeps every replica's file" {
	cli service deploy db --image canteen/demo:1 --replicas 3 --cpu 50m --mem 16M \
		--volume data:/data --stateful --failover-after 25s -- \
		/bin/busybox sh -c 'echo "$CANTEEN_NODE $CANTEEN_REPLICA" >> /data/log; exec /bin/busybox sleep 100000'
	wait_until 60 matches 1 db 3
	cli --rundir "$(node_run 1)" --json service ls | jqe 'select(.name == "db") | .stateful == true and .failover_after_s == 25'
	for k in 0 1 2; do
		wait_until 10 bash -c "[ \"\$(log_of $k | wc -l)\" -eq 1 ]"
		[ "$(log_of $k)" = "$(node_of $k) $k" ]
		log_of $k > "$BATS_FILE_TMPDIR/first.$k"
	done
	# Each replica knows who it is and where the others run: the peers file, read-only.
	want=$(running_set db)
	for k in 0 1 2; do
		docker exec "$(cid $k)" /bin/busybox sh -c 'echo "$CANTEEN_SERVICE $CANTEEN_REPLICA $(/bin/busybox hostname)"' |
			grep -qx "db $k db-$k"
		wait_until 10 bash -c "[ \"\$(docker exec \$(cid $k) /bin/busybox cat /run/canteen/peers)\" = \"$want\" ]"
		! docker exec "$(cid $k)" /bin/busybox sh -c 'echo x > /run/canteen/peers'
	done
	gen=$(placed_gen 1 db)
	cli service update db --env X=1
	wait_until 60 bash -c "[ \"\$(running_gens db | awk -v g=$gen '\$1 > g' | wc -l)\" -eq 3 ]"
	wait_until 60 matches 1 db 3
	for k in 0 1 2; do
		wait_until 10 bash -c "[ \"\$(log_of $k | wc -l)\" -eq 2 ]"
		[ "$(log_of $k | head -n1)" = "$(cat "$BATS_FILE_TMPDIR/first.$k")" ]
	done
}

@test "stateful: a node killed and back within failover-after: nothing moved meanwhile, it gets its replica and its file back" {
	addr=$(node_addr 3)
	k=$(running_set db | awk -v a="$addr" '$2 == a { print $1 }')
	[ -n "$k" ]
	before=$(placed_set 1 db)
	lines=$(log_of "$k" | wc -l)
	kill_node 3
	wait_until 30 bash -c '[ "$(member_state 1 3)" = dead ] && [ "$(member_state 2 3)" = dead ]'
	# For 8 s of the death (failover-after is 25 s): the placement does not change on the
	# survivors, and replica k runs nowhere.
	t0=$(now_ms)
	while [ $(( $(now_ms) - t0 )) -lt 8000 ]; do
		[ "$(placed_set 1 db)" = "$before" ]
		[ "$(placed_set 2 db)" = "$before" ]
		[ -z "$(cid "$k")" ]
		sleep 0.5
	done
	restart_node 3
	wait_until 60 bash -c "[ \"\$(node_of $k)\" = $addr ]"
	wait_until 60 matches 1 db 3
	[ "$(placed_set 1 db)" = "$before" ]
	# The same volume: its earlier lines and one more for this start.
	wait_until 10 bash -c "[ \"\$(log_of $k | wc -l)\" -eq $((lines + 1)) ]"
	[ "$(log_of "$k" | head -n1)" = "$(cat "$BATS_FILE_TMPDIR/first.$k")" ]
}

@test "stateful: a node dead longer than failover-after: its replica starts elsewhere on an empty volume, the old volume stays; back, it waits for the other to stop" {
	addr=$(node_addr 3)
	k=$(running_set db | awk -v a="$addr" '$2 == a { print $1 }')
	[ -n "$k" ]
	j=$(( (k + 1) % 3 ))
	jid=$(cid $j)
	docker exec "$jid" /bin/busybox cat /run/canteen/peers | grep -qx "$k $addr"
	t0=$(now_ms)
	kill_node 3
	wait_until 90 bash -c "[ -n \"\$(node_of $k)\" ] && [ \"\$(node_of $k)\" != $addr ]"
	took=$(( $(now_ms) - t0 ))
	echo "# stateful failover: node killed -> replica $k running elsewhere in $took ms (failover-after 25 s)" >&3
	[ "$took" -ge 25000 ]
	other=$(node_of "$k")
	# The other replicas' peers file says where it runs now (their containers unchanged).
	j=$(( (k + 1) % 3 ))
	[ "$(cid $j)" = "$jid" ]
	wait_until 10 bash -c "docker exec \$(cid $j) /bin/busybox cat /run/canteen/peers | grep -qx '$k $other'"
	# A new, empty volume there: only this start's line.
	wait_until 10 bash -c "[ \"\$(log_of $k | wc -l)\" -eq 1 ]"
	[ "$(log_of "$k")" = "$other $k" ]
	# The old volume is still on the dead node.
	old=$(docker volume ls -q --filter label=io.canteen.service=db --filter "label=io.canteen.replica=$k" \
		--filter "label=io.canteen.node=$addr")
	[ "$(echo "$old" | wc -w)" -eq 1 ]
	# Back: the replica returns to node 3 (the reference placement), never running twice
	# (the sampler), with node 3's old volume.
	restart_node 3
	wait_until 90 bash -c "[ \"\$(node_of $k)\" = $addr ]"
	wait_until 60 matches 1 db 3
	[ "$(log_of "$k" | head -n1)" = "$(cat "$BATS_FILE_TMPDIR/first.$k")" ]
	cli service rm db
	wait_until 60 bash -c '[ -z "$(running_set db)" ]'
}

@test "stateful: volume ls shows this server's volumes; prune asks, removes only unused ones of this cluster and this server" {
	cli service deploy vp --image canteen/demo:1 --replicas 3 --cpu 50m --mem 16M \
		--volume data:/data --stateful -- /bin/busybox sleep 100000
	wait_until 60 matches 1 vp 3
	addr=$(node_addr 1)
	k=$(running_set vp | awk -v a="$addr" '$2 == a { print $1 }')
	# Another cluster's volume and one that is not canteen's, on the same Docker.
	docker volume create --label io.canteen.cluster=1:0x0000000000000000000000000000000000000001 \
		--label io.canteen.service=vp --label io.canteen.replica=9 --label io.canteen.volume=data \
		--label "io.canteen.node=$addr" canteen-test-foreign > /dev/null
	docker volume create canteen-test-plain > /dev/null
	at 1 volume ls
	run at 1 volume ls --json
	[ "$status" -eq 0 ]
	echo "$output"
	echo "$output" | jqe -s --arg k "$k" 'map(select(.service == "vp")) | length == 1 and
		.[0].replica == ($k | tonumber) and .[0].volume == "data" and .[0].used == true and
		.[0].replica_here == true'
	! echo "$output" | grep -q canteen-test-
	# Not on a terminal and no --yes: refused, nothing removed.
	run at 1 volume prune < /dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"--yes"* ]]
	# In use: not removed.
	run at 1 volume prune --yes --service vp
	[ "$status" -eq 0 ]
	[[ "$output" == *"no unused volume"* ]]
	at 1 volume ls --json | jqe -s 'map(select(.service == "vp")) | length == 1'
	# A forged request for a volume that is not this cluster's, or in use: refused.
	used=$(at 1 volume ls --json | jq -r 'select(.service == "vp") | .name')
	cl=$(docker volume inspect --format '{{index .Labels "io.canteen.cluster"}}' "$used")
	run "$TBIN/ipc_tool" request "$(node_run 1)/dockerd.sock" \
		"{\"op\":\"volume.prune\",\"names\":[\"canteen-test-foreign\",\"canteen-test-plain\",\"$used\"]}"
	echo "$output"
	echo "$output" | jqe '.removed == [] and (.refused | length) == 3'
	run "$TBIN/ipc_tool" request "$(node_run 1)/dockerd.sock" '{"op":"volume.prune","names":[]}'
	[[ "$output" == *"names"* ]]
	# The service removed: unused now; prune removes it, the others stay.
	cli service rm vp
	wait_until 60 bash -c '[ -z "$(running_set vp)" ]'
	wait_until 30 bash -c "at 1 volume ls --json | jqe -s 'map(select(.service == \"vp\" and .used == false)) | length == 1'"
	run at 1 volume prune --yes --service vp
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"removed $used"* ]]
	! docker volume inspect "$used" > /dev/null 2>&1
	docker volume inspect canteen-test-foreign canteen-test-plain > /dev/null
	# The other nodes' volumes of vp are theirs: still there.
	[ "$(docker volume ls -q --filter label=io.canteen.service=vp --filter "label=io.canteen.cluster=$cl" | wc -l)" -eq 2 ]
	docker volume rm canteen-test-foreign canteen-test-plain > /dev/null
	docker volume ls -q --filter label=io.canteen.service=vp | xargs -r docker volume rm > /dev/null
}
