/* isolate.c - a check in a forked child (isolate.h): the child runs the
 * function and writes {int32 status, message} into a pipe; the parent reads
 * it and reaps the child. A short or missing answer means the child crashed.
 */
#include "isolate.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int rls_isolate_run(rls_isolate_fn fn, void *arg, const char *what, struct rls_err *err)
{
    int fds[2];
    char buf[sizeof(int32_t) + RLS_ERRMSG_MAX];
    size_t got = 0;
    int wst = 0;
    pid_t pid;

    if (pipe(fds) != 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: pipe: %s", what, strerror(errno));
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return rls_err_set(err, RLS_ERR_IO, "%s: fork: %s", what, strerror(e));
    }
    if (pid == 0) {
        struct rls_err ce = {0};
        int devnull = open("/dev/null", O_WRONLY);
        close(fds[0]);
        if (devnull >= 0)
            dup2(devnull, 2);   /* a crash report (ASan) must not reach the caller's stderr */
        /* a crash must end the child, not a handler the caller installed (cmocka's
         * would longjmp back into the caller's code, in the child) */
        static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            signal(sigs[i], SIG_DFL);
        int32_t st = (int32_t)fn(arg, &ce);
        if (st != RLS_OK && ce.msg[0] == '\0')
            snprintf(ce.msg, sizeof ce.msg, "%s: refused", what);
        memset(buf, 0, sizeof buf);
        memcpy(buf, &st, sizeof st);
        if (st != RLS_OK)
            memcpy(buf + sizeof st, ce.msg, sizeof ce.msg);
        size_t off = 0;
        while (off < sizeof buf) {
            ssize_t n = write(fds[1], buf + off, sizeof buf - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                _exit(3);
            off += (size_t)n;
        }
        _exit(0);   /* no atexit handlers, no leak report: the parent owns everything */
    }
    close(fds[1]);
    while (got < sizeof buf) {
        ssize_t n = read(fds[0], buf + got, sizeof buf - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
        ;
    if (got == sizeof buf && WIFEXITED(wst) && WEXITSTATUS(wst) == 0) {
        int32_t st;
        memcpy(&st, buf, sizeof st);
        if (st == RLS_OK)
            return RLS_OK;
        buf[sizeof buf - 1] = '\0';
        return rls_err_set(err, st < 0 ? st : RLS_ERR_PARSE, "%s", buf + sizeof st);
    }
    if (WIFSIGNALED(wst))
        return rls_err_set(err, RLS_ERR_PARSE,
                           "%s: corrupt file: the HDF5 library crashed reading it (signal %d in the "
                           "validating child); refused", what, WTERMSIG(wst));
    return rls_err_set(err, RLS_ERR_PARSE,
                       "%s: corrupt file: the HDF5 library failed reading it (the validating child "
                       "exited with status %d); refused", what, WIFEXITED(wst) ? WEXITSTATUS(wst) : -1);
}
