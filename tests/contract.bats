#!/usr/bin/env bats
# contract.bats: contracts/Canteen.sol against a real anvil, with cast as the client: role
# checks, validation, events, serviceStates over 500 services, and the gas of every call
# (service deploy, update and scale within their limits, equal at 1 and 500 services).
load lib/common
load lib/anvil

setup_file() {
	start_anvil
	C=$(deploy_canteen 0)
	[ -n "$C" ] && [ "$C" != null ]
	export C
	echo "$C" > "$BATS_FILE_TMPDIR/contract"
}

teardown_file() { stop_anvil; }

OWNER=0 NODE1=1 NODE2=2 NODE3=3 STRANGER=4 ADMIN=5 NODE6=6
PUB1=0x$(printf 'a1%.0s' {1..32})
PUB2=0x$(printf 'b2%.0s' {1..32})
PUB3=0x$(printf 'c3%.0s' {1..32})
PUB6=0x$(printf 'e6%.0s' {1..32})

# gas NAME RECEIPT_JSON: print the gas a transaction used as a TAP diagnostic.
gas() {
	local g
	g=$(echo "$2" | jq -r .gasUsed)
	echo "# gas $1 $((g))" >&3
}

# refused ERROR_SIG KEY_INDEX SEND_ARGS...: the call reverts with that custom error.
refused() {
	local sel=$1; shift
	run send_as "$@"
	[ "$status" -ne 0 ] || { echo "call succeeded, expected $sel"; return 1; }
	[[ "$output" == *"$(error_selector "$sel")"* ]] || { echo "want $sel, got: $output"; return 1; }
}

register() { # KEY_INDEX ENDPOINT PUBKEY [LABELS]
	send_as "$1" "$C" "$SIG_REGISTER" "$2" "$3" 2000 4096 "${4:-[zone=a]}"
}

@test "the deployer is the owner and an admin; deploy gas" {
	r=$(send_as $OWNER --create "0x$(cat "$ARTIFACTS/Canteen.bin")")
	gas deploy "$r"
	[ "$(call "$C" 'owner()(address)' | tr A-F a-f)" = "$(addr_of $OWNER)" ]
	[ "$(call "$C" 'isAdmin(address)(bool)' "$(addr_of $OWNER)")" = true ]
	[ "$(call "$C" 'isAdmin(address)(bool)' "$(addr_of $STRANGER)")" = false ]
	[ "$(call "$C" 'nodeCount()(uint256)')" = 0 ]
	[ "$(call "$C" 'serviceCount()(uint256)')" = 0 ]
}

@test "a stranger cannot add, update, scale or remove a service" {
	refused 'NotAdmin(address)' $STRANGER "$C" "$SIG_ADD" "$(spec web)"
	r=$(send_as $OWNER "$C" "$SIG_ADD" "$(spec web)")
	gas addService "$r"
	refused 'NotAdmin(address)' $STRANGER "$C" "$SIG_UPDATE" "$(spec web other:2)" 1
	refused 'NotAdmin(address)' $STRANGER "$C" "$SIG_SCALE" web 5 1
	refused 'NotAdmin(address)' $STRANGER "$C" "$SIG_RM" web 1
	# the record is untouched
	run record_of "$C" web
	[[ "$output" == *'"busybox:1"'* ]]
	[[ "$output" == *", 1)" ]]
}

@test "a node registers itself, inactive until an admin approves; a stranger cannot approve or revoke" {
	r=$(register $NODE1 127.0.0.2:7946 "$PUB1" '[zone=a,disk=ssd]')
	gas registerNode "$r"
	run call "$C" "getNode(address)($NODE_T)" "$(addr_of $NODE1)"
	[[ "$output" == *'"127.0.0.2:7946"'* ]]
	[[ "$output" == *'["zone=a", "disk=ssd"], false, 0)' ]]
	refused 'NotAdmin(address)' $STRANGER "$C" 'approveNode(address)' "$(addr_of $NODE1)"
	refused 'NotAdmin(address)' $NODE1 "$C" 'approveNode(address)' "$(addr_of $NODE1)"
	refused 'NotAdmin(address)' $STRANGER "$C" 'revokeNode(address)' "$(addr_of $NODE1)"
	r=$(send_as $OWNER "$C" 'approveNode(address)' "$(addr_of $NODE1)")
	gas approveNode "$r"
	run call "$C" "getNode(address)($NODE_T)" "$(addr_of $NODE1)"
	[[ "$output" == *', true, 1)' ]]
	refused 'NodeNotRegistered(address)' $OWNER "$C" 'approveNode(address)' "$(addr_of $NODE3)"
}

@test "a node cannot change or remove another node's record" {
	register $NODE2 127.0.0.3:7946 "$PUB2" > /dev/null
	before=$(call "$C" "getNode(address)($NODE_T)" "$(addr_of $NODE1)")
	# registering from NODE2's key only ever touches NODE2's own record
	r=$(register $NODE2 127.0.0.99:1 "$PUB2" '[zone=evil]')
	gas registerNode.update "$r"
	[ "$(call "$C" "getNode(address)($NODE_T)" "$(addr_of $NODE1)")" = "$before" ]
	refused 'NotAdmin(address)' $NODE2 "$C" 'revokeNode(address)' "$(addr_of $NODE1)"
	# a stranger has nothing to unregister
	refused 'NodeNotRegistered(address)' $STRANGER "$C" 'unregisterNode()'
	[ "$(call "$C" "getNode(address)($NODE_T)" "$(addr_of $NODE1)")" = "$before" ]
	# an updated record keeps its approval state (NODE2 was never approved)
	run call "$C" "getNode(address)($NODE_T)" "$(addr_of $NODE2)"
	[[ "$output" == *'"127.0.0.99:1"'*'["zone=evil"], false, 0)' ]]
}

@test "node registration is validated" {
	zero=0x$(printf '00%.0s' {1..32})
	refused 'EmptyField(string)' $NODE3 "$C" "$SIG_REGISTER" '' "$PUB1" 1000 1000 '[]'
	refused 'EmptyField(string)' $NODE3 "$C" "$SIG_REGISTER" 'h:1' "$zero" 1000 1000 '[]'
	refused 'InvalidResources()' $NODE3 "$C" "$SIG_REGISTER" 'h:1' "$PUB1" 0 1000 '[]'
	long=$(printf 'x%.0s' {1..256})
	refused 'StringTooLong(string,uint256)' $NODE3 "$C" "$SIG_REGISTER" "$long" "$PUB1" 1 1 '[]'
	refused 'InvalidKeyValue(string,string)' $NODE3 "$C" "$SIG_REGISTER" 'h:1' "$PUB1" 1 1 '[novalue]'
	refused 'InvalidKeyValue(string,string)' $NODE3 "$C" "$SIG_REGISTER" 'h:1' "$PUB1" 1 1 '[=v]'
}

@test "only the owner sets admins, opens registration and transfers ownership" {
	refused 'NotOwner(address)' $STRANGER "$C" 'setAdmin(address,bool)' "$(addr_of $STRANGER)" true
	refused 'NotOwner(address)' $STRANGER "$C" 'setRegistrationOpen(bool)' true
	refused 'NotOwner(address)' $STRANGER "$C" 'transferOwnership(address)' "$(addr_of $STRANGER)"
	r=$(send_as $OWNER "$C" 'setAdmin(address,bool)' "$(addr_of $ADMIN)" true)
	gas setAdmin "$r"
	# an admin manages services and nodes, but is not the owner
	send_as $ADMIN "$C" "$SIG_ADD" "$(spec admin-svc)" > /dev/null
	send_as $ADMIN "$C" 'approveNode(address)' "$(addr_of $NODE2)" > /dev/null
	refused 'NotOwner(address)' $ADMIN "$C" 'setAdmin(address,bool)' "$(addr_of $STRANGER)" true
	send_as $OWNER "$C" 'setAdmin(address,bool)' "$(addr_of $ADMIN)" false > /dev/null
	refused 'NotAdmin(address)' $ADMIN "$C" "$SIG_RM" admin-svc 1
	refused 'ZeroAddress()' $OWNER "$C" 'transferOwnership(address)' 0x0000000000000000000000000000000000000000
	c3=$(deploy_canteen $OWNER)
	r=$(send_as $OWNER "$c3" 'transferOwnership(address)' "$(addr_of $ADMIN)")
	gas transferOwnership "$r"
	r=$(send_as $ADMIN "$c3" 'acceptOwnership()')
	gas acceptOwnership "$r"
	[ "$(call "$c3" 'owner()(address)' | tr A-F a-f)" = "$(addr_of $ADMIN)" ]
	refused 'NotOwner(address)' $OWNER "$c3" 'setRegistrationOpen(bool)' true
	refused 'NotAdmin(address)' $OWNER "$c3" "$SIG_ADD" "$(spec web)"
	send_as $ADMIN "$c3" 'setRegistrationOpen(bool)' true > /dev/null
}

@test "open registration: a registering node is active at once" {
	r=$(send_as $OWNER "$C" 'setRegistrationOpen(bool)' true)
	gas setRegistrationOpen "$r"
	register $NODE6 127.0.0.7:7946 "$PUB6" > /dev/null
	run call "$C" "getNode(address)($NODE_T)" "$(addr_of $NODE6)"
	[[ "$output" =~ ', true, '[1-9][0-9]*')'$ ]]
	send_as $OWNER "$C" 'setRegistrationOpen(bool)' false > /dev/null
	r=$(send_as $NODE6 "$C" 'unregisterNode()')
	gas unregisterNode "$r"
	refused 'NodeNotRegistered(address)' $OWNER "$C" "getNode(address)" "$(addr_of $NODE6)"
}

@test "service names are validated on chain" {
	long64=$(printf 'a%.0s' {1..64})
	for bad in '' Web -web web_1 web.1 'a b' "$long64" 'wéb'; do
		refused 'InvalidName(string)' $OWNER "$C" "$SIG_ADD" "$(spec "$bad")"
	done
	long63=$(printf 'b%.0s' {1..63})
	for good in 0 a- "$long63" x-1-y; do
		send_as $OWNER "$C" "$SIG_ADD" "$(spec "$good")" > /dev/null
	done
	refused 'ServiceExists(string)' $OWNER "$C" "$SIG_ADD" "$(spec x-1-y)"
}

@test "replicas, strings, lists, env, ports and strategy are validated" {
	refused 'InvalidReplicas()' $OWNER "$C" "$SIG_ADD" "$(spec zero busybox 0)"
	refused 'InvalidReplicas()' $OWNER "$C" "$SIG_SCALE" web 0 "$(gen_of "$C" web)"
	refused 'EmptyField(string)' $OWNER "$C" "$SIG_ADD" '(noimg,"",[],[],1,1,1,[],0,0,false,[],[])'
	img=$(printf 'i%.0s' {1..513})
	refused 'StringTooLong(string,uint256)' $OWNER "$C" "$SIG_ADD" "$(spec longimg "$img")"
	arg=$(printf 'c%.0s' {1..1025})
	refused 'StringTooLong(string,uint256)' $OWNER "$C" "$SIG_ADD" "(longarg,img,[$arg],[],1,1,1,[],0,0,false,[],[])"
	many=$(printf 'x,%.0s' {1..64})x
	refused 'TooManyItems(string,uint256)' $OWNER "$C" "$SIG_ADD" "(manyargs,img,[$many],[],1,1,1,[],0,0,false,[],[])"
	refused 'InvalidKeyValue(string,string)' $OWNER "$C" "$SIG_ADD" '(badenv,img,[],[NOEQUALS],1,1,1,[],0,0,false,[],[])'
	refused 'InvalidKeyValue(string,string)' $OWNER "$C" "$SIG_ADD" '(badsel,img,[],[],1,1,1,[],0,0,false,[zone],[])'
	refused 'InvalidPort(uint16,uint16,uint8)' $OWNER "$C" "$SIG_ADD" '(badport,img,[],[],1,1,1,[(0,80,0)],0,0,false,[],[])'
	refused 'InvalidPort(uint16,uint16,uint8)' $OWNER "$C" "$SIG_ADD" '(badproto,img,[],[],1,1,1,[(80,80,2)],0,0,false,[],[])'
	refused 'InvalidStrategy(uint8)' $OWNER "$C" "$SIG_ADD" '(badstrat,img,[],[],1,1,1,[],0,3,false,[],[])'
	refused 'NoSuchService(string)' $OWNER "$C" "$SIG_SCALE" nosuch 1 0
	refused 'NoSuchService(string)' $OWNER "$C" "$SIG_RM" nosuch 0
	refused 'NoSuchService(string)' $OWNER "$C" "$SIG_UPDATE" "$(spec nosuch)" 0
}

@test "version 5's options (health, update policy, volumes, stateful, read-only) are validated and logged as sent; version() is 6" {
	[ "$(call "$C" 'version()(uint256)')" = 6 ]
	base='(NAME,img:1,[],[],1,1,1,[],0,0,false,[],[OPTS])'
	o() { local n=$1; shift; local b=${base/NAME/$n}; echo "${b/OPTS/$*}"; }
	ok='([CMD-SHELL,test -f /tmp/ok],5000,2000,10000,3,false,2,1000,1,250,[data:/var/lib/db,conf:/etc/db:ro],true,300,true)'
	r=$(send_as $OWNER "$C" "$SIG_ADD" "$(o v5ok "$ok")")
	gas addService.options "$r"
	[ "$(upsert_spec "$(echo "$r" | jq -r '.logs[0].data')" | tail -n 1)" = '[(["CMD-SHELL", "test -f /tmp/ok"], 5000, 2000, 10000 [1e4], 3, false, 2, 1000, 1, 250, ["data:/var/lib/db", "conf:/etc/db:ro"], true, 300, true)]' ]
	# every field at its default, spelled out: accepted too
	send_as $OWNER "$C" "$SIG_ADD" "$(o v5zero '([],0,0,0,0,false,0,0,0,0,[],false,0,false)')" > /dev/null
	refused 'TooManyItems(string,uint256)' $OWNER "$C" "$SIG_ADD" "$(o v5two "$ok,$ok")"
	refused 'InvalidHealth()' $OWNER "$C" "$SIG_ADD" "$(o v5h '([true],0,0,0,0,true,0,0,0,0,[],false,0,false)')"
	arg=$(printf 'c%.0s' {1..1025})
	refused 'StringTooLong(string,uint256)' $OWNER "$C" "$SIG_ADD" "$(o v5h "([$arg],0,0,0,0,false,0,0,0,0,[],false,0,false)")"
	many=$(printf 'x,%.0s' {1..64})x
	refused 'TooManyItems(string,uint256)' $OWNER "$C" "$SIG_ADD" "$(o v5h "([$many],0,0,0,0,false,0,0,0,0,[],false,0,false)")"
	refused 'InvalidUpdatePolicy(uint8,uint16)' $OWNER "$C" "$SIG_ADD" "$(o v5u '([],0,0,0,0,false,0,0,2,0,[],false,0,false)')"
	refused 'InvalidUpdatePolicy(uint8,uint16)' $OWNER "$C" "$SIG_ADD" "$(o v5u '([],0,0,0,0,false,0,0,0,1001,[],false,0,false)')"
	vol() { o v5v "([],0,0,0,0,false,0,0,0,0,[$1],false,0,false)"; }
	for bad in 'data' 'data:' 'data:/' 'data:rel/path' ':/x' 'Data:/x' '-d:/x' 'd d:/x' 'd:/a b' 'd:/x:rw' 'd:/:ro' \
		"$(printf 'n%.0s' {1..33}):/x"; do
		refused 'InvalidVolume(uint256)' $OWNER "$C" "$SIG_ADD" "$(vol "$bad")" || { echo "accepted volume $bad"; false; }
	done
	long=/$(printf 'p%.0s' {1..160})
	refused 'StringTooLong(string,uint256)' $OWNER "$C" "$SIG_ADD" "$(vol "d:$long")"
	nine=$(for i in $(seq 9); do printf 'v%d:/p%d,' "$i" "$i"; done)
	refused 'TooManyItems(string,uint256)' $OWNER "$C" "$SIG_ADD" "$(vol "${nine%,}")"
	refused 'VolumePathTwice(uint256)' $OWNER "$C" "$SIG_ADD" "$(vol 'a:/data,b:/data:ro')"
	run send_as $OWNER "$C" "$SIG_ADD" "$(vol 'a:/data,b:/data:ro')"
	[[ "$output" == *"$(error_selector 'VolumePathTwice(uint256)')$(printf '%064x' 1)"* ]]
	# at the edges: a 32-byte name, "_" and "-" after the first byte, ":ro" kept apart
	send_as $OWNER "$C" "$SIG_ADD" "$(o v5edge "([],0,0,0,0,false,0,0,0,0,[$(printf 'n%.0s' {1..32}):/x,a_b-c:/y:ro,z:/ro],false,0,false)")" > /dev/null
	# an update is checked the same way
	refused 'InvalidVolume(uint256)' $OWNER "$C" "$SIG_UPDATE" "$(vol 'd:/')" 1
	[ "$(state_of "$C" v5two)" = '(false, 0, 0, 0x0000000000000000000000000000000000000000)' ]
}

@test "add and update emit the spec bytes whose hash the contract keeps, scale and rm the name and generation; generations are never reused" {
	topic_up=$(cast keccak 'ServiceUpserted(bytes32,uint64,bytes)')
	topic_sc=$(cast keccak 'ServiceScaled(bytes32,string,uint64,uint32)')
	topic_rm=$(cast keccak 'ServiceRemoved(bytes32,string,uint64)')
	key=$(cast keccak ev)
	# held_hash DATA: the spec hash the contract keeps for a ServiceUpserted's data
	held_hash() { h=$(cast keccak "$(cast decode-abi 'f()(uint64,bytes)' "$1" | tail -n 1)"); echo "${h:0:42}"; }
	r=$(send_as $OWNER "$C" "$SIG_ADD" '(ev,img:1,[run,--fast],[K=V,X=Y],3,250,128,[(8081,81,0),(5353,53,1)],7,2,true,[zone=b],[])')
	[ "$(echo "$r" | jq '.logs | length')" = 1 ]
	[ "$(echo "$r" | jq -r '.logs[0].topics[0]')" = "$topic_up" ]
	[ "$(echo "$r" | jq -r '.logs[0].topics[1]')" = "$key" ]
	d=$(echo "$r" | jq -r '.logs[0].data')
	[ "$(cast decode-abi 'f()(uint64,bytes)' "$d" | head -n 1)" = 1 ]
	[ "$(upsert_spec "$d" | tr '\n' ' ')" = '"ev" "img:1" ["run", "--fast"] ["K=V", "X=Y"] 3 250 128 [(8081, 81, 0), (5353, 53, 1)] 7 2 true ["zone=b"] [] ' ]
	[ "$(state_of "$C" ev)" = "(true, 1, 3, $(held_hash "$d"))" ]

	r=$(send_as $OWNER "$C" "$SIG_SCALE" ev 9 1)
	gas scaleService "$r"
	[ "$(echo "$r" | jq '.logs | length')" = 1 ]
	[ "$(echo "$r" | jq -r '.logs[0].topics[0]')" = "$topic_sc" ]
	[ "$(echo "$r" | jq -r '.logs[0].topics[1]')" = "$key" ]
	[ "$(cast decode-abi 'f()(string,uint64,uint32)' "$(echo "$r" | jq -r '.logs[0].data')" | tr '\n' ' ')" = '"ev" 2 9 ' ]
	run record_of "$C" ev
	[[ "$output" == '("ev", "img:1", ["run", "--fast"], ["K=V", "X=Y"], 9, 250,'*', 2)' ]]

	r=$(send_as $OWNER "$C" "$SIG_UPDATE" '(ev,img:2,[],[],4,100,64,[],1,0,false,[],[])' 2)
	gas updateService "$r"
	d=$(echo "$r" | jq -r '.logs[0].data')
	[ "$(upsert_spec "$d" | tr '\n' ' ')" = '"ev" "img:2" [] [] 4 100 64 [] 1 0 false [] [] ' ]
	[ "$(state_of "$C" ev)" = "(true, 3, 4, $(held_hash "$d"))" ]

	r=$(send_as $OWNER "$C" "$SIG_RM" ev 3)
	gas removeService "$r"
	[ "$(echo "$r" | jq '.logs | length')" = 1 ]
	[ "$(echo "$r" | jq -r '.logs[0].topics[0]')" = "$topic_rm" ]
	[ "$(cast decode-abi 'f()(string,uint64)' "$(echo "$r" | jq -r '.logs[0].data')" | tr '\n' ' ')" = '"ev" 4 ' ]
	[ "$(state_of "$C" ev)" = '(false, 4, 0, 0x0000000000000000000000000000000000000000)' ]
	refused 'NoSuchService(string)' $OWNER "$C" "$SIG_SCALE" ev 1 4

	# re-added: the generation continues from 4
	r=$(send_as $OWNER "$C" "$SIG_ADD" "$(spec ev)")
	[ "$(cast decode-abi 'f()(uint64,bytes)' "$(echo "$r" | jq -r '.logs[0].data')" | head -n 1)" = 5 ]
}

@test "a spec encoded unusually (offsets out of order, bytes after it) is hashed and logged as sent, and decodes the same" {
	c=$(deploy_canteen $OWNER)
	# cast's encoding of the spec, with 64 bytes appended to the call: part of the spec bytes
	data=$(cast calldata "$SIG_ADD" '(odd,img:1,[a],[K=V],1,1,1,[],0,0,false,[],[])')$(printf '%0128x' 7)
	r=$(cast send --rpc-url "$ANVIL_URL" --private-key "$(key_of $OWNER)" --json "$c" "$data")
	d=$(echo "$r" | jq -r '.logs[0].data')
	b=$(cast decode-abi 'f()(uint64,bytes)' "$d" | tail -n 1)
	[ "0x${data:74}" = "$b" ]
	h=$(cast keccak "$b")
	[ "$(state_of "$c" odd)" = "(true, 1, 1, ${h:0:42})" ]
	[ "$(upsert_spec "$d" | tr '\n' ' ')" = '"odd" "img:1" ["a"] ["K=V"] 1 1 1 [] 0 0 false [] [] ' ]
}

@test "node events: upsert carries the full record, revoke emits a removal" {
	topic_up=$(cast keccak "NodeUpserted(address,$NODE_T)")
	topic_rm=$(cast keccak 'NodeRemoved(address)')
	r=$(register $NODE3 127.0.0.4:7946 "$PUB3" '[zone=c]')
	[ "$(echo "$r" | jq -r '.logs[0].topics[0]')" = "$topic_up" ]
	rec=$(cast decode-abi "f()($NODE_T)" "$(echo "$r" | jq -r '.logs[0].data')")
	[ "$(echo "$rec" | tr A-F a-f)" = "($(addr_of $NODE3), \"127.0.0.4:7946\", $PUB3, 2000, 4096, [\"zone=c\"], false, 0)" ]
	r=$(send_as $OWNER "$C" 'revokeNode(address)' "$(addr_of $NODE3)")
	gas revokeNode "$r"
	[ "$(echo "$r" | jq '.logs | length')" = 2 ]
	[ "$(echo "$r" | jq -r '.logs[0].topics[0]')" = "$topic_rm" ]
	[ "$(echo "$r" | jq -r '.logs[1].topics[0]')" = "$(cast keccak 'NodeRevoked(address,bool)')" ]
	refused 'NodeNotRegistered(address)' $OWNER "$C" "getNode(address)" "$(addr_of $NODE3)"
	[ "$(call "$C" 'revoked(address)(bool)' "$(addr_of $NODE3)")" = true ]
}

@test "serviceStates over 500 services at a block tag; serviceCount; no stored list to page" {
	# a second contract, so the counts are exact
	c2=$(deploy_canteen $OWNER)
	add_services_batch "$c2" $OWNER p 500
	before=$(block_number)
	[ "$(call "$c2" 'serviceCount()(uint256)')" = 500 ]
	[ "$(call "$c2" 'deployBlock()(uint256)')" -lt "$before" ]
	keys="[$(for n in p-00000 p-00100 p-00499 nosuch; do printf '%s,' "$(cast keccak $n)"; done | sed 's/,$//')]"
	run call "$c2" "serviceStates(bytes32[])($STATE_T[])" "$keys"
	[[ "$output" == '[(true, 1, 1, 0x'*'), (true, 1, 1, 0x'*'), (true, 1, 1, 0x'*'), (false, 0, 0, 0x0000000000000000000000000000000000000000)]' ]]
	many="[$(for i in $(seq 1001); do printf '0x%064x,' "$i"; done | sed 's/,$//')]"
	refused 'PageTooLarge(uint256,uint256)' $OWNER "$c2" 'serviceStates(bytes32[])' "$many"
	send_as $OWNER "$c2" "$SIG_RM" p-00100 1 > /dev/null
	[ "$(call "$c2" 'serviceCount()(uint256)')" = 499 ]
	[[ "$(state_of "$c2" p-00100)" == '(false, 2, 0, '* ]]
	# the old state is still readable at the earlier block
	[ "$(call --block "$before" "$c2" 'serviceCount()(uint256)')" = 500 ]
	[[ "$(state_of "$c2" p-00100 "$before")" == '(true, 1, 1, '* ]]
	# version 3's paged views are gone
	! call "$c2" 'getServices(uint256,uint256)' 0 1 > /dev/null 2>&1
	echo "$c2" > "$BATS_FILE_TMPDIR/c500"
}

# The issue's typical service: 3 replicas, 2 ports, 2 env, a selector, a command.
TYPICAL='(NAME,registry.local/web:1.4.2,[/bin/web,--port,80],[MODE=prod,LOG=info],3,500,256,[(8080,80,0),(8443,443,0)],0,0,false,[zone=a],[])'

@test "gas: a typical deploy <= 150k, update <= 60k, scale <= 40k, the same (1%) with 1 and with 500 services" {
	c500=$(cat "$BATS_FILE_TMPDIR/c500")
	c1=$(deploy_canteen $OWNER)
	send_as $OWNER "$c1" "$SIG_ADD" "$(spec q-00000)" > /dev/null
	typ=${TYPICAL/NAME/q-99999}
	for c in "$c1" "$c500"; do
		n=$(call "$c" 'serviceCount()(uint256)')
		a=$(send_as $OWNER "$c" "$SIG_ADD" "$typ" | jq -r .gasUsed)
		# an update that changes one number (CPU 500 -> 600)
		u=$(send_as $OWNER "$c" "$SIG_UPDATE" "${typ/,500,/,600,}" 1 | jq -r .gasUsed)
		s=$(send_as $OWNER "$c" "$SIG_SCALE" q-99999 5 2 | jq -r .gasUsed)
		m=$(send_as $OWNER "$c" "$SIG_RM" q-99999 3 | jq -r .gasUsed)
		echo "# gas with $n services: addService $((a)) updateService $((u)) scaleService $((s)) removeService $((m))" >&3
		eval "add_$n=$((a)) upd_$n=$((u)) scale_$n=$((s)) rm_$n=$((m))"
	done
	(( add_1 <= 150000 && add_499 <= 150000 ))
	(( upd_1 <= 60000 && upd_499 <= 60000 ))
	(( scale_1 <= 40000 && scale_499 <= 40000 ))
	within1() { (( $1 * 100 <= $2 * 101 && $2 * 100 <= $1 * 101 )); }
	within1 "$add_1" "$add_499"
	within1 "$upd_1" "$upd_499"
	within1 "$scale_1" "$scale_499"
	within1 "$rm_1" "$rm_499"
}

@test "gas: an update grows with the bytes it changes, not with the record" {
	c=$(deploy_canteen $OWNER)
	typ=${TYPICAL/NAME/grow}
	send_as $OWNER "$c" "$SIG_ADD" "$typ" > /dev/null
	u1=$(send_as $OWNER "$c" "$SIG_UPDATE" "${typ/,500,/,600,}" 1 | jq -r .gasUsed)
	# 41 more bytes of image (two more words): at most 40 gas a byte of the words more
	img=registry.local/web:1.4.2-$(printf 'x%.0s' {1..40})
	u2=$(send_as $OWNER "$c" "$SIG_UPDATE" "${typ/registry.local\/web:1.4.2/$img}" 2 | jq -r .gasUsed)
	echo "# gas update $((u1)), with 64 more bytes $((u2))" >&3
	(( u2 - u1 <= 64 * 40 ))
}

@test "a change based on a stale generation is refused with StaleGeneration(expected, actual)" {
	c=$(deploy_canteen $OWNER)
	send_as $OWNER "$c" "$SIG_ADD" "$(spec st)" > /dev/null
	send_as $OWNER "$c" "$SIG_SCALE" st 2 1 > /dev/null
	# another admin read generation 1 before the scale: every change of theirs is refused
	refused 'StaleGeneration(uint64,uint64)' $OWNER "$c" "$SIG_UPDATE" "$(spec st busybox:9)" 1
	refused 'StaleGeneration(uint64,uint64)' $OWNER "$c" "$SIG_SCALE" st 7 1
	refused 'StaleGeneration(uint64,uint64)' $OWNER "$c" "$SIG_RM" st 1
	refused 'StaleGeneration(uint64,uint64)' $OWNER "$c" "$SIG_SCALE" st 7 3
	run send_as $OWNER "$c" "$SIG_SCALE" st 7 1
	[[ "$output" == *"$(error_selector 'StaleGeneration(uint64,uint64)')$(printf '%064x%064x' 1 2)"* ]]
	# nothing changed: the scale to 2 stands
	run record_of "$c" st
	[[ "$output" == '("st", "busybox:1", '*', 2, 100, 64, '*', 2)' ]]
	send_as $OWNER "$c" "$SIG_UPDATE" "$(spec st busybox:9)" 2 > /dev/null
	[ "$(gen_of "$c" st)" = 3 ]
}

@test "an approved node that changes its key, endpoint, capacity or labels is pending until approved again" {
	c=$(deploy_canteen $OWNER)
	n=$(addr_of $NODE1)
	send_as $NODE1 "$c" "$SIG_REGISTER" 127.0.0.2:7946 "$PUB1" 2000 4096 '[zone=a]' > /dev/null
	send_as $OWNER "$c" 'approveNode(address)' "$n" > /dev/null
	# the same record again keeps the approval, and its activation; approving again changes nothing
	send_as $NODE1 "$c" "$SIG_REGISTER" 127.0.0.2:7946 "$PUB1" 2000 4096 '[zone=a]' > /dev/null
	send_as $OWNER "$c" 'approveNode(address)' "$n" > /dev/null
	[[ "$(call "$c" "getNode(address)($NODE_T)" "$n")" == *', true, 1)' ]]
	act=1
	pub3=0x$(printf 'd3%.0s' {1..32})
	for change in "127.0.0.2:7946 $PUB1 4000000 4096 [zone=a]" "127.0.0.2:7946 $PUB1 2000 999999 [zone=a]" \
		"127.0.0.9:7946 $PUB1 2000 4096 [zone=a]" "127.0.0.2:7946 $pub3 2000 4096 [zone=a]" \
		"127.0.0.2:7946 $PUB1 2000 4096 [zone=a,gpu=yes]"; do
		# shellcheck disable=SC2086
		send_as $NODE1 "$c" "$SIG_REGISTER" $change > /dev/null
		[[ "$(call "$c" "getNode(address)($NODE_T)" "$n")" == *', false, 0)' ]] || { echo "still active after: $change"; return 1; }
		send_as $OWNER "$c" 'approveNode(address)' "$n" > /dev/null
		# approved again: the newest active node (binpack fills older ones first)
		act=$((act + 1))
		[[ "$(call "$c" "getNode(address)($NODE_T)" "$n")" == *", true, $act)" ]]
	done
}

@test "a revoked address cannot register again until an admin readmits it" {
	c=$(deploy_canteen $OWNER)
	n=$(addr_of $NODE2)
	send_as $NODE2 "$c" "$SIG_REGISTER" 127.0.0.3:7946 "$PUB2" 1000 1024 '[]' > /dev/null
	send_as $OWNER "$c" 'approveNode(address)' "$n" > /dev/null
	send_as $OWNER "$c" 'revokeNode(address)' "$n" > /dev/null
	refused 'Revoked(address)' $NODE2 "$c" "$SIG_REGISTER" 127.0.0.3:7946 "$PUB2" 1000 1024 '[]'
	send_as $OWNER "$c" 'setRegistrationOpen(bool)' true > /dev/null
	refused 'Revoked(address)' $NODE2 "$c" "$SIG_REGISTER" 127.0.0.3:7946 "$PUB2" 1000 1024 '[]'
	send_as $OWNER "$c" 'setRegistrationOpen(bool)' false > /dev/null
	[ "$(call "$c" 'nodeCount()(uint256)')" = 0 ]
	refused 'NotAdmin(address)' $NODE2 "$c" 'readmitNode(address)' "$n"
	refused 'NotRevoked(address)' $OWNER "$c" 'readmitNode(address)' "$(addr_of $NODE3)"
	r=$(send_as $OWNER "$c" 'readmitNode(address)' "$n")
	gas readmitNode "$r"
	send_as $NODE2 "$c" "$SIG_REGISTER" 127.0.0.3:7946 "$PUB2" 1000 1024 '[]' > /dev/null
	[[ "$(call "$c" "getNode(address)($NODE_T)" "$n")" == *', false, 0)' ]]
	# approved again, it is the newest active node: an activation is never given twice
	send_as $OWNER "$c" 'approveNode(address)' "$n" > /dev/null
	[[ "$(call "$c" "getNode(address)($NODE_T)" "$n")" == *', true, 2)' ]]
	# a node that leaves of its own accord is not revoked
	send_as $NODE2 "$c" 'unregisterNode()' > /dev/null
	send_as $NODE2 "$c" "$SIG_REGISTER" 127.0.0.3:7946 "$PUB2" 1000 1024 '[]' > /dev/null
}

@test "a swim public key belongs to one address" {
	c=$(deploy_canteen $OWNER)
	send_as $NODE1 "$c" "$SIG_REGISTER" 127.0.0.2:7946 "$PUB1" 1000 1024 '[]' > /dev/null
	refused 'SwimKeyTaken(bytes32,address)' $NODE2 "$c" "$SIG_REGISTER" 127.0.0.3:7946 "$PUB1" 1000 1024 '[]'
	[ "$(call "$c" 'nodeCount()(uint256)')" = 1 ]
	# a key given up (changed, or its node gone) is free again
	send_as $NODE1 "$c" "$SIG_REGISTER" 127.0.0.2:7946 "$PUB2" 1000 1024 '[]' > /dev/null
	send_as $NODE2 "$c" "$SIG_REGISTER" 127.0.0.3:7946 "$PUB1" 1000 1024 '[]' > /dev/null
	refused 'SwimKeyTaken(bytes32,address)' $NODE3 "$c" "$SIG_REGISTER" 127.0.0.4:7946 "$PUB2" 1000 1024 '[]'
	send_as $NODE1 "$c" 'unregisterNode()' > /dev/null
	send_as $NODE3 "$c" "$SIG_REGISTER" 127.0.0.4:7946 "$PUB2" 1000 1024 '[]' > /dev/null
	[ "$(call "$c" 'swimKeyHolder(bytes32)(address)' "$PUB2" | tr A-F a-f)" = "$(addr_of $NODE3)" ]
}

@test "ownership moves in two steps: proposed, then accepted by the new owner only" {
	c=$(deploy_canteen $OWNER)
	send_as $OWNER "$c" 'transferOwnership(address)' "$(addr_of $STRANGER)" > /dev/null
	# until accepted, the old owner stays and the proposal can be replaced
	[ "$(call "$c" 'owner()(address)' | tr A-F a-f)" = "$(addr_of $OWNER)" ]
	[ "$(call "$c" 'pendingOwner()(address)' | tr A-F a-f)" = "$(addr_of $STRANGER)" ]
	refused 'NotPendingOwner(address)' $ADMIN "$c" 'acceptOwnership()'
	send_as $OWNER "$c" 'transferOwnership(address)' "$(addr_of $ADMIN)" > /dev/null
	refused 'NotPendingOwner(address)' $STRANGER "$c" 'acceptOwnership()'
	send_as $OWNER "$c" 'setRegistrationOpen(bool)' true > /dev/null
	send_as $ADMIN "$c" 'acceptOwnership()' > /dev/null
	[ "$(call "$c" 'owner()(address)' | tr A-F a-f)" = "$(addr_of $ADMIN)" ]
	[ "$(call "$c" 'pendingOwner()(address)')" = 0x0000000000000000000000000000000000000000 ]
	refused 'NotOwner(address)' $OWNER "$c" 'setRegistrationOpen(bool)' false
	refused 'NotPendingOwner(address)' $ADMIN "$c" 'acceptOwnership()'
}
