#!/usr/bin/env bats
# node_join.bats: `canteen node join` against a fresh anvil: keys made when missing, a clear
# refusal without funds, registration, and the admin's approval making the node active.

load lib/common
load lib/anvil

setup_file() { start_anvil; }
teardown_file() { stop_anvil; }

setup() {
	export CANTEEN_RPC=$ANVIL_URL
	unset CANTEEN_KEY_FILE CANTEEN_CONTRACT
	if [ ! -f "$BATS_FILE_TMPDIR/contract" ]; then
		canteen -c /dev/null --key-file "$ANVIL_KEYS/key0" contract deploy > "$BATS_FILE_TMPDIR/contract"
	fi
	CONTRACT=$(cat "$BATS_FILE_TMPDIR/contract")
	D=$BATS_TEST_TMPDIR
	printf 'rpc_url = %s\ncontract = %s\nkey_file = %s/eth.key\nswim_key_file = %s/swim.key\nswim_advertise = 127.0.0.9:7946\n' \
		"$ANVIL_URL" "$CONTRACT" "$D" "$D" > "$D/canteen.conf"
}

@test "node join makes missing keys, refuses clearly without funds, then registers" {
	run canteen -c "$D/canteen.conf" node join --cpu 2 --mem 1G --label zone=a
	[ "$status" -eq 1 ]
	[[ "$output" == *"no funds"* ]]
	[ "$(stat -c %a "$D/eth.key")" = 600 ]
	[ "$(stat -c %a "$D/swim.key")" = 600 ]
	addr=$(echo "$output" | grep -o '0x[0-9a-f]\{40\}' | head -n1)
	rpc anvil_setBalance "[\"$addr\",\"0x8AC7230489E80000\"]" >/dev/null
	pub=$(grep '^public' "$D/swim.key" | awk '{print $2}')
	run canteen -c "$D/canteen.conf" node join --cpu 2 --mem 1G --label zone=a
	[ "$status" -eq 0 ]
	[[ "$output" == *"$addr registered with endpoint 127.0.0.9:7946"* ]]
	[[ "$output" == *"node approve $addr"* ]]
	# Keys were kept, not replaced.
	[ "$(grep '^public' "$D/swim.key" | awk '{print $2}')" = "$pub" ]
	run canteen -c /dev/null --contract "$CONTRACT" --json node ls
	[ "$(echo "$output" | jq -r --arg a "$addr" 'select(.address == $a) | .active')" = false ]
	[ "$(echo "$output" | jq -r --arg a "$addr" 'select(.address == $a) | .labels.zone')" = a ]
	canteen -c /dev/null --contract "$CONTRACT" --key-file "$ANVIL_KEYS/key0" node approve "$addr"
	run canteen -c /dev/null --contract "$CONTRACT" --json node ls
	[ "$(echo "$output" | jq -r --arg a "$addr" 'select(.address == $a) | .active')" = true ]
}

@test "node join without an endpoint or keys configured is a usage error" {
	run canteen -c /dev/null --contract "$CONTRACT" node join
	[ "$status" -eq 2 ]
	[[ "$output" == *"endpoint"* ]]
	run canteen -c /dev/null --contract "$CONTRACT" node join --endpoint 127.0.0.9:7946
	[ "$status" -eq 2 ]
	[[ "$output" == *"key_file"* ]]
}
