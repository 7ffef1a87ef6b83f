#!/usr/bin/env bash
# lint.sh: HACKING.md's banned functions, and a one-line purpose comment atop every C file.
cd "$(dirname "$0")/.." || exit 1
n=0
banned=$(grep -nE '(^|[^a-zA-Z0-9_])(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|strtok)[[:space:]]*\(' \
	common/*.[ch] cmd/*/*.[ch] 2>/dev/null)
n=$((n + 1))
if [ -z "$banned" ]; then echo "ok $n - no banned functions (sprintf strcpy strcat gets atoi strtok)"
else echo "not ok $n - banned functions used:"; echo "$banned" | sed 's/^/#   /'; fi
n=$((n + 1))
bad=""
for f in common/*.[ch] cmd/*/*.[ch]; do
	[ -f "$f" ] || continue
	head -n 1 "$f" | grep -qE '^/\* [^ ]+\.[ch]: ' || bad="$bad $f"
done
if [ -z "$bad" ]; then echo "ok $n - every C file opens with a one-line purpose comment"
else echo "not ok $n - files without a purpose line:$bad"; fi
n=$((n + 1))
if command -v mandoc >/dev/null; then
	out=$(mandoc -Tlint -Wwarning man/*.[1-8] 2>&1)
	if [ -z "$out" ]; then echo "ok $n - man pages are mandoc -Tlint clean ($(ls man/*.[1-8] | wc -l) pages)"
	else echo "not ok $n - mandoc -Tlint:"; echo "$out" | sed 's/^/#   /'; fi
else
	echo "ok $n # skip mandoc not installed"
fi
n=$((n + 1))
missing=""
for p in cmd/*/; do
	p=$(basename "$p")
	ls man/"$p".[1-8] >/dev/null 2>&1 || missing="$missing $p"
done
for p in canteen.conf.5 canteen-events.7; do [ -f man/$p ] || missing="$missing $p"; done
if [ -z "$missing" ]; then echo "ok $n - every program, the config file and the event schema have a man page"
else echo "not ok $n - missing man pages:$missing"; fi
n=$((n + 1))
# jq 1.6 exits 0 on no input at all: a test piping a daemon's answer into `jq -e` passes when
# the daemon did not answer. tests/lib/common.bash's jqe fails on no input (-s and -n read
# none as [] or null, which the expression then judges).
jqbad=$(grep -nE 'jq -e(r|c)* ' tests/*.bats tests/lib/*.bash 2>/dev/null | grep -vE 'jq -e(r|c)* -[sn]|^[^:]*:[0-9]+:[[:space:]]*#|printf .* \| jq -e "\$@"')
if [ -z "$jqbad" ]; then echo "ok $n - tests use jqe, not jq -e, on answers that may be missing"
else echo "not ok $n - jq -e in tests (use jqe):"; echo "$jqbad" | sed 's/^/#   /'; fi
echo "1..$n"
