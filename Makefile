# canteen: build every program into bin/, the shared code into one static library.
#
#   make              build (objects in build/, programs in bin/)
#   make check        install missing test dependencies, build, run every test
#   make check SAN=1  the same with AddressSanitizer + UndefinedBehaviorSanitizer
#   make check T=swim only tests whose file name contains "swim"
#   make demo         a local cluster (bin/canteen up); DEMO_FLAGS=--detach to return
#   make fuzz         every fuzz target built with clang's libFuzzer into build/fuzz/ and run
#                     in turn (FUZZ_TIME=10 s each; bench/fuzz.tsv); make fuzz-build only builds
#   make bench        every benchmark; writes bench/README.md (bench/run)
#   make install      PREFIX=/usr/local DESTDIR=
#   B=dir             put build/ and bin/ under dir (parallel builds of one tree)

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
PKG_CONFIG ?= pkg-config
PKGS     := libcurl jansson libsodium libsecp256k1

ifeq ($(SAN),1)
B        ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B        ?= .
SANFLAGS :=
endif

OBJ      := $(B)/build/obj
BIN      := $(B)/bin
TBIN     := $(B)/build/tests

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Werror
ALL_CFLAGS := $(WARN) -D_GNU_SOURCE -DCANTEEN_VERSION='"$(VERSION)"' -Icommon $(PKG_CFLAGS) \
              $(SANFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS := $(SANFLAGS) $(LDFLAGS)
LIBS     := $(PKG_LIBS) -lm

PROGS    := canteen canteen-init canteen-swim canteen-chainwatch canteen-sched canteen-dockerd
COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(OBJ)/%.o)
LIB      := $(B)/build/libcanteen.a
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(TBIN)/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(TBIN)/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(TBIN)/%)
MAN      := $(wildcard man/*.[1-8])

all: $(PROGS:%=$(BIN)/%)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

# The libraries each program links: only those its code uses (canteen-init signs nothing
# and talks to no Ethereum node, so it links neither libsecp256k1 nor libcurl). A missing
# one is a link error, so this list cannot silently go stale.
canteen_PKGS            := libcurl jansson libsodium libsecp256k1
canteen-init_PKGS       := jansson
canteen-swim_PKGS       := jansson libsodium libsecp256k1
canteen-chainwatch_PKGS := libcurl jansson libsodium
canteen-sched_PKGS      := jansson libsodium libsecp256k1
canteen-dockerd_PKGS    := libcurl jansson libsodium libsecp256k1

define prog_rule
$(1)_OBJ := $$(patsubst %.c,$$(OBJ)/%.o,$$(wildcard cmd/$(1)/*.c))
$(1)_LIBS := $$(shell $$(PKG_CONFIG) --libs $$($(1)_PKGS) 2>/dev/null) -lm
$$(BIN)/$(1): $$($(1)_OBJ) $$(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$($(1)_OBJ) $$(LIB) $$($(1)_LIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

$(TBIN)/test_%: $(OBJ)/tests/unit/test_%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

# Fuzz targets: built with a replay/random driver for make check, with libFuzzer by `make fuzz`.
$(TBIN)/fuzz_%: $(OBJ)/tests/fuzz/fuzz_%.o $(OBJ)/tests/fuzz/driver.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Test tools (one file each) that bats files drive: $(TBIN)/<name>.
$(TBIN)/%: $(OBJ)/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

tests: $(UNIT_BIN) $(FUZZ_BIN) $(TOOL_BIN)

# Area makefiles (contracts, benches) add their own targets here.
-include mk/*.mk

check:
	tests/deps.sh
	$(MAKE) all tests
	@CANTEEN_BIN=$(abspath $(BIN)) CANTEEN_TBIN=$(abspath $(TBIN)) T='$(T)' SAN='$(SAN)' \
	  tests/run.sh

deps:
	tests/deps.sh

# The README's first command: a local 3-node cluster with a sample service (Ctrl-C stops it).
demo:
	tests/deps.sh
	$(MAKE) all
	$(BIN)/canteen up $(DEMO_FLAGS)

# make fuzz: every tests/fuzz/fuzz_<name>.c linked with clang's libFuzzer (ASan + UBSan) into
# build/fuzz/fuzz_<name>; the shared code is compiled once for all of them. Not part of check:
#   build/fuzz/fuzz_ipc_line -max_total_time=60 tests/fuzz/corpus/ipc_line
FUZZ_CC  ?= clang
FUZZ_DIR := $(B)/build/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := $(WARN) -D_GNU_SOURCE -DCANTEEN_VERSION='"$(VERSION)"' -Icommon $(PKG_CFLAGS) \
               -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/libcanteen.a: $(COMMON_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_DIR)/libcanteen.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LIBS)

fuzz-build: $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)

# make fuzz builds every target and runs each in turn (tests/fuzz/run.sh), recording its
# executions in bench/fuzz.tsv: FUZZ_TIME=seconds per target (10), FUZZ_RUNS=n, FUZZ_ONLY=x.
fuzz: fuzz-build
	FUZZ_DIR=$(FUZZ_DIR) tests/fuzz/run.sh
.SECONDARY: $(FUZZ_SRC:%.c=$(FUZZ_DIR)/obj/%.o)

# make bench: every benchmark (bench/run: failover, SWIM, placement, footprint, containers, gas
# and catch-up, convergence), then bench/README.md written again from the results.
bench: all
	bench/run

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7 \
	  $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)/etc/canteen $(DESTDIR)/etc/systemd/system
	install -m 0755 $(PROGS:%=$(BIN)/%) $(DESTDIR)$(PREFIX)/bin/
	for m in $(MAN); do s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done
	for f in etc/canteen/*; do \
	  t=$(DESTDIR)/etc/canteen/$$(basename $$f); [ -e $$t ] || install -m 0644 $$f $$t; done
	sed 's|@PREFIX@|$(PREFIX)|g' etc/systemd/canteen.service > $(DESTDIR)/etc/systemd/system/canteen.service
	chmod 0644 $(DESTDIR)/etc/systemd/system/canteen.service

clean:
	rm -rf build bin

.PHONY: all check demo deps fuzz fuzz-build bench install clean tests

-include $(shell find $(OBJ) $(B)/build/fuzz -name '*.d' 2>/dev/null)
