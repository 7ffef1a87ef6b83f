# sched.mk: the placement benchmark driver (bench/sched builds and runs it).

SCHED_BENCH := $(B)/build/bench/sched

$(SCHED_BENCH): $(OBJ)/bench/sched.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

bench-sched: $(SCHED_BENCH)

.PHONY: bench-sched
