#!/usr/bin/env bash
# soak.sh: the chaos soak: a 5-node `canteen up --fast` cluster in a network namespace of its
# own, 10 services, one random fault every few seconds from a printed seed, watched from
# outside (probe.sh) and judged by check.sh; prints one JSON object on stdout.
# usage: soak.sh [-d SECONDS] [-s SEED] [-o DIR] [-k]
#   -d  how long faults are injected (default 120); -s  the seed (default: random, printed);
#   -o  where the cluster, logs and samples go (default a new directory under /tmp);
#   -k  keep the cluster running at the end (canteen down is left to you).
# Needs root (ip netns, iptables), docker, jq, curl, and a built tree (bin/, or CANTEEN_BIN).
set -u
here=$(cd "$(dirname "$0")" && pwd)
dur=120 seed="" out="" keep=0
while getopts d:s:o:k opt; do
	case $opt in
	d) dur=$OPTARG ;; s) seed=$OPTARG ;; o) out=$OPTARG ;; k) keep=1 ;;
	*) echo "usage: soak.sh [-d SECONDS] [-s SEED] [-o DIR] [-k]" >&2; exit 2 ;;
	esac
done
[[ $dur =~ ^[0-9]+$ ]] && [ "$dur" -ge 10 ] || { echo "soak.sh: -d wants whole seconds, at least 10" >&2; exit 2; }
[ -n "$seed" ] || seed=$(( $(od -An -N2 -tu2 /dev/urandom) % 32768 ))
[[ $seed =~ ^[0-9]+$ ]] && [ "$seed" -lt 32768 ] || { echo "soak.sh: -s wants 0..32767" >&2; exit 2; }
[ -n "$out" ] || out=$(mktemp -d /tmp/canteen-chaos.XXXXXX)
mkdir -p "$out" && out=$(cd "$out" && pwd)

# The cluster helpers of the bats files, outside bats.
# shellcheck disable=SC2034 # read by lib/cluster.bash
BATS_FILE_TMPDIR=$out
# shellcheck source=../lib/common.bash
. "$here/../lib/common.bash"
# shellcheck source=../lib/cluster.bash
. "$here/../lib/cluster.bash"

say() { echo "# chaos $(( ($(now_ms) - ${T0:-$(now_ms)}) / 1000 ))s: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }
# Events (fault starts and ends, admin changes) for check.sh, one JSON line each.
ev() { printf '{"t":%s,%s}\n' "$(now_ms)" "$1" >> "$out/events.ndjson"; }

# ipt ARGS...: iptables in the namespace, tried again when it cannot even start (other
# test runs on this machine may be switching the iptables alternative under us).
ipt() {
	local k
	for k in 1 2 3 4 5; do
		in_ns iptables "$@" && return 0
		say "iptables $* failed (attempt $k)"
		sleep 0.5
	done
	return 1
}
N=5
DAEMONS=(chainwatch swim sched dockerd)
export CANTEEN_NETNS=canteen-chaos-$$
cleanup() {
	touch "$out/probe.stop"
	[ -z "${probe_pid:-}" ] || { kill "$probe_pid" 2>/dev/null; wait "$probe_pid" 2>/dev/null; }
	if [ "$keep" -eq 0 ]; then
		local i
		for i in $(seq 1 $N); do kill -CONT ${stopped_pids[$i]:-} 2>/dev/null; done
		[ -z "${UP:-}" ] || down_cluster
		ip netns del "$CANTEEN_NETNS" 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -c unlimited 2>/dev/null   # a daemon that crashes leaves a core under $out (cwd)
cd "$out" || exit 1
ip netns add "$CANTEEN_NETNS" || die "ip netns add (root is needed)"
in_ns ip link set lo up
ipt -N CHAOS_CUT && ipt -N CHAOS_LOSS &&
	ipt -A INPUT -j CHAOS_CUT && ipt -A INPUT -j CHAOS_LOSS ||
	die "iptables in the namespace"

T0=$(now_ms)
say "seed $seed, faults for ${dur}s, everything under $out"
up_cluster $N --no-sample || die "canteen up (see $out/up.log)"
jq -r '.nodes | to_entries[] | "\(.key + 1) \(.value.ip) \(.value.address)"' "$UP/up.json" > "$out/nodes.tsv"

# ---- the services: name strategy replicas cpu priority published(port or -) exclusive ----
# CPU: 8 of the 10 cores of 5 nodes (2 each), laid out so that everything fits with room on
# every node: chaos-index 600m on each node, the small services 50m a replica, chaos-batch at
# most 2 x 500m a node. With one node gone (8 cores) one node holds two chaos-index replicas
# and has room for one chaos-batch only: the lowest priority gives a replica up, and gets it
# back when the node returns. With two nodes out of the view at once (a node fault and a
# restarting canteen-swim elsewhere) the small services still fit: only chaos-batch shrinks.
P1=$(free_port) P2=$(free_port) P3=$(free_port)
SVCS=(
	"chaos-index  spread     5 600m  70 -   no"
	"chaos-vote   spread     3 50m   60 -   yes"
	"chaos-web    spread     3 50m   50 $P1 no"
	"chaos-api    roundrobin 2 50m   40 $P2 no"
	"chaos-edge   binpack    1 50m   30 $P3 no"
	"chaos-cache  roundrobin 2 50m   25 -   no"
	"chaos-solo   spread     1 50m   20 -   no"
	"chaos-queue  spread     2 50m   15 -   no"
	"chaos-work   binpack    4 50m   10 -   no"
	"chaos-batch  spread     8 500m  -10 -   no"
)
for line in "${SVCS[@]}"; do
	read -r name strat reps cpu prio port excl <<< "$line"
	args=(--image canteen/demo:1 --replicas "$reps" --cpu "$cpu" --mem 16M --priority "$prio" --strategy "$strat")
	[ "$excl" = no ] || args+=(--exclusive)
	if [ "$port" = - ]; then args+=(-- /bin/busybox sleep 1000000)
	else args+=(--port "$port:80" -- /bin/busybox httpd -f -p 80 -h /www); fi
	cli service deploy "$name" "${args[@]}" >> "$out/admin.log" 2>&1 || die "deploy $name (see $out/admin.log)"
done

# desired.json: what the admin asked for, read back from the chain: replicas, port, and gen,
# the generation of the last change of the spec (a deploy or an update: a scale bumps the
# chain's generation too but replaces nothing, so running replicas keep their older label).
# refresh_desired [SERVICE]: re-read; SERVICE's spec changed (every service's when none).
refresh_desired() {
	local old='{}'
	[ ! -s "$out/desired.json" ] || old=$(cat "$out/desired.json")
	cli --json service ls 2>> "$out/admin.log" | jq -sc --argjson old "$old" --arg changed "${1:-}" '
		map(select(.name | startswith("chaos-")) | {key: .name, value: {replicas, port: (.ports[0].host // null), exclusive, strategy,
			gen: (if $changed == "" or $changed == .name or $old[.name] == null then .generation
			      else $old[.name].gen end)}}) | from_entries' \
		> "$out/desired.new" && [ -s "$out/desired.new" ] && mv "$out/desired.new" "$out/desired.json"
}
refresh_desired || die "service ls"
say "deployed: $(jq -c 'map_values(.replicas)' "$out/desired.json")"

# ---- the fault state, for the observer and the checker ----
declare -A killed=() stopped=() stopped_pids=()
cut_node="" loss_node="" chain_up=true
write_state() {
	local k=${!killed[*]} s=${!stopped[*]}
	printf '{"killed":[%s],"stopped":[%s],"cut":[%s],"loss":[%s],"chain":%s}\n' "${k// /,}" "${s// /,}" \
		"$cut_node" "$loss_node" "$chain_up" > "$out/state.new" && mv "$out/state.new" "$out/state.json"
}
write_state

# exact: Docker runs every desired replica of every service exactly once, of its current
# generation, on this cluster's nodes, and nothing else of theirs; else prints what differs.
exact() {
	docker ps --filter label=io.canteen.service --format \
		'{{.Label "io.canteen.service"}} {{.Label "io.canteen.replica"}} {{.Label "io.canteen.node"}} {{.Label "io.canteen.generation"}}' |
	awk -v nodes="$out/nodes.tsv" -v want="$(jq -r 'to_entries[] | "\(.key) \(.value.replicas) \(.value.gen)"' "$out/desired.json")" '
	BEGIN { while ((getline l < nodes) > 0) { split(l, a, " "); mine[a[3]] = 1 }
		n = split(want, w, "\n"); for (i = 1; i <= n; i++) { split(w[i], f, " "); rep[f[1]] = f[2]; gen[f[1]] = f[3] } }
	!($3 in mine) { next }
	!($1 in rep) { print "unknown service " $1; bad = 1; next }
	{ if ($2 >= rep[$1]) { print "extra " $1 "." $2; bad = 1 }
	  if ($4 < gen[$1]) { print "old generation " $1 "." $2; bad = 1 }
	  if (seen[$1 "." $2]++) { print "duplicate " $1 "." $2; bad = 1 }
	  cnt[$1]++ }
	END { for (s in rep) if (cnt[s] != rep[s]) { print s " runs " cnt[s] + 0 " of " rep[s]; bad = 1 }
		exit bad }'
}

# daemon_pids I: "name pid" of node I's canteen-init and every daemon it runs.
daemon_pids() {
	echo "init $(jq -r ".nodes[$(($1 - 1))].init_pid" "$UP/up.json")"
	at "$1" --json status 2>/dev/null | jq -r 'select(.pid != null) | "\(.name) \(.pid)"'
}

# restarts I: the restarts node I's canteen-init has made (its counters die with it).
restarts() { at "$1" --json status 2>/dev/null | jq -s '[.[].restarts] | add // 0'; }
restarts_lost=0 chain_failures=0

t=$(now_ms)
wait_until 240 exact || { exact >&2; die "the services did not converge in 240 s"; }
say "converged in $(( $(now_ms) - t )) ms: every replica runs once"

# ---- faults ----
# chain_restart: chain_start of lib/cluster, again when anvil could not be executed (a
# dependency install elsewhere may be rewriting its binary: "Text file busy").
chain_restart() {
	local k pid deadline
	for k in 1 2 3 4 5; do
		pid=$(spawn "$UP/anvil.log" anvil --host 127.0.0.1 --port 8545 --block-time 1 \
			--state "$UP/chain-state.json")
		deadline=$(( $(now_ms) + 30000 ))
		while [ "$(now_ms)" -lt "$deadline" ]; do
			if in_ns cast block-number --rpc-url "$RPC" >/dev/null 2>&1; then
				set_pid .anvil_pid "$pid" && return 0
			fi
			if grep -qs '^State:.*[ZX]' "/proc/$pid/status" || [ ! -e "/proc/$pid" ]; then break; fi
			sleep 0.2
		done
		wait "$pid" 2>/dev/null
		say "anvil did not start (attempt $k): $(tail -n1 "$UP/anvil.log")"
	done
	return 1
}
ipof() { awk -v i="$1" '$1 == i {print $2}' "$out/nodes.tsv"; }
# rnd LO HI: R = a number in [LO, HI] from the seeded RANDOM (never called in a subshell, so
# the sequence depends on the seed alone).
rnd() { R=$(( $1 + RANDOM % ($2 - $1 + 1) )); }

nf_kind="" nf_node="" nf_until=0 node_healed=0 loss_until=0 chain_until=0 admin_round=0
SETTLE=8000   # ms after a node fault heals before the next node fault (one node down at a time)

node_kill() {
	restarts_lost=$(( restarts_lost + $(restarts "$1") ))
	kill_node "$1"
	killed[$1]=1
}
node_stop() {
	local name pid pids=""
	while read -r name pid; do pids+=" $pid"; done < <(daemon_pids "$1")
	# shellcheck disable=SC2086
	kill -STOP $pids
	stopped[$1]=1 stopped_pids[$1]=$pids
}
node_cut() {
	local a b j
	a=$(ipof "$1")
	for j in $(seq 1 $N); do
		[ "$j" -ne "$1" ] || continue
		b=$(ipof "$j")
		ipt -A CHAOS_CUT -s "$a" -d "$b" -j DROP
		ipt -A CHAOS_CUT -s "$b" -d "$a" -j DROP
	done
	cut_node=$1
}
node_loss() {
	local a
	a=$(ipof "$1")
	ipt -A CHAOS_LOSS -s "$a" -m statistic --mode random --probability 0.1 -j DROP
	ipt -A CHAOS_LOSS -d "$a" -m statistic --mode random --probability 0.1 -j DROP
	loss_node=$1
}
heal_node() {
	case $nf_kind in
	kill) restart_node "$nf_node" || say "restart of node $nf_node failed"; unset "killed[$nf_node]" ;;
	stop) # shellcheck disable=SC2086
		kill -CONT ${stopped_pids[$nf_node]}; unset "stopped[$nf_node]" "stopped_pids[$nf_node]" ;;
	cut) ipt -F CHAOS_CUT; cut_node="" ;;
	esac
	ev "\"end\":\"node_$nf_kind\",\"node\":$nf_node"
	say "healed: node_$nf_kind of node $nf_node"
	nf_kind="" node_healed=$(now_ms)
	write_state
}
heal_loss() { ipt -F CHAOS_LOSS; ev "\"end\":\"loss\",\"node\":$loss_node"; loss_node="" loss_until=0; write_state; }
heal_chain() {
	chain_restart || { say "the chain did not come back"; chain_failures=$((chain_failures + 1)); }
	chain_up=true chain_until=0
	ev '"end":"chain_stop"'
	say "chain back"
	write_state
}

# admin: alternately scale chaos-queue (2 <-> 4) and update chaos-web (a new environment,
# so a new generation: every replica replaced).
admin() {
	admin_round=$((admin_round + 1))
	if [ $((admin_round % 2)) -eq 1 ]; then
		local to=4
		[ "$(jq '.["chaos-queue"].replicas' "$out/desired.json")" -eq 2 ] || to=2
		cli service scale chaos-queue "$to" >> "$out/admin.log" 2>&1 && A="scale chaos-queue $to"
	else
		cli service update chaos-web --env "CHAOS_ROUND=$admin_round" >> "$out/admin.log" 2>&1 &&
			A="update chaos-web (CHAOS_ROUND=$admin_round)"
	fi || { A="failed (see admin.log)"; return 0; }
	local changed=-   # a scale changes no spec
	[ $((admin_round % 2)) -eq 1 ] || changed=chaos-web
	refresh_desired "$changed"
}

# inject: draw one fault among those possible now (one node fault at a time, and SETTLE after
# the last one healed; loss on one node at a time; the chain stopped once at a time; the
# admin only while the chain runs).
inject() {
	local now kinds=() k i d
	now=$(now_ms)
	if [ -z "$nf_kind" ] && [ $((now - node_healed)) -ge $SETTLE ]; then kinds+=(node_kill node_kill node_stop node_stop node_cut node_cut); fi
	kinds+=(daemon_kill daemon_kill daemon_kill)
	[ -n "$loss_node" ] || kinds+=(loss)
	[ "$chain_up" = false ] || kinds+=(chain_stop admin)
	[ "$admin_round" -gt 0 ] || [ $((now - T1)) -lt $((dur * 500)) ] || [ "$chain_up" = false ] || kinds=(admin)
	rnd 0 $((${#kinds[@]} - 1)); k=${kinds[$R]}
	rnd 1 $N; i=$R
	case $k in
	node_*)
		case $k in node_kill) rnd 5 20 ;; node_stop) rnd 2 20 ;; node_cut) rnd 5 20 ;; esac; d=$R
		"$k" "$i"
		nf_kind=${k#node_} nf_node=$i nf_until=$((now + d * 1000))
		ev "\"start\":\"$k\",\"node\":$i,\"for_s\":$d"
		say "$k node $i for ${d}s$([ "$k" != node_kill ] || echo ": init and daemons SIGKILLed, and its containers, by docker kill (one dockerd serves every node)")" ;;
	daemon_kill)
		rnd 0 3; d=${DAEMONS[$R]}
		local pid
		if [ -n "${killed[$i]:-}${stopped[$i]:-}" ]; then
			say "daemon_kill: node $i is down, nothing to kill"; return 0
		fi
		pid=$(at "$i" --json status | jq -r --arg d "$d" 'select(.name == $d) | .pid')
		if [ -n "$pid" ] && [ "$pid" != null ]; then kill -KILL "$pid"; fi
		ev "\"start\":\"daemon_kill\",\"node\":$i,\"daemon\":\"$d\",\"pid\":${pid:-null}"
		say "daemon_kill $d (pid $pid) on node $i" ;;
	loss)
		rnd 10 30; d=$R
		node_loss "$i"; loss_until=$((now + d * 1000))
		ev "\"start\":\"loss\",\"node\":$i,\"for_s\":$d"
		say "10% packet loss on node $i for ${d}s" ;;
	chain_stop)
		rnd 10 60; d=$R
		chain_stop || say "chain_stop failed"
		chain_up=false chain_until=$((now + d * 1000))
		ev "\"start\":\"chain_stop\",\"for_s\":$d"
		say "chain stopped for ${d}s" ;;
	admin)
		admin
		ev "\"start\":\"admin\",\"what\":\"$A\""
		say "admin: $A" ;;
	esac
	write_state
}

# ---- the run ----
: > "$out/samples.ndjson"
: > "$out/pss.ndjson"
rm -f "$out/probe.stop"
"$here/probe.sh" "$out" 2> "$out/probe.log" &
probe_pid=$!
wait_until 10 test -s "$out/samples.ndjson" || die "the observer wrote nothing (see $out/probe.log)"
RANDOM=$seed
T1=$(now_ms)
t_end=$((T1 + dur * 1000))
ev "\"run\":\"start\",\"seed\":$seed,\"duration_s\":$dur"
rnd 2 6; next=$((T1 + R * 1000))
while :; do
	now=$(now_ms)
	[ -z "$nf_kind" ] || [ "$now" -lt "$nf_until" ] || heal_node
	[ -z "$loss_node" ] || [ "$now" -lt "$loss_until" ] || heal_loss
	[ "$chain_up" = true ] || [ "$now" -lt "$chain_until" ] || heal_chain
	[ "$now" -lt "$t_end" ] || break
	if [ "$now" -ge "$next" ]; then
		inject
		rnd 2 6; next=$(( $(now_ms) + R * 1000 ))
	fi
	sleep 0.2
done
# The end: whatever still runs is healed now; the last fault is over when this is done.
[ -z "$nf_kind" ] || heal_node
[ -z "$loss_node" ] || heal_loss
[ "$chain_up" = true ] || heal_chain
t_last=$(now_ms)
ev '"run":"last_fault_healed"'
say "faults over; waiting for exact counts"
conv=null
wait_until 45 exact && conv=$(( $(now_ms) - t_last ))
[ "$conv" != null ] || { say "not exact 45 s after the last fault:"; exact >&2; }
say "convergence after the last fault: ${conv} ms"
ev "\"run\":\"converged\",\"ms\":$conv"
# A few more seconds of observation after convergence, then the observer stops.
t_obs=$(( $(now_ms) + 3000 ))
wait_until 30 bash -c "[ \"\$(tail -n1 '$out/samples.ndjson' | jq .t)\" -gt $t_obs ]"
touch "$out/probe.stop"
wait "$probe_pid"
probe_pid=""
restarts_now=0
for i in $(seq 1 $N); do restarts_now=$(( restarts_now + $(restarts "$i") )); done
# Exits canteen-init saw that the soak did not cause (it only sends SIGKILL and SIGSTOP).
grep -hE ': pid [0-9]+ (exited with status|killed by SIG)' "$UP"/node*/node.log | grep -v 'killed by SIGKILL' \
	> "$out/unexpected_exits.txt"
grep -hE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$UP"/node*/node.log > "$out/sanitizer.txt"
cores=$(find "$out" -name 'core*' -type f | wc -l)
# timings: the SWIM and polling settings canteen up --fast wrote, as a JSON object.
timings() {
	grep -E '^(probe_|suspicion_|gossip_|pushpull_|poll_ms|stop_grace|confirmations)' "$UP/node1/canteen.conf" |
		jq -R 'split(" = ") | {key: .[0], value: .[1]}' | jq -sc from_entries
}
jq -n --argjson seed "$seed" --argjson dur "$dur" --argjson conv "$conv" --argjson lost "$restarts_lost" \
	--argjson now "$restarts_now" --argjson cores "$cores" --arg netns "$CANTEEN_NETNS" \
	--argjson unexp "$(jq -R . "$out/unexpected_exits.txt" | jq -s .)" \
	--argjson san "$(wc -l < "$out/sanitizer.txt")" --argjson chainf "$chain_failures" \
	--argjson timings "$(timings)" \
	'{seed: $seed, duration_s: $dur, convergence_ms: $conv, init_restarts: ($lost + $now), timings: $timings,
	  unexpected_exits: $unexp, sanitizer_reports: $san, core_dumps: $cores, chain_restart_failures: $chainf}' > "$out/meta.json"
"$here/check.sh" "$out"
