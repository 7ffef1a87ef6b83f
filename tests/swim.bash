# swim.bash: helpers for the canteen-swim bats files: keys, a peers file, members on 127.0.0.x.
# SW is the test's directory; member i has key $SW/k$i, address ${ADDR[i]}, rundir $SW/r$i.

# 5x faster than the defaults (1s, 500ms, 200ms, 30s).
SWIM_FAST=(--probe-interval 200ms --probe-timeout 100ms --gossip-interval 40ms --pushpull-interval 6s)
SWIM_NS=""

# swim_setup N FIRST_OCTET: N members at 127.0.0.FIRST.., one free port.
swim_setup() {
	local n=$1 first=${2:-20} i
	SW=$BATS_TEST_TMPDIR/sw$first
	mkdir -p "$SW"
	SWIM_PORT=$(free_port)
	SWIM_N=$n
	: > "$SW/peers"
	ADDR=() IP=()
	for ((i = 1; i <= n; i++)); do
		local pk a
		pk=$("$BIN/canteen" node keygen --swim-key "$SW/k$i")
		a=0x$(head -c20 /dev/urandom | od -An -tx1 | tr -d ' \n')
		ADDR[i]=$a
		IP[i]=127.0.0.$((first + i - 1))
		printf '{"address":"%s","endpoint":"%s:%s","pubkey":"%s"}\n' "$a" "${IP[i]}" \
			"$SWIM_PORT" "$pk" >> "$SW/peers"
		mk_rundir "$SW/r$i" > /dev/null
	done
}

# swim_netns: run members in a private network namespace (lo up, 127.0.0.x added).
swim_netns() {
	SWIM_NS=canteen-swim-$$-${BATS_TEST_NUMBER}
	ip netns add "$SWIM_NS"
	echo "$SWIM_NS" > "$BATS_TEST_TMPDIR/.netns"
	ip netns exec "$SWIM_NS" ip link set lo up
	local i
	for ((i = 1; i <= SWIM_N; i++)); do
		ip netns exec "$SWIM_NS" ip addr add "${IP[i]}/32" dev lo 2>/dev/null || true
	done
}

swim_netns_cleanup() {
	local f=$BATS_TEST_TMPDIR/.netns
	[ -f "$f" ] && ip netns del "$(cat "$f")" 2>/dev/null
	rm -f "$f"
	return 0
}

# nsexec CMD...: run CMD in the test's namespace (if any).
nsexec() {
	if [ -n "$SWIM_NS" ]; then ip netns exec "$SWIM_NS" "$@"; else "$@"; fi
}

# swim_start I [FLAGS...]: start member I with fast timings.
swim_start() {
	local i=$1; shift
	local pre=()
	[ -n "$SWIM_NS" ] && pre=(ip netns exec "$SWIM_NS")
	start_bg "swim$i" "${pre[@]}" "$BIN/canteen-swim" -d "$SW/r$i" --bind "${IP[i]}:$SWIM_PORT" \
		--node "${ADDR[i]}" --key-file "$SW/k$i" --peers "$SW/peers" "${SWIM_FAST[@]}" "$@"
}

# swim_start_default I [FLAGS...]: start member I with the shipped timings.
swim_start_default() {
	local i=$1; shift
	local pre=()
	[ -n "$SWIM_NS" ] && pre=(ip netns exec "$SWIM_NS")
	start_bg "swim$i" "${pre[@]}" "$BIN/canteen-swim" -d "$SW/r$i" --bind "${IP[i]}:$SWIM_PORT" \
		--node "${ADDR[i]}" --key-file "$SW/k$i" --peers "$SW/peers" "$@"
}

# swim_all_see_dead ADDR I...: each member I sees ADDR dead (or left).
swim_all_see_dead() {
	local a=$1 i s; shift
	for i in "$@"; do
		s=$(swim_state "$i" "$a")
		[ "$s" = dead ] || [ "$s" = left ] || return 1
	done
}

swim_req() { "$TBIN/ipc_tool" request "$SW/r$1/swim.sock" "$2"; }

# swim_count_state I STATE: how many members I sees in STATE.
swim_count_state() {
	swim_req "$1" '{"op":"members"}' | jq --arg s "$2" '[.members[] | select(.state == $s)] | length'
}

# swim_sees I STATE N: member I sees exactly N members in STATE.
swim_sees() { [ "$(swim_count_state "$1" "$2")" = "$3" ]; }

# swim_state I ADDR: I's view of ADDR's state ("none" if it has not heard of it).
swim_state() {
	swim_req "$1" '{"op":"members"}' | jq -r --arg a "$2" \
		'[.members[] | select(.address == $a) | .state] | if length == 0 then "none" else .[0] end'
}
swim_state_is() { [ "$(swim_state "$1" "$2")" = "$3" ]; }

swim_inc() {
	swim_req "$1" '{"op":"members"}' | jq -r --arg a "$2" '.members[] | select(.address == $a) | .incarnation'
}

# swim_converged N: every started member 1..N sees N alive.
swim_converged() {
	local i
	for ((i = 1; i <= $1; i++)); do swim_sees "$i" alive "$1" || return 1; done
}

swim_stat() { swim_req "$1" '{"op":"stats"}' | jq -r "$2"; }
