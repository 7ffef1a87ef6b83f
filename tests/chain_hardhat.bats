#!/usr/bin/env bats
# chain_hardhat.bats: the CLI and canteen-chainwatch on a second EVM implementation, hardhat's
# node, where its behaviour and messages differ from anvil's: every command's transaction and
# event, a lost answer ("Known transaction"), one key in several CLIs ("Nonce too low",
# "Replacement transaction underpriced"), concurrent admins with automine off, lists that
# page down when a call runs out of gas ("Transaction ran out of gas", with empty revert
# data), and chainwatch following a rewind (evm_snapshot/evm_revert). Everything goes through
# the canteen CLI and chainwatch; curl only asks hardhat chain-level things.

load lib/common
load lib/anvil
load lib/hardhat

setup_file() {
	start_hardhat
	export CANTEEN_RPC=$HARDHAT_URL CANTEEN_KEY_FILE=$HARDHAT_KEYS/key0 CANTEEN_CHAIN_ID=31337
	canteen -c /dev/null contract deploy > "$BATS_FILE_TMPDIR/contract" || return 1
	canteen -c /dev/null --contract "$(cat "$BATS_FILE_TMPDIR/contract")" \
		contract admin add "$(hh_addr_of 5)" > /dev/null
}

teardown_file() { stop_hardhat; }

setup() {
	export CANTEEN_RPC=$HARDHAT_URL CANTEEN_KEY_FILE=$HARDHAT_KEYS/key0 CANTEEN_CHAIN_ID=31337
	CANTEEN_CONTRACT=$(cat "$BATS_FILE_TMPDIR/contract")
	export CANTEEN_CONTRACT
	RUN=$(mk_rundir)
}

teardown() {
	stop_started
	stop_hardhat paged
	hh_rpc evm_setIntervalMining '[0]' > /dev/null || true
	hh_rpc evm_setAutomine '[true]' > /dev/null || true
}

ct() { canteen -c /dev/null "$@"; }

# A service to act on, made once per file.
ensure_service() {
	[ -f "$BATS_FILE_TMPDIR/svc.$1" ] && return 0
	ct service deploy "$1" --image busybox:1 --replicas 1 -- sleep 1000 > /dev/null && touch "$BATS_FILE_TMPDIR/svc.$1"
}

svc() { ct --json service ls 2>/dev/null | jq -c --arg n "$1" 'select(.name == $n)'; }
replicas_of() { svc "$1" | jq -r .replicas; }

# start_proxy NAME [rpc_proxy.py flags]: a proxy in front of hardhat; sets PROXY_URL.
start_proxy() {
	local name=$1 pf=$BATS_TEST_TMPDIR/$1.port; shift
	start_bg "$name" python3 "$TOP/tests/tools/rpc_proxy.py" --upstream "$HARDHAT_URL" --port-file "$pf" "$@"
	wait_until 10 test -s "$pf"
	PROXY_URL=http://127.0.0.1:$(cat "$pf")
}

# mined_ok TX: TX has a receipt of status 1 with a log from the contract.
mined_ok() {
	local r
	r=$(hh_receipt "$1")
	echo "receipt of $1: $r"
	[ "$(echo "$r" | jq -r .status)" = 0x1 ] &&
		echo "$r" | jqe --arg c "${2:-$CANTEEN_CONTRACT}" '[.logs[] | select(.address == $c)] | length > 0' > /dev/null
}

# watch CONTRACT: canteen-chainwatch --stdout on hardhat into $BATS_TEST_TMPDIR/cw.log.
watch() {
	start_bg cw canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$HARDHAT_URL" --contract "$1" -d "$RUN" \
		--poll 100ms --confirmations 0 --stdout
}
events() { grep '^{' "$BATS_TEST_TMPDIR/cw.log"; }
has_line() { events | jq -s -e "map($1) | length > 0" > /dev/null; }
steps() {
	events | jq -r 'select(.type | test("^(node|service)\\.(upsert|remove)$")) |
		"\(.type) \(.node.address // .address // .service.name // .name) \(if .node then .node.active elif .service then .service.generation else "" end)"'
}
state() { sock_request "$RUN/chain.sock" '{"op":"state"}'; }
state_has() { state | jqe "$1" > /dev/null; }

# admin NAME KEY_INDEX ARGS...: a canteen CLI in the background; its output and exit status
# go to NAME.log ("exit N" last).
admin() {
	local name=$1 k=$2; shift 2
	start_bg "$name" bash -c 'canteen -c /dev/null --key-file "$0" "$@"; echo "exit $?"' \
		"$HARDHAT_KEYS/key$k" "$@"
}
finished() { grep -q '^exit ' "$BATS_TEST_TMPDIR/$1.log"; }
pending_at_least() { [ "$(hh_pending)" -ge "$1" ]; }
mine_until_done() {
	hh_rpc evm_mine '[]' > /dev/null
	local n
	for n in "$@"; do finished "$n" || return 1; done
}

@test "hardhat's node: chain 31337, anvil's dev accounts (one mnemonic), what canteen speaks" {
	[ "$(hh_rpc eth_chainId '[]' | jq -r .result)" = 0x7a69 ]
	local i
	for i in 0 1 5 9; do
		[ "$(cat "$HARDHAT_KEYS/key$i")" = "$(key_of "$i")" ]
		[ "$(hh_addr_of "$i")" = "$(addr_of "$i")" ]
	done
	[[ "$(hh_rpc web3_clientVersion '[]' | jq -r .result)" == HardhatNetwork/2.* ]]
	run ct service ls
	[ "$status" -eq 0 ]
}

@test "deploy, register, approve, service deploy/scale/update/rm on hardhat: each prints its transaction, chainwatch sees each event" {
	local c tx out i
	out=$(ct --json contract deploy)
	echo "$out"
	c=$(echo "$out" | jq -r .address)
	tx=$(echo "$out" | jq -r .tx)
	[[ "$c" =~ ^0x[0-9a-f]{40}$ ]]
	[ "$(hh_receipt "$tx" | jq -r '"\(.status) \(.contractAddress)"')" = "0x1 $c" ]
	[ "$(echo "$out" | jq -r '"\(.chain_id) \(.owner)"')" = "31337 $(addr_of 0)" ]
	[ "$(hh_rpc eth_getCode "[\"$c\",\"latest\"]" | jq -r '.result | length > 100')" = true ]
	watch "$c"
	wait_until 30 has_line 'select(.type == "snapshot.end" and .nodes == 0)'
	for i in 1 2; do
		run ct --contract "$c" --key-file "$HARDHAT_KEYS/key$i" --json node register \
			--endpoint "127.0.0.$((i + 1)):7946" --swim-pubkey "$(printf '%064d' "$i")" --cpu 2 --mem 1G --label zone=z$i
		echo "$output"
		[ "$status" -eq 0 ]
		[ "$(echo "$output" | jq -r .address)" = "$(addr_of "$i")" ]
		mined_ok "$(echo "$output" | jq -r .tx)" "$c"
	done
	for i in 1 2; do
		run ct --contract "$c" node approve "$(addr_of "$i")"
		[ "$status" -eq 0 ]
		[[ "$output" =~ ^"$(addr_of "$i") approved (transaction "(0x[0-9a-f]{64})")"$ ]]
		mined_ok "${BASH_REMATCH[1]}" "$c"
	done
	run ct --contract "$c" service deploy web --image busybox:1 --replicas 2 --port 8080:80 -- sleep 1000
	[[ "$output" =~ ^"web deployed (transaction "(0x[0-9a-f]{64})")"$ ]]
	mined_ok "${BASH_REMATCH[1]}" "$c"
	run ct --contract "$c" service scale web 4
	[[ "$output" =~ ^"web scaled (transaction "(0x[0-9a-f]{64})")"$ ]]
	mined_ok "${BASH_REMATCH[1]}" "$c"
	run ct --contract "$c" --json service update web --image busybox:2
	echo "$output"
	[ "$status" -eq 0 ]
	mined_ok "$(echo "$output" | jq -r .tx)" "$c"
	wait_until 30 state_has '.services[0] | .image == "busybox:2" and .replicas == 4'
	# chain.sock's record is the CLI's
	[ "$(state | jq -c '.services[0]')" = "$(ct --contract "$c" --json service ls | jq -c 'del(.placed, .pending)')" ]
	run ct --contract "$c" service rm web
	[[ "$output" =~ ^"web removed (transaction "(0x[0-9a-f]{64})")"$ ]]
	mined_ok "${BASH_REMATCH[1]}" "$c"
	# a stranger is refused with the contract's error by name, on hardhat too
	run ct --contract "$c" --key-file "$HARDHAT_KEYS/key4" service deploy evil --image x
	[ "$status" -eq 1 ]
	[[ "$output" == *NotAdmin* ]]
	wait_until 30 has_line 'select(.type == "service.remove")'
	run steps
	echo "$output"
	[ "$output" = "node.upsert $(addr_of 1) true
node.upsert $(addr_of 2) true
service.upsert web 1
service.upsert web 2
service.upsert web 3
service.remove web " ]
	has_line 'select(.type == "node.upsert" and .node.endpoint == "127.0.0.3:7946" and .node.labels.zone == "z2")'
	has_line 'select(.type == "service.upsert" and .service.generation == 2 and .service.replicas == 4
		and .service.ports == [{"host":8080,"container":80,"proto":"tcp"}])'
	state_has '(.nodes | length) == 2 and (.services | length) == 0'
}

@test "a send whose answer was lost: hardhat's 'Known transaction' on the resend means ours is in" {
	ensure_service web
	local tx from
	# Automine: the answer is lost after the transaction was mined; the resend meets
	# "Nonce too low" and the hash is looked up.
	start_proxy lost --drop-send
	run ct --rpc "$PROXY_URL" --json service scale web 2
	echo "$output"
	[ "$status" -eq 0 ]
	tx=$(echo "$output" | jq -r .tx)
	mined_ok "$tx"
	[ "$(replicas_of web)" = 2 ]
	# Automine off: the resend finds the first one in the pool: "Known transaction".
	hh_rpc evm_setAutomine '[false]' > /dev/null
	start_proxy once --drop-send-first 1 --record "$BATS_TEST_TMPDIR/once.calls"
	from=$(wc -l < "$(hh_log)")
	start_bg cli bash -c 'canteen -c /dev/null --rpc "$0" service scale web 3; echo "exit $?"' "$PROXY_URL"
	wait_until 30 pending_at_least 1
	wait_until 30 eval 'tail -n +"$from" "$(hh_log)" | grep -q "Known transaction"'
	wait_until 30 mine_until_done cli
	cat "$BATS_TEST_TMPDIR/cli.log"
	[ "$(grep -c '^eth_sendRawTransaction$' "$BATS_TEST_TMPDIR/once.calls")" = 2 ]
	grep -qx 'exit 0' "$BATS_TEST_TMPDIR/cli.log"
	[[ "$(head -n 1 "$BATS_TEST_TMPDIR/cli.log")" =~ ^"web scaled (transaction "(0x[0-9a-f]{64})")"$ ]]
	mined_ok "${BASH_REMATCH[1]}"
	hh_rpc evm_setAutomine '[true]' > /dev/null
	[ "$(replicas_of web)" = 3 ]
}

@test "on hardhat too: out of gas is named as such, a mined revert says gas was spent, no code is no contract" {
	ensure_service web
	local dead=0x000000000000000000000000000000000000dead
	run ct --gas-limit 30000 service scale web 6
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == "canteen: scaleService failed: ran out of gas: used 30000 of 30000 (transaction 0x"*", block "*")" ]]
	[[ "$output" != *"without a reason"* ]]
	# Given a gas limit, nothing is estimated: the revert happens on chain (hardhat replays
	# the call at that block to tell why), and costs gas.
	run ct --gas-limit 400000 service deploy web --image busybox:1
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == "canteen: addService reverted on chain, gas spent: "[0-9]*': ServiceExists("web") (transaction 0x'* ]]
	# Found at estimate time: nothing was sent.
	run ct service deploy web --image busybox:1
	[ "$output" = 'canteen: addService reverted: ServiceExists("web")' ]
	run ct --contract "$dead" service scale web 3
	[ "$status" -eq 1 ]
	[ "$output" = "canteen: no contract at $dead on chain 31337" ]
	[ "$(replicas_of web)" != 6 ]
}

# scale_all RPC REPLICAS: scale par1..par4 at once with the same key; fails if one fails.
scale_all() {
	local i pids=() rc=0
	for i in 1 2 3 4; do
		ct --rpc "$1" service scale "par$i" "$2" > "$BATS_TEST_TMPDIR/par$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || { rc=1; cat "$BATS_TEST_TMPDIR/par$((i + 1)).out"; }
	done
	return $rc
}

@test "four CLIs with one key at once all succeed on hardhat (fresh nonce after hardhat's refusals)" {
	local i from
	for i in 1 2 3 4; do ensure_service "par$i"; done
	scale_all "$CANTEEN_RPC" 5
	for i in 1 2 3 4; do [ "$(replicas_of "par$i")" = 5 ]; done
	# A block a second, behind a node that offers the last block's nonce: all four are
	# given the same nonce, and hardhat refuses three ("Replacement transaction underpriced").
	hh_rpc evm_setAutomine '[false]' > /dev/null
	hh_rpc evm_setIntervalMining '[1000]' > /dev/null
	start_proxy stale --stale-nonce
	from=$(wc -l < "$(hh_log)")
	scale_all "$PROXY_URL" 7
	# what hardhat said to the losers (three refusals, then two, then one, when all four raced)
	tail -n +"$from" "$(hh_log)" | grep -c "Replacement transaction underpriced" | grep -qv '^0$'
	for i in 1 2 3 4; do [ "$(replicas_of "par$i")" = 7 ]; done
}

@test "two admins updating one service at once on hardhat, automine off: both changes land" {
	run ct service deploy both --image busybox:1 --replicas 1
	[ "$status" -eq 0 ]
	hh_rpc evm_setAutomine '[false]' > /dev/null
	admin a 0 service update both --priority 77
	admin b 5 service update both --replicas 9
	# both wait in the pool, built from the same record when they raced
	wait_until 30 pending_at_least 2
	wait_until 60 mine_until_done a b
	cat "$BATS_TEST_TMPDIR/a.log" "$BATS_TEST_TMPDIR/b.log"
	grep -qx 'exit 0' "$BATS_TEST_TMPDIR/a.log"
	grep -qx 'exit 0' "$BATS_TEST_TMPDIR/b.log"
	grep -q '^both updated (transaction 0x' "$BATS_TEST_TMPDIR/a.log"
	grep -q '^both updated (transaction 0x' "$BATS_TEST_TMPDIR/b.log"
	hh_rpc evm_setAutomine '[true]' > /dev/null
	[ "$(svc both | jq -r '"\(.replicas) \(.priority) \(.generation)"')" = "9 77 3" ]
}

@test "node ls, service ls and chainwatch page down when hardhat says a call ran out of gas (empty revert data)" {
	local url keys c i labels=() big
	# Before Osaka a call's gas is the block's gas limit, which can be lowered at run time.
	start_hardhat paged 'hardfork: "prague"'
	url=$(hh_url paged) keys=$(hh_keys paged)
	pg() { canteen -c /dev/null --rpc "$url" "$@"; }
	c=$(pg contract deploy)
	for i in $(seq 10 25); do labels+=(--label "k$i=$(printf 'v%059d' "$i")"); done
	for i in $(seq 0 19); do
		pg --contract "$c" --key-file "$keys/key$i" node register --endpoint "127.0.0.$((i + 2)):7946" \
			--swim-pubkey "$(printf '%064x' $((i + 1)))" --cpu 1 --mem 1G "${labels[@]}" > /dev/null
	done
	big=$(printf 'E=%0800d' 0)
	for i in $(seq 10 29); do
		pg --contract "$c" service deploy "big-$i" --image busybox:1 --env "$big" --env "B$big" \
			--env "C$big" -- sh > /dev/null
	done
	# Reading all 20 nodes (or services) in one call now needs more gas than a call gets:
	# hardhat answers "Transaction ran out of gas" with revert data "0x".
	HH_URL=$url hh_rpc evm_setBlockGasLimit '["0x16e360"]' > /dev/null
	run pg --contract "$c" --json node ls --pending
	echo "$output" | tail -n 3
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -s 'map(.address) | unique | length')" = 20 ]
	run pg --contract "$c" --json service ls
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -s 'map(select(.env[0] | length == 802)) | length')" = 20 ]
	# chainwatch's snapshot too (the nodes wait for approval: not in its feed)
	start_bg cw canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$url" --contract "$c" -d "$RUN" \
		--poll 100ms --confirmations 0 --stdout
	wait_until 60 has_line 'select(.type == "snapshot.end")'
	has_line 'select(.type == "snapshot.end" and .services == 20 and .nodes == 0)'
	[ "$(events | jq -s 'map(select(.type == "service" and (.service.env | length) == 3)) | length')" = 20 ]
	# One record alone that needs more gas than a call gets: out of gas, said as such.
	HH_URL=$url hh_rpc evm_setBlockGasLimit '["0x7530"]' > /dev/null
	run pg --contract "$c" node ls --pending
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"ran out of gas"* ]]
	[[ "$output" != *"without a reason"* ]]
}

@test "chainwatch --stdout follows hardhat through a rewind (evm_snapshot/evm_revert)" {
	local c snap st
	c=$(ct contract deploy)
	ct --contract "$c" service deploy keep --image busybox:1 > /dev/null
	watch "$c"
	wait_until 30 has_line 'select(.type == "snapshot.end")'
	snap=$(hh_rpc evm_snapshot '[]' | jq -r .result)
	ct --contract "$c" service deploy orphan --image busybox:1 > /dev/null
	wait_until 30 has_line 'select(.type == "service.upsert" and .service.name == "orphan")'
	# back to before "orphan", then a different, longer branch
	[ "$(hh_rpc evm_revert "[\"$snap\"]" | jq -r .result)" = true ]
	ct --contract "$c" service deploy branch --image busybox:1 > /dev/null
	hh_rpc hardhat_mine '["0x2"]' > /dev/null
	wait_until 30 state_has '(.services | map(.name) | sort) == ["branch", "keep"]'
	has_line 'select(.type == "service.remove" and .name == "orphan")'
	has_line 'select(.type == "service.upsert" and .service.name == "branch")'
	grep -q reorg "$BATS_TEST_TMPDIR/cw.log"
	# the state's block hash is hardhat's
	st=$(state)
	[ "$(echo "$st" | jq -r .block_hash)" = \
		"$(hh_rpc eth_getBlockByNumber "[\"$(printf '0x%x' "$(echo "$st" | jq .block)")\",false]" | jq -r .result.hash)" ]
	# and the CLI agrees with chainwatch
	[ "$(ct --contract "$c" --json service ls | jq -r .name | sort | tr '\n' ' ')" = "branch keep " ]
}

@test "on hardhat too: with rpc_quorum 1, a liar about block hashes is proven wrong from hardhat's headers and the honest state is followed" {
	local c honest liar st
	c=$(ct contract deploy)
	ct --contract "$c" service deploy solo --image busybox:1 --replicas 2 > /dev/null
	start_proxy honest && honest=$PROXY_URL
	start_proxy liar --lie && liar=$PROXY_URL
	start_bg cw canteen-chainwatch -c /dev/null --chain-id 31337 --rpc "$honest,$liar" --rpc-quorum 1 \
		--contract "$c" -d "$RUN" --poll 100ms --confirmations 0 --rpc-timeout 2s --stdout
	wait_until 30 has_line 'select(.type == "snapshot.end")' || { cat "$BATS_TEST_TMPDIR/cw.log"; false; }
	has_line "select(.type == \"rpc.disagree\" and .endpoint == \"$liar\" and .proven == true)"
	events | jq -s -e '[.[] | select(.type == "service")] | map(.service.name) == ["solo"]' > /dev/null
	# the block followed is hardhat's own, hash and all
	st=$(sock_request "$RUN/chain.sock" '{"op":"state"}')
	[ "$(echo "$st" | jq -r .block_hash)" = \
		"$(hh_rpc eth_getBlockByNumber "[\"$(printf '0x%x' "$(echo "$st" | jq .block)")\",false]" | jq -r .result.hash)" ]
	ct --contract "$c" service scale solo 3 > /dev/null
	wait_until 30 has_line 'select(.type == "service.upsert" and .service.replicas == 3)'
}
