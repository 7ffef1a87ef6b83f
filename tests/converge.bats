#!/usr/bin/env bats
# converge.bats: convergence from a wrong state, end to end: a 3-node cluster (canteen up, real
# anvil and dockerd, in a network namespace of its own) is put, seed by seed, into a random
# wrong state before and while it runs (canteen-labelled containers of a wrong generation, a
# replica index that is not placed, duplicates, stopped ones, malformed labels, a service that
# does not exist, a node's dockerd restarted into them, a member falsely dead) and must come
# back to exactly the desired placement within a bound, touching no container that is not this
# cluster's. Seeds 1..2 (CANTEEN_LONG=1: 1..5; CANTEEN_CONVERGE_REAL=N: 1..N).
# needs: docker, root (ip netns)

BOUND=60   # seconds from the last fault to exactly the desired placement

setup_file() {
	load lib/common
	load lib/cluster
	export CANTEEN_NETNS=canteen-conv-$$
	ip netns add "$CANTEEN_NETNS"
	ip netns exec "$CANTEEN_NETNS" ip link set lo up
	up_cluster 3 --no-sample
	export TAG=$$ SVC=conv$$
	cli service deploy "$SVC" --image canteen/demo:1 --replicas 4 --cpu 50m --mem 16M \
		-- /bin/busybox sleep 100000
	wait_until 60 matches 1 "$SVC" 4
	# This cluster's identity on its containers (io.canteen.cluster): a container made here
	# "as canteen's own" carries it; one without it is another cluster's, which canteen-dockerd
	# never touches.
	CLUSTER=$(docker inspect "$(docker ps -q --filter "label=io.canteen.service=$SVC" | head -n1)" |
		jq -r '.[0].Config.Labels["io.canteen.cluster"]')
	[ -n "$CLUSTER" ] && [ "$CLUSTER" != null ]
	echo "$CLUSTER" > "$BATS_FILE_TMPDIR/cluster"
	# Containers that are not this cluster's: no canteen labels, another cluster's node label
	# (running and stopped), one named like canteen's. None may be touched.
	local other=0x$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
	docker run -d --label "canteen-conv-test=$TAG" canteen/demo:1 /bin/busybox sleep 100000 >/dev/null
	docker run -d --label "canteen-conv-test=$TAG" --label "io.canteen.service=$SVC" \
		--label io.canteen.replica=0 --label io.canteen.generation=1 \
		--label "io.canteen.node=$other" canteen/demo:1 /bin/busybox sleep 100000 >/dev/null
	docker create --label "canteen-conv-test=$TAG" --label "io.canteen.service=$SVC" \
		--label io.canteen.replica=9 --label io.canteen.generation=7 \
		--label "io.canteen.node=$other" canteen/demo:1 /bin/busybox sleep 100000 >/dev/null
	docker run -d --name "canteen.$SVC.foreign" --label "canteen-conv-test=$TAG" canteen/demo:1 \
		/bin/busybox sleep 100000 >/dev/null
	foreign > "$BATS_FILE_TMPDIR/foreign.before"
}

teardown_file() {
	load lib/common
	load lib/cluster
	cli service rm "$SVC" >/dev/null 2>&1 || true
	docker ps -aq --filter "label=canteen-conv-test=$TAG" | xargs -r docker rm -f >/dev/null
	down_cluster
	ip netns del "$CANTEEN_NETNS" 2>/dev/null || true
	! pgrep -f "$BATS_FILE_TMPDIR/up/node" >/dev/null
}

setup() {
	load lib/common
	load lib/cluster
	UP=$BATS_FILE_TMPDIR/up
	RPC=$(jq -r .rpc "$UP/up.json")
	CONTRACT=$(jq -r .contract "$UP/up.json")
	ADMIN="$UP/admin.key"
	CLUSTER=$(cat "$BATS_FILE_TMPDIR/cluster")
	export UP RPC CONTRACT ADMIN CLUSTER
}

# foreign: the containers that are not canteen's, with their state.
foreign() {
	docker ps -a --no-trunc --filter "label=canteen-conv-test=$TAG" --format '{{.ID}} {{.State}}' | sort
}

# ctrs_of I: every container (any state) labelled as node I's: "service replica generation state".
ctrs_of() {
	docker ps -a --filter "label=io.canteen.node=$(node_addr "$1")" --format \
		'{{.Label "io.canteen.service"}} {{.Label "io.canteen.replica"}} {{.Label "io.canteen.generation"}} {{.State}}' |
		sort
}

# exact: every node agrees on the placement, and each node has exactly its placed replicas,
# running, of the placed generation, and no other container labelled as its own.
exact() {
	local p1 gen i want
	p1=$(placed_set 1 "$SVC")
	[ "$(echo "$p1" | grep -c .)" -eq 4 ] || return 1
	[ "$(placed_set 2 "$SVC")" = "$p1" ] && [ "$(placed_set 3 "$SVC")" = "$p1" ] || return 1
	gen=$(placed_gen 1 "$SVC")
	for i in 1 2 3; do
		want=$(echo "$p1" | awk -v a="$(node_addr "$i")" -v s="$SVC" -v g="$gen" \
			'$2 == a { print s, $1, g, "running" }' | sort)
		[ "$(ctrs_of "$i")" = "$want" ] || return 1
	done
}

# pid_of_daemon I NAME: the pid of node I's daemon NAME (swim, dockerd, ...).
pid_of_daemon() {
	at "$1" --json status | jq -r --arg d "$2" 'select(.name == $d) | .pid'
}

# wrong_ctr I KIND: one wrong container labelled as node I's.
wrong_ctr() {
	local i=$1 kind=$2 addr gen r ref labels=() create=run
	addr=$(node_addr "$i")
	gen=$(placed_gen 1 "$SVC")
	r=$((RANDOM % 4))
	case $kind in
	oldgen) labels=(io.canteen.service="$SVC" io.canteen.replica="$r" io.canteen.generation=$((gen - 1))) ;;
	newgen) labels=(io.canteen.service="$SVC" io.canteen.replica="$r" io.canteen.generation=$((gen + 5))) ;;
	index) labels=(io.canteen.service="$SVC" io.canteen.replica=$((4 + RANDOM % 20)) io.canteen.generation="$gen") ;;
	ghost) labels=(io.canteen.service=ghost$TAG io.canteen.replica=0 io.canteen.generation=1) ;;
	malformed) labels=(io.canteen.service="$SVC" io.canteen.replica=x$r io.canteen.generation="$gen") ;;
	stopped) create=create
		labels=(io.canteen.service="$SVC" io.canteen.replica="$r" io.canteen.generation="$gen") ;;
	dup)	# an exact copy of the labels of a container this cluster runs (spec included); not
		# of the other cluster's look-alike made in setup_file, whose copy has no cluster
		# label and is rightly left alone (seeds failed at random on that until 2026-11-28)
		local ids
		mapfile -t ids < <(docker ps -q --filter "label=io.canteen.service=$SVC" \
			--filter "label=io.canteen.generation=$gen" \
			--filter "label=io.canteen.cluster=$CLUSTER" | sort)
		[ ${#ids[@]} -gt 0 ] || return 0
		ref=${ids[RANDOM % ${#ids[@]}]}
		mapfile -t labels < <(docker inspect "$ref" | jq -r '.[0].Config.Labels | to_entries[] |
			select(.key | startswith("io.canteen.")) | select(.key != "io.canteen.node") |
			"\(.key)=\(.value)"')
		# gone between ps and inspect (canteen removed it): no labels, so no copy to make
		[ ${#labels[@]} -gt 0 ] || return 0 ;;
	esac
	local args=()
	for l in "${labels[@]}"; do args+=(--label "$l"); done
	[ "$kind" = dup ] || args+=(--label "io.canteen.cluster=$CLUSTER")
	[ "$create" = create ] || args+=(-d)
	# canteen may remove it between create and start: docker run then fails, as it should.
	docker "$create" "${args[@]}" --label "io.canteen.node=$addr" canteen/demo:1 \
		/bin/busybox sleep 100000 >/dev/null 2>&1 || true
}

# one_seed SEED: the wrong state for this seed, then the check.
one_seed() {
	RANDOM=$1
	local kinds=(oldgen newgen index ghost malformed stopped dup) i k n pid t0 what kd
	wait_until 60 exact
	# Before: node I's dockerd is stopped while wrong containers appear, then restarted.
	i=$((1 + RANDOM % 3))
	pid=$(pid_of_daemon "$i" dockerd)
	kill -STOP "$pid"
	what="dockerd $i restarted into"
	for n in $(seq 1 $((2 + RANDOM % 3))); do
		kd=${kinds[RANDOM % ${#kinds[@]}]}; what+=" $kd"; wrong_ctr "$i" "$kd"
	done
	kill -KILL "$pid"
	kill -CONT "$pid" 2>/dev/null || true
	# While it runs: wrong containers on every node, canteen's own stopped or killed.
	what+="; while running:"
	for n in $(seq 1 $((3 + RANDOM % 5))); do
		kd=${kinds[RANDOM % ${#kinds[@]}]}; what+=" $kd"; wrong_ctr $((1 + RANDOM % 3)) "$kd"
	done
	k=$(docker ps -q --filter "label=io.canteen.service=$SVC" | head -n $((1 + RANDOM % 2)))
	[ -z "$k" ] || docker kill $k >/dev/null 2>&1 || true  # canteen may remove one first
	# Odd seeds: a member falsely dead (its canteen-swim paused until the others say dead).
	if (( $1 % 2 == 1 )); then
		i=$((1 + RANDOM % 3))
		pid=$(pid_of_daemon "$i" swim)
		kill -STOP "$pid"
		local o=$(( i % 3 + 1 ))
		wait_until 30 bash -c "[ \"\$(member_state $o $i)\" = dead ]"
		wrong_ctr "$i" "${kinds[RANDOM % ${#kinds[@]}]}"
		kill -CONT "$pid"
		what+="; node $i falsely dead"
	fi
	t0=$(now_ms)
	if ! wait_until "$BOUND" exact; then
		# What is not exact: each node's placement and its containers.
		for i in 1 2 3; do
			echo "node $i ($(node_addr "$i")) places:" >&2
			placed_set "$i" "$SVC" >&2
			echo "node $i has:" >&2
			ctrs_of "$i" >&2
		done
		docker ps -a --filter "label=io.canteen.service=$SVC" --format \
			'{{.ID}} {{.Names}} {{.State}} {{.Status}} {{.Label "io.canteen.node"}} {{.Label "io.canteen.replica"}} {{.Label "io.canteen.generation"}} {{.Label "io.canteen.cluster"}}' >&2
		for i in 1 2 3; do tail -n 30 "$UP/node$i/node.log" >&2 2>/dev/null; done
		return 1
	fi
	echo "# seed $1 ($what, $(echo "$k" | grep -c .) killed): exact again $(( $(now_ms) - t0 )) ms after the last fault" >&3
	[ "$(foreign)" = "$(cat "$BATS_FILE_TMPDIR/foreign.before")" ]
	[ -z "$(docker ps -aq --filter label=io.canteen.service=ghost$TAG)" ]
}

export -f exact ctrs_of

@test "converge: the cluster starts exact; foreign containers are recorded" {
	wait_until 60 exact
	[ "$(foreign | wc -l)" -eq 4 ]
}

@test "converge: the check bites: a wrong container left alone is not exact" {
	pid=$(pid_of_daemon 2 dockerd)
	kill -STOP "$pid"
	wrong_ctr 2 index
	! exact
	kill -CONT "$pid"
	wait_until "$BOUND" exact
}

@test "converge: real seeds from a wrong state back to exactly the placement, foreign untouched" {
	# Seeds 1..2 here, 1..5 with CANTEEN_LONG=1 (CI), 1..N with CANTEEN_CONVERGE_REAL=N.
	local n=2
	[ "${CANTEEN_LONG:-}" = 1 ] && n=5
	[ -n "${CANTEEN_CONVERGE_REAL:-}" ] && n=$CANTEEN_CONVERGE_REAL
	for seed in $(seq 1 "$n"); do
		one_seed "$seed"
	done
}
