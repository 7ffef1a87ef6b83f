#!/usr/bin/env bash
# deps.sh: install what canteen's build, tests and local cluster need, when missing.
# Debian/Ubuntu: apt-get + npm (pinned by tests/node/package-lock.json). Elsewhere: say what
# is missing and stop.  Usage: tests/deps.sh [--check]   (--check: report only)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
check_only=0
[ "${1:-}" = "--check" ] && check_only=1

apt_pkgs=(build-essential pkg-config libcurl4-openssl-dev libjansson-dev libsodium-dev
	libsecp256k1-dev bats busybox-static docker.io iproute2 iptables jq curl mandoc clang
	nodejs npm prometheus prometheus-node-exporter)
# prometheus and prometheus-node-exporter: metrics.bats checks canteen metrics with promtool
# (no smaller package ships it; about 100 MB installed) and reads it back through node_exporter.
# On a systemd host the packages also enable their services (ports 9090 and 9100); tests start
# their own node_exporter and need neither: systemctl disable --now them if unwanted.

missing=()
for p in "${apt_pkgs[@]}"; do
	# nodejs/npm may come from elsewhere: accept the commands.
	case $p in
	nodejs) command -v node >/dev/null && continue ;;
	npm) command -v npm >/dev/null && continue ;;
	esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ $check_only = 1 ]; then
		echo "missing packages: ${missing[*]}"; exit 1
	fi
	if ! command -v apt-get >/dev/null; then
		echo "deps.sh: this is not a Debian/Ubuntu system; install the equivalents of: ${missing[*]}" >&2
		echo "deps.sh: and anvil/cast (Foundry 1.7.1), solc 0.8.28 and hardhat 2.29.1 via npm in tests/node" >&2
		exit 1
	fi
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	echo "deps.sh: installing ${missing[*]}"
	$sudo apt-get update -qq || exit 1
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		>/dev/null || { echo "deps.sh: apt-get install failed" >&2; exit 1; }
fi

nm=$top/tests/node/node_modules
if [ ! -x "$nm/.bin/anvil" ] || [ ! -x "$nm/.bin/cast" ] || [ ! -e "$nm/solc/package.json" ] ||
	[ ! -e "$nm/hardhat/package.json" ]; then
	[ $check_only = 1 ] && { echo "missing npm tools (anvil, cast, solc, hardhat) in tests/node"; exit 1; }
	echo "deps.sh: installing anvil, cast, solc and hardhat (tests/node/package-lock.json)"
	# npm install, not npm ci: this npm writes lock files holding only this platform's optional
	# packages, which its own "npm ci" then refuses as out of sync.  --no-save keeps the lock
	# file as committed; the versions are exact pins either way.
	log=$(mktemp)
	if ! (cd "$top/tests/node" && npm install --no-save --no-audit --no-fund >"$log" 2>&1); then
		tail -n 20 "$log" >&2; rm -f "$log"
		echo "deps.sh: npm install in tests/node failed" >&2; exit 1
	fi
	rm -f "$log"
fi
"$nm/.bin/anvil" --version >/dev/null 2>&1 || { echo "deps.sh: anvil does not run" >&2; exit 1; }
exit 0
