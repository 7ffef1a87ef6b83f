#!/usr/bin/env bats
# metrics.bats: canteen metrics on a real one-node server (anvil, chainwatch, swim, sched,
# dockerd under canteen-init), checked by promtool and read back through node_exporter.
# needs: docker
load lib/common
load lib/anvil
load swim

IMG=canteen-test/busybox:1

setup_file() { start_anvil; }
teardown_file() { stop_anvil; }

setup() {
	D=$BATS_TEST_TMPDIR
	RUN=$(mk_rundir "$D/run")
	NODE_KEY=$D/node.key
	SVC=m$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
}

# stop_init: SIGTERM to canteen-init, which stops its children in order (each in its own
# process group, out of stop_started's reach); wait until it is gone.
stop_init() {
	local pid
	pid=$(pid_of init 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	wait_until 40 bash -c "! kill -0 $pid 2>/dev/null"
}

teardown() {
	stop_init
	stop_started
	if [ -n "${NODE:-}" ]; then
		ids=$(docker ps -aq --filter "label=io.canteen.node=$NODE" 2>/dev/null)
		[ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
	fi
	if grep -l 'Sanitizer\|runtime error:' "$D"/*.log 2>/dev/null; then
		grep -h -A20 'Sanitizer\|runtime error:' "$D"/*.log
		return 1
	fi
	return 0
}

ct() { canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$C" "$@"; }
m() { canteen -c /dev/null --rundir "${MRUN:-$RUN}" metrics "$@"; }
# metric NAME_WITH_LABELS: its value in the output of canteen metrics (empty if absent).
metric() { m 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'; }
metric_ge() { local v; v=$(metric "$1"); [ -n "$v" ] && [ "${v%.*}" -ge "$2" ]; }
# queue_full SOCK: a listening Unix socket whose accept queue is full (ss: Recv-Q > Send-Q).
queue_full() { ss -xlH | awk -v p="$1" 'index($0, p) { if ($3 > $4) f = 1 } END { exit !f }'; }
all_up() { [ "$(m 2>/dev/null | grep -c '^canteen_up{.*} 1$')" = 5 ]; }

# node_up: a contract, this node registered and approved, its four daemons under canteen-init.
node_up() {
	C=$(canteen -c /dev/null --rpc "$ANVIL_URL" --key-file "$ANVIL_KEYS/key0" contract deploy)
	local port keys pk
	port=$(free_port)
	# A fresh node key: its containers' node label is this test's alone (the Docker host is
	# shared with other tests, whose daemons manage the dev keys' nodes).
	keys=$(canteen node keygen --swim-key "$D/swim.key" --eth-key "$NODE_KEY")
	pk=$(echo "$keys" | sed -n 1p)
	NODE=$(echo "$keys" | sed -n 2p)
	rpc anvil_setBalance "[\"$NODE\",\"0xde0b6b3a7640000\"]" | grep -q '"result"'
	ct --key-file "$NODE_KEY" node register --endpoint "127.0.0.1:$port" --swim-pubkey "$pk" \
		--cpu 2 --mem 2G > /dev/null
	ct --key-file "$ANVIL_KEYS/key0" node approve "$NODE" > /dev/null
	cat > "$D/init.conf" <<-EOF
	chainwatch canteen-chainwatch -c /dev/null --chain-id 31337 -d '$RUN' --rpc '$ANVIL_URL' --contract '$C' --poll 100ms --confirmations 0
	swim canteen-swim -c /dev/null -d '$RUN' --bind 127.0.0.1:$port --node '$NODE' --key-file '$D/swim.key' ${SWIM_FAST[*]}
	sched canteen-sched -c /dev/null -d '$RUN' --node '$NODE' --debounce 20ms
	dockerd canteen-dockerd -c /dev/null -d '$RUN' --node '$NODE' --advertise-addr 127.0.0.1 --stop-grace 1s --docker-host /var/run/docker.sock
	EOF
	start_bg init canteen-init -c /dev/null -f "$D/init.conf" -d "$RUN"
	wait_until 20 all_up
	wait_until 20 metric_ge 'canteen_swim_members{state="alive"}' 1
	wait_until 20 metric_ge canteen_sched_ready 1
}

@test "metrics: a real node's metrics pass promtool check metrics, every daemon up" {
	node_up
	run m
	[ "$status" -eq 0 ]
	echo "$output" > "$D/out.prom"
	for want in 'canteen_build_info{version="' 'canteen_swim_members{state="alive"} 1' \
		'canteen_swim_sent_packets_total ' 'canteen_chainwatch_head_block ' \
		'canteen_chainwatch_lag_blocks ' 'canteen_chainwatch_rpc_errors_total ' \
		'canteen_sched_placements_total ' 'canteen_sched_placement_seconds_total ' \
		'canteen_dockerd_replicas{state="running"} ' 'canteen_dockerd_image_pull_seconds_total ' \
		'canteen_dockerd_container_starts_total ' 'canteen_init_program_restarts_total{program="swim"} 0' \
		'canteen_init_program_up{program="dockerd"} 1' '# TYPE canteen_swim_received_bytes_total counter'; do
		grep -qF "$want" "$D/out.prom" || { echo "missing: $want"; return 1; }
	done
	# promtool: a valid exposition, and no lint problem (naming, units, HELP).
	run promtool check metrics < "$D/out.prom"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "metrics: counters move: a deploy starts a container, chainwatch follows the head" {
	node_up
	"$TOP/tests/lib/image.sh" "$IMG"
	[ "$(metric canteen_dockerd_container_starts_total)" = 0 ]
	h0=$(metric canteen_chainwatch_head_block)
	ct --key-file "$ANVIL_KEYS/key0" service deploy "$SVC" --image "$IMG" --replicas 1 \
		--cpu 50m --mem 16M -- sleep 3600 > /dev/null
	wait_until 60 metric_ge canteen_dockerd_container_starts_total 1
	wait_until 10 metric_ge 'canteen_dockerd_replicas{state="running"}' 1
	[ "$(metric canteen_dockerd_desired_replicas)" = 1 ]
	[ "$(metric 'canteen_sched_replicas{state="placed"}')" = 1 ]
	metric_ge canteen_sched_placements_total 1
	metric_ge canteen_chainwatch_events_total 1
	[ "$(metric canteen_chainwatch_head_block)" -gt "$h0" ]
	[ "$(metric canteen_chainwatch_services)" = 1 ]
	# A container killed behind canteen's back: a death and a restart are counted.
	docker kill "$(docker ps -q --filter "label=io.canteen.service=$SVC")" > /dev/null
	wait_until 30 metric_ge canteen_dockerd_container_deaths_total 1
	wait_until 30 metric_ge canteen_dockerd_container_restarts_total 1
}

@test "metrics: SWIM counters move with a second member: members alive, packets and bytes" {
	node_up
	local port2 pk2
	port2=$(free_port)
	pk2=$(canteen node keygen --swim-key "$D/swim2.key")
	ct --key-file "$ANVIL_KEYS/key2" node register --endpoint "127.0.0.1:$port2" --swim-pubkey "$pk2" \
		--cpu 2 --mem 2G > /dev/null
	ct --key-file "$ANVIL_KEYS/key0" node approve "$(addr_of 2)" > /dev/null
	R2=$(mk_rundir "$D/r2")
	start_bg swim2 canteen-swim -c /dev/null -d "$R2" --bind "127.0.0.1:$port2" --node "$(addr_of 2)" \
		--key-file "$D/swim2.key" --chain-sock "$RUN/chain.sock" "${SWIM_FAST[@]}"
	wait_until 30 metric_ge 'canteen_swim_members{state="alive"}' 2
	p0=$(metric canteen_swim_sent_packets_total)
	b0=$(metric canteen_swim_received_bytes_total)
	wait_until 10 metric_ge canteen_swim_sent_packets_total $((p0 + 10))
	wait_until 10 metric_ge canteen_swim_received_bytes_total $((b0 + 1000))
	metric_ge canteen_swim_probes_total 1
	metric_ge canteen_swim_acks_total 1
}

@test "metrics: a pull that fails is counted with its time; the replica is pending" {
	node_up
	# A registry on a closed loopback port: the pull fails at once, without the network.
	ct --key-file "$ANVIL_KEYS/key0" service deploy "$SVC" --image 127.0.0.1:1/canteen-none:1 \
		--replicas 1 --cpu 50m --mem 16M > /dev/null
	wait_until 30 metric_ge canteen_dockerd_image_pull_failures_total 1
	[ "$(metric 'canteen_dockerd_replicas{state="pending"}')" = 1 ]
	[ "$(metric canteen_dockerd_image_pulls_total)" = 0 ]
	[ -n "$(metric canteen_dockerd_image_pull_seconds_total)" ]
}

@test "metrics: chainwatch's RPC errors, and a dead endpoint among several labelled by its redacted URL" {
	C=$(canteen -c /dev/null --rpc "$ANVIL_URL" --key-file "$ANVIL_KEYS/key0" contract deploy)
	dead=$(free_port)
	MRUN=$(mk_rundir "$D/cw2")
	start_bg cw2 canteen-chainwatch -c /dev/null --chain-id 31337 -d "$MRUN" --contract "$C" --poll 100ms \
		--confirmations 0 --rpc "$ANVIL_URL,http://127.0.0.1:$dead/x?secret=1" --rpc-quorum 1
	wait_until 20 metric_ge canteen_chainwatch_ready 1
	ep="canteen_chainwatch_endpoint_faults_total{endpoint=\"http://127.0.0.1:$dead/...\"}"
	wait_until 20 metric_ge "$ep" 1
	run m
	[[ "$output" == *"canteen_chainwatch_endpoint_up{endpoint=\"http://127.0.0.1:$dead/...\"} 0"* ]]
	[[ "$output" == *"canteen_chainwatch_endpoint_up{endpoint=\"$ANVIL_URL\"} 1"* ]]
	[[ "$output" != *secret* ]]
	m 2>/dev/null | promtool check metrics
	# The only endpoint dead: rounds fail and are counted, rpc_up is 0.
	MRUN=$(mk_rundir "$D/cw3")
	start_bg cw3 canteen-chainwatch -c /dev/null --chain-id 31337 -d "$MRUN" --contract "$C" --poll 100ms \
		--confirmations 0 --rpc "http://127.0.0.1:$dead"
	wait_until 20 metric_ge canteen_chainwatch_rpc_errors_total 2
	[ "$(metric canteen_chainwatch_rpc_up)" = 0 ]
	[ "$(metric canteen_chainwatch_ready)" = 0 ]
}

@test "metrics: a daemon that does not answer is canteen_up 0, the rest still printed; none answering exits 1" {
	node_up
	# sched stopped: its socket accepts, it never answers; the time limit holds.
	pid=$(canteen -c /dev/null --rundir "$RUN" status --json | jq -r 'select(.name == "sched") | .pid')
	kill -STOP "$pid"
	t0=$(now_ms)
	run m --timeout 300ms
	kill -CONT "$pid"
	[ "$status" -eq 0 ]
	[ $(( $(now_ms) - t0 )) -lt 5000 ]
	[[ "$output" == *'canteen_up{daemon="sched"} 0'* ]]
	[[ "$output" == *'canteen_up{daemon="swim"} 1'* ]]
	[[ "$output" == *'canteen-sched does not answer: timed out'* ]]
	[[ "$output" != *'canteen_sched_placements_total'* ]]
	[[ "$output" == *'canteen_dockerd_container_starts_total'* ]]
	m --timeout 300ms 2>/dev/null | promtool check metrics
	# Stopped with its listen queue full (connections nobody accepts): connecting blocks,
	# and the time limit still holds.
	kill -STOP "$pid"
	start_bg flood "$TBIN/ipc_tool" flood "$RUN/sched.sock" 300 60
	wait_until 10 queue_full "$RUN/sched.sock"
	t0=$(now_ms)
	run m --timeout 300ms
	[ "$status" -eq 0 ]
	[ $(( $(now_ms) - t0 )) -lt 5000 ]
	[[ "$output" == *'canteen_up{daemon="sched"} 0'* ]]
	[[ "$output" == *'canteen-sched does not answer: timed out connecting'* ]]
	kill -CONT "$pid"
	# A socket that answers something else (not a stats answer) is not up either.
	R2=$(mk_rundir "$D/r2")
	start_bg feed "$TBIN/feed_tool" serve "$R2/dockerd.sock"
	wait_until 5 test -S "$R2/dockerd.sock"
	run canteen -c /dev/null --rundir "$R2" metrics
	[ "$status" -eq 1 ]
	[[ "$output" == *'canteen_up{daemon="dockerd"} 0'* ]]
	[[ "$output" == *'canteen-dockerd does not answer'* ]]
	# Nothing answers: everything is reported down, and the exit status is 1.
	run canteen -c /dev/null --rundir "$D/nowhere" metrics
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | grep -c '^canteen_up{.*} 0$')" = 5 ]
}

@test "metrics: node_exporter's textfile collector serves what --textfile --interval writes" {
	node_up
	mkdir -p "$D/tf"
	start_bg writer canteen -c /dev/null --rundir "$RUN" metrics --textfile "$D/tf/canteen.prom" --interval 1s
	wait_until 10 test -f "$D/tf/canteen.prom"
	[ "$(stat -c %a "$D/tf/canteen.prom")" = 644 ]
	port=$(free_port)
	start_bg nodeexp prometheus-node-exporter --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$D/tf" --web.listen-address="127.0.0.1:$port"
	scraped() { curl -sf --max-time 2 "http://127.0.0.1:$port/metrics" > "$D/scrape" &&
		grep -q '^canteen_up{daemon="swim"} 1$' "$D/scrape"; }
	wait_until 15 scraped
	grep -q '^canteen_dockerd_container_starts_total ' "$D/scrape"
	# No error reading the file (node_exporter says so in node_textfile_scrape_error).
	grep -q '^node_textfile_scrape_error 0$' "$D/scrape"
	# The file is rewritten: its mtime moves, and no temporary file is left beside it.
	mt=$(stat -c %Y "$D/tf/canteen.prom")
	newer() { [ "$(stat -c %Y "$D/tf/canteen.prom")" -gt "$mt" ]; }
	wait_until 10 newer
	[ "$(ls -A "$D/tf" | grep -v '^canteen.prom$' | grep -c .)" -le 1 ]
	# Stopped by SIGTERM: it exits 0.
	pid=$(pid_of writer)
	kill -TERM "$pid"
	gone() { ! kill -0 "$pid" 2>/dev/null; }
	wait_until 10 gone
	run wait "$pid"
	[ "$status" -eq 0 ]
}

@test "metrics: --textfile refuses a symbolic link, a name node_exporter ignores, a missing directory" {
	mkdir -p "$D/tf"
	echo keep > "$D/target"
	ln -s "$D/target" "$D/tf/link.prom"
	run canteen -c /dev/null --rundir "$RUN" metrics --textfile "$D/tf/link.prom"
	[ "$status" -eq 2 ]
	[[ "$output" == *"not a regular file (a symbolic link)"* ]]
	[ "$(cat "$D/target")" = keep ]
	[ -L "$D/tf/link.prom" ]
	run canteen -c /dev/null --rundir "$RUN" metrics --textfile "$D/tf/canteen.txt"
	[ "$status" -eq 2 ]
	[[ "$output" == *"must end in .prom"* ]]
	run canteen -c /dev/null --rundir "$RUN" metrics --textfile "$D/nodir/canteen.prom"
	[ "$status" -eq 2 ]
	[[ "$output" == *"No such file or directory"* ]]
	mkdir "$D/tf/dir.prom"
	run canteen -c /dev/null --rundir "$RUN" metrics --textfile "$D/tf/dir.prom"
	[ "$status" -eq 2 ]
	run canteen -c /dev/null --rundir "$RUN" metrics --interval 5s
	[ "$status" -eq 2 ]
	[[ "$output" == *"--interval needs --textfile"* ]]
	run canteen -c /dev/null --rundir "$RUN" metrics --textfile "$D/tf/c.prom" --interval 10ms
	[ "$status" -eq 2 ]
	[[ "$output" == *"out of range"* ]]
	run canteen -c /dev/null --rundir "$RUN" metrics --timeout 2x
	[ "$status" -eq 2 ]
	# Nothing was written by the refused commands.
	[ "$(ls -A "$D/tf" | sort | tr '\n' ' ')" = "dir.prom link.prom " ]
	# Once, with nothing answering: the file says so (canteen_up 0) and the status is 1.
	run canteen -c /dev/null --rundir "$RUN" metrics --textfile "$D/tf/canteen.prom"
	[ "$status" -eq 1 ]
	grep -q '^canteen_up{daemon="init"} 0$' "$D/tf/canteen.prom"
	promtool check metrics < "$D/tf/canteen.prom"
}
