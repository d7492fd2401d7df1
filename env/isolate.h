/* isolate.h - run a check in a forked child process, so that a crash inside a
 * third-party library (libhdf5 on a corrupt file) becomes an error message in
 * the caller instead of killing it. Used by the replay reader and the
 * checkpoint loader before they open a file for real.
 */
#ifndef RLS_ISOLATE_H
#define RLS_ISOLATE_H

#include "status.h"

/* The check run in the child: returns RLS_OK or a negative status with err
 * filled. It may leak: the child exits right after. */
typedef int (*rls_isolate_fn)(void *arg, struct rls_err *err);

/* Runs fn(arg) in a forked child whose stderr goes to /dev/null, and returns
 * its status with its message in err. When the child dies before answering
 * (a signal, an ASan report, an exit), returns RLS_ERR_PARSE with err
 * "WHAT: corrupt file: the library crashed reading it (signal 11 in the
 * validating child); refused". RLS_ERR_IO when pipe or fork fail.
 * Not for use while other threads hold locks the child would need (the
 * child calls only fn). */
int rls_isolate_run(rls_isolate_fn fn, void *arg, const char *what, struct rls_err *err);

#endif
