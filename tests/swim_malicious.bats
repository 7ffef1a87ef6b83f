#!/usr/bin/env bats
# swim_malicious.bats: one admitted member plays foul against real canteen-swim members:
# wrapped incarnations, DEAD and LEFT about others, replays after a restart, push-pull floods.
load lib/common
load swim

teardown() { stop_started; }

# The last member is the evil one: swim_tool holds its key and endpoint; no daemon runs it.
evil() {
	local e=$SWIM_N
	"$TBIN/swim_tool" evil "$SW/k$e" "${ADDR[e]}" "$SW/peers" "${IP[e]}:$SWIM_PORT" "$@"
}

# all_alive N ADDR...: honest members 1..N each see every ADDR alive.
all_alive() {
	local n=$1 i a; shift
	for ((i = 1; i <= n; i++)); do
		for a in "$@"; do swim_state_is "$i" "$a" alive || return 1; done
	done
}

# hold_alive SECS N ADDR...: all_alive holds at every check for SECS seconds.
hold_alive() {
	local secs=$1; shift
	local end=$(( $(now_ms) + secs * 1000 ))
	while (( $(now_ms) < end )); do
		all_alive "$@" || { echo "views split: $(swim_req 1 '{"op":"members"}')" >&2; return 1; }
		sleep 0.5
	done
}

inc_above() { [ "$(swim_inc "$1" "$2")" -gt "$3" ]; }

@test "an accusation at incarnation 2^32-1 does not split views; a climb past 2^32 does not wrap" {
	swim_setup 5 170
	for i in 1 2 3 4; do swim_start $i; done
	wait_until 15 swim_converged 4
	v=${ADDR[2]}
	# Today's code believed it, and the victim's refutation wrapped to 0: dead for good.
	for i in 1 2 3 4; do evil gossip "${ADDR[i]}" suspect "$v" 4294967295; done
	hold_alive 8 4 "$v"
	[ "$(swim_stat 1 .gossip_ignored)" -ge 1 ]
	# Accusations each within the bound a refutation allows, past 2^32.
	inc0=$(swim_inc 2 "$v")
	evil climb "$v" "$inc0" 4200
	wait_until 20 inc_above 2 "$v" 4294967295
	echo "# the victim's incarnation: $inc0 -> $(swim_inc 2 "$v")" >&3
	for i in 1 3 4; do wait_until 40 inc_above $i "$v" 4294967295; done
	hold_alive 5 4 "$v"
	[ "$(swim_stat 2 .refutations)" -ge 4200 ]
}

@test "DEAD and LEFT about other members: LEFT from a third party is not believed, views agree" {
	swim_setup 5 180
	for i in 1 2 3 4; do swim_start $i; done
	wait_until 15 swim_converged 4
	v3=${ADDR[3]} v4=${ADDR[4]}
	for i in 1 2; do
		evil gossip "${ADDR[i]}" left "$v3" "$(swim_inc $i "$v3")"
		evil gossip "${ADDR[i]}" dead "$v4" 4294967295
	done
	wait_until 15 all_alive 4 "$v3" "$v4"
	hold_alive 6 4 "$v3" "$v4"
	for i in 1 2 3 4; do
		[ "$(swim_stat $i .events.left)" = 0 ] || { echo "member $i published member.left" >&2; false; }
	done
	[ "$(swim_stat 1 .gossip_ignored)" -ge 2 ]
}

@test "a packet recorded before the receiver restarted is refused as stale" {
	swim_setup 3 190
	for i in 1 2; do swim_start $i; done
	wait_until 15 swim_converged 2
	t0=$(now_ms)
	run evil record "${ADDR[1]}" "$SW/recorded"
	[ "$output" = ack ]
	kill -KILL "$(pid_of swim1)"
	gone() { ! kill -0 "$(pid_of swim1)" 2>/dev/null; }
	wait_until 5 gone
	swim_start 1
	wait_until 15 swim_converged 2
	# Older than SWIM_SEQ_SKEW_MS (10 s): a fresh window alone would take it.
	older() { (( $(now_ms) - t0 > 10500 )); }
	wait_until 30 older
	run evil replay "${ADDR[1]}" "$SW/recorded"
	[ "$output" = no-reply ]
	[ "$(swim_stat 1 .drops.stale)" -ge 1 ]
	# A packet sealed now still gets its answer.
	run evil record "${ADDR[1]}" "$SW/fresh"
	[ "$output" = ack ]
}

@test "a flood of push-pull requests gets at most one packet of state per protocol period" {
	swim_setup 6 200
	for i in 1 2 3 4 5; do swim_start $i; done
	wait_until 15 swim_converged 5
	meta=$(head -c 128 /dev/zero | tr '\0' m)
	for i in 1 2 3 4 5; do swim_req $i "{\"op\":\"set_meta\",\"meta\":\"$meta\"}" > /dev/null; done
	metas() { [ "$(swim_req 1 '{"op":"members"}' | jq '[.members[] | select(.meta != null)] | length')" = 5 ]; }
	wait_until 15 metas
	# 100 packets of 64 push-pull requests each over 1 s (5 protocol periods of 200 ms).
	run evil flood "${ADDR[1]}" 100 1000
	[ "$status" -eq 0 ]
	sent=$(echo "$output" | awk '{print $2}')
	got=$(echo "$output" | awk '{print $4}')
	echo "# evil member sent $sent bytes, member 1 sent back $got bytes; $(swim_stat 1 .pushpulls_refused) requests refused" >&3
	# At most one 1400-byte packet of state per 200 ms period over 1.5 s, plus its own
	# periodic traffic; today's code answered every request with its whole state.
	(( got <= 10 * 1400 ))
	(( got < sent ))
	[ "$(swim_stat 1 .pushpulls_refused)" -ge 90 ]
	kill -0 "$(pid_of swim1)"
	swim_converged 5
}

@test "records with small-order public keys are not admitted; packets claiming them are dropped" {
	swim_setup 4 210
	# Two strangers registered X25519 points of small order (any shared secret with them is
	# zero): the zero point, and an order-8 point with the ignored top bit set.
	weak1=0x$(head -c20 /dev/urandom | od -An -tx1 | tr -d ' \n')
	weak2=0x$(head -c20 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf '{"address":"%s","endpoint":"127.0.0.214:%s","pubkey":"%s"}\n' "$weak1" "$SWIM_PORT" \
		0000000000000000000000000000000000000000000000000000000000000000 >> "$SW/peers"
	printf '{"address":"%s","endpoint":"127.0.0.215:%s","pubkey":"%s"}\n' "$weak2" "$SWIM_PORT" \
		e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880 >> "$SW/peers"
	for i in 1 2 3; do swim_start $i; done
	wait_until 15 swim_converged 3
	for i in 1 2 3; do
		[ "$(grep -c 'unusable public key; not admitted' "$BATS_TEST_TMPDIR/swim$i.log")" = 2 ]
		swim_state_is "$i" "$weak1" none
		swim_state_is "$i" "$weak2" none
	done
	# Packets sealed by a stranger under a claimed address: an unknown sender, dropped.
	before=$(swim_stat 1 .drops.unknown_sender)
	run "$TBIN/swim_tool" attack "$SW/k4" "$weak1" "$SW/peers" "${ADDR[1]}" \
		"127.0.0.214:$SWIM_PORT" foreign "${ADDR[2]}"
	[ "$status" -eq 0 ]
	[ "$output" = no-reply ]
	after=$(swim_stat 1 .drops.unknown_sender)
	(( after > before ))
	kill -0 "$(pid_of swim1)"
	swim_converged 3
	echo "# 2 weak keys refused on 3 members; member 1's unknown_sender drops $before -> $after" >&3
}
