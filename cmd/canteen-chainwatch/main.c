/* main.c: canteen-chainwatch (not implemented yet: says so plainly). */
/* OWNERSHIP NOTE (lead, 12:35 UTC): the "chainwatch" helper now writes canteen-chainwatch
 * (cmd/canteen-chainwatch/, tests/chainwatch.bats, man/canteen-chainwatch.8, bench/chain's
 * catch-up part). The contract helper keeps contracts/, tests/contract*.bats, tests/lib/anvil.bash,
 * man/canteen-events.7's chain section and bench/chain's gas part: do not edit this directory. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("canteen-chainwatch %s\n", CANTEEN_VERSION);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		printf("usage: canteen-chainwatch [options]\ncanteen-chainwatch is not implemented yet.\n");
		return 0;
	}
	fprintf(stderr, "canteen-chainwatch: not implemented yet\n");
	return 1;
}
