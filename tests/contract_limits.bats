#!/usr/bin/env bats
# contract_limits.bats: the limits and tables in common/rec.h are the ones contracts/Canteen.sol
# enforces (read out of the source, as contract_artifacts.bats checks the compiled artifacts).
load lib/common

sol_constants() {
	sed -nE 's/^[[:space:]]*uint(256|8) public constant ([A-Z_]+) = ([0-9]+);.*/\2 \3/p' \
		"$TOP/contracts/Canteen.sol" | sort
}

@test "every constant of Canteen.sol has the same value in rec.h, and rec.h has no other" {
	local sol c
	sol=$(sol_constants)
	[ "$(echo "$sol" | wc -l)" -ge 14 ] || { echo "read too few constants: $sol"; false; }
	c=$("$TBIN/rec_tool" limits | sort)
	diff <(echo "$sol") <(echo "$c") || { echo "rec.h and Canteen.sol disagree (left: Canteen.sol)"; false; }
}

@test "the grammar of a service name in Canteen.sol is the one rec.h checks" {
	# _checkName: [a-z], [0-9], and '-' anywhere but first; length 1..MAX_NAME.
	grep -q 'bool ok = (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || (c == "-" && i > 0);' \
		"$TOP/contracts/Canteen.sol"
	grep -q 'if (b.length == 0 || b.length > MAX_NAME) revert InvalidName(name);' "$TOP/contracts/Canteen.sol"
	# and the generated verdicts for names at the edge:
	run "$TBIN/rec_tool" check <<-'EOF'
		{"name":"a-1","image":"x","replicas":1}
		{"name":"-a","image":"x","replicas":1}
		{"name":"A","image":"x","replicas":1}
		{"name":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","image":"x","replicas":1}
		{"name":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","image":"x","replicas":1}
	EOF
	[ "${lines[0]}" = ok ] && [ "${lines[3]}" = ok ]
	[[ "${lines[1]}" == contract:* ]] && [[ "${lines[2]}" == contract:* ]] && [[ "${lines[4]}" == contract:* ]]
}

@test "each record grammar is implemented once in C" {
	cd "$TOP"
	# The service-name character class, the strategy names and the 0x-address check live in
	# common/rec.c only (tests and tools aside).
	[ "$(grep -rlF "== '-' && i > 0" common cmd | sort | tr '\n' ' ')" = "common/rec.c " ]
	[ "$(grep -rl --include='*.c' '"roundrobin"' common cmd | sort | tr '\n' ' ')" = "common/rec.c " ]
	[ "$(grep -rlE --include='*.c' '(==|!=) (42|REC_ADDR_LEN|DOCKER_NODE_LEN)\b' common cmd | sort | tr '\n' ' ')" = "common/rec.c " ]
	[ "$(grep -rl 'path-component' common cmd | sort | tr '\n' ' ')" = "common/rec.c " ]
}
