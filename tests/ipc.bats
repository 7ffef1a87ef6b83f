#!/usr/bin/env bats
# ipc.bats: the NDJSON socket layer, end to end between real processes (ipc_tool serve).

load lib/common

setup() {
	RUN=$(mk_rundir)
	SOCK=$RUN/test.sock
	start_bg serve "$TBIN/ipc_tool" serve "$SOCK"
	wait_until 5 test -S "$SOCK"
}

teardown() { stop_started; }

tool() { "$TBIN/ipc_tool" "$@"; }

@test "socket is mode 0600 in a 0700 directory" {
	[ "$(stat -c %a "$SOCK")" = 600 ]
	[ "$(stat -c %a "$RUN")" = 700 ]
}

@test "request gets an answer echoing its id" {
	run tool request "$SOCK" '{"op":"ping","id":7}'
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .type)" = pong ]
	[ "$(echo "$output" | jq -r .id)" = 7 ]
}

@test "unknown op is answered with an error and the connection stays usable" {
	run tool request "$SOCK" '{"op":"frobnicate","id":"x"}'
	[ "$(echo "$output" | jq -r .type)" = error ]
	[[ "$(echo "$output" | jq -r .error)" == *frobnicate* ]]
	run tool request "$SOCK" '{"op":"ping"}'
	[ "$(echo "$output" | jq -r .type)" = pong ]
}

@test "half lines across reads are reassembled" {
	printf '{"op":"ping","id":1}\n{"op":"ping","id":2}\n{"op":"ping","id":3}\n' > "$BATS_TEST_TMPDIR/in"
	run tool raw "$SOCK" "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .id | tr '\n' ,)" = "1,2,3," ]
}

@test "garbage gets an error line and the connection is closed; the server lives" {
	printf 'this is not json\n{"op":"ping","id":9}\n' > "$BATS_TEST_TMPDIR/in"
	run tool raw "$SOCK" "$BATS_TEST_TMPDIR/in"
	[ "$(echo "$output" | head -n1 | jq -r .type)" = error ]
	[[ "$(echo "$output" | head -n1 | jq -r .error)" == *"invalid JSON"* ]]
	[ "$(echo "$output" | wc -l)" -eq 1 ]   # nothing answered after the bad line
	printf '[1,2,3]\n' > "$BATS_TEST_TMPDIR/in"
	run tool raw "$SOCK" "$BATS_TEST_TMPDIR/in"
	[[ "$(echo "$output" | jq -r .error)" == *"JSON object"* ]]
	printf '{"a":1,"a":2}\n' > "$BATS_TEST_TMPDIR/in"
	run tool raw "$SOCK" "$BATS_TEST_TMPDIR/in"
	[ "$(echo "$output" | jq -r .type)" = error ]
	run tool request "$SOCK" '{"op":"ping"}'
	[ "$(echo "$output" | jq -r .type)" = pong ]
}

@test "a line over 1 MiB gets an error and the connection is closed, without a crash" {
	head -c 1100000 /dev/zero | tr '\0' 'a' > "$BATS_TEST_TMPDIR/in"
	run tool raw "$SOCK" "$BATS_TEST_TMPDIR/in"
	[[ "$(echo "$output" | jq -r .error)" == *"longer than 1048576"* ]]
	kill -0 "$(pid_of serve)"
	run tool request "$SOCK" '{"op":"ping"}'
	[ "$(echo "$output" | jq -r .type)" = pong ]
}

@test "a line of exactly 1 MiB minus the newline is accepted" {
	pad=$(head -c 1048000 /dev/zero | tr '\0' 'a')
	printf '{"op":"ping","id":5,"pad":"%s"}\n' "$pad" > "$BATS_TEST_TMPDIR/in"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/in")" -le 1048577 ]
	run tool raw "$SOCK" "$BATS_TEST_TMPDIR/in"
	[ "$(echo "$output" | jq -r .id)" = 5 ]
}

@test "subscribers get a snapshot then every event in seq order" {
	tool subscribe "$SOCK" 6 5000 > "$BATS_TEST_TMPDIR/sub" &
	local sub=$!
	wait_until 5 bash -c "[ \"\$($TBIN/ipc_tool request $SOCK '{\"op\":\"ping\"}' | jq .conns)\" -ge 2 ]"
	tool request "$SOCK" '{"op":"publish","n":5,"size":10}'
	wait "$sub"
	[ "$(head -n1 "$BATS_TEST_TMPDIR/sub" | jq -r .type)" = snapshot ]
	[ "$(tail -n +2 "$BATS_TEST_TMPDIR/sub" | jq -r .seq | tr '\n' ,)" = "1,2,3,4,5," ]
}

@test "a subscriber that does not read is dropped; others keep getting events" {
	start_bg hold "$TBIN/ipc_tool" hold "$SOCK" 60
	wait_until 5 grep -q holding "$BATS_TEST_TMPDIR/hold.log"
	# 20 MB of events: more than the 8 MiB output queue plus socket buffers
	for _ in 1 2 3 4; do tool request "$SOCK" '{"op":"publish","n":500,"size":10000}' >/dev/null; done
	run tool request "$SOCK" '{"op":"ping"}'
	[ "$(echo "$output" | jq .conns)" -eq 1 ]   # only this request's connection is left
	run tool subscribe "$SOCK" 1
	[ "$(echo "$output" | jq -r .type)" = snapshot ]
	[ "$(echo "$output" | jq -r .seq)" -eq 2000 ]
}

@test "1000 concurrent subscribers all get their snapshot" {
	run tool many "$SOCK" 1000
	echo "$output"
	[ "$status" -eq 0 ]
	run tool request "$SOCK" '{"op":"ping"}'
	[ "$(echo "$output" | jq -r .type)" = pong ]
}

@test "a second server on a live socket is refused; a stale socket file is replaced" {
	run "$TBIN/ipc_tool" serve "$SOCK"
	[ "$status" -ne 0 ]
	[[ "$output" == *"already listening"* ]]
	kill -KILL "$(pid_of serve)"
	wait_until 5 bash -c "! kill -0 $(pid_of serve) 2>/dev/null"
	[ -S "$SOCK" ]
	start_bg serve2 "$TBIN/ipc_tool" serve "$SOCK"
	wait_until 5 "$TBIN/ipc_tool" request "$SOCK" '{"op":"ping"}'
}
