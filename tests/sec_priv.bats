#!/usr/bin/env bats
# sec_priv.bats: least privilege: canteen-init runs chainwatch, swim and sched as an unprivileged
# user (made here, removed at the end) and dockerd as root; the node still works, the daemons
# learn its address without its private key, and bad users or run directories are refused.
# needs: docker

load lib/common
load lib/anvil

IMG=canteen-test/busybox:1

setup_file() {
	load lib/common
	load lib/anvil
	[ "$(id -u)" -eq 0 ] || skip "needs root (useradd, privilege drop)"
	start_anvil
	export PU=_ct$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	useradd --system --no-create-home --shell /usr/sbin/nologin "$PU"
	# Not under BATS_FILE_TMPDIR: the user must be able to reach its files (mode 0711 here).
	export PD
	PD=$(mktemp -d /tmp/canteen-priv.XXXXXX)
	chmod 0711 "$PD"
	echo "$PD" > "$BATS_FILE_TMPDIR/pd"
	export SWIM_PORT
	SWIM_PORT=$(free_port)
	export CONTRACT
	CONTRACT=$(canteen -c /dev/null --rpc "$ANVIL_URL" --key-file "$ANVIL_KEYS/key0" contract deploy)
	cat > "$PD/canteen.conf" <<-EOF
		rundir = $PD/run
		rpc_url = $ANVIL_URL
		contract = $CONTRACT
		chain_id = 31337
		key_file = $PD/eth.key
		swim_key_file = $PD/swim.key
		swim_bind = 127.0.0.1:$SWIM_PORT
		swim_advertise = 127.0.0.1:$SWIM_PORT
		advertise_addr = 127.0.0.1
		confirmations = 0
		poll_ms = 200ms
		probe_interval_ms = 200ms
		probe_timeout_ms = 100ms
		membership_settle_ms = 500ms
		stop_grace_ms = 1s
		user = $PU
	EOF
	chmod 0644 "$PD/canteen.conf"
	# The first join makes the keys and stops for want of funds; fund it, join, approve.
	canteen -c "$PD/canteen.conf" node join --cpu 2 --mem 1G > "$PD/join1.log" 2>&1 || true
	export ADDR
	ADDR=$(cat "$PD/eth.key.addr")
	rpc anvil_setBalance "[\"$ADDR\",\"0x8AC7230489E80000\"]" > /dev/null
	canteen -c "$PD/canteen.conf" node join --cpu 2 --mem 1G > "$PD/join2.log" 2>&1
	canteen -c "$PD/canteen.conf" --key-file "$ANVIL_KEYS/key0" node approve "$ADDR" > /dev/null
	# The SWIM key is the unprivileged daemons'; the Ethereum key stays root's (0600).
	chown "$PU:" "$PD/swim.key"
}

teardown_file() {
	load lib/common
	load lib/anvil
	local pd
	pd=$(cat "$BATS_FILE_TMPDIR/pd" 2>/dev/null) || true
	stop_anvil
	[ -z "${PU:-}" ] || userdel "$PU" 2>/dev/null || true
	[ -z "$pd" ] || rm -rf "$pd"
}

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	START_WRAP=()
	RUN=$PD/run
	rm -rf "$RUN"
	printf '%s\n' \
		"chainwatch user=$PU $BIN/canteen-chainwatch -c $PD/canteen.conf" \
		"swim user=$PU $BIN/canteen-swim -c $PD/canteen.conf" \
		"sched user=$PU $BIN/canteen-sched -c $PD/canteen.conf" \
		"dockerd $BIN/canteen-dockerd -c $PD/canteen.conf" > "$PD/init.conf"
}

# stop_init: SIGTERM to canteen-init, which stops its children in order; wait until it is gone.
stop_init() {
	local pid
	pid=$(pid_of init 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	wait_until 40 bash -c "! kill -0 $pid 2>/dev/null"
}

teardown() {
	stop_init
	stop_started
	# Nothing of the user's is left running (userdel would refuse).
	wait_until 5 bash -c "! pgrep -u $PU >/dev/null"
	local ids
	ids=$(docker ps -aq --filter "label=io.canteen.node=$ADDR" 2>/dev/null)
	[ -z "$ids" ] || docker rm -f $ids > /dev/null 2>&1 || true
	if grep -l 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/*.log 2>/dev/null; then
		grep -h -A20 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR"/*.log
		return 1
	fi
}

start_init() {
	start_bg init "${START_WRAP[@]}" "$BIN/canteen-init" -f "$PD/init.conf" -c "$PD/canteen.conf" --grace 3s "$@"
	wait_until 10 test -S "$RUN/init.sock"
}

# user_of PROGRAM: the user running PROGRAM as a child of our canteen-init (comm is cut at 15).
user_of() { ps -o user:40=,comm= --ppid "$(pid_of init)" | awk -v c="${1:0:15}" '$2 == c { print $1 }'; }
all_up() {
	[ "$(canteen --rundir "$RUN" status --json | jq -r .state | sort -u)" = up ] &&
		[ "$(canteen --rundir "$RUN" status --json | jq -r .name | wc -l)" -eq 4 ]
}
sched_status() { "$TBIN/ipc_tool" request "$RUN/sched.sock" '{"op":"status"}'; }
sched_is() { [ "$(sched_status | jq -c "$1")" = "$2" ]; }
dockerd_is() {
	[ "$("$TBIN/ipc_tool" request "$RUN/dockerd.sock" '{"op":"ps"}' | jq -c "$1")" = "$2" ]
}
self_alive() {
	canteen --rundir "$RUN" members --json |
		jqe --arg a "$ADDR" 'select(.address == $a and .state == "alive")' > /dev/null
}
running_here() { [ -n "$(docker ps -q --filter "label=io.canteen.node=$ADDR")" ]; }

@test "chainwatch, swim and sched run as the canteen user, dockerd as root; the node works" {
	start_init
	wait_until 20 all_up
	[ "$(user_of canteen-chainwatch)" = "$PU" ]
	[ "$(user_of canteen-swim)" = "$PU" ]
	[ "$(user_of canteen-sched)" = "$PU" ]
	[ "$(user_of canteen-dockerd)" = root ]
	[ "$(ps -o user:40= -p "$(pid_of init)" | tr -d ' ')" = root ]
	# dockerd (root) reads the user's swim key as the user, for its channel between servers.
	wait_until 10 grep -q "channel on TCP 127.0.0.1:$SWIM_PORT" "$BATS_TEST_TMPDIR/init.log"
	# Dropped for good: no root among the real, effective, saved ids; no supplementary group
	# of root's; no new privileges.
	local pid
	pid=$(pgrep -u "$PU" -f canteen-sched)
	[ "$(awk '/^Uid:/ {print $2 $3 $4}' "/proc/$pid/status")" = "$(id -u "$PU")$(id -u "$PU")$(id -u "$PU")" ]
	[ "$(awk '/^Gid:/ {print $2}' "/proc/$pid/status")" = "$(id -g "$PU")" ]
	[ "$(awk '/^Groups:/ {print $2}' "/proc/$pid/status")" = "$(id -g "$PU")" ]
	[ "$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$pid/status")" = 1 ]
	# The run directory and every socket are the user's, 0700 and 0600.
	[ "$(stat -c '%U %G %a' "$RUN")" = "$PU $PU 700" ]
	wait_until 10 test -S "$RUN/dockerd.sock"
	for s in init chain swim sched dockerd; do
		[ "$(stat -c '%U %a' "$RUN/$s.sock")" = "$PU 600" ] || { echo "$s.sock: $(stat -c '%U %a' "$RUN/$s.sock")"; return 1; }
	done
	# sched (the user) reaches chainwatch, swim and root's dockerd; swim admitted itself.
	wait_until 30 self_alive
	wait_until 30 sched_is '[.node, .chain, .swim, .dockerd, .ready]' "[\"$ADDR\",true,true,true,true]"
	wait_until 10 sched_is .desired_acked true
	# A service is placed here and dockerd (root) runs it.
	"$TOP/tests/lib/image.sh" "$IMG"
	canteen -c "$PD/canteen.conf" --key-file "$ANVIL_KEYS/key0" service deploy "p${PU#_}" \
		--image "$IMG" --replicas 1 --cpu 100m --mem 32M -- sh -c 'sleep 1000'
	wait_until 60 running_here
}

@test "with only the systemd unit's capabilities and no_new_privs, the node still works" {
	# What canteen.service leaves canteen-init: CapabilityBoundingSet and NoNewPrivileges.
	local caps
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$TOP/etc/systemd/canteen.service" |
		tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
	[ -n "$caps" ]
	START_WRAP=(setpriv --bounding-set "-all,$caps" --no-new-privs)
	start_init
	wait_until 20 all_up
	[ "$(user_of canteen-sched)" = "$PU" ]
	[ "$(awk '/^CapBnd:/ {print $2}' "/proc/$(pid_of init)/status")" != 000001ffffffffff ]
	[ "$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$(pid_of init)/status")" = 1 ]
	wait_until 30 self_alive
	wait_until 30 sched_is '[.node, .chain, .swim, .dockerd, .ready]' "[\"$ADDR\",true,true,true,true]"
	wait_until 10 sched_is .desired_acked true
	# canteen-init still stops everything (its children are another user's: CAP_KILL).
	stop_init
	! pgrep -u "$PU" > /dev/null
}

@test "sched and dockerd learn the node's address from key_file.addr, the private key gone" {
	mv "$PD/eth.key" "$PD/eth.key.away"
	start_init
	wait_until 20 all_up
	wait_until 20 sched_is .node "\"$ADDR\""
	wait_until 10 grep -q "canteen-dockerd: node $ADDR" "$BATS_TEST_TMPDIR/init.log"
	run grep -c 'only to learn its address\|cannot open key file' "$BATS_TEST_TMPDIR/init.log"
	[ "$output" = 0 ]
	mv "$PD/eth.key.away" "$PD/eth.key"
}

@test "without key_file.addr, sched as the user cannot read root's key: it says so and exits 100" {
	mv "$PD/eth.key.addr" "$PD/addr.away"
	start_init
	wait_until 10 grep -q 'sched: .*cannot open key file .*Permission denied' "$BATS_TEST_TMPDIR/init.log"
	wait_until 10 grep -q 'sched: pid [0-9]* exited with status 100' "$BATS_TEST_TMPDIR/init.log"
	# dockerd (root) falls back to the key, with a warning.
	wait_until 10 grep -q 'dockerd: .*only to learn its address' "$BATS_TEST_TMPDIR/init.log"
	mv "$PD/addr.away" "$PD/eth.key.addr"
}

@test "an unknown user is refused before anything starts, with a clear error" {
	sed -i "s/^swim user=$PU /swim user=nosuchuser_$PU /" "$PD/init.conf"
	run "$BIN/canteen-init" -f "$PD/init.conf" -c "$PD/canteen.conf"
	[ "$status" -eq 100 ]
	[[ "$output" == *"init.conf:2: swim: unknown user 'nosuchuser_$PU' (create it: useradd --system"* ]]
	[[ "$output" != *started* ]]
	[ ! -e "$RUN" ]
	sed -i "s/^user = .*/user = nosuchuser_$PU/" "$PD/canteen.conf"
	run "$BIN/canteen-init" -n -f "$PD/init.conf" -c "$PD/canteen.conf"
	sed -i "s/^user = .*/user = $PU/" "$PD/canteen.conf"
	[ "$status" -eq 100 ]
	[[ "$output" == *"canteen.conf: user: unknown user 'nosuchuser_$PU'"* ]]
	sed "s/^user = .*/user = nosuchuser_$PU/" "$PD/canteen.conf" > "$BATS_TEST_TMPDIR/bad.conf"
	run "$BIN/canteen-dockerd" -c "$BATS_TEST_TMPDIR/bad.conf"
	[ "$status" -eq 100 ]
	[[ "$output" == *"user: unknown user 'nosuchuser_$PU'"* ]]
}

@test "user= must be canteen.conf's user, and canteen.conf must name one" {
	sed -i "s/^swim user=$PU /swim user=root /" "$PD/init.conf"
	run "$BIN/canteen-init" -n -f "$PD/init.conf" -c "$PD/canteen.conf"
	[ "$status" -eq 100 ]
	[[ "$output" == *"init.conf:2: swim runs as root, but canteen.conf says user = $PU"* ]]
	sed -i "s/^swim user=root /swim user=$PU /" "$PD/init.conf"
	grep -v '^user' "$PD/canteen.conf" > "$BATS_TEST_TMPDIR/nouser.conf"
	run "$BIN/canteen-init" -n -f "$PD/init.conf" -c "$BATS_TEST_TMPDIR/nouser.conf"
	[ "$status" -eq 100 ]
	[[ "$output" == *"init.conf:1: chainwatch runs as $PU, but canteen.conf sets no user"* ]]
	run "$BIN/canteen-init" -n -f "$PD/init.conf" -c "$PD/canteen.conf"
	[ "$status" -eq 0 ]
}

@test "the run directory is not handed over when it holds files, is a link or is another user's" {
	mkdir -m 0700 "$RUN"
	echo secret > "$RUN/notes"
	run "$BIN/canteen-init" -f "$PD/init.conf" -c "$PD/canteen.conf"
	[ "$status" -eq 100 ]
	[[ "$output" == *"holds 'notes', which is not a socket"* ]]
	[ "$(stat -c '%U' "$RUN" "$RUN/notes" | sort -u)" = root ]
	rm -rf "$RUN"
	mkdir -m 0700 "$PD/elsewhere"
	ln -s "$PD/elsewhere" "$RUN"
	run "$BIN/canteen-init" -f "$PD/init.conf" -c "$PD/canteen.conf"
	[ "$status" -eq 100 ]
	[[ "$output" == *"a symbolic link"* ]]
	[ "$(stat -c '%U' "$PD/elsewhere")" = root ]
	rm -f "$RUN"
	rmdir "$PD/elsewhere"
	mkdir -m 0700 "$RUN"
	chown nobody "$RUN"
	run "$BIN/canteen-init" -f "$PD/init.conf" -c "$PD/canteen.conf"
	[ "$status" -eq 100 ]
	[[ "$output" == *"belongs to uid $(id -u nobody), neither root nor $PU"* ]]
	[ "$(stat -c '%U' "$RUN")" = nobody ]
}

@test "not run as root, canteen-init ignores user= with one warning and runs everything as itself" {
	mkdir -m 0700 "$RUN" && chown "$PU:" "$RUN"
	printf 'a user=%s sleep 100\nb user=%s sleep 101\n' "$PU" "$PU" > "$PD/init2.conf"
	chmod 0644 "$PD/init2.conf"
	start_bg init setpriv --reuid "$PU" --regid "$PU" --init-groups \
		"$BIN/canteen-init" -f "$PD/init2.conf" -c "$PD/canteen.conf"
	wait_until 10 test -S "$RUN/init.sock"
	wait_until 10 grep -q 'b: started' "$BATS_TEST_TMPDIR/init.log"
	[ "$(grep -c 'not running as root: user= is ignored' "$BATS_TEST_TMPDIR/init.log")" = 1 ]
	[ "$(ps -o user:40= --ppid "$(pid_of init)" | tr -d ' ' | sort -u)" = "$PU" ]
}
