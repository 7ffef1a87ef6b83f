#!/usr/bin/env bats
# sec_cli.bats: the CLI on a machine shared with other users: key files (owner, mode, links,
# replacement), canteen up's directory and canteen down's pids, terminal escapes in tables.
load lib/common
load lib/anvil
load swim

setup_file() { start_anvil; }
teardown_file() { stop_anvil; }

teardown() {
	stop_started
	[ ! -f "$BATS_TEST_TMPDIR/cleanup" ] || rm -rf "$(cat "$BATS_TEST_TMPDIR/cleanup")"
}

@test "keygen --force replaces a key file owned by another user with a new 0600 file of ours" {
	d=$BATS_TEST_TMPDIR/keys
	mkdir -p "$d"
	echo "old secret" > "$d/swim.key"
	echo "old eth secret" > "$d/eth.key"
	chown nobody "$d/swim.key" "$d/eth.key"
	chmod 0644 "$d/swim.key" "$d/eth.key"
	ln "$d/swim.key" "$d/swim.old"
	ln "$d/eth.key" "$d/eth.old"
	ino=$(stat -c %i "$d/swim.key")
	run "$BIN/canteen" node keygen --swim-key "$d/swim.key" --eth-key "$d/eth.key" --force
	[ "$status" -eq 0 ]
	for k in swim eth; do
		[ "$(stat -c '%U %a' "$d/$k.key")" = "$(id -un) 600" ]
		# The old file (another user's) is neither written nor reused: its inode keeps its text.
		[ "$(stat -c '%U %a' "$d/$k.old")" = "nobody 644" ]
		[ "$(stat -c %i "$d/$k.key")" != "$(stat -c %i "$d/$k.old")" ]
	done
	[ "$(cat "$d/swim.old")" = "old secret" ]
	[ "$(cat "$d/eth.old")" = "old eth secret" ]
	[ "$(stat -c %i "$d/swim.old")" = "$ino" ]
	# The new key pair is whole and loads.
	"$TBIN/swim_tool" pubkey "$d/swim.key"
	# No temporary file is left beside them.
	[ "$(ls "$d" | sort | tr '\n' ' ')" = "eth.key eth.key.addr eth.old swim.key swim.old " ]
}

@test "keygen without --force never replaces a file; through a symbolic link it refuses" {
	d=$BATS_TEST_TMPDIR/keys
	mkdir -p "$d"
	echo keep > "$d/swim.key"
	run "$BIN/canteen" node keygen --swim-key "$d/swim.key"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--force"* ]]
	[ "$(cat "$d/swim.key")" = keep ]
	echo target > "$d/target"
	ln -s target "$d/link.key"
	run "$BIN/canteen" node keygen --swim-key "$d/link.key" --force
	[ "$status" -eq 1 ]
	[[ "$output" == *"symbolic link"* ]]
	[ "$(cat "$d/target")" = target ]
	[ -L "$d/link.key" ]
}

@test "a key file owned by another user, or a symbolic link to one, is refused on load" {
	d=$BATS_TEST_TMPDIR/keys
	mkdir -p "$d"
	"$BIN/canteen" node keygen --swim-key "$d/swim.key" --eth-key "$d/eth.key" > /dev/null
	# The files as made load (swim key by the swim tool, eth key by the CLI's own reader).
	"$TBIN/swim_tool" pubkey "$d/swim.key"
	run "$BIN/canteen" -c /dev/null --rpc http://127.0.0.1:1 --contract 0x$(printf '%040d' 1) \
		--key-file "$d/eth.key" node approve 0x$(printf %040d 2)
	[[ "$output" != *"key file"* ]]
	chown nobody "$d/swim.key" "$d/eth.key"
	run "$TBIN/swim_tool" pubkey "$d/swim.key"
	[ "$status" -ne 0 ]
	[[ "$output" == *"owned by uid $(id -u nobody)"* ]]
	run "$BIN/canteen" -c /dev/null --rpc http://127.0.0.1:1 --contract 0x$(printf '%040d' 1) \
		--key-file "$d/eth.key" node approve 0x$(printf %040d 2)
	[ "$status" -eq 1 ]
	[[ "$output" == *"owned by uid $(id -u nobody)"* ]]
	chown root "$d/swim.key" "$d/eth.key"
	ln -s eth.key "$d/eth.link"
	ln -s swim.key "$d/swim.link"
	run "$BIN/canteen" -c /dev/null --rpc http://127.0.0.1:1 --contract 0x$(printf '%040d' 1) \
		--key-file "$d/eth.link" node approve 0x$(printf %040d 2)
	[ "$status" -eq 1 ]
	[[ "$output" == *"is a symbolic link"* ]]
	run "$TBIN/swim_tool" pubkey "$d/swim.link"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is a symbolic link"* ]]
}

# up_refuses DIR PATTERN: canteen up with DIR refuses, naming PATTERN, and starts nothing.
up_refuses() {
	run env CANTEEN_UP_DIR="$1" "$BIN/canteen" -c /dev/null up --nodes 1 --fast --detach --no-sample
	[ "$status" -eq 1 ] || { echo "up: $status $output"; return 1; }
	[[ "$output" == *"$2"* ]] || { echo "up said: $output"; return 1; }
	[ ! -e "$1/up.json" ] && [ ! -e "$1/anvil.log" ]
}

@test "canteen up and down refuse a directory another user owns or could write, or a link" {
	d=$BATS_TEST_TMPDIR/up
	mkdir -m 0700 "$d"
	echo "evil 0 /bin/sh -c id" > "$d/init.conf"
	chown -R nobody "$d"
	up_refuses "$d" "owned by uid $(id -u nobody)"
	[ "$(cat "$d/init.conf")" = "evil 0 /bin/sh -c id" ]
	run "$BIN/canteen" -c /dev/null down --dir "$d"
	[ "$status" -eq 1 ]
	[[ "$output" == *"owned by uid $(id -u nobody)"* ]]
	chown -R root "$d"
	chmod 0777 "$d"
	up_refuses "$d" "can be written by group or others (mode 777)"
	chmod 0700 "$d"
	ln -s up "$BATS_TEST_TMPDIR/link"
	up_refuses "$BATS_TEST_TMPDIR/link" "is a symbolic link"
	# Inside a directory everyone may write (and not sticky), it could be swapped.
	mkdir -m 0777 "$BATS_TEST_TMPDIR/open"
	up_refuses "$BATS_TEST_TMPDIR/open/up" "which others can write"
	# An up.json another user could have written is not read.
	echo '{"anvil_pid": 1, "nodes": []}' > "$d/up.json"
	chmod 0666 "$d/up.json"
	run "$BIN/canteen" -c /dev/null down --dir "$d"
	[ "$status" -eq 1 ]
	[[ "$output" == *"up.json can be written by group or others"* ]]
}

@test "without --dir, another user's canteen up uses a directory of its own and refuses a planted one" {
	x=$(mktemp -d /tmp/sec_cli.XXXXXX)
	echo "$x" > "$BATS_TEST_TMPDIR/cleanup"
	chmod 0711 "$x"
	mkdir -m 0700 "$x/xdg"
	chown nobody "$x/xdg"
	as_nobody() { setpriv --reuid nobody --regid nogroup --clear-groups env -u CANTEEN_UP_DIR \
		XDG_RUNTIME_DIR="$x/xdg" "$BIN/canteen" -c /dev/null "$@"; }
	run as_nobody down
	[ "$status" -eq 0 ]
	[[ "$output" == *"no local cluster in $x/xdg/canteen-up"* ]]
	run setpriv --reuid nobody --regid nogroup --clear-groups env -u CANTEEN_UP_DIR -u XDG_RUNTIME_DIR \
		"$BIN/canteen" -c /dev/null down
	[[ "$output" == *"/tmp/canteen-up-$(id -u nobody)"* ]]
	# Root's default is under /run, never a name in /tmp anyone could take first.
	[[ "$(grep -a -o '/run/canteen-up' "$BIN/canteen" | head -n 1)" = /run/canteen-up ]]
	mkdir -m 0755 "$x/xdg/canteen-up"
	run as_nobody up --nodes 1 --fast --detach --no-sample
	[ "$status" -eq 1 ]
	[[ "$output" == *"owned by uid 0"* ]]
	rm -rf "$x"
}

# alive PID: running (a zombie does not count).
alive() { [ -e "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]; }
# start_of PID: field 22 of /proc/PID/stat.
start_of() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20; }
# runs PID PROGRAM: PID has exec'd PROGRAM.
runs() { [ "$(readlink "/proc/$1/exe")" = "$(readlink -f "$2")" ]; }

@test "canteen down signals only the processes up.json recorded, not others under their pids" {
	d=$BATS_TEST_TMPDIR/up
	mkdir -m 0700 "$d"
	start_bg victim sleep 1000
	start_bg victim2 sleep 1000
	v=$(pid_of victim) v2=$(pid_of victim2)
	wait_until 5 runs "$v" "$(command -v sleep)"
	wait_until 5 runs "$v2" "$(command -v sleep)"
	addr=0x$(printf '%040d' 5)
	# The pids now name unrelated processes: the start time or the executable differ.
	jq -n --argjson v "$v" --argjson v2 "$v2" --argjson s "$(start_of "$v")" --arg a "$addr" \
		'{rpc: "http://127.0.0.1:1", contract: $a, fast: true,
		  anvil_pid: $v, anvil_start: $s, anvil_exe: "/opt/anvil",
		  dockerd_pid: $v2, dockerd_start: 1, dockerd_exe: "/usr/bin/dockerd",
		  nodes: [{address: $a, init_pid: $v2, init_start: 1, init_exe: "/x/canteen-init"}]}' \
		> "$d/up.json"
	chmod 0600 "$d/up.json"
	run "$BIN/canteen" -c /dev/null down --dir "$d"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"not stopping anvil (pid $v): the pid now names another process"* ]]
	[[ "$output" == *"not stopping node 1 (canteen-init) (pid $v2)"* ]]
	alive "$v"
	alive "$v2"
	# An up.json that records pids alone (nothing to tell them apart by) stops nothing.
	jq -n --argjson v "$v" --argjson v2 "$v2" '{anvil_pid: $v, nodes: [{init_pid: $v2}]}' > "$d/up.json"
	chmod 0600 "$d/up.json"
	run "$BIN/canteen" -c /dev/null down --dir "$d"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no start time or executable was recorded"* ]]
	alive "$v"
	alive "$v2"
	# What it did record, it stops.
	jq -n --argjson v "$v" --argjson s "$(start_of "$v")" --arg e "$(readlink "/proc/$v/exe")" \
		'{anvil_pid: $v, anvil_start: $s, anvil_exe: $e, nodes: []}' > "$d/up.json"
	chmod 0600 "$d/up.json"
	run "$BIN/canteen" -c /dev/null down --dir "$d"
	[ "$status" -eq 0 ]
	[[ "$output" == *"stopped anvil (pid $v)"* ]]
	wait_until 5 bash -c "! { [ -e /proc/$v/stat ] && [ \"\$(sed 's/.*) //' /proc/$v/stat | cut -d' ' -f1)\" != Z ]; }"
	alive "$v2"
}

# no_esc TEXT: TEXT holds no ESC, no other C0 control but newline, no DEL and no C1 CSI.
no_esc() { ! printf '%s' "$1" | LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]\\|\xc2\x9b'; }

@test "node ls, service ls and events escape the control characters strangers put on the chain" {
	# Today's contract refuses such bytes in a node's record (feed_spam.bats); one that
	# does not check (lax_contract_bin) shows what the CLI does with them.
	c=$(cast send --rpc-url "$ANVIL_URL" --private-key "$(key_of 0)" --json \
		--create "0x$(lax_contract_bin)" | jq -r .contractAddress)
	ep=$'127.0.0.1:1\e[2J\e]0;owned\a\rX'
	send_as 1 "$c" "$SIG_REGISTER" "$ep" "0x$(printf '%064d' 1)" 1000 1024 \
		$'[zone=\e[31mred,x=\xc2\x9b1m]' > /dev/null
	ct() { "$BIN/canteen" -c /dev/null --rpc "$ANVIL_URL" --contract "$c" "$@"; }
	# node ls leaves such a record out (the record grammar is printable ASCII), and its
	# warning reaches the terminal escaped like everything else.
	run ct node ls
	echo "$output"
	[ "$status" -eq 0 ]
	no_esc "$output"
	[[ "$output" == *"left out a malformed record: node $(addr_of 1)"* ]]
	[ "$(echo "$output" | grep -c '^0x')" -eq 0 ]
	run ct --json node ls
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^{')" -eq 0 ]
	# A service whose image names an escape, and the events that carry it.
	send_as 0 "$c" "$SIG_ADD" $'("web","busybox:1\e[5m",[],[],1,100,64,[],0,0,false,[],[])' > /dev/null
	run ct service ls
	echo "$output"
	[ "$status" -eq 0 ]
	no_esc "$output"
	[[ "$output" == *'busybox:1\x1b[5m'* ]]
	d=$BATS_TEST_TMPDIR/cw
	mk_rundir "$d" > /dev/null
	start_bg cw "$BIN/canteen-chainwatch" -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract "$c" -d "$d" \
		--confirmations 0 --poll 100ms
	wait_until 20 test -S "$d/chain.sock"
	wait_until 20 bash -c "'$TBIN/ipc_tool' request '$d/chain.sock' '{\"op\":\"state\"}' | grep -q busybox"
	# events prints each record as a line: the snapshot's, then one more service's (the
	# stranger's node is not approved, so it is not in chainwatch's feed at all).
	start_bg events "$BIN/canteen" -c /dev/null --rundir "$d" events --no-head
	wait_until 10 grep -q snapshot.end "$BATS_TEST_TMPDIR/events.log"
	send_as 0 "$c" "$SIG_ADD" $'("web2","busybox:2\e[?1049h",[],[],1,100,64,[],0,0,false,[],[])' > /dev/null
	wait_until 20 grep -q 'web2' "$BATS_TEST_TMPDIR/events.log"
	cat "$BATS_TEST_TMPDIR/events.log"
	no_esc "$(cat "$BATS_TEST_TMPDIR/events.log")"
	grep -qF 'busybox:1\x1b[5m' "$BATS_TEST_TMPDIR/events.log"
	grep -qF 'busybox:2\x1b[?1049h' "$BATS_TEST_TMPDIR/events.log"
}

@test "members escapes control characters in a peer's endpoint and metadata" {
	swim_setup 2 140
	for i in 1 2; do swim_start $i; done
	wait_until 15 swim_converged 2
	run swim_req 2 '{"op":"set_meta","meta":"a\u001b[2J\u001b]2;owned\u0007b\r\nc"}'
	[[ "$output" != *error* ]]
	meta_has_esc() { swim_req 1 '{"op":"members"}' | jqe '.members[] | select(.meta != null) | .meta | test("\u001b")'; }
	wait_until 10 meta_has_esc
	run "$BIN/canteen" --rundir "$SW/r1" members
	echo "$output"
	[ "$status" -eq 0 ]
	no_esc "$output"
	[[ "$output" == *'a\x1b[2J\x1b]2;owned\x07b\x0d\x0ac'* ]]
	run "$BIN/canteen" --rundir "$SW/r1" --json members
	[ "$status" -eq 0 ]
	echo "$output" | jq -s -e 'map(select(.meta != null)) | .[0].meta == "a\u001b[2J\u001b]2;owned\u0007b\r\nc"'
}

@test "error messages are escaped too; a usage text keeps its lines" {
	run "$BIN/canteen" -c $'/nonexistent/\e]0;owned\a' status
	echo "$output"
	[ "$status" -ne 0 ]
	no_esc "$output"
	[[ "$output" == *'/nonexistent/\x1b]0;owned\x07'* ]]
	run "$BIN/canteen" up --bogus
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: canteen up"* ]]
	run "$BIN/canteen" node
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -gt 3 ]
}
