# contracts.mk: `make contracts` regenerates the checked-in ABI and bytecode of Canteen.sol
# with the pinned solc (tests/node); tests/contract_artifacts.bats fails when they drift.
# Deliberately not a file rule: a fresh clone's timestamps must never make an ordinary
# build recompile the contract (or need solc at all).

contracts:
	contracts/compile.sh contracts

.PHONY: contracts
