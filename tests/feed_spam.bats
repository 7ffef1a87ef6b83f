#!/usr/bin/env bats
# feed_spam.bats: open registration is safe: a stranger paying gas cannot hurt running or
# booting servers. Records hold printable ASCII within tight bounds (contract and
# chainwatch), pending nodes stay out of the daemons' feed, a snapshot is one line per
# record, and a client that a peer drops at once backs off. Real anvil, contract,
# canteen-chainwatch, canteen-swim and canteen-sched.
# lax_contract_bin (lib/anvil) is today's contract without its printable-ASCII check: what a
# contract that did not check (version 1, or a changed one) lets strangers write.
load lib/common
load lib/anvil
load swim

# 30 funded accounts: 0..9 are lib/anvil's dev keys, 10..29 and more stand for strangers.
setup_file() { start_anvil --accounts 40; }
teardown_file() { stop_anvil; }
setup() { RUN=$(mk_rundir); }
teardown() { stop_started; }

deploy_lax() {
	cast send --rpc-url "$ANVIL_URL" --private-key "$(key_of 0)" --json \
		--create "0x$(lax_contract_bin)" | jq -r .contractAddress
}
# stranger N: the address of funded account N (10 and up: no key file, unlocked in anvil).
stranger() { rpc eth_accounts '[]' | jq -r ".result[$1]"; }
# raw_send FROM CALLDATA: a transaction from an unlocked account, with gas enough for big
# records; fails unless it succeeded.
raw_send() {
	local a h
	a=$(rpc eth_sendTransaction "[{\"from\":\"$1\",\"to\":\"$C\",\"gas\":\"0x1c9c380\",\"data\":\"$2\"}]")
	h=$(echo "$a" | jqe -r .result) || { echo "raw_send from $1: $a"; return 1; }
	wait_until 10 mined "$h" || { echo "raw_send from $1: no receipt for $h"; return 1; }
	[ "$(rpc eth_getTransactionReceipt "[\"$h\"]" | jq -r .result.status)" = 0x1 ]
}
mined() { rpc eth_getTransactionReceipt "[\"$1\"]" | jqe .result.status > /dev/null; }
# max_labels N BYTE: N labels "kNN=" + BYTE repeated to 256 bytes (version 1 limits, lax_contract_bin).
max_labels() {
	local i out="" v
	v=$(printf "%0252d" 0 | tr 0 "$2")
	for ((i = 0; i < $1; i++)); do out+=$(printf 'k%02d=%s,' "$i" "$v"); done
	echo "[${out%,}]"
}
cw() {
	start_bg cw canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract "$C" -d "$RUN" \
		--poll 100ms --confirmations 0 --stdout "$@"
}
events() { grep '^{' "$BATS_TEST_TMPDIR/cw.log"; }
has_event() { events | jq -s -e "map(select($1)) | length > 0" > /dev/null; }
# jq -e takes no input as success: these check there is exactly one answer.
state_has() { sock_request "$RUN/chain.sock" '{"op":"state"}' | jq -s -e "length == 1 and (.[0] | $1)" > /dev/null; }
# snap SOCK: the snapshot a new subscriber of SOCK gets, as one object (snapshot.jq).
snap() { "$TBIN/ipc_tool" subscribe "$1" 0 1500 2> /dev/null | jq -s -c -f "$TOP/tests/lib/snapshot.jq"; }
snap_has() { snap "$RUN/chain.sock" | jq -s -e "length == 1 and (.[0] | $1)" > /dev/null; }
stats_has() { sock_request "$RUN/chain.sock" '{"op":"stats"}' | jq -s -e "length == 1 and (.[0] | $1)" > /dev/null; }
sched_ready() { "$TBIN/ipc_tool" request "$1/sched.sock" '{"op":"status"}' | jq -s -e "length == 1 and (.[0] | $2)" > /dev/null; }

@test "registerNode refuses control bytes, a space in the endpoint, a 17th label and a 65-byte label" {
	C=$(deploy_canteen 0)
	local pk=0x$(printf 'ab%.0s' {1..32}) err
	reverts() { # ERROR_SIG ENDPOINT LABELS
		run send_as 4 "$C" "$SIG_REGISTER" "$2" "$pk" 1000 1024 "$3"
		[ "$status" -ne 0 ] || { echo "registerNode $2 $3 succeeded, want $1"; return 1; }
		[[ "$output" == *"$(error_selector "$1")"* ]] || { echo "want $1, got $output"; return 1; }
	}
	err='NotPrintable(string,uint256)'
	reverts "$err" '127.0.0.1:7946' "[$(printf 'k=a\001b')]"
	reverts "$err" '127.0.0.1:7946' "[a=1,$(printf 'k=\177')]"
	reverts "$err" '127.0.0.1:7946' "[$(printf 'k=gr\303\274\303\237e')]"
	reverts "$err" '127.0.0.1 :7946' '[]'
	reverts "$err" "$(printf '127.0.0.1:79\n46')" '[]'
	reverts 'StringTooLong(string,uint256)' "127.0.0.1:$(printf '%055d' 0)" '[]'
	reverts 'StringTooLong(string,uint256)' '127.0.0.1:7946' "[k=$(printf '%063d' 0)]"
	reverts 'TooManyItems(string,uint256)' '127.0.0.1:7946' "[$(for i in $(seq 1 17); do printf 'k%d=v,' "$i"; done | sed 's/,$//')]"
	# The limits themselves, and printable ASCII with spaces in a label, are taken.
	send_as 4 "$C" "$SIG_REGISTER" "[::1]:$(printf '%058d' 0)" "$pk" 1000 1024 \
		"[$(for i in $(seq 10 25); do printf 'k%d=%060d,' "$i" 0; done | sed 's/,$//')]" > /dev/null
	send_as 5 "$C" "$SIG_REGISTER" '127.0.0.1:7946' "${pk/0xab/0x05}" 1000 1024 '[note=a b ~!]' > /dev/null
	[ "$(call "$C" 'nodeCount()(uint256)')" = 2 ]
	# The CLI says so before it sends anything.
	run canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$C" --key-file "$ANVIL_KEYS/key6" node register \
		--endpoint 127.0.0.1:7946 --swim-pubkey "${pk#0x}" --cpu 1 --mem 1G --label "$(printf 'k=\033[2J')"
	[ "$status" -eq 2 ]
	[[ "$output" == *"printable ASCII"* ]]
	[ "$(call "$C" 'nodeCount()(uint256)')" = 2 ]
}

@test "an older contract's records with control bytes are left out of the feed, with a warning naming the address" {
	C=$(deploy_lax)
	send_as 0 "$C" 'setRegistrationOpen(bool)' true > /dev/null # active at once: no approval
	local pk=0x$(printf 'cd%.0s' {1..32}) bad good
	good=$(addr_of 1) bad=$(stranger 20)
	send_as 1 "$C" "$SIG_REGISTER" 127.0.0.2:7946 "$pk" 1000 1024 '[zone=a]' > /dev/null
	raw_send "$bad" "$(cast calldata "$SIG_REGISTER" 127.0.0.3:7946 "${pk/0xcd/0x02}" 1000 1024 "$(max_labels 2 $'\001')")"
	[ "$(call "$C" "getNode(address)($NODE_T)" "$bad" | grep -c true)" -ge 1 ]
	cw
	# Snapshot path: the stranger's active record is not in it, and the log names it.
	wait_until 20 snap_has '.nodes | map(.address) == ["'"$good"'"]'
	grep -q "left out 1 malformed node record(s): node $bad" "$BATS_TEST_TMPDIR/cw.log"
	state_has '.nodes | map(.address) == ["'"$good"'"]'
	# Log path: a second stranger, and the honest node turning to control bytes, are dropped.
	bad2=$(stranger 21)
	raw_send "$bad2" "$(cast calldata "$SIG_REGISTER" 127.0.0.4:7946 "${pk/0xcd/0x03}" 1000 1024 "[$(printf 'k=\033[2J')]")"
	raw_send "$bad2" "$(cast calldata "$SIG_REGISTER" 127.0.0.4:7946 "${pk/0xcd/0x03}" 1000 1024 "[$(printf 'k=\033[2J')]")"
	send_as 1 "$C" "$SIG_REGISTER" $'127.0.0.2:79\x0146' "$pk" 1000 1024 '[zone=a]' > /dev/null
	wait_until 20 has_event '.type == "node.remove" and .address == "'"$good"'"'
	grep -q "malformed record in a log: node $bad2" "$BATS_TEST_TMPDIR/cw.log"
	grep -q "malformed record in a log: node $good" "$BATS_TEST_TMPDIR/cw.log"
	! has_event '.type == "node.upsert" and (.node.address == "'"$bad"'" or .node.address == "'"$bad2"'")'
	! has_event '.type == "node.remove" and .address == "'"$bad2"'"'
	state_has '.nodes == []'
}

@test "an approved node that changes its record (CPU 4,000,000) leaves the feed until an admin approves the change" {
	C=$(deploy_canteen 0)
	local pk=0x$(printf 'fa%.0s' {1..32}) a
	a=$(addr_of 1)
	send_as 1 "$C" "$SIG_REGISTER" 127.0.0.2:7946 "$pk" 1000 1024 '[zone=a]' > /dev/null
	send_as 0 "$C" 'approveNode(address)' "$a" > /dev/null
	cw
	wait_until 20 snap_has '.nodes | map(.address) == ["'"$a"'"]'
	# the same record again keeps the approval: no event
	send_as 1 "$C" "$SIG_REGISTER" 127.0.0.2:7946 "$pk" 1000 1024 '[zone=a]' > /dev/null
	send_as 1 "$C" "$SIG_REGISTER" 127.0.0.2:7946 "$pk" 4000000 1024 '[zone=a]' > /dev/null
	wait_until 20 has_event '.type == "node.remove" and .address == "'"$a"'"'
	! has_event '.type == "node.upsert" and .node.cpu_millis == 4000000'
	state_has '.nodes == []'
	snap_has '.nodes == []'
	send_as 0 "$C" 'approveNode(address)' "$a" > /dev/null
	wait_until 20 has_event '.type == "node.upsert" and .node.cpu_millis == 4000000 and .node.active'
	snap_has '.nodes | map(.cpu_millis) == [4000000]'
}

@test "pending nodes stay out of chain.sock and --stdout; approval brings them in; node ls --pending lists them" {
	C=$(deploy_canteen 0)
	local pk=0x$(printf 'ef%.0s' {1..32})
	send_as 1 "$C" "$SIG_REGISTER" 127.0.0.2:7946 "$pk" 1000 1024 '[zone=a]' > /dev/null
	send_as 0 "$C" 'approveNode(address)' "$(addr_of 1)" > /dev/null
	send_as 2 "$C" "$SIG_REGISTER" 127.0.0.3:7946 "${pk/0xef/0x02}" 1000 1024 '[zone=b]' > /dev/null
	cw
	wait_until 20 snap_has '.nodes | map(.address) == ["'"$(addr_of 1)"'"]'
	state_has '.nodes | map(.address) == ["'"$(addr_of 1)"'"]'
	# A pending node's registration and updates are not events; its approval is its upsert.
	send_as 3 "$C" "$SIG_REGISTER" 127.0.0.4:7946 "${pk/0xef/0x03}" 1000 1024 '[]' > /dev/null
	send_as 3 "$C" "$SIG_REGISTER" 127.0.0.4:7947 "${pk/0xef/0x03}" 1000 1024 '[]' > /dev/null
	send_as 3 "$C" 'unregisterNode()' > /dev/null
	send_as 0 "$C" 'approveNode(address)' "$(addr_of 2)" > /dev/null
	wait_until 20 has_event '.type == "node.upsert" and .node.address == "'"$(addr_of 2)"'" and .node.active'
	! has_event '(.node.address // .address) == "'"$(addr_of 3)"'"'
	! has_event '.type == "node.upsert" and (.node.active | not)'
	snap_has '(.nodes | map(.address) | sort) == (["'"$(addr_of 1)"'", "'"$(addr_of 2)"'"] | sort)'
	# Revoked: removed from the feed.
	send_as 0 "$C" 'revokeNode(address)' "$(addr_of 1)" > /dev/null
	wait_until 20 has_event '.type == "node.remove" and .address == "'"$(addr_of 1)"'"'
	# The CLI still lists pending nodes, from the chain.
	send_as 3 "$C" "$SIG_REGISTER" 127.0.0.4:7946 "${pk/0xef/0x03}" 1000 1024 '[]' > /dev/null
	run canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$C" --json node ls --pending
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -s -c 'map(.address)')" = "[\"$(addr_of 3)\"]" ]
	run canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$C" node ls
	[ "${#lines[@]}" -eq 3 ] # the header, node 2 and node 3
	run canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$C" node ls --bogus
	[ "$status" -eq 2 ]
}

@test "the snapshot is a line per record: services of 1.2 MiB in all reach a new subscriber, swim and sched" {
	C=$(deploy_canteen 0)
	local i cmd pk
	# 6 services, each with 64 command arguments of 500 control bytes (JSON: \u0001 each):
	# about 200 KB per record on the socket, 1.2 MB together; today's one-line snapshot
	# could not be sent.
	cmd=$(for i in $(seq 1 64); do printf '%0500d,' 0; done | tr 0 '\001')
	for i in 1 2 3 4 5 6; do
		raw_send "$(addr_of 0)" "$(cast calldata "$SIG_ADD" "(big-$i,busybox:1,[${cmd%,}],[],1,100,64,[],0,0,false,[],[])")"
	done
	SW=$BATS_TEST_TMPDIR/sw
	mkdir -p "$SW"
	mk_rundir "$SW/r1" > /dev/null
	pk=$(canteen node keygen --swim-key "$SW/k1")
	local ep=127.0.0.61:$(free_port)
	send_as 1 "$C" "$SIG_REGISTER" "$ep" "0x$pk" 1000 1024 '[]' > /dev/null
	send_as 0 "$C" 'approveNode(address)' "$(addr_of 1)" > /dev/null
	cw
	wait_until 30 stats_has '.ready and .services == 6'
	# Too big for one answer line: the "state" request says so, and how to read it.
	run sock_request "$RUN/chain.sock" '{"op":"state","id":4}'
	[ "$status" -eq 0 ]
	echo "$output" | jqe '.type == "error" and .id == 4 and (.error | test("more than one line.*subscribe"))'
	run "$TBIN/ipc_tool" subscribe "$RUN/chain.sock" 9 5000
	[ "$status" -eq 0 ]
	echo "$output" | jqe -s 'map(.type) == ["snapshot.begin", "node"] + [range(6) | "service"] + ["snapshot.end"]'
	echo "$output" | jqe -s '.[0].nodes == 1 and .[0].services == 6 and .[-1].nodes == 1 and .[-1].services == 6
		and .[0].seq == .[-1].seq'
	[ "$(echo "$output" | wc -c)" -gt $((1024 * 1024)) ]
	[ "$(echo "$output" | awk '{ if (length($0) > m) m = length($0) } END { print m }')" -lt $((300 * 1024)) ]
	start_bg swim1 canteen-swim -d "$SW/r1" --bind "$ep" --node "$(addr_of 1)" \
		--key-file "$SW/k1" --chain-sock "$RUN/chain.sock" "${SWIM_FAST[@]}"
	wait_until 20 grep -q "this node ($(addr_of 1)) is admitted" "$BATS_TEST_TMPDIR/swim1.log"
	start_bg sched canteen-sched -d "$SW/r1" --chain-sock "$RUN/chain.sock" --node "$(addr_of 1)"
	wait_until 20 sched_ready "$SW/r1" '.ready and .services == 6 and .nodes == 1'
}

@test "a chain.sock that drops every connection at once, or sends an over-long line: swim and sched back off" {
	local d=$BATS_TEST_TMPDIR
	mk_rundir "$d/s" > /dev/null
	mk_rundir "$d/w" > /dev/null
	start_bg slam_s "$TBIN/feed_tool" slam "$d/s/chain.sock"
	start_bg slam_w "$TBIN/feed_tool" slam "$d/w/chain.sock" $((1100 * 1024))
	wait_until 5 test -S "$d/s/chain.sock"
	wait_until 5 test -S "$d/w/chain.sock"
	canteen node keygen --swim-key "$d/k" > /dev/null
	local t0
	t0=$(now_ms)
	start_bg sched canteen-sched -d "$d/s" --node "$(addr_of 1)"
	start_bg swim canteen-swim -d "$d/w" --bind "127.0.0.62:$(free_port)" --node "$(addr_of 1)" \
		--key-file "$d/k" --chain-sock "$d/w/chain.sock"
	# 100 ms doubling to 5 s: the 6th connection comes 3.1 s after the first (today, after 0.5 s).
	conns_ge() { [ "$(grep -c '^conn' "$d/$1.log")" -ge "$2" ]; }
	wait_until 20 conns_ge slam_s 6
	local ts=$(( $(now_ms) - t0 ))
	wait_until 20 conns_ge slam_w 6
	local tw=$(( $(now_ms) - t0 ))
	echo "# 6 connections in $ts ms (sched, closed at once), $tw ms (swim, over-long line)" >&3
	[ "$ts" -ge 2500 ]
	[ "$tw" -ge 2500 ]
	# Both still run.
	kill -0 "$(pid_of sched)"
	kill -0 "$(pid_of swim)"
}

@test "the attack: 24 strangers with 32 labels of 256 control bytes; swim and sched restarted get their snapshot and admit the honest nodes" {
	C=$(deploy_lax)
	SW=$BATS_TEST_TMPDIR/sw
	mkdir -p "$SW"
	SWIM_PORT=$(free_port)
	local i pk labels
	for i in 1 2; do
		IP[i]=127.0.0.$((70 + i)) ADDR[i]=$(addr_of $i)
		pk=$(canteen node keygen --swim-key "$SW/k$i")
		send_as "$i" "$C" "$SIG_REGISTER" "${IP[i]}:$SWIM_PORT" "0x$pk" 1000 1024 '[zone=a]' > /dev/null
		send_as 0 "$C" 'approveNode(address)' "${ADDR[i]}" > /dev/null
		mk_rundir "$SW/r$i" > /dev/null
	done
	CW=$(mk_rundir "$SW/cw")
	start_bg cw canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract "$C" -d "$CW" \
		--poll 100ms --confirmations 0
	for i in 1 2; do
		start_bg "swim$i" canteen-swim -d "$SW/r$i" --bind "${IP[i]}:$SWIM_PORT" --node "${ADDR[i]}" \
			--key-file "$SW/k$i" --chain-sock "$CW/chain.sock" "${SWIM_FAST[@]}"
	done
	start_bg sched canteen-sched -d "$SW/r1" --chain-sock "$CW/chain.sock" --node "${ADDR[1]}"
	wait_until 20 swim_converged 2
	wait_until 20 sched_ready "$SW/r1" '.ready and .nodes == 2'
	# The stranger pays gas: 24 registrations of 32 labels of 256 control bytes (8 KiB each,
	# 49 KB on the socket as JSON escapes: 1.17 MB together, more than a line). Never approved.
	labels=$(max_labels 32 $'\001')
	local data t0 k99 k31
	k99=$(printf '99%.0s' {1..32}) k31=$(printf '99%.0s' {1..31})
	data=$(cast calldata "$SIG_REGISTER" 127.0.0.99:1 "0x$k99" 1 1 "$labels")
	t0=$(now_ms)
	# each with a swim key of its own (a key belongs to one address)
	for i in $(seq 10 33); do
		raw_send "$(stranger "$i")" "${data/$k99/$(printf '%02x' "$i")$k31}" || { echo "stranger $i: refused"; false; }
	done
	echo "# 24 registrations in $(( $(now_ms) - t0 )) ms" >&3
	[ "$(call "$C" 'nodeCount()(uint256)')" = 26 ]
	RUN=$CW wait_until 20 stats_has ".block >= $(block_number)"
	# Restart swim 1 and sched: they get their snapshot and the honest nodes are admitted.
	for p in swim1 sched; do
		kill -TERM "$(pid_of $p)"
		wait_until 10 bash -c "! kill -0 $(pid_of $p) 2> /dev/null"
	done
	t0=$(now_ms)
	start_bg swim1b canteen-swim -d "$SW/r1" --bind "${IP[1]}:$SWIM_PORT" --node "${ADDR[1]}" \
		--key-file "$SW/k1" --chain-sock "$CW/chain.sock" "${SWIM_FAST[@]}"
	start_bg schedb canteen-sched -d "$SW/r1" --chain-sock "$CW/chain.sock" --node "${ADDR[1]}"
	wait_until 20 grep -q 'chain snapshot: 2 active nodes' "$BATS_TEST_TMPDIR/swim1b.log"
	wait_until 20 swim_converged 2
	wait_until 20 sched_ready "$SW/r1" '.ready and .nodes == 2 and .chain'
	echo "# restarted swim and sched admitted the honest nodes after $(( $(now_ms) - t0 )) ms" >&3
	# One connection each was enough; the strangers are nowhere.
	[ "$(grep -c "subscribed to" "$BATS_TEST_TMPDIR/swim1b.log")" -eq 1 ]
	[ "$(grep -c "chain.sock connected" "$BATS_TEST_TMPDIR/schedb.log")" -eq 1 ]
	for i in 1 2; do [ "$(swim_req "$i" '{"op":"members"}' | jq '.members | length')" = 2 ]; done
	grep -q "malformed record in a log: node $(stranger 33)" "$BATS_TEST_TMPDIR/cw.log"
}
