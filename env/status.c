/* status.c - status strings and the error record. */
#include "status.h"

#include <stdio.h>
#include <string.h>

const char *rls_status_str(int status)
{
    switch (status) {
#define RLS__CASE(name, value, text) case value: return text;
        RLS_STATUS_LIST(RLS__CASE)
#undef RLS__CASE
    default:
        return "unknown status";
    }
}

int rls_err_vset(struct rls_err *err, int status, const char *fmt, va_list ap)
{
    if (err == NULL)
        return status;
    err->status = status;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    /* keep it one line */
    for (char *p = err->msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return status;
}

int rls_err_set(struct rls_err *err, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rls_err_vset(err, status, fmt, ap);
    va_end(ap);
    return status;
}

void rls_err_clear(struct rls_err *err)
{
    if (err == NULL)
        return;
    err->status = RLS_OK;
    err->msg[0] = '\0';
}

void rls_logf(rls_log_fn fn, void *ctx, const char *fmt, ...)
{
    char line[RLS_ERRMSG_MAX + 256];
    va_list ap;

    if (fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fn(ctx, line);
}
