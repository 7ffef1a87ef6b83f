#!/usr/bin/env bash
# probe.sh: the chaos soak's outside observer: once a second, Docker's own view of the
# cluster's containers and one HTTP probe per published service, one NDJSON line each; every
# 10 s the PSS and descriptors of each canteen process of the cluster.
# usage: probe.sh DIR   (DIR holds nodes.tsv, state.json, desired.json and up/, canteen up's
# directory; appends samples.ndjson and pss.ndjson)
# Stops when DIR/probe.stop exists. Needs nothing of canteen: docker, curl and the files the
# driver writes (the fault state and the admin's desired services).
set -u
dir=$1
declare -A ipof idxof
while read -r i ip addr; do
	ipof[$i]=$ip
	idxof[$addr]=$i
done < "$dir/nodes.tsv"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# http_ok PORT NODE...: 1 if one of the nodes answers 200 on PORT (tried in turn, 1 s each).
http_ok() {
	local port=$1 n; shift
	for n in "$@"; do
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://${ipof[$n]}:$port/")" = 200 ] &&
			{ echo 1; return; }
	done
	echo 0
}

# pss T: one line per canteen-init and daemon of this cluster: node, name, pid, PSS (KiB from
# /proc/PID/smaps_rollup) and open descriptors.
pss() {
	local pid argv0 rest node kib
	while read -r pid argv0 rest; do
		case $argv0 in */canteen-*) ;; *) continue ;; esac
		[[ $rest =~ /node([0-9]+)/ ]] || continue
		node=${BASH_REMATCH[1]}
		kib=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null) && [ -n "$kib" ] || continue
		printf '{"t":%s,"node":%s,"name":"%s","pid":%s,"pss":%s,"fds":%s}\n' "$1" "$node" \
			"${argv0##*/canteen-}" "$pid" "$kib" "$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)"
	done < <(pgrep -af "$dir/up/node") >> "$dir/pss.ndjson"
}

tick=0
while [ ! -e "$dir/probe.stop" ]; do
	t0=$(now_ms)
	# Memory and descriptors every 10 s.
	[ $((tick++ % 10)) -ne 0 ] || pss "$t0"
	state=$(cat "$dir/state.json")
	desired=$(cat "$dir/desired.json")
	# One docker ps for every canteen container; only those of this cluster's nodes count.
	cs="" ; declare -A on=()
	while read -r svc rep node gen; do
		[ -n "${idxof[$node]:-}" ] || continue
		n=${idxof[$node]}
		cs+="${cs:+,}[\"$svc\",$rep,$n,$gen]"
		on[$svc]+=" $n"
	done < <(timeout 10 docker ps --filter label=io.canteen.service --format \
		'{{.Label "io.canteen.service"}} {{.Label "io.canteen.replica"}} {{.Label "io.canteen.node"}} {{.Label "io.canteen.generation"}}' 2>/dev/null)
	hs=""
	while read -r svc port; do
		ok=0
		# shellcheck disable=SC2086 # a list of node numbers
		[ -z "${on[$svc]:-}" ] || ok=$(http_ok "$port" ${on[$svc]})
		hs+="${hs:+,}\"$svc\":$ok"
	done < <(jq -r 'to_entries[] | select(.value.port != null) | "\(.key) \(.value.port)"' <<< "$desired")
	unset on
	printf '{"t":%s,"state":%s,"desired":%s,"c":[%s],"http":{%s}}\n' "$t0" "$state" "$desired" "$cs" "$hs" \
		>> "$dir/samples.ndjson"
	left=$(( 1000 - ($(now_ms) - t0) ))
	[ "$left" -le 0 ] || sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
done
