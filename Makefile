# whopper - deterministic concurrent stress tester for SQLite.
#
#   make            build bin/whopper
#   make run        build, then a short multi-seed stress session
#   make test       build and run the test suite
#   make bench      committed benchmarks (figures printed as ratios)
#   make deps       install Debian build dependencies (as root)
#   make SANITIZE=address,undefined test   sanitizer build of the same
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
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null) -Iengine -Ioracle -Iworkloads -Iwhopper
LDLIBS_BASE := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

ifdef SANITIZE
BUILD := build-san
CFLAGS_BASE += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS_BASE += -fsanitize=$(SANITIZE)
else
BUILD := build
endif

CFLAGS := $(CFLAGS_BASE) $(EXTRA_CFLAGS)
LDLIBS := $(LDLIBS_BASE)

LIB_SRC := $(wildcard engine/*.c) $(wildcard oracle/*.c) $(wildcard workloads/*.c)
LIB_ASM := $(wildcard engine/*.S)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(LIB_ASM:%.S=$(BUILD)/%.o)
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

.PHONY: all run test bench deps clean valgrind
all: $(WHOPPER)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libwhopper.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(WHOPPER): $(CLI_OBJ) $(BUILD)/libwhopper.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -rdynamic -o $@ $(CLI_OBJ) $(BUILD)/libwhopper.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(BUILD)/libwhopper.a tests/test_util.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libwhopper.a $(LDLIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libwhopper.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libwhopper.a $(LDLIBS)

# Runs every cmocka binary and the end-to-end script; prints one closing
# line with the totals.
test: $(TEST_BIN) $(WHOPPER)
	@WHOPPER=$(WHOPPER) BUILD=$(BUILD) sh scripts/run-tests.sh $(TEST_BIN)

# The cmocka suites under valgrind (stack switches are registered with it).
valgrind: $(TEST_BIN)
	@for t in $(TEST_BIN); do echo "== valgrind $$t"; \
		valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite $$t >/dev/null || exit 1; done
	@echo "valgrind: no errors"

run: $(WHOPPER)
	@sh scripts/stress.sh $(WHOPPER)

bench: $(BENCH_BIN) $(WHOPPER)
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b || exit 1; done

deps:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		build-essential pkg-config libsqlite3-dev libuv1-dev libcmocka-dev valgrind

clean:
	rm -rf build build-san bin

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
