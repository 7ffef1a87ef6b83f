# isolated.bash: an isolated cluster (canteen up --isolated) for end-to-end tests: every node its
# own network namespace, address, dockerd and cgroup, as separate servers. The dockerds start
# together inside `canteen up`: a file pays for them once, in setup_file.
# needs: lib/common and lib/cluster loaded first (this file replaces some of cluster's probes).

# up_isolated N: canteen up --isolated --fast --detach with N nodes, state under
# $BATS_FILE_TMPDIR/up; the CLI and curl then run in the cluster's lab namespace.
up_isolated() {
	export CANTEEN_UP_DIR=$BATS_FILE_TMPDIR/up
	"$BIN/canteen" up --isolated --nodes "$1" --fast --detach > "$BATS_FILE_TMPDIR/up.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/up.log" >&2
		for f in "$CANTEEN_UP_DIR"/node*/node.log "$CANTEEN_UP_DIR"/node*/dockerd.log; do
			echo "== $f" >&2; tail -n 20 "$f" >&2
		done
		return 1
	}
	iso_env
}

# iso_env: UP, ADMIN, SLOT and CANTEEN_NETNS (the lab namespace) from up.json.
iso_env() {
	UP=$BATS_FILE_TMPDIR/up
	ADMIN=$UP/admin.key
	SLOT=$(jq -r .slot "$UP/up.json")
	CANTEEN_NETNS=$(jq -r .netns "$UP/up.json")
	export UP ADMIN SLOT CANTEEN_NETNS
}

# cli [ARGS...]: canteen with the chain settings of node 1's configuration (the chain is on the
# lab network, plain http allowed there) and the admin key, inside the lab namespace.
cli() { in_ns "$BIN/canteen" -c "$UP/node1/canteen.conf" --key-file "$ADMIN" "$@"; }

# dk I ARGS...: docker against node I's own dockerd.
dk() {
	local sock
	sock=$(jq -r ".nodes[$(($1 - 1))].docker_host" "$UP/up.json") && shift
	docker -H "unix://$sock" "$@"
}

# running_set SERVICE: "replica node" lines of SERVICE's running containers over every node's
# dockerd that answers (a dead node's does not).
running_set() {
	local i n
	n=$(jq '.nodes | length' "$UP/up.json")
	for i in $(seq 1 "$n"); do
		dk "$i" ps --filter "label=io.canteen.service=$1" \
			--format '{{.Label "io.canteen.replica"}} {{.Label "io.canteen.node"}}' 2>/dev/null
	done | sort -n
}

# iso_cg I: node I's cgroup directory (v1's freezer hierarchy, else the unified one).
iso_cg() {
	if [ -d /sys/fs/cgroup/freezer ]; then echo "/sys/fs/cgroup/freezer/canteen$SLOT-n$1"
	else echo "/sys/fs/cgroup/canteen$SLOT-n$1"; fi
}

# iso_procs I: every pid in node I's cgroup (its init, daemons, dockerd, containerd, containers).
iso_procs() { find "$(iso_cg "$1")" -name cgroup.procs -exec cat {} + 2>/dev/null; }

# kill_node I: the server dies: SIGKILL everything in node I's cgroup at once (frozen first,
# so nothing forks meanwhile), its dockerd and containers included.
kill_node() {
	local cg
	cg=$(iso_cg "$1")
	if [ -f "$cg/cgroup.kill" ]; then
		echo 1 > "$cg/cgroup.kill"
	else
		echo FROZEN > "$cg/freezer.state"
		wait_until 5 grep -q FROZEN "$cg/freezer.state"
		iso_procs "$1" | xargs -r kill -KILL
		echo THAWED > "$cg/freezer.state"
	fi
	wait_until 10 bash -c "[ -z \"\$(find $cg -name cgroup.procs -exec cat {} + 2>/dev/null)\" ]"
}

# iso_spawn I LOG CMD...: CMD in node I's cgroup and network namespace (nsenter: ip netns exec
# would remount /sys, hiding the cgroups from dockerd), own session; prints its pid.
iso_spawn() {
	local i=$1 log=$2; shift 2
	local ns procs
	ns=$(jq -r ".nodes[$((i - 1))].netns" "$UP/up.json")
	procs=$(iso_cg "$i")/host/cgroup.procs
	setsid bash -c 'echo $$ > "$1" && exec nsenter --net="$2" "${@:3}"' _ "$procs" \
		"/var/run/netns/$ns" "$@" >> "$log" 2>&1 < /dev/null &
	echo $!
}

# dockerd_up_or_gone I PID: node I's dockerd answers, or PID (the dockerd started) exited.
dockerd_up_or_gone() { dk "$1" version > /dev/null 2>&1 || ! kill -0 "$2" 2>/dev/null; }

# restart_node I: the server boots again: a fresh dockerd on its disk (data root), then its
# canteen-init, both recorded in up.json so canteen down stops them.
restart_node() {
	local nd=$UP/node$1 pid argv=()
	mapfile -t argv < <(jq -r ".nodes[$(($1 - 1))].dockerd_argv[]" "$UP/up.json")
	# A reboot empties /run: the killed dockerd's pidfile goes (its pid may have been reused
	# by then, and dockerd refuses to start over a live one).
	local k
	for ((k = 0; k + 1 < ${#argv[@]}; k++)); do
		[ "${argv[k]}" != --pidfile ] || rm -f "${argv[k + 1]}"
	done
	# Three times at most: a dockerd started right after the kill sometimes gives up with
	# "failed to start containerd: timeout waiting for containerd to start" and exits (seen
	# in about 1 run of 6, under load); the next start answered.
	local try
	for try in 1 2 3; do
		pid=$(iso_spawn "$1" "$nd/dockerd.log" "${argv[@]}")
		wait_until 60 dockerd_up_or_gone "$1" "$pid" || true
		dk "$1" version > /dev/null 2>&1 && break
		echo "node $1's dockerd (pid $pid, start $try) did not answer; the end of its log:" >&2
		tail -n 30 "$nd/dockerd.log" >&2
		grep -E '^(State|PPid)' "/proc/$pid/status" >&2 2>/dev/null || echo "pid $pid is gone" >&2
		# what that start left (its containerd) goes too, as in a reboot
		kill_node "$1" || true
		[ "$try" != 3 ] || return 1
		for ((k = 0; k + 1 < ${#argv[@]}; k++)); do
			[ "${argv[k]}" != --pidfile ] || rm -f "${argv[k + 1]}"
		done
	done
	set_pid ".nodes[$(($1 - 1))].dockerd_pid" "$pid"
	pid=$(iso_spawn "$1" "$nd/node.log" "$BIN/canteen-init" -f "$nd/init.conf" -c "$nd/canteen.conf" --grace 5s)
	wait_until 10 runs "$pid" "$BIN/canteen-init" && set_pid ".nodes[$(($1 - 1))].init_pid" "$pid"
}

# iso_leftovers SLOT: print anything of the slot still on the machine (namespaces, run
# directory, cgroups, mounts, processes); nothing when it is all gone.
iso_leftovers() {
	ls /var/run/netns 2>/dev/null | grep "^canteen$1-"
	[ ! -e "/run/canteen$1" ] || echo "/run/canteen$1"
	ls -d /sys/fs/cgroup/*/"canteen$1-"* /sys/fs/cgroup/"canteen$1-"* 2>/dev/null
	grep -E " /run/canteen$1/| $UP/node[0-9]+/docker" /proc/self/mountinfo
	pgrep -af "/run/canteen$1/" | grep -v pgrep
	ls -d "$UP"/node*/docker 2>/dev/null
	return 0
}

export -f cli dk running_set iso_cg iso_procs
