/*
 * test_library.c -- error codes and version.
 */
#include "test.h"

TEST(library_error_codes_have_names_and_messages)
{
    CHECK_STR_EQ(daglib_errname(DAGLIB_OK), "OK");
    CHECK_STR_EQ(daglib_errname(DAGLIB_CYCLE), "CYCLE");
    CHECK_STR_EQ(daglib_errstr(DAGLIB_CYCLE), "the graph has a cycle");
    CHECK_STR_EQ(daglib_errname(12345), "UNKNOWN");
    CHECK_STR_EQ(daglib_errstr(-7), "unknown error");
    CHECK_STR_EQ(daglib_version(), DAGLIB_VERSION);
#define CHECK_DISTINCT_(name, code, msg) \
    CHECK(daglib_errstr(DAGLIB_##name)[0] != '\0');
    DAGLIB_ERRNO_MAP(CHECK_DISTINCT_)
#undef CHECK_DISTINCT_
}
