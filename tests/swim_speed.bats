#!/usr/bin/env bats
# swim_speed.bats: failure detection at the shipped timings is fast in small clusters (faster
# probing below SWIM_FULL_PERIOD_N members), and a stopped member's leave is seen at once.
load lib/common
load swim

teardown() { stop_started; }

epoch_ms() { local t=$EPOCHREALTIME; echo $(( ${t%.*} * 1000 + 10#${t#*.} / 1000 )); }

# dead_at I ADDR: when member I's event stream said ADDR died or left (time_ms), or fail.
dead_at() {
	local t
	t=$(grep -E '"member\.(dead|left)"' "$BATS_TEST_TMPDIR/sub$1.log" |
		jq -r --arg a "$2" 'select(.member.address == $a) | .time_ms' | head -1)
	[ -n "$t" ] && echo "$t"
}

# detect N FIRST LIMIT_MS [SIGNAL]: N members at default timings; kill the last; every other
# member's own event stream must say it is dead (or left) within LIMIT_MS of the kill (the
# events' time_ms, so that slow polling on a busy machine does not count).
detect() {
	local n=$1 first=$2 limit=$3 sig=${4:-KILL} i latest=0 t
	swim_setup "$n" "$first"
	for ((i = 1; i <= n; i++)); do swim_start_default $i; done
	wait_until 20 swim_converged "$n"
	for ((i = 1; i < n; i++)); do
		start_bg "sub$i" "$TBIN/ipc_tool" subscribe "$SW/r$i/swim.sock" 0 600000
		wait_until 10 grep -q snapshot "$BATS_TEST_TMPDIR/sub$i.log"
	done
	local t0; t0=$(epoch_ms)
	kill -"$sig" "$(pid_of swim$n)"
	for ((i = 1; i < n; i++)); do
		wait_until 20 dead_at $i "${ADDR[n]}"
		t=$(dead_at $i "${ADDR[n]}")
		(( t > latest )) && latest=$t
	done
	echo "# $n members, default timings, SIG$sig: dead or left at all $((n - 1)) others after $(( latest - t0 )) ms (limit $limit ms)" >&3
	(( latest - t0 <= limit ))
}

@test "default timings, 3 members: a SIGKILLed member is dead everywhere within 2.5 s" {
	detect 3 60 2500
}

@test "default timings, 5 members: a SIGKILLed member is dead everywhere within 3 s" {
	detect 5 70 3000
}

@test "default timings: SIGTERM is seen as left by every other member within 500 ms" {
	detect 3 80 500 TERM
	for i in 1 2; do swim_state_is $i "${ADDR[3]}" left; done
}
