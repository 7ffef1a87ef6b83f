# common.bash: helpers every bats file loads (load lib/common). Real processes, real sockets;
# everything a test starts is recorded and stopped in teardown.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${CANTEEN_BIN:-$TOP/bin}
TBIN=${CANTEEN_TBIN:-$TOP/build/tests}
export PATH="$BIN:$TOP/tests/node/node_modules/.bin:$PATH"
# The npm wrappers of anvil/cast exit 0 even when the tool fails: put the native binaries first.
for _d in "$TOP"/tests/node/node_modules/@foundry-rs/*-*/bin; do
	[ -d "$_d" ] && PATH="$_d:$PATH"
done
unset _d

# jqe ARGS...: `jq -e ARGS` on stdin that fails when stdin is empty: jq 1.6 (Debian's)
# exits 0 on no input at all, so `sock_request ... | jq -e EXPR` passed whenever the socket
# did not answer (a wait on a daemon not yet listening ended at once). Exported for bash -c.
jqe() {
	local in
	in=$(cat; echo .) && in=${in%.}
	[[ $in =~ [^[:space:]] ]] || { echo "jqe: no input" >&2; return 4; }
	printf '%s' "$in" | jq -e "$@"
}
export -f jqe

# wait_until SECONDS CMD...: poll CMD every 50 ms until it succeeds or the deadline passes.
wait_until() {
	local limit=$1; shift
	local deadline=$(( $(date +%s%N) / 1000000 + ${limit%.*} * 1000 ))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		(( $(date +%s%N) / 1000000 >= deadline )) && break
		sleep 0.05
	done
	echo "wait_until: timed out after ${limit}s: $*" >&2
	return 1
}

# now_ms: monotonic-enough wall time in milliseconds for printing durations.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# A private run directory per test (mode 0700), under BATS_TEST_TMPDIR.
mk_rundir() {
	local d=${1:-$BATS_TEST_TMPDIR/run}
	mkdir -p "$d" && chmod 0700 "$d"
	echo "$d"
}

# start_bg NAME CMD...: start CMD in the background (own process group), output to
# $BATS_TEST_TMPDIR/NAME.log; its pid goes to $BATS_TEST_TMPDIR/NAME.pid.
start_bg() {
	local name=$1; shift
	setsid "$@" >"$BATS_TEST_TMPDIR/$name.log" 2>&1 < /dev/null &
	local pid=$!
	echo "$pid" > "$BATS_TEST_TMPDIR/$name.pid"
	echo "$pid" >> "$BATS_TEST_TMPDIR/.started"
}

pid_of() { cat "$BATS_TEST_TMPDIR/$1.pid"; }

# stop_started: TERM then KILL every process group start_bg made in this test.
stop_started() {
	local f=$BATS_TEST_TMPDIR/.started pid
	[ -f "$f" ] || return 0
	while read -r pid; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; done < "$f"
	local deadline=$(( $(now_ms) + 3000 ))
	while read -r pid; do
		while kill -0 "$pid" 2>/dev/null && (( $(now_ms) < deadline )); do sleep 0.05; done
		kill -KILL -- "-$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null
	done < "$f"
	rm -f "$f"
	return 0
}

# sock_request SOCKET JSON: send one line, print the first answer line (uses the CLI's helper).
sock_request() { "$TBIN/ipc_tool" request "$1" "$2"; }

# free_port: a TCP/UDP port nobody uses (best effort): below the kernel's ephemeral range
# (an outgoing connection's source port is not listed as listening, yet a bind to it
# fails), in no socket at all, and never handed out twice in one test.
free_port() {
	local p lo d=${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-}} f=/dev/null
	[ -z "$d" ] || f=$d/.ports
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	for _ in $(seq 1 100); do
		p=$(( 10000 + RANDOM % (lo - 10000) ))
		grep -qx "$p" "$f" 2>/dev/null && continue
		ss -Hatun "sport = :$p" 2>/dev/null | grep -q . && continue
		echo "$p" >> "$f"
		echo "$p"
		return 0
	done
	return 1
}
