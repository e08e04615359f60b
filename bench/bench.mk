# bench/bench.mk -- the benchmarks, built against $(BUILD)/libdaglib.a.
#
#   make bench                                 both benchmarks, one report each
#   make -f bench/bench.mk scheduler-bench     the scheduler against its peers
#   make -f bench/bench.mk sql-bench           the SQL one (bench/sql.mk)
#   make -f bench/bench.mk stress              check the scheduler on many runs
#   make -f bench/bench.mk stress-tsan         the same under ThreadSanitizer
#
# TASKFLOW=DIR adds Taskflow to the scheduler's peers, DIR holding
# taskflow/taskflow.hpp (Taskflow has no Debian package; without it the
# Taskflow columns show a dash, and the run table quotes figures measured
# earlier).
#
# The top Makefile's `bench` target calls this file after `make all`.  The
# scheduler's tables go to stdout and to bench/results/scheduler.md, every
# measurement to bench/results/scheduler-raw.csv.  BUILD=... benchmarks
# another build of the library (an A/B comparison of two scheduler
# versions).

BUILD    ?= build
CC       = gcc
CXX      = g++
REPS     ?= 11
TASKS    ?= 100000

BENCH_DIR := $(BUILD)/bench
RESULTS   := bench/results
LIB       := $(BUILD)/libdaglib.a
INTERNAL_LIB := $(BUILD)/libdaglib-internal.a
TSAN_LIB  := build/tsan/libdaglib.a

BENCH_CPPFLAGS = -Iinclude -Ibench -D_GNU_SOURCE
BENCH_CFLAGS   = -std=c11 -Wall -Wextra -Werror -O2 -g -pthread
BENCH_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -O2 -g -pthread
DAGLIB_LIBS    = -lsqlite3 -lavro -ljansson -ldeflate -lsnappy -lz -lm -pthread

SCHEDULER_OBJ := $(BENCH_DIR)/scheduler_bench.o $(BENCH_DIR)/shapes.o \
                 $(BENCH_DIR)/side_daglib.o $(BENCH_DIR)/side_openmp.o \
                 $(BENCH_DIR)/side_tbb.o $(BENCH_DIR)/spin.o

TASKFLOW ?=
ifneq ($(TASKFLOW),)
ifeq ($(wildcard $(TASKFLOW)/taskflow/taskflow.hpp),)
$(error TASKFLOW=$(TASKFLOW) holds no taskflow/taskflow.hpp)
endif
SCHEDULER_OBJ += $(BENCH_DIR)/side_taskflow.o
SCHEDULER_DEFS = -DBENCH_TASKFLOW
endif

.PHONY: run scheduler-bench stress stress-tsan FORCE
# One benchmark at a time, even under make -j: they would measure each other.
.NOTPARALLEL:

run: scheduler-bench sql-bench

scheduler-bench: $(BENCH_DIR)/scheduler_bench
	@mkdir -p $(RESULTS)
	@echo "Running the scheduler benchmark (a few minutes; progress on stderr)" >&2
	$(BENCH_DIR)/scheduler_bench -r $(REPS) -n $(TASKS) \
	    -o $(RESULTS)/scheduler-raw.csv > $(RESULTS)/scheduler.md
	@cat $(RESULTS)/scheduler.md

stress: $(BENCH_DIR)/stress
	$(BENCH_DIR)/stress -i 20 -n 2000
	$(BENCH_DIR)/stress -i 2 -n 100000

stress-tsan: $(BUILD)/tsan-bench/stress
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan-bench/stress -i 10 -n 2000

# The library is the top Makefile's business: ask it, every time, whether
# the archive is up to date.
$(LIB) $(INTERNAL_LIB): FORCE
	@$(MAKE) -s --no-print-directory -f Makefile BUILD=$(BUILD) $@

$(TSAN_LIB): FORCE
	@$(MAKE) --no-print-directory -f Makefile BUILD=build/tsan CC=clang \
	    OPT='-O1 -g -fno-omit-frame-pointer' SANITIZE=-fsanitize=thread $(TSAN_LIB)

$(BENCH_DIR)/%.o: bench/%.c bench/peers.h bench/shapes.h include/daglib.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CPPFLAGS) $(BENCH_CFLAGS) -c $< -o $@

$(BENCH_DIR)/side_openmp.o: bench/side_openmp.c bench/peers.h bench/shapes.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CPPFLAGS) $(BENCH_CFLAGS) -fopenmp -c $< -o $@

$(BENCH_DIR)/side_tbb.o: bench/side_tbb.cpp bench/peers.h bench/shapes.h
	@mkdir -p $(@D)
	$(CXX) $(BENCH_CPPFLAGS) $(BENCH_CXXFLAGS) -c $< -o $@

$(BENCH_DIR)/side_taskflow.o: bench/side_taskflow.cpp bench/peers.h bench/shapes.h \
    $(BENCH_DIR)/taskflow-setting
	@mkdir -p $(@D)
	$(CXX) $(BENCH_CPPFLAGS) -isystem $(TASKFLOW) $(BENCH_CXXFLAGS) -c $< -o $@

# Whether Taskflow is in is part of what the driver was built with.
$(BENCH_DIR)/taskflow-setting: FORCE
	@mkdir -p $(@D)
	@echo '$(TASKFLOW)' | cmp -s - $@ || echo '$(TASKFLOW)' > $@

# The profiling part reads what each profiled run cost from the profiler
# (src/profiler.h), so the benchmark links the archive that keeps the
# library's internals global.
$(BENCH_DIR)/scheduler_bench.o: bench/scheduler_bench.c bench/peers.h \
    bench/shapes.h include/daglib.h src/profiler.h $(BENCH_DIR)/taskflow-setting
	@mkdir -p $(@D)
	$(CC) $(BENCH_CPPFLAGS) $(SCHEDULER_DEFS) -Isrc -Isrc/profile \
	    $(BENCH_CFLAGS) -c $< -o $@

$(BENCH_DIR)/scheduler_bench: $(SCHEDULER_OBJ) $(INTERNAL_LIB)
	$(CXX) -fopenmp -o $@ $(SCHEDULER_OBJ) $(INTERNAL_LIB) $(DAGLIB_LIBS) -ltbb

$(BENCH_DIR)/stress: $(BENCH_DIR)/stress.o $(BENCH_DIR)/shapes.o $(LIB)
	$(CC) -o $@ $^ $(DAGLIB_LIBS)

$(BUILD)/tsan-bench/stress: bench/stress.c bench/shapes.c bench/shapes.h $(TSAN_LIB)
	@mkdir -p $(@D)
	clang $(BENCH_CPPFLAGS) $(BENCH_CFLAGS) -O1 -fsanitize=thread -o $@ \
	    bench/stress.c bench/shapes.c $(TSAN_LIB) $(DAGLIB_LIBS)

include bench/sql.mk
