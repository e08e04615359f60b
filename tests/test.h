/*
 * test.h -- the test framework: TEST() definitions and CHECK macros.
 *
 * Each test runs in its own child process, in a fresh empty working
 * directory that the runner removes afterwards, with DAGLIB_META_DIR unset.
 * A failing CHECK prints where and why and ends the test; a crash, a leak
 * report from a sanitizer or a timeout fails it too.  Every test is listed
 * in test_list.h.
 */
#ifndef DAGLIB_TEST_H
#define DAGLIB_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daglib.h"

#define TEST(name) void test_##name(void)

#if defined(__GNUC__)
#define TEST_NORETURN_ __attribute__((noreturn))
#else
#define TEST_NORETURN_
#endif

/* End the running test as failed, printing file:line and the message. */
TEST_NORETURN_ void test_fail_(const char *file, int line, const char *fmt, ...)
    DAGLIB_PRINTF(3, 4);

#define FAIL(...) test_fail_(__FILE__, __LINE__, __VA_ARGS__)

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            test_fail_(__FILE__, __LINE__, "CHECK(%s) failed", #cond);       \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                   \
    do {                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                  \
        if (a_ != b_)                                                        \
            test_fail_(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, \
                       a_, b_);                                              \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                   \
    do {                                                                     \
        const char *a_ = (a), *b_ = (b);                                     \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                 \
            test_fail_(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, \
                       #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");          \
    } while (0)

/* haystack contains needle */
#define CHECK_CONTAINS(haystack, needle)                                     \
    do {                                                                     \
        const char *h_ = (haystack), *n_ = (needle);                         \
        if (h_ == NULL || strstr(h_, n_) == NULL)                            \
            test_fail_(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", \
                       h_ ? h_ : "(null)", n_);                              \
    } while (0)

/* expr returns the daglib code want */
#define CHECK_CODE(expr, want)                                               \
    do {                                                                     \
        int got_ = (expr), want_ = (want);                                   \
        if (got_ != want_)                                                   \
            test_fail_(__FILE__, __LINE__, "%s: got DAGLIB_%s, want DAGLIB_%s", \
                       #expr, daglib_errname(got_), daglib_errname(want_));  \
    } while (0)

#define CHECK_OK(expr) CHECK_CODE(expr, DAGLIB_OK)

/* The repository root (to find tests/support and friends). */
const char *test_source_dir(void);

/* A file under the repository root, in a static buffer. */
const char *test_source_path(const char *relative);

/* Run a shell command in the test's directory; its exit status (or -1). */
int test_system(const char *fmt, ...) DAGLIB_PRINTF(1, 2);

/* The whole contents of a file, malloc'd and NUL-terminated (*len, if not
 * NULL, gets the length), or NULL when it cannot be read. */
char *test_read_file(const char *path, size_t *len);

/* The number after "field:" in /proc/self/status (VmSize in KiB,
 * Threads...), or 0 when it cannot be read. */
unsigned long long test_proc_status(const char *field);

/* 1 if this kernel faults in a range on request (MADV_POPULATE_WRITE,
 * Linux 5.14 on): where it does not, faulting in ahead does nothing. */
int test_kernel_populates(void);

/* Write len bytes to path (created or truncated); fails the test on error. */
void test_write_file(const char *path, const void *data, size_t len);

/* v as Avro's zig-zag varint at out (room for 10 bytes), a byte at a
 * time as the specification puts it -- not the library's encoder, which
 * the tests check against it; how many bytes. */
size_t test_avro_varint(unsigned char *out, int64_t v);

/* Debian's own Python, which has the avro and pandas modules. */
#define TEST_PYTHON "/usr/bin/python3"

#endif
