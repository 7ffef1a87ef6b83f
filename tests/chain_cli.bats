#!/usr/bin/env bats
# chain_cli.bats: the canteen CLI's chain commands against a fresh anvil: deploy the contract,
# register and approve nodes, deploy/scale/update/remove a service, refusals and usage errors.

load lib/common
load lib/anvil

setup_file() {
	start_anvil
	export CANTEEN_RPC=$ANVIL_URL
	# No canteen.conf from the host may leak in.
	export CANTEEN_KEY_FILE=$ANVIL_KEYS/key0
}

teardown_file() { stop_anvil; }

setup() {
	export CANTEEN_RPC=$ANVIL_URL CANTEEN_KEY_FILE=$ANVIL_KEYS/key0
	[ -f "$BATS_FILE_TMPDIR/contract" ] && export CANTEEN_CONTRACT=$(cat "$BATS_FILE_TMPDIR/contract")
	return 0
}

teardown() { stop_started; }

ct() { canteen -c /dev/null "$@"; }
PK1=1111111111111111111111111111111111111111111111111111111111111111

@test "contract deploy prints the address of deployed code" {
	run ct contract deploy
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^0x[0-9a-f]{40}$ ]]
	echo "$output" > "$BATS_FILE_TMPDIR/contract"
	[ "$(cast code --rpc-url "$ANVIL_URL" "$output" | wc -c)" -gt 100 ]
	# The deployer owns it.
	[ "$(cast call --rpc-url "$ANVIL_URL" "$output" 'owner()(address)' | tr A-F a-f)" = "$(addr_of 0)" ]
	# --json gives the receipt's facts.
	run ct --json contract deploy
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .owner)" = "$(addr_of 0)" ]
	[ "$(echo "$output" | jq -r '.gas_used > 100000')" = true ]
}

@test "register and approve three nodes; node ls shows them active" {
	local i
	for i in 1 2 3; do
		run ct --key-file "$ANVIL_KEYS/key$i" node register --endpoint "127.0.0.$((i + 1)):7946" \
			--swim-pubkey "$(printf "%064d" "$i")" --cpu 4 --mem 8G --label zone=z$i --label disk=ssd
		[ "$status" -eq 0 ]
		[ "$output" = "$(addr_of "$i")" ]
	done
	run ct --json node ls
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -s 'map(select(.active)) | length')" = 0 ]
	run ct node ls # pending: no activation number yet
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | awk 'NR > 1 {print $5 $6}' | sort -u)" = "no-" ]
	for i in 2 3 1; do
		run ct node approve "$(addr_of "$i")"
		[ "$status" -eq 0 ]
	done
	run ct --json node ls
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(echo "$output" | jq -s 'map(select(.active)) | length')" = 3 ]
	# activation: the order in which they were approved (binpack fills older nodes first)
	[ "$(echo "$output" | jq -s -r 'sort_by(.activation) | map(.address) | join(" ")')" = \
		"$(addr_of 2) $(addr_of 3) $(addr_of 1)" ]
	[ "$(echo "$output" | jq -s -r 'map(.activation) | sort | join(" ")')" = "1 2 3" ]
	[ "$(echo "$output" | jq -s -r 'map(select(.address == "'"$(addr_of 2)"'"))[0] | "\(.endpoint) \(.cpu_millis) \(.mem_mib) \(.labels.zone) \(.swim_pubkey)"')" = \
		"127.0.0.3:7946 4000 8192 z2 $(printf "%064d" 2)" ]
	run ct node ls
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c ' yes ')" = 3 ]
	# the table's ACTIVATION column: node 2 approved first, node 1 last
	[ "$(echo "$output" | awk 'NR == 1 {print $6}')" = ACTIVATION ]
	[ "$(echo "$output" | awk -v a="$(addr_of 2)" 'tolower($1) == tolower(a) {print $6}')" = 1 ]
	[ "$(echo "$output" | awk -v a="$(addr_of 1)" 'tolower($1) == tolower(a) {print $6}')" = 3 ]
	# A SWIM key file works in place of --swim-pubkey.
	( umask 077; printf '# canteen swim key\npublic %s\nsecret %s\n' "$PK1" "$PK1" > "$BATS_TEST_TMPDIR/swim.key" )
	run ct --key-file "$ANVIL_KEYS/key4" node register --endpoint 127.0.0.5:7946 \
		--swim-key-file "$BATS_TEST_TMPDIR/swim.key" --cpu 2 --mem 1G
	[ "$status" -eq 0 ]
	run ct node revoke "$(addr_of 4)"
	[ "$status" -eq 0 ]
	[ "$(ct --json node ls | jq -s length)" = 3 ]
}

@test "service deploy, scale, update and rm are reflected by service ls" {
	run ct service deploy web --image busybox:1 --replicas 3 --cpu 250m --mem 128M \
		--port 8080:80 --port 5353:53/udp --env A=1 --priority 10 --strategy binpack \
		--selector zone=z1 -- sh -c 'sleep 1000'
	[ "$status" -eq 0 ]
	run ct --json service ls
	[ "$status" -eq 0 ]
	echo "$output"
	local s=$output
	[ "$(echo "$s" | jq -r .name)" = web ]
	[ "$(echo "$s" | jq -c .command)" = '["sh","-c","sleep 1000"]' ]
	[ "$(echo "$s" | jq -r '"\(.replicas) \(.cpu_millis) \(.mem_mib) \(.priority) \(.strategy) \(.generation)"')" = \
		"3 250 128 10 binpack 1" ]
	[ "$(echo "$s" | jq -c .ports)" = '[{"host":8080,"container":80,"proto":"tcp"},{"host":5353,"container":53,"proto":"udp"}]' ]
	[ "$(echo "$s" | jq -c .selector)" = '{"zone":"z1"}' ]

	# The event the deployment emitted decodes with the library's ABI log decoder.
	local logs
	logs=$(cast receipt --rpc-url "$ANVIL_URL" --json "$(cast block latest --rpc-url "$ANVIL_URL" --json | jq -r '.transactions[0]')" | jq -c .logs)
	run sh -c "echo '$logs' | '$TBIN/eth_tool' decode-logs '$TOP/contracts/Canteen.abi.json'"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '"\(.event) \(.fields.nameHash) \(.fields.generation)"')" = \
		"ServiceUpserted $(cast keccak web) 1" ]
	# its spec bytes are the record's
	[[ "$(echo "$output" | jq -r .fields.spec)" == 0x*"$(printf 'busybox:1' | od -An -tx1 | tr -d ' \n')"* ]]

	run ct service scale web 5
	[ "$status" -eq 0 ]
	[ "$(ct --json service ls | jq -r '"\(.replicas) \(.generation)"')" = "5 2" ]

	run ct service update web --image busybox:2 --env B=2 --exclusive
	[ "$status" -eq 0 ]
	s=$(ct --json service ls)
	[ "$(echo "$s" | jq -r '"\(.image) \(.replicas) \(.exclusive) \(.generation)"')" = "busybox:2 5 true 3" ]
	[ "$(echo "$s" | jq -c .env)" = '["B=2"]' ]
	[ "$(echo "$s" | jq -c .command)" = '["sh","-c","sleep 1000"]' ]

	run ct service deploy api --image busybox:1
	[ "$status" -eq 0 ]
	run sh -c 'canteen -c /dev/null service ls 2>/dev/null'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	# No canteen-sched in the run directory: PLACED is "-", and one line on stderr says why.
	run sh -c 'canteen -c /dev/null --rundir "$1" service ls 2>&1 >/dev/null' sh "$BATS_TEST_TMPDIR"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "canteen: PLACED is unknown: no canteen-sched answers at $BATS_TEST_TMPDIR/sched.sock"*"--rundir DIR" ]]
	run sh -c 'canteen -c /dev/null --rundir "$1" --json service ls 2>&1 >/dev/null' sh "$BATS_TEST_TMPDIR"
	[ -z "$output" ]
	run ct service rm web
	[ "$status" -eq 0 ]
	[ "$(ct --json service ls | jq -r .name)" = api ]
	run ct service rm api
	[ "$status" -eq 0 ]
	[ -z "$(ct --json service ls)" ]
}

@test "service rollback: the previous spec again through an update (replicas kept); refused clearly when there is none" {
	run ct service deploy rb --image busybox:1 --replicas 2 --env A=1 -- sleep 100
	[ "$status" -eq 0 ]
	run ct service rollback rb
	[ "$status" -eq 1 ]
	[[ "$output" == *"service rb has no previous spec to roll back to"* ]]
	[ "$(ct --json service ls | jq -r 'select(.name == "rb") | .generation')" = 1 ]
	run ct service update rb --image busybox:2 --env B=2 --update-parallelism 1
	[ "$status" -eq 0 ]
	run ct service scale rb 4
	[ "$status" -eq 0 ]
	run ct service rollback rb
	[ "$status" -eq 0 ]
	[[ "$output" == "rb rolled back (transaction 0x"* ]]
	s=$(ct --json service ls | jq -c 'select(.name == "rb")')
	echo "$s"
	[ "$(echo "$s" | jq -r '"\(.image) \(.replicas) \(.generation) \(.update.parallelism)"')" = "busybox:1 4 4 null" ]
	[ "$(echo "$s" | jq -c .env)" = '["A=1"]' ]
	# Rolled back once more: the spec before is now the update's.
	run ct --json service rollback rb
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .rolled_back)" = true ]
	[ "$(ct --json service ls | jq -r 'select(.name == "rb") | "\(.image) \(.replicas) \(.update.parallelism)"')" = "busybox:2 4 1" ]
	run ct service rollback nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"there is no service nosuch"* ]]
	run ct service rollback
	[ "$status" -eq 2 ]
	run ct service rm rb
	[ "$status" -eq 0 ]
}

@test "service options (contract v5): deploy sets each, update keeps what it does not give, ls --json shows them" {
	run ct service deploy db --image busybox:1 --health-cmd 'test -f /tmp/ok' --health-interval 2s \
		--health-timeout 1500ms --health-start-period 1m --health-retries 4 --update-parallelism 2 \
		--update-delay 10s --update-failure-action rollback --update-max-failure-ratio 0.25 \
		--volume data:/var/lib/db --volume conf:/etc/db:ro --stateful --failover-after 5m --read-only
	[ "$status" -eq 0 ]
	local s
	s=$(ct --json service ls | jq -c 'select(.name == "db")')
	echo "$s"
	[ "$(echo "$s" | jq -c .health)" = '{"cmd":["CMD-SHELL","test -f /tmp/ok"],"interval_ms":2000,"timeout_ms":1500,"start_period_ms":60000,"retries":4}' ]
	[ "$(echo "$s" | jq -c .update)" = '{"parallelism":2,"delay_ms":10000,"failure_action":"rollback","max_failure_permille":250}' ]
	[ "$(echo "$s" | jq -c '[.volumes, .stateful, .failover_after_s, .read_only]')" = '[["data:/var/lib/db","conf:/etc/db:ro"],true,300,true]' ]
	# an update that gives other flags keeps the options; one that gives options keeps the rest
	run ct service update db --image busybox:2
	[ "$status" -eq 0 ]
	[ "$(ct --json service ls | jq -c 'select(.name == "db") | [.image, .health.retries, .volumes[1], .read_only]')" = '["busybox:2",4,"conf:/etc/db:ro",true]' ]
	run ct service update db --health-arg /bin/check --health-arg --quick --no-read-only --volume data:/data
	[ "$status" -eq 0 ]
	s=$(ct --json service ls | jq -c 'select(.name == "db")')
	[ "$(echo "$s" | jq -c '[.image, .health.cmd, .health.interval_ms, .volumes, .read_only, .stateful]')" = '["busybox:2",["/bin/check","--quick"],2000,["data:/data"],null,true]' ]
	run ct service update db --no-healthcheck
	[ "$status" -eq 0 ]
	[ "$(ct --json service ls | jq -c 'select(.name == "db") | .health')" = '{"interval_ms":2000,"timeout_ms":1500,"start_period_ms":60000,"retries":4,"disabled":true}' ]
	# a service without options costs what it did: the spec carries an empty Options list
	run ct service deploy plain --image busybox:1 --health-retries 0 --no-stateful
	[ "$status" -eq 0 ]
	[ "$(ct --json service ls | jq -c 'select(.name == "plain") | [.health, .update, .volumes, .stateful]')" = '[null,null,null,null]' ]
	d=$(cast logs --rpc-url "$ANVIL_URL" --json --from-block 0 --address "$CANTEEN_CONTRACT" \
		"$(cast keccak 'ServiceUpserted(bytes32,uint64,bytes)')" "$(cast keccak plain)" | jq -r '.[-1].data')
	[ "$(upsert_spec "$d" | tail -n 1)" = '[]' ]
	ct service rm db > /dev/null
	ct service rm plain > /dev/null
}

@test "bad service options are refused before sending, naming the limit" {
	local args want before
	before=$(cast nonce --rpc-url "$ANVIL_URL" "$(addr_of 0)")
	while IFS='|' read -r args want; do
		eval "run ct $args"
		echo "$args -> $status: $output"
		[ "$status" -eq 2 ]
		[[ "${lines[0]}" == *"$want"* ]]
	done <<-'EOF'
		service deploy web --image x --health-interval 5x|--health-interval needs a duration
		service deploy web --image x --health-timeout 50d|up to 4294967295 ms
		service deploy web --image x --health-retries 256|--health-retries
		service deploy web --image x --health-cmd ''|--health-cmd needs a shell command
		service deploy web --image x --health-cmd 'true' --health-arg x|not two of them
		service deploy web --image x --health-arg ''|the program must be 1 to 1024 bytes
		service deploy web --image x --update-parallelism 65536|--update-parallelism
		service deploy web --image x --update-failure-action retry|pause or rollback
		service deploy web --image x --update-max-failure-ratio 1.5|ratio from 0 to 1
		service deploy web --image x --update-max-failure-ratio 0.1234|ratio from 0 to 1
		service deploy web --image x --volume data|--volume: volume must be NAME:/path[:ro]
		service deploy web --image x --volume Data:/x|--volume: volume must be NAME:/path[:ro]
		service deploy web --image x --volume data:relative|--volume: volume must be NAME:/path[:ro]
		service deploy web --image x --volume data:/|--volume: volume path must be "/" and more
		service deploy web --image x --volume data:/a/../b|has an empty, "." or ".." component
		service deploy web --image x --volume data:/a/|must be absolute, not "/", and not end in "/"
		service deploy web --image x --volume a:/d --volume b:/d:ro|volumes[1]: path /d is mounted twice
		service deploy web --image x --volume a:/1 --volume a:/2 --volume a:/3 --volume a:/4 --volume a:/5 --volume a:/6 --volume a:/7 --volume a:/8 --volume a:/9|more than 8 volumes
		service deploy web --image x --failover-after 1500ms|in whole seconds
	EOF
	[ "$(cast nonce --rpc-url "$ANVIL_URL" "$(addr_of 0)")" = "$before" ]
}

@test "contract refusals come back as one readable sentence with the error's name" {
	run ct --key-file "$ANVIL_KEYS/key9" service deploy evil --image x
	[ "$status" -eq 1 ]
	[ "$output" = "canteen: addService reverted: NotAdmin($(addr_of 9))" ]
	run ct --key-file "$ANVIL_KEYS/key9" node approve "$(addr_of 9)"
	[ "$status" -eq 1 ]
	[[ "$output" == *"NotAdmin($(addr_of 9))"* ]]
	# scale reads the service's generation first
	run ct service scale nosuch 2
	[ "$status" -eq 1 ]
	[ "$output" = 'canteen: there is no service nosuch' ]
	# A name the contract would refuse is refused before any gas is spent, naming the rule.
	run ct service deploy Bad_Name --image x
	[ "$status" -eq 2 ]
	[[ "$output" == *'service name must match [a-z0-9][a-z0-9-]{0,62}'* ]]
	run ct service deploy dup --image x
	[ "$status" -eq 0 ]
	run ct service deploy dup --image x
	[ "$status" -eq 1 ]
	[[ "$output" == *'ServiceExists("dup")'* ]]
	ct service rm dup
}

@test "the owner adds an admin and opens registration" {
	run ct --key-file "$ANVIL_KEYS/key7" service deploy byseven --image x
	[ "$status" -eq 1 ]
	run ct contract admin add "$(addr_of 7)"
	[ "$status" -eq 0 ]
	run ct --key-file "$ANVIL_KEYS/key7" service deploy byseven --image x
	[ "$status" -eq 0 ]
	run ct --key-file "$ANVIL_KEYS/key7" contract admin add "$(addr_of 8)"
	[ "$status" -eq 1 ]
	[[ "$output" == *"NotOwner($(addr_of 7))"* ]]
	run ct contract admin rm "$(addr_of 7)"
	[ "$status" -eq 0 ]
	run ct --key-file "$ANVIL_KEYS/key7" service rm byseven
	[ "$status" -eq 1 ]
	[[ "$output" == *NotAdmin* ]]
	ct service rm byseven
	# Open registration: a new node is active at once.
	run ct contract registration open
	[ "$status" -eq 0 ]
	run ct --key-file "$ANVIL_KEYS/key6" node register --endpoint 127.0.0.7:7946 \
		--swim-pubkey "$(printf '%064d' 6)" --cpu 1 --mem 512M
	[ "$status" -eq 0 ]
	[ "$(ct --json node ls | jq -r 'select(.address == "'"$(addr_of 6)"'") | .active')" = true ]
	run ct contract registration close
	[ "$status" -eq 0 ]
	ct node revoke "$(addr_of 6)"
}

@test "bad flags and arguments exit 2 with a sentence" {
	local args n=0
	while IFS= read -r args; do
		n=$((n + 1))
		eval "run ct $args"
		echo "$args -> $status: $output"
		[ "$status" -eq 2 ]
		[[ "${lines[0]}" == canteen:* ]]
	done <<-'EOF'
		service deploy web
		service deploy web --image x --cpu abc
		service deploy web --image x --mem 12Q
		service deploy web --image x --port 99999:80
		service deploy web --image x --port 80
		service deploy web --image x --env NOEQUALS
		service deploy web --image x --strategy random
		service deploy web --image x --priority 1.5
		service deploy web --image x --bogus
		service deploy web --image x extra
		service scale web 0
		service scale web
		service rm
		service frobnicate
		node approve not-an-address
		node register --endpoint 127.0.0.2:7946 --cpu 4 --mem 8G
		node register --endpoint nope --swim-pubkey 11 --cpu 4 --mem 8G
		contract deploy extra
		contract admin add nobody
		contract registration maybe
	EOF
	[ "$n" -eq 20 ]
}

@test "what the contract takes but no server can run is refused before sending, naming the limit" {
	local long300 name64 args want
	long300=$(printf 'a%.0s' {1..298}):1
	name64=$(printf 'n%.0s' {1..64})
	while IFS='|' read -r args want; do
		eval "run ct $args"
		echo "$args -> $status: $output"
		[ "$status" -eq 2 ]
		[[ "${lines[0]}" == *"$want"* ]]
	done <<-EOF
		service deploy web --image $long300|--image: image reference longer than 255 bytes
		service deploy web --image Bad/Image|image reference is not [host[:port]/]path[:tag]
		service deploy $name64 --image x|service name is 64 bytes long, more than 63
		service deploy web --image x --mem 5M|below Docker's minimum of 6 MiB
		service deploy web --image x --mem 1500K|whole number of MiB
		service deploy web --image x --cpu 1025|more than a server can give one replica (1024 CPUs)
		service deploy web --image x --replicas 100001|--replicas
		service deploy web --image x --env 1A=b|--env needs NAME=VALUE
		service deploy web --image x --port 80:80 --port 80:81|host port 80/tcp is mapped twice
		service scale $name64 2|service name is 64 bytes long
	EOF
	# Nothing reached the chain.
	[ -z "$(ct --json service ls | jq -r 'select(.name == "web") | .name')" ]
}

@test "every command and subcommand answers --help and -h with its usage on stdout" {
	local cmd
	while read -r cmd; do
		for h in --help -h; do
			run sh -c 'canteen -c /dev/null "$@" 2>&1 >/dev/null' sh $cmd $h
			echo "$cmd $h -> stderr: $output"
			[ "$status" -eq 0 ]
			[ -z "$output" ]
			run ct $cmd $h
			[ "$status" -eq 0 ]
			[[ "${lines[0]}" == "usage: canteen ${cmd%% *}"* ]]
		done
	done <<-EOF
		contract
		contract deploy
		contract admin
		contract registration
		node
		node register
		node approve
		node revoke
		node ls
		node keygen
		node join
		service
		service deploy
		service update
		service scale
		service rm
		service ls
		events
		status
		members
		ps
		endpoints
		up
		down
	EOF
	# After "--" the words are a container's command, not ours.
	run ct service deploy web --image x --mem 1M -- sh -h
	[ "$status" -eq 2 ]
}

@test "missing configuration, unreadable keys and an unreachable node fail clearly" {
	run env -u CANTEEN_CONTRACT canteen -c /dev/null service ls
	[ "$status" -eq 2 ]
	[[ "$output" == *"no contract address"* ]]
	cp "$ANVIL_KEYS/key0" "$BATS_TEST_TMPDIR/open.key"
	chmod 0644 "$BATS_TEST_TMPDIR/open.key"
	run ct --key-file "$BATS_TEST_TMPDIR/open.key" service scale web 2
	[ "$status" -eq 1 ]
	[[ "$output" == *"accessible by group or others"* ]]
	run ct --rpc "http://127.0.0.1:$(free_port)" service ls
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot reach RPC endpoint"* ]]
	run ct --rpc "ftp://127.0.0.1/" service ls
	[ "$status" -eq 2 ]
	# Configuration from a canteen.conf file works like the flags.
	printf 'rpc_url = %s\ncontract = %s\n' "$ANVIL_URL" "$CANTEEN_CONTRACT" > "$BATS_TEST_TMPDIR/c.conf"
	run env -u CANTEEN_RPC -u CANTEEN_CONTRACT canteen -c "$BATS_TEST_TMPDIR/c.conf" node ls
	[ "$status" -eq 0 ]
}

@test "canteen events prints a socket's snapshot and events, as NDJSON or lines" {
	local run
	run=$(mk_rundir)
	start_bg chainsock "$TBIN/ipc_tool" serve "$run/chain.sock"
	wait_until 5 test -S "$run/chain.sock"
	start_bg events canteen -c /dev/null --rundir "$run" --json events --count 3
	wait_until 5 sh -c "[ \"\$(\"$TBIN/ipc_tool\" request \"$run/chain.sock\" '{\"op\":\"ping\"}' | jq .conns)\" -ge 1 ]"
	"$TBIN/ipc_tool" request "$run/chain.sock" '{"op":"publish","n":2,"size":1}' >/dev/null
	wait_until 5 sh -c "[ \$(wc -l < \"$BATS_TEST_TMPDIR/events.log\") -ge 3 ]"
	[ "$(jq -r .type "$BATS_TEST_TMPDIR/events.log" | tr '\n' ' ')" = "snapshot test.event test.event " ]
	run canteen -c /dev/null --rundir "$run" events --count 1
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9]+\ +snapshot ]]
	run canteen --rundir "$BATS_TEST_TMPDIR/nowhere" events
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot connect to canteen-chainwatch"* ]]
}

@test "a chain without a base fee gets legacy EIP-155 transactions" {
	local port url addr tx
	port=$(free_port)
	url=http://127.0.0.1:$port
	start_bg anvil_berlin anvil --host 127.0.0.1 --port "$port" --hardfork berlin
	wait_until 20 cast chain-id --rpc-url "$url"
	run ct --rpc "$url" contract deploy
	[ "$status" -eq 0 ]
	addr=$output
	run ct --rpc "$url" --contract "$addr" service deploy web --image busybox:1
	[ "$status" -eq 0 ]
	tx=$(cast block latest --rpc-url "$url" --json | jq -r '.transactions[0]')
	[ "$(cast tx --rpc-url "$url" "$tx" --json | jq -r '"\(.type) \(.chainId)"')" = "0x0 0x7a69" ]
	[ "$(ct --rpc "$url" --contract "$addr" --json service ls | jq -r .name)" = web ]
}
