#!/usr/bin/env bats
# chaos.bats: the chaos soak of tests/chaos/ in make check: a 5-node canteen up cluster in its
# own network namespace with 10 services, a random fault every few seconds from a printed
# seed, judged from outside (Docker's view, HTTP probes). 60 s of faults, 120 s with
# CANTEEN_LONG=1 (what CI runs); CANTEEN_CHAOS_SEED=N replays a seed. tests/chaos/README.md
# says what is measured and why each bound is what it is.
# needs: docker, root (ip netns, iptables)

load lib/common

@test "chaos: a soak under random faults keeps every service up, no lasting duplicates or orphans, exact counts soon after the last fault, no daemon growth or crash" {
	dur=60
	[ -z "${CANTEEN_LONG:-}" ] || dur=120
	seed=()
	[ -z "${CANTEEN_CHAOS_SEED:-}" ] || seed=(-s "$CANTEEN_CHAOS_SEED")
	# The short run ends one fault early; its bounds are those of the 10-minute soak except
	# where README.md explains (single-replica services).
	d=$BATS_TEST_TMPDIR/soak
	mkdir -p "$d"
	"$TOP/tests/chaos/soak.sh" -d "$dur" "${seed[@]}" -o "$d" > "$d/result.json" 2> "$d/soak.log" ||
		{ cat "$d/soak.log"; false; }
	cat "$d/soak.log"
	j=$(tail -n1 "$d/result.json")
	echo "# $j" >&3
	ok() { jq -e "$1" <<< "$j" >/dev/null || { echo "failed: $1"; return 1; }; }
	ok '.samples >= '"$dur"
	ok '(.faults | add) >= '"$((dur / 8))"
	# Services with two replicas or more never lose them all at once: one node is faulty at a
	# time and replicas of one service sit on different nodes.
	ok '.availability_min.multi >= 0.999'
	# A single replica on a node that is killed is down for one failover (SWIM declares the
	# node dead, its replacement starts elsewhere) and once more when the node is back and the
	# replica moves home; each outage stays under 10 s.
	ok '[.longest_outage_s[]] | max <= 10'
	ok '.duplicates.beyond_bound == [] and .orphans.beyond_bound == []'
	ok '.convergence_s != null and .convergence_s <= 30'
	ok '.unexpected_exits == [] and .core_dumps == 0 and .sanitizer_reports == 0'
	ok '.init_restarts >= .daemon_kills'
	# Under ASan every free goes through a quarantine that grows by design: PSS is measured
	# only in the plain build.
	[ -n "${SAN:-}" ] || ok '[.daemons[].pss_growth_kib_max] | max < 1024'
	ok '[.daemons[].fd_growth_max] | max <= 8'
}
