/*
 * failmalloc.c -- an LD_PRELOAD shim that fails one chosen allocation.
 *
 * SQLite's own practice for out-of-memory testing: run a piece of work
 * once for every allocation it makes, failing the first one, then the
 * second, and so on, and check that each run ends cleanly.  This shim
 * counts every allocation of the process (the program's, SQLite's,
 * zlib's, avro-c's, jansson's), so nothing escapes the sweep.
 *
 * It does nothing until armed: a program finds failmalloc_arm() with
 * dlsym(RTLD_DEFAULT, ...) and calls it just before the work under test,
 * failing the nth allocation from then on (only that one: later ones
 * succeed again, which is what exposes a failure that was swallowed).
 * failmalloc_disarm() stops counting and returns how many allocations
 * were counted.  The counter is atomic: libdaglib allocates from worker
 * threads too, so which allocation is the nth may vary between runs.
 *
 * glibc routes its own internal allocations (strdup, fopen, ...) through
 * the replaced malloc, and lets free() release what __libc_malloc gave.
 */
#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static long fail_at;
static long counted;
static int armed;

__attribute__((visibility("default"))) void failmalloc_arm(long n)
{
    __atomic_store_n(&counted, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&fail_at, n, __ATOMIC_SEQ_CST);
    __atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
}

__attribute__((visibility("default"))) long failmalloc_disarm(void)
{
    __atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&counted, __ATOMIC_SEQ_CST);
}

static int this_one_fails(void)
{
    if (!__atomic_load_n(&armed, __ATOMIC_RELAXED))
        return 0;
    long n = __atomic_add_fetch(&counted, 1, __ATOMIC_SEQ_CST);
    if (n != __atomic_load_n(&fail_at, __ATOMIC_RELAXED))
        return 0;
    errno = ENOMEM;
    return 1;
}

void *malloc(size_t size)
{
    return this_one_fails() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    return this_one_fails() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    if (p != NULL && size == 0)
        return __libc_realloc(p, size); /* a free, not an allocation */
    return this_one_fails() ? NULL : __libc_realloc(p, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (this_one_fails())
        return ENOMEM;
    void *p = __libc_memalign(alignment, size);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size)
{
    return this_one_fails() ? NULL : __libc_memalign(alignment, size);
}

void *memalign(size_t alignment, size_t size)
{
    return this_one_fails() ? NULL : __libc_memalign(alignment, size);
}
