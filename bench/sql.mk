# bench/sql.mk -- the SQL benchmark: the profiling virtual table against a
# native SQLite table holding the same rows (bench/sql_bench.c).
#
#   make -f bench/sql.mk sql-bench      generate the trees, run, print tables
#   make -f bench/sql.mk sql-bench SQL_REPS=11
#
# Included by bench/bench.mk (its variables then win); it also runs on its
# own.  The trees (1M and 100k rows, null and deflate codecs, written by
# bench/sql_gen with libdaglib's writer; 1M rows with deflate and snappy
# written by avro-c) go to $(BENCH_DIR)/sql-data and
# are rewritten whenever the generator is relinked; the tables go to
# stdout and $(RESULTS)/sql.md, every timing to $(RESULTS)/sql-raw.csv.

ifeq ($(origin BENCH_DIR),undefined)
# On its own, not included by bench/bench.mk.
BUILD     ?= build
CC        = gcc
BENCH_DIR := $(BUILD)/bench
RESULTS   := bench/results
LIB       := $(BUILD)/libdaglib.a
INTERNAL_LIB := $(BUILD)/libdaglib-internal.a
BENCH_CFLAGS = -std=c11 -Wall -Wextra -Werror -O2 -g -pthread
DAGLIB_LIBS  = -lsqlite3 -lavro -ljansson -ldeflate -lsnappy -lz -lm -pthread

.PHONY: FORCE
# The library is the top Makefile's business.
$(LIB) $(INTERNAL_LIB): FORCE
	@$(MAKE) --no-print-directory -f Makefile BUILD=$(BUILD) $@
endif

SQL_REPS ?= 7
SQL_DATA := $(BENCH_DIR)/sql-data
# sql_gen calls the writer's internals (src/profile/profile_file.h), so it
# links the archive that keeps them global.
SQL_BENCH_CPPFLAGS = -Iinclude -Isrc -Isrc/profile -D_GNU_SOURCE

.PHONY: sql-bench

sql-bench: $(BENCH_DIR)/sql_bench $(SQL_DATA)/stamp
	@mkdir -p $(RESULTS)
	@echo "Running the SQL benchmark (a few minutes)" >&2
	$(BENCH_DIR)/sql_bench -r $(SQL_REPS) -o $(RESULTS)/sql-raw.csv \
	    $(SQL_DATA) > $(RESULTS)/sql.md
	@cat $(RESULTS)/sql.md

# 20 DAGs x 50 runs x 1000 tasks, and 20 x 5 x 1000.
$(SQL_DATA)/stamp: $(BENCH_DIR)/sql_gen
	rm -rf $(SQL_DATA)
	$(BENCH_DIR)/sql_gen $(SQL_DATA)/null-1m 20 50 1000 null
	$(BENCH_DIR)/sql_gen $(SQL_DATA)/deflate-1m 20 50 1000 deflate
	$(BENCH_DIR)/sql_gen $(SQL_DATA)/avroc-deflate-1m 20 50 1000 avroc-deflate
	$(BENCH_DIR)/sql_gen $(SQL_DATA)/avroc-snappy-1m 20 50 1000 avroc-snappy
	$(BENCH_DIR)/sql_gen $(SQL_DATA)/null-100k 20 5 1000 null
	$(BENCH_DIR)/sql_gen $(SQL_DATA)/deflate-100k 20 5 1000 deflate
	touch $@

$(BENCH_DIR)/sql_gen: bench/sql_gen.c src/profile/profile_file.h $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(SQL_BENCH_CPPFLAGS) $(BENCH_CFLAGS) -o $@ bench/sql_gen.c \
	    $(INTERNAL_LIB) $(DAGLIB_LIBS)

$(BENCH_DIR)/sql_bench: bench/sql_bench.c include/daglib.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(SQL_BENCH_CPPFLAGS) $(BENCH_CFLAGS) -o $@ bench/sql_bench.c \
	    $(LIB) $(DAGLIB_LIBS)
