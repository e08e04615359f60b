/*
 * worker_pool.c -- see worker_pool.h.
 *
 * A job is posted as slots on a stack of pending ones; each thread that
 * wakes takes one, so threads are interchangeable, and a slot that gave
 * its thread back goes on the stack again when posted again.  A process
 * that forked after a run has the pool's memory but none of its threads:
 * the pool notices (a fork count kept by pthread_atfork) and makes new
 * ones.  A thread waits off the CPU its last job's poster ran on, and
 * runs a job on all of its CPUs (own_threads.h): where it waits so, three
 * system calls of its own a job; the poster only asks where it runs.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "cpu_hints.h"
#include "own_threads.h"
#include "worker_pool.h"

struct worker_pool {
    pthread_mutex_t lock;
    pthread_cond_t posted; /* a job has slots to take, or stop */
    pthread_cond_t done;   /* the job's last slot finished */
    pthread_t *threads;
    uint32_t *pending; /* slots posted and not taken yet, a stack */
    uint32_t n_threads, room, n_pending;
    pool_job job;
    void *ctx;
    /* Slots posted and not finished; read without the lock by a caller
     * waiting for them. */
    _Atomic uint32_t unfinished;
    int closed; /* the job is over: posting again does nothing */
    int stop;
    unsigned forks; /* fork_count when the pool was made */
    /* Of the last job posted: the CPU its poster ran on (-1: not known),
     * and its slots. */
    int poster_cpu;
    uint32_t posted_slots;
};

/* A freed DAG's pool, its threads waiting, for the next DAG to take: a
 * program that builds a DAG, runs it and frees it, over and over, makes
 * its threads once. */
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static worker_pool *spare;

/* Forks so far, counted in the child: a pool made before the last fork has
 * no threads in this process.  The spare's lock is held across a fork, so
 * that the child's copy is never locked by a thread it does not have. */
static unsigned fork_count;
static pthread_once_t fork_watch = PTHREAD_ONCE_INIT;

static void before_fork(void) { pthread_mutex_lock(&spare_lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&spare_lock); }
static void after_fork_child(void)
{
    fork_count++;
    pthread_mutex_unlock(&spare_lock);
}

static void watch_forks(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

static int foreign(const worker_pool *pool)
{
    return pool->forks != fork_count;
}

/* Free a pool's memory: a pool whose threads are joined, or one copied
 * from the parent process, whose threads are not here. */
static void forget(worker_pool *pool)
{
    free(pool->threads);
    free(pool->pending);
    free(pool);
}

static worker_pool *take_spare(void)
{
    pthread_mutex_lock(&spare_lock);
    worker_pool *pool = spare;
    spare = NULL;
    pthread_mutex_unlock(&spare_lock);
    return pool;
}

/* Keep the calling pool thread, about to wait, off `cpu` where a post of
 * `slots` slots came from (own_threads.h); *left is the CPU it keeps off
 * so far (-1: none), *own its CPUs, read again when it had them all.  0
 * once the system refused: the thread is not placed any more. */
static int wait_beside(cpu_set_t *own, int *left, int cpu, uint32_t slots)
{
    if (*left < 0 && own_thread_cpus(own) != 0)
        return 0;
    int leave = own_thread_cpu_to_leave(own, cpu, slots);
    if (leave == *left)
        return 1;
    if (own_thread_use(own, leave) != 0)
        return 0;
    *left = leave;
    return 1;
}

static void *pool_thread(void *arg)
{
    worker_pool *pool = arg;
    own_thread_name("daglib worker");
    /* The thread's own CPUs, read again before each restriction, so that
     * a change made meanwhile (by a task, or `taskset`) stands. */
    cpu_set_t own;
    int placeable = 1; /* 0 once the system refused */
    int left = -1;     /* the CPU the thread keeps off while it waits */
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        /* Placed for this wait, and for which post: chosen again when a
         * post from elsewhere came and went before this thread saw it. */
        int placed = 0, placed_cpu = -1;
        uint32_t placed_slots = 0;
        while (!pool->stop && pool->n_pending == 0) {
            int cpu = pool->poster_cpu;
            uint32_t slots = pool->posted_slots;
            if (placeable && (cpu >= 0 || left >= 0) &&
                (!placed || cpu != placed_cpu || slots != placed_slots)) {
                pthread_mutex_unlock(&pool->lock);
                placeable = wait_beside(&own, &left, cpu, slots);
                pthread_mutex_lock(&pool->lock);
                placed = 1;
                placed_cpu = cpu;
                placed_slots = slots;
                continue; /* what changed meanwhile is seen again */
            }
            pthread_cond_wait(&pool->posted, &pool->lock);
        }
        if (pool->stop)
            break;
        if (left >= 0) {
            /* All its CPUs back before it takes a slot: the job's caller
             * waits for a slot taken, not for one still pending.  (Were
             * they refused, its tasks would run on the others.) */
            pthread_mutex_unlock(&pool->lock);
            if (own_thread_use(&own, -1) == 0)
                left = -1;
            pthread_mutex_lock(&pool->lock);
            if (pool->stop || pool->n_pending == 0)
                continue;
        }
        uint32_t slot = pool->pending[--pool->n_pending];
        pool_job job = pool->job;
        void *ctx = pool->ctx;
        pthread_mutex_unlock(&pool->lock);
        job(ctx, slot);
        pthread_mutex_lock(&pool->lock);
        if (atomic_fetch_sub(&pool->unfinished, 1) == 1)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static int pool_init(worker_pool *pool)
{
    *pool = (worker_pool){.forks = fork_count, .poster_cpu = -1};
    atomic_init(&pool->unfinished, 0);
    if (pthread_mutex_init(&pool->lock, NULL) != 0)
        return -1;
    if (pthread_cond_init(&pool->posted, NULL) != 0) {
        pthread_mutex_destroy(&pool->lock);
        return -1;
    }
    if (pthread_cond_init(&pool->done, NULL) != 0) {
        pthread_cond_destroy(&pool->posted);
        pthread_mutex_destroy(&pool->lock);
        return -1;
    }
    return 0;
}

/* At least n threads, as far as they can be made; how many there are. */
static uint32_t add_threads(worker_pool *pool, uint32_t n)
{
    if (n > pool->room) {
        pthread_t *bigger = realloc(pool->threads, n * sizeof *bigger);
        if (bigger == NULL)
            return pool->n_threads;
        pool->threads = bigger;
        uint32_t *slots = realloc(pool->pending, n * sizeof *slots);
        if (slots == NULL)
            return pool->n_threads;
        pool->pending = slots;
        pool->room = n;
    }
    while (pool->n_threads < n &&
           pthread_create(&pool->threads[pool->n_threads], NULL, pool_thread,
                          pool) == 0)
        pool->n_threads++;
    return pool->n_threads;
}

uint32_t worker_pool_reserve(worker_pool **pool_ptr, uint32_t n)
{
    if (n == 0)
        return 0;
    worker_pool *pool = *pool_ptr != NULL ? *pool_ptr : take_spare();
    if (pool != NULL && foreign(pool)) {
        forget(pool);
        pool = NULL;
    }
    if (pool == NULL) {
        pthread_once(&fork_watch, watch_forks);
        if ((pool = malloc(sizeof *pool)) != NULL && pool_init(pool) != 0) {
            free(pool);
            pool = NULL;
        }
    }
    *pool_ptr = pool;
    if (pool == NULL)
        return 0;
    uint32_t have = add_threads(pool, n);
    return n < have ? n : have;
}

void worker_pool_post(worker_pool *pool, uint32_t n, pool_job job, void *ctx)
{
    if (n == 0)
        return;
    int cpu = own_thread_current_cpu();
    pthread_mutex_lock(&pool->lock);
    pool->job = job;
    pool->ctx = ctx;
    pool->closed = 0;
    pool->poster_cpu = cpu;
    pool->posted_slots = n;
    /* Slot 0 on top: taken first. */
    for (uint32_t i = 0; i < n; i++)
        pool->pending[i] = n - 1 - i;
    pool->n_pending = n;
    atomic_store(&pool->unfinished, n);
    pthread_mutex_unlock(&pool->lock);
    /* As many threads as there are slots: a pool may have more. */
    if (n == pool->n_threads)
        pthread_cond_broadcast(&pool->posted);
    else
        for (uint32_t i = 0; i < n; i++)
            pthread_cond_signal(&pool->posted);
}

void worker_pool_repost(worker_pool *pool, uint32_t slot)
{
    pthread_mutex_lock(&pool->lock);
    int posted = !pool->closed;
    if (posted) {
        pool->pending[pool->n_pending++] = slot;
        atomic_fetch_add(&pool->unfinished, 1);
    }
    pthread_mutex_unlock(&pool->lock);
    if (posted)
        pthread_cond_signal(&pool->posted);
}

/* How long a caller waiting for the slots to finish checks before it
 * sleeps: a slot that is running sees the job end within microseconds,
 * and waking a sleeper costs tens on a virtual machine. */
#define WAIT_SPINS 2000

void worker_pool_wait(worker_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    /* Slots no thread took yet have nothing left to do: a small DAG's run
     * is over before a waking thread gets a CPU, and a slot given back
     * waits for work that will not come. */
    pool->closed = 1;
    atomic_fetch_sub(&pool->unfinished, pool->n_pending);
    pool->n_pending = 0;
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < WAIT_SPINS && atomic_load(&pool->unfinished) > 0; i++)
        cpu_relax();
    pthread_mutex_lock(&pool->lock);
    while (atomic_load(&pool->unfinished) > 0)
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}

static void destroy(worker_pool *pool)
{
    if (pool == NULL)
        return;
    if (!foreign(pool)) {
        pthread_mutex_lock(&pool->lock);
        pool->stop = 1;
        pthread_cond_broadcast(&pool->posted);
        pthread_mutex_unlock(&pool->lock);
        for (uint32_t i = 0; i < pool->n_threads; i++)
            pthread_join(pool->threads[i], NULL);
        pthread_cond_destroy(&pool->done);
        pthread_cond_destroy(&pool->posted);
        pthread_mutex_destroy(&pool->lock);
    }
    forget(pool);
}

void worker_pool_free(worker_pool *pool)
{
    if (pool == NULL)
        return;
    if (!foreign(pool)) {
        pthread_mutex_lock(&spare_lock);
        worker_pool *kept = spare;
        if (kept == NULL || foreign(kept) ||
            kept->n_threads < pool->n_threads) {
            spare = pool;
            pool = kept;
        }
        pthread_mutex_unlock(&spare_lock);
    }
    destroy(pool);
}

void worker_pool_release_spare(void)
{
    destroy(take_spare());
}
