#!/usr/bin/env bats
# contract_admins.bats: admin safety through the canteen CLI against a real anvil: two admins
# changing one service at once both see their change made (generations, StaleGeneration,
# re-read and resend), and a revoked node comes back only when an admin readmits it.
load lib/common
load lib/anvil

setup_file() {
	start_anvil
	C=$(deploy_canteen 0)
	send_as 0 "$C" 'setAdmin(address,bool)' "$(addr_of 5)" true > /dev/null
	echo "$C" > "$BATS_FILE_TMPDIR/contract"
}

teardown_file() { stop_anvil; }

setup() {
	C=$(cat "$BATS_FILE_TMPDIR/contract")
	export CANTEEN_RPC=$ANVIL_URL CANTEEN_CONTRACT=$C CANTEEN_KEY_FILE=$ANVIL_KEYS/key0
}

teardown() {
	stop_started
	rpc evm_setAutomine '[true]' > /dev/null || true
}

ct() { canteen -c /dev/null "$@"; }

# admin NAME KEY_INDEX ARGS...: a canteen CLI in the background; its output and exit status
# go to NAME.log ("exit N" last).
admin() {
	local name=$1 k=$2; shift 2
	start_bg "$name" bash -c 'canteen -c /dev/null --key-file "$0" "$@"; echo "exit $?"' \
		"$ANVIL_KEYS/key$k" "$@"
}
finished() { grep -q '^exit ' "$BATS_TEST_TMPDIR/$1.log"; }
pending_txs() { [ "$(rpc txpool_status '[]' | jq -r '.result.pending' | xargs printf '%d')" -ge "$1" ]; }
# mine_until_done NAME...: mine a block, then succeed once every NAME has finished.
mine_until_done() {
	rpc evm_mine '[]' > /dev/null
	local n
	for n in "$@"; do finished "$n" || return 1; done
}
record() { record_of "$C" "$1"; }

@test "two admins updating one service at once: both changes land (automine off)" {
	run ct service deploy web --image busybox:1 --replicas 1
	[ "$status" -eq 0 ]
	rpc evm_setAutomine '[false]' > /dev/null
	admin a 0 service update web --priority 77
	admin b 5 service update web --replicas 9
	# both transactions wait in the pool: built from the same record when they raced, or the
	# later one from the earlier one's spec, found in the pending block by the hash it sets
	wait_until 30 pending_txs 2
	wait_until 60 mine_until_done a b
	cat "$BATS_TEST_TMPDIR/a.log" "$BATS_TEST_TMPDIR/b.log"
	grep -qx 'exit 0' "$BATS_TEST_TMPDIR/a.log"
	grep -qx 'exit 0' "$BATS_TEST_TMPDIR/b.log"
	grep -q '^web updated (transaction 0x' "$BATS_TEST_TMPDIR/a.log"
	grep -q '^web updated (transaction 0x' "$BATS_TEST_TMPDIR/b.log"
	# the record has both: replicas 9 and priority 77, two generations on
	run record web
	[[ "$output" == '("web", "busybox:1", [], [], 9, 100, 64, [], 77, 0, false, [], [], 3)' ]]
}

@test "a change sent on a record that another change then overtook is re-read and resent" {
	run ct service deploy db --image busybox:1 --replicas 2
	[ "$status" -eq 0 ]
	rpc evm_setAutomine '[false]' > /dev/null
	# another admin's scale waits in the pool: the CLI reads the pending state (generation 2)
	h=$(cast send --rpc-url "$ANVIL_URL" --private-key "$(key_of 5)" --async "$C" "$SIG_SCALE" db 4 1)
	admin a 0 service update db --image busybox:2
	wait_until 30 pending_txs 2
	# the scale never lands (dropped): the update, based on generation 2, is stale when mined
	rpc anvil_dropTransaction "[\"$h\"]" > /dev/null
	wait_until 60 mine_until_done a
	cat "$BATS_TEST_TMPDIR/a.log"
	grep -qx 'exit 0' "$BATS_TEST_TMPDIR/a.log"
	grep -q 'note: service db was changed by someone else meanwhile' "$BATS_TEST_TMPDIR/a.log"
	run record db
	[[ "$output" == '("db", "busybox:2", [], [], 2, 100, 64, [], 0, 0, false, [], [], 2)' ]]
}

@test "scale and rm carry the generation they read, and succeed on a busy service" {
	run ct service deploy q --image busybox:1
	[ "$status" -eq 0 ]
	rpc evm_setAutomine '[false]' > /dev/null
	admin a 0 service scale q 5
	admin b 5 service update q --priority 3
	wait_until 30 pending_txs 2
	wait_until 60 mine_until_done a b
	grep -qx 'exit 0' "$BATS_TEST_TMPDIR/a.log"
	grep -qx 'exit 0' "$BATS_TEST_TMPDIR/b.log"
	run record q
	[[ "$output" == '("q", "busybox:1", [], [], 5, 100, 64, [], 3, 0, false, [], [], 3)' ]]
	rpc evm_setAutomine '[true]' > /dev/null
	run ct service rm q
	[ "$status" -eq 0 ]
	run ct service rm q
	[ "$status" -ne 0 ]
	[ "$output" = 'canteen: there is no service q' ]
}

@test "node readmit: a revoked node registers again only after an admin readmits it" {
	pk=$(printf '%064d' 7)
	run ct --key-file "$ANVIL_KEYS/key7" node register --endpoint 127.0.0.8:7946 --swim-pubkey "$pk" --cpu 1 --mem 1G
	[ "$status" -eq 0 ]
	run ct node revoke "$(addr_of 7)"
	[ "$status" -eq 0 ]
	run ct --key-file "$ANVIL_KEYS/key7" node register --endpoint 127.0.0.8:7946 --swim-pubkey "$pk" --cpu 1 --mem 1G
	[ "$status" -ne 0 ]
	[[ "$output" == *"Revoked($(addr_of 7))"* ]]
	run ct --key-file "$ANVIL_KEYS/key7" node readmit "$(addr_of 7)"
	[ "$status" -ne 0 ]
	[[ "$output" == *'NotAdmin('* ]]
	run ct node readmit "$(addr_of 7)"
	[ "$status" -eq 0 ]
	[[ "$output" == "$(addr_of 7) readmitted (transaction 0x"* ]]
	run ct --key-file "$ANVIL_KEYS/key7" node register --endpoint 127.0.0.8:7946 --swim-pubkey "$pk" --cpu 1 --mem 1G
	[ "$status" -eq 0 ]
	run ct --json node ls --pending
	[ "$(echo "$output" | jq -r .address)" = "$(addr_of 7)" ]
}
