/*
 * big_array.h -- the big arrays of a DAG, and arrays that grow without
 * moving.
 */
#ifndef DAGLIB_BIG_ARRAY_H
#define DAGLIB_BIG_ARRAY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Big arrays (plan, run states, name table, task blocks): zeroed memory.
 * A million-task DAG touches a few hundred MiB; faulted in one 4 KiB page
 * at a time that is tens of thousands of page faults per build.  From 64
 * KiB, arrays are mapped on their own, and those written whole are
 * faulted in at once (MADV_POPULATE_WRITE), one call instead of a fault
 * per page; smaller ones come from malloc.  They are kept off transparent
 * huge pages (MADV_NOHUGEPAGE, also where the system would put every big
 * mapping on them): a virtual machine that hands its free memory back to
 * the host (free page reporting hands back whole 2 MiB blocks) has the
 * host fault each huge page in again, and a fresh process's build then
 * took 2-5 times as long, where 4 KiB pages cost the same either way.
 *
 * A program that builds and frees DAGs over and over would still get
 * every array back as fresh pages (malloc returns big blocks to the
 * system), so big_free() keeps freed mappings for the next big_alloc() of
 * a size they fit -- zeroed again by memset, without page faults.  There
 * is room for every mapping of a DAG of millions of tasks, its plan and
 * its run, and for the generations its name table outgrew (a rebuild asks
 * for them all again), but never for more than twice what the process's
 * mappings once added up to in use, nor 1 GiB.  The cache is shared by
 * the process's DAGs, under a mutex taken once or twice per array.
 * big_free() takes what big_alloc() gave, and NULL.
 */
/* count * size zeroed bytes (at least one), or NULL when memory runs out
 * or the product overflows. */
void *big_alloc(size_t count, size_t size);
/* The same, for arrays written before they are read: a reused mapping is
 * not zeroed again. */
void *big_alloc_raw(size_t count, size_t size);
/* The same again, for arrays that may stay partly unused (the blocks of
 * block arrays).  The others are written whole, so a fresh mapping is
 * faulted in by one call rather than one page fault per page; a block is
 * faulted in a step at a time by big_block_prefault(). */
void *big_alloc_block(size_t count, size_t size);
/* Fault in bytes [from, from + len) of a block from big_alloc_block() in
 * one call, ahead of filling them, and once the block has steps filled
 * before this one, have the prefault helper (prefault.h) fault in a few
 * steps more while the caller fills this one (hints: nothing happens
 * where the kernel cannot, or the block came from malloc).  A block fills
 * from its start, so what lies below the highest range faulted in, in
 * this use of its mapping or an earlier one, is taken as faulted in too
 * (a range the helper could not fault in may be taken so: it then faults
 * in as it is written).  One thread at a time per block. */
void big_block_prefault(void *block, size_t from, size_t len);
/* The same, for a block whose user expects to fill its first `until`
 * bytes only: the helper is not asked for steps past them. */
void big_block_prefault_until(void *block, size_t from, size_t len,
                              size_t until);
void big_free(void *p);
/* The nth big array asked for from now on (n >= 1) is refused as if
 * memory ran out, to test what every caller does then; big_fail_disarm()
 * stops that and says how many were asked for.  For tests: malloc's
 * failures can be injected from outside, mappings' cannot. */
void big_fail_arm(long n);
long big_fail_disarm(void);
/* Unmap every kept mapping, and count the process's peak from what is in
 * use now: a process done with a big DAG keeps nothing for the next. */
void big_cache_release(void);
/* What the cache keeps, what is in use, and the most that was in use
 * (since the start or the last release), in bytes mapped: for tests. */
void big_cache_figures(size_t *kept, size_t *live, size_t *peak);

/*
 * Arrays that grow without ever moving: block k holds BLOCK_FIRST << k
 * items, so appending allocates a block now and then and copies nothing,
 * pointers to items stay valid, and a block is touched only as far as it is
 * filled.  GROW_BLOCKS blocks hold 2^32 items.
 */
#define BLOCK_FIRST_SHIFT 6
#define GROW_BLOCKS 27

/* The block holding item i, and its offset there. */
static inline uint32_t block_of(uint32_t i, uint32_t *offset)
{
    uint64_t p = (uint64_t)i + (1u << BLOCK_FIRST_SHIFT);
    unsigned top = 63u - (unsigned)__builtin_clzll(p);
    *offset = (uint32_t)(p - ((uint64_t)1 << top));
    return top - BLOCK_FIRST_SHIFT;
}

/* How many items block k holds. */
static inline size_t block_items(uint32_t k)
{
    return (size_t)1 << (k + BLOCK_FIRST_SHIFT);
}

/* Item `offset` of block `block` of a block array (blocks[], NULL until
 * allocated) of items of `size` bytes: the block is allocated when its
 * first item is asked for, and 2^prefault_shift items faulted in at once
 * whenever an item starts such a step -- though not past item `expected`
 * of the block, when the caller expects no more (items past it that a
 * step begun before it holds fault in as they are written; steps begun
 * past it are faulted in as ever); NULL when memory runs out. */
static inline void *block_slot_expecting(void **blocks, uint32_t block,
                                         uint32_t offset, size_t size,
                                         unsigned prefault_shift,
                                         size_t expected)
{
    size_t items = block_items(block);
    if (blocks[block] == NULL &&
        (blocks[block] = big_alloc_block(items, size)) == NULL)
        return NULL;
    const uint32_t step_items = 1u << prefault_shift;
    if ((offset & (step_items - 1)) == 0) {
        size_t end = items < expected ? items : expected;
        if (end <= offset)
            end = items; /* more than expected: steps as ever */
        size_t step = end - offset < step_items ? end - offset : step_items;
        big_block_prefault_until(blocks[block], offset * size, step * size,
                                 end < items ? end * size : SIZE_MAX);
    }
    return (char *)blocks[block] + offset * size;
}

/* The same, expecting the whole block to fill. */
static inline void *block_slot(void **blocks, uint32_t block, uint32_t offset,
                               size_t size, unsigned prefault_shift)
{
    return block_slot_expecting(blocks, block, offset, size, prefault_shift,
                                SIZE_MAX);
}

/* How many of block k's items are in use, when `done` items fill the
 * blocks before it and `total` are in use in all: the walk over a block
 * array reads blocks 0, 1, ... with this as each one's length. */
static inline uint32_t block_items_used(uint32_t k, uint32_t done,
                                        uint32_t total)
{
    size_t room = block_items(k);
    return room < (size_t)(total - done) ? (uint32_t)room : total - done;
}

#endif
