/*
 * prefault.h -- fresh memory faulted in on a helper thread as well.
 *
 * In a fresh process every 4 KiB page a DAG touches costs the kernel about
 * a microsecond (on a virtual machine, much of it in the host): some 50 ns
 * a task of a million-task build and first run, a third of their time,
 * spent on the one thread that builds while the other CPUs wait for the
 * run.  So the arrays a build fills as it goes have their next step
 * faulted in by a helper thread while the builder fills the step before
 * (prefault_ahead()), and the arrays written whole just after they are
 * allocated (a plan, a run's states, a name table's next generation) are
 * faulted in by the caller and the helper together (prefault_now()).
 *
 * The helper is one thread of the process, made the first time memory is
 * big enough to share and kept until prefault_release(); one caller uses
 * it at a time, and any other does its own faulting, as does every caller
 * on a process allowed a single CPU.  Faulting memory in changes nothing
 * it holds: these are hints, and a range the helper never got to is
 * faulted in by the first write as usual.
 */
#ifndef DAGLIB_PREFAULT_H
#define DAGLIB_PREFAULT_H

#include <stdatomic.h>
#include <stddef.h>

/* Fault in the page-aligned [start, start + len) of a private writable
 * mapping: the helper takes part of it when it is big enough and free;
 * returns when all of it is faulted in (as far as the kernel does it). */
void prefault_now(void *start, size_t len);

/* Start faulting in the page-aligned [start, start + len) of the mapping
 * `owner` on the helper, and return at once; when done, *mark is raised to
 * mark_to (atomically, never lowered).  Nothing happens when the helper is
 * busy with another caller's request.  The owner's memory must stay mapped
 * until prefault_forget(owner). */
void prefault_ahead(const void *owner, void *start, size_t len,
                    _Atomic size_t *mark, size_t mark_to);

/* The mapping `owner` is about to be unmapped or given to another use:
 * wait for a request of prefault_ahead() on it still in progress. */
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

/* Stop and join the helper thread; the next big request makes a new one. */
void prefault_release(void);

#endif
