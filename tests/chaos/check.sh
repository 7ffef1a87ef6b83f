#!/usr/bin/env bash
# check.sh: the chaos soak's judge: reads what soak.sh and probe.sh recorded in DIR and prints
# one JSON object (seed, faults by kind, availability, duplicate and orphan windows,
# convergence, PSS and descriptor growth, restarts, crashes) with a verdict against the bounds.
# usage: check.sh DIR   Bounds (env): CHAOS_DUP_S (10), CHAOS_ORPHAN_S (15), CHAOS_EXCL_S (10),
# CHAOS_CONV_S (30),
# CHAOS_PSS_KIB (1024), CHAOS_AVAIL_MULTI (0.999), CHAOS_AVAIL_SINGLE (0.99).
set -u
dir=$1
# pss: per kind of process (init, chainwatch, swim, sched, dockerd), the growth of PSS and of
# descriptors of each process that was watched for at least 30 s, from its first sample (20 s
# after it started, if it started during the soak) to its last; the largest of each kind.
pss() {
	jq -s '(map(.t) | min) as $t0 | group_by([.node, .name, .pid]) | map(
		(if .[0].t > $t0 then .[0].t + 20000 else $t0 end) as $from | map(select(.t >= $from))
		| select(length >= 2 and .[-1].t - .[0].t >= 30000)
		| {name: .[0].name, pss: (.[-1].pss - .[0].pss), fds: (.[-1].fds - .[0].fds),
		   s: ((.[-1].t - .[0].t) / 1000)})
		| group_by(.name) | map({key: .[0].name, value: {processes: length,
			pss_growth_kib_max: (map(.pss) | max), fd_growth_max: (map(.fds) | max),
			longest_watched_s: (map(.s) | max)}}) | from_entries' "$dir/pss.ndjson"
}

jq -s --slurpfile meta "$dir/meta.json" --slurpfile events "$dir/events.ndjson" \
	--argjson nodes "$(wc -l < "$dir/nodes.tsv")" --argjson pss "$(pss)" \
	--argjson dup_s "${CHAOS_DUP_S:-10}" --argjson orphan_s "${CHAOS_ORPHAN_S:-15}" \
	--argjson excl_s "${CHAOS_EXCL_S:-10}" \
	--argjson conv_s "${CHAOS_CONV_S:-30}" --argjson pss_kib "${CHAOS_PSS_KIB:-1024}" \
	--argjson a_multi "${CHAOS_AVAIL_MULTI:-0.999}" --argjson a_single "${CHAOS_AVAIL_SINGLE:-0.99}" '
# windows(f): the maximal runs of samples in which each key of f (an array of strings) is
# present: [{key, from, ms}]. A sample stands for the time to the next one, at most 2 s: when
# the observer itself stalls (an overloaded machine), what it did not see is not counted.
def windows(f):
  . as $all | length as $n
  | reduce range(0; $n) as $i ({open: {}, done: []};
      $all[$i] as $s
      | (if $i + 1 < $n then [$all[$i + 1].t - $s.t, 2000] | min else 1000 end) as $dt
      | ($s | f | unique) as $ks
      | .done += [.open | to_entries[] | select(.key as $k | $ks | index($k) | not)
                  | {key, from: .value.from, ms: .value.ms}]
      | .open = (reduce $ks[] as $k (.open | with_entries(select(.key as $k2 | $ks | index($k2)));
                 if .[$k] then .[$k].ms += $dt else .[$k] = {from: $s.t, ms: $dt} end)))
  | .done + [.open | to_entries[] | {key, from: .value.from, ms: .value.ms}];
# summary(t1; bound): the longest window, how many, and those longer than bound seconds
# (at_s: their start, in seconds after the faults began).
def summary($t1; bound): {max_s: ((map(.ms) | max // 0) / 1000), windows: length,
  beyond_bound: map(select(.ms > bound * 1000)) | map({key, at_s: ((.from - $t1) / 1000), s: (.ms / 1000)})};
# per sample: the nodes that are up and in the cluster (not killed, stopped or cut off).
def live: [range(1; $nodes + 1)] - .state.killed - .state.stopped - .state.cut;
def running: [range(1; $nodes + 1)] - .state.killed - .state.stopped;

$meta[0] as $m
| $events as $ev
| ($ev | map(select(.run == "start")) | .[0].t) as $t1
| ($ev | map(select(.run == "last_fault_healed")) | .[0].t) as $tl
| map(select(.t >= $t1)) as $s
| ($s[-1].desired | keys) as $svcs
| ($s | map(. as $x | {t, up: ($svcs | map(. as $n | {key: $n, value:
      (if $x.desired[$n].port != null then ($x.http[$n] // 0) == 1
       else any($x.c[]; .[0] == $n) end)}) | from_entries)})) as $av
| ($svcs | map(. as $n | {key: $n, value: {
      replicas: $s[-1].desired[$n].replicas, strategy: $s[-1].desired[$n].strategy,
      availability: (($av | map(select(.up[$n])) | length) / ($av | length)),
      longest_outage_s: ($av | windows(if .up[$n] then [] else ["down"] end) | map(.ms) | max // 0 | . / 1000)}})
    | from_entries) as $avail
| ($s | windows(live as $l | [.c[] | select(.[2] as $n | $l | index($n)) | "\(.[0]).\(.[1])"]
                 | group_by(.) | map(select(length > 1) | .[0]))) as $dups
| ($s | windows(running as $r | .desired as $d
                 | [.c[] | select((.[2] as $n | $r | index($n)) and
                                  ($d[.[0]] == null or .[1] >= $d[.[0]].replicas))
                    | "\(.[0]).\(.[1])@\(.[2])"])) as $orph
| ($s | windows(.state.cut as $cut | .desired as $d
                 | [.c[] | select((.[2] as $n | $cut | index($n)) and $d[.[0]].exclusive == true)
                    | "\(.[0]).\(.[1])@\(.[2])"])) as $excl
| ($s | windows(running as $r | .desired as $d
                 | [.c[] | select((.[2] as $n | $r | index($n)) and $d[.[0]] != null and
                                  .[3] < $d[.[0]].gen) | "\(.[0]).\(.[1])@\(.[2])"])) as $stale
| ($s | map(select((.state.killed | length) > 0)
            | [.c[] | select(.[0] == "chaos-batch")] | length)) as $batch_down
| {
    seed: $m.seed, duration_s: $m.duration_s, samples: ($s | length), nodes: $nodes,
    observer_max_gap_s: (([range(1; $s | length) as $i | $s[$i].t - $s[$i - 1].t] | max // 0) / 1000),
    timings: $m.timings,
    node_kill: "SIGKILL of canteen-init and its daemons, and docker kill of the node'"'"'s containers (every node shares one dockerd)",
    faults: ($ev | map(select(.start) | .start) | group_by(.) | map({key: .[0], value: length})
             | from_entries),
    availability: ($avail | map_values(.availability)),
    availability_min: {multi: ([$avail[] | select(.replicas >= 2) | .availability] | min),
                       single: ([$avail[] | select(.replicas < 2) | .availability] | min),
                       spread_multi: ([$avail[] | select(.replicas >= 2 and .strategy == "spread")
                                       | .availability] | min)},
    longest_outage_s: ($avail | map_values(.longest_outage_s)),
    outages: ([$svcs[] as $n | $av | windows(if .up[$n] then [] else [$n] end)[]
               | {service: .key, at_s: ((.from - $t1) / 1000), s: (.ms / 1000)}] | sort_by(.at_s)),
    duplicates: ($dups | summary($t1; $dup_s)),
    orphans: ($orph | summary($t1; $orphan_s)),
    exclusive_on_cut_node: ($excl | summary($t1; $excl_s)),
    stale_generation_max_s: (($stale | map(.ms) | max // 0) / 1000),
    eviction: {service: "chaos-batch", desired: $s[-1].desired["chaos-batch"].replicas,
               min_running_with_a_node_killed: ($batch_down | min)},
    convergence_s: (if $m.convergence_ms == null then null else $m.convergence_ms / 1000 end),
    daemons: $pss,
    init_restarts: $m.init_restarts, daemon_kills: ($ev | map(select(.start == "daemon_kill")) | length),
    unexpected_exits: $m.unexpected_exits, sanitizer_reports: $m.sanitizer_reports,
    core_dumps: $m.core_dumps, chain_restart_failures: $m.chain_restart_failures,
    bounds: {availability_multi: $a_multi, availability_single: $a_single, duplicate_s: $dup_s,
             orphan_s: $orphan_s, exclusive_s: $excl_s, convergence_s: $conv_s, pss_growth_kib: $pss_kib}
  }
| .verdict = ([
    (if .availability_min.multi < $a_multi then "availability of a service with >= 2 replicas below \($a_multi)" else empty end),
    (if (.availability_min.single // 1) < $a_single then "availability of a single-replica service below \($a_single)" else empty end),
    (if (.duplicates.beyond_bound | length) > 0 then "duplicates beyond \($dup_s) s" else empty end),
    (if (.orphans.beyond_bound | length) > 0 then "orphans beyond \($orphan_s) s" else empty end),
    (if (.exclusive_on_cut_node.beyond_bound | length) > 0 then "an exclusive service ran on a cut-off node beyond \($excl_s) s" else empty end),
    (if .convergence_s == null or .convergence_s > $conv_s then "not exact within \($conv_s) s of the last fault" else empty end),
    (if ([.daemons[] | .pss_growth_kib_max] | max // 0) >= $pss_kib then "a daemon grew by \($pss_kib) KiB or more" else empty end),
    (if (.unexpected_exits | length) > 0 then "a daemon exited by itself" else empty end),
    (if .sanitizer_reports > 0 then "sanitizer reports" else empty end),
    (if .core_dumps > 0 then "core dumps" else empty end),
    (if .chain_restart_failures > 0 then "the soak could not restart the chain" else empty end),
    (if .observer_max_gap_s > 5 then "the observer stalled for more than 5 s (an overloaded machine): this run proves nothing" else empty end)
  ] | if length == 0 then "pass" else . end)
' "$dir/samples.ndjson" | jq -c .
