#!/usr/bin/env bats
# records.bats: one rule set across the hops. Random service records at and around every
# limit go through the contract (anvil), canteen-chainwatch, canteen-sched and canteen-dockerd's
# decoder; each is accepted by every hop, or refused by the first hop that refuses it, with
# the reason every later hop gives (common/rec.h owns the rules).
load lib/common
load lib/anvil
load sched

setup_file() { start_anvil; }
teardown_file() { stop_anvil; }
setup() { RUN=$(mk_rundir); }
teardown() { stop_started; }

ct() { canteen -c /dev/null --rpc "$ANVIL_URL" --key-file "$ANVIL_KEYS/key0" --rundir "$RUN" "$@"; }

# chain_with_node CONTRACT: node 1 registered with room for anything, approved.
chain_with_node() {
	send_as 1 "$1" "$SIG_REGISTER" 127.0.0.2:7946 "0x$(printf 'ab%.0s' {1..32})" 4294967295 4294967295 '[]' > /dev/null
	send_as 0 "$1" 'approveNode(address)' "$(addr_of 1)" > /dev/null
}

# daemons CONTRACT: chainwatch on the chain, a scripted swim (node 1 alive) and dockerd, sched.
daemons() {
	local n1; n1=$(addr_of 1 | tr 'A-F' 'a-f')
	start_bg cw canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract "$1" -d "$RUN" --poll 100ms --confirmations 0
	feed_start swim "$RUN/swim.sock"
	feed "$RUN/swim.sock" "{\"op\":\"set\",\"snapshot\":{\"type\":\"snapshot\",\"self\":\"$n1\",\"members\":[$(member_json "$n1" alive)]}}" | grep -q ok
	feed_start dockerd "$RUN/dockerd.sock"
	wait_until 20 test -S "$RUN/chain.sock"
	sched_start sched "$RUN" "$n1"
}

services_state() { sock_request "$RUN/chain.sock" '{"op":"state"}' | jq -c '.services'; }

@test "random records at the limits: accepted by every hop, or refused by the first with the reason of the later ones" {
	local seed=${REC_SEED:-$(( $(date +%s) % 100000 ))} n=${REC_COUNT:-60}
	echo "# seed $seed ($n records; REC_SEED=$seed reproduces)" >&3
	C=$(deploy_canteen 0)
	chain_with_node "$C"
	"$TBIN/rec_tool" gen "$seed" "$n" > "$BATS_TEST_TMPDIR/recs"
	cut -f2 "$BATS_TEST_TMPDIR/recs" | "$TBIN/rec_tool" check > "$BATS_TEST_TMPDIR/verdicts"
	local tuple json verdict i=0 contract=0 run=0 ok=0
	: > "$BATS_TEST_TMPDIR/taken"
	while IFS=$'\t' read -r tuple json <&4 && read -r verdict <&5; do
		i=$((i + 1))
		# hop 1, the contract: refuses exactly what the contract rules refuse.
		if send_as 0 "$C" "$SIG_ADD" "$tuple" > "$BATS_TEST_TMPDIR/send" 2>&1; then
			[[ "$verdict" != contract:* ]] || { echo "record $i: the contract took what rec.h refuses ($verdict): $json"; false; }
			printf '%s\t%s\n' "$json" "$verdict" >> "$BATS_TEST_TMPDIR/taken"
			case $verdict in run:*) run=$((run + 1)) ;; *) ok=$((ok + 1)) ;; esac
		else
			[[ "$verdict" == contract:* ]] || { echo "record $i: the contract refused ($(tail -n 2 "$BATS_TEST_TMPDIR/send")) what rec.h takes: $json"; false; }
			contract=$((contract + 1))
		fi
	done 4< "$BATS_TEST_TMPDIR/recs" 5< "$BATS_TEST_TMPDIR/verdicts"
	[ "$i" -eq "$n" ]
	echo "# refused by the contract: $contract; taken but not runnable: $run; runnable: $ok" >&3
	[ "$contract" -gt 0 ] && [ "$run" -gt 0 ] && [ "$ok" -gt 0 ]

	daemons "$C"
	local want=$((run + ok))
	# hop 2, chainwatch: every record the contract took, exactly as it was sent.
	wait_until 30 eval '[ "$(services_state | jq length)" = "$want" ]'
	services_state | jq -c 'sort_by(.name)[] | del(.generation)' > "$BATS_TEST_TMPDIR/cw"
	cut -f1 "$BATS_TEST_TMPDIR/taken" | jq -c '.' | jq -sc 'sort_by(.name)[] | del(.generation)' > "$BATS_TEST_TMPDIR/sent"
	diff "$BATS_TEST_TMPDIR/sent" "$BATS_TEST_TMPDIR/cw"

	# hop 3, sched: a record that is not runnable is pending "rejected: <the run rule's
	# reason>", every replica; a runnable one is never rejected.
	wait_until 30 eval '[ "$(sched_req "$RUN" "{\"op\":\"summary\"}" | jq ".services | length")" = "$want" ]'
	sched_req "$RUN" '{"op":"summary"}' > "$BATS_TEST_TMPDIR/summary"
	local name why reasons
	while IFS=$'\t' read -r json verdict; do
		name=$(echo "$json" | jq -r .name)
		reasons=$(jq -c --arg n "$name" '.services[] | select(.name == $n) | .reasons' "$BATS_TEST_TMPDIR/summary")
		if [[ "$verdict" == run:* ]]; then
			why=${verdict#run: }
			[ "$reasons" = "$(jq -nc --arg k "rejected: $why" --argjson v "$(echo "$json" | jq .replicas)" '{($k): $v}')" ] ||
				{ echo "sched: $name: $reasons, not rejected: $why"; false; }
			# hop 4, dockerd's decoder, given the replica anyway: the same sentence.
			[ "$(echo "$json" | "$TBIN/rec_tool" dockerd)" = "rejected: $why" ] ||
				{ echo "dockerd: $name: $(echo "$json" | "$TBIN/rec_tool" dockerd), sched: $why"; false; }
		else
			! echo "$reasons" | grep -q rejected || { echo "sched rejected runnable $name: $reasons"; false; }
			[ "$(echo "$json" | "$TBIN/rec_tool" dockerd)" = ok ]
		fi
	done < "$BATS_TEST_TMPDIR/taken"
	# and what sched hands to dockerd, through dockerd's decoder: nothing refused.
	feed "$RUN/dockerd.sock" '{"op":"last_desired"}' | jq -c '.desired.containers[] |
		{name: .service, image, command, env, cpu_millis, mem_mib, ports, generation, replicas: 1} +
		({health, volumes, read_only} | with_entries(select(.value != null)))' |
		"$TBIN/rec_tool" dockerd | sort | uniq -c | tee /dev/stderr | { ! grep -v ' ok$'; }
	# version 5's options that make the container reach dockerd as the record has them
	opts='o: ({health, volumes, read_only} | with_entries(select(.value != null)))'
	grep -v 'run:' "$BATS_TEST_TMPDIR/taken" | cut -f1 | jq -c "{name, $opts}" | sort > "$BATS_TEST_TMPDIR/want_opts"
	feed "$RUN/dockerd.sock" '{"op":"last_desired"}' | jq -c ".desired.containers[] | {name: .service, $opts}" |
		sort -u > "$BATS_TEST_TMPDIR/got_opts"
	echo "# containers with options: $(grep -c '"o":{"' "$BATS_TEST_TMPDIR/got_opts")" >&3
	[ -z "$(comm -13 "$BATS_TEST_TMPDIR/want_opts" "$BATS_TEST_TMPDIR/got_opts")" ]
}

@test "a record no server can run, forced onto the chain with cast: canteen service ls says why" {
	C=$(deploy_canteen 0)
	chain_with_node "$C"
	local img; img=$(printf 'a%.0s' {1..298}):1
	# The CLI refuses it before spending gas ...
	run ct --contract "$C" service deploy big --image "$img" --replicas 3
	[ "$status" -eq 2 ]
	[[ "$output" == *"image reference longer than 255 bytes"* ]]
	# ... the contract takes it (up to 512 bytes): sent with cast.
	send_as 0 "$C" "$SIG_ADD" "(big,$img,[sh],[A=1],3,100,64,[],0,0,false,[],[])" > /dev/null
	ct --contract "$C" service deploy fine --image canteen-test:1 --replicas 2 > /dev/null
	daemons "$C"
	wait_until 30 eval 'ct --contract "$C" service ls | grep -q "pending: 3 rejected: image reference longer than 255 bytes"'
	run ct --contract "$C" service ls
	echo "$output"
	[[ "$(echo "$output" | grep '^big ')" == *" 0/3 "*"pending: 3 rejected: image reference longer than 255 bytes"* ]]
	[[ "$(echo "$output" | grep '^fine ')" == *" 2/2 "* ]]
	ct --contract "$C" --json service ls | jq -s -e 'map(select(.name == "big"))[0] | .placed == 0 and .pending == 3'
	# The placement on sched.sock lists each replica pending with the same reason.
	[ "$(sched_req "$RUN" '{"op":"placement"}' | jq '[.pending[] | select(.reason == "rejected: image reference longer than 255 bytes")] | length')" = 3 ]
}
