#!/usr/bin/env bats
# sched_chain.bats: canteen-sched fed by the real daemons: anvil + canteen-chainwatch for the
# desired state, canteen-swim admitted from the chain for the membership.
load lib/common
load lib/anvil
load swim
load sched

setup_file() { start_anvil; }
teardown_file() { stop_anvil; }
teardown() { stop_started; }

ct() { canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$C" "$@"; }
placed_is() { answer_is "$1/sched.sock" '{"op":"placement"}' .placed "$2"; }

@test "two schedulers on a real chain and real SWIM agree through a deploy, a scale and a death" {
	SW=$BATS_TEST_TMPDIR/sw
	mkdir -p "$SW"
	SWIM_PORT=$(free_port)
	C=$(canteen -c /dev/null --rpc "$ANVIL_URL" --key-file "$ANVIL_KEYS/key0" contract deploy)
	for i in 1 2 3; do
		IP[i]=127.0.0.$((110 + i))
		ADDR[i]=$(addr_of $i)
		pk=$(canteen node keygen --swim-key "$SW/k$i")
		ct --key-file "$ANVIL_KEYS/key$i" node register --endpoint "${IP[i]}:$SWIM_PORT" \
			--swim-pubkey "$pk" --cpu 2 --mem 4G > /dev/null
		ct --key-file "$ANVIL_KEYS/key0" node approve "${ADDR[i]}" > /dev/null
		mk_rundir "$SW/r$i" > /dev/null
	done
	ct --key-file "$ANVIL_KEYS/key0" service deploy web --image canteen-test:1 --replicas 3 \
		--cpu 250m --mem 64M --port 8080:80 > /dev/null
	ct --key-file "$ANVIL_KEYS/key0" service deploy worker --image canteen-test:1 --replicas 4 \
		--cpu 500m --mem 128M --priority 2 -- sh -c 'sleep 1000' > /dev/null
	CW=$(mk_rundir "$SW/cw")
	start_bg cw canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract "$C" -d "$CW" \
		--poll 100ms --confirmations 0
	for i in 1 2 3; do
		start_bg "swim$i" canteen-swim -d "$SW/r$i" --bind "${IP[i]}:$SWIM_PORT" \
			--node "${ADDR[i]}" --key-file "$SW/k$i" --chain-sock "$CW/chain.sock" "${SWIM_FAST[@]}"
	done
	wait_until 20 swim_converged 3
	for i in 1 2; do
		feed_start "dockerd$i" "$SW/r$i/dockerd.sock"
		sched_start "sched$i" "$SW/r$i" "${ADDR[i]}" --chain-sock "$CW/chain.sock"
	done
	for i in 1 2; do wait_until 20 placed_is "$SW/r$i" 7; done
	wait_until 10 same_hash "$SW/r1" "$SW/r2"
	for i in 1 2; do wait_until 10 desired_matches "$SW/r$i" "$SW/r$i/dockerd.sock" "${ADDR[i]}"; done
	run feed "$SW/r1/dockerd.sock" '{"op":"last_desired"}'
	[[ "$output" == *'"image":"canteen-test:1"'* ]]
	h0=$(hash_of "$SW/r1")

	ct --key-file "$ANVIL_KEYS/key0" service scale worker 6 > /dev/null
	for i in 1 2; do wait_until 20 placed_is "$SW/r$i" 9; done
	wait_until 10 same_hash "$SW/r1" "$SW/r2"
	h1=$(hash_of "$SW/r1")
	[ "$h1" != "$h0" ]

	kill -KILL "$(pid_of swim3)"
	for i in 1 2; do wait_until 30 on_node_is "$SW/r$i" "${ADDR[3]}" 0; done
	wait_until 10 same_hash "$SW/r1" "$SW/r2"
	echo "# $h0 -> $h1 -> $(hash_of "$SW/r1") on both schedulers" >&3
}
