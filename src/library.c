/*
 * library.c -- what belongs to the library as a whole: its version and the
 * deallocator for memory it hands to callers, the memory and threads it
 * keeps.
 */
#include <stdlib.h>

#include "big_array.h"
#include "daglib.h"
#include "prefault.h"
#include "worker_pool.h"

const char *daglib_version(void)
{
    return DAGLIB_VERSION;
}

void daglib_free(void *p)
{
    free(p);
}

void daglib_release_memory(void)
{
    big_cache_release();
    worker_pool_release_spare();
    prefault_release();
}
