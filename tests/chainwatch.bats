#!/usr/bin/env bats
# chainwatch.bats: canteen-chainwatch against a real anvil: each change one event in order,
# snapshot plus catch-up of many changes, RPC outage (anvil killed and restarted with its
# state) without an empty state or a lost event, and a reorg corrected.
load lib/common
load lib/anvil

setup_file() { start_anvil; }
teardown_file() { stop_anvil; }

setup() { RUN=$(mk_rundir); }
teardown() {
	stop_started
	[ -z "${CW_KEEP_LOGS:-}" ] || cp "$BATS_TEST_TMPDIR/cw.log" "$CW_KEEP_LOGS.$BATS_TEST_NUMBER" 2>/dev/null || true
}

ct() { canteen -c /dev/null --rpc "$ANVIL_URL" --key-file "$ANVIL_KEYS/key0" "$@"; }

# watch CONTRACT [FLAGS...]: start chainwatch --stdout into $BATS_TEST_TMPDIR/cw.log.
watch() {
	local c=$1; shift
	start_bg cw canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract "$c" -d "$RUN" \
		--poll 100ms --stdout "$@"
}

events() { grep '^{' "$BATS_TEST_TMPDIR/cw.log"; }
# The events other than heads, as "type key" lines.
steps() {
	events | jq -r 'select(.type | test("^(node|service)\\.(upsert|remove)$|^rpc\\.")) |
		"\(.type) \(.node.address // .address // .service.name // .name) \(if .node then .node.active elif .service then .service.generation else "" end)"'
}
# first_snapshot: the --stdout snapshot lines as one object (tests/lib/snapshot.jq).
first_snapshot() { events | jq -s -c -f "$TOP/tests/lib/snapshot.jq"; }
# has_line FILTER: some event passes FILTER (a select).
has_line() { events | jq -s -e "map($1) | length > 0" > /dev/null; }
state() { sock_request "$RUN/chain.sock" '{"op":"state"}'; }
state_has() { state | jq -en "input | ($1)" > /dev/null 2>&1; } # no answer is not a match

@test "--help, --version, and configuration errors exit 100" {
	run canteen-chainwatch --version
	[ "$status" -eq 0 ] && [[ "$output" == "canteen-chainwatch "* ]]
	run canteen-chainwatch --help
	[ "$status" -eq 0 ] && [[ "$output" == *--confirmations* ]]
	run canteen-chainwatch -c /dev/null --chain-id 31337 --contract 0x0000000000000000000000000000000000000001
	[ "$status" -eq 100 ] && [[ "$output" == *"--rpc"* ]]
	run canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract 0x12
	[ "$status" -eq 100 ] && [[ "$output" == *"contract address"* ]]
	run canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract 0x0000000000000000000000000000000000000001 --poll soon
	[ "$status" -eq 100 ]
	run canteen-chainwatch --bogus
	[ "$status" -eq 100 ]
	# Without chain_id it would follow whatever chain the endpoint says it is.
	run canteen-chainwatch -c /dev/null --rpc "$ANVIL_URL" --contract 0x0000000000000000000000000000000000000001
	[ "$status" -eq 100 ] && [[ "$output" == *"chain_id is required"* ]]
}

@test "deploy, 3 nodes, service deploy/scale/update/rm: one event each, in order (canteen CLI)" {
	c=$(ct contract deploy)
	[[ "$c" =~ ^0x[0-9a-f]{40}$ ]]
	watch "$c" --confirmations 0
	wait_until 20 has_line 'select(.type == "snapshot.end" and .nodes == 0)'
	for i in 1 2 3; do
		canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$c" --key-file "$ANVIL_KEYS/key$i" \
			node register --endpoint "127.0.0.$((i + 1)):7946" --swim-pubkey "$(printf '%064d' "$i")" \
			--cpu 2 --mem 1G --label zone=z$i > /dev/null
	done
	for i in 1 2 3; do ct --contract "$c" node approve "$(addr_of $i)" > /dev/null; done
	ct --contract "$c" service deploy web --image busybox:1 --replicas 2 --port 8080:80 -- sleep 1000 > /dev/null
	ct --contract "$c" service scale web 4 > /dev/null
	ct --contract "$c" service update web --image busybox:2 > /dev/null
	ct --contract "$c" service update web --priority 5 > /dev/null
	ct --contract "$c" service rm web > /dev/null
	# a stranger is refused with a readable error, and nothing is emitted for it
	run canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$c" --key-file "$ANVIL_KEYS/key4" \
		service deploy evil --image x
	[ "$status" -eq 1 ]
	[[ "$output" == *NotAdmin* ]]
	wait_until 20 has_line 'select(.type == "service.remove")'
	# Registered but not yet approved, a node is not in the feed: its approval is its upsert.
	want="node.upsert $(addr_of 1) true
node.upsert $(addr_of 2) true
node.upsert $(addr_of 3) true
service.upsert web 1
service.upsert web 2
service.upsert web 3
service.upsert web 4
service.remove web "
	run steps
	echo "$output"
	[ "$output" = "$want" ]
	# the records are complete, and seq is strictly increasing
	has_line 'select(.type == "node.upsert" and .node.endpoint == "127.0.0.3:7946" and .node.labels.zone == "z2"
		and .node.cpu_millis == 2000 and .node.mem_mib == 1024 and .node.swim_pubkey == "'"$(printf '%064d' 2)"'")'
	has_line 'select(.type == "service.upsert" and .service.generation == 2 and .service.replicas == 4
		and .service.ports == [{"host":8080,"container":80,"proto":"tcp"}] and .service.command == ["sleep","1000"]
		and .service.strategy == "spread" and .service.exclusive == false)'
	has_line 'select(.type == "service.upsert" and .service.generation == 3 and .service.image == "busybox:2")'
	# "previous": what the record before ran (generation 2: busybox:1), absent until the
	# image or command changes; a change of priority keeps the version to return to
	has_line 'select(.type == "service.upsert" and .service.generation == 2 and (.service | has("previous") | not))'
	has_line 'select(.type == "service.upsert" and .service.generation == 3 and .service.previous ==
		{"generation":2,"image":"busybox:1","command":["sleep","1000"],"env":[],"cpu_millis":100,"mem_mib":64,
		 "ports":[{"host":8080,"container":80,"proto":"tcp"}]})'
	has_line 'select(.type == "service.upsert" and .service.generation == 4 and .service.priority == 5 and
		.service.previous.generation == 2 and .service.previous.image == "busybox:1")'
	# (a snapshot's seq is on its begin and end lines, the same: counted once)
	[ "$(events | jq -s '[.[] | select(.type | IN("snapshot.begin", "node", "service") | not) | .seq] |
		. == (sort | unique) and length > 7 and all(. != null)')" = true ]
	# chain.sock: a new subscriber gets the same state as a snapshot (a line per record
	# between snapshot.begin and snapshot.end); state answers it too
	run "$TBIN/ipc_tool" subscribe "$RUN/chain.sock" 5 5000
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .type | tr '\n' ' ')" = "snapshot.begin node node node snapshot.end " ]
	[ "$(echo "$output" | jq -s -r -f "$TOP/tests/lib/snapshot.jq" | jq -r '"\(.nodes | map(select(.active)) | length) \(.services | length)"')" = "3 0" ]
	state_has '.type == "state" and (.nodes | length) == 3 and .block > 0'
	run sock_request "$RUN/chain.sock" '{"op":"frobnicate","id":7}'
	[[ "$output" == *'"type":"error"'* ]] && [[ "$output" == *'"id":7'* ]]
}

@test "service changes made before chainwatch starts are all in its snapshot plus catch-up" {
	n=${CHAINWATCH_CHANGES:-2000}
	c=$(deploy_canteen 0)
	add_services_batch "$c" 0 s "$n"
	# a few updates among them, so the last record of a name is what counts
	send_as 0 "$c" "$SIG_SCALE" s-00007 9 "$(gen_of "$c" s-00007)" > /dev/null
	send_as 0 "$c" "$SIG_RM" s-00008 "$(gen_of "$c" s-00008)" > /dev/null
	# with 20 confirmations the snapshot sees only part of it; the rest comes from logs
	watch "$c" --confirmations 20
	wait_until 30 has_line 'select(.type == "snapshot.end")'
	snap=$(first_snapshot | jq '.services | length')
	echo "# snapshot has $snap of $n services" >&3
	[ "$snap" -lt "$((n - 1))" ]
	t0=$(now_ms)
	rpc anvil_mine '["0x14"]' > /dev/null
	wait_until 60 state_has ".services | length == $((n - 1))"
	t1=$(now_ms)
	echo "# caught up $((n - 1 - snap)) services in $((t1 - t0)) ms" >&3
	st=$(state)
	[ "$(echo "$st" | jq -r '.services | map(select(.name == "s-00007"))[0] | "\(.replicas) \(.generation)"')" = "9 2" ]
	[ "$(echo "$st" | jq '.services | map(select(.name == "s-00008")) | length')" = 0 ]
	[ "$(echo "$st" | jq -r '[.services[].name] | sort | .[-1]')" = "s-$(printf '%05d' $((n - 1)))" ]
	# the state equals what the contract says at that block
	blk=$(echo "$st" | jq .block)
	[ "$(call --block "$blk" "$c" 'serviceCount()(uint256)')" = $((n - 1)) ]
	# record for record, as the canteen CLI reads them with its own decoder (at the head:
	# the blocks after the state's are the empty ones anvil_mine made)
	diff <(echo "$st" | jq -S '.services | sort_by(.name)') \
		<(ct --contract "$c" --json service ls | jq -s -S 'map(del(.placed, .pending)) | sort_by(.name)')
}

@test "--snapshot-block: the first snapshot at an earlier block, the rest from logs in order" {
	c=$(deploy_canteen 0)
	b=$(block_number)
	for s in one two three; do send_as 0 "$c" "$SIG_ADD" "$(spec $s)" > /dev/null; done
	send_as 0 "$c" "$SIG_SCALE" two 5 "$(gen_of "$c" two)" > /dev/null
	watch "$c" --confirmations 0 --snapshot-block "$b"
	wait_until 20 has_line 'select(.type == "service.upsert" and .service.replicas == 5)'
	[ "$(events | head -n 1 | jq -c '[.type, .block, .services]')" = "[\"snapshot.begin\",$b,0]" ]
	run steps
	[ "$output" = "service.upsert one 1
service.upsert two 1
service.upsert three 1
service.upsert two 2" ]
	run canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract "$c" --snapshot-block x
	[ "$status" -eq 100 ]
}

@test "a reorg is corrected: the orphaned change is undone, the new branch applied" {
	c=$(deploy_canteen 0)
	send_as 0 "$c" "$SIG_ADD" "$(spec keep)" > /dev/null
	watch "$c" --confirmations 0
	wait_until 20 has_line 'select(.type == "snapshot.end")'
	snap=$(rpc evm_snapshot '[]' | jq -r .result)
	send_as 0 "$c" "$SIG_ADD" "$(spec orphan)" > /dev/null
	wait_until 20 has_line 'select(.type == "service.upsert" and .service.name == "orphan")'
	# back to before "orphan", then a different branch that is longer
	[ "$(rpc evm_revert "[\"$snap\"]" | jq -r .result)" = true ]
	send_as 0 "$c" "$SIG_ADD" "$(spec branch)" > /dev/null
	rpc anvil_mine '["0x2"]' > /dev/null
	wait_until 20 state_has '(.services | map(.name) | sort) == ["branch", "keep"]'
	has_line 'select(.type == "service.remove" and .name == "orphan")'
	has_line 'select(.type == "service.upsert" and .service.name == "branch")'
	grep -q 'reorg' "$BATS_TEST_TMPDIR/cw.log"
	# the state's block hash is the chain's
	st=$(state)
	[ "$(echo "$st" | jq -r .block_hash)" = "$(cast block --rpc-url "$ANVIL_URL" "$(echo "$st" | jq .block)" --json | jq -r .hash)" ]
}

@test "before the chain ever answers: logged, nothing on stdout, no empty state; then the snapshot first" {
	local port c=0x5fbdb2315678afecb367f032d93f642f64180aa3 # key 0's first deployment
	port=$(free_port)
	start_bg cw canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "http://127.0.0.1:$port" --contract "$c" \
		-d "$RUN" --poll 100ms --confirmations 0 --stdout
	wait_until 20 grep -q 'rpc down: .*no state yet' "$BATS_TEST_TMPDIR/cw.log"
	# --stdout's first line is always a snapshot: no event before there is a state
	! events
	run sock_request "$RUN/chain.sock" '{"op":"state"}'
	[[ "$output" == *'"type":"error"'* ]]
	[[ "$output" == *"no state yet"* ]]
	# The chain appears: the snapshot is the first line, and no rpc.up without an rpc.down.
	start_bg anvil2 anvil --host 127.0.0.1 --port "$port"
	ANVIL_URL=http://127.0.0.1:$port
	wait_until 20 rpc eth_chainId '[]'
	[ "$(deploy_canteen 0)" = "$c" ]
	send_as 0 "$c" "$SIG_ADD" "$(spec first)" > /dev/null
	wait_until 20 state_has '.services | map(.name) | index("first")'
	[ "$(events | head -n 1 | jq -r .type)" = snapshot.begin ]
	! has_line 'select(.type | startswith("rpc."))'
}

# Last: it replaces the file's anvil by one that keeps its state in a file across a restart.
@test "anvil killed and restarted: rpc.down then rpc.up, never an empty state, no event lost" {
	stop_anvil
	start_anvil --state "$BATS_FILE_TMPDIR/anvil.state" --preserve-historical-states
	c=$(deploy_canteen 0)
	send_as 0 "$c" "$SIG_ADD" "$(spec before)" > /dev/null
	watch "$c" --confirmations 2
	rpc anvil_mine '["0x2"]' > /dev/null
	wait_until 20 has_line 'select(.type == "service" or .type == "service.upsert") | select(.service.name == "before")'
	# a change chainwatch has not yet followed (2 confirmations), then the node goes away
	send_as 0 "$c" "$SIG_ADD" "$(spec during)" > /dev/null
	stop_anvil
	wait_until 20 has_line 'select(.type == "rpc.down")'
	has_line 'select(.type == "rpc.down" and (.error | length) > 0)'
	# still serving the last good state
	state_has '(.services | map(.name) | index("before")) and .rpc_up == false'
	restart_anvil_same_port --state "$BATS_FILE_TMPDIR/anvil.state" --preserve-historical-states
	rpc anvil_mine '["0x3"]' > /dev/null
	wait_until 30 has_line 'select(.type == "service.upsert" and .service.name == "during")'
	run events
	[ "$(echo "$output" | jq -r 'select(.type | startswith("rpc.")) | .type' | head -n 2 | tr '\n' ' ')" = "rpc.down rpc.up " ]
	# rpc.up comes before the missed event, and nothing was removed on the way
	[ "$(echo "$output" | jq -r 'select(.type == "rpc.up" or .type == "service.upsert") | .type' | tail -n 2 | tr '\n' ' ')" = "rpc.up service.upsert " ]
	! has_line 'select(.type | endswith(".remove"))'
	state_has '(.services | length) == 2 and .rpc_up'
}
