#!/usr/bin/env bats
# rstate.bats: every replica's state from any server: canteen-dockerd's summary in its member's
# SWIM metadata, read back by canteen ps on another server; hostile summaries refused.
# needs: docker
load lib/common
load lib/anvil
load swim
load sched

IMG=canteen-test/busybox:1

setup() {
	SVC=t$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	"$TOP/tests/lib/image.sh" "$IMG"
}

teardown() {
	stop_started
	stop_anvil
	if grep -l 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/*.log 2>/dev/null; then
		grep -h -A20 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/*.log
		san_failed=1
	fi
	local i ids
	for i in 1 2 3; do
		[ -n "${ADDR[i]:-}" ] || continue
		ids=$(docker ps -aq --filter "label=io.canteen.node=${ADDR[i]}" 2>/dev/null)
		[ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
	done
	[ -z "${san_failed:-}" ]
}

# spec NAME REPLICAS IMAGE COMMAND_JSON: a service record as chain.sock gives it.
spec() {
	svc_json "$1" "$2" | jq -c --arg i "$3" --argjson c "$4" \
		'.image = $i | .command = $c | .cpu_millis = 50 | .mem_mib = 16 | .env = []'
}

# cluster FIRST_OCTET SERVICES_JSON [DOCKERD_NODES]: three real canteen-swim members; a scripted
# chain; canteen-sched on nodes 1 and 3 fed one fixed membership (all alive: a killed server's
# replicas stay placed on it, as they do until SWIM declares it dead); a real canteen-dockerd
# on each of DOCKERD_NODES (default "1 3"), sharing the run directory of its node's swim.
cluster() {
	local octet=$1 services=$2 i members
	swim_setup 3 "$octet"
	for i in 1 2 3; do swim_start "$i"; done
	wait_until 15 swim_converged 3
	C=$(mk_rundir "$BATS_TEST_TMPDIR/chain")
	feed_start chain "$C/chain.sock"
	chain_set "$C/chain.sock" "$(node_json "${ADDR[1]}"),$(node_json "${ADDR[2]}"),$(node_json "${ADDR[3]}")" "$services"
	members="$(member_json "${ADDR[1]}" alive),$(member_json "${ADDR[2]}" alive),$(member_json "${ADDR[3]}" alive)"
	for i in ${3:-1 3}; do
		start_bg "dd$i" "$BIN/canteen-dockerd" -d "$SW/r$i" --node "${ADDR[i]}" \
			--advertise-addr 127.0.0.1 --stop-grace 1s
		wait_until 10 grep -q 'Docker is ready' "$BATS_TEST_TMPDIR/dd$i.log"
	done
	for i in 1 3; do
		feed_start "mem$i" "$C/mem$i.sock"
		feed "$C/mem$i.sock" "{\"op\":\"set\",\"snapshot\":{\"type\":\"snapshot\",\"self\":\"${ADDR[i]}\",\"members\":[$members]}}" | grep -q ok
		sched_start "sched$i" "$SW/r$i" "${ADDR[i]}" --chain-sock "$C/chain.sock" --swim-sock "$C/mem$i.sock"
	done
	wait_until 10 ready "$SW/r1"
}

# psj I [ARGS...]: canteen ps --json on node I.
psj() { local i=$1; shift; "$BIN/canteen" --rundir "$SW/r$i" --json ps "$@"; }
# row I SERVICE NODE_ADDR: node I's ps row of SERVICE's replica on NODE_ADDR (one line).
row() { psj "$1" | jq -c --arg s "$2" --arg n "$3" 'select(.service == $s and .node == $n)'; }
# fnv1a NAME: the service hash of common/replstate.c, 8 hex digits.
fnv1a() {
	local s=$1 h=2166136261 i c
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		h=$(( ((h ^ c) * 16777619) & 0xffffffff ))
	done
	printf '%08x' "$h"
}
past() { [ "$(now_ms)" -ge "$1" ]; }
# meta_of I J: member J's metadata as member I holds it.
meta_of() { swim_req "$1" '{"op":"members"}' | jq -r --arg a "${ADDR[$2]}" '.members[] | select(.address == $a) | .meta'; }
same_meta() { [ "$(meta_of 2 1)" = "$(meta_of 1 1)" ]; }
row_is() { [ "$(row "$1" "$2" "$3" | jq -r "$4")" = true ]; }

@test "ps on node 1 shows node 3's crash loop, failed pull and OOM kill with their reasons; node 2 says nothing; node 3 killed: unknown with its age" {
	cluster 210 "$(spec "${SVC}crash" 3 "$IMG" '["sh","-c","exit 1"]'),$(spec "${SVC}pull" 3 127.0.0.1:1/none/x:1 '["sleep","100"]'),$(spec "${SVC}oom" 3 "$IMG" '["sh","-c","head -c 134217728 /dev/zero | tail"]')"
	a3=${ADDR[3]}
	# Node 3's own view first (its canteen-dockerd), then node 1's, from the gossiped summary.
	wait_until 30 row_is 3 "${SVC}crash" "$a3" '.state == "crashloop"'
	row 3 "${SVC}crash" "$a3" | jqe '.reason | test("^crash loop: exit 1, next restart in [0-9]+ s$")'
	wait_until 30 row_is 3 "${SVC}crash" "$a3" '.reason == "crash loop: exit 1, next restart in 8 s"'
	# Node 1 shows the same state and reason within 2 s.
	t0=$(now_ms)
	wait_until 2 row_is 1 "${SVC}crash" "$a3" '.state == "crashloop" and .reason == "crash loop: exit 1, next restart in 8 s" and .restarts >= 2 and .age_s >= 0'
	echo "# node 3's crash loop on node 1 after $(( $(now_ms) - t0 )) ms" >&3
	wait_until 20 row_is 1 "${SVC}pull" "$a3" '.state == "pending" and (.reason | startswith("pull of 127.0.0.1:1/none/x:1 failed: "))'
	# Over its 16 MiB, Docker kills it: said so.
	wait_until 20 row_is 1 "${SVC}oom" "$a3" '.reason | test("^(exited 137 \\(OOM killed\\)|crash loop: exit 137 \\(OOM killed\\), next restart in [0-9]+ s)$")'
	# Node 1's own replicas come from its canteen-dockerd.
	wait_until 10 row_is 1 "${SVC}crash" "${ADDR[1]}" '.state == "crashloop" or .state == "restarting" or .state == "exited" or .state == "running"'
	# Node 2 runs no canteen-dockerd: its replicas are unknown, never guessed.
	row_is 1 "${SVC}crash" "${ADDR[2]}" '.state == "unknown" and .reason == "its server publishes no replica states"'
	# The text table has the columns and the reason.
	run "$BIN/canteen" --rundir "$SW/r1" ps --service "${SVC}crash"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *SERVICE*REPLICA*NODE*STATE*RESTARTS*AGE*REASON* ]]
	[ "${#lines[@]}" -eq 4 ]
	# (the back-off may have doubled since: 8 s, then 16 s)
	[[ "$output" =~ $a3\ +crashloop\ .*crash\ loop:\ exit\ 1,\ next\ restart\ in\ (8|16|32)\ s ]]
	run "$BIN/canteen" --rundir "$SW/r1" ps --service nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"no replica of service 'nosuch'"* ]]
	# Node 3 dies (its swim, sched and dockerd): on node 1 its replicas are unknown with the
	# age of the last news, never what they were.
	kill -KILL "$(cat "$BATS_TEST_TMPDIR/swim3.pid")" "$(cat "$BATS_TEST_TMPDIR/dd3.pid")" "$(cat "$BATS_TEST_TMPDIR/sched3.pid")"
	wait_until 15 row_is 1 "${SVC}crash" "$a3" '.state == "unknown" and .reason == "its server is dead"'
	row_is 1 "${SVC}pull" "$a3" '.state == "unknown" and .age_s >= 0'
	! psj 1 | jqe --arg n "$a3" 'select(.node == $n and .state != "unknown")' || false
}

@test "canteen-dockerd publishes at most one summary per 500 ms however fast its replicas change" {
	cluster 220 "$(spec "${SVC}flap" 12 "$IMG" '["sh","-c","exit 3"]')" "1"
	# Node 1's four replicas die, restart and die again: every set_meta its canteen-swim takes
	# is one member.alive event of node 1 on its swim.sock, stamped.
	start_bg sub "$TBIN/ipc_tool" subscribe "$SW/r1/swim.sock" 1000 20000
	wait_until 12 past $(( $(now_ms) + 8000 ))
	times=$(jq -r --arg a "${ADDR[1]}" 'select(.type == "member.alive" and .member.address == $a) | .time_ms' "$BATS_TEST_TMPDIR/sub.log")
	n=$(echo "$times" | grep -c .)
	gap=$(echo "$times" | awk 'NR > 1 && (min == "" || $1 - p < min) { min = $1 - p } { p = $1 } END { print min }')
	echo "# $n summaries in 8 s, the closest $gap ms apart" >&3
	[ "$n" -ge 3 ]
	[ "$gap" -ge 450 ]
	# What node 2 holds is node 1's last one.
	wait_until 5 same_meta
}

@test "a member's hostile summary (garbage, lying counts, too long) is refused by ps on the others, harmlessly" {
	cluster 230 "$(spec "${SVC}w" 3 "$IMG" '["sleep","100"]')" "1"
	a2=${ADDR[2]}
	wait_until 20 row_is 1 "${SVC}w" "${ADDR[1]}" '.state == "running"'
	# Node 2's swim.sock is the attacker's (a compromised server): what it sets is gossiped.
	swim_req 2 '{"op":"set_meta","meta":"R1 0 1 1 0 0 0\n00000000 0 r 0 - \u001b[2J"}' | grep -q ok
	wait_until 5 row_is 1 "${SVC}w" "$a2" '.state == "unknown" and (.reason | startswith("its server'"'"'s summary is refused: "))'
	# Lying counts: one replica claimed, two lines.
	h=$(fnv1a "${SVC}w")
	swim_req 2 "{\"op\":\"set_meta\",\"meta\":\"R1 0 1 1 0 0 0\\n$h 0 r 0 -\\n$h 1 r 0 -\"}" | grep -q ok
	wait_until 5 row_is 1 "${SVC}w" "$a2" '.state == "unknown" and (.reason | test("more running replicas listed than counted"))'
	# Too long for the metadata: canteen-swim refuses it; the last one stays.
	run swim_req 2 "{\"op\":\"set_meta\",\"meta\":\"$(printf 'R1 0 0 0 0 0 0%0600d' 0)\"}"
	[[ "$output" == *"limit is 512"* ]]
	# An honest one for the replica placed there: shown as it says.
	r=$(psj 1 | jq -r --arg s "${SVC}w" --arg n "$a2" 'select(.service == $s and .node == $n) | .replica')
	swim_req 2 "{\"op\":\"set_meta\",\"meta\":\"R1 1700000000 1 0 0 0 1\\n$h $r e 7 0 exited 137 (OOM killed)\"}" | grep -q ok
	wait_until 5 row_is 1 "${SVC}w" "$a2" '.state == "exited" and .reason == "exited 137 (OOM killed)" and .restarts == 7 and .since == 1700000000'
	# Everything else was untouched: node 1's own replica, its daemons.
	row_is 1 "${SVC}w" "${ADDR[1]}" '.state == "running"'
	for p in swim1 swim2 sched1 dd1; do kill -0 "$(cat "$BATS_TEST_TMPDIR/$p.pid")"; done
}

# cli_dir I SERVICES_JSON: a run directory for the CLI on node I whose chain.sock answers
# "state" with the scripted chain's nodes and services; prints its path.
cli_dir() {
	local d=$BATS_TEST_TMPDIR/cli$1 s
	mkdir -p "$d"
	for s in sched dockerd swim; do ln -sf "$SW/r$1/$s.sock" "$d/$s.sock"; done
	if [ ! -S "$d/chain.sock" ]; then
		feed_start "cchain$1" "$d/chain.sock"
		feed "$d/chain.sock" "{\"op\":\"set\",\"snapshot\":{\"type\":\"state\",\"nodes\":[$(node_json "${ADDR[1]}"),$(node_json "${ADDR[2]}"),$(node_json "${ADDR[3]}")],\"services\":[$2]}}" | grep -q ok
	fi
	echo "$d"
}
eps() { "$BIN/canteen" --rundir "$BATS_TEST_TMPDIR/cli1" endpoints "$@"; }
eps_are() { [ "$(eps "${@:2}" | tr '\n' ' ')" = "$1" ]; }

@test "health: a replica is ready only when healthy: endpoints lists it, ps shows its health on every server; a failing check takes it out, restarts it, and it comes back" {
	local p svc; p=$(free_port)
	# one canteen-dockerd (node 1): every replica publishing one host port on this one machine
	svc=$(spec "${SVC}h" 3 "$IMG" '["sh","-c","touch /tmp/ok; exec sleep 1000"]' |
		jq -c --argjson p "$p" '.ports = [{host: $p, container: 80, proto: "tcp"}] |
			.health = {cmd: ["CMD-SHELL", "test -f /tmp/ok"], interval_ms: 300, retries: 1}')
	cluster 240 "$svc" "1"
	cli_dir 1 "$svc" > /dev/null
	a1=${ADDR[1]}
	# It becomes healthy; node 3 sees it through node 1's summary.
	wait_until 30 row_is 1 "${SVC}h" "$a1" '.state == "running" and .health == "healthy"'
	wait_until 10 row_is 3 "${SVC}h" "$a1" '.state == "running" and .health == "healthy"'
	row_is 1 "${SVC}h" "${ADDR[2]}" '.state == "unknown" and .health == null'
	run "$BIN/canteen" --rundir "$SW/r3" ps --service "${SVC}h"
	[[ "${lines[0]}" == *STATE*HEALTH*RESTARTS* ]]
	[[ "$output" == *"$a1"*running*healthy* ]]
	# endpoints: the ready replica (nodes 2 and 3 run nothing: unknown, not listed)
	wait_until 10 eps_are "127.0.0.1:$p " "${SVC}h"
	# service ls: the service on a real chain; RUNNING and HEALTHY from the replica states
	start_anvil
	local ct=("$BIN/canteen" -c /dev/null --rpc "$ANVIL_URL" --key-file "$ANVIL_KEYS/key0" --rundir "$BATS_TEST_TMPDIR/cli1")
	ct+=(--contract "$(deploy_canteen 0)")
	"${ct[@]}" service deploy "${SVC}h" --image "$IMG" --replicas 3 --health-cmd 'test -f /tmp/ok' > /dev/null
	[ "$("${ct[@]}" --json service ls | jq -c '[.placed, .running, .healthy]')" = '[3,1,1]' ]
	run "${ct[@]}" service ls
	[[ "${lines[0]}" == *PLACED*RUNNING*HEALTHY* ]]
	[[ "${lines[1]}" =~ \ 3\/3\ +1\ +1\  ]]
	# node 1's replica fails its check: unhealthy, out of endpoints, restarted
	cid=$(docker ps -q --filter "label=io.canteen.node=$a1" --filter "label=io.canteen.service=${SVC}h")
	docker exec "$cid" rm /tmp/ok
	wait_until 10 row_is 3 "${SVC}h" "$a1" '.health == "unhealthy" or .state != "running"'
	wait_until 10 eps_are "" "${SVC}h"
	wait_until 10 bash -c "\"\${@}\" --json service ls | jqe '.healthy == 0'" _ "${ct[@]}"
	wait_until 30 row_is 1 "${SVC}h" "$a1" '.restarts >= 1'
	grep -q 'is unhealthy: restarting it' "$BATS_TEST_TMPDIR/dd1.log"
	# restarted, its command makes the file again: healthy and listed again
	wait_until 30 row_is 1 "${SVC}h" "$a1" '.state == "running" and .health == "healthy"'
	wait_until 10 eps_are "127.0.0.1:$p " "${SVC}h"
	# --all lists every running replica, healthy or not
	eps_are "127.0.0.1:$p " --all "${SVC}h"
}

@test "endpoints --watch follows readiness: a replica that turns unhealthy leaves the list, and comes back" {
	local p svc; p=$(free_port)
	svc=$(spec "${SVC}w" 3 "$IMG" '["sh","-c","touch /tmp/ok; exec sleep 1000"]' |
		jq -c --argjson p "$p" '.ports = [{host: $p, container: 80, proto: "tcp"}] |
			.health = {cmd: ["CMD-SHELL", "test -f /tmp/ok"], interval_ms: 300, retries: 1}')
	cluster 250 "$svc" "1"
	cli_dir 1 "$svc" > /dev/null
	a1=${ADDR[1]}
	wait_until 30 row_is 1 "${SVC}w" "$a1" '.state == "running" and .health == "healthy"'
	start_bg watch "$BIN/canteen" --rundir "$BATS_TEST_TMPDIR/cli1" endpoints --watch "${SVC}w"
	wait_until 10 grep -qx "127.0.0.1:$p" "$BATS_TEST_TMPDIR/watch.log" || { cat -A "$BATS_TEST_TMPDIR/watch.log"; eps "${SVC}w"; false; }
	docker exec "$(docker ps -q --filter "label=io.canteen.node=$a1" --filter "label=io.canteen.service=${SVC}w")" rm /tmp/ok
	# an empty list (a blank line ends each list), then the replica again
	wait_until 20 bash -c "grep -c . '$BATS_TEST_TMPDIR/watch.log' | grep -qx 2 && tail -n 2 '$BATS_TEST_TMPDIR/watch.log' | head -n 1 | grep -qx '127.0.0.1:$p'"
	awk 'BEGIN { RS = "" } { print NR ": " $0 }' "$BATS_TEST_TMPDIR/watch.log"
	[ "$(awk 'BEGIN { RS = ""; n = 0 } { n++ } END { print n }' "$BATS_TEST_TMPDIR/watch.log")" -ge 2 ]
}

@test "a server with 32 replicas (more than 29 lines fit): ps on node 1 shows every one of node 3's running, from its grouped summary" {
	# canteen-dockerd on node 3 only: 32 containers, not 96
	cluster 175 "$(spec "${SVC}a" 48 "$IMG" '["sleep","1000"]'),$(spec "${SVC}b" 48 "$IMG" '["sleep","1001"]')" "3"
	a3=${ADDR[3]}
	n3=$(psj 1 | jq -s --arg n "$a3" '[.[] | select(.node == $n)] | length')
	echo "# $n3 replicas placed on node 3" >&3
	[ "$n3" -gt 29 ]
	running3() { [ "$(psj 1 | jq -s --arg n "$a3" '[.[] | select(.node == $n and .state == "running" and .generation == 1)] | length')" -eq "$n3" ]; }
	wait_until 120 running3
	# Node 3's summary lists them in group lines ('=' lines), within 512 bytes.
	m=$(meta_of 1 3)
	echo "# node 3's summary: ${#m} bytes, $(echo "$m" | grep -c '^=') group lines" >&3
	echo "$m" | grep -q "^=$(fnv1a "${SVC}a") 1 r "
	[ "${#m}" -le 512 ]
	# A grouped replica has no restart count or age to show: unknown, not 0.
	psj 1 | jq -s -e --arg n "$a3" '[.[] | select(.node == $n)] | all(has("restarts") | not)' > /dev/null
}
