# cluster.bash: a whole local cluster (canteen up --fast) for end-to-end tests, and probes of it.
# needs: lib/common loaded first.

# in_ns CMD...: CMD inside the network namespace $CANTEEN_NETNS when the cluster lives in one.
in_ns() {
	if [ -n "${CANTEEN_NETNS:-}" ]; then ip netns exec "$CANTEEN_NETNS" "$@"; else "$@"; fi
}

# spawn LOG CMD...: CMD in the background in its own session (and in $CANTEEN_NETNS), output
# appended to LOG; prints its pid (ip netns exec and setsid both exec, so it is CMD's).
spawn() {
	local log=$1; shift
	local pre=()
	[ -z "${CANTEEN_NETNS:-}" ] || pre=(ip netns exec "$CANTEEN_NETNS")
	"${pre[@]}" setsid "$@" >> "$log" 2>&1 < /dev/null &
	echo $!
}

# up_cluster N [FLAGS...]: canteen up --fast --detach with N nodes, state under
# $BATS_FILE_TMPDIR/up (inside $CANTEEN_NETNS if set).
up_cluster() {
	local n=$1; shift
	export CANTEEN_UP_DIR=$BATS_FILE_TMPDIR/up
	in_ns "$BIN/canteen" up --nodes "$n" --fast --detach "$@" > "$BATS_FILE_TMPDIR/up.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/up.log" >&2
		for f in "$CANTEEN_UP_DIR"/node*/node.log; do echo "== $f" >&2; tail -n 30 "$f" >&2; done
		return 1
	}
	UP=$CANTEEN_UP_DIR
	RPC=$(jq -r .rpc "$UP/up.json")
	CONTRACT=$(jq -r .contract "$UP/up.json")
	ADMIN="$UP/admin.key"
	# The CLI requires chain_id: the one canteen up wrote into each node's canteen.conf.
	CHAIN_ID=$(sed -n 's/^chain_id = //p' "$UP/node1/canteen.conf")
	export UP RPC CONTRACT ADMIN CHAIN_ID
}

down_cluster() { in_ns "$BIN/canteen" down > "$BATS_FILE_TMPDIR/down.log" 2>&1; }

# node_addr I / node_run I: address and run directory of node I (1-based).
node_addr() { jq -r ".nodes[$(($1 - 1))].address" "$UP/up.json"; }
node_run() { echo "$UP/node$1/run"; }

# cli [ARGS...]: canteen with the cluster's chain settings and the admin key.
cli() { in_ns "$BIN/canteen" --rpc "$RPC" --chain-id "$CHAIN_ID" --contract "$CONTRACT" --key-file "$ADMIN" "$@"; }

# at I ARGS...: canteen reading node I's sockets.
at() { local i=$1; shift; "$BIN/canteen" --rundir "$(node_run "$i")" "$@"; }

# running_set SERVICE: "replica node" lines of running canteen containers of SERVICE in Docker,
# sorted (every node shares this machine's dockerd, told apart by label).
running_set() {
	docker ps --filter "label=io.canteen.service=$1" \
		--format '{{.Label "io.canteen.replica"}} {{.Label "io.canteen.node"}}' | sort -n
}

# running_gens SERVICE: the generation label of each running container of SERVICE.
running_gens() {
	docker ps --filter "label=io.canteen.service=$1" --format '{{.Label "io.canteen.generation"}}'
}

# placed_set I SERVICE: "replica node" lines of the placement as node I sees it.
placed_set() {
	at "$1" --json ps | jq -r --arg s "$2" 'select(.service == $s and .node != null) |
		"\(.replica) \(.node)"' | sort -n
}

# placed_gen I SERVICE: the generation node I's placement asks for.
placed_gen() {
	at "$1" --json ps | jq -r --arg s "$2" 'select(.service == $s and .node != null) | .generation' | head -n1
}

# matches I SERVICE [N]: running containers equal node I's placement (and number N if given).
matches() {
	local placed running
	placed=$(placed_set "$1" "$2") || return 1
	running=$(running_set "$2")
	[ -n "$placed" ] && [ "$placed" = "$running" ] || return 1
	[ -z "${3:-}" ] || [ "$(echo "$running" | wc -l)" -eq "$3" ]
}

# kill_node I: SIGKILL node I's canteen-init and every daemon it runs, and stop its containers,
# as a dead server's would be.
kill_node() {
	local run pids
	run=$(node_run "$1")
	pids=$("$BIN/canteen" --rundir "$run" --json status | jq -r 'select(.pid != null) | .pid')
	kill -KILL "$(jq -r ".nodes[$(($1 - 1))].init_pid" "$UP/up.json")" $pids 2>/dev/null
	docker ps -q --filter "label=io.canteen.node=$(node_addr "$1")" | xargs -r docker kill >/dev/null
}

# set_state KEY JQ-VALUE: change one value in up.json.
set_state() {
	jq "$1 = $2" "$UP/up.json" > "$UP/up.json.new" && mv "$UP/up.json.new" "$UP/up.json"
}

# set_pid KEY PID: record a new process in up.json as canteen up does (KEY ".anvil_pid" or
# ".nodes[0].init_pid", with its start time and executable beside it), so that canteen down
# stops it; call it once PID runs its final program.
set_pid() {
	local base=${1%_pid} start exe
	start=$(sed 's/.*) //' "/proc/$2/stat" | cut -d' ' -f20) && exe=$(readlink "/proc/$2/exe") || return 1
	set_state "$1" "$2" && set_state "${base}_start" "$start" && set_state "${base}_exe" "\"$exe\""
}

# runs PID PROGRAM: PID has exec'd PROGRAM (setsid and ip netns exec come first).
runs() { [ "$(readlink "/proc/$1/exe")" = "$(readlink -f "$2")" ]; }

# restart_node I: node I's canteen-init again, with the command line canteen up used (a server
# that boots again).
restart_node() {
	local nd=$UP/node$1 pid
	pid=$(spawn "$nd/node.log" "$BIN/canteen-init" -f "$nd/init.conf" -c "$nd/canteen.conf" --grace 5s)
	wait_until 10 runs "$pid" "$BIN/canteen-init" && set_pid ".nodes[$(($1 - 1))].init_pid" "$pid"
}

# member_state I J: the state of node J in node I's membership.
member_state() {
	at "$1" --json members | jq -r --arg a "$(node_addr "$2")" 'select(.address == $a) | .state'
}

# chain_stop / chain_start: stop anvil (it writes the chain to chain-state.json) and start it
# again from there, as canteen up did.
chain_stop() {
	local pid
	pid=$(jq -r .anvil_pid "$UP/up.json")
	kill -TERM "$pid"
	wait_until 20 bash -c "! kill -0 $pid"
}
chain_start() {
	local pid
	pid=$(spawn "$UP/anvil.log" anvil --host 127.0.0.1 --port 8545 --block-time 1 \
		--state "$UP/chain-state.json")
	wait_until 30 in_ns cast block-number --rpc-url "$RPC" && set_pid .anvil_pid "$pid"
}

# wait_until runs its probe through `bash -c` in places: the helpers must be visible there.
export -f runs in_ns node_addr node_run cli at running_set running_gens placed_set placed_gen matches \
	kill_node member_state
export BIN
