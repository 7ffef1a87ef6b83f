#!/usr/bin/env bats
# swim_speed.bats: failure detection at the shipped timings is fast in small clusters (faster
# probing below SWIM_FULL_PERIOD_N members), and a stopped member's leave is seen at once.
load lib/common
load swim

teardown() { stop_started; }

# detect N FIRST LIMIT_MS: N members at default timings; SIGKILL the last; every other member
# must see it dead within LIMIT_MS. Prints the time.
detect() {
	local n=$1 first=$2 limit=$3 i others=()
	swim_setup "$n" "$first"
	for ((i = 1; i <= n; i++)); do swim_start_default $i; done
	wait_until 20 swim_converged "$n"
	for ((i = 1; i < n; i++)); do others+=("$i"); done
	local t0 t
	t0=$(now_ms)
	kill -KILL "$(pid_of swim$n)"
	wait_until 20 swim_all_see_dead "${ADDR[n]}" "${others[@]}"
	t=$(( $(now_ms) - t0 ))
	echo "# $n members, default timings: killed member dead at all $((n - 1)) others after $t ms (limit $limit ms)" >&3
	(( t <= limit ))
}

@test "default timings, 3 members: a SIGKILLed member is dead everywhere within 2.5 s" {
	detect 3 60 2500
}

@test "default timings, 5 members: a SIGKILLed member is dead everywhere within 3 s" {
	detect 5 70 3000
}

@test "default timings: SIGTERM is seen as left by every other member within 1 s" {
	swim_setup 3 80
	for i in 1 2 3; do swim_start_default $i; done
	wait_until 20 swim_converged 3
	t0=$(now_ms)
	kill -TERM "$(pid_of swim3)"
	wait_until 5 swim_all_see_dead "${ADDR[3]}" 1 2
	t=$(( $(now_ms) - t0 ))
	echo "# leave seen by both others after $t ms" >&3
	for i in 1 2; do swim_state_is $i "${ADDR[3]}" left; done
	(( t <= 1000 ))
}
