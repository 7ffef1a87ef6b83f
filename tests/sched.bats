#!/usr/bin/env bats
# sched.bats: canteen-sched on real sockets: two schedulers agree, membership and chain
# changes, peers going away, the desired set for dockerd, canteen ps.
load lib/common
load swim
load sched

teardown() { stop_started; }

N1=0x1111111111111111111111111111111111111111
N2=0x2222222222222222222222222222222222222222
N3=0x3333333333333333333333333333333333333333

# One scheduler for N1 with scripted chain, swim and dockerd peers in $R; args go to it.
setup_one() {
	R=$(mk_rundir "$BATS_TEST_TMPDIR/r")
	feed_start chain "$R/chain.sock"
	feed_start swim "$R/swim.sock"
	feed_start dockerd "$R/dockerd.sock"
	chain_set "$R/chain.sock" "$(node_json $N1),$(node_json $N2),$(node_json $N3)" \
		"$(svc_json web 3 8080 2),$(svc_json worker 5)"
	feed "$R/swim.sock" "{\"op\":\"set\",\"snapshot\":{\"type\":\"snapshot\",\"self\":\"$N1\",\"members\":[$(member_json $N1 alive),$(member_json $N2 alive),$(member_json $N3 alive)]}}" | grep -q ok
	sched_start sched "$R" $N1 "$@"
	wait_until 10 ready "$R"
}

@test "two schedulers fed the same chain and real SWIM membership publish identical hashes" {
	swim_setup 3 70
	for i in 1 2 3; do swim_start "$i"; done
	wait_until 15 swim_converged 3
	C=$(mk_rundir "$BATS_TEST_TMPDIR/chain")
	feed_start chain "$C/chain.sock"
	chain_set "$C/chain.sock" "$(node_json "${ADDR[1]}"),$(node_json "${ADDR[2]}"),$(node_json "${ADDR[3]}" 8000)" \
		"$(svc_json web 3 8080 2),$(svc_json worker 7),$(svc_json batch 4)"
	for i in 1 2; do
		feed_start "dockerd$i" "$SW/r$i/dockerd.sock"
		sched_start "sched$i" "$SW/r$i" "${ADDR[i]}" --chain-sock "$C/chain.sock"
	done
	wait_until 10 ready "$SW/r1"
	wait_until 10 ready "$SW/r2"
	wait_until 10 same_hash "$SW/r1" "$SW/r2"
	h0=$(hash_of "$SW/r1")
	[ "$(on_node "$SW/r1" "${ADDR[3]}")" -gt 0 ]
	# Each scheduler hands dockerd exactly its own share.
	for i in 1 2; do
		wait_until 5 desired_matches "$SW/r$i" "$SW/r$i/dockerd.sock" "${ADDR[i]}"
	done
	# A member dies: both see it through SWIM and move its replicas the same way.
	kill -KILL "$(pid_of swim3)"
	wait_until 30 hash_not "$SW/r1" "$h0"
	wait_until 10 hash_not "$SW/r2" "$h0"
	wait_until 10 same_hash "$SW/r1" "$SW/r2"
	[ "$(on_node "$SW/r1" "${ADDR[3]}")" -eq 0 ]
	echo "# both schedulers: $h0 -> $(hash_of "$SW/r1")" >&3
}

@test "suspect keeps replicas; dead loses them; alive again restores the placement" {
	setup_one
	h0=$(hash_of "$R")
	n3=$(on_node "$R" $N3)
	[ "$n3" -gt 0 ]
	c=$(computations "$R")
	publish "$R/swim.sock" "{\"type\":\"member.suspect\",\"member\":$(member_json $N3 suspect)}"
	wait_until 5 computed_more "$R" "$c"
	[ "$(hash_of "$R")" = "$h0" ]
	publish "$R/swim.sock" "{\"type\":\"member.dead\",\"member\":$(member_json $N3 dead)}"
	wait_until 5 hash_not "$R" "$h0"
	[ "$(on_node "$R" $N3)" -eq 0 ]
	# web has a host port and 3 replicas: one is pending with the reason given.
	run sched_req "$R" '{"op":"placement"}'
	[[ "$output" == *'"reason":"port conflict"'* ]]
	publish "$R/swim.sock" "{\"type\":\"member.alive\",\"member\":$(member_json $N3 alive)}"
	wait_until 5 hash_is "$R" "$h0"
	publish "$R/swim.sock" "{\"type\":\"member.left\",\"member\":$(member_json $N3 left)}"
	wait_until 5 hash_not "$R" "$h0"
}

@test "a restarted swim's first snapshot omits members: they keep their replicas until it settles" {
	printf 'membership_settle_ms = 3s\n' > "$BATS_TEST_TMPDIR/s.conf"
	setup_one -c "$BATS_TEST_TMPDIR/s.conf"
	h0=$(hash_of "$R")
	[ "$(on_node "$R" $N3)" -gt 0 ]
	# swim restarts: its first snapshot knows nobody yet ("self" is null until the chain
	# admits it).  The new socket is set up aside and moved in place, so the scheduler
	# can only ever reach a swim.sock that has a snapshot.
	kill -TERM "$(pid_of swim)"
	wait_until 5 answer_is "$R/sched.sock" '{"op":"status"}' .swim false
	feed_start swim2 "$R/swim2.sock"
	feed "$R/swim2.sock" '{"op":"set","snapshot":{"type":"snapshot","self":null,"members":[]}}' | grep -q ok
	mv "$R/swim2.sock" "$R/swim.sock"
	wait_until 10 grep -q "omits 2 member(s)" "$BATS_TEST_TMPDIR/sched.log"
	c=$(computations "$R")
	publish "$R/swim.sock" "{\"type\":\"member.alive\",\"member\":$(member_json $N1 alive)}"
	publish "$R/swim.sock" "{\"type\":\"member.alive\",\"member\":$(member_json $N2 alive)}"
	publish "$R/swim.sock" "{\"type\":\"member.suspect\",\"member\":$(member_json $N2 suspect)}"
	wait_until 5 computed_more "$R" "$c"
	[ "$(hash_of "$R")" = "$h0" ]   # nothing moved while swim relearns the cluster
	# N3 is never reported: after the settle time it no longer counts as live.
	wait_until 10 on_node_is "$R" $N3 0
	grep -q "membership settled: 1 member(s)" "$BATS_TEST_TMPDIR/sched.log"
	[ "$(on_node "$R" $N2)" -gt 0 ]
}

@test "chain events: scale, new generation, removal; summary per service" {
	setup_one
	publish "$R/chain.sock" "{\"type\":\"service.upsert\",\"service\":$(svc_json worker 9)}"
	wait_until 5 answer_is "$R/sched.sock" '{"op":"summary"}' '.services[] | select(.name == "worker") | .placed' 9
	publish "$R/chain.sock" "{\"type\":\"service.upsert\",\"service\":$(svc_json web 3 8080 5)}"
	wait_until 5 answer_is "$R/sched.sock" '{"op":"placement"}' '[.assignments[] | select(.service == "web") | .generation] | unique' '[5]' 
	publish "$R/chain.sock" '{"type":"service.remove","name":"worker"}'
	wait_until 5 answer_is "$R/sched.sock" '{"op":"summary"}' '.services | length' 1
	publish "$R/chain.sock" "{\"type\":\"node.remove\",\"address\":\"$N2\"}"
	wait_until 5 on_node_is "$R" $N2 0
	run sched_req "$R" '{"op":"summary"}'
	[[ "$output" == *'"name":"web"'*'"replicas":3'* ]]
}

@test "the summary in pages (offset, limit; 10,000 services are longer than a client's line); bad bounds refused" {
	setup_one
	[ "$(sched_req "$R" '{"op":"summary","offset":1,"limit":1}' | jq -c '[.total, (.services | map(.name))]')" = '[2,["worker"]]' ]
	[ "$(sched_req "$R" '{"op":"summary","offset":0,"limit":1000}' | jq -c '.services | map(.name)')" = '["web","worker"]' ]
	[ "$(sched_req "$R" '{"op":"summary","offset":5,"limit":1}' | jq -c '[.total, .services]')" = '[2,[]]' ]
	for bad in '"offset":-1' '"limit":0' '"limit":1001' '"offset":"1"' '"limit":1.5'; do
		run sched_req "$R" "{\"op\":\"summary\",$bad}"
		[[ "$output" == *'"error"'*'one from 1 to 1000'* ]]
	done
	# without bounds: every service, as before
	[ "$(sched_req "$R" '{"op":"summary"}' | jq -c '[.total, (.services | length)]')" = '[2,2]' ]
}

@test "chainwatch and dockerd going away: last state kept, desired set sent again on return" {
	setup_one
	h0=$(hash_of "$R")
	wait_until 5 desired_matches "$R" "$R/dockerd.sock" $N1
	kill -TERM "$(pid_of chain)"
	wait_until 5 answer_is "$R/sched.sock" '{"op":"status"}' .chain false
	[ "$(hash_of "$R")" = "$h0" ]
	# Membership still counts while the chain is away.
	publish "$R/swim.sock" "{\"type\":\"member.dead\",\"member\":$(member_json $N2 dead)}"
	wait_until 5 hash_not "$R" "$h0"
	[ "$(sched_req "$R" '{"op":"summary"}' | jq '.services | length')" = 2 ]
	# dockerd restarts: it gets the full desired set again, unasked.
	kill -TERM "$(pid_of dockerd)"
	wait_until 5 answer_is "$R/sched.sock" '{"op":"status"}' .dockerd false
	feed_start dockerd2 "$R/dockerd.sock"
	wait_until 10 desired_matches "$R" "$R/dockerd.sock" $N1
	grep -q "chain.sock away" "$BATS_TEST_TMPDIR/sched.log"
}

@test "bad input is logged and ignored; sched.sock rejects unknown ops; subscribers get events" {
	setup_one
	h0=$(hash_of "$R")
	publish "$R/chain.sock" '{"type":"node.upsert","node":{"address":"0xBAD","cpu_millis":-1}}'
	publish "$R/chain.sock" '{"type":"frobnicate"}'
	publish "$R/swim.sock" '{"type":"member.dead","member":{"address":"nope","state":"dead"}}'
	publish "$R/chain.sock" "{\"type\":\"service.upsert\",\"service\":{\"name\":\"Bad Name\",\"image\":\"x\",\"replicas\":1,\"cpu_millis\":1,\"mem_mib\":1}}"
	wait_until 5 grep -q "unknown chain event type 'frobnicate'" "$BATS_TEST_TMPDIR/sched.log"
	grep -q "member without a valid address" "$BATS_TEST_TMPDIR/sched.log"
	[ "$(hash_of "$R")" = "$h0" ]
	run sched_req "$R" '{"op":"frobnicate","id":4}'
	[[ "$output" == *'"type":"error"'*'unknown op'* ]]
	[[ "$output" == *'"id":4'* ]]
	run "$TBIN/ipc_tool" subscribe "$R/sched.sock" 1 2000
	[[ "$output" == *'"type":"snapshot"'*"\"hash\":\"$h0\""* ]]
	# A change reaches a subscriber as one placement event.
	start_bg sub "$TBIN/ipc_tool" subscribe "$R/sched.sock" 2 5000
	wait_until 5 grep -q snapshot "$BATS_TEST_TMPDIR/sub.log"
	publish "$R/swim.sock" "{\"type\":\"member.dead\",\"member\":$(member_json $N3 dead)}"
	wait_until 5 grep -q '"type":"placement"' "$BATS_TEST_TMPDIR/sub.log"
}

@test "canteen ps: placement with states from dockerd; --json" {
	setup_one
	wait_until 5 desired_matches "$R" "$R/dockerd.sock" $N1
	run "$BIN/canteen" --rundir "$R" ps
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *SERVICE*REPLICA*NODE*STATE* ]]
	[[ "$output" == *"$N1"*running* ]]
	[ "${#lines[@]}" -eq 9 ]
	run "$BIN/canteen" --rundir "$R" ps --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -s length)" = 8 ]
	[ "$(echo "$output" | jq -s "[.[] | select(.node == \"$N1\" and .state == \"running\")] | length")" = "$(on_node "$R" $N1)" ]
	# No scheduler: a clear error.
	run "$BIN/canteen" --rundir "$BATS_TEST_TMPDIR/nowhere" ps
	[ "$status" -eq 1 ]
	[[ "$output" == *"canteen-sched"* ]]
}

@test "canteen-sched warns when canteen-swim's self is another node" {
	R=$(mk_rundir "$BATS_TEST_TMPDIR/r")
	feed_start chain "$R/chain.sock"
	feed_start swim "$R/swim.sock"
	feed_start dockerd "$R/dockerd.sock"
	chain_set "$R/chain.sock" "$(node_json $N1),$(node_json $N2)" "$(svc_json web 2)"
	feed "$R/swim.sock" "{\"op\":\"set\",\"snapshot\":{\"type\":\"snapshot\",\"self\":\"$N2\",\"members\":[$(member_json $N1 alive),$(member_json $N2 alive)]}}" | grep -q ok
	sched_start sched "$R" $N1
	wait_until 10 ready "$R"
	wait_until 5 grep -q "canteen-swim says it is $N2, but this node is $N1" "$BATS_TEST_TMPDIR/sched.log"
}

@test "canteen-sched: --help, --version, configuration errors exit 100" {
	run "$BIN/canteen-sched" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *--debounce* ]]
	run "$BIN/canteen-sched" --version
	[[ "$output" == "canteen-sched "* ]]
	run "$BIN/canteen-sched" -d "$BATS_TEST_TMPDIR"
	[ "$status" -eq 100 ]
	[[ "$output" == *"address is needed"* ]]
	run "$BIN/canteen-sched" --node 0x12 -d "$BATS_TEST_TMPDIR"
	[ "$status" -eq 100 ]
	run "$BIN/canteen-sched" --node $N1 --debounce soon -d "$BATS_TEST_TMPDIR"
	[ "$status" -eq 100 ]
}

@test "what this server's dockerd refuses is counted pending 'rejected: <its reason>', not placed" {
	R=$(mk_rundir "$BATS_TEST_TMPDIR/r")
	feed_start chain "$R/chain.sock"
	feed_start swim "$R/swim.sock"
	feed_start dockerd "$R/dockerd.sock"
	# One node only: every replica is N1's. dockerd (scripted) refuses replica 1 of web.
	feed "$R/dockerd.sock" '{"op":"reject","rejected":[{"service":"web","replica":1,"error":"no such image"},{"service":"Bad Name","replica":0,"error":"x"},{"service":"web","replica":-4,"error":"x"}]}' | grep -q ok
	chain_set "$R/chain.sock" "$(node_json $N1)" "$(svc_json web 3)"
	feed "$R/swim.sock" "{\"op\":\"set\",\"snapshot\":{\"type\":\"snapshot\",\"self\":\"$N1\",\"members\":[$(member_json $N1 alive)]}}" | grep -q ok
	sched_start sched "$R" $N1
	wait_until 10 answer_is "$R/sched.sock" '{"op":"summary"}' '.services[0] | [.placed, .pending, .reasons]' \
		'[2,1,{"rejected: no such image":1}]'
	# The placement itself is unchanged: the replica stays assigned here and in the set.
	[ "$(on_node "$R" $N1)" = 3 ]
	[ "$(desired_count "$R/dockerd.sock")" = 3 ]
	# dockerd takes it after all: placed again.
	feed "$R/dockerd.sock" '{"op":"reject","rejected":[]}' | grep -q ok
	publish "$R/chain.sock" "{\"type\":\"service.upsert\",\"service\":$(svc_json web 3 '' 2)}"
	wait_until 10 answer_is "$R/sched.sock" '{"op":"summary"}' '.services[0] | [.placed, .pending]' '[3,0]'
}

@test "a record no server can run changes only the pending list: subscribers still get a placement event" {
	setup_one
	local h big
	h=$(hash_of "$R")
	"$TBIN/ipc_tool" subscribe "$R/sched.sock" 2 10000 > "$BATS_TEST_TMPDIR/sub" &
	local pid=$!
	wait_until 5 grep -q snapshot "$BATS_TEST_TMPDIR/sub"
	big=$(svc_json big 2 | jq -c --arg i "$(printf 'a%.0s' {1..300})" '.image = $i')
	publish "$R/chain.sock" "{\"type\":\"service.upsert\",\"service\":$big}"
	wait "$pid"
	tail -n 1 "$BATS_TEST_TMPDIR/sub" | jqe --arg h "$h" '.type == "placement" and .hash == $h and
		([.pending[] | select(.service == "big" and .reason == "rejected: image reference longer than 255 bytes")] | length) == 2'
}
