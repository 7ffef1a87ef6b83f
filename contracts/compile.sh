#!/usr/bin/env bash
# compile.sh: compile Canteen.sol with the pinned solc (npm, tests/node) into an ABI and
# bytecode. Reproducible: fixed compiler, fixed settings, source given by content.
#   contracts/compile.sh [OUTDIR]   writes OUTDIR/Canteen.abi.json and OUTDIR/Canteen.bin
#                                   (default: contracts/, the checked-in artifacts)
#   CANTEEN_SOL=FILE compiles FILE instead of contracts/Canteen.sol (tests build variants).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/contracts}
solcjs=$top/tests/node/node_modules/.bin/solcjs
want=0.8.28
command -v jq >/dev/null || { echo "compile.sh: jq is missing (tests/deps.sh)" >&2; exit 1; }
[ -x "$solcjs" ] || { echo "compile.sh: $solcjs is missing (tests/deps.sh)" >&2; exit 1; }
ver=$("$solcjs" --version)
case $ver in
"$want"+*) ;;
*) echo "compile.sh: solc $ver, want $want" >&2; exit 1 ;;
esac
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Old code generator cannot copy string[] from calldata to storage: use the IR pipeline.
# evmVersion paris: no PUSH0/MCOPY, so the bytecode runs on chains not yet on Shanghai.
src=${CANTEEN_SOL:-$top/contracts/Canteen.sol}
jq -n --rawfile src "$src" '{
  language: "Solidity",
  sources: {"Canteen.sol": {content: $src}},
  settings: {
    optimizer: {enabled: true, runs: 200},
    viaIR: true,
    evmVersion: "paris",
    metadata: {bytecodeHash: "ipfs"},
    outputSelection: {"Canteen.sol": {"Canteen": ["abi", "evm.bytecode.object"]}}
  }}' > "$tmp/in.json"
# solcjs may print a note line before the JSON: keep from the first "{" line on.
"$solcjs" --standard-json < "$tmp/in.json" | sed -n '/^{/,$p' > "$tmp/out.json"
if jq -e '[.errors[]? | select(.severity == "error")] | length > 0' "$tmp/out.json" >/dev/null; then
	jq -r '.errors[] | .formattedMessage' "$tmp/out.json" >&2
	exit 1
fi
jq '.contracts["Canteen.sol"].Canteen.abi' "$tmp/out.json" > "$tmp/Canteen.abi.json"
jq -r '.contracts["Canteen.sol"].Canteen.evm.bytecode.object' "$tmp/out.json" > "$tmp/Canteen.bin"
[ -s "$tmp/Canteen.bin" ] && [ "$(wc -c < "$tmp/Canteen.bin")" -gt 100 ] ||
	{ echo "compile.sh: no bytecode produced" >&2; exit 1; }
mv "$tmp/Canteen.abi.json" "$tmp/Canteen.bin" "$out/"
