/* eth_canteen.h: the Canteen contract's records as canteen's interface objects (NODE, SERVICE). */
#ifndef CANTEEN_ETH_CANTEEN_H
#define CANTEEN_ETH_CANTEEN_H

#include <jansson.h>

/*
 * rec is a record as abi_call_decode / abi_log_decode give it (fields by their
 * Solidity names: addr, endpoint, swimPubKey, cpuMillis, memMiB, labels, active; or
 * name, image, command, env, replicas, cpuMillis, memMiB, ports, priority, strategy,
 * exclusive, selector, generation). The result is the NODE / SERVICE object of the
 * chain.sock interface (address, endpoint, swim_pubkey without 0x, cpu_millis, mem_mib,
 * labels {k:v}, active; ports with proto "tcp"/"udp", strategy by name, selector {k:v}).
 * NULL if a field is missing. Caller owns the result.
 */
json_t *eth_canteen_node(const json_t *rec);
json_t *eth_canteen_service(const json_t *rec);
/* ["k=v", ...] into {"k":"v"}; items without '=' are skipped. */
json_t *eth_canteen_kv(const json_t *list);
/* "spread", "roundrobin", "binpack", or "unknown". */
const char *eth_canteen_strategy(json_int_t s);

#endif
