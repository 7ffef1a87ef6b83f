#!/usr/bin/env bash
# run.sh: run every test of make check (lint, C unit tests, fuzz replays, bats files),
# print TAP as it goes and end with exactly one line "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export CANTEEN_BIN=${CANTEEN_BIN:-$top/bin}
export CANTEEN_TBIN=${CANTEEN_TBIN:-$top/build/tests}
export PATH="$CANTEEN_BIN:$top/tests/node/node_modules/.bin:$PATH"
filter=${T:-}
passed=0 failed=0 skipped=0
log=$(mktemp -d)
trap 'tests/lib/services.sh stop-started >/dev/null 2>&1; rm -rf "$log"' EXIT

matches() { [ -z "$filter" ] || [[ "$1" == *"$filter"* ]]; }

# count FILE EXIT NAME: add a TAP stream's results; a non-zero exit or a missing plan
# with no failure reported counts as one failure.
count() {
	local f=$1 rc=$2 name=$3 p f_ s plan
	p=$(grep -Ec '^ok ' "$f" || true)
	s=$(grep -Eic '^ok .*# skip' "$f" || true)
	f_=$(grep -Ec '^not ok ' "$f" || true)
	plan=$(grep -Ec '^1\.\.[0-9]+' "$f" || true)
	passed=$((passed + p - s)); skipped=$((skipped + s)); failed=$((failed + f_))
	if { [ "$rc" -ne 0 ] || [ "$plan" -eq 0 ]; } && [ "$f_" -eq 0 ]; then
		echo "not ok - $name exited $rc (plan lines: $plan)"
		failed=$((failed + 1))
	fi
}

run_tap() {
	local name=$1; shift
	echo "# $name"
	"$@" > "$log/out" 2>&1
	local rc=$?
	cat "$log/out"
	count "$log/out" "$rc" "$name"
}

if matches lint; then run_tap lint tests/lint.sh; fi

for t in "$CANTEEN_TBIN"/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	matches "$n" || continue
	run_tap "$n" "$t"
done

for t in "$CANTEEN_TBIN"/fuzz_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t"); c=tests/fuzz/corpus/${n#fuzz_}
	matches "$n" || continue
	files=(); [ -d "$c" ] && files=("$c"/*)
	iters=20000; [ -n "${SAN:-}" ] && iters=5000
	run_tap "$n" "$t" -n "$iters" "${files[@]}"
done

bats_files=()
for b in tests/*.bats; do
	[ -f "$b" ] || continue
	matches "$(basename "$b")" || continue
	bats_files+=("$b")
done
if [ ${#bats_files[@]} -gt 0 ]; then
	if grep -l '^# needs: docker' "${bats_files[@]}" >/dev/null 2>&1; then
		tests/lib/services.sh ensure-dockerd || { echo "not ok - dockerd could not be started"; failed=$((failed + 1)); }
	fi
	for b in "${bats_files[@]}"; do
		run_tap "$(basename "$b")" bats --tap "$b"
	done
fi

if [ -n "$filter" ] && [ $((passed + failed + skipped)) -eq 0 ]; then
	echo "no test matched T=$filter"
	failed=$((failed + 1))
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
