/*
 * context.c -- what a task can do with its daglib_context: set its result,
 * fail, and ask who and where it is.
 *
 * The result is written straight into the node's output (the inline value
 * the successors will read), so returning a number costs a store.  A task
 * that cannot store its result (out of memory, invalid UTF-8) fails with a
 * message saying so rather than passing on something else.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "dag.h"
#include "error.h"
#include "scheduler.h"

static daglib_value *result_slot(daglib_context *ctx)
{
    daglib_value *v = &ctx->output->result;
    value_clear(v);
    return v;
}

static void fail_with(daglib_context *ctx, char *message)
{
    node_output *out = ctx->output;
    free(out->error);
    out->error = message; /* NULL reads as "out of memory" */
    ctx->state->status = NODE_FAILED;
    value_clear(&out->result);
}

static void fail_for_code(daglib_context *ctx, int code, const char *what)
{
    if (code == DAGLIB_NOMEM)
        fail_with(ctx, format_string("out of memory storing the %s result",
                                     what));
    else if (code == DAGLIB_INVALID)
        fail_with(ctx, format_string("the %s result is not valid UTF-8", what));
    else
        fail_with(ctx, format_string("the %s result was set incorrectly: %s",
                                     what, daglib_errstr(code)));
}

/* Whether destroy is a function the library must call (not a sentinel). */
static int is_destructor(daglib_destructor destroy)
{
    return destroy != DAGLIB_STATIC && destroy != DAGLIB_TRANSIENT;
}

void daglib_result_null(daglib_context *ctx)
{
    if (ctx != NULL)
        result_slot(ctx);
}

void daglib_result_int(daglib_context *ctx, int64_t i)
{
    if (ctx == NULL)
        return;
    daglib_value *v = result_slot(ctx);
    v->type = DAGLIB_INTEGER;
    v->u.i = i;
}

void daglib_result_double(daglib_context *ctx, double d)
{
    if (ctx == NULL)
        return;
    daglib_value *v = result_slot(ctx);
    v->type = DAGLIB_REAL;
    v->u.d = d;
}

void daglib_result_text(daglib_context *ctx, const char *s, ptrdiff_t n,
                        daglib_destructor destroy)
{
    if (ctx == NULL) {
        if (is_destructor(destroy))
            destroy((void *)s);
        return;
    }
    int rc = value_set_text(result_slot(ctx), s, n, destroy);
    if (rc != DAGLIB_OK)
        fail_for_code(ctx, rc, "text");
}

void daglib_result_blob(daglib_context *ctx, const void *p, size_t n,
                        daglib_destructor destroy)
{
    if (ctx == NULL) {
        if (is_destructor(destroy))
            destroy((void *)p);
        return;
    }
    int rc = value_set_blob(result_slot(ctx), p, n, destroy);
    if (rc != DAGLIB_OK)
        fail_for_code(ctx, rc, "blob");
}

void daglib_result_pointer(daglib_context *ctx, void *p,
                           daglib_destructor destroy)
{
    if (ctx == NULL) {
        if (is_destructor(destroy))
            destroy(p);
        return;
    }
    int rc = value_set_pointer(result_slot(ctx), p, destroy);
    if (rc != DAGLIB_OK)
        fail_for_code(ctx, rc, "pointer");
}

void daglib_result_value(daglib_context *ctx, daglib_value *v)
{
    if (ctx == NULL) {
        daglib_value_free(v);
        return;
    }
    if (v == NULL) {
        /* What a constructor gives when memory runs out: a task that hands
         * it over must not quietly return None. */
        fail_with(ctx, format_string("the result value is NULL (out of "
                                     "memory building it?)"));
        return;
    }
    value_unbox(result_slot(ctx), v);
}

void daglib_result_copy(daglib_context *ctx, const daglib_value *v)
{
    if (ctx == NULL)
        return;
    daglib_value *slot = result_slot(ctx);
    if (v != NULL && value_copy_into(slot, v) != DAGLIB_OK)
        fail_for_code(ctx, DAGLIB_NOMEM, "copied");
}

void daglib_result_error(daglib_context *ctx, const char *fmt, ...)
{
    if (ctx == NULL)
        return;
    char *message;
    if (fmt == NULL) {
        message = format_string("task failed without a message");
    } else {
        va_list ap;
        va_start(ap, fmt);
        message = format_stringv(fmt, ap);
        va_end(ap);
    }
    fail_with(ctx, message);
}

void *daglib_user_data(daglib_context *ctx)
{
    if (ctx == NULL)
        return NULL;
    return ctx->run->plan->nodes[ctx->node].task->user_data;
}

const char *daglib_context_task_name(daglib_context *ctx)
{
    if (ctx == NULL)
        return NULL;
    const plan_node *pn = &ctx->run->plan->nodes[ctx->node];
    if (plan_node_instance(ctx->run->plan, ctx->node) == PLAN_NO_INSTANCE)
        return pn->task->name;
    if (ctx->name_buffer == NULL) {
        size_t size = (size_t)pn->task->name_len + 12;
        ctx->name_buffer = malloc(size);
        if (ctx->name_buffer == NULL)
            return pn->task->name;
        run_node_name(ctx->run, ctx->node, ctx->name_buffer, size);
    }
    return ctx->name_buffer;
}

int daglib_context_worker(daglib_context *ctx)
{
    return ctx != NULL ? (int)ctx->worker : -1;
}
