#!/usr/bin/env bats
# chainwatch_edges.bats: canteen-chainwatch's records checked field by field against what
# cast decodes from the contract (snapshot path and log path), hostile lines on chain.sock,
# --stdout through a real pipe, and a frozen (SIGSTOPped) RPC node: time-outs, not refusals.
load lib/common
load lib/anvil

setup_file() { start_anvil; }
teardown_file() { stop_anvil; }

setup() { RUN=$(mk_rundir); }
teardown() {
	# A test that froze anvil must not leave it frozen for the next one.
	kill -CONT "$(cat "$BATS_FILE_TMPDIR/anvil/anvil.pid")" 2>/dev/null || true
	stop_started
}

cw() {
	start_bg cw canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL" --contract "$1" -d "$RUN" \
		--poll 100ms --confirmations 0 --stdout "${@:2}"
}
state() { sock_request "$RUN/chain.sock" '{"op":"state"}'; }
state_has() { state | jq -en "input | ($1)" > /dev/null 2>&1; } # no answer is not a match
events() { grep '^{' "$BATS_TEST_TMPDIR/cw.log"; }
has_event() { events | jq -s -e "map(select($1)) | length > 0" > /dev/null; }
at_head() { state_has ".block >= $(block_number)"; }

# The contract's records at BLOCK as cast decodes them, mapped to the chain.sock shapes.
KV='def kv: map(capture("^(?<k>[^=]+)=(?<v>.*)$") | {(.k): .v}) | add // {};
def nodef: with_entries(select(.value != 0 and .value != false and .value != [] and .value != {} and .value != null));
def opts: if length == 0 then {} else .[0] as $o | {
	health: ({cmd: $o[0], interval_ms: $o[1], timeout_ms: $o[2], start_period_ms: $o[3], retries: $o[4],
		disabled: $o[5]} | nodef),
	update: ({parallelism: $o[6], delay_ms: $o[7], failure_action: (if $o[8] == 1 then "rollback" else null end),
		max_failure_permille: $o[9]} | nodef),
	volumes: $o[10], stateful: $o[11], failover_after_s: $o[12], read_only: $o[13]} | nodef end;'
UPSERTED=$(cast keccak 'ServiceUpserted(bytes32,uint64,bytes)')
oracle_services() {
	local c=$1 blk=$2 name d st
	for name in $(cast logs --rpc-url "$ANVIL_URL" --json --from-block 0 --to-block "$blk" --address "$c" "$UPSERTED" |
		jq -r '.[].data' | while read -r d; do upsert_spec "$d" | head -n 1 | tr -d '"'; done | sort -u); do
		st=$(cast call --json --rpc-url "$ANVIL_URL" --block "$blk" "$c" "serviceState(string)($STATE_T)" "$name")
		[ "$(echo "$st" | jq '.[0][0]')" = true ] || continue
		d=$(cast logs --rpc-url "$ANVIL_URL" --json --from-block 0 --to-block "$blk" --address "$c" "$UPSERTED" \
			"$(cast keccak "$name")" | jq -r '.[-1].data')
		# the last spec, with the replicas and generation the contract holds
		cast decode-abi --json "f()$SPEC_T" "$(cast decode-abi 'f()(uint64,bytes)' "$d" | tail -n 1)" |
			jq -c --argjson st "$st" '.[4] = $st[0][2] | . + [$st[0][1]]'
	done | jq -s -S "$KV"'map({name: .[0], image: .[1], command: .[2], env: .[3], replicas: .[4],
		cpu_millis: .[5], mem_mib: .[6],
		ports: (.[7] | map({host: .[0], container: .[1], proto: (if .[2] == 1 then "udp" else "tcp" end)})),
		priority: .[8], strategy: (["spread", "roundrobin", "binpack"][.[9]]), exclusive: .[10],
		selector: (.[11] | kv), generation: .[13]} + (.[12] | opts)) | sort_by(.name)'
}
oracle_nodes() {
	cast call --json --rpc-url "$ANVIL_URL" --block "$2" "$1" \
		"getNodes(uint256,uint256)($NODE_T[])" 0 1000 |
	jq -S "$KV"'.[0] | map({address: (.[0] | ascii_downcase), endpoint: .[1], swim_pubkey: (.[2] | ltrimstr("0x")),
		cpu_millis: .[3], mem_mib: .[4], labels: (.[5] | kv), active: .[6], activation: .[7]}) | map(select(.active)) | sort_by(.address)'
}
# same_as_cast CONTRACT: chainwatch's state equals the contract's at the state's block
# (its approved nodes: the feed leaves pending ones out; "previous" is chainwatch's own,
# from the logs, checked on its own).
same_as_cast() {
	local st blk
	st=$(state)
	blk=$(echo "$st" | jq .block)
	diff <(echo "$st" | jq -S '.services | map(del(.previous)) | sort_by(.name)') <(oracle_services "$1" "$blk") &&
	diff <(echo "$st" | jq -S '.nodes | sort_by(.address)') <(oracle_nodes "$1" "$blk")
}

register() { # KEY_INDEX ENDPOINT LABELS
	send_as "$1" "$C" "$SIG_REGISTER" "$2" "0x$(printf '%02x' "$1")$(printf 'ab%.0s' {1..31})" 1500 2048 "$3" > /dev/null
}

@test "every field of every record equals what cast decodes, from the snapshot and from logs" {
	C=$(deploy_canteen 0)
	register 1 127.0.0.2:7946 '[zone=a,disk=ssd]'
	register 2 '[::1]:7946' '[]'
	send_as 0 "$C" 'approveNode(address)' "$(addr_of 1)" > /dev/null
	send_as 0 "$C" "$SIG_ADD" '(web,registry.local/web@sha256:00ff,[sh,-c,echo "hi there"],[A=1,B=x=y,GREETING=grüße],3,250,128,[(8080,80,0),(5353,53,1)],-7,2,true,[zone=a],[])' > /dev/null
	send_as 0 "$C" "$SIG_ADD" '(db,postgres:16,[],[],1,2000,4096,[],2147483647,1,false,[disk=ssd,zone=a],[])' > /dev/null
	# version 5's options: some at their default, some at the edge of their type
	send_as 0 "$C" "$SIG_ADD" '(st,busybox:1,[],[],2,100,64,[],0,0,false,[],[([CMD-SHELL,test -f /tmp/ok],4294967295,0,1,255,false,65535,0,1,1000,[data:/var/lib/x,c:/etc/c:ro],true,4294967295,true)])' > /dev/null
	send_as 0 "$C" "$SIG_ADD" '(nohc,busybox:1,[],[],1,100,64,[],0,0,false,[],[([],0,0,0,0,true,0,7,0,0,[],false,0,false)])' > /dev/null
	send_as 0 "$C" "$SIG_ADD" '(zero,busybox:1,[],[],1,100,64,[],0,0,false,[],[([],0,0,0,0,false,0,0,0,0,[],false,0,false)])' > /dev/null
	send_as 0 "$C" "$SIG_ADD" '(x-1,busybox:1,[sleep,1000],[],4294967295,1,1,[(65535,1,1)],-2147483648,0,false,[],[])' > /dev/null
	cw "$C"
	wait_until 20 at_head
	run same_as_cast "$C"
	echo "$output"
	[ "$status" -eq 0 ]
	state_has '(.services | length) == 6 and (.nodes | length) == 1'
	# What web runs now (checked against cast above) becomes its "previous" on the update.
	web1=$(state | jq -c '.services[] | select(.name == "web") | {generation, image, command, env, cpu_millis, mem_mib, ports}')
	# The same again after every kind of change has come in through the logs.
	send_as 0 "$C" "$SIG_UPDATE" '(web,busybox:2,[httpd,-f],[],5,500,256,[(9090,90,0)],1,0,false,[],[])' "$(gen_of "$C" web)" > /dev/null
	send_as 0 "$C" "$SIG_SCALE" db 3 "$(gen_of "$C" db)" > /dev/null
	send_as 0 "$C" "$SIG_RM" x-1 "$(gen_of "$C" x-1)" > /dev/null
	send_as 0 "$C" 'approveNode(address)' "$(addr_of 2)" > /dev/null
	send_as 0 "$C" 'revokeNode(address)' "$(addr_of 1)" > /dev/null
	register 3 127.0.0.4:7946 '[k=v]'
	send_as 0 "$C" "$SIG_ADD" '(x-1,busybox:3,[],[],1,100,64,[],0,0,false,[],[])' > /dev/null
	wait_until 20 at_head
	run same_as_cast "$C"
	echo "$output"
	[ "$status" -eq 0 ]
	state_has ".services | map(select(.name == \"web\"))[0].previous == $web1"
	state_has '.services | map(select(.name == "db"))[0] | has("previous") | not'
	has_event '.type == "node.remove" and .address == "'"$(addr_of 1)"'"'
	has_event '.type == "service.remove" and .name == "x-1"'
	# x-1 came back with a generation after its removal's (1 added, 2 removed, 3 added).
	state_has '.services | map(select(.name == "x-1"))[0].generation == 3'
}

@test "hostile lines on chain.sock get an error each and the daemon keeps serving" {
	C=$(deploy_canteen 0)
	cw "$C"
	wait_until 20 state_has '.type'
	local f=$BATS_TEST_TMPDIR/line
	bad() { # TEXT EXPECTED_SUBSTRING: one line on a fresh connection
		printf '%s\n' "$1" > "$f"
		run "$TBIN/ipc_tool" raw "$RUN/chain.sock" "$f"
		echo "$1 -> $output"
		[[ "$output" == *'"type":"error"'* ]]
		[[ "$output" == *"$2"* ]]
	}
	bad 'not json at all' ''
	bad '[1,2,3]' ''
	bad '"op"' ''
	bad '{"op":"state","op":"subscribe"}' ''
	bad '{"op":17}' 'unknown op'
	bad '{"id":3}' 'unknown op'
	bad '{"op":"drop_tables","id":"x9"}' '"id":"x9"'
	bad '{"op":"subscribe"' ''
	# An over-long line (more than 1 MiB, no newline yet) is refused too.
	head -c 1100000 /dev/zero | tr '\0' a > "$f"
	run "$TBIN/ipc_tool" raw "$RUN/chain.sock" "$f"
	[[ "$output" == *'"type":"error"'* ]]
	# Still alive, still answering, still following the chain.
	kill -0 "$(pid_of cw)"
	send_as 0 "$C" "$SIG_ADD" "$(spec after)" > /dev/null
	wait_until 20 state_has '.services | map(.name) | index("after")'
	run "$TBIN/ipc_tool" subscribe "$RUN/chain.sock" 3 5000
	[ "$(echo "$output" | jq -r '"\(.type) \(.service.name)"' | tr '\n' ' ')" = "snapshot.begin null service after snapshot.end null " ]
}

@test "--stdout through a pipe: the snapshot first, then each event reaches jq as it happens" {
	C=$(deploy_canteen 0)
	start_bg pipe bash -c "canteen-chainwatch -c /dev/null --chain-id 31337 --rpc '$ANVIL_URL' --contract '$C' \
		-d '$RUN' --poll 100ms --confirmations 0 --stdout 2> '$BATS_TEST_TMPDIR/cw.err' |
		tee '$BATS_TEST_TMPDIR/raw' |
		jq --unbuffered -r 'select(.type == \"service.upsert\") | .service.name' > '$BATS_TEST_TMPDIR/names'"
	wait_until 20 test -s "$BATS_TEST_TMPDIR/raw"
	[ "$(head -n 1 "$BATS_TEST_TMPDIR/raw" | jq -r .type)" = snapshot.begin ]
	for s in one two three; do
		send_as 0 "$C" "$SIG_ADD" "$(spec "$s")" > /dev/null
		# Each name arrives while chainwatch runs on: no buffering until exit.
		wait_until 20 grep -qx "$s" "$BATS_TEST_TMPDIR/names"
	done
	[ "$(cat "$BATS_TEST_TMPDIR/names" | tr '\n' ' ')" = "one two three " ]
	# Every line is one complete JSON object; the seqs increase.
	# (a snapshot's seq is on its begin and end lines, the same: counted once)
	[ "$(jq -s '[.[] | select(.type | IN("snapshot.begin", "node", "service") | not) | .seq] |
		. == (sort | unique) and all(. != null)' "$BATS_TEST_TMPDIR/raw")" = true ]
}

@test "a frozen RPC node (SIGSTOP): rpc.down after time-outs, state kept; SIGCONT: rpc.up, nothing lost" {
	C=$(deploy_canteen 0)
	send_as 0 "$C" "$SIG_ADD" "$(spec kept)" > /dev/null
	cw "$C" --rpc-timeout 500ms
	wait_until 20 state_has '.services | map(.name) | index("kept")'
	local apid
	apid=$(cat "$BATS_FILE_TMPDIR/anvil/anvil.pid")
	kill -STOP "$apid"
	wait_until 20 has_event '.type == "rpc.down"'
	has_event '.type == "rpc.down" and (.error | test("time|Timeout"))'
	# Fail static: the last good state, not an empty one, while the node is frozen.
	state_has '(.services | map(.name)) == ["kept"]'
	kill -CONT "$apid"
	wait_until 20 has_event '.type == "rpc.up"'
	send_as 0 "$C" "$SIG_ADD" "$(spec later)" > /dev/null
	wait_until 20 has_event '.type == "service.upsert" and .service.name == "later"'
	[ "$(events | jq -r 'select(.type | startswith("rpc.")) | .type' | tr '\n' ' ')" = "rpc.down rpc.up " ]
	! has_event '.type | endswith(".remove")'
	state_has '(.services | map(.name) | sort) == ["kept", "later"]'
}

# raw_register KEY_INDEX ENDPOINT_HEX: registerNode from that key with an endpoint that is any
# bytes (the contract takes a string without checking UTF-8; anyone may register), with a
# swim key of its own (a key belongs to one address).
raw_register() {
	local sel args
	sel=$(cast sig 'registerNode(string,bytes32,uint32,uint32,string[])')
	args=$(cast abi-encode 'f(bytes,bytes32,uint32,uint32,string[])' "$2" \
		"0x$(printf '%02x' "$1")$(printf 'cd%.0s' {1..31})" 1000 1024 '[]')
	rpc eth_sendTransaction "[{\"from\":\"$(addr_of "$1")\",\"to\":\"$C\",\"gas\":\"0x200000\",\"data\":\"$sel${args#0x}\"}]" |
		jqe .result > /dev/null
	[ "$(cast call --rpc-url "$ANVIL_URL" "$C" 'nodeCount()(uint256)')" -gt 0 ]
}

@test "a stranger's record that is not valid UTF-8 cannot keep chainwatch from a snapshot" {
	# Today's contract refuses such bytes (feed_spam.bats); one without that check does
	# (lax_contract_bin), and with open registration its nodes are active at once.
	C=$(cast send --rpc-url "$ANVIL_URL" --private-key "$(key_of 0)" --json \
		--create "0x$(lax_contract_bin)" | jq -r .contractAddress)
	send_as 0 "$C" 'setRegistrationOpen(bool)' true > /dev/null
	send_as 0 "$C" "$SIG_ADD" "$(spec good)" > /dev/null
	register 1 127.0.0.2:7946 '[]'
	raw_register 7 0xff41   # not UTF-8
	raw_register 8 0x610062 # a NUL inside
	cw "$C"
	wait_until 20 state_has '(.services | map(.name)) == ["good"]'
	state_has '(.nodes | map(.address)) == ["'"$(addr_of 1)"'"]'
	grep -q "$(addr_of 7)" "$BATS_TEST_TMPDIR/cw.log"
	# The same from the logs: skipped, and what follows still arrives.
	raw_register 9 0xc3
	send_as 0 "$C" "$SIG_ADD" "$(spec next)" > /dev/null
	wait_until 20 state_has '(.services | map(.name) | sort) == ["good", "next"]'
	state_has '(.nodes | length) == 1'
	# A node that re-registers with such bytes is dropped, as a later snapshot would.
	register 2 127.0.0.3:7946 '[]'
	wait_until 20 state_has '(.nodes | length) == 2'
	raw_register 2 0xc3
	wait_until 20 state_has '(.nodes | map(.address)) == ["'"$(addr_of 1)"'"]'
	grep -q 'the node is dropped' "$BATS_TEST_TMPDIR/cw.log"
}

@test "records of 13 KB each: the snapshot folds them from the logs, every byte" {
	C=$(deploy_canteen 0)
	local env tmpl phex i n d namehex
	# 64 environment entries of 200 bytes (version 3 could not read 100 of these in one call)
	env=$(for i in $(seq -w 1 64); do printf 'K%s=%0198d,' "$i" 0; done)
	tmpl=$(cast calldata "$SIG_ADD" "(big-00,busybox:1,[],[${env%,}],1,100,64,[],0,0,false,[],[])")
	phex=$(printf 'big-' | od -An -tx1 | tr -d ' \n')
	for ((i = 0; i < 40; i++)); do
		printf -v n '%02d' "$i"
		namehex=$phex
		for ((d = 0; d < 2; d++)); do namehex+=3${n:d:1}; done
		rpc eth_sendTransaction "[{\"from\":\"$(addr_of 0)\",\"to\":\"$C\",\"gas\":\"0x1c9c380\",\"data\":\"${tmpl/${phex}3030/$namehex}\"}]" |
			jqe .result > /dev/null
	done
	[ "$(call "$C" 'serviceCount()(uint256)')" = 40 ]
	cw "$C"
	wait_until 60 state_has '.services | length == 40'
	grep -q 'checked against the contract' "$BATS_TEST_TMPDIR/cw.log"
	wait_until 20 state_has '[.services[].env | length] | unique == [64]'
}

@test "--stdout with the configuration of a running daemon: prints the stream beside it, serves nothing" {
	C=$(deploy_canteen 0)
	send_as 0 "$C" "$SIG_ADD" "$(spec piped)" > /dev/null
	printf 'rpc_url = %s\ncontract = %s\nrundir = %s\nconfirmations = 0\npoll_ms = 100\nchain_id = 31337\n' \
		"$ANVIL_URL" "$C" "$RUN" > "$BATS_TEST_TMPDIR/canteen.conf"
	start_bg daemon canteen-chainwatch -c "$BATS_TEST_TMPDIR/canteen.conf"
	wait_until 20 state_has '(.services | map(.name)) == ["piped"]'
	# The README's own example, while the daemon runs.
	start_bg second bash -c "exec canteen-chainwatch -c '$BATS_TEST_TMPDIR/canteen.conf' --stdout 2> '$BATS_TEST_TMPDIR/second.err' |
		jq --unbuffered -c 'select(.type == \"service\") | [.service.name]' > '$BATS_TEST_TMPDIR/second.out'"
	wait_until 20 grep -q . "$BATS_TEST_TMPDIR/second.out"
	cat "$BATS_TEST_TMPDIR/second.err"
	[ "$(head -n 1 "$BATS_TEST_TMPDIR/second.out")" = '["piped"]' ]
	grep -q 'served by another process: printing on stdout only' "$BATS_TEST_TMPDIR/second.err"
	# The daemon's socket is still its own, and still answers.
	state_has '(.services | map(.name)) == ["piped"]'
	kill -0 "$(pid_of daemon)"
	# An explicit --sock that is taken is still an error (exit 111).
	run canteen-chainwatch -c "$BATS_TEST_TMPDIR/canteen.conf" --stdout --sock "$RUN/chain.sock"
	[ "$status" -eq 111 ]
	[[ "$output" == *"another process is already listening"* ]]
}
