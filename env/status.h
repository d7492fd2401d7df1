/* status.h - the status codes every rlsched function returns, and the error
 * record that loaders fill when there is no handle to keep a message in.
 *
 * One X-macro list makes both the enum and the strings (as libuv does). 0 is
 * success; every error is negative. Library code never prints: it returns a
 * status and leaves a message that names the file, line, field or peer.
 */
#ifndef RLS_STATUS_H
#define RLS_STATUS_H

#include <stdarg.h>
#include <stddef.h>

#define RLS_STATUS_LIST(X)                                              \
    X(RLS_OK, 0, "ok")                                                  \
    X(RLS_ERR_INVALID, -1, "invalid argument")                          \
    X(RLS_ERR_NOMEM, -2, "out of memory")                               \
    X(RLS_ERR_IO, -3, "input/output error")                             \
    X(RLS_ERR_PARSE, -4, "malformed input")                             \
    X(RLS_ERR_RANGE, -5, "value out of range")                          \
    X(RLS_ERR_NOTFOUND, -6, "not found")                                \
    X(RLS_ERR_STATE, -7, "wrong state for this call")                   \
    X(RLS_ERR_UNSUPPORTED, -8, "not supported")                         \
    X(RLS_ERR_VERSION, -9, "unsupported version")                       \
    X(RLS_ERR_INFEASIBLE, -10, "infeasible")                            \
    X(RLS_ERR_EXTERNAL, -11, "external program failed")

enum rls_status {
#define RLS__ENUM(name, value, text) name = value,
    RLS_STATUS_LIST(RLS__ENUM)
#undef RLS__ENUM
};

/* Returns a static, never NULL, description of a status ("ok", "malformed
 * input", ...); unknown values give "unknown status". */
const char *rls_status_str(int status);

/* An error record for functions that create a handle (and so cannot keep the
 * message in it) or have none. Callers pass a pointer or NULL. */
#define RLS_ERRMSG_MAX 512
struct rls_err {
    int status;                 /* the status returned with the message */
    char msg[RLS_ERRMSG_MAX];   /* one line naming file:line / field, no newline */
};

/* Fills err (when not NULL) with status and a printf-style message and
 * returns status, so a caller can write `return rls_err_set(err, ...)`. */
int rls_err_set(struct rls_err *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A sink for log lines: receives one line without its newline. The served
 * simulator, the cluster-side session and the local cluster take one in
 * their params (their own log typedefs have this signature). */
typedef void (*rls_log_fn)(void *ctx, const char *line);

/* Formats one line (printf-style, cut at RLS_ERRMSG_MAX + 256 bytes) and
 * hands it to fn(ctx, line); a NULL fn is a no-op. Library code logs through
 * this and never prints. */
void rls_logf(rls_log_fn fn, void *ctx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int rls_err_vset(struct rls_err *err, int status, const char *fmt, va_list ap);

/* Clears err (status RLS_OK, empty message); NULL is a no-op. */
void rls_err_clear(struct rls_err *err);

#endif
