#!/usr/bin/env bats
# swim_chain.bats: canteen-swim admitting members from a real chain (anvil + canteen-chainwatch):
# exactly the active nodes are members; a revoked node is cut off by everyone, and comes
# back when readmitted, registered and approved again.
load lib/common
load lib/anvil
load swim

setup_file() { start_anvil; }
teardown_file() { stop_anvil; }
teardown() { stop_started; }

ct() { canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$C" "$@"; }

# none_heard I ADDR: member I does not list ADDR at all.
none_heard() { [ "$(swim_state "$1" "$2")" = none ]; }
pkts_in() { swim_stat "$1" .packets_in; }

@test "chain admission: active nodes converge; a revoked node is cut off; readmitted, registered and approved again, it is back" {
	SW=$BATS_TEST_TMPDIR/sw
	mkdir -p "$SW"
	SWIM_PORT=$(free_port)
	C=$(canteen -c /dev/null --rpc "$ANVIL_URL" --key-file "$ANVIL_KEYS/key0" contract deploy)
	for i in 1 2 3; do
		IP[i]=127.0.0.$((90 + i))
		ADDR[i]=$(addr_of $i)
		pk=$(canteen node keygen --swim-key "$SW/k$i")
		ct --key-file "$ANVIL_KEYS/key$i" node register --endpoint "${IP[i]}:$SWIM_PORT" \
			--swim-pubkey "$pk" --cpu 1 --mem 1G > /dev/null
		mk_rundir "$SW/r$i" > /dev/null
	done
	for i in 1 2; do ct --key-file "$ANVIL_KEYS/key0" node approve "${ADDR[i]}" > /dev/null; done
	CW=$(mk_rundir "$SW/cw")
	start_bg cw canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract "$C" -d "$CW" \
		--poll 100ms --confirmations 0
	for i in 1 2 3; do
		start_bg "swim$i" canteen-swim -d "$SW/r$i" --bind "${IP[i]}:$SWIM_PORT" \
			--node "${ADDR[i]}" --key-file "$SW/k$i" --chain-sock "$CW/chain.sock" "${SWIM_FAST[@]}"
	done
	# Node 3 is registered but not approved: not a member anywhere, and it has none.
	wait_until 20 swim_converged 2
	none_heard 1 "${ADDR[3]}"
	wait_until 10 grep -q "not (or no longer) admitted" "$BATS_TEST_TMPDIR/swim3.log"
	[ "$(swim_req 3 '{"op":"members"}' | jq '.members | length')" = 0 ]

	ct --key-file "$ANVIL_KEYS/key0" node approve "${ADDR[3]}" > /dev/null
	wait_until 20 swim_converged 3

	t0=$(now_ms)
	ct --key-file "$ANVIL_KEYS/key0" node revoke "${ADDR[3]}" > /dev/null
	for i in 1 2; do wait_until 20 none_heard $i "${ADDR[3]}"; done
	echo "# revoked node forgotten by both others $(( $(now_ms) - t0 )) ms after the transaction" >&3
	grep -q "no longer admitted" "$BATS_TEST_TMPDIR/swim1.log"
	wait_until 10 grep -q "no longer) admitted" "$BATS_TEST_TMPDIR/swim3.log"
	# Nobody talks to it any more, and it talks to nobody.
	sleep 1
	a3=$(pkts_in 3); a1=$(swim_stat 1 .packets_out)
	sleep 2
	[ "$(pkts_in 3)" = "$a3" ]
	[ "$(swim_req 3 '{"op":"members"}' | jq '.members | length')" = 0 ]
	swim_converged 2
	# It was left, not dead: the scheduler sees a planned removal.
	[ "$(swim_stat 1 .events.dead)" = 0 ]

	# Revoking removed the record and barred the address: it registers again (same key
	# pair) only once an admin readmits it, and is approved.
	! ct --key-file "$ANVIL_KEYS/key3" node register --endpoint "${IP[3]}:$SWIM_PORT" \
		--swim-pubkey "$("$TBIN/swim_tool" pubkey "$SW/k3")" --cpu 1 --mem 1G 2> /dev/null
	ct --key-file "$ANVIL_KEYS/key0" node readmit "${ADDR[3]}" > /dev/null
	ct --key-file "$ANVIL_KEYS/key3" node register --endpoint "${IP[3]}:$SWIM_PORT" \
		--swim-pubkey "$("$TBIN/swim_tool" pubkey "$SW/k3")" --cpu 1 --mem 1G > /dev/null
	ct --key-file "$ANVIL_KEYS/key0" node approve "${ADDR[3]}" > /dev/null
	wait_until 20 swim_converged 3
}
