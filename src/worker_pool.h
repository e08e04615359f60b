/*
 * worker_pool.h -- the threads of a DAG's workers, kept between its runs.
 *
 * A run on n workers needs n - 1 threads beside its caller.  Made and
 * joined for every run, they cost a run of a small DAG twenty times its
 * tasks (34 us against 1.5 for 100 empty tasks on 2 workers); kept, they
 * wait on a condition variable between runs, and during a run whenever
 * their slot has nothing to do, and cost nothing while they do.  When
 * its DAG is freed, a pool waits for the next DAG (one pool, the one with
 * most threads, is kept), until worker_pool_release_spare().
 */
#ifndef DAGLIB_WORKER_POOL_H
#define DAGLIB_WORKER_POOL_H

#include <stdint.h>

typedef struct worker_pool worker_pool;

/* What a helper thread runs: its slot of the job, 0 .. n - 1.  A slot that
 * returns and is posted again (worker_pool_repost()) runs again, maybe on
 * another thread while the first is still returning: once it has handed
 * its slot back, a job touches nothing that belongs to the slot. */
typedef void (*pool_job)(void *ctx, uint32_t slot);

/* Threads for n slots in *pool: when *pool is NULL, the pool a freed DAG
 * left, or a new one; threads added as needed.  Returns how many slots
 * can be offered: n, or fewer when memory or threads ran out. */
uint32_t worker_pool_reserve(worker_pool **pool, uint32_t n);

/* Offer job(ctx, slot) for slots 0 .. n - 1 (n at most what
 * worker_pool_reserve() gave), each to a thread of the pool, and return
 * at once.  A slot may not run at all (worker_pool_wait()): the caller's
 * own work has to cover whatever the slots do not. */
void worker_pool_post(worker_pool *pool, uint32_t n, pool_job job,
                      void *ctx);

/* Offer slot (given up by its job, which returned) to a thread again,
 * while the job goes on; nothing once worker_pool_wait() began.  A slot
 * that waits for work gives its thread back this way, and the job's end
 * need not wake it (scheduler.c).  A slot is posted again only once it
 * gave its thread back, so it is never pending twice. */
void worker_pool_repost(worker_pool *pool, uint32_t slot);

/* Once the job's work is all done (the caller's share covers what the
 * slots did not get to): close the job to worker_pool_repost(), drop the
 * slots no thread took (posted or posted again), and wait for those still
 * running.  NULL (nothing started) returns at once. */
void worker_pool_wait(worker_pool *pool);

/* The pool's DAG is freed: keep the pool for the next DAG, or stop and
 * join its threads and free it.  NULL is a no-op.  Not while a job runs. */
void worker_pool_free(worker_pool *pool);

/* Stop and join the threads of the pool kept for the next DAG. */
void worker_pool_release_spare(void);

#endif
