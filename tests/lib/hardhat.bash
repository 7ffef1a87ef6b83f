# hardhat.bash: hardhat's node (npm hardhat@2, pinned in tests/node), a second EVM
# implementation beside anvil, on a free loopback port from a minimal config in a temporary
# directory; its dev keys as files; stop what was started. Load after lib/common:
#
#   setup_file()    { start_hardhat; }    exports HARDHAT_URL HARDHAT_PORT HARDHAT_KEYS
#   teardown_file() { stop_hardhat; }
#
# start_hardhat NAME 'FIELDS' starts another node in the same file (e.g. NAME=paged with
# 'hardfork: "prague"'): it exports nothing; hh_url NAME and hh_keys NAME tell its URL and
# keys, stop_hardhat NAME stops it. Hardhat's accounts come from anvil's mnemonic ("test
# test ... junk"): key N is anvil's dev key N (chain_hardhat.bats checks it).

HARDHAT_CHAIN_ID=${HARDHAT_CHAIN_ID:-31337}

_hardhat_dir() { echo "${BATS_FILE_TMPDIR:?start_hardhat runs in a bats file}/hardhat-${1:-main}"; }

# start_hardhat [NAME [FIELDS]]: a node with chainId HARDHAT_CHAIN_ID and FIELDS (JavaScript
# object fields of networks.hardhat); retries on a port race. Writes the keys it prints to
# DIR/keys/key0..key19 (mode 0600).
start_hardhat() {
	local name=${1:-main} fields=${2:-} dir port pid
	dir=$(_hardhat_dir "$name")
	mkdir -p "$dir/keys" && chmod 0700 "$dir/keys"
	# Hardhat runs only from a project that has it installed: the config's folder.
	ln -sfn "$TOP/tests/node/node_modules" "$dir/node_modules"
	printf 'module.exports = { networks: { hardhat: { chainId: %s, %s } } };\n' \
		"$HARDHAT_CHAIN_ID" "$fields" > "$dir/hardhat.config.js"
	for _ in 1 2 3 4 5; do
		port=$(free_port) || return 1
		# fd 3 closed: bats waits for whoever holds it. CI=true and no telemetry prompt:
		# hardhat asks nothing, shows no banner and sends nothing anywhere.
		( cd "$dir" && CI=true HARDHAT_DISABLE_TELEMETRY_PROMPT=true exec setsid "$dir/node_modules/.bin/hardhat" \
			node --hostname 127.0.0.1 --port "$port" > "$dir/hardhat.log" 2>&1 < /dev/null 3>&- ) &
		pid=$!
		echo "$pid" > "$dir/hardhat.pid"
		echo "http://127.0.0.1:$port" > "$dir/url"
		if wait_until 60 hardhat_up "$name"; then
			_hardhat_keys "$dir" || return 1
			if [ "$name" = main ]; then
				export HARDHAT_PORT=$port HARDHAT_URL=http://127.0.0.1:$port HARDHAT_KEYS=$dir/keys
			fi
			return 0
		fi
		kill -KILL -- "-$pid" 2>/dev/null
	done
	echo "start_hardhat: hardhat did not start; log:" >&2
	tail -n 20 "$dir/hardhat.log" >&2
	return 1
}

# The private keys the node printed, one file each.
_hardhat_keys() {
	local i=0 k
	for k in $(sed -n 's/^Private Key: \(0x[0-9a-f]\{64\}\)$/\1/p' "$1/hardhat.log"); do
		( umask 077; echo "$k" > "$1/keys/key$i" )
		i=$((i + 1))
	done
	[ "$i" -gt 0 ] || { echo "start_hardhat: no keys in its log" >&2; return 1; }
}

hh_url() { cat "$(_hardhat_dir "${1:-main}")/url"; }
hh_keys() { echo "$(_hardhat_dir "${1:-main}")/keys"; }
hh_log() { echo "$(_hardhat_dir "${1:-main}")/hardhat.log"; }

# hardhat_up [NAME]: is our process alive and does it answer eth_chainId?
hardhat_up() {
	kill -0 "$(cat "$(_hardhat_dir "${1:-main}")/hardhat.pid")" 2>/dev/null || return 1
	HH_URL=$(hh_url "${1:-main}") hh_rpc eth_chainId '[]' | grep -q '"result"'
}

# stop_hardhat [NAME]: TERM then KILL its process group; waits until it is gone.
stop_hardhat() {
	local f pid deadline
	f=$(_hardhat_dir "${1:-main}")/hardhat.pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	deadline=$(( $(now_ms) + 10000 ))
	while kill -0 "$pid" 2>/dev/null && (( $(now_ms) < deadline )); do sleep 0.05; done
	kill -KILL -- "-$pid" 2>/dev/null || true
	rm -f "$f"
	return 0
}

# hh_rpc METHOD PARAMS_JSON: one JSON-RPC call to HH_URL (default: the main node).
hh_rpc() {
	curl -s --max-time 30 -H 'content-type: application/json' \
		-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "${HH_URL:-$HARDHAT_URL}"
}

# hh_pending: how many transactions wait in the node's pending block.
hh_pending() { hh_rpc eth_getBlockByNumber '["pending",false]' | jq '.result.transactions | length'; }

# hh_receipt TX: the receipt of TX as JSON (null when there is none).
hh_receipt() { hh_rpc eth_getTransactionReceipt "[\"$1\"]" | jq -c .result; }

# hh_addr_of N [NAME]: the address of key N, from the node's own list of accounts.
hh_addr_of() {
	local dir k
	dir=$(_hardhat_dir "${2:-main}")
	k=$(cat "$(hh_keys "${2:-main}")/key$1")
	grep -B1 "^Private Key: $k\$" "$dir/hardhat.log" | sed -n 's/^Account #[0-9]*: \(0x[0-9a-fA-F]\{40\}\) .*/\1/p' | tr A-F a-f
}
