#!/usr/bin/env bats
# dockerd.bats: canteen-dockerd against the real Docker daemon, with a local busybox image.
# needs: docker
load lib/common

IMG=canteen-test/busybox:1

setup() {
	RUN=$(mk_rundir)
	SOCK=$RUN/dockerd.sock
	NODE=0x$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
	OTHER=0x$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
	# Service names unique to this test: the shared dockerd may hold others' containers.
	SVC=t$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	DOCKER_SOCK=/var/run/docker.sock
	REQ_ID=0
	"$TOP/tests/lib/image.sh" "$IMG"
}

teardown() {
	stop_started
	# Under SAN=1 a sanitizer report in canteen-dockerd's log fails the test.
	if grep -l 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/dd*.log 2>/dev/null; then
		grep -h -A20 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/dd*.log
		san_failed=1
	fi
	for n in "$NODE" "$OTHER"; do
		ids=$(docker ps -aq --filter "label=io.canteen.node=$n" 2>/dev/null)
		[ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
	done
	vols=$(docker volume ls -q --filter "label=io.canteen.service=$SVC" 2>/dev/null)
	[ -z "$vols" ] || docker volume rm $vols >/dev/null 2>&1 || true
	if [ -n "${PRIV:-}" ]; then
		stop_private_dockerd
		rm -rf "$PRIV" 2>/dev/null || true
	fi
	[ -z "${san_failed:-}" ]
}

# start_dd [FLAGS...]: canteen-dockerd for $NODE on $DOCKER_SOCK, waits for its socket.
start_dd() {
	rm -f "$SOCK"
	start_bg dd "$BIN/canteen-dockerd" -d "$RUN" --node "$NODE" --advertise-addr 127.0.0.1 \
		--stop-grace 1s --docker-host "$DOCKER_SOCK" "$@"
	wait_until 5 test -S "$SOCK"
}

# start_feed: an open connection standing in for canteen-sched; send_set writes to it.
start_feed() {
	FIFO=$BATS_TEST_TMPDIR/feed.fifo
	[ -p "$FIFO" ] || mkfifo "$FIFO"
	: > "$BATS_TEST_TMPDIR/feed.log"
	start_bg feed "$TBIN/dockerd_feed" "$SOCK" "$FIFO"
	wait_until 5 test -s "$BATS_TEST_TMPDIR/feed.pid"
}

# send_set SPEC...: the desired set for $NODE; waits for the answer, which is printed.
send_set() {
	REQ_ID=$((REQ_ID + 1))
	local IFS=,
	local line
	line=$(printf '{"op":"desired","id":%d,"node":"%s","containers":[%s]}' "$REQ_ID" "$NODE" "$*")
	# The FIFO blocks until the feed has it open: bounded, so a dead feed fails the test.
	timeout 5 bash -c 'printf "%s\n" "$1" > "$2"' _ "$line" "$FIFO"
	wait_until 5 grep -q "\"id\":$REQ_ID[,}]" "$BATS_TEST_TMPDIR/feed.log"
	grep "\"id\":$REQ_ID[,}]" "$BATS_TEST_TMPDIR/feed.log"
}

# spec REPLICA GENERATION [HOSTPORT|-] [COMMAND-JSON] [SERVICE]
spec() {
	local ports='[]' cmd=${4:-'["sleep","3600"]'} svc=${5:-$SVC}
	[ "${3:--}" = - ] || ports="[{\"host\":$3,\"container\":80,\"proto\":\"tcp\"}]"
	printf '{"service":"%s","replica":%d,"generation":%d,"image":"%s","command":%s,"env":["CANTEEN_TEST=1"],"cpu_millis":250,"mem_mib":64,"ports":%s}' \
		"$svc" "$1" "$2" "$IMG" "$cmd" "$ports"
}

dk() { DOCKER_HOST=unix://$DOCKER_SOCK docker "$@"; }
count_running() { dk ps -q --filter "label=io.canteen.node=$NODE" --filter status=running | wc -l; }
count_all() { dk ps -aq --filter "label=io.canteen.node=$NODE" | wc -l; }
running_is() { [ "$(count_running)" -eq "$1" ] && [ "$(count_all)" -eq "$1" ]; }
ps_json() { "$TBIN/ipc_tool" request "$SOCK" '{"op":"ps"}'; }
ids_and_starts() {
	dk ps -aq --filter "label=io.canteen.node=$NODE" | sort |
		xargs -r docker -H "unix://$DOCKER_SOCK" inspect --format '{{.Id}} {{.State.StartedAt}}' | sort
}

subscribe_events() {
	start_bg events "$TBIN/ipc_tool" subscribe "$SOCK" 0 600000
	wait_until 5 grep -q '"type":"snapshot"' "$BATS_TEST_TMPDIR/events.log"
}

@test "dockerd: 5 desired containers run with their limits, ports and labels; 2 left after shrinking" {
	start_dd
	start_feed
	local ports=() set=()
	for r in 0 1 2 3 4; do
		ports[r]=$(free_port)
		set+=("$(spec "$r" 1 "${ports[r]}")")
	done
	run send_set "${set[@]}"
	[[ "$output" == *'"type":"ok"'* ]]
	wait_until 20 running_is 5 || {
		dk ps -a --filter "label=io.canteen.node=$NODE" --format '{{.Names}} {{.Status}} {{.Ports}}'
		tail -n 30 "$BATS_TEST_TMPDIR/dd.log"
		false
	}
	for r in 0 1 2 3 4; do
		out=$(dk inspect --format '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{json .HostConfig.PortBindings}} {{index .Config.Labels "io.canteen.service"}} {{index .Config.Labels "io.canteen.replica"}} {{index .Config.Labels "io.canteen.generation"}} {{index .Config.Labels "io.canteen.node"}} {{json .Config.Cmd}} {{json .Config.Env}} {{.Config.Hostname}}' "canteen.$SVC.$r")
		echo "$out"
		# Each replica knows who it is: the identity variables and SERVICE-REPLICA as hostname.
		[ "$out" = "250000000 67108864 {\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"${ports[r]}\"}]} $SVC $r 1 $NODE [\"sleep\",\"3600\"] [\"CANTEEN_TEST=1\",\"CANTEEN_SERVICE=$SVC\",\"CANTEEN_REPLICA=$r\",\"CANTEEN_NODE=$NODE\"] $SVC-$r" ]
	done
	# The same set again changes nothing.
	before=$(ids_and_starts)
	run send_set "${set[@]}"
	ps_json | jqe '.containers | length == 5 and all(.state == "running")'
	[ "$(ids_and_starts)" = "$before" ]
	run send_set "${set[0]}" "${set[1]}"
	wait_until 15 running_is 2
	dk inspect "canteen.$SVC.0" "canteen.$SVC.1" >/dev/null
	! dk inspect "canteen.$SVC.2" >/dev/null 2>&1
	ps_json | jqe '.containers | length == 2'
}

@test "dockerd: a generation bump replaces replicas one at a time, new before old without ports" {
	start_dd
	start_feed
	subscribe_events
	send_set "$(spec 0 1)" "$(spec 1 1)" "$(spec 2 1)"
	wait_until 20 running_is 3
	old=$(ids_and_starts)
	# A new generation that runs something else (the command changed).
	local cmd='["sleep","3601"]'
	send_set "$(spec 0 2 - "$cmd")" "$(spec 1 2 - "$cmd")" "$(spec 2 2 - "$cmd")"
	wait_until 30 bash -c "[ \$(docker ps -q --filter label=io.canteen.node=$NODE --filter label=io.canteen.generation=2 --filter status=running | wc -l) -eq 3 ] && [ \$(docker ps -aq --filter label=io.canteen.node=$NODE | wc -l) -eq 3 ]"
	# Every old container is gone, every name is back to canteen.<service>.<replica>.
	for id in $(echo "$old" | cut -d' ' -f1); do ! dk inspect "$id" >/dev/null 2>&1; done
	for r in 0 1 2; do dk inspect --format '{{index .Config.Labels "io.canteen.generation"}}' "canteen.$SVC.$r" | grep -qx 2; done
	# Without a policy from the chain: batches of one (replica r waits until r - 1 runs the
	# new version and its old container is gone), new before old: at every point, old ones removed <= new ones started,
	# and at most one new one started ahead of the removals.
	jq -c 'select(.type == "container.started" or .type == "container.removed") | [.type, .generation]' \
		"$BATS_TEST_TMPDIR/events.log" > "$BATS_TEST_TMPDIR/seq"
	cat "$BATS_TEST_TMPDIR/seq"
	awk 'BEGIN { s = 0; r = 0 }
	     /started",2/ { s++ } /removed",1/ { r++ }
	     { if (r > s || s - r > 1) { print "bad order at line " NR; exit 1 } }
	     END { if (s != 3 || r != 3) { print "counts " s " " r; exit 1 } }' "$BATS_TEST_TMPDIR/seq"
}

@test "dockerd: a generation bump that runs the same thing (a scale) restarts nothing" {
	start_dd
	start_feed
	p0=$(free_port)
	send_set "$(spec 0 1 "$p0")" "$(spec 1 1)"
	wait_until 20 running_is 2
	before=$(ids_and_starts)
	# The service was scaled: generation 2, one more replica, the same container spec.
	run send_set "$(spec 0 2 "$p0")" "$(spec 1 2)" "$(spec 2 2)"
	[[ "$output" == *'"type":"ok"'* ]]
	wait_until 20 running_is 3
	after=$(ids_and_starts)
	echo "before: $before"; echo "after: $after"
	while read -r line; do grep -qxF "$line" <<<"$after"; done <<<"$before"
	dk inspect --format '{{index .Config.Labels "io.canteen.generation"}}' "canteen.$SVC.2" | grep -qx 2
	# The spec label is what lets it tell: a hash, the same on the old and the new replica's
	# container when their specs match apart from the replica.
	s0=$(dk inspect --format '{{index .Config.Labels "io.canteen.spec"}}' "canteen.$SVC.0")
	s1=$(dk inspect --format '{{index .Config.Labels "io.canteen.spec"}}' "canteen.$SVC.1")
	s2=$(dk inspect --format '{{index .Config.Labels "io.canteen.spec"}}' "canteen.$SVC.2")
	[[ "$s1" =~ ^[0-9a-f]{32}$ ]] && [ "$s1" = "$s2" ] && [ "$s0" != "$s1" ]
	# Adopted after a restart, their labels still say so: another bump changes nothing.
	kill -KILL "$(pid_of dd)"
	kill -TERM "$(pid_of feed)" 2>/dev/null || true
	start_dd
	wait_until 5 grep -q 'Docker is ready' "$BATS_TEST_TMPDIR/dd.log"
	start_feed
	run send_set "$(spec 0 3 "$p0")" "$(spec 1 3)" "$(spec 2 3)"
	[[ "$output" == *'"type":"ok"'* ]]
	ps_json | jqe '.containers | length == 3 and all(.state == "running")'
	[ "$(ids_and_starts)" = "$after" ]
}

@test "dockerd: with ports, a generation bump removes the old one first, one replica at a time" {
	start_dd
	start_feed
	subscribe_events
	p0=$(free_port); p1=$(free_port)
	send_set "$(spec 0 1 "$p0")" "$(spec 1 1 "$p1")"
	wait_until 20 running_is 2
	local cmd='["sleep","3601"]'
	send_set "$(spec 0 5 "$p0" "$cmd")" "$(spec 1 5 "$p1" "$cmd")"
	wait_until 30 bash -c "[ \$(docker ps -q --filter label=io.canteen.node=$NODE --filter label=io.canteen.generation=5 --filter status=running | wc -l) -eq 2 ]"
	wait_until 10 running_is 2
	jq -c 'select(.type == "container.started" or .type == "container.removed") | [.type, .generation]' \
		"$BATS_TEST_TMPDIR/events.log" > "$BATS_TEST_TMPDIR/seq"
	cat "$BATS_TEST_TMPDIR/seq"
	# Removed old before its new one started, and never two replicas down at once.
	awk '/started",5/ { s++ } /removed",1/ { r++ }
	     { if (r - s > 1 || s > r) { print "bad order at line " NR; exit 1 } }
	     END { if (s != 2 || r != 2) exit 1 }' "$BATS_TEST_TMPDIR/seq"
}

@test "dockerd: a container killed from outside is restarted within 2 s; one that exits at once backs off" {
	start_dd
	start_feed
	send_set "$(spec 0 1)" "$(spec 1 1 - '["false"]')"
	wait_until 20 bash -c "docker inspect --format '{{.State.Running}}' canteen.$SVC.0 | grep -qx true"
	id=$(dk inspect --format '{{.Id}}' "canteen.$SVC.0")
	dk kill "canteen.$SVC.0" >/dev/null
	wait_until 2 bash -c "[ \"\$(docker inspect --format '{{.State.Running}} {{.State.ExitCode}}' $id)\" = 'true 0' ]"
	# Same container, started again, counted.
	ps_json | jqe --arg s "$SVC" '.containers[] | select(.service == $s and .replica == 0) | .restarts == 1 and .state == "running"'
	# The crashing one: a crash loop with growing delays, not a hot loop.
	wait_until 10 bash -c "'$TBIN/ipc_tool' request '$SOCK' '{\"op\":\"ps\"}' | jqe --arg s $SVC '.containers[] | select(.service == \$s and .replica == 1) | .state == \"crashloop\"'"
	sleep 3   # a hot loop would restart it dozens of times in this window
	n=$(ps_json | jq --arg s "$SVC" '.containers[] | select(.service == $s and .replica == 1) | .restarts')
	echo "restarts after ~5 s: $n"
	[ "$n" -ge 1 ] && [ "$n" -le 4 ]
	grep -q 'restart in 2000 ms' "$BATS_TEST_TMPDIR/dd.log"
}

@test "dockerd: SIGKILLed and restarted, it adopts running containers without restarting them" {
	start_dd
	start_feed
	send_set "$(spec 0 1)" "$(spec 1 1)" "$(spec 2 1)"
	wait_until 20 running_is 3
	before=$(ids_and_starts)
	kill -KILL "$(pid_of dd)"
	kill -TERM "$(pid_of feed)" 2>/dev/null || true
	start_dd
	wait_until 5 grep -q 'Docker is ready' "$BATS_TEST_TMPDIR/dd.log"
	grep -q '3 containers of node' "$BATS_TEST_TMPDIR/dd.log"
	# No desired set yet: nothing is touched. Then the same set: still nothing.
	[ "$(ids_and_starts)" = "$before" ]
	start_feed
	send_set "$(spec 0 1)" "$(spec 1 1)" "$(spec 2 1)"
	ps_json | jqe '.containers | length == 3 and all(.state == "running" and .restarts == 0)'
	[ "$(ids_and_starts)" = "$before" ]
	running_is 3
}

@test "dockerd: a container that died while it was down stays down until the desired set asks for it" {
	start_dd
	start_feed
	send_set "$(spec 0 1)" "$(spec 1 1)"
	wait_until 20 running_is 2
	kill -KILL "$(pid_of dd)"
	kill -TERM "$(pid_of feed)" 2>/dev/null || true
	# The server was down: its container died meanwhile (its replica may run elsewhere now).
	id=$(dk inspect --format '{{.Id}}' "canteen.$SVC.1")
	dk kill "$id" >/dev/null
	start_dd
	wait_until 5 grep -q '2 containers of node' "$BATS_TEST_TMPDIR/dd.log"
	wait_until 5 bash -c "ps_json() { \"$TBIN/ipc_tool\" request \"$SOCK\" '{\"op\":\"ps\"}'; }; ps_json | jqe '.containers | length == 2'"
	[ "$(dk inspect --format '{{.State.Running}}' "$id")" = false ]
	! grep -q "started canteen.$SVC.1" <(sed -n '/Docker is ready/,$p' "$BATS_TEST_TMPDIR/dd.log")
	# The desired set still has it: started again, the same container.
	start_feed
	send_set "$(spec 0 1)" "$(spec 1 1)"
	wait_until 10 bash -c "[ \"\$(docker inspect --format '{{.State.Running}}' $id)\" = true ]"
	running_is 2
}

@test "dockerd: fail static: with canteen-sched gone nothing is removed; when it is back, it is" {
	start_dd
	start_feed
	send_set "$(spec 0 1)"
	wait_until 20 running_is 1
	kill -TERM "$(pid_of feed)"
	wait_until 5 grep -q 'canteen-sched disconnected' "$BATS_TEST_TMPDIR/dd.log"
	# A stray container with our node label appears; sched is away, so it stays.
	dk run -d --name "canteen.$SVC.9" --label "io.canteen.node=$NODE" --label io.canteen.cluster=0:none --label "io.canteen.service=$SVC" \
		--label io.canteen.replica=9 --label io.canteen.generation=1 "$IMG" sleep 3600 >/dev/null
	wait_until 5 bash -c "'$TBIN/ipc_tool' request '$SOCK' '{\"op\":\"ps\"}' | jqe '.containers | length == 2'"
	sleep 1
	running_is 2
	start_feed
	send_set "$(spec 0 1)"
	wait_until 10 running_is 1
	dk inspect "canteen.$SVC.0" >/dev/null
}

@test "dockerd: another node's containers in the same dockerd are untouched" {
	dk run -d --name "canteen.$SVC.0" --label "io.canteen.node=$OTHER" --label "io.canteen.service=$SVC" \
		--label io.canteen.replica=0 --label io.canteen.generation=1 "$IMG" sleep 3600 >/dev/null
	theirs=$(dk inspect --format '{{.Id}} {{.State.StartedAt}}' "canteen.$SVC.0")
	start_dd
	start_feed
	# Ours wants the same name: it gets a node-specific one instead of touching theirs.
	send_set "$(spec 0 1)" "$(spec 1 1)"
	wait_until 20 running_is 2
	send_set "$(spec 1 1)"
	wait_until 15 running_is 1
	send_set
	wait_until 15 running_is 0
	[ "$(dk inspect --format '{{.Id}} {{.State.StartedAt}}' "canteen.$SVC.0")" = "$theirs" ]
	[ "$(dk inspect --format '{{.State.Running}}' "canteen.$SVC.0")" = true ]
}

@test "dockerd: malformed specs get error events naming the service and never reach Docker" {
	start_dd
	start_feed
	subscribe_events
	bad=(
		"$(spec 0 1 - '["sleep","3600"]' 'Bad_Name')"
		"$(spec 0 1 | sed "s|\"$IMG\"|\"UPPER/Case::x\"|; s|\"service\":\"$SVC\"|\"service\":\"${SVC}img\"|")"
		"$(spec 0 1 70000 '["sleep","3600"]' "${SVC}port")"
		"$(spec 0 1 | sed "s|\"mem_mib\":64|\"mem_mib\":1|; s|\"service\":\"$SVC\"|\"service\":\"${SVC}mem\"|")"
		"$(spec 0 1 | sed "s|\"cpu_millis\":250|\"cpu_millis\":-5|; s|\"service\":\"$SVC\"|\"service\":\"${SVC}cpu\"|")"
		"$(spec 0 1 | sed "s|\"env\":\\[\"CANTEEN_TEST=1\"\\]|\"env\":[\"no equals\"]|; s|\"service\":\"$SVC\"|\"service\":\"${SVC}env\"|")"
	)
	run send_set "${bad[@]}" "$(spec 3 1)"
	echo "$output"
	echo "$output" | jqe '.type == "ok" and .accepted == 1 and (.rejected | length) == 6'
	for s in Bad_Name "${SVC}img" "${SVC}port" "${SVC}mem" "${SVC}cpu" "${SVC}env"; do
		wait_until 5 grep -q "\"type\":\"error\".*\"service\":\"$s\"\\|\"service\":\"$s\".*\"type\":\"error\"" "$BATS_TEST_TMPDIR/events.log"
	done
	wait_until 20 running_is 1
	dk inspect "canteen.$SVC.3" >/dev/null
	[ -z "$(dk ps -aq --filter "name=${SVC}img" --filter "name=${SVC}port" --filter "name=${SVC}mem" --filter "name=${SVC}cpu" --filter "name=${SVC}env")" ]
	# A set for another node, or not a set at all, is refused whole.
	run "$TBIN/ipc_tool" request "$SOCK" "{\"op\":\"desired\",\"node\":\"$OTHER\",\"containers\":[]}"
	[[ "$output" == *'"type":"error"'* ]]
	run "$TBIN/ipc_tool" request "$SOCK" '{"op":"desired","node":"0x12","containers":{}}'
	[[ "$output" == *'"type":"error"'* ]]
	run "$TBIN/ipc_tool" request "$SOCK" '{"op":"nonsense"}'
	[[ "$output" == *'unknown op'* ]]
	running_is 1
}

@test "dockerd: an image that cannot be pulled gets error events with Docker's reason and retries, others go on" {
	start_dd
	start_feed
	subscribe_events
	# A registry on a closed loopback port: the pull fails at once, without the network.
	local bad
	bad=$(spec 0 1 | sed "s|\"$IMG\"|\"127.0.0.1:1/canteen-none:1\"|; s|\"service\":\"$SVC\"|\"service\":\"${SVC}pull\"|")
	send_set "$bad" "$(spec 1 1)"
	wait_until 20 running_is 1
	wait_until 10 grep -q "\"service\":\"${SVC}pull\".*pull of 127.0.0.1:1/canteen-none:1 failed\|pull of 127.0.0.1:1/canteen-none:1 failed.*\"service\":\"${SVC}pull\"" "$BATS_TEST_TMPDIR/events.log"
	ps_json | jqe --arg s "${SVC}pull" '.containers[] | select(.service == $s) | .state == "pending"'
	# Docker's own words (its answer to the pull, not "no message") reach the log, the error
	# event and the pending replica's reason.
	grep -q 'pull of 127.0.0.1:1/canteen-none:1 failed: .*connection refused' "$BATS_TEST_TMPDIR/dd.log"
	grep "\"service\":\"${SVC}pull\"" "$BATS_TEST_TMPDIR/events.log" | grep -q 'connection refused'
	ps_json | jqe --arg s "${SVC}pull" '.containers[] | select(.service == $s) |
		.reason | startswith("pull of 127.0.0.1:1/canteen-none:1 failed: ") and contains("connection refused")'
	# It is retried with back-off: a second attempt within a few seconds.
	wait_until 10 bash -c "[ \$(grep -c 'pulling 127.0.0.1:1/canteen-none:1' '$BATS_TEST_TMPDIR/dd.log') -ge 2 ]"
}

# A private dockerd on its own sockets and directories, in a network namespace of its own:
# stopping it disturbs nobody, and --bridge=none (which deletes the default bridge of the
# namespace it runs in) cannot take the shared dockerd's docker0 away.
start_private_dockerd() {
	setsid unshare --net dockerd --host "unix://$PRIV/docker.sock" --data-root "$PRIV/data" --exec-root "$PRIV/exec" \
		--pidfile "$PRIV/dockerd.pid" --bridge=none --iptables=false --ip-masq=false \
		--shutdown-timeout 1 >>"$PRIV/dockerd.log" 2>&1 < /dev/null &
	echo $! > "$PRIV/dockerd.started"
	wait_until 30 curl -sf --unix-socket "$PRIV/docker.sock" http://localhost/_ping
}

stop_private_dockerd() {
	local pid
	pid=$(cat "$PRIV/dockerd.started" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	wait_until 30 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null
	# Its containerd (started by it, under our exec-root) goes with it.
	# ("[c]" keeps the pattern from matching this very command line.)
	wait_until 10 bash -c "! pgrep -f '$PRIV/exec/[c]ontainerd' >/dev/null" || true
}

@test "dockerd: Docker stopped and started under it: reconnects and converges without duplicates" {
	command -v dockerd >/dev/null || skip "dockerd not installed"
	PRIV=$(mktemp -d /tmp/cdk.XXXXXX)   # short: containerd's socket path must fit
	DOCKER_SOCK=$PRIV/docker.sock
	start_private_dockerd
	DOCKER_HOST=unix://$DOCKER_SOCK "$TOP/tests/lib/image.sh" "$IMG"
	start_dd
	start_feed
	# A shell that leaves on SIGTERM, so the daemon's shutdown does not wait 10 s for it.
	local cmd='["sh","-c","trap exit TERM; sleep 3600 & wait"]'
	send_set "$(spec 0 1 - "$cmd")" "$(spec 1 1 - "$cmd")" "$(spec 2 1 - "$cmd")"
	wait_until 20 running_is 3
	stop_private_dockerd
	wait_until 10 grep -q 'Docker is unreachable' "$BATS_TEST_TMPDIR/dd.log"
	ps_json | jqe '.containers | length == 3'
	start_private_dockerd
	wait_until 30 running_is 3
	# Converged: the same three containers restarted, none created twice.
	sleep 1
	running_is 3
	[ "$(grep -c '^canteen-dockerd: created' "$BATS_TEST_TMPDIR/dd.log")" -eq 3 ]
}

# spec5 REPLICA GENERATION COMMAND-JSON: spec with version 5's options (health, a volume, read-only root).
spec5() {
	spec "$1" "$2" - "$3" | jq -c '. + {health: {cmd: ["CMD-SHELL", "test -d /data"], interval_ms: 1000,
		timeout_ms: 900, start_period_ms: 200, retries: 2}, volumes: ["data:/data", "conf:/conf:ro"], read_only: true}'
}

@test "dockerd: version 5 options reach Docker: healthcheck, read-only root, a named volume per replica kept across a replacement" {
	start_dd
	start_feed
	send_set "$(spec5 0 1 '["sleep","3600"]')" "$(spec5 1 1 '["sleep","3600"]')"
	wait_until 20 running_is 2
	out=$(dk inspect --format '{{json .Config.Healthcheck}} {{.HostConfig.ReadonlyRootfs}}' "canteen.$SVC.0")
	echo "$out"
	[ "$out" = '{"Test":["CMD-SHELL","test -d /data"],"Interval":1000000000,"Timeout":900000000,"StartPeriod":200000000,"Retries":2} true' ]
	dk inspect --format '{{json .Mounts}}' "canteen.$SVC.0" | jq -c 'sort_by(.Destination)[] | [.Type, .Destination, .RW]' > "$BATS_TEST_TMPDIR/m"
	cat "$BATS_TEST_TMPDIR/m"
	[ "$(cat "$BATS_TEST_TMPDIR/m" | tr '\n' ' ')" = '["volume","/conf",false] ["volume","/data",true] ["bind","/run/canteen",false] ' ]
	v0=$(dk inspect --format '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}' "canteen.$SVC.0")
	v1=$(dk inspect --format '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}' "canteen.$SVC.1")
	echo "volumes $v0 $v1"
	[[ "$v0" == canteen.*".$SVC.0.data" ]] && [[ "$v1" == canteen.*".$SVC.1.data" ]]
	# the volume is labelled with whose it is
	[ "$(dk volume inspect --format '{{index .Labels "io.canteen.service"}} {{index .Labels "io.canteen.replica"}} {{index .Labels "io.canteen.volume"}} {{index .Labels "io.canteen.cluster"}}' "$v0")" = "$SVC 0 data 0:none" ]
	# the root is read-only, the volume is not, a :ro volume is not either
	! dk exec "canteen.$SVC.0" sh -c 'echo x > /rootfile'
	! dk exec "canteen.$SVC.0" sh -c 'echo x > /conf/f'
	dk exec "canteen.$SVC.0" sh -c 'echo kept > /data/f'
	# replica 1 has a volume of its own
	! dk exec "canteen.$SVC.1" test -e /data/f
	# Docker runs the health check: healthy
	wait_until 20 bash -c "[ \"\$(DOCKER_HOST=unix://$DOCKER_SOCK docker inspect --format '{{.State.Health.Status}}' canteen.$SVC.0)\" = healthy ]"
	# an update that changes the container replaces it; the replica keeps its data
	old=$(dk inspect --format '{{.Id}}' "canteen.$SVC.0")
	send_set "$(spec5 0 2 '["sleep","3601"]')" "$(spec5 1 2 '["sleep","3601"]')"
	wait_until 30 bash -c "[ \$(docker ps -q --filter label=io.canteen.node=$NODE --filter label=io.canteen.generation=2 --filter status=running | wc -l) -eq 2 ] && [ \$(docker ps -aq --filter label=io.canteen.node=$NODE | wc -l) -eq 2 ]"
	[ "$(dk inspect --format '{{.Id}}' "canteen.$SVC.0")" != "$old" ]
	[ "$(dk exec "canteen.$SVC.0" cat /data/f)" = kept ]
	# the options are in the spec hash: dropping read_only replaces the container again
	old=$(dk inspect --format '{{.Id}}' "canteen.$SVC.0")
	send_set "$(spec5 0 3 '["sleep","3601"]' | jq -c 'del(.read_only)')"
	wait_until 30 bash -c "[ \"\$(DOCKER_HOST=unix://$DOCKER_SOCK docker inspect --format '{{.HostConfig.ReadonlyRootfs}} {{index .Config.Labels \"io.canteen.generation\"}}' canteen.$SVC.0 2>/dev/null)\" = 'false 3' ]"
	[ "$(dk exec "canteen.$SVC.0" cat /data/f)" = kept ]
	dk exec "canteen.$SVC.0" sh -c 'echo x > /rootfile'
}

@test "dockerd: --no-healthcheck is Test NONE; a spec breaking the run rules on options never reaches Docker" {
	start_dd
	start_feed
	run send_set "$(spec 0 1 | jq -c '. + {health: {disabled: true}}')" \
		"$(spec 1 1 | jq -c '. + {volumes: ["d:/a/../etc"]}')" \
		"$(spec 2 1 | jq -c '. + {health: {cmd: ["CMD-SHELL", "a", "b"]}}')"
	echo "$output"
	[[ "$output" == *'component'* ]] && [[ "$output" == *'one non-empty shell command'* ]]
	wait_until 20 running_is 1
	[ "$(dk inspect --format '{{json .Config.Healthcheck.Test}}' "canteen.$SVC.0")" = '["NONE"]' ]
}

# ps_has JQ-CONDITION: some container in dockerd's ps answers to it.
ps_has() { ps_json | jqe ".containers[] | select($1)" > /dev/null; }

@test "dockerd: health: a replica whose check passes is healthy; one whose check fails is unhealthy, then restarted with the back-off" {
	start_dd
	start_feed
	subscribe_events
	local hc='{cmd: ["CMD-SHELL", "test -f /tmp/ok"], interval_ms: 300, timeout_ms: 1000, retries: 1}'
	send_set "$(spec 0 1 - '["sh","-c","touch /tmp/ok; exec sleep 3600"]' | jq -c ". + {health: $hc}")" \
		"$(spec 1 1 - '["sleep","3600"]' | jq -c ". + {health: $hc}")"
	wait_until 20 running_is 2
	# dockerd says each replica's health as Docker finds it
	wait_until 20 ps_has '.replica == 0 and .health == "healthy"'
	wait_until 30 ps_has '.replica == 1 and .restarts >= 1'
	wait_until 5 bash -c 'jqe "select(.type == \"container.health\" and .replica == 1 and .health == \"unhealthy\")" < "$1"' _ "$BATS_TEST_TMPDIR/events.log"
	grep -q 'unhealthy: restarting it' "$BATS_TEST_TMPDIR/dd.log"
	# the healthy one is never restarted
	[ "$(ps_json | jq '.containers[] | select(.replica == 0) | .restarts')" = 0 ]
	# it keeps failing: restarted again, after the back-off
	wait_until 30 ps_has '.replica == 1 and .restarts >= 2'
	ps_json | jq -c '.containers[] | [.replica, .state, .health, .restarts, .reason]'
}
