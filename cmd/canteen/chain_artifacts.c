/* chain_artifacts.c: the Canteen contract's ABI and bytecode, embedded at build time (mk/eth.mk). */
#include "canteen_artifacts.h"
#include "chain.h"

const char *chain_abi_json(void)
{
	return canteen_abi_json;
}

const char *chain_bin_hex(void)
{
	return canteen_bin_hex;
}
