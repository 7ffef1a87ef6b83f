#!/usr/bin/env bats
# contract_artifacts.bats: the checked-in ABI and bytecode are what the pinned solc makes
# of contracts/Canteen.sol (run `make contracts` after changing the source).
load lib/common

@test "solc is the pinned version" {
	run "$TOP/tests/node/node_modules/.bin/solcjs" --version
	[ "$status" -eq 0 ]
	[[ "$output" == 0.8.28+* ]]
}

@test "contracts/Canteen.abi.json and Canteen.bin match a fresh compile" {
	out=$BATS_TEST_TMPDIR/art
	run "$TOP/contracts/compile.sh" "$out"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	cmp "$out/Canteen.bin" "$TOP/contracts/Canteen.bin" ||
		{ echo "Canteen.bin drifted from Canteen.sol: run make contracts"; false; }
	cmp "$out/Canteen.abi.json" "$TOP/contracts/Canteen.abi.json" ||
		{ echo "Canteen.abi.json drifted from Canteen.sol: run make contracts"; false; }
}
