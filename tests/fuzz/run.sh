#!/usr/bin/env bash
# run.sh: run every libFuzzer target of build/fuzz one after the other (what `make fuzz` runs) and
# record each one's executions in bench/fuzz.tsv.
#   FUZZ_TIME=s   seconds per target (default 10)   FUZZ_RUNS=n  stop a target after n executions
#   FUZZ_ONLY=x   only targets whose name contains x   FUZZ_TARGETS="a b"  only these names
# New inputs go to a scratch directory, never into the checked-in corpus. A crash fails the
# run; its input is kept as tests/fuzz/corpus/<name>/crash-<sha1> (a regression input that
# make check replays) and the target's line in bench/fuzz.tsv counts it.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
dir=${FUZZ_DIR:-build/fuzz}
time_s=${FUZZ_TIME:-10}
runs=${FUZZ_RUNS:--1}
only=${FUZZ_ONLY:-}
tsv=bench/fuzz.tsv
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
[ -f "$tsv" ] || printf 'target\texecutions\tseconds\texec_per_s\tcrashes\tedges\tdate\n' > "$tsv"
failed=0
for t in "$dir"/fuzz_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t"); name=${n#fuzz_}
	[ -z "$only" ] || [[ "$n" == *"$only"* ]] || continue
	[ -z "${FUZZ_TARGETS:-}" ] || [[ " $FUZZ_TARGETS " == *" $name "* ]] || continue
	mkdir -p "$scratch/$name" "$scratch/art-$name"
	corpus=tests/fuzz/corpus/$name; [ -d "$corpus" ] || corpus=
	start=$(date +%s)
	"$t" -max_total_time="$time_s" -runs="$runs" -print_final_stats=1 \
		-artifact_prefix="$scratch/art-$name/" "$scratch/$name" $corpus > "$scratch/$name.log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start )); [ "$secs" -gt 0 ] || secs=1
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$name.log" | tail -n1)
	edges=$(grep -o 'cov: [0-9]*' "$scratch/$name.log" | tail -n1 | cut -d' ' -f2)
	crashes=0
	for a in "$scratch/art-$name"/*; do
		[ -f "$a" ] || continue
		# slow-unit-*: an input that took long (-report_slow_units), not a failure: a run
		# stopped for a while (SIGSTOP, a suspended machine) reports the unit it was in.
		case $(basename "$a") in slow-unit-*) continue ;; esac
		crashes=$((crashes + 1))
		mkdir -p "tests/fuzz/corpus/$name"
		cp "$a" "tests/fuzz/corpus/$name/crash-$(sha1sum "$a" | cut -c1-16)"
	done
	[ "$rc" -eq 0 ] || [ "$crashes" -gt 0 ] || crashes=1
	# One line per target: the latest replaces the previous.
	grep -v "^$name	" "$tsv" > "$tsv.new"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${execs:-0}" "$secs" $(( ${execs:-0} / secs )) \
		"$crashes" "${edges:-0}" "$(date -u +%Y-%m-%dT%H:%MZ)" >> "$tsv.new"
	mv "$tsv.new" "$tsv"
	echo "fuzz_$name: ${execs:-0} executions in ${secs}s, ${edges:-0} edges, $crashes crashes"
	if [ "$crashes" -gt 0 ]; then
		failed=1
		grep -E 'ERROR|SUMMARY' "$scratch/$name.log" | head -n 5
	fi
done
exit "$failed"
