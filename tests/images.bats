#!/usr/bin/env bats
# images.bats: images from peers on isolated hosts (own dockerd each, no registry reachable):
# a node lacking a service's image fetches it over the channel from a peer that holds it,
# an image pinned by ID is checked after the load and a peer that served a wrong one avoided.
# needs: docker

load lib/common
load lib/cluster
load lib/isolated

setup_file() {
	load lib/common
	load lib/cluster
	load lib/isolated
	# Test mode of canteen-dockerd: "NODE REF" here makes NODE serve REF whatever it is asked.
	export CANTEEN_TEST_WRONG_IMAGE_FILE=$BATS_FILE_TMPDIR/wrong-image
	up_isolated 3
}

teardown_file() {
	load lib/common
	load lib/cluster
	load lib/isolated
	[ -f "$BATS_FILE_TMPDIR/up/up.json" ] || return 0
	iso_env
	"$BIN/canteen" down > "$BATS_FILE_TMPDIR/down.log" 2>&1
}

setup() {
	iso_env
}

teardown() {
	rm -f "$CANTEEN_TEST_WRONG_IMAGE_FILE"
}

# mkimage I NAME MARK: a new image NAME on node I's dockerd only, its own ID (a file MARK in it).
mkimage() {
	dk "$1" rm -f mk >/dev/null 2>&1 || true
	dk "$1" run --name mk canteen/demo:1 /bin/busybox sh -c "echo $3 > /mark" >/dev/null
	dk "$1" commit mk "$2" >/dev/null
	dk "$1" rm -f mk >/dev/null
}

@test "images: an image only node 1 holds: nodes 2 and 3 fetch it from node 1 and all 3 replicas run" {
	mkimage 1 canteen-img/only1:1 only1
	for i in 2 3; do ! dk "$i" image inspect canteen-img/only1:1 >/dev/null 2>&1; done
	# A published port: one replica per node.
	cli service deploy only1 --image canteen-img/only1:1 --replicas 3 --cpu 50m --mem 16M \
		--port 8082:80 -- /bin/busybox httpd -f -p 80 -h /www
	wait_until 120 bash -c '[ "$(running_set only1 | wc -l)" -eq 3 ]'
	id=$(dk 1 image inspect -f '{{.Id}}' canteen-img/only1:1)
	for i in 2 3; do
		[ "$(dk "$i" image inspect -f '{{.Id}}' canteen-img/only1:1)" = "$id" ]
		grep -q "pulled canteen-img/only1:1" "$UP/node$i/node.log"
	done
	cli service rm only1
	wait_until 60 bash -c '[ -z "$(running_set only1)" ]'
}

# node_of ADDRESS: the index (1..3) of the node with that address.
node_of() {
	local i
	for i in 1 2 3; do [ "$(node_addr "$i")" != "$1" ] || { echo "$i"; return 0; }; done
	return 1
}

# Before the digest test: the peer that test serves a wrong image from is avoided for 10
# minutes afterwards, and this test needs every survivor as a source.
@test "images: failover of a service whose image no survivor had: pending with Docker's pull error while no live peer holds it, then the replacement's image comes from the peer that has it" {
	for i in 1 2 3; do mkimage "$i" canteen-img/fo:1 "fo$i"; done
	cli service deploy imgfo --image canteen-img/fo:1 --replicas 1 --cpu 50m --mem 16M -- /bin/busybox sleep 100000
	wait_until 60 bash -c '[ "$(running_set imgfo | wc -l)" -eq 1 ]'
	r=$(node_of "$(running_set imgfo | cut -d' ' -f2)")
	# Only the server that runs it keeps the image.
	for i in 1 2 3; do [ "$i" = "$r" ] || dk "$i" rmi canteen-img/fo:1 > /dev/null; done
	kill_node "$r"
	# The replacement: placed on a survivor f that lacks the image; no live peer holds it and
	# no registry answers, so it is pending with the pull's real reason.
	live=1; [ "$r" != 1 ] || live=2
	wait_until 60 bash -c "[ -n \"\$(placed_set $live imgfo | grep -v $(node_addr "$r"))\" ]"
	f=$(node_of "$(placed_set "$live" imgfo | cut -d' ' -f2)")
	[ "$f" != "$r" ]
	reason() {
		at "$f" --json ps | jq -r --arg n "$(node_addr "$f")" \
			'select(.service == "imgfo" and .node == $n) | "\(.state) \(.reason)"'
	}
	export f
	wait_until 60 bash -c "$(declare -f reason node_addr node_run at); reason | grep -q '^pending pull of canteen-img/fo:1 failed: '"
	echo "reason: $(reason)"
	[ -z "$(running_set imgfo)" ]
	# The other survivor gets the image (and says so in its metadata): f fetches it from there.
	s=$((6 - r - f))
	mkimage "$s" canteen-img/fo:1 "fo-late"
	id=$(dk "$s" image inspect -f '{{.Id}}' canteen-img/fo:1)
	wait_until 120 bash -c '[ "$(running_set imgfo | wc -l)" -eq 1 ]' ||
		{ grep -h 'canteen-img/fo\|asking\|peer' "$UP/node$f/node.log" | tail -40; grep -h 'canteen-img/fo' "$UP/node$s/node.log"; false; }
	[ "$(node_of "$(running_set imgfo | cut -d' ' -f2)")" = "$f" ]
	[ "$(dk "$f" image inspect -f '{{.Id}}' canteen-img/fo:1)" = "$id" ]
	grep -q "image canteen-img/fo:1: serving it to a peer" "$UP/node$s/node.log"
	grep -q "pulled canteen-img/fo:1" "$UP/node$f/node.log"
	# The killed server boots again for the tests below (they need all three).
	cli service rm imgfo
	restart_node "$r"
	wait_until 60 bash -c "[ \"\$(member_state 1 $r)\" = alive ] && [ \"\$(member_state $r 1)\" = alive ]"
	wait_until 60 bash -c '[ -z "$(running_set imgfo)" ]'
}

@test "images: a peer serving another image for a pinned ID is rejected by the digest check, avoided, and the image comes from another peer" {
	mkimage 2 canteen-img/pin:1 pinned
	mkimage 2 canteen-img/evil:1 evil
	id=$(dk 2 image inspect -f '{{.Id}}' canteen-img/pin:1)
	# Node 2 holds the pinned image but answers with another one.
	echo "$(node_addr 2) canteen-img/evil:1" > "$CANTEEN_TEST_WRONG_IMAGE_FILE"
	cli service deploy pin --image "$id" --replicas 3 --cpu 50m --mem 16M \
		--port 8083:80 -- /bin/busybox httpd -f -p 80 -h /www
	# Nodes 1 and 3 load what node 2 sent, find it is not the ID asked for, and remove it.
	for i in 1 3; do
		wait_until 60 grep -qi "image $id from $(node_addr 2): the loaded image is not the one asked for" "$UP/node$i/node.log"
		wait_until 30 bash -c "! dk $i image inspect canteen-img/evil:1 >/dev/null 2>&1"
		! dk "$i" image inspect "$id" >/dev/null 2>&1
	done
	# Only node 2's replica runs (node 2 may still be starting it).
	wait_until 60 bash -c "running_set pin | grep -qi '$(node_addr 2)'"
	echo "running: $(running_set pin)"
	! running_set pin | grep -qi "$(node_addr 1)"
	! running_set pin | grep -qi "$(node_addr 3)"
	# Node 1 gets the true image by other means; node 3 then fetches it from node 1, not node 2.
	dk 2 save canteen-img/pin:1 | dk 1 load >/dev/null
	# (Each node asks again after its back-off, up to 60 s.)
	wait_until 180 bash -c '[ "$(running_set pin | wc -l)" -eq 3 ]'
	[ "$(dk 3 image inspect -f '{{.Id}}' "$id")" = "$id" ]
	! dk 3 image inspect canteen-img/evil:1 >/dev/null 2>&1
	grep -qi "image $id: peer $(node_addr 2) avoided" "$UP/node3/node.log"
	rm -f "$CANTEEN_TEST_WRONG_IMAGE_FILE"
	cli service rm pin
	wait_until 60 bash -c '[ -z "$(running_set pin)" ]'
}

# probe_image MODE I [FLAGS...]: chan_probe asking node I's channel for an image, from the lab.
probe_image() {
	local m=$1 i=$2 port; shift 2
	port=$(sed -n 's/^swim_bind *= *.*:\([0-9]*\)$/\1/p' "$UP/node$i/canteen.conf")
	[ -n "$port" ] || port=7946
	in_ns "$TBIN/chan_probe" "$m" --endpoint "$(jq -r ".nodes[$((i - 1))].ip" "$UP/up.json"):$port" \
		--peer "$(node_addr "$i")" --peer-key "$("$TBIN/swim_tool" pubkey "$UP/node$i/swim.key")" "$@"
}

@test "images: an admitted member gets an image's export over the channel; a stranger is refused before its request is read" {
	# Node 1's identity: node 2 streams Docker's export of the demo image (a tar with its manifest).
	probe_image logs 2 --self "$(node_addr 1)" --key "$UP/node1/swim.key" --image canteen/demo:1 \
		> "$BATS_TEST_TMPDIR/demo.tar"
	tar -tf "$BATS_TEST_TMPDIR/demo.tar" | grep -qx manifest.json
	# An image node 2 lacks: an end with Docker's error, nothing else.
	run probe_image logs 2 --self "$(node_addr 1)" --key "$UP/node1/swim.key" --image canteen-img/none:1
	[ "$status" -eq 1 ]
	[[ "$output" == *'"error"'* ]]
	# A stranger: a fresh key and an address the chain never admitted.
	"$BIN/canteen" node keygen --swim-key "$BATS_TEST_TMPDIR/stranger" > /dev/null
	served=$(grep -c "serving it to a peer" "$UP/node2/node.log")
	run probe_image refused 2 --self 0x00000000000000000000000000000000000000aa \
		--key "$BATS_TEST_TMPDIR/stranger" --image canteen/demo:1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == refused* ]]
	wait_until 10 grep -qi "channel from 0x0*aa refused or failed: not an admitted server" "$UP/node2/node.log"
	[ "$(grep -c "serving it to a peer" "$UP/node2/node.log")" -eq "$served" ]
}

@test "images: canteen images says which server holds which image, over every admitted server; bad requests change nothing" {
	mkimage 3 canteen-img/census:1 census
	run cli --json images canteen-img/census:1 canteen/demo:1
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" -eq 3 ]
	for i in 1 2 3; do
		held=$(echo "$output" | jq -r --arg n "$(node_addr "$i" | tr A-F a-f)" \
			'select((.node | ascii_downcase) == $n) | .images | sort | join(",")')
		if [ "$i" -eq 3 ]; then [ "$held" = "canteen-img/census:1,canteen/demo:1" ]
		else [ "$held" = "canteen/demo:1" ]; fi
	done
	# Without arguments: the images of the contract's services (web's demo image), as a table.
	run cli images
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^canteen/demo:1 ')" -eq 1 ]
	[ "$(echo "$output" | grep '^canteen/demo:1 ' | grep -o '0x' | wc -l)" -eq 3 ]
	# A reference that is not one is refused by the CLI; malformed requests by canteen-dockerd.
	run cli images 'not an image!'
	[ "$status" -eq 2 ]
	sock=$(node_run 1)/dockerd.sock
	for bad in '{"op":"images","images":"x"}' '{"op":"images","images":[1]}' \
		'{"op":"images"}' "{\"op\":\"images\",\"images\":[$(printf '"a:%s",' $(seq 1 70))\"a:0\"]}"; do
		run "$TBIN/ipc_tool" request "$sock" "$bad"
		echo "$bad -> $output"
		[[ "$output" == *'"error"'* ]]
	done
	# canteen-dockerd still answers.
	run cli --json images canteen/demo:1
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" -eq 3 ]
}


# dockerd_of I: the pid of node I's canteen-dockerd.
dockerd_of() {
	local p
	for p in $(iso_procs "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" != canteen-dockerd ] || { echo "$p"; return 0; }
	done
	return 1
}
export -f dockerd_of

# saves I SINCE: the exports (image saves) node I's Docker made since SINCE (seconds).
saves() {
	dk "$1" events --since "$2" --until "$(date +%s.%N)" --filter type=image \
		--filter event=save --format '{{.Actor.ID}}' | grep -c . || true
}

@test "images: peers asking for an image at once share one export of Docker's, each gets it whole" {
	# 32 MiB of random bytes on node 1: Docker's save prepares the archive before its first
	# byte, so two requests arriving together both come before it.
	dk 1 rm -f mk >/dev/null 2>&1 || true
	dk 1 run --name mk canteen/demo:1 /bin/busybox sh -c 'dd if=/dev/urandom of=/big bs=1M count=32 2>/dev/null'
	dk 1 commit mk canteen-img/share:1 >/dev/null
	dk 1 rm -f mk >/dev/null
	# Nodes 2 and 3's identities ask node 1 at once (again, up to 3 times, should one of them
	# come after the export's first byte: it is then an export of its own).
	shared=0
	for try in 1 2 3; do
		t0=$(date +%s.%N)
		pids=()
		for i in 2 3; do
			probe_image logs 1 --self "$(node_addr "$i")" --key "$UP/node$i/swim.key" \
				--image canteen-img/share:1 > "$BATS_TEST_TMPDIR/share$i.tar" 2> "$BATS_TEST_TMPDIR/share$i.err" &
			pids+=($!)
		done
		r2=0 r3=0
		wait "${pids[0]}" || r2=$?
		wait "${pids[1]}" || r3=$?
		cat "$BATS_TEST_TMPDIR"/share*.err
		# Each whole, neither refused as busy.
		[ "$r2" -eq 0 ]
		[ "$r3" -eq 0 ]
		for i in 2 3; do tar -tf "$BATS_TEST_TMPDIR/share$i.tar" | grep -qx manifest.json; done
		cmp "$BATS_TEST_TMPDIR/share2.tar" "$BATS_TEST_TMPDIR/share3.tar"
		n=$(saves 1 "$t0")
		echo "try $try: $n export(s) by Docker for 2 peers"
		[ "$n" -ge 1 ]
		if [ "$n" -eq 1 ]; then shared=1; break; fi
	done
	[ "$shared" -eq 1 ]
	grep -q "image canteen-img/share:1: serving it to a peer (sharing an export under way)" "$UP/node1/node.log"
	dk 1 rmi canteen-img/share:1 >/dev/null
}

@test "images: image_upload_kib_s caps what a server sends to its peers" {
	# A 4 MiB image of random bytes (no compression helps) on node 1.
	dk 1 rm -f mk >/dev/null 2>&1 || true
	dk 1 run --name mk canteen/demo:1 /bin/busybox sh -c 'dd if=/dev/urandom of=/big bs=1024 count=4096 2>/dev/null'
	dk 1 commit mk canteen-img/big:1 >/dev/null
	dk 1 rm -f mk >/dev/null
	# Node 2's identity fetches node 1's export over the channel, uncapped, then capped.
	fetch() {
		local t0 ms
		t0=$(now_ms)
		probe_image logs 1 --self "$(node_addr 2)" --key "$UP/node2/swim.key" --image canteen-img/big:1 \
			> "$BATS_TEST_TMPDIR/big.tar" || return 1
		ms=$(( $(now_ms) - t0 ))
		tar -tf "$BATS_TEST_TMPDIR/big.tar" | grep -qx manifest.json || return 1
		echo "$ms"
	}
	free_ms=$(fetch)
	size=$(stat -c %s "$BATS_TEST_TMPDIR/big.tar")
	# Node 1's canteen-dockerd again with a cap of 1 MiB/s (canteen-init restarts it).
	echo "image_upload_kib_s = 1024" >> "$UP/node1/canteen.conf"
	old=$(dockerd_of 1)
	kill -KILL "$old"
	wait_until 30 bash -c "p=\$(dockerd_of 1) && [ \"\$p\" != $old ]"
	wait_until 30 sock_request "$(node_run 1)/dockerd.sock" '{"op":"stats"}'
	wait_until 30 fetch > /dev/null # its channel listens again
	capped_ms=$(fetch)
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/big.tar")" -eq "$size" ]
	# At most 1 MiB/s after a quarter second's burst.
	min=$(( (size - 256 * 1024) * 1000 / (1024 * 1024) ))
	echo "# an export of $size bytes: $free_ms ms uncapped, $capped_ms ms at 1024 KiB/s (no less than $min ms allowed)" >&3
	[ "$capped_ms" -ge "$min" ]
	[ "$capped_ms" -le $(( min * 2 + 3000 )) ]
	[ "$free_ms" -lt "$min" ]
}

@test "images: a holder with no upload slot free is asked again soon, never given up for the registry" {
	# After the cap test: node 1 holds canteen-img/big:1 (4 MiB) and sends 1 MiB/s. With one
	# upload slot, held by a reader that stopped after the first byte, nodes 2 and 3 hear
	# "too many image uploads" and ask the peers again every 250 ms until node 1 (released)
	# or the node that has loaded meanwhile serves it. No pull counts as failed on the way
	# (the code before gave up on the peers, tried the registry and backed off).
	dk 1 image inspect canteen-img/big:1 > /dev/null
	for i in 2 3; do ! dk "$i" image inspect canteen-img/big:1 > /dev/null 2>&1; done
	echo "image_uploads = 1" >> "$UP/node1/canteen.conf"
	old=$(dockerd_of 1)
	kill -KILL "$old"
	wait_until 30 bash -c "p=\$(dockerd_of 1) && [ \"\$p\" != $old ]"
	wait_until 30 sock_request "$(node_run 1)/dockerd.sock" '{"op":"stats"}'
	wait_until 30 eval 'probe_image logs 1 --self "$(node_addr 2)" --key "$UP/node2/swim.key" --image canteen/demo:1 > /dev/null'
	for i in 2 3; do wc -l < "$UP/node$i/node.log" > "$BATS_TEST_TMPDIR/from$i"; done
	since() { tail -n +"$(( $(cat "$BATS_TEST_TMPDIR/from$1") + 1 ))" "$UP/node$1/node.log"; }
	# The slot is taken first: a reader that stops after the export's first byte (until
	# released) holds it. Requests after that first byte cannot share that export.
	d=$BATS_TEST_TMPDIR
	probe_image logs 1 --self "$(node_addr 3)" --key "$UP/node3/swim.key" --image canteen-img/big:1 |
		bash -c "head -c 1 > $d/first; until [ -e $d/release ]; do sleep 0.1; done; cat > /dev/null" &
	holder=$!
	wait_until 30 test -s "$d/first"
	cli service deploy big --image canteen-img/big:1 --replicas 3 --cpu 50m --mem 16M \
		--port 8083:80 -- /bin/busybox httpd -f -p 80 -h /www
	wait_until 60 bash -c "$(declare -f since); since 2 | cat - <(since 3) | grep -q 'too many image uploads at once'"
	touch "$d/release"
	wait "$holder" || true
	wait_until 120 bash -c '[ "$(running_set big | wc -l)" -eq 3 ]'
	for i in 2 3; do since "$i" | grep -E "big:1|uploads" || true; done
	# someone was told node 1 was busy, and nobody counted a failed pull
	since 2 | cat - <(since 3) | grep -q "too many image uploads at once"
	! since 2 | cat - <(since 3) | grep -q "pull of canteen-img/big:1 failed"
	for i in 2 3; do since "$i" | grep -q "pulled canteen-img/big:1"; done
	cli service rm big
	wait_until 60 bash -c '[ -z "$(running_set big)" ]'
}
