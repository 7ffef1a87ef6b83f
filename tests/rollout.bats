#!/usr/bin/env bats
# rollout.bats: health-gated rolling updates across three servers (real canteen-swim members,
# real canteen-dockerd on the real Docker, a scripted chain): batches, pause, a lying member.
# needs: docker
load lib/common
load lib/anvil
load swim
load sched

IMG=canteen-test/busybox:1
HEALTH='{"cmd":["CMD-SHELL","test -f /tmp/ok"],"interval_ms":300,"retries":1,"start_period_ms":8000}'
OLD='["sh","-c","touch /tmp/ok; exec sleep 1000"]'
SLOW='["sh","-c","sleep 5; touch /tmp/ok; exec sleep 1001"]'  # healthy after 5 s
SICK='["sh","-c","exec sleep 1002"]'                           # never healthy

setup() {
	SVC=u$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	"$TOP/tests/lib/image.sh" "$IMG"
}

teardown() {
	stop_started
	stop_anvil
	swim_netns_cleanup
	if grep -l 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/*.log 2>/dev/null; then
		grep -h -A20 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/*.log
		san_failed=1
	fi
	local ids
	ids=$(docker ps -aq --filter "label=io.canteen.service=$SVC" 2>/dev/null)
	[ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
	[ -z "${san_failed:-}" ]
}

# svc GENERATION COMMAND_JSON UPDATE_JSON: the service record (4 replicas, a health check).
svc() {
	svc_json "$SVC" 4 "" "$1" | jq -c --arg i "$IMG" --argjson c "$2" --argjson u "$3" \
		--argjson h "$HEALTH" '.image = $i | .command = $c | .cpu_millis = 50 | .mem_mib = 16 |
		.env = [] | .health = $h | .update = $u'
}

# cluster FIRST_OCTET SERVICE_JSON DOCKERD_NODES: three canteen-swim members, a scripted chain,
# canteen-sched and (on DOCKERD_NODES) canteen-dockerd, each reading the chain (policies) and
# its member's swim.sock (the others' replica states).
cluster() {
	local i members
	swim_setup 3 "$1"
	[ -z "${NETNS:-}" ] || swim_netns
	for i in 1 2 3; do swim_start "$i"; done
	wait_until 15 swim_converged 3
	C=$(mk_rundir "$BATS_TEST_TMPDIR/chain")
	feed_start chain "$C/chain.sock"
	NODES="$(node_json "${ADDR[1]}"),$(node_json "${ADDR[2]}"),$(node_json "${ADDR[3]}")"
	chain_set "$C/chain.sock" "$NODES" "$2"
	members="$(member_json "${ADDR[1]}" alive),$(member_json "${ADDR[2]}" alive),$(member_json "${ADDR[3]}" alive)"
	DDS="$3"
	for i in $DDS; do
		ln -s "$C/chain.sock" "$SW/r$i/chain.sock"
		start_bg "dd$i" "$BIN/canteen-dockerd" -d "$SW/r$i" --node "${ADDR[i]}" \
			--advertise-addr 127.0.0.1 --stop-grace 1s
		wait_until 10 grep -q 'Docker is ready' "$BATS_TEST_TMPDIR/dd$i.log"
		feed_start "mem$i" "$C/mem$i.sock"
		feed "$C/mem$i.sock" "{\"op\":\"set\",\"snapshot\":{\"type\":\"snapshot\",\"self\":\"${ADDR[i]}\",\"members\":[$members]}}" | grep -q ok
		sched_start "sched$i" "$SW/r$i" "${ADDR[i]}" --chain-sock "$C/chain.sock" --swim-sock "$C/mem$i.sock"
	done
}

# update SERVICE_JSON: a new generation on the chain, to every subscriber and later ones.
update() {
	chain_set "$C/chain.sock" "$NODES" "$1"
	publish "$C/chain.sock" "{\"type\":\"service.upsert\",\"block\":2,\"service\":$1}"
}

# healthy_at GEN: the replicas (of dockerd nodes) with a healthy container of generation GEN.
healthy_at() {
	docker ps --filter "label=io.canteen.service=$SVC" --filter "label=io.canteen.generation=$1" \
		--filter health=healthy --format '{{.Label "io.canteen.replica"}}' | sort -u | wc -l
}
count_is() { [ "$("$1" "$2")" -eq "$3" ]; }
# placed_here: how many replicas the placement puts on the nodes running canteen-dockerd.
placed_here() {
	local i n=0
	for i in $DDS; do n=$((n + $(on_node "$SW/r$i" "${ADDR[i]}"))); done
	echo "$n"
}

# sample N: Docker's own view every 100 ms, into samples: how many of the N replicas placed on
# canteen-dockerd nodes have no healthy container (old or new): down.
sample() {
	cat > "$BATS_TEST_TMPDIR/sample.sh" <<EOF
while :; do
	up=\$(docker ps --filter label=io.canteen.service=$SVC --filter health=healthy \
		--format '{{.Label "io.canteen.replica"}} {{.Label "io.canteen.generation"}}' | sort -u)
	echo "\$(( $1 - \$(echo "\$up" | cut -d' ' -f1 | sort -u | grep -c .) )) \$(echo \$up)"
	sleep 0.1
done
EOF
	start_bg sampler bash "$BATS_TEST_TMPDIR/sample.sh"
}
# sampled_cluster FIRST_OCTET UPDATE_JSON: the three-server cluster with the service at generation
# 1 (OLD, 4 replicas), all healthy, and Docker's view sampled from then on.
sampled_cluster() {
	cluster "$1" "$(svc 1 "$OLD" "$2")" "1 2 3"
	wait_until 60 count_is healthy_at 1 4
	sample 4
	wait_until 5 grep -q . "$BATS_TEST_TMPDIR/sampler.log"
}
max_down() { awk '$1 > m { m = $1 } END { print m + 0 }' "$BATS_TEST_TMPDIR/sampler.log"; }
past() { [ "$(now_ms)" -ge "$1" ]; }

@test "rollout: an update to a healthy version goes batch by batch (parallelism 1): never more than 1 replica down, in Docker's view" {
	local u='{"parallelism":1}'
	sampled_cluster 215 "$u"
	update "$(svc 2 "$SLOW" "$u")"
	wait_until 90 count_is healthy_at 2 4
	wait_until 20 bash -c "[ -z \"\$(docker ps -aq --filter label=io.canteen.service=$SVC --filter label=io.canteen.generation=1)\" ]"
	echo "# max down $(max_down) over $(wc -l < "$BATS_TEST_TMPDIR/sampler.log") samples" >&3
	[ "$(max_down)" -le 1 ]
	# Batch by batch: replica r's new container started after replica r - 1's was healthy.
	grep -h '"rollout.replace"\|replacing ' "$BATS_TEST_TMPDIR"/dd*.log | head -8
	local r t prev=0
	for r in 0 1 2 3; do
		t=$(date -d "$(docker inspect --format '{{.State.StartedAt}}' $(docker ps -q --filter label=io.canteen.service=$SVC --filter label=io.canteen.replica=$r))" +%s%N)
		[ "$t" -gt "$prev" ]
		prev=$((t + 5000000000))  # healthy no sooner than 5 s after its start
	done
}

@test "rollout: an update whose health check fails pauses after the first batch; the other replicas keep the old version, at most 1 down" {
	local u='{"parallelism":1,"failure_action":"pause"}'
	sampled_cluster 225 "$u"
	update "$(svc 2 "$SICK" "$u")"
	# A server that reaches replica 1's gate sees replica 0 failed: paused, and said so.
	wait_until 30 grep -q "rollout of $SVC generation 2 paused: 1 of 1 updated replicas failed" "$BATS_TEST_TMPDIR"/dd*.log
	# It stays paused: 10 s on, replicas 1 to 3 still run generation 1, healthy.
	wait_until 12 past $(( $(now_ms) + 10000 ))
	for r in 1 2 3; do
		[ "$(docker ps -q --filter label=io.canteen.service=$SVC --filter label=io.canteen.replica=$r --filter label=io.canteen.generation=1 --filter health=healthy | wc -l)" -eq 1 ]
		[ -z "$(docker ps -aq --filter label=io.canteen.service=$SVC --filter label=io.canteen.replica=$r --filter label=io.canteen.generation=2)" ]
	done
	# Replica 0 runs generation 2 (unhealthy, restarted with the back-off), never generation 1 again.
	[ -n "$(docker ps -aq --filter label=io.canteen.service=$SVC --filter label=io.canteen.replica=0 --filter label=io.canteen.generation=2)" ]
	echo "# max down $(max_down) over $(wc -l < "$BATS_TEST_TMPDIR/sampler.log") samples" >&3
	[ "$(max_down)" -le 1 ]
	# service ls on node 1 (the same service at generation 2 on a real chain) shows the pause.
	local d=$BATS_TEST_TMPDIR/cli1 sk
	mkdir -p "$d"
	for sk in sched dockerd swim; do ln -sf "$SW/r1/$sk.sock" "$d/$sk.sock"; done
	start_anvil
	CT=("$BIN/canteen" -c /dev/null --rpc "$ANVIL_URL" --key-file "$ANVIL_KEYS/key0" --rundir "$d")
	CT+=(--contract "$(deploy_canteen 0)")
	"${CT[@]}" service deploy "$SVC" --image "$IMG" --replicas 4 --update-parallelism 1 > /dev/null
	"${CT[@]}" service update "$SVC" --env X=2 > /dev/null
	wait_until 20 ls_says '.rollout == {"state":"paused","updated":1,"failed":1,"rolled_back":0}'
	run "${CT[@]}" service ls
	echo "$output"
	[[ "$output" == *"rollout paused: 1/4 updated, 1 failed"* ]]
}
ls_says() { "${CT[@]}" --json service ls | jqe "$1" > /dev/null; }

@test "rollout: a member that lies (every replica ready at the new generation) cannot make another server start a batch early" {
	local u='{"parallelism":1}'
	# Node 2 runs no canteen-dockerd: its swim.sock is the attacker's.
	cluster 235 "$(svc 1 "$OLD" "$u")" "1 3"
	n=$(placed_here)
	[ "$n" -ge 2 ]
	wait_until 60 count_is healthy_at 1 "$n"
	h=$(fnv1a "$SVC")
	# Garbage first: refused by canteen-dockerd (logged), nothing else changes.
	swim_req 2 "{\"op\":\"set_meta\",\"meta\":\"R2 0 1 1 0 0 0\\n$h 0 r 0 -\"}" | grep -q ok
	wait_until 10 grep -q "replica states refused: a generation is missing" "$BATS_TEST_TMPDIR/dd1.log"
	swim_req 2 "{\"op\":\"set_meta\",\"meta\":\"R2 0 4 4 0 0 0\\n$h 0 2 r+ 0 -\\n$h 1 2 r+ 0 -\\n$h 2 2 r+ 0 -\\n$h 3 2 r+ 0 -\"}" | grep -q ok
	sample "$n"
	wait_until 5 grep -q . "$BATS_TEST_TMPDIR/sampler.log"
	update "$(svc 2 "$SLOW" "$u")"
	wait_until 90 count_is healthy_at 2 "$n"
	echo "# max down $(max_down) of the $n replicas on honest servers, over $(wc -l < "$BATS_TEST_TMPDIR/sampler.log") samples" >&3
	[ "$(max_down)" -le 1 ]
	for p in swim1 swim3 dd1 dd3; do kill -0 "$(cat "$BATS_TEST_TMPDIR/$p.pid")"; done
}

# cut3 / heal: node 3's canteen-swim cut off from nodes 1 and 2 both ways, and back.
cut3() {
	local a
	for a in "${IP[1]}" "${IP[2]}"; do
		nsexec iptables -A INPUT -s "${IP[3]}" -d "$a" -j DROP
		nsexec iptables -A INPUT -s "$a" -d "${IP[3]}" -j DROP
	done
}
heal() { nsexec iptables -F INPUT; }
not_alive() { [ "$(swim_state "$1" "${ADDR[$2]}")" != alive ]; }

@test "rollout: a partition during an update: each side waits for the replicas it cannot see; healed, one rollout completes, never more than 1 down" {
	local u='{"parallelism":1}'
	NETNS=1 sampled_cluster 245 "$u"
	cut3
	wait_until 30 not_alive 1 3
	wait_until 30 not_alive 3 1
	update "$(svc 2 "$SLOW" "$u")"
	# Node 3 holds a replica: whichever its index, one side waits for the other's replicas
	# (unknown: not ready), so the rollout cannot complete while they are apart.
	wait_until 20 past $(( $(now_ms) + 15000 ))
	echo "# during the partition: $(healthy_at 2) of 4 at generation 2" >&3
	[ "$(healthy_at 2)" -lt 4 ]
	heal
	wait_until 90 count_is healthy_at 2 4
	echo "# max down $(max_down) over $(wc -l < "$BATS_TEST_TMPDIR/sampler.log") samples" >&3
	[ "$(max_down)" -le 1 ]
}

# svcp GENERATION COMMAND_JSON UPDATE_JSON PREVIOUS_COMMAND_JSON: svc with the "previous" the
# chain's fold gives an update (canteen-events(7)): generation - 1 running PREVIOUS_COMMAND.
svcp() {
	svc "$1" "$2" "$3" | jq -c --argjson p "$4" --arg i "$IMG" --argjson h "$HEALTH" \
		'.previous = {generation: (.generation - 1), image: $i, command: $p, env: [], cpu_millis: 50,
		              mem_mib: 16, ports: [], health: $h}'
}
# Fails on replicas 2 and up only (never healthy there): replicas 0 and 1 update healthily first.
BAD2='["sh","-c","if [ \"$CANTEEN_REPLICA\" -ge 2 ]; then exec sleep 1004; fi; touch /tmp/ok; exec sleep 1003"]'

# rows: every container of the service: replica generation rollback-label health-status id.
rows() {
	docker ps -a --filter "label=io.canteen.service=$SVC" --format \
		'{{.Label "io.canteen.replica"}} {{.Label "io.canteen.generation"}} {{if .Label "io.canteen.rollback"}}back{{else}}-{{end}} {{if eq .State "running"}}{{.Status}}{{else}}{{.State}}{{end}} {{.ID}}' |
		sed 's/Up [^(]*(\([a-z]*\))/\1/' | sort
}
# all_back: each replica has exactly one container, healthy, running the old command (a
# generation 1 container or a rolled-back one), and none of generation 2 runs the new one.
all_back() {
	local out r
	out=$(rows)
	[ "$(echo "$out" | grep -c .)" -eq 4 ] || return 1
	for r in 0 1 2 3; do
		echo "$out" | grep -Eq "^$r (1 -|2 back) healthy " || return 1
	done
}

@test "rollout: failure action rollback: a generation failing on replica 2 returns every replica to the old spec, healthy ones one at a time; it stays back; the next updates go through" {
	local u='{"parallelism":1,"failure_action":"rollback"}'
	sampled_cluster 165 "$u"
	update "$(svcp 2 "$BAD2" "$u" "$OLD")"
	# Replicas 0 and 1 update and are healthy; replica 2 never is: every server rolls back.
	wait_until 60 grep -q "rollout of $SVC generation 2 failed: rolling back to the spec of generation 1" "$BATS_TEST_TMPDIR"/dd*.log
	wait_until 60 all_back
	rows
	# Replicas 0, 1 and 2 had reached generation 2: they were rolled back (the label); replica
	# 3 never left generation 1.
	for r in 0 1 2; do rows | grep -q "^$r 2 back healthy "; done
	rows | grep -q "^3 1 - healthy "
	# canteen ps on node 1 says which replicas were rolled back, its own (from its dockerd)
	# and the others' (from their summaries)
	local d=$BATS_TEST_TMPDIR/cli1 sk
	mkdir -p "$d"
	for sk in sched dockerd swim; do ln -sf "$SW/r1/$sk.sock" "$d/$sk.sock"; done
	wait_until 10 ps_says '[.[] | select(.rolled_back == true) | .replica] | sort == [0,1,2]'
	"$BIN/canteen" -c /dev/null --rundir "$d" ps --service "$SVC" | grep -c "rolled back: runs the spec before"
	grep -h 'rolled back: the previous spec' "$BATS_TEST_TMPDIR"/dd*.log
	[ "$(grep -h "replacing $SVC\.[0-2]: generation 2 -> 2 (rolled back: the previous spec)" "$BATS_TEST_TMPDIR"/dd*.log | wc -l)" -eq 3 ]
	echo "# max down $(max_down) over $(wc -l < "$BATS_TEST_TMPDIR/sampler.log") samples" >&3
	[ "$(max_down)" -le 1 ]
	# It stays back: 10 s on, the same containers (no flapping between the two specs).
	local before
	before=$(rows)
	wait_until 12 past $(( $(now_ms) + 10000 ))
	[ "$(rows)" = "$before" ]
	# Every server's summary says so (the '^' of a rolled-back line), read back from swim.
	swim_req 1 '{"op":"members"}' | jq -r '.members[].meta // empty' | grep -q "^$(fnv1a "$SVC") [0-2] 2^ r+ "
	# canteen service rollback records the return on chain (generation 3 = the old spec, its
	# previous the failed one): nothing is replaced.
	update "$(svcp 3 "$OLD" "$u" "$BAD2")"
	wait_until 12 past $(( $(now_ms) + 5000 ))
	[ "$(rows | awk '{ print $1, $5 }')" = "$(echo "$before" | awk '{ print $1, $5 }')" ]
	# A later healthy update (previous: the old spec) rolls out batch by batch to the end.
	update "$(svcp 4 "$SLOW" "$u" "$OLD")"
	wait_until 90 count_is healthy_at 4 4
	echo "# max down $(max_down) over $(wc -l < "$BATS_TEST_TMPDIR/sampler.log") samples" >&3
	[ "$(max_down)" -le 1 ]
}

ps_says() { "$BIN/canteen" -c /dev/null --rundir "$BATS_TEST_TMPDIR/cli1" ps --json --service "$SVC" | jq -s -e "$1" > /dev/null; }

# fnv1a NAME: the service hash of common/replstate.c, 8 hex digits.
fnv1a() {
	local s=$1 h=2166136261 i c
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		h=$(( ((h ^ c) * 16777619) & 0xffffffff ))
	done
	printf '%08x' "$h"
}
