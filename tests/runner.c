/*
 * runner.c -- run the tests listed in test_list.h.
 *
 *   run [--list] [--no-fork] [name-or-prefix ...]
 *
 * Each selected test runs in a child process inside a fresh temporary
 * directory (removed afterwards), killed after DAGLIB_TEST_TIMEOUT seconds
 * (default 120).  A test passes when its child exits 0: a failed CHECK, a
 * crash, a sanitizer report or a timeout fails it.  The last line is
 * "N passed, N failed".  --no-fork runs tests in the runner itself, for a
 * debugger; the first failure then ends the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define TEST_ENTRY(name) void test_##name(void);
#include "test_list.h"
#undef TEST_ENTRY

struct test_case {
    const char *name;
    void (*fn)(void);
};

static const struct test_case all_tests[] = {
#define TEST_ENTRY(name) {#name, test_##name},
#include "test_list.h"
#undef TEST_ENTRY
};

#define TEST_COUNT (sizeof all_tests / sizeof all_tests[0])

static char source_dir[PATH_MAX];

const char *test_source_dir(void)
{
    return source_dir;
}

const char *test_source_path(const char *relative)
{
    static char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", source_dir, relative);
    return path;
}

void test_fail_(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    exit(1);
}

int test_system(const char *fmt, ...)
{
    char command[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(command, sizeof command, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof command)
        FAIL("command too long: %.80s...", command);
    fflush(stdout);
    fflush(stderr);
    int status = system(command);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

int test_kernel_populates(void)
{
#ifdef MADV_POPULATE_WRITE
    long page = sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    int done = madvise(p, (size_t)page, MADV_POPULATE_WRITE) == 0;
    munmap(p, (size_t)page);
    return done;
#else
    return 0;
#endif
}

unsigned long long test_proc_status(const char *field)
{
    char *status = test_read_file("/proc/self/status", NULL);
    if (status == NULL)
        return 0;
    unsigned long long value = 0;
    size_t n = strlen(field);
    for (const char *line = status; line != NULL;) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            sscanf(line + n + 1, "%llu", &value);
            break;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    free(status);
    return value;
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + used, 1, cap - used - 1, f);
        used += got;
        if (used + 1 < cap)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (buf == NULL)
        return NULL;
    buf[used] = '\0';
    if (len != NULL)
        *len = used;
    return buf;
}

void test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        FAIL("cannot create %s: %s", path, strerror(errno));
    if (fwrite(data, 1, len, f) != len || fclose(f) != 0)
        FAIL("cannot write %s", path);
}

size_t test_avro_varint(unsigned char *out, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
    size_t n = 0;
    do {
        unsigned char b = z & 0x7f;
        z >>= 7;
        out[n++] = (unsigned char)(b | (z != 0 ? 0x80 : 0));
    } while (z != 0);
    return n;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT) {
        /* A test may leave a read-only directory behind; open it up. */
        chmod(path, 0700);
        remove(path);
    }
    return 0;
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int selected(const char *name, int argc, char **argv, int first)
{
    if (first >= argc)
        return 1;
    for (int i = first; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (strncmp(name, argv[i], n) == 0)
            return 1;
    }
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run one test in a child process in its own directory; 1 if it passed. */
static int run_forked(const struct test_case *t, unsigned timeout,
                      char *why, size_t why_size)
{
    char dir[PATH_MAX];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/daglib-test-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        snprintf(why, why_size, "mkdtemp: %s", strerror(errno));
        return 0;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, why_size, "fork: %s", strerror(errno));
        remove_tree(dir);
        return 0;
    }
    if (pid == 0) {
        setpgid(0, 0);
        if (chdir(dir) != 0)
            _exit(99);
        unsetenv("DAGLIB_META_DIR");
        t->fn();
        exit(0); /* exit, not _exit: leak checkers run at exit */
    }
    int status = 0;
    double deadline = now_seconds() + timeout;
    for (;;) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid)
            break;
        if (done < 0 && errno != EINTR) {
            snprintf(why, why_size, "waitpid: %s", strerror(errno));
            remove_tree(dir);
            return 0;
        }
        if (now_seconds() > deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(why, why_size, "timed out after %u s", timeout);
            remove_tree(dir);
            return 0;
        }
        struct timespec nap = {0, 2 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    /* Children the test left behind (a killed writer, say) go too. */
    kill(-pid, SIGKILL);
    remove_tree(dir);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 1;
    if (WIFSIGNALED(status))
        snprintf(why, why_size, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(why, why_size, "exit status %d", WEXITSTATUS(status));
    return 0;
}

int main(int argc, char **argv)
{
    int first = 1, fork_tests = 1;
    unsigned timeout = 120;
    const char *env_timeout = getenv("DAGLIB_TEST_TIMEOUT");
    if (env_timeout != NULL && atoi(env_timeout) > 0)
        timeout = (unsigned)atoi(env_timeout);

    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--list") == 0) {
            for (size_t i = 0; i < TEST_COUNT; i++)
                printf("%s\n", all_tests[i].name);
            return 0;
        } else if (strcmp(argv[first], "--no-fork") == 0) {
            fork_tests = 0;
        } else {
            fprintf(stderr, "usage: %s [--list] [--no-fork] [test-prefix ...]\n",
                    argv[0]);
            return 2;
        }
    }

    const char *src = getenv("DAGLIB_SOURCE_DIR");
    if (src != NULL && src[0] != '\0')
        snprintf(source_dir, sizeof source_dir, "%s", src);
    else if (getcwd(source_dir, sizeof source_dir) == NULL)
        strcpy(source_dir, ".");

    unsigned passed = 0, failed = 0, number = 0;
    for (size_t i = 0; i < TEST_COUNT; i++) {
        const struct test_case *t = &all_tests[i];
        if (!selected(t->name, argc, argv, first))
            continue;
        number++;
        char why[512] = "";
        double started = now_seconds();
        int ok;
        if (fork_tests) {
            ok = run_forked(t, timeout, why, sizeof why);
        } else {
            t->fn(); /* a failure exits the process */
            ok = 1;
        }
        double took = now_seconds() - started;
        if (ok) {
            passed++;
            printf("ok %u %s (%.2f s)\n", number, t->name, took);
        } else {
            failed++;
            printf("not ok %u %s: %s\n", number, t->name, why);
        }
        fflush(stdout);
    }
    printf("%u passed, %u failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
