/* test_eth_header.c: block hashes recomputed from headers that anvil and hardhat gave. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/eth_header.h"
#include "tap.h"

/* anvil 1.x, genesis, Prague: every field up to requestsHash. */
static const char anvil_genesis[] =
	"{\"hash\":\"0xfd2567b1adc461c2e8c21d9544982e95d3cf142c023e0de36a9384ee54ae2373\",\"parentHas"
	"h\":\"0x0000000000000000000000000000000000000000000000000000000000000000\",\"sha3Uncles\":\""
	"0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347\",\"miner\":\"0x000000000"
	"0000000000000000000000000000000\",\"stateRoot\":\"0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b"
	"996cadc001622fb5e363b421\",\"transactionsRoot\":\"0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b"
	"996cadc001622fb5e363b421\",\"receiptsRoot\":\"0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996c"
	"adc001622fb5e363b421\",\"logsBloom\":\"0x000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"0\",\"difficulty\":\"0x0\",\"number\":\"0x0\",\"gasLimit\":\"0x1c9c380\",\"gasUsed\":\"0x0\""
	",\"timestamp\":\"0x6b0ad999\",\"extraData\":\"0x\",\"mixHash\":\"0x0000000000000000000000000"
	"000000000000000000000000000000000000000\",\"nonce\":\"0x0000000000000000\",\"baseFeePerGas\""
	":\"0x3b9aca00\",\"withdrawalsRoot\":\"0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc00162"
	"2fb5e363b421\",\"blobGasUsed\":\"0x0\",\"excessBlobGas\":\"0x0\",\"parentBeaconBlockRoot\":"
	"\"0x0000000000000000000000000000000000000000000000000000000000000000\",\"requestsHash\":\"0x"
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\",\"totalDifficulty\":\"0x0"
	"\",\"size\":\"0x267\",\"uncles\":[],\"transactions\":[],\"withdrawals\":[]}";

/* hardhat 2.29 (its default hardfork), block 1 holding one transfer. */
static const char hardhat_block[] =
	"{\"hash\":\"0x5dafb4e541fd238e8041dbfa750352f20f6e8b2e8f693b78ab7a59c8c2923034\",\"parentHas"
	"h\":\"0x49214cec9c24b98548a9279dce07cc5d7344bb0ca6d964454b41a48db8969381\",\"sha3Uncles\":\""
	"0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347\",\"stateRoot\":\"0xb2370"
	"2fa8fbcdd9b03d27115606024ce5545a344226a10c89a9cea6e746df8d5\",\"transactionsRoot\":\"0x996b2"
	"d55ac49495f58e6309c593609a9b4b8914e39e85345688f90b35930010d\",\"receiptsRoot\":\"0xf78dfb743"
	"fbd92ade140711c8bbc542b5e307f0ab7984eff35d751969fe57efa\",\"number\":\"0x1\",\"gasUsed\":\"0"
	"x5208\",\"gasLimit\":\"0x3938700\",\"extraData\":\"0x\",\"logsBloom\":\"0x000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000\",\"timestamp\":\"0x6b0ad9c0\",\"difficulty\":\"0x0\",\"m"
	"ixHash\":\"0xf4fbfa6c8463f342eb58838d8c6b0661faf22e7076a518bf4deaddbf3fa8a112\",\"nonce\":\""
	"0x0000000000000000\",\"baseFeePerGas\":\"0x342770c0\",\"miner\":\"0xc014ba5ec014ba5ec014ba5e"
	"c014ba5ec014ba5e\",\"withdrawalsRoot\":\"0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc00"
	"1622fb5e363b421\",\"blobGasUsed\":\"0x0\",\"excessBlobGas\":\"0x0\",\"parentBeaconBlockRoot"
	"\":\"0xdd8876ba5af271ae9d93ececb192d6a7b4e6094ca5999756336279fd796b8619\",\"requestsHash\":"
	"\"0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}";

/* hardhat 2.29 with hardfork "london": proof-of-work fields, nothing after baseFeePerGas. */
static const char london_block[] =
	"{\"hash\":\"0xd1c103d6c8cf4f7f49e3eb3d191514b368ba1a0e61b27bbb000d70db0f1fdca6\",\"parentHas"
	"h\":\"0x34e2b17e1d5d80e0f8fe01fcc3e1e4ffef2afffea633132493528c505065fafb\",\"sha3Uncles\":\""
	"0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347\",\"stateRoot\":\"0xc5aad"
	"c85895742299277e26c3a506e80b917255b2ee57ea0cd66cf5b73723ab9\",\"transactionsRoot\":\"0x996b2"
	"d55ac49495f58e6309c593609a9b4b8914e39e85345688f90b35930010d\",\"receiptsRoot\":\"0xf78dfb743"
	"fbd92ade140711c8bbc542b5e307f0ab7984eff35d751969fe57efa\",\"number\":\"0x1\",\"gasUsed\":\"0"
	"x5208\",\"gasLimit\":\"0x3938700\",\"extraData\":\"0x\",\"logsBloom\":\"0x000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000\",\"timestamp\":\"0x6b0ad9c0\",\"difficulty\":\"0x20000\""
	",\"mixHash\":\"0x0000000000000000000000000000000000000000000000000000000000000000\",\"nonce"
	"\":\"0x0000000000000042\",\"baseFeePerGas\":\"0x342770c0\",\"miner\":\"0xc014ba5ec014ba5ec01"
	"4ba5ec014ba5ec014ba5e\"}";

static json_t *load(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);
	if (!j)
		abort();
	return j;
}

/* check() of text with field set to value (NULL: removed). */
static int check_with(const char *text, const char *field, const char *value, char *why, size_t len)
{
	json_t *b = load(text);
	if (value)
		json_object_set_new(b, field, json_string(value));
	else
		json_object_del(b, field);
	int r = eth_header_check(b, why, len);
	json_decref(b);
	return r;
}

int main(void)
{
	char why[256];
	const char *blocks[] = {anvil_genesis, hardhat_block, london_block};
	const char *names[] = {"anvil genesis (Prague)", "hardhat block 1", "hardhat london block 1"};
	for (size_t i = 0; i < 3; i++)
		is_int(check_with(blocks[i], "size", NULL, why, sizeof why), 1, "%s: its hash is its header's", names[i]);

	/* a liar's rewritten hash, and a rewritten field under the true hash */
	is_int(check_with(anvil_genesis, "hash",
	                  "0x3732ea45ee4839a63ed0e320c241fc3d59e2894459d12c8e2c164cda1b7652df", why, sizeof why),
	       0, "a reversed hash is caught");
	ok(strstr(why, "is not the keccak of its header") != NULL, "why names the hash: %s", why);
	is_int(check_with(hardhat_block, "stateRoot",
	                  "0x0000000000000000000000000000000000000000000000000000000000000001", why, sizeof why),
	       0, "a rewritten state root under the true hash is caught");
	is_int(check_with(london_block, "timestamp", "0x6b0ad9c1", why, sizeof why), 0, "a timestamp one second off");
	is_int(check_with(london_block, "difficulty", "0x20001", why, sizeof why), 0, "a difficulty one off");
	is_int(check_with(hardhat_block, "extraData", "0x00", why, sizeof why), 0, "extra data of one zero byte");
	is_int(check_with(anvil_genesis, "requestsHash", NULL, why, sizeof why), 0,
	       "a Prague header without its requestsHash hashes otherwise");
	/* quantities with leading zeros still denote the same number */
	is_int(check_with(london_block, "number", "0x01", why, sizeof why), 1, "number 0x01 is 1");

	/* what cannot be told: missing or malformed fields, a layout with a gap */
	is_int(check_with(hardhat_block, "stateRoot", NULL, why, sizeof why), -1, "no stateRoot");
	is_str(why, "the block has no stateRoot", "why: %s", why);
	is_int(check_with(hardhat_block, "miner", "0x00", why, sizeof why), -1, "a short miner");
	is_int(check_with(hardhat_block, "gasUsed", "5208", why, sizeof why), -1, "a quantity without 0x");
	is_int(check_with(hardhat_block, "nonce", "0x0000000000000000000042", why, sizeof why), -1, "an 11-byte nonce");
	is_int(check_with(anvil_genesis, "withdrawalsRoot", NULL, why, sizeof why), -1,
	       "blobGasUsed without withdrawalsRoot");
	ok(strstr(why, "but not withdrawalsRoot") != NULL, "why: %s", why);
	is_int(check_with(hardhat_block, "hash", "0x12", why, sizeof why), -1, "a short hash");
	json_t *arr = json_array();
	is_int(eth_header_check(arr, why, sizeof why), -1, "not an object");
	json_decref(arr);
	json_t *b = load(hardhat_block);
	json_object_set_new(b, "gasLimit", json_integer(60000000));
	is_int(eth_header_check(b, why, sizeof why), -1, "a number where a string belongs");
	json_decref(b);

	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}
