#!/bin/bash
# cli_scenario_random.sh - `rlsched scenario random` end to end: the printed
# scenario passes `check` as a file and reads back to the same text, the same
# seed prints the same bytes and another seed other bytes, `random:SEED` and
# `default:load-seed=N` work wherever a scenario is named (check, show, eval),
# a trace library adds real windows (SKIPPED without ../shared/traces), and
# bad seeds or libraries are refused with one stderr line and exit 1 or 2.
# Usage: cli_scenario_random.sh RLSCHED_BINARY SOURCE_DIR TRACES_DIR
set -u

BIN=$1
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
TRACES=${3:-}
TMP=$(mktemp -d /tmp/rls_cli_scenario_random.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
unset RLS_TRACE_LIB
passed=0
failed=0
skipped=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

run() {
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
}

# --- random -> check -> show round trip ----------------------------------------
run "$BIN" scenario random --seed 5
[ "$rc" -eq 0 ] && ok || bad "random --seed 5 exit $rc: $(cat "$TMP/err")"
cp "$TMP/out" "$TMP/r5.yaml"
run "$BIN" scenario check "$TMP/r5.yaml"
[ "$rc" -eq 0 ] && grep -q "ok: scenario 'random-5'" "$TMP/out" && ok || bad "check r5.yaml: $(cat "$TMP/err")"
run "$BIN" scenario show "$TMP/r5.yaml"
cmp -s "$TMP/out" "$TMP/r5.yaml" && ok || bad "show r5.yaml differs from what random printed"
run "$BIN" scenario random --seed 5
cmp -s "$TMP/out" "$TMP/r5.yaml" && ok || bad "random --seed 5 twice differs"
run "$BIN" scenario random --seed 6
cmp -s "$TMP/out" "$TMP/r5.yaml" && bad "seeds 5 and 6 print the same scenario" || ok
run "$BIN" scenario show random:5
cmp -s "$TMP/out" "$TMP/r5.yaml" && ok || bad "show random:5 differs from random --seed 5"
run "$BIN" scenario random --seed 5 --steps 100
grep -q '^horizon_steps: 100$' "$TMP/out" && ok || bad "--steps 100 not applied"

# --- names anywhere a scenario is named ------------------------------------------
run "$BIN" scenario check random:11 default:load-seed=3
[ "$rc" -eq 0 ] && grep -q "'default-loads3'" "$TMP/out" && ok || bad "check random:11 default:load-seed=3: $(cat "$TMP/err")"
run "$BIN" eval --scenario random:11 --policy static,hpa --steps 200
[ "$rc" -eq 0 ] && grep -q "scenario random-11" "$TMP/out" && ok || bad "eval --scenario random:11: $(cat "$TMP/err")"
run "$BIN" eval --scenario default:load-seed=3 --policy hpa --steps 200
[ "$rc" -eq 0 ] && grep -q "scenario default-loads3" "$TMP/out" && ok || bad "eval default:load-seed=3: $(cat "$TMP/err")"

# --- errors: one line, non-zero exit -------------------------------------------
run "$BIN" scenario random --seed -1
[ "$rc" -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && ok || bad "--seed -1: exit $rc"
run "$BIN" scenario random --trace-lib "$TMP/none"
[ "$rc" -eq 1 ] && grep -q "$TMP/none" "$TMP/err" && ok || bad "--trace-lib missing: exit $rc"
run "$BIN" scenario check random:abc
[ "$rc" -eq 1 ] && grep -q "random:SEED" "$TMP/err" && ok || bad "random:abc: exit $rc"
RLS_TRACE_LIB="$TMP/none" run "$BIN" scenario check random:1
[ "$rc" -eq 1 ] && grep -q "RLS_TRACE_LIB" "$TMP/err" && ok || bad "bad RLS_TRACE_LIB: exit $rc"

# --- a real trace library ---------------------------------------------------------
if [ -n "$TRACES" ] && [ -d "$TRACES/nab" ]; then
    run "$BIN" scenario random --seed 2 --steps 480 --trace-lib "$TRACES:$TRACES/nab"
    [ "$rc" -eq 0 ] && grep -q "kind: trace" "$TMP/out" && ok || bad "--trace-lib: no trace load: $(cat "$TMP/err")"
    cp "$TMP/out" "$TMP/lib.yaml"
    run "$BIN" scenario check "$TMP/lib.yaml"
    [ "$rc" -eq 0 ] && ok || bad "check lib.yaml: $(cat "$TMP/err")"
    RLS_TRACE_LIB="$TRACES:$TRACES/nab" run "$BIN" scenario check random:2
    [ "$rc" -eq 0 ] && ok || bad "RLS_TRACE_LIB random:2: $(cat "$TMP/err")"
else
    echo "SKIPPED: no trace library at '$TRACES'"
    skipped=1
fi

echo "cli_scenario_random: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
[ "$skipped" -eq 0 ] || exit 77
exit 0
