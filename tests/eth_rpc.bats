#!/usr/bin/env bats
# eth_rpc.bats: canteen's JSON-RPC clients (blocking and loop-driven) against a real anvil,
# and TLS certificate verification against a local self-signed HTTPS server.

load lib/common
load lib/anvil

setup_file() { start_anvil; }
teardown_file() { stop_anvil; }
teardown() { stop_started; }

tool() { "$TBIN/eth_tool" "$@"; }

@test "blocking client: chain id, and the node's errors come back as sentences" {
	run tool rpc "$ANVIL_URL" eth_chainId '[]'
	[ "$status" -eq 0 ]
	[ "$output" = '"0x7a69"' ]
	run tool rpc "$ANVIL_URL" eth_noSuchMethod '[]'
	[ "$status" -eq 1 ]
	[[ "$output" == "eth_tool: rpc: "* ]]
}

@test "loop-driven client: 20 concurrent calls all answered; unreachable reported" {
	run tool arpc "$ANVIL_URL" eth_chainId '[]' 20
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 20 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort -u)" = '"0x7a69"' ]
	run tool arpc "http://127.0.0.1:$(free_port)/" eth_chainId '[]'
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot reach RPC endpoint"* ]]
}

@test "a transaction signed by the library is accepted and mined by anvil" {
	local nonce raw hash
	nonce=$(cast nonce --rpc-url "$ANVIL_URL" "$(addr_of 5)")
	raw=$(tool mktx --key "$(key_of 5)" --chain 31337 --nonce "$nonce" --gas 21000 \
		--max-fee 10000000000 --priority-fee 1000000000 --to "$(addr_of 6)" --value 1000)
	run tool rpc "$ANVIL_URL" eth_sendRawTransaction "[\"$raw\"]"
	[ "$status" -eq 0 ]
	hash=$(echo "$output" | jq -r .)
	[ "$hash" = "$(tool keccak-hex "$raw")" ]
	[ "$(cast receipt --rpc-url "$ANVIL_URL" "$hash" --json | jq -r .status)" = 0x1 ]
	[ "$(cast tx --rpc-url "$ANVIL_URL" "$hash" from | tr A-F a-f)" = "$(addr_of 5)" ]
}

@test "HTTPS: a certificate nobody vouches for is refused" {
	local port d=$BATS_TEST_TMPDIR
	command -v openssl >/dev/null || skip "openssl not installed"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" \
		-days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
	port=$(free_port)
	start_bg tls openssl s_server -accept "127.0.0.1:$port" -cert "$d/cert.pem" -key "$d/key.pem" -www -quiet
	wait_until 10 sh -c "ss -Hltn 'sport = :$port' | grep -q ."
	run tool rpc "https://127.0.0.1:$port/" eth_chainId '[]'
	[ "$status" -eq 1 ]
	[[ "$output" == *"certificate"* ]]
}

@test "both clients refuse an answer larger than the call can take, and plain http off loopback" {
	local pf=$BATS_TEST_TMPDIR/p.port
	start_bg proxy python3 "$TOP/tests/tools/rpc_proxy.py" --upstream "$ANVIL_URL" --port-file "$pf" \
		--huge 200000
	wait_until 10 test -s "$pf"
	run tool rpc "http://127.0.0.1:$(cat "$pf")" eth_chainId '[]'
	[ "$status" -eq 1 ]
	[[ "$output" == *"answered eth_chainId with more than 64 KiB: refused"* ]]
	run tool arpc "http://127.0.0.1:$(cat "$pf")" eth_chainId '[]'
	[ "$status" -eq 1 ]
	[[ "$output" == *"answered eth_chainId with more than 64 KiB: refused"* ]]
	# An eth_call may take more (a page of records): 200 KB passes the cap, then is no hex.
	run tool rpc "http://127.0.0.1:$(cat "$pf")" eth_call '[]'
	[[ "$output" != *"refused"* ]]
	run tool arpc "http://10.0.0.1:8545/k" eth_chainId '[]'
	[ "$status" -eq 1 ]
	[[ "$output" == *"plain http:// is only for a loopback RPC endpoint: use https:// for http://10.0.0.1:8545/..."* ]]
}
