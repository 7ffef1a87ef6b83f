# anvil.bash: a fresh anvil per bats file on 127.0.0.1, anvil's well-known dev keys as files,
# and helpers to deploy Canteen from the checked-in artifacts with cast (independent of the
# canteen CLI). Load after lib/common:   load lib/common; load lib/anvil
#
#   setup_file()    { start_anvil; }       exports ANVIL_URL ANVIL_PORT ANVIL_KEYS
#   teardown_file() { stop_anvil; }

ARTIFACTS=$TOP/contracts
# Anvil's default mnemonic ("test test ... junk"): accounts 0..9. Public test keys only.
DEV_KEYS=(
	ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
	59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
	5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
	7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
	47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a
	8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba
	92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e
	4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356
	dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97
	2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6
)
DEV_ADDRS=(
	0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266
	0x70997970c51812dc3a010c7d01b50e0d17dc79c8
	0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc
	0x90f79bf6eb2c4f870365e785982e1f101e93b906
	0x15d34aaf54267db7d7c367839aaf71a00a2c6a65
	0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc
	0x976ea74026e726554db657fa54763abd0c3a0aa9
	0x14dc79964da2c08b23698b3d3cc7ca32193d9955
	0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f
	0xa0ee7a142d267c1f36714e4a8f75612f20a79720
)

# ABI signatures of the contract's calls, for cast.
SPEC_T='(string,string,string[],string[],uint32,uint32,uint32,(uint16,uint16,uint8)[],int32,uint8,bool,string[],(string[],uint32,uint32,uint32,uint8,bool,uint16,uint32,uint8,uint16,string[],bool,uint32,bool)[])'
# What the contract holds of a service (version 4 keeps the spec in logs only).
STATE_T='(bool,uint64,uint32,bytes20)'
NODE_T='(address,string,bytes32,uint32,uint32,string[],bool,uint64)'
SIG_ADD="addService($SPEC_T)"
SIG_UPDATE="updateService($SPEC_T,uint64)"
SIG_REGISTER='registerNode(string,bytes32,uint32,uint32,string[])'
SIG_SCALE='scaleService(string,uint32,uint64)'
SIG_RM='removeService(string,uint64)'

_anvil_dir() { echo "${BATS_FILE_TMPDIR:?start_anvil runs in setup_file}/anvil"; }

# start_anvil [ANVIL ARGS...]: start anvil on a free loopback port; retry on a port race.
# Writes the dev keys to $ANVIL_KEYS/key0..key9 (mode 0600).
start_anvil() {
	local dir port pid i
	dir=$(_anvil_dir)
	mkdir -p "$dir/keys" && chmod 0700 "$dir/keys"
	for i in "${!DEV_KEYS[@]}"; do
		( umask 077; echo "0x${DEV_KEYS[$i]}" > "$dir/keys/key$i" )
	done
	export ANVIL_KEYS=$dir/keys
	for _ in 1 2 3 4 5; do
		port=$(free_port) || return 1
		setsid anvil --host 127.0.0.1 --port "$port" "$@" > "$dir/anvil.log" 2>&1 < /dev/null &
		pid=$!
		echo "$pid" > "$dir/anvil.pid"
		# canteen's CLI requires chain_id: anvil's default.
		export ANVIL_PORT=$port ANVIL_URL=http://127.0.0.1:$port CANTEEN_CHAIN_ID=31337
		if wait_until 20 anvil_up; then return 0; fi
		kill -KILL -- "-$pid" 2>/dev/null
	done
	echo "start_anvil: anvil did not start; log:" >&2
	tail -n 20 "$dir/anvil.log" >&2
	return 1
}

# anvil_up: does anvil answer eth_chainId (and is our process still alive)?
anvil_up() {
	kill -0 "$(cat "$(_anvil_dir)/anvil.pid")" 2>/dev/null || return 1
	rpc eth_chainId '[]' | grep -q '"result"'
}

# stop_anvil: TERM then KILL anvil's process group; waits until it is gone (so a
# --dump-state file is complete).
stop_anvil() {
	local f pid
	f=$(_anvil_dir)/anvil.pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "stop_anvil: anvil (pid $pid) had already exited; the end of its log:" >&2
		tail -n 5 "$(_anvil_dir)/anvil.log" >&2
	fi
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	local deadline=$(( $(now_ms) + 20000 ))
	while kill -0 "$pid" 2>/dev/null && (( $(now_ms) < deadline )); do sleep 0.05; done
	kill -KILL -- "-$pid" 2>/dev/null || true
	rm -f "$f"
	return 0
}

# restart_anvil_same_port [ANVIL ARGS...]: start anvil again on ANVIL_PORT.
restart_anvil_same_port() {
	local dir pid
	dir=$(_anvil_dir)
	setsid anvil --host 127.0.0.1 --port "$ANVIL_PORT" "$@" >> "$dir/anvil.log" 2>&1 < /dev/null &
	pid=$!
	echo "$pid" > "$dir/anvil.pid"
	wait_until 20 anvil_up
}

# rpc METHOD PARAMS_JSON: one JSON-RPC call with curl (test side only); prints the answer.
rpc() {
	curl -s --max-time 30 -H 'content-type: application/json' \
		-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$ANVIL_URL"
}

# rpc_batch FILE: POST a JSON array of requests from FILE; prints the answer array.
rpc_batch() {
	curl -s --max-time 300 -H 'content-type: application/json' --data-binary "@$1" "$ANVIL_URL"
}

key_of() { echo "0x${DEV_KEYS[$1]}"; }
addr_of() { echo "${DEV_ADDRS[$1]}"; }

# deploy_canteen [KEY_INDEX]: deploy from contracts/Canteen.bin; prints the address.
deploy_canteen() {
	local k=${1:-0} out
	out=$(cast send --rpc-url "$ANVIL_URL" --private-key "$(key_of "$k")" --json \
		--create "0x$(cat "$ARTIFACTS/Canteen.bin")") || return 1
	echo "$out" | jq -r .contractAddress
}

# send_as KEY_INDEX CONTRACT SIG ARGS...: cast send, prints the receipt JSON; fails on revert.
send_as() {
	local k=$1; shift
	cast send --rpc-url "$ANVIL_URL" --private-key "$(key_of "$k")" --json "$@"
}

# call CONTRACT SIG ARGS...: cast call (add --block N before CONTRACT for a block tag).
call() { cast call --rpc-url "$ANVIL_URL" "$@"; }

# state_of CONTRACT NAME [BLOCK]: serviceState: (exists, generation, replicas, specHash).
state_of() { cast call --rpc-url "$ANVIL_URL" ${3:+--block "$3"} "$1" "serviceState(string)($STATE_T)" "$2"; }

# gen_of CONTRACT NAME: the generation of service NAME (what update, scale and rm carry).
gen_of() { state_of "$1" "$2" | sed 's/^([a-z]*, //; s/,.*//'; }

# upsert_spec DATA: a ServiceUpserted log's data (generation, spec bytes) into the spec's
# fields, one a line as cast prints them.
upsert_spec() {
	local b
	b=$(cast decode-abi 'f()(uint64,bytes)' "$1" | tail -n 1) || return 1
	cast decode-abi "f()$SPEC_T" "$b"
}

# record_of CONTRACT NAME: the service as one tuple like version 3's getService: the spec
# of its last ServiceUpserted log with the replicas and generation the contract holds
# (checked: the log's spec hash is the one held). Fails when there is no such service.
record_of() {
	local st d h gen reps out
	st=$(state_of "$1" "$2") || return 1
	[[ "$st" == '(true, '* ]] || { echo "no service $2: $st" >&2; return 1; }
	d=$(cast logs --rpc-url "$ANVIL_URL" --json --from-block 0 --address "$1" \
		"$(cast keccak 'ServiceUpserted(bytes32,uint64,bytes)')" "$(cast keccak "$2")" | jq -r '.[-1].data')
	h=$(cast keccak "$(cast decode-abi 'f()(uint64,bytes)' "$d" | tail -n 1)")
	[[ "$st" == *", ${h:0:42})" ]] || { echo "record_of: the log's spec is not the one held ($st, $h)" >&2; return 1; }
	gen=$(echo "$st" | sed 's/^([a-z]*, //; s/,.*//')
	reps=$(echo "$st" | sed 's/^([a-z]*, [0-9]*, //; s/,.*//')
	mapfile -t v < <(upsert_spec "$d")
	v[4]=$reps
	out=$(printf '%s, ' "${v[@]}")
	echo "(${out}${gen})"
}

# block_number: current head as a decimal.
block_number() { cast block-number --rpc-url "$ANVIL_URL"; }

# error_selector 'Name(types)': the 4-byte selector a custom error reverts with.
# Cached per bats file (cast takes a noticeable time to start).
error_selector() {
	local f=${BATS_FILE_TMPDIR:-/tmp}/sel.$(echo "$1" | tr -c 'A-Za-z0-9\n' _)
	[ -s "$f" ] || cast sig "$1" > "$f"
	cat "$f"
}

# spec NAME [IMAGE [REPLICAS]]: a cast tuple literal for a ServiceSpec.
spec() {
	echo "(${1:-\"\"},${2:-busybox:1},[sh,-c,sleep 1000],[A=1],${3:-1},100,64,[(8080,80,0)],0,0,false,[],[])"
}

# add_services_batch CONTRACT FROM_INDEX PREFIX COUNT [START]: add COUNT services named
# PREFIX-NNNNN (five digits, from START) with eth_sendTransaction from anvil's unlocked dev
# account. Automine is switched off; each chunk of PER_BLOCK transactions is sent in order
# by one curl process over one connection, then mined as one block. The calldata is encoded
# once by cast; only the name bytes (same length for every name) change.
add_services_batch() {
	local c=$1 from=${DEV_ADDRS[$2]} prefix=$3 count=$4 start=${5:-0}
	local per=${PER_BLOCK:-50} tmpl namehex base phex i n d f nonce sent=0 k out rc=0
	tmpl=$(cast calldata "$SIG_ADD" "$(spec "$prefix-00000")") || return 1
	phex=$(printf '%s-' "$prefix" | od -An -tx1 | tr -d ' \n')
	base=${phex}3030303030
	nonce=$(cast nonce --rpc-url "$ANVIL_URL" "$from") || return 1
	f=$(mktemp)
	rpc evm_setAutomine '[false]' > /dev/null || return 1
	while ((sent < count)); do
		k=$(( count - sent < per ? count - sent : per ))
		for ((i = start + sent; i < start + sent + k; i++)); do
			printf -v n '%05d' "$i"
			namehex=$phex
			for ((d = 0; d < 5; d++)); do namehex+=3${n:d:1}; done
			((i > start + sent)) && echo next
			printf 'url = "%s"\nheader = "content-type: application/json"\n' "$ANVIL_URL"
			printf 'data = "{\\"jsonrpc\\":\\"2.0\\",\\"id\\":%d,\\"method\\":\\"eth_sendTransaction\\",\\"params\\":[{\\"from\\":\\"%s\\",\\"to\\":\\"%s\\",\\"gas\\":\\"0x100000\\",\\"nonce\\":\\"0x%x\\",\\"data\\":\\"%s\\"}]}"\n' \
				"$i" "$from" "$c" "$nonce" "${tmpl/$base/$namehex}"
			nonce=$((nonce + 1))
		done > "$f"
		out=$(curl -s --max-time 300 -K "$f") || { rc=1; break; }
		if [ "$(echo "$out" | grep -o '"result"' | wc -l)" != "$k" ]; then
			echo "add_services_batch: some sends failed: $(echo "$out" | grep -o '"error":{[^}]*}' | head -n 1)" >&2
			rc=1; break
		fi
		rpc evm_mine '[]' > /dev/null
		if [ "$(cast nonce --rpc-url "$ANVIL_URL" "$from")" != "$nonce" ]; then
			echo "add_services_batch: a block did not take all $k transactions" >&2
			rc=1; break
		fi
		sent=$((sent + k))
	done
	rm -f "$f"
	rpc evm_setAutomine '[true]' > /dev/null
	return $rc
}

# abi_word N: one ABI word (64 hex digits) of the number N.
abi_word() { printf '%064x' "$1"; }
# abi_str S: an ABI string's length word and bytes (S of at most 32 bytes), hex.
abi_str() {
	local h
	h=$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')
	printf '%064x%s%0*d' "${#1}" "$h" $(( 64 - ${#h} )) 0
}
# scale_calldata NAME REPLICAS GENERATION / rm_calldata NAME GENERATION: hex calldata
# (0x...) made here, without cast (fast enough for hundreds).
scale_calldata() {
	[ -n "${SEL_SCALE:-}" ] || SEL_SCALE=$(cast sig "$SIG_SCALE")
	echo "$SEL_SCALE$(abi_word 96)$(abi_word "$2")$(abi_word "$3")$(abi_str "$1")"
}
rm_calldata() {
	[ -n "${SEL_RM:-}" ] || SEL_RM=$(cast sig "$SIG_RM")
	echo "$SEL_RM$(abi_word 64)$(abi_word "$2")$(abi_str "$1")"
}

# send_calls_batch CONTRACT FROM_INDEX < CALLDATA_LINES: every line a transaction from
# anvil's unlocked dev account FROM_INDEX, sent in order over one connection with automine
# off, then mined as one block; fails unless the block took them all.
send_calls_batch() {
	local c=$1 from=${DEV_ADDRS[$2]} f nonce data k=0 out rc=0
	nonce=$(cast nonce --rpc-url "$ANVIL_URL" "$from") || return 1
	f=$(mktemp)
	while read -r data; do
		((k > 0)) && echo next
		printf 'url = "%s"\nheader = "content-type: application/json"\n' "$ANVIL_URL"
		printf 'data = "{\\"jsonrpc\\":\\"2.0\\",\\"id\\":%d,\\"method\\":\\"eth_sendTransaction\\",\\"params\\":[{\\"from\\":\\"%s\\",\\"to\\":\\"%s\\",\\"gas\\":\\"0x100000\\",\\"nonce\\":\\"0x%x\\",\\"data\\":\\"%s\\"}]}"\n' \
			"$k" "$from" "$c" "$((nonce + k))" "$data"
		k=$((k + 1))
	done > "$f"
	rpc evm_setAutomine '[false]' > /dev/null || { rm -f "$f"; return 1; }
	out=$(curl -s --max-time 300 -K "$f") || rc=1
	if [ "$rc" = 0 ] && [ "$(echo "$out" | grep -o '"result"' | wc -l)" != "$k" ]; then
		echo "send_calls_batch: some sends failed: $(echo "$out" | grep -o '"error":{[^}]*}' | head -n 1)" >&2
		rc=1
	fi
	rpc evm_mine '[]' > /dev/null
	rpc evm_setAutomine '[true]' > /dev/null
	rm -f "$f"
	[ "$rc" = 0 ] && [ "$(cast nonce --rpc-url "$ANVIL_URL" "$from")" = "$((nonce + k))" ] ||
		{ echo "send_calls_batch: a block did not take all $k transactions" >&2; return 1; }
}

# lax_contract_bin: the bytecode (hex, no 0x) of today's contract with version 1's record
# rules (no printable-ASCII check; endpoints of 255 bytes, 32 labels of 256): what a
# contract that did not check lets strangers write, for tests of what chainwatch does with
# such records. Compiled once per test file.
lax_contract_bin() {
	local d=$BATS_FILE_TMPDIR/lax
	if [ ! -s "$d/Canteen.bin" ]; then
		mkdir -p "$d"
		sed -e 's/if (c < lo || c > 0x7e) return false;/lo; c;/' \
			-e 's/if or(lt(c, lo), gt(c, 0x7e)) { bad := 1 }/if or(lt(c, lo), gt(c, 0x7e)) { }/' \
			-e 's/MAX_ENDPOINT = 64;/MAX_ENDPOINT = 255;/' -e 's/MAX_LABELS = 16;/MAX_LABELS = 32;/' \
			-e 's/MAX_LABEL_LEN = 64;/MAX_LABEL_LEN = 256;/' "$TOP/contracts/Canteen.sol" > "$d/Lax.sol"
		local want
		for want in 'lo; c;' 'gt(c, 0x7e)) { }' 'MAX_ENDPOINT = 255;' 'MAX_LABELS = 32;' 'MAX_LABEL_LEN = 256;'; do
			grep -qF "$want" "$d/Lax.sol" ||
				{ echo "lax_contract_bin: the contract's record rules moved ($want)" >&2; return 1; }
		done
		CANTEEN_SOL=$d/Lax.sol "$TOP/contracts/compile.sh" "$d" >&2 || return 1
	fi
	cat "$d/Canteen.bin"
}
