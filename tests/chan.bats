#!/usr/bin/env bats
# chan.bats: the channel between servers: canteen logs on one server shows a replica running on
# another, fetched over TCP authenticated with the chain's swim keys; strangers, forgers,
# replays, revoked members, garbage, oversized frames and stalled handshakes get nothing and
# do not stop the daemon. Real anvil, chainwatch, swim, sched and canteen-dockerd per node.
# needs: docker
load lib/common
load lib/anvil
load swim
load sched

IMG=canteen-test/busybox:1

setup_file() { start_anvil; }
teardown_file() { stop_anvil; }
setup() {
	"$TOP/tests/lib/image.sh" "$IMG"
	# A service name of this test only: the shared Docker holds other tests' containers.
	SVC=l$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
}
teardown() {
	stop_started
	ids=$(docker ps -aq --filter "label=io.canteen.service=$SVC" 2>/dev/null)
	[ -z "$ids" ] || docker rm -f $ids > /dev/null 2>&1 || true
	if grep -l 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/dd*.log 2>/dev/null; then
		grep -h -A20 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/dd*.log
		return 1
	fi
}

ct() { canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$C" "$@"; }
placed_is() { answer_is "$1/sched.sock" '{"op":"placement"}' .placed "$2"; }
running_on() { # I: node I's dockerd runs a container of $SVC
	"$TBIN/ipc_tool" request "$SW/r$1/dockerd.sock" '{"op":"ps"}' |
		jqe --arg s "$SVC" '[.containers[] | select(.service == $s and .state == "running")] | length > 0'
}
replica_on() { # I: the replica the placement puts on node I
	"$TBIN/ipc_tool" request "$SW/r1/sched.sock" '{"op":"placement"}' |
		jq -r --arg s "$SVC" --arg n "${ADDR[$1]}" '[.assignments[] | select(.service == $s and .node == $n)][0].replica'
}
probe() { # MODE NODE_INDEX [FLAGS...]: chan_probe against node I's channel
	local m=$1 i=$2; shift 2
	"$TBIN/chan_probe" "$m" --endpoint "${IP[i]}:$SWIM_PORT" --peer "${ADDR[i]}" \
		--peer-key "$("$TBIN/swim_tool" pubkey "$SW/k$i")" "$@"
}
alive() { kill -0 "$(pid_of "dd$1")"; }

# cluster_up: a contract with 3 approved nodes; per node canteen-swim, canteen-sched and
# canteen-dockerd (channel on 127.0.0.12I:SWIM_PORT); $SVC with 3 replicas printing a
# numbered line every 200 ms, with its container's host name.
cluster_up() {
	SW=$BATS_TEST_TMPDIR/sw
	mkdir -p "$SW"
	SWIM_PORT=$(free_port)
	C=$(canteen -c /dev/null --rpc "$ANVIL_URL" --key-file "$ANVIL_KEYS/key0" contract deploy)
	for i in 1 2 3; do
		IP[i]=127.0.0.$((120 + i))
		ADDR[i]=$(addr_of $i)
		pk=$(canteen node keygen --swim-key "$SW/k$i")
		ct --key-file "$ANVIL_KEYS/key$i" node register --endpoint "${IP[i]}:$SWIM_PORT" \
			--swim-pubkey "$pk" --cpu 2 --mem 4G > /dev/null
		ct --key-file "$ANVIL_KEYS/key0" node approve "${ADDR[i]}" > /dev/null
		mk_rundir "$SW/r$i" > /dev/null
	done
	ct --key-file "$ANVIL_KEYS/key0" service deploy "$SVC" --image "$IMG" --replicas 3 \
		--cpu 100m --mem 32M -- sh -c 'i=0; while :; do echo "line $i from $(hostname)"; i=$((i+1)); sleep 0.2; done' > /dev/null
	CW=$(mk_rundir "$SW/cw")
	start_bg cw canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract "$C" -d "$CW" \
		--poll 100ms --confirmations 0
	for i in 1 2 3; do
		start_bg "swim$i" canteen-swim -d "$SW/r$i" --bind "${IP[i]}:$SWIM_PORT" \
			--node "${ADDR[i]}" --key-file "$SW/k$i" --chain-sock "$CW/chain.sock" "${SWIM_FAST[@]}"
		start_bg "dd$i" canteen-dockerd -c /dev/null -d "$SW/r$i" --node "${ADDR[i]}" \
			--stop-grace 1s --bind "${IP[i]}:$SWIM_PORT" --key-file "$SW/k$i" \
			--chain-sock "$CW/chain.sock"
	done
	wait_until 20 swim_converged 3
	for i in 1 2 3; do
		wait_until 5 test -S "$SW/r$i/dockerd.sock"
		sched_start "sched$i" "$SW/r$i" "${ADDR[i]}" --chain-sock "$CW/chain.sock"
	done
	for i in 1 2 3; do wait_until 20 placed_is "$SW/r$i" 3; done
	for i in 1 2 3; do wait_until 60 running_on $i; done
	for i in 1 2 3; do grep -q "channel on TCP ${IP[i]}:$SWIM_PORT" "$BATS_TEST_TMPDIR/dd$i.log"; done
	R3=$(replica_on 3)
	[ "$R3" != null ]
}

# The running container whose hostname (SERVICE-REPLICA) is printed in a line belongs to
# node I (Docker's own label).
host_is_on() { # HOSTNAME I
	local nodes
	nodes=$(docker ps -q | xargs -r docker inspect -f '{{.Config.Hostname}} {{index .Config.Labels "io.canteen.node"}}' |
		awk -v h="$1" '$1 == h { print $2 }' | sort -u)
	[ "$nodes" = "${ADDR[$2]}" ]
}

@test "canteen logs --follow on node 1 shows the lines of a replica that runs on node 3, prefixed with replica and node; --tail and --since" {
	cluster_up
	out=$BATS_TEST_TMPDIR/follow.out
	start_bg follow canteen --rundir "$SW/r1" logs "$SVC" --replica "$R3" --follow
	prefix="$SVC.$R3@${ADDR[3]} | line "
	wait_until 20 grep -q "^$prefix" "$BATS_TEST_TMPDIR/follow.log"
	first=$(grep -c "^$prefix" "$BATS_TEST_TMPDIR/follow.log")
	# It follows: new lines keep arriving.
	wait_until 10 eval '[ "$(grep -c "^$prefix" "$BATS_TEST_TMPDIR/follow.log")" -gt $((first + 3)) ]'
	host=$(grep -m1 "^$prefix" "$BATS_TEST_TMPDIR/follow.log" | sed 's/.* from //')
	host_is_on "$host" 3
	# Node 1's dockerd fetched it over the channel from node 3's.
	grep -q "channel from ${ADDR[1]} open" "$BATS_TEST_TMPDIR/dd3.log"
	kill -TERM "$(pid_of follow)"

	# --tail 2 without --follow: exactly two lines of each replica, and then the end.
	run canteen --rundir "$SW/r1" logs "$SVC" --tail 2
	[ "$status" -eq 0 ]
	for i in 1 2 3; do
		r=$(replica_on $i)
		[ "$(grep -c "^$SVC.$r@${ADDR[i]} | line " <<< "$output")" -eq 2 ]
	done
	[ "$(wc -l <<< "$output")" -eq 6 ]

	# --since 1s: only what the last second or two printed (5 lines a second), far fewer lines
	# than everything once the replica has run 8 s.
	wait_until 20 eval '[ "$(canteen --rundir "$SW/r1" logs "$SVC" --replica "$R3" | wc -l)" -ge 40 ]'
	all=$(canteen --rundir "$SW/r1" logs "$SVC" --replica "$R3" | wc -l)
	recent=$(canteen --rundir "$SW/r1" logs "$SVC" --replica "$R3" --since 1s | wc -l)
	echo "# all $all lines, since 1s $recent" >&3
	[ "$recent" -ge 1 ]
	[ "$recent" -le 20 ]

	# The raw socket answer: events with service, replica, node and line, then the end.
	run canteen --rundir "$SW/r1" --json logs "$SVC" --replica "$R3" --tail 1
	[ "$status" -eq 0 ]
	[ "$(head -1 <<< "$output" | jq -r '.type, .node' | tr '\n' ' ')" = "log ${ADDR[3]} " ]

	# A replica the placement does not have is an error, not an empty answer.
	run canteen --rundir "$SW/r1" logs "$SVC" --replica 99
	[ "$status" -eq 1 ]
	[[ "$output" == *"not placed"* ]]
	run canteen --rundir "$SW/r1" logs "$SVC" --tail nope
	[ "$status" -eq 2 ]
	for i in 1 2 3; do alive $i; done
}

@test "channel: a stranger, a forged key, a replayed session and a revoked member are refused before any request is read" {
	cluster_up
	# An admitted member with its registered key gets the logs (the probe itself works),
	# once the replica has written two lines.
	probe_lines() {
		probe logs 3 --self "${ADDR[1]}" --key "$SW/k1" --service "$SVC" --replica "$R3" --tail 2 |
			grep -c '^line '
	}
	wait_until 20 eval '[ "$(probe_lines)" -eq 2 ]'
	run probe logs 3 --self "${ADDR[1]}" --key "$SW/k1" --service "$SVC" --replica "$R3" --tail 2
	[ "$status" -eq 0 ]
	[ "$(grep -c '^line ' <<< "$output")" -eq 2 ]

	# A stranger: a fresh key and an address the chain never admitted.
	canteen node keygen --swim-key "$SW/stranger" > /dev/null
	run probe refused 3 --self "$(addr_of 5)" --key "$SW/stranger" --service "$SVC" --replica "$R3"
	[ "$status" -eq 0 ]
	[[ "$output" == *"closed after the hello"* ]]
	grep -q "channel from $(addr_of 5) refused or failed: not an admitted server" "$BATS_TEST_TMPDIR/dd3.log"

	# A forger: node 1's address with another key; a made-up confirm and a request.
	run probe forge 3 --self "${ADDR[1]}" --key "$SW/stranger"
	[ "$status" -eq 0 ]
	grep -q "did not prove its key" "$BATS_TEST_TMPDIR/dd3.log"

	# A recorded session of node 1 replayed on a new connection.
	run probe replay 3 --self "${ADDR[1]}" --key "$SW/k1" --service "$SVC" --replica "$R3"
	[ "$status" -eq 0 ]

	# Node 2 revoked on chain: the stream it follows is cut at once, and it is refused after.
	run probe hello 3 --self "${ADDR[2]}" --key "$SW/k2"
	[ "$output" = open ]
	start_bg follow2 "$TBIN/chan_probe" logs --endpoint "${IP[3]}:$SWIM_PORT" --peer "${ADDR[3]}" \
		--peer-key "$("$TBIN/swim_tool" pubkey "$SW/k3")" --self "${ADDR[2]}" --key "$SW/k2" \
		--service "$SVC" --replica "$R3" --follow-ms 60000
	wait_until 10 grep -q '^line ' "$BATS_TEST_TMPDIR/follow2.log"
	ct --key-file "$ANVIL_KEYS/key0" node revoke "${ADDR[2]}" > /dev/null
	wait_until 20 grep -q "closed by the server" "$BATS_TEST_TMPDIR/follow2.log"
	grep -q "channel from ${ADDR[2]} closed: no longer admitted" "$BATS_TEST_TMPDIR/dd3.log"
	run probe refused 3 --self "${ADDR[2]}" --key "$SW/k2"
	[ "$status" -eq 0 ]
	[[ "$output" == *"closed after the hello"* ]]
	run probe logs 3 --self "${ADDR[2]}" --key "$SW/k2" --service "$SVC" --replica "$R3" --tail 2
	[ "$status" -eq 1 ]
	[ -z "$(grep '^line ' <<< "$output")" ]
	for i in 1 2 3; do alive $i; done
}

@test "channel: garbage, a 2 GiB frame, an oversized request and a stalled handshake are dropped; the daemon keeps serving" {
	cluster_up
	run probe garbage 3
	[ "$status" -eq 0 ]
	run probe oversize 3 --self "${ADDR[1]}" --key "$SW/k1"
	[ "$status" -eq 0 ]
	grep -q "a frame length out of bounds" "$BATS_TEST_TMPDIR/dd3.log"
	run probe bigreq 3 --self "${ADDR[1]}" --key "$SW/k1"
	[ "$status" -eq 0 ]
	grep -q "a request over CHAN_REQ_MAX" "$BATS_TEST_TMPDIR/dd3.log"
	# A stalled handshake is closed at the handshake time-out (5 s), while others are served.
	start_bg stall "$TBIN/chan_probe" stall --endpoint "${IP[3]}:$SWIM_PORT"
	run probe logs 3 --self "${ADDR[1]}" --key "$SW/k1" --service "$SVC" --replica "$R3" --tail 1
	[ "$status" -eq 0 ]
	wait_until 15 grep -q "closed after" "$BATS_TEST_TMPDIR/stall.log"
	ms=$(sed -n 's/closed after \([0-9]*\) ms/\1/p' "$BATS_TEST_TMPDIR/stall.log")
	[ "$ms" -ge 4000 ] && [ "$ms" -le 8000 ]
	grep -q "handshake not finished in time" "$BATS_TEST_TMPDIR/dd3.log"
	# Still serving, over the channel and to canteen logs on another node.
	alive 3
	run canteen --rundir "$SW/r1" logs "$SVC" --replica "$R3" --tail 1
	[ "$status" -eq 0 ]
	[[ "$output" == "$SVC.$R3@${ADDR[3]} | line "* ]]

	# The other way round: node 3's dockerd stalls (stopped; the kernel still accepts and
	# acknowledges). Node 1's gives up with a reason, after the handshake time-out (5 s) on a
	# new link or the silence limit (15 s) on the one it has, and serves its own replica.
	R1=$(replica_on 1)
	kill -STOP "$(pid_of dd3)"
	t0=$(now_ms)
	run canteen --rundir "$SW/r1" logs "$SVC" --tail 1
	took=$(( $(now_ms) - t0 ))
	kill -CONT "$(pid_of dd3)"
	echo "# node 3 stalled: canteen logs ended after $took ms" >&3
	echo "$output"
	[ "$status" -eq 1 ]
	grep -Eq "$SVC.$R3@${ADDR[3]}: channel: (handshake not finished in time|peer silent)" <<< "$output"
	[[ "$output" == *"$SVC.$R1@${ADDR[1]} | line "* ]]
	[ "$took" -lt 25000 ]
	alive 1
}

@test "channel limits: 4 links from one server, 8 streams on a link, 64 connections in all; the next is refused, the rest served; an idle link is closed after 60 s" {
	cluster_up
	# A link that opens no stream: closed after LINK_IDLE_MS (60 s), checked at the end.
	start_bg idle "$TBIN/chan_probe" hold --endpoint "${IP[3]}:$SWIM_PORT" --peer "${ADDR[3]}" \
		--peer-key "$("$TBIN/swim_tool" pubkey "$SW/k3")" --self "${ADDR[2]}" --key "$SW/k2" --follow-ms 120000
	wait_until 10 grep -q '^open' "$BATS_TEST_TMPDIR/idle.log"
	t_idle=$(now_ms)
	hold() { start_bg "hold$1" "$TBIN/chan_probe" hold --endpoint "${IP[3]}:$SWIM_PORT" --peer "${ADDR[3]}" \
		--peer-key "$("$TBIN/swim_tool" pubkey "$SW/k3")" --self "${ADDR[1]}" --key "$SW/k1" --follow-ms 30000; }
	for h in 1 2 3 4; do hold $h; done
	for h in 1 2 3 4; do wait_until 10 grep -q '^open' "$BATS_TEST_TMPDIR/hold$h.log"; done
	run probe refused 3 --self "${ADDR[1]}" --key "$SW/k1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"closed after the hello"* ]]
	grep -q "too many links from this server (LINK_IN_PER_PEER)" "$BATS_TEST_TMPDIR/dd3.log"
	# Another server is not held up by node 1's links.
	run probe hello 3 --self "${ADDR[2]}" --key "$SW/k2"
	[ "$output" = open ]
	for h in 1 2 3 4; do kill -TERM "$(pid_of "hold$h")"; done
	wait_until 10 eval 'probe hello 3 --self "${ADDR[1]}" --key "$SW/k1" | grep -qx open'

	# Ten follow streams on one link: eight get output, two are refused at once.
	run probe streams 3 --self "${ADDR[1]}" --key "$SW/k1" --service "$SVC" --replica "$R3" --count 10
	[ "$status" -eq 0 ]
	[ "$(grep -c '^data' <<< "$output")" -eq 8 ]
	[ "$(grep -c '^refused .*too many streams' <<< "$output")" -eq 2 ]

	# 70 connections that say nothing: past 64, each is closed at once.
	run "$TBIN/chan_probe" flood --endpoint "${IP[3]}:$SWIM_PORT" --count 70
	[ "$status" -eq 0 ]
	n=${output#closed }
	[ "$n" -ge 6 ]
	grep -q "64 links open: a new one is closed at once" "$BATS_TEST_TMPDIR/dd3.log"
	# Once they are gone, the channel serves again.
	wait_until 10 eval 'probe logs 3 --self "${ADDR[1]}" --key "$SW/k1" --service "$SVC" --replica "$R3" --tail 1 | grep -q "^line "'
	alive 3
	wait_until 80 grep -q "closed by the server" "$BATS_TEST_TMPDIR/idle.log"
	idle=$(( $(now_ms) - t_idle ))
	echo "# the idle link was closed after $idle ms" >&3
	[ "$idle" -ge 55000 ]
	grep -q "channel from ${ADDR[2]} closed: idle" "$BATS_TEST_TMPDIR/dd3.log"
}

@test "logs: 10 MB written at once by a replica on node 3 all reach node 1, in order (the streams pause and resume, nothing is lost)" {
	cluster_up
	BIG=${SVC}b
	ct --key-file "$ANVIL_KEYS/key0" service deploy "$BIG" --image "$IMG" --replicas 3 --cpu 100m --mem 32M \
		-- sh -c 'awk "BEGIN{for(i=1;i<=100000;i++) printf \"%d %0100d\n\", i, 0}"; sleep 1000' > /dev/null
	big_on3() {
		"$TBIN/ipc_tool" request "$SW/r1/sched.sock" '{"op":"placement"}' |
			jq -r --arg s "$BIG" --arg n "${ADDR[3]}" '[.assignments[] | select(.service == $s and .node == $n)][0].replica'
	}
	wait_until 20 eval '[ "$(big_on3)" != null ]'
	RB=$(big_on3)
	# Written whole: the last line is in Docker's log.
	wait_until 60 eval '[ "$(canteen --rundir "$SW/r1" logs "$BIG" --replica "$RB" --tail 1)" = "$BIG.$RB@${ADDR[3]} | 100000 $(printf %0100d 0)" ]'
	canteen --rundir "$SW/r1" logs "$BIG" --replica "$RB" > "$BATS_TEST_TMPDIR/big.out"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/big.out")" -eq 100000 ]
	awk -v p="$BIG.$RB@${ADDR[3]}" '$1 != p || $3 != NR { bad++ } END { exit bad > 0 }' "$BATS_TEST_TMPDIR/big.out"
	# A reader that reads slowly: the same, through the paused stream.
	canteen --rundir "$SW/r1" logs "$BIG" --replica "$RB" | { sleep 1; cat; } | wc -l > "$BATS_TEST_TMPDIR/slow.n"
	[ "$(cat "$BATS_TEST_TMPDIR/slow.n")" -eq 100000 ]
	# The same replica read on node 3 itself, from its own Docker, by a slow reader: the same.
	canteen --rundir "$SW/r3" logs "$BIG" --replica "$RB" | { sleep 1; cat; } > "$BATS_TEST_TMPDIR/local.out"
	awk -v p="$BIG.$RB@${ADDR[3]}" '$1 != p || $3 != NR { bad++ } END { exit bad > 0 || NR != 100000 }' "$BATS_TEST_TMPDIR/local.out"
	for i in 1 2 3; do alive $i; done
	ids=$(docker ps -aq --filter "label=io.canteen.service=$BIG" 2>/dev/null)
	[ -z "$ids" ] || docker rm -f $ids > /dev/null 2>&1 || true
}
