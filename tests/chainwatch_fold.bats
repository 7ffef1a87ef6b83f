#!/usr/bin/env bats
# chainwatch_fold.bats: contract version 4 keeps services in logs: canteen-chainwatch's
# snapshot folds ServiceUpserted/Scaled/Removed from deployBlock and checks the fold
# against serviceCount and serviceStates at its block. A follower that starts after 300
# changes (adds, scales, removals, names re-created) has the state of one that followed
# them live and the contract's own; an endpoint that caps eth_getLogs ranges still gives
# the whole state; one that withholds logs gives none rather than a wrong one.
load lib/common
load lib/anvil

setup_file() {
	local BATS_TEST_TMPDIR=$BATS_FILE_TMPDIR c i # start_bg's files: the file's own
	start_anvil
	c=$(deploy_canteen 0) || return 1
	echo "$c" > "$BATS_FILE_TMPDIR/contract"
	# a follower from the start, live through every change below
	RUN=$BATS_FILE_TMPDIR/live
	mkdir -p "$RUN" && chmod 0700 "$RUN"
	start_bg live canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract "$c" -d "$RUN" \
		--poll 50ms --confirmations 0 --stdout
	wait_until 20 sock_request "$RUN/chain.sock" '{"op":"state"}' > /dev/null || return 1
	# 300 changes: 100 added (blocks of 25), 100 scaled, 50 removed, those 50 added again
	PER_BLOCK=25 add_services_batch "$c" 0 f 100 || return 1
	for ((i = 0; i < 100; i++)); do scale_calldata "f-$(printf '%05d' "$i")" $((i % 7 + 2)) 1; done |
		send_calls_batch "$c" 0 || return 1
	for ((i = 0; i < 100; i += 2)); do rm_calldata "f-$(printf '%05d' "$i")" 2; done |
		send_calls_batch "$c" 0 || return 1
	for ((i = 0; i < 100; i += 2)); do PER_BLOCK=1 add_services_batch "$c" 0 f 1 "$i" || return 1; done
	[ "$(call "$c" 'serviceCount()(uint256)')" = 100 ]
}

teardown_file() {
	BATS_TEST_TMPDIR=$BATS_FILE_TMPDIR stop_started
	stop_anvil
}

setup() {
	C=$(cat "$BATS_FILE_TMPDIR/contract")
	RUN=$(mk_rundir)
}

# this test's own processes (the file's live follower goes on)
teardown() { stop_started; }

live_state() { sock_request "$BATS_FILE_TMPDIR/live/chain.sock" '{"op":"state"}'; }
state_at() { sock_request "$1/chain.sock" '{"op":"state"}'; }
services_of() { jq -S -c '.services | sort_by(.name)'; }
at_block() { state_at "$1" | jq -en "input | (.block >= $2)" > /dev/null 2>&1; }
# keep_state RUNDIR FILE: the state (with its services) into FILE.
keep_state() { state_at "$1" > "$2" && jq -en "input | .services" "$2" > /dev/null 2>&1; }
# same_as_live RUNDIR: the services of the follower on RUNDIR are the live follower's.
same_as_live() {
	local a b
	a=$(state_at "$1" | services_of) && b=$(live_state | services_of) && [ -n "$a" ] && [ "$a" = "$b" ]
}

# proxy NAME FLAGS...: rpc_proxy.py in front of anvil; PROXY_URL.
proxy() {
	local name=$1 pf=$BATS_TEST_TMPDIR/$1.port; shift
	start_bg "$name" python3 "$TOP/tests/tools/rpc_proxy.py" --upstream "$ANVIL_URL" --port-file "$pf" "$@"
	wait_until 10 test -s "$pf"
	PROXY_URL=http://127.0.0.1:$(cat "$pf")
}

# cast_states BLOCK: (name, exists, generation, replicas) of f-00000..f-00099 as the
# contract holds them, in one serviceStates call: an oracle that is not chainwatch's code.
cast_states() {
	local keys i
	keys=$(for ((i = 0; i < 100; i++)); do cast keccak "f-$(printf '%05d' "$i")"; done | paste -sd, -)
	cast call --json --rpc-url "$ANVIL_URL" --block "$1" "$C" "serviceStates(bytes32[])($STATE_T[])" "[$keys]" |
		jq -c '.[0] | to_entries | map({name: ("f-" + ("0000" + (.key | tostring))[-5:]), exists: .value[0],
			generation: .value[1], replicas: .value[2]})'
}

@test "a follower started after 300 changes has the live follower's state, the contract's own" {
	head=$(block_number)
	wait_until 20 at_block "$BATS_FILE_TMPDIR/live" "$head"
	start_bg late canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract "$C" -d "$RUN" \
		--poll 50ms --confirmations 0
	wait_until 30 at_block "$RUN" "$head"
	wait_until 20 same_as_live "$RUN"
	wait_until 20 keep_state "$RUN" "$BATS_TEST_TMPDIR/late.json"
	late=$(cat "$BATS_TEST_TMPDIR/late.json")
	[ "$(echo "$late" | jq '.services | length')" = 100 ]
	grep -q "snapshot at block .*: 0 nodes, 100 services (from logs since block" "$BATS_TEST_TMPDIR/late.log"
	# every service as the contract holds it at the late follower's block
	blk=$(echo "$late" | jq .block)
	diff <(cast_states "$blk") <(echo "$late" | jq -c '.services | sort_by(.name) |
		map({name, exists: true, generation, replicas})')
	# removed and created again: the generation goes on (1 add, 2 scale, 3 removal, 4 add)
	[ "$(echo "$late" | jq -r '.services | map(select(.name == "f-00000"))[0] | "\(.generation) \(.replicas)"')" = "4 1" ]
	[ "$(echo "$late" | jq -r '.services | map(select(.name == "f-00001"))[0] | "\(.generation) \(.replicas)"')" = "2 3" ]
	# a record's fields, decoded by cast from the log the contract's hash points at
	[ "$(record_of "$C" f-00001)" = '("f-00001", "busybox:1", ["sh", "-c", "sleep 1000"], ["A=1"], 3, 100, 64, [(8080, 80, 0)], 0, 0, false, [], [], 2)' ]
	[ "$(echo "$late" | jq -c '.services | map(select(.name == "f-00001"))[0] | [.image, .command, .env, .ports]')" = \
		'["busybox:1",["sh","-c","sleep 1000"],["A=1"],[{"host":8080,"container":80,"proto":"tcp"}]]' ]
	# the live follower's own changes came as events, and the CLI reads the same
	diff <(echo "$late" | services_of | jq -S '.[]') \
		<(canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$C" --json service ls | jq -S 'del(.placed, .pending)' | jq -s -S -c 'sort_by(.name) | .[]' | jq -S .)
}

@test "an endpoint that caps eth_getLogs at 2 blocks: the snapshot shrinks its ranges and has every service" {
	head=$(block_number)
	proxy capped --max-log-range 2 --record "$BATS_TEST_TMPDIR/capped.calls"
	start_bg late canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$PROXY_URL" --contract "$C" -d "$RUN" \
		--poll 50ms --confirmations 0
	wait_until 60 at_block "$RUN" "$head"
	# (asked again on a busy machine: a state request may time out)
	wait_until 20 same_as_live "$RUN"
	grep -q 'snapshot: eth_getLogs over [0-9]* blocks failed (.*max block range 2.*); trying [0-9]*' "$BATS_TEST_TMPDIR/late.log"
	grep -q 'eth_getLogs refused' "$BATS_TEST_TMPDIR/capped.calls"
	# later changes come in through the same capped endpoint
	send_as 0 "$C" "$SIG_SCALE" f-00003 9 2 > /dev/null
	wait_until 20 state_has_at "$RUN" '.services | map(select(.name == "f-00003"))[0].replicas == 9'
}
state_has_at() { state_at "$1" | jq -en "input | ($2)" > /dev/null 2>&1; }

@test "a snapshot of 2,500 services in 100 blocks reads their logs in answers of at most 2,000 (memory)" {
	# One eth_getLogs over all the blocks answered 2,500 logs; an answer, raw and parsed, is
	# what a snapshot's memory peaks at (bench/scale-chain: 6,000 logs in one took 40 MiB).
	local c n
	c=$(deploy_canteen 0)
	PER_BLOCK=25 add_services_batch "$c" 0 m 2500
	proxy counted --record-logs "$BATS_TEST_TMPDIR/logs"
	start_bg dense canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$PROXY_URL" --contract "$c" \
		-d "$RUN" --poll 50ms --confirmations 0 --log-level debug
	wait_until 120 eval 'sock_request "$RUN/chain.sock" "{\"op\":\"stats\"}" | jqe ".ready and .services == 2500"'
	[ "$(call "$c" 'serviceCount()(uint256)')" = 2500 ]
	n=$(awk '$1 > m { m = $1 } END { print m + 0 }' "$BATS_TEST_TMPDIR/logs")
	echo "largest answer: $n logs; answers: $(wc -l < "$BATS_TEST_TMPDIR/logs")"
	[ "$n" -gt 0 ] || { tail -n 5 "$BATS_TEST_TMPDIR/counted.log" "$BATS_TEST_TMPDIR/dense.log"; false; }
	[ "$n" -le 2000 ]
	# the ranges grew from one block while the answers were small
	awk 'NR == 1 { split($2, b, "-"); exit !(b[1] == b[2]) }' "$BATS_TEST_TMPDIR/logs"
	grep -q 'snapshot: [0-9]* logs in blocks' "$BATS_TEST_TMPDIR/dense.log"
}
# lines_ge N PATTERN FILE: at least N lines of FILE match PATTERN.
lines_ge() { [ "$(grep -c "$2" "$3")" -ge "$1" ]; }

@test "an endpoint that withholds ServiceScaled logs: no state is served, the difference is named" {
	proxy hiding --drop-log-topic "$(cast keccak 'ServiceScaled(bytes32,string,uint64,uint32)')"
	start_bg late canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$PROXY_URL" --contract "$C" -d "$RUN" \
		--poll 50ms --confirmations 0 --stdout
	wait_until 30 grep -q 'the logs give generation 1, 1 replicas, spec 0x[0-9a-f]*; the chain holds generation 2, [0-9] replicas' \
		"$BATS_TEST_TMPDIR/late.log"
	# and again, with back-off: never a snapshot of the wrong state
	wait_until 30 lines_ge 2 'the logs give generation' "$BATS_TEST_TMPDIR/late.log"
	! grep -q '"type":"snapshot.begin"' "$BATS_TEST_TMPDIR/late.log"
	run sock_request "$RUN/chain.sock" '{"op":"state"}'
	[[ "$output" == *"no state yet"* ]]
}
