# daglib -- a parallel DAG runner for C, its Avro profiling files, and the
# SQLite extension that queries them.  `make help` lists the targets.

PREFIX   ?= /usr/local
BUILD    ?= build
CC       ?= cc
CXX      ?= c++
LD       ?= ld
OBJCOPY  ?= objcopy
OPT      ?= -O2 -g
SANITIZE ?=
# Where the loadable extension goes: the repository root for the main build
# (so that `.load ./daglib_sqlite` works there), the build dir otherwise.
EXT_SO   ?= daglib_sqlite.so

# Each layer compiles with only the include paths it may use, so that an
# include of a layer above fails the build: src/ (the library) and
# src/profile/ (the profile format, shared with the extension) never see
# ext/ (the SQLite glue); tests, fuzz targets and benchmarks see all.
CORE_CPPFLAGS   = -Iinclude -Isrc -Isrc/profile -D_GNU_SOURCE
EXT_CPPFLAGS    = $(CORE_CPPFLAGS) -Iext
DAGLIB_CPPFLAGS = $(EXT_CPPFLAGS)
DAGLIB_CFLAGS   = -std=c11 -Wall -Wextra -Werror -pthread -fPIC \
                  -fvisibility=hidden $(OPT) $(SANITIZE)
DAGLIB_LDFLAGS  = -pthread $(SANITIZE)
# What libdaglib and the extension link against (SQLite only for
# libdaglib: the loadable extension uses the host's).
AVRO_LIBS       = -lavro -ljansson -ldeflate -lsnappy -lz -lm
LIBS            = -lsqlite3 $(AVRO_LIBS)

CC_FLAGS = $(DAGLIB_CFLAGS) $(CFLAGS) -MMD -MP
COMPILE  = $(CC) $(DAGLIB_CPPFLAGS) $(CPPFLAGS) $(CC_FLAGS)

LIB_SRC     := $(wildcard src/*.c)
FORMAT_SRC  := $(wildcard src/profile/*.c)
EXT_SRC     := $(wildcard ext/*.c)
# MetaDB calls SQLite directly: it is libdaglib's, never the loadable
# extension's, which must go through the host's sqlite3_api.
LOADABLE_EXT_SRC := $(filter-out ext/metadb.c,$(EXT_SRC))
# The parts of src/ the loadable extension needs besides the format's
# reader (it writes no profile).
EXT_SHARED_SRC := src/error.c src/meta_path.c src/value.c
TEST_SRC := $(wildcard tests/*.c)
EXAMPLE_SRC := $(wildcard examples/*.c)

LIB_OBJ      := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
FORMAT_OBJ   := $(FORMAT_SRC:%.c=$(BUILD)/obj/%.o)
CORE_EXT_OBJ := $(EXT_SRC:ext/%.c=$(BUILD)/obj/ext-core/%.o)
LOADABLE_OBJ := $(LOADABLE_EXT_SRC:ext/%.c=$(BUILD)/obj/ext-loadable/%.o) \
                $(filter-out %/profile_file.o,$(FORMAT_OBJ)) \
                $(EXT_SHARED_SRC:%.c=$(BUILD)/obj/%.o)
ALL_LIB_OBJ  := $(LIB_OBJ) $(FORMAT_OBJ) $(CORE_EXT_OBJ)
TEST_OBJ     := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

STATIC_LIB := $(BUILD)/libdaglib.a
SHARED_LIB := $(BUILD)/libdaglib.so
# Every object with its internal symbols still global, for the tests, the
# fuzz targets and the SQL benchmark's writer, which call internals.
INTERNAL_LIB := $(BUILD)/libdaglib-internal.a
TEST_RUNNER := $(BUILD)/tests/run
# The out-of-memory sweep (tests/suites/oom.sh): a malloc shim to preload,
# and the program that fails each allocation in turn.
FAILMALLOC  := $(BUILD)/tests/failmalloc.so
OOM_SWEEP   := $(BUILD)/tests/oom_sweep
# The writers of tests/suites/reference.sh and faults.sh.
FAULT_WRITER := $(BUILD)/tests/fault_writer
ifeq ($(BUILD),build)
EXAMPLES := $(EXAMPLE_SRC:%.c=%)
else
EXAMPLES := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)
endif

SANITIZER_OPT = -O1 -g -fno-omit-frame-pointer

.PHONY: all lib ext examples tests test demo bench install uninstall clean \
        help deps asan tsan fuzz

all: lib ext examples

lib: $(STATIC_LIB) $(SHARED_LIB)

ext: $(EXT_SO)

examples: $(EXAMPLES)

tests: $(TEST_RUNNER) $(FAILMALLOC) $(OOM_SWEEP) $(FAULT_WRITER)

help:
	@echo "make            build libdaglib, ./daglib_sqlite.so and the examples"
	@echo "make demo       run the profiling page's example end to end"
	@echo "make test       every test: unit, ASan+UBSan, TSan, SQL, Python, ODBC, valgrind"
	@echo "make bench      scheduler and SQL benchmarks against their peers"
	@echo "make fuzz       build the libFuzzer target for the profiling file reader"
	@echo "make install    PREFIX=/usr/local: header, libraries, extension, daglib.pc, sql/"
	@echo "make deps       install missing Debian packages (as root) or say which"
	@echo "make clean      remove build products"

# ---- objects ---------------------------------------------------------------

$(BUILD)/obj/src/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) $(CC_FLAGS) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(COMPILE) -Itests -c $< -o $@

$(BUILD)/obj/ext-core/%.o: ext/%.c
	@mkdir -p $(@D)
	$(CC) $(EXT_CPPFLAGS) $(CPPFLAGS) $(CC_FLAGS) -DSQLITE_CORE -c $< -o $@

$(BUILD)/obj/ext-loadable/%.o: ext/%.c
	@mkdir -p $(@D)
	$(CC) $(EXT_CPPFLAGS) $(CPPFLAGS) $(CC_FLAGS) -c $< -o $@

# ---- artefacts -------------------------------------------------------------

# One relocatable object whose internal (hidden) symbols are made local:
# only daglib_* stay global, so a program may define its own error_set or
# arena_alloc and still link against libdaglib.a.
$(STATIC_LIB): $(ALL_LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ $(BUILD)/libdaglib.o
	$(LD) -r -o $(BUILD)/libdaglib.o $^
	$(OBJCOPY) --localize-hidden $(BUILD)/libdaglib.o
	$(AR) rcs $@ $(BUILD)/libdaglib.o

$(INTERNAL_LIB): $(ALL_LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(SHARED_LIB): $(ALL_LIB_OBJ)
	$(CC) -shared -Wl,-soname,libdaglib.so.0 $(DAGLIB_LDFLAGS) $(LDFLAGS) \
	    -o $@ $^ $(LIBS)

$(EXT_SO): $(LOADABLE_OBJ) ext/daglib_sqlite.map
	$(CC) -shared -Wl,--version-script=ext/daglib_sqlite.map \
	    $(DAGLIB_LDFLAGS) $(LDFLAGS) -o $@ $(LOADABLE_OBJ) $(AVRO_LIBS)

$(TEST_RUNNER): $(TEST_OBJ) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CC) $(DAGLIB_LDFLAGS) $(LDFLAGS) -o $@ $(TEST_OBJ) $(INTERNAL_LIB) $(LIBS)

# Plain flags: the shim's malloc must stay visible to interpose, and it
# never runs under a sanitizer (they bring their own allocator).
$(FAILMALLOC): tests/support/failmalloc.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -g -fPIC -shared -o $@ $<

$(OOM_SWEEP): tests/support/oom_sweep.c $(STATIC_LIB)
	@mkdir -p $(@D) $(BUILD)/obj/tests/support
	$(COMPILE) -MF $(BUILD)/obj/tests/support/oom_sweep.d $(DAGLIB_LDFLAGS) \
	    $(LDFLAGS) -o $@ $< $(STATIC_LIB) $(LIBS) -ldl

# It calls the writer's internals: the archive that keeps them global.
$(FAULT_WRITER): tests/support/fault_writer.c $(INTERNAL_LIB)
	@mkdir -p $(@D) $(BUILD)/obj/tests/support
	$(COMPILE) -MF $(BUILD)/obj/tests/support/fault_writer.d \
	    $(DAGLIB_LDFLAGS) $(LDFLAGS) -o $@ $< $(INTERNAL_LIB) $(LIBS)

# Their dependency files go with the objects, not beside the sources.
examples/%: examples/%.c $(STATIC_LIB)
	@mkdir -p $(BUILD)/obj/examples
	$(COMPILE) -MF $(BUILD)/obj/examples/$*.d $(DAGLIB_LDFLAGS) $(LDFLAGS) \
	    -o $@ $< $(STATIC_LIB) $(LIBS)

$(BUILD)/examples/%: examples/%.c $(STATIC_LIB)
	@mkdir -p $(@D) $(BUILD)/obj/examples
	$(COMPILE) -MF $(BUILD)/obj/examples/$*.d $(DAGLIB_LDFLAGS) $(LDFLAGS) \
	    -o $@ $< $(STATIC_LIB) $(LIBS)

# Written for each PREFIX: a file kept from an earlier install would point
# at that install's directories.
.PHONY: $(BUILD)/daglib.pc
$(BUILD)/daglib.pc: daglib.pc.in
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n \
	    's/^#define DAGLIB_VERSION "\(.*\)"/\1/p' include/daglib.h)|g' $< > $@

# ---- sanitizer builds: the same rules in their own build directories -------

asan:
	$(MAKE) BUILD=build/asan CC=clang OPT='$(SANITIZER_OPT)' \
	    SANITIZE='-fsanitize=address,undefined -fno-sanitize-recover=all' \
	    EXT_SO=build/asan/daglib_sqlite.so build/asan/tests/run examples

tsan:
	$(MAKE) BUILD=build/tsan CC=clang OPT='$(SANITIZER_OPT)' \
	    SANITIZE='-fsanitize=thread' \
	    EXT_SO=build/tsan/daglib_sqlite.so build/tsan/tests/run

# ---- fuzzing: the profiling file reader under libFuzzer, ASan and UBSan ----
# Not part of `make test`.  Run the target with, for example,
#   build/fuzz/fuzz_profile_reader -max_total_time=600 build/fuzz/corpus
FUZZ_PYTHON_SEEDS = legacy partial extra nested array reordered deflate other

fuzz:
	$(MAKE) BUILD=build/fuzz CC=clang OPT='$(SANITIZER_OPT)' \
	    SANITIZE='-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all' \
	    EXT_SO=build/fuzz/daglib_sqlite.so build/fuzz/fuzz_profile_reader \
	    build/fuzz/corpus.stamp

$(BUILD)/fuzz_profile_reader: fuzz/fuzz_profile_reader.c $(INTERNAL_LIB)
	$(COMPILE) -fsanitize=fuzzer $(DAGLIB_LDFLAGS) $(LDFLAGS) -o $@ $< \
	    $(INTERNAL_LIB) $(LIBS)

$(BUILD)/fuzz_seeds: fuzz/seeds.c $(INTERNAL_LIB)
	$(COMPILE) $(DAGLIB_LDFLAGS) $(LDFLAGS) -o $@ $< $(INTERNAL_LIB) $(LIBS)

# The seeds: small files of every writer, layout and codec the reader knows.
$(BUILD)/corpus.stamp: $(BUILD)/fuzz_seeds tests/support/write_legacy.py
	@mkdir -p $(BUILD)/corpus
	$(BUILD)/fuzz_seeds $(BUILD)/corpus
	for kind in $(FUZZ_PYTHON_SEEDS); do \
	    /usr/bin/python3 tests/support/write_legacy.py $$kind \
	        $(BUILD)/corpus/python-$$kind.avro 4 || exit 1; \
	done
	touch $@

# ---- what a newcomer runs ---------------------------------------------------

deps:
	@scripts/deps.sh build

demo:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory all tests
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory tsan
	@scripts/run-tests.sh

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory -f bench/bench.mk

# ---- installation ------------------------------------------------------------

install: lib ext $(BUILD)/daglib.pc
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/lib/daglib
	install -m 644 include/daglib.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(PREFIX)/lib/libdaglib.so.0
	ln -sf libdaglib.so.0 $(DESTDIR)$(PREFIX)/lib/libdaglib.so
	install -m 755 $(EXT_SO) $(DESTDIR)$(PREFIX)/lib/daglib/daglib_sqlite.so
	install -m 644 $(BUILD)/daglib.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -d $(DESTDIR)$(PREFIX)/share/daglib/sql
	install -m 644 sql/* $(DESTDIR)$(PREFIX)/share/daglib/sql/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/daglib.h \
	    $(DESTDIR)$(PREFIX)/lib/libdaglib.a \
	    $(DESTDIR)$(PREFIX)/lib/libdaglib.so \
	    $(DESTDIR)$(PREFIX)/lib/libdaglib.so.0 \
	    $(DESTDIR)$(PREFIX)/lib/daglib/daglib_sqlite.so \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/daglib.pc
	rm -rf $(DESTDIR)$(PREFIX)/share/daglib

clean:
	rm -rf build daglib_sqlite.so $(EXAMPLE_SRC:%.c=%)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
