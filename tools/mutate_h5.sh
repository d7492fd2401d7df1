#!/usr/bin/env bash
# mutate_h5.sh - the long mutation run of tests/test_crashers.c: a small replay
# file and a small checkpoint with a /train_state written by the project, one
# byte changed at N deterministic positions each (default 1000; the first N of
# the test's own sequence), every mutant read back and compared field by field:
# prints how many were refused, read back identical, or accepted with changed
# data (must be 0; each one printed with its offset and the field that
# changed), and exits non-zero if any was. About 0.2 s of CPU per mutant.
# usage: tools/mutate_h5.sh [BUILD_DIR] [N]
set -eu -o pipefail
BUILD=${1:-build}
N=${2:-1000}
BIN="$BUILD/test_crashers"
[ -x "$BIN" ] || { echo "mutate_h5.sh: $BIN not built (cmake --build $BUILD --target test_crashers)" >&2; exit 2; }
RLS_MUTANTS=$N CMOCKA_MESSAGE_OUTPUT=stdout CMOCKA_TEST_ABORT=0 "$BIN" 2>&1 | grep -E "mutants|accepted with changed|FAILED|PASSED"
