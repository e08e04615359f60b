/*
 * test_meta_path.c -- the metadata root, DAG names as directory names, run
 * ids and lexical absolute paths (src/meta_path.c).
 *
 * These are the rules every file on disk depends on: a name that passes
 * here becomes a directory under the root, a run id becomes a file name.
 */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "meta_path.h"
#include "test.h"
#include "value.h"

/* The message meta_check_dag_name() gives for name, which it must refuse;
 * in a static buffer. */
static const char *refusal(const char *name)
{
    static char message[512];
    error_state err = ERROR_STATE_INIT;
    int rc = meta_check_dag_name(name, &err);
    if (rc != DAGLIB_INVALID)
        FAIL("name '%s' gave DAGLIB_%s, not DAGLIB_INVALID",
             name != NULL ? name : "(null)", daglib_errname(rc));
    snprintf(message, sizeof message, "%s", error_message(&err));
    error_clear(&err);
    /* Whatever the name held, the message is one line of valid UTF-8. */
    CHECK(utf8_valid(message, strlen(message)));
    for (const char *p = message; *p != '\0'; p++)
        CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    return message;
}

static int accepted(const char *name)
{
    error_state err = ERROR_STATE_INIT;
    int rc = meta_check_dag_name(name, &err);
    error_clear(&err);
    return rc == DAGLIB_OK;
}

static void fill(char *buf, const char *unit, size_t times)
{
    buf[0] = '\0';
    for (size_t i = 0; i < times; i++)
        strcat(buf, unit);
}

TEST(meta_path_refuses_unsafe_names_saying_which_rule)
{
    CHECK_CONTAINS(refusal(NULL), "NULL");
    CHECK_CONTAINS(refusal(""), "empty");
    CHECK_CONTAINS(refusal("a/b"), "contains '/'");
    CHECK_CONTAINS(refusal("/abs"), "contains '/'");
    CHECK_CONTAINS(refusal(".."), "starts with '.'");
    CHECK_CONTAINS(refusal("."), "starts with '.'");
    CHECK_CONTAINS(refusal(".hidden"), "starts with '.'");
    CHECK_CONTAINS(refusal("../up"), "'../up'");
    CHECK_CONTAINS(refusal("tab\there"), "control character 0x09");
    CHECK_CONTAINS(refusal("del\x7f"), "control character 0x7f");
    CHECK_CONTAINS(refusal("bad\xff"), "not valid UTF-8");
    CHECK_CONTAINS(refusal("overlong \xc0\xaf"), "not valid UTF-8");
    CHECK_CONTAINS(refusal("surrogate \xed\xa0\x80"), "not valid UTF-8");
    CHECK_CONTAINS(refusal("cut \xe2\x82"), "not valid UTF-8");
    /* Dots and odd characters inside a name are fine. */
    CHECK(accepted("a..b"));
    CHECK(accepted("x."));
    CHECK(accepted("with space, comma; and \\backslash"));
    CHECK(accepted("données ✓ 日本"));
}

TEST(meta_path_quotes_refused_names_with_escapes)
{
    /* A newline in a name must not split the message over two lines, nor a
     * stray byte make it invalid UTF-8: both become \xNN. */
    CHECK_CONTAINS(refusal("new\nline"), "'new\\x0aline'");
    CHECK_CONTAINS(refusal("esc\x1b[31mred"), "'esc\\x1b[31mred'");
    CHECK_CONTAINS(refusal("caf\xe9"), "'caf\\xe9'");
    CHECK_CONTAINS(refusal("bad\xff\xfe"), "'bad\\xff\\xfe'");
    /* Valid UTF-8 around the problem is shown as it is: the user must
     * recognise the name. */
    CHECK_CONTAINS(refusal("données/2024"), "'données/2024'");
    CHECK_CONTAINS(refusal("été\x01"), "'été\\x01'");
    /* A long name is cut in the message, and says so. */
    char longer[400];
    fill(longer, "x", 300);
    const char *m = refusal(longer);
    CHECK_CONTAINS(m, "xxxxxxxx...'");
    CHECK_CONTAINS(m, "300 bytes");
    CHECK(strlen(m) < 250);
    /* A name that just fits is shown whole, without a "..." */
    fill(longer, "y", 87);
    strcat(longer, "/");
    m = refusal(longer);
    CHECK_CONTAINS(m, "yyy/'");
    CHECK(strstr(m, "...") == NULL);
    /* A cut never splits a character in two. */
    fill(longer, "é", 150);
    m = refusal(longer);
    CHECK_CONTAINS(m, "é...'");
    CHECK_CONTAINS(m, "300 bytes");
}

TEST(meta_path_name_limit_is_exactly_128_bytes)
{
    char name[300];
    fill(name, "a", 128);
    CHECK(accepted(name));
    fill(name, "a", 129);
    CHECK_CONTAINS(refusal(name), "129 bytes long; the limit is 128");
    /* Bytes, not characters: 64 two-byte characters fit, 43 three-byte
     * ones (129 bytes) do not. */
    fill(name, "é", 64);
    CHECK_INT_EQ(strlen(name), 128);
    CHECK(accepted(name));
    fill(name, "€", 43);
    CHECK_INT_EQ(strlen(name), 129);
    CHECK_CONTAINS(refusal(name), "129 bytes");
    CHECK_INT_EQ(DAGLIB_MAX_NAME_BYTES, 128);
}

static int is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

TEST(meta_path_run_ids_are_run_and_nine_lowercase_hex_digits)
{
    enum { N = 3000 };
    static char ids[N][META_RUN_ID_SIZE];
    int digit_seen[9][16] = {{0}};
    for (int i = 0; i < N; i++) {
        memset(ids[i], '#', META_RUN_ID_SIZE);
        meta_new_run_id(ids[i]);
        CHECK_INT_EQ(strlen(ids[i]), 13);
        CHECK(strncmp(ids[i], "run_", 4) == 0);
        for (int d = 0; d < 9; d++) {
            char c = ids[i][4 + d];
            CHECK(is_lower_hex(c));
            digit_seen[d][c <= '9' ? c - '0' : c - 'a' + 10]++;
        }
        CHECK(meta_is_run_id(ids[i], strlen(ids[i])));
    }
    /* Every position takes every digit: no nibble is stuck (3000 draws
     * miss a given digit at a position with probability ~1e-84). */
    for (int d = 0; d < 9; d++)
        for (int v = 0; v < 16; v++)
            CHECK(digit_seen[d][v] > 0);
    /* 36 random bits: 3000 draws collide with probability ~6e-5. */
    qsort(ids, N, sizeof ids[0], compare_ids);
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            FAIL("run id %s drawn twice", ids[i]);
}

TEST(meta_path_run_ids_differ_across_forked_processes)
{
    /* A generator seeded once per process would give every child of a
     * fork the same sequence: each child draws its ids after fork(). */
    enum { CHILDREN = 12, EACH = 8 };
    int fds[2];
    CHECK(pipe(fds) == 0);
    /* One draw in the parent first, so that any per-process state exists
     * before the fork. */
    char first[META_RUN_ID_SIZE];
    meta_new_run_id(first);
    for (int c = 0; c < CHILDREN; c++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            char ids[EACH][META_RUN_ID_SIZE];
            for (int i = 0; i < EACH; i++)
                meta_new_run_id(ids[i]);
            ssize_t w = write(fds[1], ids, sizeof ids);
            _exit(w == (ssize_t)sizeof ids ? 0 : 1);
        }
    }
    close(fds[1]);
    static char all[CHILDREN * EACH + 1][META_RUN_ID_SIZE];
    size_t want = sizeof all - sizeof all[0], got = 0;
    while (got < want) {
        ssize_t r = read(fds[0], (char *)all + got, want - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fds[0]);
    for (int c = 0; c < CHILDREN; c++) {
        int status;
        CHECK(wait(&status) > 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK_INT_EQ(got, want);
    memcpy(all[CHILDREN * EACH], first, sizeof first);
    int n = CHILDREN * EACH + 1;
    for (int i = 0; i < n; i++)
        CHECK(meta_is_run_id(all[i], strlen(all[i])));
    qsort(all, (size_t)n, sizeof all[0], compare_ids);
    for (int i = 1; i < n; i++)
        if (strcmp(all[i - 1], all[i]) == 0)
            FAIL("two processes drew run id %s", all[i]);
}

TEST(meta_path_recognises_run_ids_and_nothing_else)
{
    CHECK(meta_is_run_id("run_0123456789", 13) == 1); /* length decides */
    CHECK(meta_is_run_id("run_abcdef012", 13));
    CHECK(meta_is_run_id("run_000000000", 13));
    CHECK(meta_is_run_id("run_fffffffff", 13));
    /* The name of a file, length and all, is not an id. */
    CHECK(!meta_is_run_id("run_abcdef012.avro", 18));
    CHECK(!meta_is_run_id("run_abcdef01", 12));
    CHECK(!meta_is_run_id("run_abcdef0123", 14));
    CHECK(!meta_is_run_id("run_ABCDEF012", 13));
    CHECK(!meta_is_run_id("run_abcdeg012", 13));
    CHECK(!meta_is_run_id("Run_abcdef012", 13));
    CHECK(!meta_is_run_id("run-abcdef012", 13));
    CHECK(!meta_is_run_id("xrun_abcdef01", 13));
    CHECK(!meta_is_run_id("run_abcd\0f012", 13));
    CHECK(!meta_is_run_id("run_ abcdef01", 13));
    CHECK(!meta_is_run_id("", 0));
    CHECK(!meta_is_run_id(NULL, 13));
    CHECK(!meta_is_run_id(NULL, 0));
}

TEST(meta_path_generated_dag_names_are_safe_and_fresh)
{
    char a[META_GENERATED_NAME_SIZE], b[META_GENERATED_NAME_SIZE];
    meta_generated_dag_name(a);
    meta_generated_dag_name(b);
    CHECK_INT_EQ(strlen(a), 16);
    CHECK(strncmp(a, "dag_", 4) == 0);
    for (int i = 4; i < 16; i++)
        CHECK(is_lower_hex(a[i]));
    CHECK(accepted(a));
    CHECK(strcmp(a, b) != 0);
}

TEST(meta_path_root_is_explicit_then_environment_then_meta)
{
    unsetenv(META_DIR_ENV);
    CHECK_STR_EQ(meta_root_effective(NULL), "meta");
    CHECK_STR_EQ(meta_root_effective("mine"), "mine");
    setenv(META_DIR_ENV, "", 1); /* set but empty: as if unset */
    CHECK_STR_EQ(meta_root_effective(NULL), "meta");
    setenv(META_DIR_ENV, "/from/env", 1);
    CHECK_STR_EQ(meta_root_effective(NULL), "/from/env");
    CHECK_STR_EQ(meta_root_effective("mine"), "mine"); /* explicit wins */
    CHECK_STR_EQ(meta_root_effective("relative/root"), "relative/root");
    unsetenv(META_DIR_ENV);
    CHECK_STR_EQ(meta_root_effective(NULL), "meta");
}

/* meta_absolute_path(path) must be want (which, when relative, is taken
 * against the working directory). */
static void check_absolute(const char *path, const char *want)
{
    char expected[PATH_MAX * 2];
    if (want[0] == '/') {
        snprintf(expected, sizeof expected, "%s", want);
    } else {
        char cwd[PATH_MAX];
        CHECK(getcwd(cwd, sizeof cwd) != NULL);
        snprintf(expected, sizeof expected, "%s%s%s", cwd,
                 want[0] != '\0' ? "/" : "", want);
    }
    error_state err = ERROR_STATE_INIT;
    char *got = NULL;
    CHECK_OK(meta_absolute_path(path, &got, &err));
    if (got == NULL || strcmp(got, expected) != 0)
        FAIL("meta_absolute_path(\"%s\") = \"%s\", want \"%s\"", path,
             got != NULL ? got : "(null)", expected);
    free(got);
}

TEST(meta_path_absolute_path_folds_dots_lexically)
{
    check_absolute("/", "/");
    check_absolute("/a/b/c", "/a/b/c");
    check_absolute("/a/./b/../c", "/a/c");
    check_absolute("//a///b//", "/a/b");
    check_absolute("/a/b/../../..", "/");
    check_absolute("/..", "/");
    check_absolute("/../x", "/x");
    check_absolute("/a/.../b", "/a/.../b"); /* "..." is a name */
    check_absolute("/a/..b/.c", "/a/..b/.c");
    check_absolute("meta", "meta");
    check_absolute(".", "");
    check_absolute("./meta/", "meta");
    check_absolute("not/there/../yet", "not/yet"); /* need not exist */
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", cwd);
    *strrchr(parent, '/') = '\0';
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want, "%s/sibling", parent);
    check_absolute("../sibling", want);
}

TEST(meta_path_absolute_path_never_resolves_links)
{
    /* "link/.." is the directory holding the link, whatever the link
     * points to: the root is resolved as written, once. */
    CHECK(mkdir("deep", 0700) == 0);
    CHECK(mkdir("deep/er", 0700) == 0);
    CHECK(symlink("deep/er", "link") == 0);
    check_absolute("link/..", "");
    check_absolute("link/../meta", "meta");
    check_absolute("link", "link");
}

TEST(meta_path_absolute_path_errors)
{
    error_state err = ERROR_STATE_INIT;
    char *out = (char *)"untouched";
    CHECK_CODE(meta_absolute_path("", &out, &err), DAGLIB_INVALID);
    CHECK(out == NULL);
    CHECK_CONTAINS(error_message(&err), "empty");
    error_clear(&err);
    CHECK_CODE(meta_absolute_path(NULL, &out, &err), DAGLIB_INVALID);
    error_clear(&err);

    /* A working directory that was removed: relative paths cannot be
     * resolved, absolute ones still can. */
    CHECK(mkdir("gone", 0700) == 0);
    CHECK(chdir("gone") == 0);
    CHECK(rmdir("../gone") == 0);
    CHECK_CODE(meta_absolute_path("meta", &out, &err), DAGLIB_IO);
    CHECK(out == NULL);
    CHECK_CONTAINS(error_message(&err), "'meta'");
    CHECK_CONTAINS(error_message(&err), "working directory");
    error_clear(&err);
    CHECK_OK(meta_absolute_path("/tmp/./x", &out, &err));
    CHECK_STR_EQ(out, "/tmp/x");
    free(out);
    CHECK(chdir("..") == 0);
}
