#!/usr/bin/env bash
# mutate_h5.sh - the long mutation run of tests/test_crashers.c: a small replay
# file and a small checkpoint written by the project, one byte changed at N
# deterministic positions each (default 1000), every mutant read back: prints
# how many were refused, read back identical, or accepted with changed data
# (must be 0), and exits non-zero if any was.
# usage: tools/mutate_h5.sh [BUILD_DIR] [N]
set -eu -o pipefail
BUILD=${1:-build}
N=${2:-1000}
BIN="$BUILD/test_crashers"
[ -x "$BIN" ] || { echo "mutate_h5.sh: $BIN not built (cmake --build $BUILD --target test_crashers)" >&2; exit 2; }
RLS_MUTANTS=$N CMOCKA_MESSAGE_OUTPUT=stdout CMOCKA_TEST_ABORT=0 "$BIN" 2>&1 | grep -E "mutants|accepted with changed|FAILED|PASSED"
