#!/usr/bin/env bats
# sec_local.bats: local attacks on the daemons' sockets: repeated and failed subscribes,
# descriptor exhaustion, a run directory or socket that belongs to another user.
load lib/common
load lib/anvil
load swim

setup() { RUN=$(mk_rundir); }
teardown() {
	stop_started
	[ -z "${SEC_DIR:-}" ] || rm -rf "$SEC_DIR"
}

tool() { "$TBIN/ipc_tool" "$@"; }
# no_san_report NAME: NAME's log has no sanitizer report (printed when it has one).
no_san_report() {
	! grep -q 'Sanitizer' "$BATS_TEST_TMPDIR/$1.log" && return 0
	grep -A12 'Sanitizer' "$BATS_TEST_TMPDIR/$1.log" >&2
	return 1
}

# cw_waiting: chainwatch on $RUN/chain.sock with no chain yet (its RPC port has no node).
cw_waiting() {
	CW_PORT=$(free_port)
	start_bg cw canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "http://127.0.0.1:$CW_PORT" \
		--contract "$CW_CONTRACT" -d "$RUN" --poll 100ms --confirmations 0
	wait_until 20 grep -q 'no state yet' "$BATS_TEST_TMPDIR/cw.log"
}
CW_CONTRACT=0x5fbdb2315678afecb367f032d93f642f64180aa3 # key 0's first deployment

# chain_appears: anvil on chainwatch's port with the contract; waits for the first state.
chain_appears() {
	start_bg anvil2 anvil --host 127.0.0.1 --port "$CW_PORT"
	ANVIL_URL=http://127.0.0.1:$CW_PORT
	wait_until 20 rpc eth_chainId '[]'
	[ "$(deploy_canteen 0)" = "$CW_CONTRACT" ]
	wait_until 20 bash -c "$TBIN/ipc_tool request $RUN/chain.sock '{\"op\":\"state\"}' | jqe '.type == \"state\"'"
}

# cw_still_serves: no sanitizer report, alive, and a new subscriber gets its snapshot.
cw_still_serves() {
	no_san_report cw
	kill -0 "$(pid_of cw)"
	run tool subscribe "$RUN/chain.sock" 1 5000
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | head -1 | jq -r .type)" = snapshot.begin ]
}

@test "chain.sock: subscribe twice before the first snapshot, then hang up: refused, no use after free" {
	cw_waiting
	printf '{"op":"subscribe"}\n{"op":"subscribe","id":2}\n' > "$BATS_TEST_TMPDIR/in"
	run tool raw "$RUN/chain.sock" "$BATS_TEST_TMPDIR/in"
	[ "$(echo "$output" | jq -r .error)" = "already subscribed" ]
	[ "$(echo "$output" | jq -r .id)" = 2 ]
	chain_appears
	cw_still_serves
}

@test "chain.sock: a waiting subscriber that cannot take the first snapshot is dropped once" {
	cw_waiting
	start_bg deaf "$TBIN/ipc_tool" deaf "$RUN/chain.sock" 120
	wait_until 5 grep -q deaf "$BATS_TEST_TMPDIR/deaf.log"
	# answered after the deaf subscribe was read (it was sent before this connection)
	sock_request "$RUN/chain.sock" '{"op":"stats"}' | jqe '.ready == false'
	chain_appears
	cw_still_serves
}

@test "a repeated subscribe gets an error; the connection keeps its one subscription" {
	start_bg serve "$TBIN/ipc_tool" serve "$RUN/t.sock"
	wait_until 5 test -S "$RUN/t.sock"
	printf '{"op":"subscribe"}\n{"op":"subscribe","id":"again"}\n{"op":"ping","id":3}\n' > "$BATS_TEST_TMPDIR/in"
	run tool raw "$RUN/t.sock" "$BATS_TEST_TMPDIR/in"
	[ "$(echo "$output" | sed -n 1p | jq -r .type)" = snapshot ]
	[ "$(echo "$output" | sed -n 2p | jq -r .error)" = "already subscribed" ]
	[ "$(echo "$output" | sed -n 2p | jq -r .id)" = again ]
	[ "$(echo "$output" | sed -n 3p | jq -r .type)" = pong ]
	[ "$(echo "$output" | wc -l)" -eq 3 ]
}

# cpu_ticks PID: the user + system CPU time PID has used, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

@test "canteen-swim under ulimit -n 32 with 60 clients: no spinning, the extra client is told why, served again after" {
	swim_setup 1 200
	start_bg swim1 bash -c 'ulimit -n 32 && exec "$@"' _ "$BIN/canteen-swim" -d "$SW/r1" \
		--bind "${IP[1]}:$SWIM_PORT" --node "${ADDR[1]}" --key-file "$SW/k1" --peers "$SW/peers" \
		"${SWIM_FAST[@]}"
	wait_until 10 swim_req 1 '{"op":"stats"}'
	local pid t0 t1
	pid=$(pid_of swim1)
	[ "$(awk '/open files/ { print $4 }' "/proc/$pid/limits")" = 32 ]
	start_bg flood "$TBIN/ipc_tool" flood "$SW/r1/swim.sock" 60 6
	wait_until 10 grep -q 'opened 60 of 60' "$BATS_TEST_TMPDIR/flood.log"
	t0=$(cpu_ticks "$pid")
	# a client while every descriptor is taken: one error line, at once
	run swim_req 1 '{"op":"stats"}'
	[ "$status" -eq 0 ]
	[[ "$(echo "$output" | jq -r .error)" == *"out of file descriptors"* ]]
	# the flood holds its connections 6 s: the daemon must sit idle meanwhile
	wait_until 20 bash -c "! kill -0 $(pid_of flood) 2>/dev/null"
	t1=$(cpu_ticks "$pid")
	echo "# canteen-swim used $((t1 - t0)) ticks while 60 clients held its descriptors" >&3
	(( t1 - t0 < 100 ))
	# the connections are gone: a new client is answered
	wait_until 10 bash -c "$TBIN/ipc_tool request $SW/r1/swim.sock '{\"op\":\"stats\"}' | jqe '.type == \"stats\"'"
	kill -0 "$pid"
}

@test "over IPC_MAX_CONNS (1024) connections a new client gets one error line; served again after" {
	start_bg serve "$TBIN/ipc_tool" serve "$RUN/t.sock"
	wait_until 5 test -S "$RUN/t.sock"
	start_bg flood "$TBIN/ipc_tool" flood "$RUN/t.sock" 1024 60
	wait_until 20 grep -q 'opened 1024 of 1024' "$BATS_TEST_TMPDIR/flood.log"
	# connect() returns once a connection is queued: the server may still be accepting
	# the flood, and a client may meet a full backlog meanwhile; poll for the answer.
	wait_until 20 bash -c "$TBIN/ipc_tool request $RUN/t.sock '{\"op\":\"ping\"}' | jqe '.error == \"too many connections\"'"
	kill "$(pid_of flood)"
	wait_until 10 bash -c "$TBIN/ipc_tool request $RUN/t.sock '{\"op\":\"ping\"}' | jqe '.conns == 1'"
}

# swim1_cmd DIR: the command line of member 1 of swim_setup with run directory DIR.
swim1_cmd() {
	echo "$BIN/canteen-swim" -d "$1" --bind "${IP[1]}:$SWIM_PORT" --node "${ADDR[1]}" \
		--key-file "$SW/k1" --peers "$SW/peers"
}

@test "a run directory another user owns, or group or others may write, is refused (exit 111)" {
	swim_setup 1 201
	SEC_DIR=$(mktemp -d /tmp/canteen-sec.XXXXXX)
	install -d -o nobody -g nogroup -m 0777 "$SEC_DIR/theirs"
	run timeout 10 $(swim1_cmd "$SEC_DIR/theirs")
	[ "$status" -eq 111 ]
	[[ "$output" == *"run directory $SEC_DIR/theirs is owned by uid 65534, not by this user (uid 0)"* ]]
	[ ! -e "$SEC_DIR/theirs/swim.sock" ]
	install -d -m 0777 "$SEC_DIR/open"
	run timeout 10 $(swim1_cmd "$SEC_DIR/open")
	[ "$status" -eq 111 ]
	[[ "$output" == *"run directory $SEC_DIR/open is writable by group or others (mode 0777)"* ]]
	[ ! -e "$SEC_DIR/open/swim.sock" ]
	# ours and only enterable by others: closed to them, and used
	install -d -m 0755 "$SEC_DIR/ours"
	start_bg swim1 $(swim1_cmd "$SEC_DIR/ours")
	wait_until 10 test -S "$SEC_DIR/ours/swim.sock"
	[ "$(stat -c %a "$SEC_DIR/ours")" = 700 ]
}

@test "a socket served by another user is refused by the CLI, ipc clients and a daemon's client" {
	# The other user made its own directory in a world-writable place, as in /tmp.
	SEC_DIR=$(mktemp -d /tmp/canteen-sec.XXXXXX)
	chmod 1777 "$SEC_DIR"
	setpriv --reuid=nobody --regid=nogroup --clear-groups mkdir -m 0700 "$SEC_DIR/run"
	start_bg fake setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$TBIN/ipc_tool" serve "$SEC_DIR/run/swim.sock"
	wait_until 5 test -S "$SEC_DIR/run/swim.sock"
	[ "$(stat -c %U "$SEC_DIR/run/swim.sock")" = nobody ]
	run canteen -c /dev/null --rundir "$SEC_DIR/run" members
	[ "$status" -eq 1 ]
	[[ "$output" == *"swim.sock is served by uid 65534, not by root or this user (uid 0): refusing it"* ]]
	# The same directory handed over by root (its parent only root may write) is the
	# canteen user's: root's clients talk to it.
	chmod 0711 "$SEC_DIR"
	run canteen -c /dev/null --rundir "$SEC_DIR/run" members
	[[ "$output" != *"refusing it"* ]]
	chmod 1777 "$SEC_DIR"
	run tool request "$SEC_DIR/run/swim.sock" '{"op":"ping"}'
	[ "$status" -eq 1 ]
	[[ "$output" == *"refusing it"* ]]
	# canteen-sched: its chain.sock (root's) is taken, the other user's swim.sock is not
	start_bg chain "$TBIN/ipc_tool" serve "$RUN/chain.sock"
	wait_until 5 test -S "$RUN/chain.sock"
	mk_rundir "$RUN/sched" > /dev/null
	start_bg sched "$BIN/canteen-sched" -d "$RUN/sched" --node 0x1111111111111111111111111111111111111111 \
		--chain-sock "$RUN/chain.sock" --swim-sock "$SEC_DIR/run/swim.sock"
	wait_until 10 bash -c "$TBIN/ipc_tool request $RUN/sched/sched.sock '{\"op\":\"status\"}' | jqe '.chain'"
	sock_request "$RUN/sched/sched.sock" '{"op":"status"}' | jqe '.swim == false'
}
