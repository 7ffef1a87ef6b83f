#!/usr/bin/env bats
# sec_cli.bats: the CLI on a machine shared with other users: key files (owner, mode, links,
# replacement), canteen up's directory and canteen down's pids, terminal escapes in tables.
load lib/common

teardown() { stop_started; }

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
	[ "$(ls "$d" | sort | tr '\n' ' ')" = "eth.key eth.old swim.key swim.old " ]
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
