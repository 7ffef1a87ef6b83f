#!/usr/bin/env bats
# chainwatch_cache.bats: the state canteen-chainwatch saves (RUNDIR/chain.state): a chainwatch
# restarted while the RPC node is frozen serves the last state it read (marked cached), then
# the chain's own once it answers; a saved state that is not its own, not ours or malformed is
# not used. The chaos soak saw a node restarted during a chain outage start nothing.
load lib/common
load lib/anvil

setup_file() {
	start_anvil
	C=$(canteen -c /dev/null --rpc "$ANVIL_URL" --key-file "$ANVIL_KEYS/key0" contract deploy)
	echo "$C" > "$BATS_FILE_TMPDIR/contract"
	canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$C" --key-file "$ANVIL_KEYS/key1" \
		node register --endpoint 127.0.0.2:7946 --swim-pubkey "$(printf '%064d' 1)" --cpu 2 --mem 1G > /dev/null
	ct node approve "$(addr_of 1)" > /dev/null
	ct service deploy web --image busybox:1 --replicas 2 -- sleep 1000 > /dev/null
}
teardown_file() { stop_anvil; }

setup() {
	C=$(cat "$BATS_FILE_TMPDIR/contract")
	RUN=$(mk_rundir)
}
teardown() {
	stop_started
	kill -CONT "$(cat "$BATS_FILE_TMPDIR/anvil/anvil.pid")" 2>/dev/null || true
}

ct() { canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$(cat "$BATS_FILE_TMPDIR/contract")" --key-file "$ANVIL_KEYS/key0" "$@"; }

# cw NAME [FLAGS...]: chainwatch on $RUN, logging to NAME.log.
cw() {
	local name=$1; shift
	echo "chain_id = 31337" > "$BATS_TEST_TMPDIR/cw.conf"
	start_bg "$name" canteen-chainwatch -c "$BATS_TEST_TMPDIR/cw.conf" --rpc "$ANVIL_URL" --contract "$C" \
		-d "$RUN" --poll 100ms --rpc-timeout 500ms --confirmations 0 "$@"
}
state() { sock_request "$RUN/chain.sock" '{"op":"state"}'; }
state_has() { state | jq -en "input | ($1)" > /dev/null 2>&1; } # no answer is not a match
saved_has() { [ -f "$RUN/chain.state" ] && jq -en "input | ($1)" "$RUN/chain.state" > /dev/null 2>&1; }
freeze() { kill -STOP "$(cat "$BATS_FILE_TMPDIR/anvil/anvil.pid")"; }
thaw() { kill -CONT "$(cat "$BATS_FILE_TMPDIR/anvil/anvil.pid")"; }
log_has() { grep -q "$2" "$BATS_TEST_TMPDIR/$1.log"; }

# A state saved by a chainwatch that read the chain (the service web, one approved node).
saved_state() {
	cw cw1
	wait_until 20 saved_has '.services | map(.name) == ["web"]'
	kill -KILL "$(pid_of cw1)"
	wait_until 5 bash -c "! kill -0 $(pid_of cw1) 2>/dev/null"
}

@test "chain frozen, chainwatch restarted: it serves the saved state (cached), then the chain's" {
	saved_state
	[ "$(stat -c %a "$RUN/chain.state")" = 600 ]
	saved_has ".contract == \"$C\" and .chain_id == 31337 and (.nodes | length) == 1"
	freeze
	cw cw2
	# Before the saved state, a chainwatch restarted now had "no state yet" until the chain
	# answered: a node rebooted during an outage started nothing.
	wait_until 10 state_has '.cached == true and .rpc_up == false and (.services | map(.name)) == ["web"]
		and (.nodes | length) == 1'
	run "$TBIN/ipc_tool" subscribe "$RUN/chain.sock" 4 5000
	[ "$status" -eq 0 ]
	echo "$output" | head -1 | jqe '.type == "snapshot.begin" and .cached == true' > /dev/null
	[ "$(echo "$output" | jq -r .type | tr '\n' ' ')" = "snapshot.begin node service snapshot.end " ]
	wait_until 10 log_has cw2 "serving the state saved at block"
	thaw
	ct service deploy api --image busybox:1 -- sleep 1000 > /dev/null
	wait_until 20 state_has '(.cached // false) == false and (.services | map(.name) | sort) == ["api", "web"]'
	# and what it reads now is saved in turn
	wait_until 10 saved_has '.services | map(.name) | sort == ["api", "web"]'
	ct service rm api > /dev/null
	wait_until 10 saved_has '.services | map(.name) == ["web"]'
}

@test "a saved state of another contract or chain, malformed, or not ours is not used" {
	saved_state
	cp "$RUN/chain.state" "$BATS_TEST_TMPDIR/good"
	freeze
	try() { # NAME WHY: chainwatch on the chain.state in place: no state, WHY logged
		cw "$1"
		wait_until 10 log_has "$1" "$2"
		run state
		[[ "$output" == *"no state yet"* ]]
		kill -TERM "$(pid_of "$1")"
		wait_until 5 bash -c "! kill -0 $(pid_of "$1") 2>/dev/null"
	}
	install -m 600 /dev/null "$RUN/chain.state"
	jq -c '.contract = "0x00000000000000000000000000000000000000aa"' "$BATS_TEST_TMPDIR/good" > "$RUN/chain.state"
	try other "not of this one"
	jq -c '.chain_id = 1' "$BATS_TEST_TMPDIR/good" > "$RUN/chain.state"
	try chain "not of this one"
	head -c 100 "$BATS_TEST_TMPDIR/good" > "$RUN/chain.state"
	try cut "not JSON"
	jq -c '.services[0].replicas = -1' "$BATS_TEST_TMPDIR/good" > "$RUN/chain.state"
	try bad "service 0"
	jq -c '.services += [.services[0]]' "$BATS_TEST_TMPDIR/good" > "$RUN/chain.state"
	try twice "appears twice"
	cp "$BATS_TEST_TMPDIR/good" "$RUN/chain.state"
	chmod 0622 "$RUN/chain.state"
	try writable "written by others"
	rm "$RUN/chain.state"
	ln -s "$BATS_TEST_TMPDIR/good" "$RUN/chain.state"
	try link "symbolic link"
	rm "$RUN/chain.state"
	# --state-file none: nothing is read or written
	cp "$BATS_TEST_TMPDIR/good" "$RUN/chain.state"
	cw none --state-file none
	wait_until 10 log_has none "following"
	run state
	[[ "$output" == *"no state yet"* ]]
	thaw
	wait_until 20 state_has '(.services | map(.name)) == ["web"]'
	cmp "$RUN/chain.state" "$BATS_TEST_TMPDIR/good"
}
