#!/usr/bin/env bats
# swim_scale.bats: 50 members on one machine converge, and each member's packet rate stays
# within 1.5x of a 10-member cluster's (SWIM's load per member does not grow with n).
load lib/common
load swim

teardown() { stop_started; }

# mean packets (in + out) per member per second over SECONDS, members 1..N.
rate() {
	local n=$1 secs=$2 i a=0 b=0
	for ((i = 1; i <= n; i++)); do
		a=$(( a + $(swim_req $i '{"op":"stats"}' | jq '.packets_in + .packets_out') ))
	done
	local t0; t0=$(now_ms)
	sleep "$secs"
	for ((i = 1; i <= n; i++)); do
		b=$(( b + $(swim_req $i '{"op":"stats"}' | jq '.packets_in + .packets_out') ))
	done
	local dt=$(( $(now_ms) - t0 ))
	echo $(( (b - a) * 1000 * 100 / dt / n ))   # hundredths of a packet per second
}

@test "50 members converge; per-member packet rate within 1.5x of 10 members" {
	swim_setup 10 100
	for i in $(seq 1 10); do swim_start $i; done
	wait_until 20 swim_converged 10
	sleep 1
	r10=$(rate 10 8)
	stop_started || true
	swim_setup 50 150
	t0=$(now_ms)
	for i in $(seq 1 50); do swim_start $i; done
	wait_until 150 swim_converged 50
	echo "# 50 members converged in $(( $(now_ms) - t0 )) ms" >&3
	sleep 1
	r50=$(rate 50 8)
	echo "# packets per member per second: 10 members $((r10 / 100)).$((r10 % 100)), 50 members $((r50 / 100)).$((r50 % 100))" >&3
	(( r50 * 2 <= r10 * 3 ))
}
