#!/usr/bin/env bash
# fuzz.sh - build a libFuzzer harness of fuzz/ with clang (ASan + UBSan) into
# build-fuzz/ and run it for a while on its seed corpus (fuzz/corpus/TARGET).
#
# usage: tools/fuzz.sh TARGET [SECONDS] [-- LIBFUZZER_ARGS...]
#        tools/fuzz.sh --build-only [TARGET...]
#   TARGET: protocol | trace | scenario | replay | checkpoint | all
#   SECONDS: how long to run (default 60); 0 = build only
# Environment: RLS_FUZZ_CC (clang), RLS_FUZZ_DIR (build-fuzz under the source tree),
#   RLS_FUZZ_JOBS (parallel compiles, 2).
# New inputs go to build-fuzz/corpus/TARGET (the seeds in the tree are left
# alone); a crash is written to build-fuzz/crash-TARGET-* and the script exits
# non-zero. The last lines printed are "TARGET: N executions, K crashes".
# Exit: 0 = ran without a crash, 1 = a crash (or a build failure), 2 = usage,
#   77 = no clang with libFuzzer here.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
CC=${RLS_FUZZ_CC:-clang}
OUT=${RLS_FUZZ_DIR:-$SRC/build-fuzz}
JOBS=${RLS_FUZZ_JOBS:-2}
ALL="protocol trace scenario replay checkpoint"
PKGS="yaml-0.1 jansson hdf5 libzmq msgpack libmicrohttpd"

usage() { echo "usage: tools/fuzz.sh TARGET [SECONDS] [-- LIBFUZZER_ARGS...] (TARGET: $ALL | all)" >&2; exit 2; }

# clang that links -fsanitize=fuzzer? (exit 77 otherwise: callers skip)
have_libfuzzer() {
    local t
    t=$(mktemp -d) || return 1
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n' > "$t/t.c"
    "$CC" -fsanitize=fuzzer,address,undefined "$t/t.c" -o "$t/t" > /dev/null 2>&1
    local rc=$?
    rm -rf "$t"
    return $rc
}

# the readers' layers of the library (env/, replay/, policies/: the fuzzed
# code and what it uses), compiled into $OUT/lib.a by a generated
# Makefile (make rebuilds what changed; a header change: rm -rf $OUT)
build_lib() {
    local f o objs=""
    mkdir -p "$OUT/obj" || return 1
    {
        echo "CC = $CC"
        echo "CFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined" \
             "-fno-sanitize-recover=undefined -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE" \
             "-Wno-unknown-attributes -DRLS_VERSION='\"fuzz\"' -I$SRC $(pkg-config --cflags $PKGS)"
        for f in "$SRC"/env/*.c "$SRC"/replay/*.c "$SRC"/policies/*.c; do
            o="obj/$(echo "${f#"$SRC"/}" | sed 's|/|_|g; s|\.c$|.o|')"
            objs="$objs $o"
            printf '%s: %s\n\t$(CC) $(CFLAGS) -c $< -o $@\n' "$o" "$f"
        done
        printf 'lib.a:%s\n\trm -f $@ && ar rcs $@ $^\n' "$objs"
    } > "$OUT/Makefile.lib" || return 1
    make -s -C "$OUT" -f Makefile.lib -j "$JOBS" lib.a >&2
}

build_target() {
    local t=$1
    [ -f "$SRC/fuzz/fuzz_$t.c" ] || { echo "fuzz.sh: no fuzz/fuzz_$t.c" >&2; return 2; }
    # shellcheck disable=SC2046
    "$CC" -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=undefined -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
        -I"$SRC" -I"$SRC/fuzz" $(pkg-config --cflags $PKGS) \
        "$SRC/fuzz/fuzz_$t.c" "$OUT/lib.a" $(pkg-config --libs $PKGS) -lm -lpthread \
        -o "$OUT/fuzz_$t" || return 1
}

run_target() {
    local t=$1 secs=$2
    shift 2
    local log="$OUT/fuzz_$t.log" execs crashes rc maxlen=65536
    local leaks=1
    # the HDF5 seeds are up to 90 kB; libhdf5 leaks internally on some corrupt
    # files (not our handles: those harnesses check that no HDF5 object is left open)
    case "$t" in replay|checkpoint) maxlen=131072; leaks=0 ;; esac
    mkdir -p "$OUT/corpus/$t" || return 1
    touch "$OUT/.start-$t"   # crashes counted are the ones written by this run
    # the caller's ASAN_OPTIONS (ctest under tools/quickstart.sh sets detect_leaks=1) first,
    # ours after it: later flags win, so libhdf5's own leaks on corrupt files never count
    (cd "$OUT" && ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=$leaks:allocator_may_return_null=1" \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "./fuzz_$t" -max_total_time="$secs" -max_len="$maxlen" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$OUT/crash-$t-" -print_final_stats=1 "$@" \
        "$OUT/corpus/$t" "$SRC/fuzz/corpus/$t") > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(grep -o '#[0-9]*' "$log" | tail -1 | tr -d '#')
    crashes=$(find "$OUT" -maxdepth 1 -name "crash-$t-*" -newer "$OUT/.start-$t" | wc -l)
    if [ "$rc" -ne 0 ]; then
        tail -40 "$log" >&2
    fi
    echo "$t: ${execs:-0} executions in ${secs} s, $crashes crashes (rc $rc, log $log)"
    return $(( rc != 0 ))
}

[ $# -ge 1 ] || usage
if ! have_libfuzzer; then
    echo "fuzz.sh: $CC cannot link -fsanitize=fuzzer (install clang with libFuzzer)" >&2
    exit 77
fi
if [ "$1" = "--build-only" ]; then
    shift
    targets=${*:-$ALL}
    build_lib || exit 1
    for t in $targets; do build_target "$t" || exit 1; done
    exit 0
fi
target=$1
secs=${2:-60}
shift
[ $# -ge 1 ] && [ "$1" != "--" ] && shift
[ "${1:-}" = "--" ] && shift
case "$secs" in ''|*[!0-9]*) usage ;; esac
[ "$target" = all ] && targets=$ALL || targets=$target
build_lib || { echo "fuzz.sh: library build failed" >&2; exit 1; }
status=0
for t in $targets; do
    build_target "$t" || { echo "fuzz.sh: building fuzz_$t failed" >&2; exit 1; }
    [ "$secs" -eq 0 ] && continue
    run_target "$t" "$secs" "$@" || status=1
done
exit $status
