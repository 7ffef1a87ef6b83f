# snapshot.jq: the first whole chain.sock snapshot in a stream of lines (read with jq -s):
# snapshot.begin, its node and service lines, snapshot.end, as one object
# {type: "snapshot", block, block_hash, seq, nodes, services}; nothing when there is none.
(map(.type) | index("snapshot.begin")) as $b
| (if $b == null then null else (.[$b:] | map(.type) | index("snapshot.end")) end) as $e
| if $b == null or $e == null then empty else
	.[$b] as $h | .[$b + $e] as $t | .[$b + 1:$b + $e] as $r
	| {type: "snapshot", block: $h.block, block_hash: $h.block_hash, seq: $t.seq,
	   nodes: [$r[] | select(.type == "node") | .node],
	   services: [$r[] | select(.type == "service") | .service]}
  end
