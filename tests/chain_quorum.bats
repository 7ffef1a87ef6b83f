#!/usr/bin/env bats
# chain_quorum.bats: several RPC endpoints (rpc_url takes a list): canteen-chainwatch follows
# a block, and reads state, only when rpc_quorum endpoints agree, and reports an endpoint
# that lies (rpc.disagree) or fails (rpc.down). One real anvil behind proxies
# (tests/tools/rpc_proxy.py): honest ones, a consistent liar (--lie), and a dead port.

load lib/common
load lib/anvil

setup_file() {
	start_anvil
	local c
	c=$(deploy_canteen 0) || return 1
	echo "$c" > "$BATS_FILE_TMPDIR/contract"
	export CANTEEN_CONTRACT=$c
	ct service deploy web --image busybox:1 --replicas 2 -- sleep 1000 > /dev/null || return 1
	ct service deploy db --image busybox:2 > /dev/null || return 1
}

teardown_file() { stop_anvil; }

setup() {
	RUN=$(mk_rundir)
	CANTEEN_CONTRACT=$(cat "$BATS_FILE_TMPDIR/contract")
	export CANTEEN_CONTRACT
}

teardown() { stop_started; }

ct() { canteen -c /dev/null --rpc "$ANVIL_URL" --key-file "$ANVIL_KEYS/key0" "$@"; }

# proxy NAME [rpc_proxy.py flags]: a proxy in front of anvil; prints its URL.
proxy() {
	local name=$1 pf=$BATS_TEST_TMPDIR/$1.port; shift
	start_bg "$name" python3 "$TOP/tests/tools/rpc_proxy.py" --upstream "$ANVIL_URL" --port-file "$pf" "$@"
	wait_until 10 test -s "$pf" || return 1
	echo "http://127.0.0.1:$(cat "$pf")"
}

# watch NAME RPC_LIST [FLAGS...]: chainwatch --stdout into NAME.log, its socket NAME.sock.
watch() {
	local name=$1 rpcs=$2; shift 2
	start_bg "$name" canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$rpcs" --contract "$CANTEEN_CONTRACT" \
		-d "$RUN" --sock "$RUN/$name.sock" --poll 100ms --confirmations 0 --rpc-timeout 2s --stdout "$@"
}
lines() { grep '^{' "$BATS_TEST_TMPDIR/$1.log"; }
snapshot_of() { lines "$1" | jq -s -c -f "$TOP/tests/lib/snapshot.jq" | jq -c 'del(.seq)'; }
has() { lines "$1" | jq -s -e "map(select($2)) | length > 0" > /dev/null; }
count() { lines "$1" | jq -s "map(select($2)) | length"; }
stats() { sock_request "$RUN/$1.sock" '{"op":"stats"}'; }
lines_ge() { [ "$(grep -c "$2" "$3")" -ge "$1" ]; }
health_is() { stats "$1" | jqe --arg e "$2" --arg h "$3" '.endpoints | map(select(.endpoint == $e))[0].health == $h' > /dev/null; }

@test "the liar alone: its views disagree with the logs, so no state is served (what the quorum defends against)" {
	liar=$(proxy liar --lie)
	watch alone "$liar"
	# the liar answers every page of records with an empty list: the services folded from
	# the logs are not what it says the contract holds, and the snapshot starts over
	wait_until 20 grep -q 'serviceStates answered 0 states for 2 names' "$BATS_TEST_TMPDIR/alone.log"
	wait_until 20 lines_ge 2 'snapshot: .*at block' "$BATS_TEST_TMPDIR/alone.log"
	! has alone '.type == "snapshot.end"'
}

@test "two honest, one liar, one dead, rpc_quorum 2: exactly the honest state; the liar and the dead reported" {
	h1=$(proxy honest1)
	h2=$(proxy honest2)
	liar=$(proxy liar --lie)
	dead=http://127.0.0.1:$(free_port)
	watch ref "$ANVIL_URL"
	watch quorum "$h1,$h2 $liar,$dead" --rpc-quorum 2
	wait_until 20 has ref '.type == "snapshot.end"'
	wait_until 30 has quorum '.type == "snapshot.end"'
	want=$(snapshot_of ref | jq -c 'del(.block, .block_hash)')
	got=$(snapshot_of quorum | jq -c 'del(.block, .block_hash)')
	echo "want $want"; echo "got  $got"
	[ "$got" = "$want" ]
	[ "$(snapshot_of quorum | jq -c '.services | map(.name) | sort')" = '["db","web"]' ]
	# the liar disagrees, the dead is down, both named by their (redacted) URL; no one else
	wait_until 10 has quorum ".type == \"rpc.disagree\" and .endpoint == \"$liar\""
	wait_until 10 has quorum ".type == \"rpc.down\" and .endpoint == \"$dead\""
	lines quorum | jq -c 'select(.type | startswith("rpc."))'
	[ "$(count quorum '.type | startswith("rpc.")')" = 2 ]
	has quorum '.type == "rpc.disagree" and .proven == true and (.error | test("is not the keccak of its header"))'
	health_is quorum "$h1" up && health_is quorum "$h2" up
	health_is quorum "$liar" lied && health_is quorum "$dead" down
	# and it keeps following: a change arrives from logs, as the honest chain has it
	ct service scale web 5 > /dev/null
	wait_until 20 has quorum '.type == "service.upsert" and .service.name == "web" and .service.replicas == 5'
	wait_until 20 has ref '.type == "service.upsert" and .service.replicas == 5'
	[ "$(count quorum '.type == "rpc.disagree"')" = 1 ]
	[ "$(count quorum '.type == "service.upsert"')" = 1 ]
}

@test "one honest, one liar, one dead (default quorum 2 of 3): the liar is proven wrong, nothing is followed without a quorum, both reported" {
	h1=$(proxy honest1)
	liar=$(proxy liar --lie)
	dead=http://127.0.0.1:$(free_port)
	watch three "$h1,$liar,$dead"
	# the liar's blocks are not their headers' hashes: set aside; the honest one alone is
	# not a quorum of 2: no state at all (never the liar's), the health in stats and the log
	wait_until 20 health_is three "$dead" down || { cat "$BATS_TEST_TMPDIR/three.log"; false; }
	wait_until 20 health_is three "$liar" lied
	health_is three "$h1" up
	stats three | jqe '.ready == false and .quorum == 2' > /dev/null
	wait_until 20 grep -q "only 1 of 3 endpoints answered eth_getBlockByNumber alike (quorum 2)" "$BATS_TEST_TMPDIR/three.log"
	grep -q "rpc $dead down" "$BATS_TEST_TMPDIR/three.log"
	grep -q "rpc $liar lied: proven wrong: its eth_getBlockByNumber answer: the block's hash 0x[0-9a-f]* is not the keccak of its header" "$BATS_TEST_TMPDIR/three.log"
	run lines three
	[ -z "$output" ]
}

@test "one honest, one liar, one dead, rpc_quorum 1: exactly the honest state; the liar proven wrong and the dead reported" {
	h1=$(proxy honest1)
	liar=$(proxy liar --lie)
	dead=http://127.0.0.1:$(free_port)
	watch ref "$ANVIL_URL"
	watch one "$h1,$liar,$dead" --rpc-quorum 1
	wait_until 20 has ref '.type == "snapshot.end"'
	wait_until 30 has one '.type == "snapshot.end"' || { cat "$BATS_TEST_TMPDIR/one.log"; false; }
	want=$(snapshot_of ref | jq -c 'del(.block, .block_hash)')
	got=$(snapshot_of one | jq -c 'del(.block, .block_hash)')
	echo "want $want"; echo "got  $got"
	[ "$got" = "$want" ]
	[ "$(snapshot_of one | jq -c '.services | map(.name) | sort')" = '["db","web"]' ]
	# the block it follows is the honest chain's, hash and all
	[ "$(snapshot_of one | jq -r .block_hash)" = "$(cast block "$(snapshot_of one | jq -r .block)" -f hash -r "$ANVIL_URL")" ]
	wait_until 10 has one ".type == \"rpc.disagree\" and .endpoint == \"$liar\" and .proven == true"
	wait_until 10 has one ".type == \"rpc.down\" and .endpoint == \"$dead\""
	lines one | jq -c 'select(.type | startswith("rpc."))'
	[ "$(count one '.type | startswith("rpc.")')" = 2 ]
	has one '.type == "rpc.disagree" and (.error | test("is not the keccak of its header"))'
	health_is one "$h1" up && health_is one "$liar" lied && health_is one "$dead" down
	# it keeps following the honest chain, and only it
	ct service scale web 4 > /dev/null
	wait_until 20 has one '.type == "service.upsert" and .service.name == "web" and .service.replicas == 4'
	[ "$(count one '.type == "service.upsert"')" = 1 ]
	[ "$(count one '.type == "snapshot.end"')" = 1 ]
	! grep -q "no quorum" "$BATS_TEST_TMPDIR/one.log"
}

@test "rpc_quorum 1 and a liar no header shows (true blocks, empty record pages): a tie is never followed" {
	h1=$(proxy honest1)
	liar=$(proxy liar --lie-calls)
	watch tie "$h1,$liar" --rpc-quorum 1
	wait_until 20 grep -q "no quorum on eth_call" "$BATS_TEST_TMPDIR/tie.log" || { cat "$BATS_TEST_TMPDIR/tie.log"; false; }
	wait_until 10 health_is tie "$liar" disagree
	run lines tie
	[ -z "$output" ]
}

@test "headers canteen cannot hash (a field missing on every endpoint) prove nobody wrong: two such endpoints still make a quorum" {
	a=$(proxy a --drop-block-field requestsHash)
	b=$(proxy b --drop-block-field requestsHash)
	watch ref "$ANVIL_URL"
	watch odd "$a,$b"
	wait_until 20 has ref '.type == "snapshot.end"'
	wait_until 30 has odd '.type == "snapshot.end"' || { cat "$BATS_TEST_TMPDIR/odd.log"; false; }
	[ "$(snapshot_of odd | jq -c 'del(.block, .block_hash)')" = "$(snapshot_of ref | jq -c 'del(.block, .block_hash)')" ]
	[ "$(count odd '.type | startswith("rpc.")')" = 0 ]
	health_is odd "$a" up && health_is odd "$b" up
}

@test "the dead endpoint comes back: rpc.up for it" {
	h1=$(proxy honest1)
	h2=$(proxy honest2)
	port=$(free_port)
	watch back "$h1,$h2,http://127.0.0.1:$port"
	wait_until 20 has back '.type == "snapshot.end"'
	wait_until 10 has back ".type == \"rpc.down\" and .endpoint == \"http://127.0.0.1:$port\""
	# a proxy on that port now
	start_bg late python3 "$TOP/tests/tools/rpc_proxy.py" --upstream "$ANVIL_URL" --port-file "$BATS_TEST_TMPDIR/late.port" --port "$port"
	wait_until 20 has back ".type == \"rpc.up\" and .endpoint == \"http://127.0.0.1:$port\""
	! has back '.type == "rpc.down" and (has("endpoint") | not)'
}

@test "endpoint lists are checked: too many, twice the same, a quorum above their number, a bad URL" {
	run timeout 10 canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL,$ANVIL_URL" --contract "$CANTEEN_CONTRACT"
	[ "$status" -eq 100 ] && [[ "$output" == *"endpoints 1 and 2 are the same"* ]]
	many=$(for i in $(seq 1 9); do printf 'http://127.0.0.1:%d,' $((20000 + i)); done)
	run timeout 10 canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$many" --contract "$CANTEEN_CONTRACT"
	[ "$status" -eq 100 ] && [[ "$output" == *"more than 8 endpoints"* ]]
	run timeout 10 canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL,http://127.0.0.1:1" --rpc-quorum 3 --contract "$CANTEEN_CONTRACT"
	[ "$status" -eq 100 ] && [[ "$output" == *"rpc_quorum is 3, but rpc_url names 2"* ]]
	run timeout 10 canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$ANVIL_URL,http://10.1.2.3/v3/SECRET" --contract "$CANTEEN_CONTRACT"
	[ "$status" -eq 100 ] && [[ "$output" != *SECRET* ]]
}

# The CLI with several endpoints: each transaction is sent to every one, its receipt read
# from any that has it, and every endpoint that answers must be on chain_id.
cli() { canteen -c /dev/null --key-file "$ANVIL_KEYS/key0" --rpc "$1" "${@:2}"; }
replicas() { cli "$ANVIL_URL" --json service ls | jq -r --arg n "$1" 'select(.name == $n) | .replicas'; }

@test "the CLI sends to every endpoint: one that drops sends, one dead, and one that hides receipts do not stop it" {
	drops=$(proxy drops --fail-send-first 1000 --record "$BATS_TEST_TMPDIR/drops.calls")
	hides=$(proxy hides --drop-receipts 100000 --record "$BATS_TEST_TMPDIR/hides.calls")
	dead=http://127.0.0.1:$(free_port)
	run cli "$drops,$dead,$hides" service scale db 3
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(replicas db)" = 3 ]
	# both live endpoints were sent the transaction; the receipt came from the one that
	# forwards sends (the other hides every receipt)
	grep -qx eth_sendRawTransaction "$BATS_TEST_TMPDIR/hides.calls"
	grep -qx eth_getTransactionReceipt "$BATS_TEST_TMPDIR/drops.calls"
	# reads go to the first endpoint, and past it while it is away
	run cli "$dead,$hides" --json service ls
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r 'select(.name == "db") | .replicas')" = 3 ]
}

@test "the CLI checks the chain id of every endpoint that answers" {
	h1=$(proxy honest1)
	liar=$(proxy liar --chain-id 1)
	run cli "$h1,$liar" service scale db 2
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = "canteen: the RPC endpoint $liar is on chain 1, but chain_id is 31337: refusing to act" ]
	[ "$(replicas db)" != 2 ]
	# none answers: the first one's error
	d1=http://127.0.0.1:$(free_port)
	run cli "$d1,http://127.0.0.1:$(free_port)" service ls
	[ "$status" -eq 1 ]
	[[ "$output" == *"$d1"* ]]
}
