/*
 * library.c -- what belongs to the library as a whole: its version and the
 * deallocator for memory it hands to callers.
 */
#include <stdlib.h>

#include "daglib.h"

const char *daglib_version(void)
{
    return DAGLIB_VERSION;
}

void daglib_free(void *p)
{
    free(p);
}
