# contracts.mk: `make contracts` regenerates the checked-in ABI and bytecode of Canteen.sol
# with the pinned solc; tests/contract_artifacts.bats fails when they drift from the source.

contracts: contracts/Canteen.abi.json contracts/Canteen.bin

contracts/Canteen.abi.json contracts/Canteen.bin &: contracts/Canteen.sol contracts/compile.sh
	contracts/compile.sh contracts

.PHONY: contracts
