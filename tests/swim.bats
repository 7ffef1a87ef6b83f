#!/usr/bin/env bats
# swim.bats: canteen-swim on loopback: convergence, failure detection, refutation, leave,
# metadata, hostile packets, the CLI.
load lib/common
load swim

teardown() { stop_started; }

swim_tool_pub() { "$TBIN/swim_tool" pubkey "$1"; }

@test "5 members converge; a SIGKILLed member is declared dead by all others" {
	swim_setup 5 20
	for i in 1 2 3 4 5; do swim_start $i; done
	wait_until 15 swim_converged 5
	t0=$(now_ms)
	kill -KILL "$(pid_of swim5)"
	for i in 1 2 3 4; do wait_until 20 swim_state_is $i "${ADDR[5]}" dead; done
	echo "# killed member declared dead by all 4 others after $(( $(now_ms) - t0 )) ms (probe 200ms)" >&3
	for i in 1 2 3 4; do swim_sees $i alive 4; done
}

@test "a SIGSTOPped member is declared dead, then refutes with a higher incarnation after SIGCONT" {
	swim_setup 4 30
	for i in 1 2 3 4; do swim_start $i; done
	wait_until 15 swim_converged 4
	inc0=$(swim_inc 1 "${ADDR[4]}")
	kill -STOP "$(pid_of swim4)"
	for i in 1 2 3; do wait_until 20 swim_state_is $i "${ADDR[4]}" dead; done
	kill -CONT "$(pid_of swim4)"
	for i in 1 2 3; do wait_until 20 swim_state_is $i "${ADDR[4]}" alive; done
	inc1=$(swim_inc 1 "${ADDR[4]}")
	echo "# incarnation $inc0 -> $inc1" >&3
	[ "$inc1" -gt "$inc0" ]
	[ "$(swim_stat 4 .refutations)" -ge 1 ]
	wait_until 10 swim_converged 4
}

@test "SIGTERM leaves gracefully: others see left, never suspect or dead" {
	swim_setup 3 40
	for i in 1 2 3; do swim_start $i; done
	wait_until 15 swim_converged 3
	kill -TERM "$(pid_of swim3)"
	for i in 1 2; do wait_until 5 swim_state_is $i "${ADDR[3]}" left; done
	for i in 1 2; do
		[ "$(swim_stat $i .events.suspect)" = 0 ]
		[ "$(swim_stat $i .events.dead)" = 0 ]
	done
	grep -q "leaving the cluster" "$BATS_TEST_TMPDIR/swim3.log"
}

@test "set_meta is gossiped to every member; bad requests get errors" {
	swim_setup 3 50
	for i in 1 2 3; do swim_start $i; done
	wait_until 15 swim_converged 3
	run swim_req 2 '{"op":"set_meta","meta":"replicas=3 load=0.5","id":7}'
	[[ "$output" == *'"type":"ok"'* ]]
	[[ "$output" == *'"id":7'* ]]
	meta_is() { [ "$(swim_req "$1" '{"op":"members"}' | jq -r --arg a "${ADDR[2]}" '.members[] | select(.address == $a) | .meta')" = "replicas=3 load=0.5" ]; }
	for i in 1 3; do wait_until 10 meta_is $i; done
	big=$(head -c 513 /dev/zero | tr '\0' x)
	run swim_req 2 "{\"op\":\"set_meta\",\"meta\":\"$big\"}"
	[[ "$output" == *'"type":"error"'* ]]
	run swim_req 2 '{"op":"set_meta","meta":5}'
	[[ "$output" == *'"type":"error"'* ]]
	run swim_req 2 '{"op":"frobnicate"}'
	[[ "$output" == *'unknown op'* ]]
	run "$TBIN/ipc_tool" subscribe "$SW/r1/swim.sock" 1 2000
	[[ "$output" == *'"type":"snapshot"'* ]]
	[[ "$output" == *'"self":"'"${ADDR[1]}"'"'* ]]
}

@test "canteen members prints the table and NDJSON" {
	swim_setup 2 60
	for i in 1 2; do swim_start $i; done
	wait_until 15 swim_converged 2
	run "$BIN/canteen" --rundir "$SW/r1" members
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *ADDRESS*ENDPOINT*STATE*INCARNATION*META* ]]
	[[ "$output" == *"* ${ADDR[1]}"* ]]
	[[ "$output" == *"${ADDR[2]}"*"${IP[2]}:$SWIM_PORT"*alive* ]]
	run "$BIN/canteen" --rundir "$SW/r1" members --json
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	echo "${lines[0]}" | jqe '.address and .endpoint and .state and (.incarnation|type=="number") and has("meta")'
	run "$BIN/canteen" --rundir "$BATS_TEST_TMPDIR/nowhere" members
	[ "$status" -eq 1 ]
	run "$BIN/canteen" members extra
	[ "$status" -eq 2 ]
}

@test "forged, replayed, truncated, oversized and foreign-key packets are dropped and counted" {
	swim_setup 3 70
	# Member 3 is played by swim_tool with member 3's real key and endpoint.
	for i in 1 2; do swim_start $i; done
	wait_until 15 swim_converged 2
	before=$(swim_req 1 '{"op":"members"}' | jq -c '[.members[] | [.address,.state,.incarnation]]')
	atk() { "$TBIN/swim_tool" attack "$SW/k3" "${ADDR[3]}" "$SW/peers" "${ADDR[1]}" "${IP[3]}:$SWIM_PORT" "$@" "${ADDR[2]}"; }
	run atk valid;     [ "$output" = ack ]
	run atk replay;    [ "${lines[0]}" = ack ]; [ "${lines[1]}" = no-reply ]
	run atk forged;    [ "$output" = no-reply ]
	run atk truncated; [ "$output" = "no-reply"$'\n'"no-reply" ]
	run atk oversized; [ "$output" = no-reply ]
	run atk foreign;   [ "$output" = no-reply ]
	run atk unknown;   [ "$output" = no-reply ]
	run atk reflect;   [ "$output" = no-reply ]
	drops=$(swim_stat 1 .drops)
	echo "# drops: $(echo "$drops" | jq -c .)" >&3
	[ "$(echo "$drops" | jq .replay)" -eq 1 ]
	[ "$(echo "$drops" | jq .auth)" -ge 3 ]
	[ "$(echo "$drops" | jq .short)" -eq 1 ]
	[ "$(echo "$drops" | jq .oversized)" -eq 1 ]
	[ "$(echo "$drops" | jq .unknown_sender)" -eq 1 ]
	[ "$(echo "$drops" | jq .direction)" -eq 1 ]
	after=$(swim_req 1 '{"op":"members"}' | jq -c '[.members[] | [.address,.state,.incarnation]]')
	[ "$before" = "$after" ]
	[ "$(swim_state 1 "${ADDR[2]}")" = alive ]
	kill -0 "$(pid_of swim1)"
}

@test "bad configuration exits 100 with a clear message" {
	swim_setup 2 80
	run "$BIN/canteen-swim" --version
	[ "$status" -eq 0 ] && [[ "$output" == "canteen-swim "* ]]
	run "$BIN/canteen-swim" --help
	[ "$status" -eq 0 ] && [[ "$output" == *"--probe-interval"* ]]
	run "$BIN/canteen-swim" --bogus
	[ "$status" -eq 100 ]
	run "$BIN/canteen-swim" -c /dev/null
	[ "$status" -eq 100 ] && [[ "$output" == *"no key file"* ]]
	run "$BIN/canteen-swim" -d "$SW/r1" --bind "${IP[1]}:$SWIM_PORT" --key-file "$SW/k1" --peers "$SW/peers" --probe-interval 100ms --probe-timeout 200ms
	[ "$status" -eq 100 ]
	[[ "$output" == *"shorter than probe_interval_ms"* ]]
	chmod 0644 "$SW/k1"
	run "$BIN/canteen-swim" -d "$SW/r1" --bind "${IP[1]}:$SWIM_PORT" --key-file "$SW/k1" --peers "$SW/peers"
	[ "$status" -eq 100 ]
	[[ "$output" == *"readable by others"* ]]
	chmod 0600 "$SW/k1"
	# Without --node it is the admitted node holding its public key: none, or two, is an error.
	grep -v "$(swim_tool_pub "$SW/k1")" "$SW/peers" > "$SW/peers2"
	run "$BIN/canteen-swim" -d "$SW/r1" --bind "${IP[1]}:$SWIM_PORT" --key-file "$SW/k1" --peers "$SW/peers2"
	[ "$status" -eq 100 ]
	[[ "$output" == *"no admitted node holds this node's public key"* ]]
	{ cat "$SW/peers"; sed -n 1p "$SW/peers" | sed "s/${ADDR[1]}/0x$(printf '%040d' 9)/"; } > "$SW/peers2"
	run "$BIN/canteen-swim" -d "$SW/r1" --bind "${IP[1]}:$SWIM_PORT" --key-file "$SW/k1" --peers "$SW/peers2"
	[ "$status" -eq 100 ]
	[[ "$output" == *"more than one admitted node holds this node's public key"* ]]
	echo '{"address":"0xZZ","endpoint":"1.2.3.4:1","pubkey":"00"}' > "$SW/badpeers"
	run "$BIN/canteen-swim" -d "$SW/r1" --bind "${IP[1]}:$SWIM_PORT" --node "${ADDR[1]}" --key-file "$SW/k1" --peers "$SW/badpeers"
	[ "$status" -eq 100 ]
	[[ "$output" == *"badpeers:1:"* ]]
	"$TBIN/swim_tool" keygen "$SW/stranger" > /dev/null
	run "$BIN/canteen-swim" -d "$SW/r1" --bind "${IP[1]}:$SWIM_PORT" --node "${ADDR[1]}" --key-file "$SW/stranger" --peers "$SW/peers"
	[ "$status" -eq 100 ]
	[[ "$output" == *"does not list this node ${ADDR[1]} with this node's public key"* ]]
	run "$BIN/canteen-swim" -d "$SW/r1" --bind "${IP[1]}:$SWIM_PORT" --node 0x$(printf '%040d' 7) --key-file "$SW/k1" --peers "$SW/peers"
	[ "$status" -eq 100 ]
	[[ "$output" == *"does not list this node 0x$(printf '%040d' 7)"* ]]
}

@test "without node_name it is the admitted node holding its public key; it never reads key_file" {
	swim_setup 2 120
	# key_file names the node's private Ethereum key: canteen-swim has no use for it.
	printf 'key_file = %s\n' "$SW/no-such-eth.key" > "$SW/canteen.conf"
	swim_start 1
	start_bg swim2 "$BIN/canteen-swim" -c "$SW/canteen.conf" -d "$SW/r2" --bind "${IP[2]}:$SWIM_PORT" \
		--key-file "$SW/k2" --peers "$SW/peers" "${SWIM_FAST[@]}"
	wait_until 15 swim_converged 2
	grep -q "this node is ${ADDR[2]}: the admitted node holding this node's public key" "$BATS_TEST_TMPDIR/swim2.log"
	[ "$(swim_req 2 '{"op":"members"}' | jq -r .self)" = "${ADDR[2]}" ]
	! grep -q "no-such-eth.key" "$BATS_TEST_TMPDIR/swim2.log"
}

@test "canteen node keygen writes 0600 key pairs the daemon accepts; the eth address agrees with cast" {
	d=$BATS_TEST_TMPDIR/keys
	mkdir -p "$d"
	run "$BIN/canteen" node keygen --swim-key "$d/swim.key"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	[ "$(stat -c %a "$d/swim.key")" = 600 ]
	[ "$("$TBIN/swim_tool" pubkey "$d/swim.key")" = "$output" ]
	run "$BIN/canteen" node keygen --swim-key "$d/swim.key"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--force"* ]]
	run "$BIN/canteen" --json node keygen --swim-key "$d/s2.key" --eth-key "$d/eth.key"
	[ "$status" -eq 0 ]
	addr=$(echo "$output" | jq -r .address)
	[ "$(stat -c %a "$d/eth.key")" = 600 ]
	[ "$(cast wallet address --private-key "0x$(cat "$d/eth.key")" | tr 'A-F' 'a-f')" = "$addr" ]
	run "$BIN/canteen" node keygen --swim-key "$d/x" --bogus
	[ "$status" -eq 2 ]
}

@test "--join: members find the cluster through the given endpoint; an unadmitted one is reported" {
	swim_setup 3 110
	swim_start 1
	for i in 2 3; do swim_start $i --join "${IP[1]}:$SWIM_PORT" --join 127.0.0.250:1; done
	wait_until 15 swim_converged 3
	grep -q -- "--join 127.0.0.250:1: no admitted node has that endpoint" "$BATS_TEST_TMPDIR/swim2.log"
	[ "$(swim_stat 2 .joins)" -ge 1 ]
}
