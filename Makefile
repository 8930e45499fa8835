# whopper - deterministic concurrent stress tester for SQLite.
#
#   make            build bin/whopper
#   make run        build, then a short multi-seed stress session
#   make test       build and run the test suite
#   make bench      committed benchmarks (figures printed as ratios)
#   make bench-find CPU-seconds to first detection of each finding, plain
#                   nightly vs --explore (about 16 minutes on 2 cores)
#   make bench-targets  the simulation vs real threads and processes:
#                   throughput and time to first detection (up to 40 min)
#   make deps       install Debian build dependencies (as root)
#   make SANITIZE=address,undefined test   sanitizer build of the same
#   make sqlite-lib SQLITE_SRC=sqlite3.c    an SQLite to test (--target-lib)
#   make sqlite-ladder [SQLITE_FETCH=1]     a ladder of them (whopper versions)
#
# Objects go to build/ (or build-san/ for sanitizer builds).

CC ?= cc
PKGS := sqlite3 libuv
PKG_DEBS := sqlite3:libsqlite3-dev libuv:libuv1-dev cmocka:libcmocka-dev

# Which Debian packages are missing (pkg-config itself counts).
missing_debs = $(if $(shell command -v pkg-config),,pkg-config) \
	$(foreach p,$(PKG_DEBS),$(if $(shell pkg-config --exists $(word 1,$(subst :, ,$(p))) 2>/dev/null && echo ok),,$(word 2,$(subst :, ,$(p)))))
ifneq ($(filter-out deps clean,$(MAKECMDGOALS))$(if $(MAKECMDGOALS),,all),)
MISSING := $(strip $(missing_debs))
ifneq ($(MISSING),)
ifeq ($(shell id -u),0)
# As root on Debian, install what is missing, then look again.
$(info make: installing missing build dependencies: $(MISSING))
INSTALL_RC := $(shell (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends build-essential $(MISSING)) >&2; echo $$?)
MISSING := $(strip $(missing_debs))
endif
endif
ifneq ($(MISSING),)
$(error missing build dependencies: Debian packages $(MISSING) (run 'make deps' as root, or apt-get install them))
endif
endif

OPT ?= -O2
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g $(OPT) -MMD -MP \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS_BASE := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

ifdef SANITIZE
BUILD := build-san
CFLAGS_BASE += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS_BASE += -fsanitize=$(SANITIZE)
else
BUILD := build
endif

WHOPPER_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
CFLAGS := $(CFLAGS_BASE) $(EXTRA_CFLAGS)
LDLIBS := $(LDLIBS_BASE)

# --- layers ---
# engine/ at the bottom knows nothing above it; workloads/ and oracle/
# know only engine/; whopper/ (the commands) sits on top. Each folder sees
# its own headers and those below it only (-iquote), so an upward include
# fails to compile, and each folder is its own static library, linked top
# down, so an upward call fails to link. Tests and benches see everything.
INC_engine := -iquote engine
INC_workloads := -iquote workloads -iquote engine
INC_oracle := -iquote oracle -iquote engine
INC_whopper := -iquote whopper -iquote oracle -iquote workloads -iquote engine
INC_ALL := $(INC_whopper)
# The include path of the folder an object's source lives in.
inc_for = $(INC_$(firstword $(subst /, ,$(1))))

ENGINE_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard engine/*.c)) \
	$(patsubst %.S,$(BUILD)/%.o,$(wildcard engine/*.S))
WORKLOADS_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard workloads/*.c))
ORACLE_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard oracle/*.c))
# Top down: a library may use only those after it.
LIBS := $(BUILD)/liboracle.a $(BUILD)/libworkloads.a $(BUILD)/libengine.a
LIB_OBJ = $(ENGINE_OBJ) $(WORKLOADS_OBJ) $(ORACLE_OBJ)
# --- end layers ---

# --- workloads: embedded built-ins and fuzz ---
# The built-in workload files are compiled into the library: a generated C
# source holds their bytes, so bin/whopper needs no files at run time.
# `make fuzz` runs the workload loader's libFuzzer target (clang) for
# FUZZ_SECONDS, starting from the built-in files. (The rules below come
# before `all`, so the default goal is named explicitly.)
.DEFAULT_GOAL := all
WL_FILES := $(sort $(wildcard workloads/*.sql))
WL_GEN := $(BUILD)/gen/wl_builtin_files.c
WORKLOADS_OBJ += $(BUILD)/gen/wl_builtin_files.o
$(WL_GEN): $(WL_FILES) scripts/embed-workloads.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-workloads.sh $(WL_FILES) >$@.tmp && mv $@.tmp $@
$(BUILD)/gen/wl_builtin_files.o: $(WL_GEN)
	$(CC) $(CFLAGS) $(INC_workloads) -c $< -o $@

# The catalogue of known findings is embedded the same way (oracle/triage.c).
KF_FILE := oracle/known-findings.txt
KF_GEN := $(BUILD)/gen/known_findings.c
ORACLE_OBJ += $(BUILD)/gen/known_findings.o
$(KF_GEN): $(KF_FILE) scripts/embed-findings.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-findings.sh $(KF_FILE) >$@.tmp && mv $@.tmp $@
$(BUILD)/gen/known_findings.o: $(KF_GEN)
	$(CC) $(CFLAGS) $(INC_oracle) -c $< -o $@

FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_BIN := $(FUZZ_DIR)/fuzz_workload
FUZZ_SRC := tests/fuzz_workload.c $(wildcard workloads/*.c) engine/wh.c engine/prng.c engine/sqlapi.c engine/rcname.c \
	$(wildcard engine/tape.c) engine/history.c engine/value.c
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	$(shell pkg-config --cflags sqlite3 2>/dev/null) $(INC_workloads)
.PHONY: fuzz
$(FUZZ_BIN): $(FUZZ_SRC) $(WL_GEN) $(wildcard workloads/*.h engine/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRC) $(WL_GEN) \
		$(shell pkg-config --libs sqlite3 2>/dev/null) -lm
fuzz: $(FUZZ_BIN)
	@mkdir -p $(FUZZ_DIR)/corpus
	@cp $(WL_FILES) $(FUZZ_DIR)/corpus/
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=20 \
		-rss_limit_mb=2048 -print_final_stats=1 $(FUZZ_DIR)/corpus
# --- end workloads ---
CLI_SRC := $(wildcard whopper/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

ifdef SANITIZE
WHOPPER := $(BUILD)/bin/whopper
else
WHOPPER := bin/whopper
endif

.PHONY: all run test bench bench-find bench-targets deps clean valgrind install sqlite-lib sqlite-ladder
PREFIX ?= /usr/local
all: $(WHOPPER)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call inc_for,$*) -c $< -o $@

# The replay file header names the commit that built the binary.
$(BUILD)/whopper/replay.o: whopper/replay.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_whopper) -DWHOPPER_COMMIT='"$(WHOPPER_COMMIT)"' -c $< -o $@

$(BUILD)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call inc_for,$*) -c $< -o $@

$(BUILD)/libengine.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libworkloads.a: $(WORKLOADS_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/liboracle.a: $(ORACLE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(WHOPPER): $(CLI_OBJ) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -rdynamic -o $@ $(CLI_OBJ) $(LIBS) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(LIBS) tests/test_util.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_ALL) -iquote tests -o $@ $< $(LIBS) $(LDLIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/bench/%: bench/%.c $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_ALL) -o $@ $< $(LIBS) $(LDLIBS)

# Runs every cmocka binary and the end-to-end script; prints one closing
# line with the totals.
test: $(TEST_BIN) $(WHOPPER)
	@WHOPPER=$(WHOPPER) BUILD=$(BUILD) sh scripts/run-tests.sh $(TEST_BIN)

# The cmocka suites under valgrind (stack switches are registered with it).
# The suites that drive many long seeded runs (detect, faults, workloads)
# take too long under valgrind for CI; they run under ASan instead.
# The slowest suite comes first so that the lanes (one per processor) end
# together; each suite's valgrind report is printed whole when it fails.
VALGRIND_TESTS ?= stream completion fiber sched simvfs history oracle replay elle findings world shrink_setup target
VALGRIND_BIN := $(VALGRIND_TESTS:%=$(BUILD)/tests/test_%)
VALGRIND_JOBS ?= $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
valgrind: $(VALGRIND_BIN)
	@printf '%s\n' $(VALGRIND_BIN) | xargs -P $(VALGRIND_JOBS) -I{} sh -c \
		'echo "== valgrind {}"; WH_TEST_QUICK=1 valgrind -q --error-exitcode=9 --leak-check=full \
		--errors-for-leak-kinds=definite --log-file={}.valgrind {} >{}.out 2>&1 || \
		{ cat {}.out {}.valgrind; echo "!! valgrind {} failed"; exit 255; }'
	@echo "valgrind: no errors"

run: $(WHOPPER)
	@sh scripts/stress.sh $(WHOPPER)

# Every benchmark runs; the target fails at the end if any missed its
# number, naming which.
bench: $(BENCH_BIN) $(WHOPPER)
	@failed=""; \
	for b in $(BENCH_BIN); do echo "== $$b"; $$b || failed="$$failed $$b"; done; \
	for b in $(filter-out bench/bench_find.sh,$(wildcard bench/bench_*.sh)); do \
		echo "== $$b"; sh $$b $(WHOPPER) || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "bench: missed its number:$$failed"; exit 1; fi

# CPU-seconds the nightly needs to first detect each catalogued finding
# and planted VFS defect, plain and --explore, median over 10 base seeds
# with a cap of 60 CPU-seconds (bench/bench_find.sh; BENCH_FIND_SEEDS,
# BENCH_FIND_CAP, BENCH_FIND_JOBS, BENCH_FIND_MODES change them). Too long for `make bench`:
# about 16 minutes on 2 cores, most of it seeds that reach the cap.
bench-find: $(WHOPPER)
	@sh bench/bench_find.sh $(WHOPPER)

# The simulation (both lock models) beside --target threads and
# --target processes: transactions per second and CPU-seconds to first
# detection of each planted defect and catalogued finding, BUDGET
# CPU-seconds (default 120) and WALL_CAP seconds per cell
# (bench/bench_targets.sh). Up to 40 minutes on 2 cores.
bench-targets: $(WHOPPER)
	@sh bench/bench_targets.sh $(WHOPPER)

# An SQLite to test with --target-lib, built from an amalgamation into
# build/sqlite/VERSION[-debug]/libsqlite3.so (scripts/build-sqlite.sh):
#   make sqlite-lib SQLITE_SRC=path/to/sqlite3.c [SQLITE_DEBUG=1] [SQLITE_OPT=-O1]
#   make sqlite-lib SQLITE_NPM=12.9.0      (fetches better-sqlite3's copy)
sqlite-lib:
	@if [ -z "$(SQLITE_SRC)$(SQLITE_NPM)" ]; then echo "make sqlite-lib: give SQLITE_SRC=path/to/sqlite3.c or SQLITE_NPM=VERSION" >&2; exit 2; fi
	@sh scripts/build-sqlite.sh $(if $(SQLITE_DEBUG),--debug) $(if $(SQLITE_OPT),--opt $(SQLITE_OPT)) \
		$(if $(SQLITE_NPM),--npm $(SQLITE_NPM),$(SQLITE_SRC))

# A ladder of SQLite versions, the same compile options for each, into
# build/sqlite-ladder/VERSION-ID/ (scripts/sqlite-ladder.sh); the paths,
# oldest first, on stdout:
#   make sqlite-ladder [SQLITE_LADDER="7.6.2 path/to/sqlite3.c ..."] [SQLITE_FETCH=1]
#       [SQLITE_DEBUG=1] [SQLITE_OPT=-O1]
# Nothing is fetched without SQLITE_FETCH=1.
sqlite-ladder:
	@sh scripts/sqlite-ladder.sh $(if $(SQLITE_FETCH),--fetch) $(if $(SQLITE_DEBUG),--debug) \
		$(if $(SQLITE_OPT),--opt $(SQLITE_OPT)) $(SQLITE_LADDER)

# Built-in workloads are embedded, so the binary alone is the install.
install: $(WHOPPER)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(WHOPPER) $(DESTDIR)$(PREFIX)/bin/whopper

deps:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		build-essential pkg-config libsqlite3-dev libuv1-dev libcmocka-dev valgrind

clean:
	rm -rf build build-san bin

# Tests and benches include CLI sources (#include "nightly_results.c"):
# their dependency files make a changed source rebuild them.
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_BIN:=.d) $(BENCH_BIN:=.d)
