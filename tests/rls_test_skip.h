/* rls_test_skip.h - honest skips for the cmocka tests that need data outside
 * the repository (../shared/traces): such a test calls
 * rls_test_skip_missing(what) instead of a bare skip(), and main returns
 * rls_test_exit(failed), so the executable exits 77 (ctest: SKIPPED, with
 * SKIP_RETURN_CODE 77 in CMakeLists.txt) when something was skipped for want
 * of data and nothing failed - never 0 (Passed). Failures still fail. */
#ifndef RLS_TEST_SKIP_H
#define RLS_TEST_SKIP_H

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static int rls_test_skipped_missing;   /* tests skipped for want of data */

/* Marks the running test SKIPPED because `what` (a path) is missing; does not
 * return (cmocka's skip). */
static void rls_test_skip_missing(const char *what)
{
    rls_test_skipped_missing++;
    print_message("SKIPPED: %s not present\n", what);
    skip();
}

/* The exit status of a test executable: the failure count when a test
 * failed, 77 when none failed but one was skipped for want of data, else 0. */
static int rls_test_exit(int failed)
{
    if (failed != 0)
        return failed;
    return rls_test_skipped_missing > 0 ? 77 : 0;
}

#endif
