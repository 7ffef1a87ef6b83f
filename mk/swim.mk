# swim.mk: canteen-swim's test tool (swim_tool: keys and hostile packets) and what bench/gossip needs.

swim-tools: $(TBIN)/swim_tool $(TBIN)/ipc_tool

bench-gossip: $(BIN)/canteen-swim swim-tools

.PHONY: swim-tools bench-gossip
