/*
 * prefault.h -- fresh memory faulted in on a helper thread as well.
 *
 * In a fresh process every 4 KiB page a DAG touches costs the kernel about
 * a microsecond (on a virtual machine, much of it in the host): some 50 ns
 * a task of a million-task build and first run, a third of their time,
 * spent on the one thread that builds while the other CPUs wait for the
 * run.  So the arrays a build fills as it goes have their next step
 * faulted in by a helper thread while the builder fills the step before
 * (prefault_soon()), and the arrays written whole just after they are
 * allocated (a plan, a run's states, a name table's next generation) are
 * faulted in by the caller and the helper together (prefault_now()).
 *
 * The helper is one thread of the process, made the first time it is
 * asked and kept until prefault_release(); a process allowed a single CPU
 * never makes it, and its callers do their own faulting.  Faulting memory
 * in changes nothing it holds: these are hints, and a range the helper
 * never got to is faulted in by the first write as usual.
 */
#ifndef DAGLIB_PREFAULT_H
#define DAGLIB_PREFAULT_H

#include <stdatomic.h>
#include <stddef.h>

/* Fault in the page-aligned [start, start + len) of a private writable
 * mapping, the helper taking part when it is big; returns when all of it
 * is faulted in (as far as the kernel does it). */
void prefault_now(void *start, size_t len);

/* Queue the faulting in of the page-aligned [start, start + len) of the
 * mapping `owner` for the helper, and return at once: 1 if queued, 0 if
 * not (the process has one CPU, the kernel cannot, too many requests
 * wait, or no thread could be made).  When the kernel faulted all of it
 * in, *mark (if not NULL) is raised to mark_to, atomically, never
 * lowered.  The owner's memory and *mark must stay until
 * prefault_forget(owner); requests of one owner are done in the order
 * queued. */
int prefault_soon(const void *owner, void *start, size_t len,
                  _Atomic size_t *mark, size_t mark_to);

/* The mapping `owner` is about to be unmapped or given to another use:
 * drop its requests, waiting only for work the helper is doing on it. */
void prefault_forget(const void *owner);

/* *mark = max(*mark, to). */
static inline void prefault_mark_raise(_Atomic size_t *mark, size_t to)
{
    size_t was = atomic_load_explicit(mark, memory_order_relaxed);
    while (was < to && !atomic_compare_exchange_weak_explicit(
                           mark, &was, to, memory_order_release,
                           memory_order_relaxed))
        ;
}

/* Stop and join the helper thread; the next request makes a new one, and
 * requests left in the table wait for it (or prefault_forget()).  Safe
 * from any thread, also from several at once. */
void prefault_release(void);

#endif
