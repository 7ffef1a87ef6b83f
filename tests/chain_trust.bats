#!/usr/bin/env bats
# chain_trust.bats: the CLI and chainwatch never report what did not happen and do not trust
# the RPC endpoint blindly: code and version at the address, the event in the receipt, lost
# and doubtful sends, a shared key, gas, paging, time-outs, chain id, fee caps, plain http,
# redacted URLs and bounded answers. A misbehaving proxy (tests/tools/rpc_proxy.py) sits in
# front of a real anvil on 127.0.0.1.

load lib/common
load lib/anvil

setup_file() {
	start_anvil
	export CANTEEN_RPC=$ANVIL_URL CANTEEN_KEY_FILE=$ANVIL_KEYS/key0
	local c
	c=$(deploy_canteen 0) || return 1
	echo "$c" > "$BATS_FILE_TMPDIR/contract"
}

teardown_file() { stop_anvil; }

setup() {
	export CANTEEN_RPC=$ANVIL_URL CANTEEN_KEY_FILE=$ANVIL_KEYS/key0 CANTEEN_CHAIN_ID=31337
	CANTEEN_CONTRACT=$(cat "$BATS_FILE_TMPDIR/contract")
	export CANTEEN_CONTRACT
}

teardown() { stop_started; }

ct() { canteen -c /dev/null "$@"; }

# start_proxy NAME [rpc_proxy.py flags]: a proxy in front of anvil; sets PROXY_URL.
start_proxy() {
	local name=$1 pf=$BATS_TEST_TMPDIR/$1.port; shift
	start_bg "$name" python3 "$TOP/tests/tools/rpc_proxy.py" --upstream "$ANVIL_URL" --port-file "$pf" "$@"
	wait_until 10 test -s "$pf"
	PROXY_URL=http://127.0.0.1:$(cat "$pf")
}

# deploy_code HEX: deploy raw init code with cast; prints the new address.
deploy_code() {
	send_as 1 --create "$1" | jq -r .contractAddress
}

# A service to act on, made once per file.
ensure_service() {
	local n=$1
	[ -f "$BATS_FILE_TMPDIR/svc.$n" ] && return 0
	ct service deploy "$n" --image busybox:1 --replicas 1 -- sleep 1000 > /dev/null && touch "$BATS_FILE_TMPDIR/svc.$n"
}

replicas_of() { ct --json service ls 2>/dev/null | jq -r --arg n "$1" 'select(.name == $n) | .replicas'; }

nonce_of() { cast nonce --rpc-url "$ANVIL_URL" "$(addr_of "$1")"; }

@test "an address without code is refused by the CLI and not followed by chainwatch" {
	ensure_service web
	local dead=0x000000000000000000000000000000000000dead before
	before=$(nonce_of 0)
	run ct --contract "$dead" service scale web 3
	[ "$status" -eq 1 ]
	[ "$output" = "canteen: no contract at $dead on chain 31337" ]
	[ "$(nonce_of 0)" = "$before" ]
	run ct --contract "$dead" service ls
	[ "$status" -eq 1 ]
	[[ "$output" == *"no contract at $dead"* ]]
	# chainwatch: says so and serves no state from it (the contract may be on its way:
	# it waits rather than exits).
	start_bg cw canteen-chainwatch --chain-id 31337 --rpc "$ANVIL_URL" --contract "$dead" \
		--sock "$BATS_TEST_TMPDIR/chain.sock" --poll 100ms
	wait_until 20 grep -q "no contract at $dead on chain 31337; waiting for one" "$BATS_TEST_TMPDIR/cw.log"
	run sock_request "$BATS_TEST_TMPDIR/chain.sock" '{"op":"state"}'
	[[ "$output" == *"no state yet"* ]]
	kill -0 "$(pid_of cw)"
}

@test "a contract that speaks another version is refused, naming both versions" {
	ensure_service web
	local old before
	# Version 1 had no version(): this code answers every call with nothing (STOP).
	old=$(deploy_code 0x6001600c60003960016000f300)
	before=$(nonce_of 0)
	run ct --contract "$old" service scale web 3
	[ "$status" -eq 1 ]
	[ "$output" = "canteen: contract $old speaks version 1, this canteen speaks 6" ]
	[ "$(nonce_of 0)" = "$before" ]
	# Version 5 (no node activation): this code answers every call with 5.
	old5=$(deploy_code 0x600a600c600039600a6000f3600560005260206000f3)
	run ct --contract "$old5" service deploy web4 --image busybox:1
	[ "$status" -eq 1 ]
	[ "$output" = "canteen: contract $old5 speaks version 5, this canteen speaks 6" ]
	[ "$(nonce_of 0)" = "$before" ]
	run timeout 20 canteen-chainwatch --chain-id 31337 --rpc "$ANVIL_URL" --contract "$old5" \
		--sock "$BATS_TEST_TMPDIR/chain.sock" --poll 100ms
	[ "$status" -eq 100 ]
	[[ "$output" == *"contract $old5 speaks version 5, this canteen-chainwatch speaks 6"* ]]
	run timeout 20 canteen-chainwatch --chain-id 31337 --rpc "$ANVIL_URL" --contract "$old" \
		--sock "$BATS_TEST_TMPDIR/chain.sock" --poll 100ms
	[ "$status" -eq 100 ]
	[[ "$output" == *"contract $old speaks version 1, this canteen-chainwatch speaks 6"* ]]
	# The real contract passes the same checks.
	run timeout 20 canteen-chainwatch --chain-id 31337 --rpc "$ANVIL_URL" --contract "$CANTEEN_CONTRACT" \
		--sock "$BATS_TEST_TMPDIR/chain.sock" --poll 100ms --stdout
	[ "$status" -eq 124 ] || [ "$status" -eq 0 ]
}

@test "a mined transaction without the expected event from the contract is a failure" {
	ensure_service web
	local fake
	# Answers every call with the word 6 (so version() says 6) and emits nothing.
	fake=$(deploy_code 0x600a600c600039600a6000f3600660005260206000f3)
	run ct --contract "$fake" service deploy web --image busybox:1
	[ "$status" -eq 1 ]
	[[ "$output" == "canteen: addService: transaction 0x"*" was mined in block "*" but $fake emitted no ServiceUpserted event: nothing changed as asked" ]]
	[[ "$output" != *"deployed"* ]]
}

@test "a send whose answer is lost is looked up by hash: done, with the transaction hash" {
	ensure_service web
	local tx
	start_proxy lost --drop-send
	run ct --rpc "$PROXY_URL" --json service scale web 2
	echo "$output"
	[ "$status" -eq 0 ]
	tx=$(echo "$output" | jq -r .tx)
	[[ "$tx" =~ ^0x[0-9a-f]{64}$ ]]
	[ "$(cast receipt --rpc-url "$ANVIL_URL" "$tx" --json | jq -r .status)" = 0x1 ]
	[ "$(replicas_of web)" = 2 ]
	# An answer later than the time-out: the same.
	start_proxy late --delay-send 3000
	run ct --rpc "$PROXY_URL" --rpc-timeout 1s service scale web 4
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^"web scaled (transaction 0x"[0-9a-f]{64}")"$ ]]
	[ "$(replicas_of web)" = 4 ]
}

@test "a node away while the receipt is awaited is waited for: the transaction is not reported failed" {
	ensure_service web
	start_proxy away --drop-receipts 8
	run ct --rpc "$PROXY_URL" service scale web 3
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "web scaled (transaction 0x"* ]]
	[ "$(replicas_of web)" = 3 ]
}

@test "a send that never arrived is not reported done" {
	ensure_service web
	local before
	before=$(nonce_of 0)
	start_proxy never --fail-send-first 100
	run ct --rpc "$PROXY_URL" --rpc-timeout 2s service scale web 5
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == "canteen: cannot reach RPC endpoint "*"; transaction 0x"*" is not in" ]]
	[[ "$output" != *"scaled"* ]]
	[ "$(nonce_of 0)" = "$before" ]
}

@test "state changes print their transaction hash, also with --json" {
	run ct --json contract registration open
	[ "$status" -eq 0 ]
	[[ "$(echo "$output" | jq -r .tx)" =~ ^0x[0-9a-f]{64}$ ]]
	run ct contract registration close
	[ "$status" -eq 0 ]
	[[ "$output" == "registration closed"*"(transaction 0x"*")" ]]
}

# scale_all RPC: scale par1..par4 to 7 at once with the same key; fails if one fails.
scale_all() {
	local i pids=() rc=0
	for i in 1 2 3 4; do
		ct --rpc "$1" service scale "par$i" 7 > "$BATS_TEST_TMPDIR/par$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || { rc=1; cat "$BATS_TEST_TMPDIR/par$((i + 1)).out"; }
	done
	return $rc
}

@test "four CLI processes with one key at once all succeed (fresh nonce when it was taken)" {
	local i port c ANVIL_URL
	for i in 1 2 3 4; do ensure_service "par$i"; done
	scale_all "$CANTEEN_RPC"
	for i in 1 2 3 4; do [ "$(replicas_of "par$i")" = 7 ]; done
	# Mined once a second, behind a node that offers the last block's nonce: all four
	# are given the same nonce.
	port=$(free_port)
	start_bg anvil2 anvil --host 127.0.0.1 --port "$port" --block-time 1
	ANVIL_URL=http://127.0.0.1:$port
	wait_until 20 cast chain-id --rpc-url "$ANVIL_URL"
	c=$(deploy_canteen 0)
	for i in 1 2 3 4; do
		canteen -c /dev/null --rpc "$ANVIL_URL" --contract "$c" service deploy "par$i" --image busybox:1
	done
	start_proxy stale --stale-nonce
	CANTEEN_CONTRACT=$c scale_all "$PROXY_URL"
	for i in 1 2 3 4; do
		[ "$(CANTEEN_RPC=$ANVIL_URL CANTEEN_CONTRACT=$c replicas_of "par$i")" = 7 ]
	done
}

@test "out of gas is named as such; a mined revert says gas was spent" {
	ensure_service web
	run ct --gas-limit 30000 service scale web 6
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == "canteen: scaleService failed: ran out of gas: used 30000 of 30000 (transaction 0x"*", block "*")" ]]
	[[ "$output" != *"without a reason"* ]]
	# Given a gas limit, nothing is estimated: the revert happens on chain, and costs gas.
	run ct --gas-limit 200000 service deploy web --image busybox:1
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == "canteen: addService reverted on chain, gas spent: "[0-9]*': ServiceExists("web") (transaction 0x'* ]]
	# Found at estimate time: nothing was sent.
	run ct service deploy web --image busybox:1
	[ "$output" = 'canteen: addService reverted: ServiceExists("web")' ]
	run ct --gas-limit 10 service scale web 6
	[ "$status" -eq 2 ]
}

@test "rpc_timeout_ms bounds one call with its retries: an endpoint that never answers" {
	local t0 t1
	start_proxy hang --hang
	t0=$(now_ms)
	run ct --rpc "$PROXY_URL/v3/SECRETKEY" --rpc-timeout 1500ms service ls
	t1=$(now_ms)
	echo "$output; $((t1 - t0)) ms"
	[ "$status" -eq 1 ]
	[[ "$output" == *"timed out: no answer to eth_chainId within 1500 ms"* ]]
	(( t1 - t0 < 1500 + 700 ))
	# The URL's path (an API key, often) is never printed.
	[[ "$output" != *SECRETKEY* ]]
	[[ "$output" == *"http://127.0.0.1:"*"/..."* ]]
	# The same from canteen.conf.
	printf 'rpc_url = %s\nrpc_timeout_ms = 1s\nchain_id = 31337\n' "$PROXY_URL" > "$BATS_TEST_TMPDIR/c.conf"
	t0=$(now_ms)
	run env -u CANTEEN_RPC canteen -c "$BATS_TEST_TMPDIR/c.conf" service ls
	t1=$(now_ms)
	[ "$status" -eq 1 ]
	(( t1 - t0 < 1000 + 700 ))
}

@test "chain_id is required and checked against the endpoint" {
	run env -u CANTEEN_CHAIN_ID canteen -c /dev/null service ls
	[ "$status" -eq 2 ]
	[[ "$output" == "canteen: chain_id is not set (the RPC endpoint http://127.0.0.1:$ANVIL_PORT says it is on chain 31337)"* ]]
	run env -u CANTEEN_CHAIN_ID canteen -c /dev/null --chain-id 31337 service ls
	[ "$status" -eq 0 ]
	# A deployment needs none: it tells the chain id to write into canteen.conf.
	run env -u CANTEEN_CHAIN_ID canteen -c /dev/null --json contract deploy
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .chain_id)" = 31337 ]
	start_proxy liar --chain-id 1
	run ct --rpc "$PROXY_URL" service scale web 3
	[ "$status" -eq 1 ]
	[ "$output" = "canteen: the RPC endpoint $PROXY_URL is on chain 1, but chain_id is 31337: refusing to act" ]
	# chainwatch too: a configuration error.
	printf 'chain_id = 31337\n' > "$BATS_TEST_TMPDIR/cw.conf"
	run timeout 20 canteen-chainwatch -c "$BATS_TEST_TMPDIR/cw.conf" --rpc "$PROXY_URL" \
		--contract "$CANTEEN_CONTRACT" --sock "$BATS_TEST_TMPDIR/chain.sock" --poll 100ms
	[ "$status" -eq 100 ]
	[[ "$output" == *"the RPC endpoint is on chain 1, but chain_id is 31337"* ]]
}

@test "fees above max_fee_gwei or max_priority_fee_gwei are refused, naming the setting" {
	ensure_service web
	local before
	before=$(nonce_of 0)
	start_proxy greedy --fee 1000000000000
	run ct --rpc "$PROXY_URL" service scale web 3
	[ "$status" -eq 1 ]
	[[ "$output" == *"priority fee of 1000 gwei, above max_priority_fee_gwei = 50: refused"* ]]
	printf 'max_priority_fee_gwei = 5000\n' > "$BATS_TEST_TMPDIR/c.conf"
	run canteen -c "$BATS_TEST_TMPDIR/c.conf" --rpc "$PROXY_URL" service scale web 3
	[ "$status" -eq 1 ]
	[[ "$output" == *"above max_fee_gwei = 500: refused"* ]]
	[ "$(nonce_of 0)" = "$before" ]
}

@test "plain http only to loopback unless allow_insecure_rpc = yes; the URL shown redacted" {
	run ct --rpc "http://192.0.2.1:8545/v3/SECRETKEY" service ls
	[ "$status" -eq 2 ]
	[ "$output" = "canteen: plain http:// is only for a loopback RPC endpoint: use https:// for http://192.0.2.1:8545/... (or allow_insecure_rpc = yes)" ]
	run ct --rpc "http://user:SECRETKEY@127.0.0.1:$ANVIL_PORT/" service ls
	[ "$status" -eq 2 ]
	[[ "$output" != *SECRETKEY* ]]
	# 0.0.0.0 is no loopback name, but it reaches this host: allowed only when asked.
	run ct --rpc "http://0.0.0.0:$ANVIL_PORT" service ls
	[ "$status" -eq 2 ]
	printf 'allow_insecure_rpc = yes\n' > "$BATS_TEST_TMPDIR/c.conf"
	run canteen -c "$BATS_TEST_TMPDIR/c.conf" --rpc "http://0.0.0.0:$ANVIL_PORT" service ls
	[ "$status" -eq 0 ]
	run timeout 5 canteen-chainwatch --chain-id 31337 --rpc "http://192.0.2.1:8545/x" --contract "$CANTEEN_CONTRACT" \
		--sock "$BATS_TEST_TMPDIR/chain.sock"
	[ "$status" -eq 100 ]
	[[ "$output" == *"plain http:// is only for a loopback RPC endpoint"* ]]
	[[ "$output" != *"/x"* ]]
}

@test "a 30 MiB answer to a small question is refused and the CLI stays small" {
	local rss
	start_proxy huge --huge 31000000
	run /usr/bin/time -f 'maxrss %M' canteen -c /dev/null --rpc "$PROXY_URL" service ls
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"answered eth_chainId with more than 64 KiB: refused"* ]]
	rss=$(echo "$output" | sed -n 's/^maxrss //p')
	(( rss < 40000 ))
}

@test "service ls reads 120 large services from logs through an endpoint that caps eth_getLogs ranges" {
	local c big from
	c=$(deploy_canteen 0)
	big=$(printf 'E=%0800d' 0)
	spec() { echo "(${1:-\"\"},busybox:1,[sh],[$big],1,100,64,[],0,0,false,[],[])"; }
	from=$(block_number)
	PER_BLOCK=8 add_services_batch "$c" 0 big 120
	# 12 blocks at most per eth_getLogs: the CLI's first range (10,000 blocks) is refused,
	# halves until one is taken, and reads every block
	start_proxy capped --max-log-range 12 --record "$BATS_TEST_TMPDIR/capped.calls"
	run canteen -c /dev/null --rpc "$PROXY_URL" --contract "$c" --json service ls
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -rs 'map(.name) | unique | length')" = 120 ]
	[ "$(echo "$output" | jq -rs 'map(.env[0] | length) | unique | .[]')" = 802 ]
	grep -q 'eth_getLogs refused' "$BATS_TEST_TMPDIR/capped.calls"
	(( $(grep -cx eth_getLogs "$BATS_TEST_TMPDIR/capped.calls") >= ($(block_number) - from) / 12 ))
	run canteen -c /dev/null --rpc "$PROXY_URL" --contract "$c" service ls
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^big-')" = 120 ]
}

@test "chainwatch: rpc_timeout_ms bounds one call with its retry; the URL's path is never logged" {
	local t0 t1
	start_proxy hang --hang
	t0=$(now_ms)
	start_bg cw canteen-chainwatch --chain-id 31337 --rpc "$PROXY_URL/v3/SECRETKEY" --contract "$CANTEEN_CONTRACT" \
		--sock "$BATS_TEST_TMPDIR/chain.sock" --rpc-timeout 1s --poll 100ms
	wait_until 10 grep -q "rpc down" "$BATS_TEST_TMPDIR/cw.log"
	t1=$(now_ms)
	cat "$BATS_TEST_TMPDIR/cw.log"
	grep -q "timed out: no answer to a batch within 1000 ms" "$BATS_TEST_TMPDIR/cw.log"
	(( t1 - t0 < 1000 + 700 ))
	! grep -q SECRETKEY "$BATS_TEST_TMPDIR/cw.log"
	grep -q "on http://127.0.0.1:[0-9]*/\.\.\." "$BATS_TEST_TMPDIR/cw.log"
}

@test "node join without chain_id writes the endpoint's into canteen.conf; later commands check it" {
	local d=$BATS_TEST_TMPDIR
	cp "$ANVIL_KEYS/key5" "$d/eth.key"
	printf 'rpc_url = %s\ncontract = %s\nkey_file = %s/eth.key\nswim_key_file = %s/swim.key\nswim_advertise = 127.0.0.9:7946' \
		"$ANVIL_URL" "$CANTEEN_CONTRACT" "$d" "$d" > "$d/canteen.conf"
	run env -u CANTEEN_CHAIN_ID -u CANTEEN_RPC -u CANTEEN_CONTRACT -u CANTEEN_KEY_FILE \
		canteen -c "$d/canteen.conf" node join --cpu 1 --mem 1G
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"chain_id = 31337 (the RPC endpoint's) added to $d/canteen.conf"* ]]
	[ "$(grep -c '^chain_id = 31337$' "$d/canteen.conf")" = 1 ]
	grep -q '^swim_advertise = 127.0.0.9:7946$' "$d/canteen.conf"
	# From now on the file's chain_id is checked: another chain is refused.
	start_proxy liar --chain-id 5
	run env -u CANTEEN_CHAIN_ID -u CANTEEN_RPC canteen -c "$d/canteen.conf" --rpc "$PROXY_URL" node ls
	[ "$status" -eq 1 ]
	[[ "$output" == *"is on chain 5, but chain_id is 31337"* ]]
}
