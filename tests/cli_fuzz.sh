#!/usr/bin/env bash
# cli_fuzz.sh - a short run of every libFuzzer harness of fuzz/ (tools/fuzz.sh):
# each is built with clang (ASan + UBSan) beside the tested binary and run for
# a few seconds on its seed corpus; a crash, a sanitizer report or a harness
# that does not run fails the test. Exits 77 (SKIPPED) when clang cannot link
# -fsanitize=fuzzer here.
# usage: bash cli_fuzz.sh RLSCHED SOURCE_DIR TRACES_DIR
set -u
BIN=$1
SRC=$2
SECS=${RLS_FUZZ_SECONDS:-8}
export RLS_FUZZ_DIR
RLS_FUZZ_DIR="$(cd "$(dirname "$BIN")" && pwd)/fuzz"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

bash "$SRC/tools/fuzz.sh" --build-only > "$RLS_FUZZ_DIR.build.log" 2>&1
rc=$?
if [ $rc -eq 77 ]; then
    echo "SKIPPED: $(tail -1 "$RLS_FUZZ_DIR.build.log")"
    exit 77
fi
[ $rc -eq 0 ] || { tail -20 "$RLS_FUZZ_DIR.build.log"; echo "FAIL: building the harnesses"; exit 1; }

# The HDF5 readers are fuzzed in process (isolation off), where libhdf5's own crashes on
# corrupt files (fuzz/known/: H5Aexists over-read, a 4 GB malloc in H5Fopen) end a run sooner
# or later: a fixed-time mutation run of them would pass or fail with the machine's speed.
# So CI replays their seed corpora (every input once, -runs=0); their mutation campaigns are
# tools/fuzz.sh's job (fuzz/README.md). The three others mutate for SECS with a fixed seed.
for t in protocol trace scenario replay checkpoint; do
    case $t in
    replay|checkpoint) extra="-runs=0" ;;
    *) extra="-seed=1" ;;
    esac
    bash "$SRC/tools/fuzz.sh" "$t" "$SECS" $extra > "$RLS_FUZZ_DIR.$t.out" 2>&1
    rc=$?
    line=$(tail -1 "$RLS_FUZZ_DIR.$t.out")
    echo "$line"
    execs=$(echo "$line" | sed -n "s/^$t: \([0-9]*\) executions.*/\1/p")
    if [ "$rc" -eq 0 ] && [ -n "$execs" ] && [ "$execs" -gt 0 ]; then ok; else bad "fuzz_$t (rc $rc): $line"; fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
