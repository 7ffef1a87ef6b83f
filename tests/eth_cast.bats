#!/usr/bin/env bats
# eth_cast.bats: canteen's keccak, ABI encoding, RLP, addresses and signed transactions are
# byte-for-byte what Foundry's cast produces for the same inputs (cast is the oracle).

load lib/common

# cast never needs a node here; point it at the discard port on loopback all the same.
NORPC=http://127.0.0.1:9
KEYS=(
	0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
	0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
	0x0000000000000000000000000000000000000000000000000000000000000001
	0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140
	0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318
)
TO=0x70997970C51812dc3A010C7d01b50e0d17dc79C8

tool() { "$TBIN/eth_tool" "$@"; }
lower() { tr 'A-F' 'a-f'; }

@test "keccak256 equals cast keccak (text and hex inputs)" {
	local s long
	long=$(printf 'canteen%.0s' $(seq 1 100))
	for s in "" "abc" "The quick brown fox jumps over the lazy dog" "héllo wörld" "$long" \
		"registerNode(string,bytes32,uint32,uint32,string[])"; do
		[ "$(tool keccak "$s")" = "$(cast keccak "$s")" ] || { echo "differs for '$s'"; return 1; }
	done
	for s in 0x 0x00 0xdeadbeef "0x$(printf '%0272d' 7)"; do
		[ "$(tool keccak-hex "$s")" = "$(cast keccak "$s")" ] || { echo "differs for $s"; return 1; }
	done
}

# check_abi SIG JSON CAST-ARGS...: our encoding of JSON equals cast abi-encode of the args.
check_abi() {
	local sig=$1 json=$2 ours theirs; shift 2
	ours=$(tool abi-encode "$sig" "$json") || { echo "eth_tool failed for $sig"; return 1; }
	theirs=$(cast abi-encode "$sig" -- "$@") || { echo "cast failed for $sig"; return 1; }
	[ "$ours" = "$theirs" ] || { echo "$sig: ours $ours"; echo "$sig: cast $theirs"; return 1; }
	ours=$(tool calldata "$sig" "$json")
	theirs=$(cast calldata "$sig" "$@")
	[ "$ours" = "$theirs" ] || { echo "$sig calldata differs"; return 1; }
}

@test "ABI encoding equals cast abi-encode: static types" {
	check_abi "f(uint256)" '[0]' 0
	check_abi "f(uint256)" '["115792089237316195423570985008687907853269984665640564039457584007913129639935"]' \
		115792089237316195423570985008687907853269984665640564039457584007913129639935
	check_abi "f(uint8,uint32,uint64)" '[255,4294967295,"18446744073709551615"]' 255 4294967295 18446744073709551615
	check_abi "f(int8,int32,int256)" '[-1,-2147483648,"-57896044618658097711785492504343953926634992332820282019728792003956564819968"]' \
		-1 -2147483648 -57896044618658097711785492504343953926634992332820282019728792003956564819968
	check_abi "f(address,bool,bool)" "[\"$TO\",true,false]" "$TO" true false
	check_abi "f(bytes1,bytes3,bytes32)" '["0xff","0x616263","0x0101010101010101010101010101010101010101010101010101010101010101"]' \
		0xff 0x616263 0x0101010101010101010101010101010101010101010101010101010101010101
	check_abi "f(uint16[3])" '[[1,2,3]]' "[1,2,3]"
}

@test "ABI encoding equals cast abi-encode: dynamic types, arrays and tuples" {
	check_abi "f(string)" '[""]' ""
	check_abi "f(string,bytes)" '["hello world, a string longer than thirty-two bytes","0x0102"]' \
		"hello world, a string longer than thirty-two bytes" 0x0102
	check_abi "f(uint256,string,address[])" "[1,\"hello\",[\"$TO\",\"$TO\"]]" 1 hello "[$TO,$TO]"
	check_abi "f(string[])" '[["a","bb","ccc"]]' "[a,bb,ccc]"
	check_abi "f(uint256[][])" '[[[1,2],[],[3]]]' "[[1,2],[],[3]]"
	check_abi "f((uint16,uint16,uint8)[])" '[[[8080,80,0],[53,53,1]]]' "[(8080,80,0),(53,53,1)]"
	check_abi "f((string,uint32)[2])" '[[["x",1],["yy",2]]]' "[(x,1),(yy,2)]"
	check_abi "addService((string,string,string[],string[],uint32,uint32,uint32,(uint16,uint16,uint8)[],int32,uint8,bool,string[]))" \
		'[["web","busybox:1",["sh","-c","sleep 1000"],["A=1","B=2"],3,250,128,[[8080,80,0]],-5,2,true,["zone=a"]]]' \
		"(web,busybox:1,[sh,-c,sleep 1000],[A=1,B=2],3,250,128,[(8080,80,0)],-5,2,true,[zone=a])"
}

@test "RLP equals cast to-rlp" {
	local j big
	big="0x$(printf 'ab%.0s' $(seq 1 60))"
	for j in '"0x"' '"0x00"' '"0x7f"' '"0x80"' '"0x0400"' '[]' '[[]]' '["0x01",["0x02","0x"]]' \
		"[\"$big\",[\"$big\",[\"0x01\"]],\"0x\"]" "[\"$big$(printf 'cd%.0s' $(seq 1 200))\"]"; do
		[ "$(tool to-rlp "$j")" = "$(cast to-rlp "$j")" ] || { echo "differs for $j"; return 1; }
	done
}

@test "address from private key equals cast wallet address" {
	local k
	for k in "${KEYS[@]}"; do
		[ "$(tool address "$k")" = "$(cast wallet address "$k" | lower)" ] || { echo "differs for $k"; return 1; }
	done
}

@test "signed EIP-1559 transactions equal cast mktx byte for byte" {
	local k n ours theirs
	for k in "${KEYS[0]}" "${KEYS[2]}" "${KEYS[3]}"; do
		for n in 0 128 65535; do
			ours=$(tool mktx --key "$k" --chain 31337 --nonce "$n" --gas 100000 --max-fee 3000000000 \
				--priority-fee 1000000000 --to "$TO" --data 0xa9059cbb --value 12345)
			theirs=$(cast mktx --rpc-url "$NORPC" --private-key "$k" --chain 31337 --nonce "$n" \
				--gas-limit 100000 --gas-price 3000000000 --priority-gas-price 1000000000 \
				--value 12345 "$TO" 0xa9059cbb)
			[ "$ours" = "$theirs" ] || { echo "key $k nonce $n"; echo "ours $ours"; echo "cast $theirs"; return 1; }
			# And our decoder recovers the signer from cast's bytes.
			[ "$(tool decode-tx "$theirs" | jq -r .from)" = "$(tool address "$k")" ]
		done
	done
}

@test "signed legacy EIP-155 transactions equal cast mktx --legacy, on several chain ids" {
	local k c ours theirs
	for k in "${KEYS[@]:0:3}"; do
		for c in 1 31337 11155111; do
			ours=$(tool mktx --legacy --key "$k" --chain "$c" --nonce 7 --gas 21000 \
				--gas-price 20000000000 --to "$TO" --value 1)
			theirs=$(cast mktx --legacy --rpc-url "$NORPC" --private-key "$k" --chain "$c" --nonce 7 \
				--gas-limit 21000 --gas-price 20000000000 --value 1 "$TO")
			[ "$ours" = "$theirs" ] || { echo "key $k chain $c"; echo "ours $ours"; echo "cast $theirs"; return 1; }
			[ "$(tool decode-tx "$theirs" | jq -r .chain_id)" = "$c" ]
		done
	done
}

@test "contract creation transaction equals cast mktx --create" {
	local code=0x6080604052348015600f57600080fd5b50603f80601d6000396000f3fe
	ours=$(tool mktx --key "${KEYS[0]}" --chain 31337 --nonce 0 --gas 200000 --max-fee 2000000000 \
		--priority-fee 1000000000 --data "$code")
	theirs=$(cast mktx --rpc-url "$NORPC" --private-key "${KEYS[0]}" --chain 31337 --nonce 0 \
		--gas-limit 200000 --gas-price 2000000000 --priority-gas-price 1000000000 --create "$code")
	[ "$ours" = "$theirs" ]
}
