#!/usr/bin/env bats
# sec_policy.bats: what a service spec can make a server do: canteen-dockerd's node policy
# (ports, images, limits, hardening), pull time-outs and the cluster label, on real Docker.
# needs: docker
load lib/common
load sched

IMG=canteen-test/busybox:1
CA=0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
CB=0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb

setup() {
	RUN=$(mk_rundir)
	SOCK=$RUN/dockerd.sock
	NODE=0x$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
	# Service names unique to this test: the shared dockerd may hold others' containers.
	SVC=t$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	REQ_ID=0
	"$TOP/tests/lib/image.sh" "$IMG"
}

teardown() {
	stop_started
	if grep -l 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/dd*.log 2>/dev/null; then
		grep -h -A20 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/dd*.log
		san_failed=1
	fi
	ids=$(docker ps -aq --filter "label=io.canteen.node=$NODE" 2>/dev/null)
	[ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
	[ -z "${san_failed:-}" ]
}

# conf NAME KEY=VALUE...: a canteen.conf at $BATS_TEST_TMPDIR/NAME.conf.
conf() {
	local f=$BATS_TEST_TMPDIR/$1.conf kv; shift
	: > "$f"
	for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}" >> "$f"; done
	echo "$f"
}

# start_dd NAME RUNDIR CONF [FLAGS...]: canteen-dockerd for $NODE, waits for Docker.
start_dd() {
	local name=$1 dir=$2 cf=$3; shift 3
	rm -f "$dir/dockerd.sock"
	start_bg "$name" "$BIN/canteen-dockerd" -c "$cf" -d "$dir" --node "$NODE" \
		--advertise-addr 127.0.0.1 --stop-grace 1s "$@"
	wait_until 10 grep -q 'Docker is ready' "$BATS_TEST_TMPDIR/$name.log"
}

# start_feed NAME RUNDIR: an open connection standing in for canteen-sched.
start_feed() {
	local fifo=$BATS_TEST_TMPDIR/$1.fifo
	[ -p "$fifo" ] || mkfifo "$fifo"
	start_bg "$1" "$TBIN/dockerd_feed" "$2/dockerd.sock" "$fifo"
	wait_until 5 test -s "$BATS_TEST_TMPDIR/$1.pid"
}

# send_set FEED SPEC...: the desired set for $NODE through FEED; prints the answer.
send_set() {
	local feed=$1; shift
	REQ_ID=$((REQ_ID + 1))
	local IFS=, line
	line=$(printf '{"op":"desired","id":%d,"node":"%s","containers":[%s]}' "$REQ_ID" "$NODE" "$*")
	timeout 5 bash -c 'printf "%s\n" "$1" > "$2"' _ "$line" "$BATS_TEST_TMPDIR/$feed.fifo"
	wait_until 5 grep -q "\"id\":$REQ_ID[,}]" "$BATS_TEST_TMPDIR/$feed.log"
	grep "\"id\":$REQ_ID[,}]" "$BATS_TEST_TMPDIR/$feed.log"
}

# spec SERVICE [HOSTPORT|-] [IMAGE] [CPU] [MEM]: replica 0, generation 1.
spec() {
	local ports='[]'
	[ "${2:--}" = - ] || ports="[{\"host\":$2,\"container\":80,\"proto\":\"tcp\"}]"
	printf '{"service":"%s","replica":0,"generation":1,"image":"%s","command":["sleep","3600"],"env":[],"cpu_millis":%s,"mem_mib":%s,"ports":%s}' \
		"$1" "${3:-$IMG}" "${4:-250}" "${5:-64}" "$ports"
}

running() { [ "$(docker inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
gone() { ! docker inspect "$1" >/dev/null 2>&1; }
count_node() { docker ps -aq --filter "label=io.canteen.node=$NODE" "$@" | wc -l; }

@test "policy: host port 22 and an image outside policy_images are refused, pending 'rejected: by node policy (...)' in sched's summary" {
	local port
	port=$(free_port)
	cf=$(conf p "policy_images=canteen-test/*, sha256:$(printf 'ab%.0s' {1..32})")
	# The real sched and dockerd on one run directory; chain and SWIM scripted.
	feed_start chain "$RUN/chain.sock"
	feed_start swim "$RUN/swim.sock"
	start_dd dd "$RUN" "$cf"
	svc() { svc_json "$@" | jq -c --arg i "${IMAGE:-$IMG}" '.image = $i'; }
	chain_set "$RUN/chain.sock" "$(node_json "$NODE")" \
		"$(svc "${SVC}ssh" 1 22),$(IMAGE=127.0.0.1:1/other/x:1 svc "${SVC}img" 1),$(svc "${SVC}ok" 1 "$port")"
	feed "$RUN/swim.sock" "{\"op\":\"set\",\"snapshot\":{\"type\":\"snapshot\",\"self\":\"$NODE\",\"members\":[$(member_json "$NODE" alive)]}}" | grep -q ok
	sched_start sched "$RUN" "$NODE"
	wait_until 20 running "canteen.${SVC}ok.0"
	q='[.services[] | {(.name): [.placed, .pending, .reasons]}] | add | to_entries | sort_by(.key) | from_entries'
	want=$(jq -nc --arg s "$SVC" --arg p "$port" '{
		($s + "img"): [0, 1, {"rejected: by node policy (image 127.0.0.1:1/other/x:1 is not in policy_images)": 1}],
		($s + "ok"): [1, 0, {}],
		($s + "ssh"): [0, 1, {"rejected: by node policy (host port 22/tcp is outside policy_ports 1024-65535)": 1}]}')
	wait_until 10 answer_is "$RUN/sched.sock" '{"op":"summary"}' "$q" "$want" || {
		sched_req "$RUN" '{"op":"summary"}'; tail -n 20 "$BATS_TEST_TMPDIR/dd.log"; false; }
	# Nothing of theirs reached Docker, not even a pull (its registry is loopback port 1
	# anyway); the allowed one publishes its port.
	gone "canteen.${SVC}ssh.0"
	gone "canteen.${SVC}img.0"
	! grep -q "pulling 127.0.0.1:1/" "$BATS_TEST_TMPDIR/dd.log" || false
	[ "$(docker inspect --format '{{(index (index .HostConfig.PortBindings "80/tcp") 0).HostPort}}' "canteen.${SVC}ok.0")" = "$port" ]
	grep -q "refused the spec of service '${SVC}ssh' replica 0: by node policy" "$BATS_TEST_TMPDIR/dd.log"
}

@test "policy: CPU or memory above policy_max_* is refused; a spec's 0 (no limit) gets the default, or the cap" {
	cf=$(conf p policy_max_cpu_millis=1000 policy_max_mem_mib=256 policy_default_mem_mib=128 \
		policy_ports=none)
	start_dd dd "$RUN" "$cf"
	start_feed feed "$RUN"
	port=$(free_port)
	run send_set feed "$(spec "${SVC}cpu" - "$IMG" 4000 64)" "$(spec "${SVC}mem" - "$IMG" 250 1024)" \
		"$(spec "${SVC}port" "$port")" "$(spec "${SVC}zero" - "$IMG" 0 0)" "$(spec "${SVC}fit" - "$IMG" 500 200)"
	echo "$output"
	echo "$output" | jqe --arg s "$SVC" --arg p "$port" '.accepted == 2 and ([.rejected[] | [.service, .error]] | sort) == ([
		[$s + "cpu", "by node policy (cpu_millis 4000 is above policy_max_cpu_millis 1000)"],
		[$s + "mem", "by node policy (mem_mib 1024 is above policy_max_mem_mib 256)"],
		[$s + "port", "by node policy (host port \($p)/tcp is outside policy_ports none)"]] | sort)'
	wait_until 20 running "canteen.${SVC}zero.0"
	wait_until 20 running "canteen.${SVC}fit.0"
	# 0 CPU: no default, so the cap (1000 millicores); 0 memory: the default, 128 MiB.
	[ "$(docker inspect --format '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}' "canteen.${SVC}zero.0")" = "1000000000 134217728" ]
	[ "$(docker inspect --format '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}' "canteen.${SVC}fit.0")" = "500000000 209715200" ]
	[ "$(count_node)" = 2 ]
	# A tighter policy after a restart: the running container it refuses is removed (a
	# malformed spec's would be kept), the other adopted as it is.
	zero=$(docker inspect --format '{{.Id}} {{.State.StartedAt}}' "canteen.${SVC}zero.0")
	kill -TERM "$(pid_of feed)" "$(pid_of dd)"
	wait_until 5 grep -q 'exiting' "$BATS_TEST_TMPDIR/dd.log"
	start_dd dd2 "$RUN" "$(conf p2 policy_max_cpu_millis=1000 policy_max_mem_mib=150 \
		policy_default_mem_mib=128 policy_ports=none)"
	start_feed feed2 "$RUN"
	run send_set feed2 "$(spec "${SVC}zero" - "$IMG" 0 0)" "$(spec "${SVC}fit" - "$IMG" 500 200)"
	echo "$output" | jqe '.accepted == 1 and .rejected[0].error == "by node policy (mem_mib 200 is above policy_max_mem_mib 150)"'
	wait_until 15 gone "canteen.${SVC}fit.0"
	[ "$(docker inspect --format '{{.Id}} {{.State.StartedAt}}' "canteen.${SVC}zero.0")" = "$zero" ]
	# A policy dockerd cannot make sense of stops it at start, as a configuration error.
	for bad in policy_ports=80-20 policy_ports=0 policy_images=x::y policy_cap_drop=NET_FOO \
		policy_read_only=maybe policy_default_mem_mib=512; do
		run timeout 10 "$BIN/canteen-dockerd" -c "$(conf bad "$bad" policy_max_mem_mib=256)" -d "$BATS_TEST_TMPDIR" --node "$NODE"
		echo "$bad: $status $output"
		[ "$status" -eq 100 ]
		[[ "$output" == *"${bad%%=*}"* ]]
	done
}

@test "policy: containers run with no-new-privileges, a PIDs limit and dropped capabilities; policy_read_only makes / read-only" {
	cf=$(conf p policy_pids_limit=40 policy_read_only=yes)
	start_dd dd "$RUN" "$cf"
	start_feed feed "$RUN"
	send_set feed "$(spec "$SVC")"
	c=canteen.$SVC.0
	wait_until 20 running "$c"
	docker inspect --format '{{json .HostConfig.SecurityOpt}} {{.HostConfig.PidsLimit}} {{json .HostConfig.CapDrop}} {{.HostConfig.ReadonlyRootfs}}' "$c"
	[ "$(docker inspect --format '{{json .HostConfig.SecurityOpt}} {{.HostConfig.PidsLimit}} {{json .HostConfig.CapDrop}} {{.HostConfig.ReadonlyRootfs}}' "$c")" = \
		'["no-new-privileges"] 40 ["NET_RAW","MKNOD","SYS_CHROOT","AUDIT_WRITE"] true' ]
	# From inside: the kernel's view of the same.
	status=$(docker exec "$c" cat /proc/self/status)
	grep -qx $'NoNewPrivs:\t1' <<<"$status"
	bnd=$(awk '/^CapBnd:/ { print $2 }' <<<"$status")
	for bit in 13 27 18 29; do   # NET_RAW MKNOD SYS_CHROOT AUDIT_WRITE
		[ $(( 0x$bnd >> bit & 1 )) -eq 0 ]
	done
	[ $(( 0x$bnd >> 0 & 1 )) -eq 1 ]   # CHOWN stays
	run docker exec "$c" sh -c 'i=0; while [ $i -lt 60 ]; do sleep 30 & i=$((i+1)); done; echo spawned $i'
	[[ "$output" == *"can't fork"* ]]
	run docker exec "$c" touch /x
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	docker exec "$c" touch /tmp/x
}

@test "pull: a pull that hangs is aborted after pull_timeout_ms, its slot freed, and retried with back-off" {
	start_bg reg "$TBIN/hang_registry" "$BATS_TEST_TMPDIR/reg.port"
	wait_until 5 test -s "$BATS_TEST_TMPDIR/reg.port"
	hang=127.0.0.1:$(cat "$BATS_TEST_TMPDIR/reg.port")/canteen-hang-$SVC:1
	cf=$(conf p pull_timeout_ms=2s)
	# One Docker operation at a time: the hung pull holds the only slot while it lasts.
	start_dd dd "$RUN" "$cf" --parallel 1
	start_bg events "$TBIN/ipc_tool" subscribe "$SOCK" 0 600000
	wait_until 5 grep -q '"type":"snapshot"' "$BATS_TEST_TMPDIR/events.log"
	start_feed feed "$RUN"
	send_set feed "$(spec "${SVC}hang" - "$hang")" "$(spec "${SVC}ok")"
	wait_until 10 grep -q "held HEAD /v2/canteen-hang-$SVC/manifests/1" "$BATS_TEST_TMPDIR/reg.log"
	wait_until 10 grep -qF "\"error\":\"pull of $hang failed: no end after pull_timeout_ms (2000 ms): aborted\"" \
		"$BATS_TEST_TMPDIR/events.log"
	# The slot is free again: the other service's container runs.
	wait_until 15 running "canteen.${SVC}ok.0"
	# Tried again after the back-off, and aborted again.
	wait_until 15 bash -c "[ \$(grep -c 'pull of $hang failed' '$BATS_TEST_TMPDIR/dd.log') -ge 2 ]"
	[ "$(grep -c "held HEAD" "$BATS_TEST_TMPDIR/reg.log")" -ge 2 ]
	grep -q "retry in 2000 ms" "$BATS_TEST_TMPDIR/dd.log"
	# It stays pending, Docker was never thought lost.
	! grep -q "Docker is unreachable" "$BATS_TEST_TMPDIR/dd.log" || false
	gone "canteen.${SVC}hang.0"
}

# cluster_of NAME: the io.canteen.cluster label of container NAME.
cluster_of() { docker inspect --format '{{index .Config.Labels "io.canteen.cluster"}}' "$1"; }

@test "cluster: two canteen-dockerd of different contracts, one node key, one Docker host: each keeps the other's containers" {
	RA=$(mk_rundir "$BATS_TEST_TMPDIR/a")
	RB=$(mk_rundir "$BATS_TEST_TMPDIR/b")
	start_dd dda "$RA" "$(conf a contract=$CA chain_id=31337)"
	start_dd ddb "$RB" "$(conf b contract=${CB^^} chain_id=31337)"
	start_feed fa "$RA"
	start_feed fb "$RB"
	send_set fa "$(spec "$SVC")" "$(spec "${SVC}a")"
	wait_until 20 running "canteen.$SVC.0"
	wait_until 20 running "canteen.${SVC}a.0"
	[ "$(cluster_of "canteen.$SVC.0")" = "31337:$CA" ]
	theirs=$(docker inspect --format '{{.Id}} {{.State.StartedAt}}' "canteen.$SVC.0" "canteen.${SVC}a.0")
	# B wants the same service and replica with the same spec: it makes its own container
	# (a node-specific name), neither adopting nor removing A's.
	send_set fb "$(spec "$SVC")"
	alt=canteen.$SVC.0.${NODE:2:8}
	wait_until 20 running "$alt"
	[ "$(cluster_of "$alt")" = "31337:$CB" ]
	[ "$(count_node)" = 3 ]
	# B wants nothing: it removes its own only.
	send_set fb
	wait_until 15 gone "$alt"
	[ "$(docker inspect --format '{{.Id}} {{.State.StartedAt}}' "canteen.$SVC.0" "canteen.${SVC}a.0")" = "$theirs" ]
	running "canteen.$SVC.0"
	running "canteen.${SVC}a.0"
	# And A, told the same, removes its own.
	send_set fa
	wait_until 15 gone "canteen.$SVC.0"
	wait_until 15 gone "canteen.${SVC}a.0"
	[ "$(count_node)" = 0 ]
}

@test "cluster: a container of this node without a cluster label (made before it existed) is left alone" {
	docker run -d --name "canteen.${SVC}old.0" --label "io.canteen.node=$NODE" \
		--label "io.canteen.service=${SVC}old" --label io.canteen.replica=0 \
		--label io.canteen.generation=1 "$IMG" sleep 3600 >/dev/null
	old=$(docker inspect --format '{{.Id}} {{.State.StartedAt}}' "canteen.${SVC}old.0")
	start_dd dd "$RUN" "$(conf a contract=$CA)"
	grep -q "1 container(s) with this node's label but no io.canteen.cluster label: left alone" \
		"$BATS_TEST_TMPDIR/dd.log"
	start_feed feed "$RUN"
	send_set feed "$(spec "$SVC")"
	wait_until 20 running "canteen.$SVC.0"
	[ "$(cluster_of "canteen.$SVC.0")" = "0:$CA" ]
	send_set feed
	wait_until 15 gone "canteen.$SVC.0"
	[ "$(docker inspect --format '{{.Id}} {{.State.StartedAt}}' "canteen.${SVC}old.0")" = "$old" ]
	running "canteen.${SVC}old.0"
	"$TBIN/ipc_tool" request "$SOCK" '{"op":"ps"}' | jqe '.containers | length == 0'
}
