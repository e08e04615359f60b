/*
 * daglib.h -- run DAGs of C functions in parallel, profile every run to an
 * Avro file, and query the profiles with SQL.
 *
 * This is the only public header of libdaglib.  Every function is
 * documented where it is declared: what it takes, who owns what afterwards,
 * what it returns and which errors it can give.
 *
 *   static void task_1(daglib_context *ctx, int argc,
 *                      const daglib_value *const *argv)
 *   {
 *       daglib_value *list = daglib_value_new_list();
 *       for (int i = 1; i <= 3; i++) daglib_list_append_int(list, i);
 *       daglib_result_value(ctx, list);
 *   }
 *
 *   daglib_dag *dag = daglib_dag_new("example", "This is an example DAG",
 *                                    DAGLIB_PROFILE);
 *   daglib_task_add(dag, "task_1", "Do some stuff", task_1, NULL);
 *   daglib_task *t2 = daglib_task_add(dag, "task_2", "Do some other stuff",
 *                                     task_2, NULL);
 *   daglib_task_input(t2, "task_1");
 *   daglib_task_set_final(t2);
 *
 *   daglib_value *finals;
 *   if (daglib_run(dag, &finals) == DAGLIB_OK) {
 *       daglib_value_print(finals, stdout);      // [2, 4, 6]
 *       daglib_value_free(finals);
 *   } else {
 *       fprintf(stderr, "%s\n", daglib_dag_errmsg(dag));
 *   }
 *   daglib_dag_free(dag);
 *
 * Conventions
 *   - Every function that can fail returns an int error code (DAGLIB_OK on
 *     success); the DAG keeps a readable message, daglib_dag_errmsg().
 *   - The library never prints, never exits and never changes process-wide
 *     state (signal handlers, srand, locale, working directory).
 *   - Whoever allocates frees.  Values a task receives are borrowed for the
 *     duration of the call; a value handed to the library belongs to it.
 *   - Strings are NUL-terminated UTF-8.
 */
#ifndef DAGLIB_H
#define DAGLIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define DAGLIB_EXTERN __attribute__((visibility("default")))
#define DAGLIB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define DAGLIB_EXTERN
#define DAGLIB_PRINTF(fmt, args)
#endif

/* ------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------ */

#define DAGLIB_VERSION_MAJOR 0
#define DAGLIB_VERSION_MINOR 1
#define DAGLIB_VERSION_PATCH 0
#define DAGLIB_VERSION "0.1.0"

/* The version of the linked library, "MAJOR.MINOR.PATCH". Static string. */
DAGLIB_EXTERN const char *daglib_version(void);

/* ------------------------------------------------------------------------
 * Error codes
 *
 * One table generates the codes, their names and their messages.
 * ------------------------------------------------------------------------ */

#define DAGLIB_ERRNO_MAP(XX)                                                  \
    XX(OK, 0, "not an error")                                                 \
    XX(NOMEM, 1, "out of memory")                                             \
    XX(MISUSE, 2, "library used incorrectly")                                 \
    XX(INVALID, 3, "invalid argument")                                        \
    XX(DUPLICATE, 4, "duplicate task name")                                   \
    XX(NOTFOUND, 5, "no such task")                                           \
    XX(CYCLE, 6, "the graph has a cycle")                                     \
    XX(TASK_FAILED, 7, "a task failed")                                       \
    XX(IO, 8, "input/output error")                                           \
    XX(SQL, 9, "SQLite error")

typedef enum daglib_errno {
#define DAGLIB_ERRNO_ENUM_(name, code, msg) DAGLIB_##name = code,
    DAGLIB_ERRNO_MAP(DAGLIB_ERRNO_ENUM_)
#undef DAGLIB_ERRNO_ENUM_
} daglib_errno;

/* A static, generic message for an error code ("the graph has a cycle").
 * Unknown codes give "unknown error".  Thread safe. */
DAGLIB_EXTERN const char *daglib_errstr(int code);

/* The code's name without prefix ("CYCLE"); "UNKNOWN" for unknown codes. */
DAGLIB_EXTERN const char *daglib_errname(int code);

/* ------------------------------------------------------------------------
 * Values
 *
 * Results travel between tasks as values, in the manner of SQLite's
 * sqlite3_value: a NULL, a 64-bit integer, a double, UTF-8 text, a blob, a
 * list of values, or an opaque pointer with its destructor.
 *
 * Ownership: a daglib_value returned by a daglib_value_new_*() or
 * daglib_value_copy() call belongs to the caller until it is freed with
 * daglib_value_free() or handed over (daglib_list_append,
 * daglib_result_value), after which the caller must not touch it.  Values
 * obtained from daglib_value_item() or received as task arguments are
 * borrowed: valid until their owner changes or frees them, never freed by
 * the borrower.
 *
 * A value is not synchronised: several threads may read the same value at
 * once, but nobody may modify a value another thread is reading.
 * ------------------------------------------------------------------------ */

typedef struct daglib_value daglib_value;

typedef enum daglib_type {
    DAGLIB_NULL = 0,
    DAGLIB_INTEGER = 1,
    DAGLIB_REAL = 2,
    DAGLIB_TEXT = 3,
    DAGLIB_BLOB = 4,
    DAGLIB_LIST = 5,
    DAGLIB_POINTER = 6
} daglib_type;

/* Destructor sentinels for text and blob results, as in SQLite:
 * DAGLIB_STATIC means the bytes outlive every use of the value and are never
 * freed; DAGLIB_TRANSIENT means the library copies them at once.  Any other
 * function takes ownership: the library calls it on the bytes when it no
 * longer needs them (possibly at once, after copying).
 *
 * What the library does with the bytes:
 *   DAGLIB_STATIC     text with n < 0 and blobs are used in place (no copy);
 *                     text with n >= 0 is copied (it may not be
 *                     NUL-terminated at n, and text values always are).
 *   DAGLIB_TRANSIENT  copied.
 *   free              adopted without a copy (text with n < 0, blobs);
 *                     text with n >= 0 is copied and free() called at once.
 *   other function    copied, then destroy called on the bytes at once.
 * A destructor is called exactly once, whatever the outcome, even when the
 * call fails (out of memory, invalid UTF-8); never on a NULL pointer. */
typedef void (*daglib_destructor)(void *);
#define DAGLIB_STATIC ((daglib_destructor)0)
#define DAGLIB_TRANSIENT ((daglib_destructor)-1)

/* The type of a value; a NULL pointer reads as DAGLIB_NULL. */
DAGLIB_EXTERN daglib_type daglib_value_type(const daglib_value *v);

/* The value as an integer: INTEGER as is, REAL truncated toward zero
 * (saturating at the int64 limits), anything else 0. */
DAGLIB_EXTERN int64_t daglib_value_int(const daglib_value *v);

/* The value as a double: REAL as is, INTEGER converted, anything else 0.0. */
DAGLIB_EXTERN double daglib_value_double(const daglib_value *v);

/* The NUL-terminated bytes of a TEXT value, NULL for any other type.  The
 * pointer is borrowed from the value. */
DAGLIB_EXTERN const char *daglib_value_text(const daglib_value *v);

/* The bytes of a BLOB or TEXT value, NULL for any other type (and for a
 * zero-length blob).  Borrowed from the value.  Blob bytes are not
 * necessarily NUL-terminated. */
DAGLIB_EXTERN const void *daglib_value_blob(const daglib_value *v);

/* The length in bytes of a TEXT (without the NUL) or BLOB value, else 0. */
DAGLIB_EXTERN size_t daglib_value_bytes(const daglib_value *v);

/* The pointer of a POINTER value, NULL for any other type. */
DAGLIB_EXTERN void *daglib_value_pointer(const daglib_value *v);

/* The number of items of a LIST value (at most UINT32_MAX), 0 for any
 * other type. */
DAGLIB_EXTERN size_t daglib_value_count(const daglib_value *v);

/* Item i of a LIST value, borrowed from the list; NULL when v is not a list
 * or i is out of range.  Valid until the list is modified or freed. */
DAGLIB_EXTERN const daglib_value *daglib_value_item(const daglib_value *v,
                                                    size_t i);

/* Constructors.  Each returns a new value owned by the caller, or NULL when
 * memory runs out.
 *
 * Text must be valid UTF-8 (no overlong forms, no surrogates, nothing above
 * U+10FFFF, no truncated sequence); n < 0 means up to the NUL.  With n >= 0
 * the text may hold NUL bytes: daglib_value_bytes() gives the whole length,
 * daglib_value_text() a string that stops at the first NUL.
 * daglib_value_new_text() also returns NULL when s is NULL or not valid
 * UTF-8; daglib_value_new_blob() when p is NULL and n > 0 (p may be NULL
 * for an empty blob).  Text and blob bytes are copied.
 *
 * daglib_value_new_pointer() takes p and calls destroy(p) (if destroy is not
 * NULL) when the last copy of the value is freed, or at once when memory
 * runs out.  DAGLIB_TRANSIENT makes no sense for an opaque pointer: it gives
 * NULL and nothing is called. */
DAGLIB_EXTERN daglib_value *daglib_value_new_null(void);
DAGLIB_EXTERN daglib_value *daglib_value_new_int(int64_t i);
DAGLIB_EXTERN daglib_value *daglib_value_new_double(double d);
DAGLIB_EXTERN daglib_value *daglib_value_new_text(const char *s, ptrdiff_t n);
DAGLIB_EXTERN daglib_value *daglib_value_new_blob(const void *p, size_t n);
DAGLIB_EXTERN daglib_value *daglib_value_new_pointer(void *p,
                                                     daglib_destructor destroy);
DAGLIB_EXTERN daglib_value *daglib_value_new_list(void);

/* A deep copy of v, owned by the caller; NULL when memory runs out or v is
 * NULL.  A POINTER value is shared, not duplicated: the pointer is destroyed
 * when the last copy is freed (the count is atomic, so copies may live on
 * different threads).  DAGLIB_STATIC bytes stay shared too.  A copy of a
 * task's argument list is an ordinary list the caller may append to. */
DAGLIB_EXTERN daglib_value *daglib_value_copy(const daglib_value *v);

/* Free a value owned by the caller, and everything it contains.  NULL is a
 * no-op. */
DAGLIB_EXTERN void daglib_value_free(daglib_value *v);

/* Append item to list, which takes ownership of item even when the call
 * fails (the item is then freed).  Returns DAGLIB_OK, DAGLIB_MISUSE (list is
 * NULL, not a list, or a task's argument list; item is NULL or is list
 * itself -- then nothing is freed, the caller still owns its list) or
 * DAGLIB_NOMEM (also past UINT32_MAX items). */
DAGLIB_EXTERN int daglib_list_append(daglib_value *list, daglib_value *item);

/* Shorthands for appending a new scalar; same return codes, and
 * daglib_list_append_text() gives DAGLIB_MISUSE for NULL text and
 * DAGLIB_INVALID for text that is not valid UTF-8 (see the constructors). */
DAGLIB_EXTERN int daglib_list_append_null(daglib_value *list);
DAGLIB_EXTERN int daglib_list_append_int(daglib_value *list, int64_t i);
DAGLIB_EXTERN int daglib_list_append_double(daglib_value *list, double d);
DAGLIB_EXTERN int daglib_list_append_text(daglib_value *list, const char *s,
                                          ptrdiff_t n);

/* 1 when a and b hold the same data (same type, and equal contents, items
 * compared recursively; REAL compared with ==, so NaN is not equal to
 * itself and 0.0 equals -0.0; INTEGER 1 and REAL 1.0 differ; POINTER by
 * address), else 0.  A list and a tuple with the same items are equal.  A
 * NULL pointer reads as a NULL value.  Lists nested more than 32 deep need
 * a little memory to compare; when it runs out the answer is 0. */
DAGLIB_EXTERN int daglib_value_equal(const daglib_value *a,
                                     const daglib_value *b);

/* The printed form of a value, as Python's repr() prints the same data:
 * None, 42, 1.5, 1e+300, 'text', b'\x00\x01', [1, 2, 3], and a tuple
 * (several finals of a run) as (3, 4, 5), (3,) or ().  Reals print in the
 * shortest form that reads back to the same double (1.0, 0.1, 1e+16, inf,
 * nan, -0.0), whatever the locale.  Text uses Python's quotes and escapes;
 * non-ASCII characters print as they are, except U+0080..U+00A0 and U+00AD,
 * escaped as \x80 as Python does.  A POINTER prints as <pointer 0x...>.
 * A NULL v prints as None (daglib_run()'s finals when there are none).
 * Lists may nest as deep as memory allows.
 *
 * daglib_value_to_string() returns a new NUL-terminated string that the
 * caller frees with daglib_free(), or NULL when memory runs out.
 * daglib_value_print() writes the same string to out, without a newline
 * (as fputs does), and returns DAGLIB_OK, DAGLIB_IO when fwrite fails or
 * the stream's error indicator is set, DAGLIB_MISUSE when out is NULL, or
 * DAGLIB_NOMEM.  It does not flush out. */
DAGLIB_EXTERN char *daglib_value_to_string(const daglib_value *v);
DAGLIB_EXTERN int daglib_value_print(const daglib_value *v, FILE *out);

/* Free memory the library returned to the caller (strings such as
 * daglib_value_to_string's).  NULL is a no-op. */
DAGLIB_EXTERN void daglib_free(void *p);

/* ------------------------------------------------------------------------
 * Tasks as functions
 *
 * A task is a C function.  It receives the results of its inputs, in the
 * order they were declared (named inputs first, then extra dependencies),
 * as borrowed values valid for the duration of the call, and reports its
 * own result through the context, as SQLite's user functions do.  A task
 * that sets nothing returns NULL.
 *
 * A task fails by calling daglib_result_error(): its dependants are then
 * skipped, independent branches still run, and daglib_run() returns
 * DAGLIB_TASK_FAILED with the task's name and message.
 *
 * The daglib_result_*() functions may be called only from the task, on its
 * own thread, during the call; each replaces any result set before.
 * ------------------------------------------------------------------------ */

typedef struct daglib_context daglib_context;

typedef void (*daglib_task_fn)(daglib_context *ctx, int argc,
                               const daglib_value *const *argv);

DAGLIB_EXTERN void daglib_result_null(daglib_context *ctx);
DAGLIB_EXTERN void daglib_result_int(daglib_context *ctx, int64_t i);
DAGLIB_EXTERN void daglib_result_double(daglib_context *ctx, double d);

/* Text (UTF-8; n < 0: up to the NUL) and blob results; destroy says what
 * happens to the bytes (DAGLIB_STATIC, DAGLIB_TRANSIENT or a destructor,
 * see above). */
DAGLIB_EXTERN void daglib_result_text(daglib_context *ctx, const char *s,
                                      ptrdiff_t n, daglib_destructor destroy);
DAGLIB_EXTERN void daglib_result_blob(daglib_context *ctx, const void *p,
                                      size_t n, daglib_destructor destroy);

/* An opaque pointer result; destroy(p) runs when the library and every copy
 * are done with it (destroy may be NULL). */
DAGLIB_EXTERN void daglib_result_pointer(daglib_context *ctx, void *p,
                                         daglib_destructor destroy);

/* Hand a value over as the result; the library owns v afterwards, even if
 * the call fails.  Use it for lists.  A NULL v (what the constructors give
 * when memory runs out) fails the task, so a task may build its value and
 * hand it over without checking each constructor:
 *
 *     daglib_result_value(ctx, daglib_value_new_list());  // [] or a failure
 */
DAGLIB_EXTERN void daglib_result_value(daglib_context *ctx, daglib_value *v);

/* A deep copy of v as the result (to pass an input on unchanged). */
DAGLIB_EXTERN void daglib_result_copy(daglib_context *ctx,
                                      const daglib_value *v);

/* Fail the task with a printf-style message.  The task's result, if any, is
 * discarded. */
DAGLIB_EXTERN void daglib_result_error(daglib_context *ctx, const char *fmt,
                                       ...) DAGLIB_PRINTF(2, 3);

/* The user_data given to daglib_task_add(). */
DAGLIB_EXTERN void *daglib_user_data(daglib_context *ctx);

/* The running task instance's name ("task_2", or "add_two 3" for an
 * instance of a mapped task).  Borrowed, valid during the call. */
DAGLIB_EXTERN const char *daglib_context_task_name(daglib_context *ctx);

/* The index of the worker running the task, 0 .. workers-1. */
DAGLIB_EXTERN int daglib_context_worker(daglib_context *ctx);

/* ------------------------------------------------------------------------
 * Building a DAG
 *
 * A DAG is a set of named tasks.  A task names its inputs by task name;
 * names are resolved when the DAG runs, so tasks may be added in any order.
 *
 * Build errors are sticky: the first one (an unsafe DAG name, a duplicate
 * task name, a NULL argument...) is kept by the DAG, later build calls do
 * nothing and return it, and daglib_run() returns it.  So a program may
 * build the whole DAG and check once.  Run errors are not sticky: a DAG
 * may be run again after a failed run.
 *
 * A DAG object is not synchronised: build it from one thread, and do not
 * run it from two threads at once (the second run returns DAGLIB_MISUSE).
 * ------------------------------------------------------------------------ */

typedef struct daglib_dag daglib_dag;
typedef struct daglib_task daglib_task;

/* Flags for daglib_dag_new(). */
#define DAGLIB_PROFILE 0x01u /* write one Avro profiling file per run */

/* Longest DAG name, in bytes: the name becomes a directory. */
#define DAGLIB_MAX_NAME_BYTES 128

/* Most workers a run may use. */
#define DAGLIB_MAX_WORKERS 512

/* Create a DAG.  name becomes the directory of its profiling files, so it
 * must be a safe path component: non-empty, at most DAGLIB_MAX_NAME_BYTES
 * bytes of UTF-8, no '/', not starting with '.'.  NULL gives a generated
 * name ("dag_" and 12 hex digits).  description may be NULL (empty).  flags
 * is 0 or DAGLIB_PROFILE.
 *
 * Returns a new DAG that the caller frees with daglib_dag_free(), or NULL
 * when memory runs out.  An unsafe name or unknown flag does not return
 * NULL: the DAG carries the error (daglib_dag_errcode() is DAGLIB_INVALID)
 * and every later call returns it. */
DAGLIB_EXTERN daglib_dag *daglib_dag_new(const char *name,
                                         const char *description,
                                         unsigned flags);

/* Free a DAG and its tasks.  NULL is a no-op.  Must not be called while the
 * DAG runs.  The large arrays of a big DAG (from 64 KiB: its tasks, plan,
 * run states, name table; about 200 bytes a task; also a profiled run's
 * notes waiting for the profiler's thread) are mostly not handed
 * back to the system but kept for the next DAG built, so that rebuilding
 * a graph does not pay the kernel to fault its memory in again.  What is
 * kept, over all DAGs of the process, never exceeds twice the most that
 * such arrays of the process's DAGs took at once (since the start or the
 * last daglib_release_memory()), nor 1 GiB; a new DAG takes from it before
 * asking the system.  The DAG's worker threads (daglib_dag_set_workers())
 * go on waiting for the next DAG, or are ended and joined here. */
DAGLIB_EXTERN void daglib_dag_free(daglib_dag *dag);

/* Hand back to the system the large arrays kept from freed DAGs (see
 * daglib_dag_free()), and end the worker threads kept for the next DAG and
 * the library's page-faulting thread, for a program done with DAGs for a
 * while.  Safe from any thread, while other DAGs are built or run.
 *
 * The page-faulting thread: a page of fresh memory costs the kernel about
 * a microsecond, a third of the time a big DAG takes to build and run
 * once, so on a process allowed two CPUs or more the library faults in
 * part of a big DAG's arrays on a thread of its own while the caller goes
 * on (a DAG of some 25,000 tasks or more): made the first time, waiting
 * between uses, ended here, and made again by the next big DAG. */
DAGLIB_EXTERN void daglib_release_memory(void);

/* The DAG's name (given or generated); borrowed from the DAG. */
DAGLIB_EXTERN const char *daglib_dag_name(const daglib_dag *dag);

/* The code and the message of the DAG's last error (DAGLIB_OK and
 * "not an error" when the last call succeeded).  The message is borrowed
 * from the DAG and valid until its next call.  A NULL dag gives
 * DAGLIB_MISUSE. */
DAGLIB_EXTERN int daglib_dag_errcode(const daglib_dag *dag);
DAGLIB_EXTERN const char *daglib_dag_errmsg(const daglib_dag *dag);

/* The metadata root under which profiling files are written,
 * <root>/profiling/<dag name>/<run id>.avro.  NULL restores the default:
 * the environment variable DAGLIB_META_DIR when set and non-empty, else
 * "meta", read when each run starts, relative to the working directory at
 * that time.  The string is copied.  Returns DAGLIB_OK, DAGLIB_INVALID for
 * an empty root, DAGLIB_NOMEM; errors are sticky build errors. */
DAGLIB_EXTERN int daglib_dag_set_meta_dir(daglib_dag *dag, const char *root);

/* The number of threads a run uses, the calling thread included:
 * 1 .. DAGLIB_MAX_WORKERS.  The default is the number of online CPUs
 * when the DAG was made (a CPU brought online or offline counts up to a
 * second later).
 *
 * The other threads are made at the DAG's first run on several workers
 * (a thread that cannot be made leaves its share to the others) and wait
 * between runs, so a run of a small DAG costs microseconds, not the
 * making of threads.  They live on after the run: a task's thread-local
 * data stays, and they inherit the signal mask of the thread that made
 * them, and the CPUs it may use.  On Linux, while such a thread waits
 * for a run it keeps off the CPU its last run's caller ran on, when
 * enough others remain (a virtual machine tends to wake it there, where
 * it would take turns with the caller); it runs tasks on all of its
 * CPUs.  A DAG keeps its threads when its worker count goes down.  When
 * the DAG is freed its threads wait for the next DAG to run; the process
 * keeps the threads of one freed DAG so (the one with most), until
 * daglib_release_memory() or the end of the process (a program that
 * unloads the library calls it first).  A child process made by fork()
 * makes threads of its own.  The library's threads are named "daglib
 * worker", "daglib profiler", "daglib prefault" and "daglib progress".
 * Returns DAGLIB_OK or DAGLIB_INVALID (a sticky build error). */
DAGLIB_EXTERN int daglib_dag_set_workers(daglib_dag *dag, int workers);

/* The Avro codec of the profiling files: "null" (the default: fastest to
 * query) or "deflate" (smaller).  Returns DAGLIB_OK or DAGLIB_INVALID (a
 * sticky build error: an unchecked bad codec stops the run rather than
 * letting it write uncompressed files). */
DAGLIB_EXTERN int daglib_dag_set_codec(daglib_dag *dag, const char *codec);

/* Room for `tasks` more tasks, for a program that knows how many it will
 * add: the table of task names is made that big at once instead of
 * doubling, every name moved, as tasks are added.  It takes 16 to 32
 * bytes a task (a power of two of 8-byte slots, at most half full), in
 * memory taken at once: a hint far above the tasks added costs that
 * memory.  The tasks themselves take their memory as they are added, and
 * none is made ready ahead of them past the hint.  Adding more tasks than
 * reserved works, and without a call the table grows as needed.  Returns
 * DAGLIB_OK, DAGLIB_MISUSE (dag NULL or running), DAGLIB_INVALID (more
 * tasks than a DAG may hold: about 2^30),
 * DAGLIB_NOMEM, or the DAG's sticky build error; an error of its own
 * leaves the DAG as it was, and is not sticky. */
DAGLIB_EXTERN int daglib_dag_reserve(daglib_dag *dag, size_t tasks);

/* Add a task.  name must be unique in the DAG, non-empty UTF-8 without
 * control characters; description may be NULL (empty); fn must not be NULL;
 * user_data is returned by daglib_user_data() during the call.  Strings are
 * copied.
 *
 * Returns the task, owned by the DAG and valid until daglib_dag_free(), or
 * NULL on error (DAGLIB_DUPLICATE, DAGLIB_INVALID, DAGLIB_MISUSE,
 * DAGLIB_NOMEM; the DAG keeps the error).  Passing that NULL to the
 * daglib_task_*() functions below is harmless: they return DAGLIB_MISUSE. */
DAGLIB_EXTERN daglib_task *daglib_task_add(daglib_dag *dag, const char *name,
                                           const char *description,
                                           daglib_task_fn fn, void *user_data);

/* Pass the result of the task called upstream as the task's next argument.
 * The name is copied and resolved when the DAG runs (an unknown name is
 * DAGLIB_NOTFOUND then).  Returns DAGLIB_OK, DAGLIB_MISUSE, DAGLIB_INVALID
 * or DAGLIB_NOMEM. */
DAGLIB_EXTERN int daglib_task_input(daglib_task *task, const char *upstream);

/* An extra dependency: the task runs after upstream, and upstream's result
 * is passed after all the named inputs, in the order the dependencies were
 * added.  Same returns as daglib_task_input(). */
DAGLIB_EXTERN int daglib_task_depends_on(daglib_task *task,
                                         const char *upstream);

/* daglib_task_input() and daglib_task_depends_on() for a program that holds
 * the upstream task already (from daglib_task_add() or daglib_dag_task()):
 * the same reference, without looking the name up.  Naming inputs stays the
 * usual way; these save the lookup when a generated graph has the handles
 * at hand.  upstream must be a task of the same DAG: NULL or another DAG's
 * task is DAGLIB_MISUSE (a sticky build error).  Returns DAGLIB_OK,
 * DAGLIB_MISUSE or DAGLIB_NOMEM.
 *
 *   daglib_task *load = daglib_task_add(dag, "load", NULL, load_fn, NULL);
 *   daglib_task *fit = daglib_task_add(dag, "fit", NULL, fit_fn, NULL);
 *   daglib_task_input_task(fit, load);  // as daglib_task_input(fit, "load")
 */
DAGLIB_EXTERN int daglib_task_input_task(daglib_task *task,
                                         const daglib_task *upstream);
DAGLIB_EXTERN int daglib_task_depends_on_task(daglib_task *task,
                                              const daglib_task *upstream);

/* Mark the task final: daglib_run() returns its result.  Returns DAGLIB_OK
 * or DAGLIB_MISUSE. */
DAGLIB_EXTERN int daglib_task_set_final(daglib_task *task);

/* The task's name; borrowed from the DAG. */
DAGLIB_EXTERN const char *daglib_task_name(const daglib_task *task);

/* ------------------------------------------------------------------------
 * Kinds of tasks
 *
 * A mapped task runs once per item: its instances are named after it with
 * the item's index ("add_two 0", "add_two 1", ...), run in parallel, and
 * each receives its item as its first argument (before the named inputs
 * and dependencies, which every instance shares).  Other tasks can map over
 * a mapped task's instances in turn, or join them.
 *
 * These calls are build calls: their errors are sticky (see above).  A task
 * has at most one of map_values / map / join, and chunks combine only with
 * join; a second or conflicting call is DAGLIB_MISUSE.
 * ------------------------------------------------------------------------ */

/* Map the task over the items of a list value (copied): one instance per
 * item.  An empty list gives a task without instances.  Returns DAGLIB_OK,
 * DAGLIB_MISUSE (list is not a list, or the task already has a kind),
 * DAGLIB_NOMEM. */
DAGLIB_EXTERN int daglib_task_map_values(daglib_task *task,
                                         const daglib_value *list);

/* Map the task over the instances of mapped_task, a mapped or chunked task:
 * instance i receives the result of mapped_task's instance i.  Mapping over
 * a task that is not mapped is DAGLIB_INVALID when the DAG runs. */
DAGLIB_EXTERN int daglib_task_map(daglib_task *task, const char *mapped_task);

/* Join the instances of mapped_task: the task receives, as its first
 * argument, one list of their results in instance order. */
DAGLIB_EXTERN int daglib_task_join(daglib_task *task, const char *mapped_task);

/* Split the task's result, which must be a list, into n chunks, as
 * numpy.array_split does: the first (length % n) chunks one item longer,
 * empty lists when n exceeds the length.  The chunks are the task's
 * instances ("name 0" .. "name n-1"): other tasks map over or join them,
 * and a final chunked task returns the tuple of chunks.  A result that is
 * not a list fails the task when it runs.  n must be 1 .. 1000000. */
DAGLIB_EXTERN int daglib_task_set_chunks(daglib_task *task, int n);

/* How a failing task is tried again: up to `attempts` tries in all, the
 * k-th wait (k = 1, 2, ...) lasting delay * backoff^(k-1) seconds, capped
 * at max_delay (0: no cap).  The wait blocks the task's worker.  The
 * profiling record counts the tries, adds up their run times (waits
 * excluded) and keeps the last failure's message even when a later try
 * succeeded. */
typedef struct daglib_retry {
    int attempts;     /* 1 .. 1000; 1 means no retry */
    double delay;     /* seconds before the second try, >= 0 */
    double backoff;   /* factor per further try, >= 1 */
    double max_delay; /* cap on one wait in seconds, 0 for none */
} daglib_retry;

/* Give the task a retry policy (copied).  DAGLIB_OK, or DAGLIB_INVALID for
 * values out of range. */
DAGLIB_EXTERN int daglib_task_set_retry(daglib_task *task,
                                        const daglib_retry *retry);

/* ------------------------------------------------------------------------
 * Composing DAGs
 * ------------------------------------------------------------------------ */

/* Copy every task of other (functions, inputs, kinds, retry policies) into
 * dag.  With keep_finals, other's finals become finals of dag too, after
 * those marked so far.  other is not changed and may be freed afterwards.
 * A task name present in both is DAGLIB_DUPLICATE (sticky, nothing
 * copied); references are resolved when dag runs, so a subdag may name
 * tasks of dag, and a cycle across the merge is found then. */
DAGLIB_EXTERN int daglib_dag_add_subdag(daglib_dag *dag,
                                        const daglib_dag *other,
                                        int keep_finals);

/* An asset: a task defined once, outside any DAG, and added to several.
 * Assets take no inputs; tasks of a DAG name the asset to use its result. */
typedef struct daglib_asset {
    const char *name;
    const char *description;
    daglib_task_fn fn;
    void *user_data;
} daglib_asset;

/* Add the asset to dag as a task; same returns as daglib_task_add(). */
DAGLIB_EXTERN daglib_task *daglib_dag_add_asset(daglib_dag *dag,
                                                const daglib_asset *asset);

/* The task called name, or NULL. */
DAGLIB_EXTERN daglib_task *daglib_dag_task(daglib_dag *dag, const char *name);

/* ------------------------------------------------------------------------
 * Running a DAG
 * ------------------------------------------------------------------------ */

/* Run every task of the DAG, each once all its inputs are done, on the
 * configured number of workers (the calling thread is one of them; the call
 * returns when the run is over).  With DAGLIB_PROFILE, the run writes
 * <root>/profiling/<dag>/<run id>.avro: a new file, never an existing one,
 * with one record per task.  A block of records is written at least every
 * half second (and whenever one reaches about 1 MiB), so a query sees a
 * finished task within a second; the file is synced and closed before the
 * call returns.  On Linux its pages leave the page cache as the disk takes
 * them, all but its last few MiB by the time the call returns, so a long
 * run's file does not fill the cache (a query reads it from disk).  The
 * records are encoded and written by a thread of the run's own, which on
 * Linux may use the CPUs the calling thread may use but the one it runs on
 * (when it may use others).
 *
 * On success, *finals (if finals is not NULL) receives the result of the
 * final task when there is one, a tuple (a list printed in parentheses) of
 * the final results in the order they were marked when there are several,
 * or NULL when there are none; the caller frees it with daglib_value_free().
 * Results nobody needs any more are freed during the run.
 *
 * Returns DAGLIB_OK, or an error with *finals set to NULL:
 *   a sticky build error (see above), DAGLIB_NOTFOUND (an input names no
 *   task), DAGLIB_CYCLE (the message names the tasks of one cycle),
 *   DAGLIB_MISUSE (the DAG is already running), DAGLIB_IO (the profiling
 *   file cannot be created or written; when creation fails no task runs),
 *   DAGLIB_TASK_FAILED (the message names the first task that failed and
 *   says how many failed and were skipped), DAGLIB_NOMEM. */
DAGLIB_EXTERN int daglib_run(daglib_dag *dag, daglib_value **finals);

/* Run only what step needs: the task called step and its ancestors, as
 * daglib_run() does otherwise (profiling included).  *result receives the
 * step's result, or for a mapped or chunked step the tuple of its
 * instances' results.  DAGLIB_NOTFOUND when no task is called step. */
DAGLIB_EXTERN int daglib_run_to_step(daglib_dag *dag, const char *step,
                                     daglib_value **result);

/* ------------------------------------------------------------------------
 * Observing a run
 * ------------------------------------------------------------------------ */

/* What an observer is told about a task instance. */
typedef struct daglib_task_event {
    const char *task_name; /* instance name, borrowed for the call */
    int worker;            /* 0 .. workers-1 */
    int attempt;           /* on_start: this try, from 1; on_finish: tries made */
    int status;            /* on_finish: DAGLIB_STATUS_OK, _FAILED or _SKIPPED */
    double runtime;        /* on_finish: seconds, tries added up */
    const char *error;     /* on_finish: the last failure's message, or NULL */
} daglib_task_event;

#define DAGLIB_STATUS_OK 0
#define DAGLIB_STATUS_FAILED 1
#define DAGLIB_STATUS_SKIPPED 2

/* Callbacks on the workers' threads, as Taskflow's observers: on_start
 * before each try of a task, on_finish once per task instance (skipped ones
 * included, with attempt 0).  They run concurrently from several workers
 * and must be thread safe and quick.  Either may be NULL. */
typedef struct daglib_observer {
    void (*on_start)(void *user_data, const daglib_task_event *event);
    void (*on_finish)(void *user_data, const daglib_task_event *event);
    void *user_data;
} daglib_observer;

/* Observe the DAG's runs (copied; NULL stops observing).  DAGLIB_OK. */
DAGLIB_EXTERN int daglib_dag_set_observer(daglib_dag *dag,
                                          const daglib_observer *observer);

/* Report progress of the DAG's runs on out (typically stderr; NULL, the
 * default, for none): done/total, running, failed, elapsed.  On a terminal
 * the line is redrawn in place a few times a second; otherwise a plain line
 * is printed every few seconds and at the end.  The stream must stay open
 * while the DAG runs.  DAGLIB_OK. */
DAGLIB_EXTERN int daglib_dag_set_progress(daglib_dag *dag, FILE *out);

/* ------------------------------------------------------------------------
 * Drawing a DAG
 * ------------------------------------------------------------------------ */

/* The graph as Graphviz DOT text: one node per task instance, one edge per
 * input or dependency.  step (or NULL) culls the graph to what step needs.
 * run_id (or NULL) labels each node with its runtime in that run, read from
 * the run's profiling file under the DAG's metadata root.  Returns a string
 * to free with daglib_free(), or NULL with the error on the DAG
 * (DAGLIB_NOTFOUND, DAGLIB_CYCLE, DAGLIB_IO for an unreadable run file,
 * DAGLIB_NOMEM).  Render it with `dot -Tsvg`. */
DAGLIB_EXTERN char *daglib_dag_to_dot(daglib_dag *dag, const char *step,
                                      const char *run_id);

/* The run id of the DAG's last run ("run_" and 9 hex digits), or NULL
 * before the first run.  Borrowed from the DAG, valid until the next run. */
DAGLIB_EXTERN const char *daglib_dag_run_id(const daglib_dag *dag);

/* The path of the last run's profiling file, or NULL when the last run did
 * not write one.  Borrowed, valid until the next run. */
DAGLIB_EXTERN const char *daglib_dag_profile_path(const daglib_dag *dag);

/* ------------------------------------------------------------------------
 * MetaDB: SQL over the profiling files
 *
 * A MetaDB is an ordinary SQLite connection with the daglib_sqlite extension
 * registered: the eponymous virtual tables profiling and profiling_files,
 * and the functions daglib_drop(), daglib_meta_dir(), daglib_version().
 * Use it with the SQLite API and close it with sqlite3_close().
 * ------------------------------------------------------------------------ */

struct sqlite3;

/* Open filename (NULL: ":memory:"; URI filenames are accepted) as a
 * SQLite connection with the extension registered.  meta_dir is the
 * connection's metadata root (NULL: DAGLIB_META_DIR or "meta", read at each
 * query); a relative root is made absolute now.  On success *db is the
 * connection, owned by the caller, to close with sqlite3_close().
 * Returns DAGLIB_OK; DAGLIB_SQL when SQLite cannot open the file;
 * DAGLIB_INVALID for an empty meta_dir; DAGLIB_MISUSE for a NULL db;
 * DAGLIB_NOMEM.  On error *db is NULL and msg, if not NULL, receives a
 * message to free with daglib_free() (NULL on success).
 *
 *   sqlite3 *db;
 *   if (daglib_metadb_open(NULL, NULL, &db, NULL) == DAGLIB_OK) {
 *       sqlite3_exec(db, "SELECT avg(task_runtime) FROM profiling", cb,
 *                    NULL, NULL);
 *       sqlite3_close(db);
 *   } */
DAGLIB_EXTERN int daglib_metadb_open(const char *filename, const char *meta_dir,
                                     struct sqlite3 **db, char **msg);

/* Register the extension on a connection the caller opened; same meaning of
 * meta_dir.  Registering again replaces the earlier registration (and its
 * root).  Returns DAGLIB_OK; DAGLIB_SQL when SQLite refuses (it is older
 * than 3.31); DAGLIB_INVALID for an empty meta_dir; DAGLIB_MISUSE for a
 * NULL db; DAGLIB_NOMEM. */
DAGLIB_EXTERN int daglib_metadb_register(struct sqlite3 *db,
                                         const char *meta_dir);

/* Remove every file and directory under the connection's metadata root
 * (SELECT daglib_drop()), without following symbolic links out of it; the
 * root itself stays.  *removed (if not NULL) receives the number of
 * entries removed.  Returns DAGLIB_OK; DAGLIB_SQL when an entry cannot be
 * removed or the connection has no MetaDB registered, with the message in
 * sqlite3_errmsg(db); DAGLIB_MISUSE for a NULL db; DAGLIB_NOMEM. */
DAGLIB_EXTERN int daglib_metadb_drop(struct sqlite3 *db, int64_t *removed);

#ifdef __cplusplus
}
#endif

#endif /* DAGLIB_H */
