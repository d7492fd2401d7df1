#!/usr/bin/env bash
# cli_sweep.sh - `rlsched sweep` without Slurm: plan (one task file per cell),
# the local pool (2 jobs) against the serial run of the same cells (gathered
# JSON and table byte-identical, a cell equal to a plain `rlsched eval`), a
# task killed with SIGKILL mid-run (no result left, its eval child gone with
# it, the cell reported missing, a rerun completes it), a killed pool leaving
# no orphan, a failing cell recorded and listed, and bad input refused with
# one line. Args: $1 rlsched binary, $2 source dir.
set -u
BIN=$1
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/rls_cli_sweep.XXXXXX)
BG=""
cleanup() {
    for p in $BG; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
# a process that runs (a zombie is dead: this machine's init may never reap it)
alive() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/^.*) //' "/proc/$1/stat" | cut -c1)" != Z ]; }

"$BIN" trace synth --out "$TMP/t1.csv" --seed 1 --days 1 >/dev/null || { echo "FAIL: trace synth"; exit 1; }
plan() { "$BIN" sweep plan --scenario default --trace "$TMP/t1.csv" --policy hpa,static:4 \
    --seeds 1,7 --steps 120 --out "$1"; }

# --- plan: 1 x 1 x 2 x 2 = 4 task files
plan "$TMP/serial" >"$TMP/out" 2>"$TMP/err" && grep -q '^planned 4 cells' "$TMP/out" && ok ||
    bad "plan: $(cat "$TMP/out" "$TMP/err")"
[ "$(ls "$TMP/serial/tasks" | wc -l)" = 4 ] && ok || bad "task files: $(ls "$TMP/serial/tasks")"
plan "$TMP/pool" >/dev/null 2>&1 && ok || bad "second plan"
"$PY" - "$TMP/serial/tasks/00003.json" <<'EOF' && ok || bad "task file 3"
import json, sys
t = json.load(open(sys.argv[1]))
assert (t["index"], t["policy"], t["seed"], t["steps"]) == (3, "static:4", 7, 120), t
assert t["trace"].startswith("/") and t["argv"][0] == "eval", t
EOF
"$BIN" sweep status "$TMP/serial" | grep -q '^4 cells: 0 done, 0 failed, 4 missing' && ok || bad "status before"

# --- serial run and the pool of 2: identical gathered documents and tables
"$BIN" sweep run "$TMP/serial" --jobs 1 >/dev/null 2>"$TMP/err" && ok || bad "serial run: $(cat "$TMP/err")"
"$BIN" sweep run "$TMP/pool" --local --jobs 2 >"$TMP/out" 2>"$TMP/err" &&
    grep -q '^ran 4 cells with 2 jobs: 4 done, 0 failed' "$TMP/out" && ok || bad "pool run: $(cat "$TMP/out" "$TMP/err")"
"$BIN" sweep gather "$TMP/serial" --json "$TMP/s.json" --table >"$TMP/s.table" 2>"$TMP/err" && ok ||
    bad "gather serial: $(cat "$TMP/err")"
"$BIN" sweep gather "$TMP/pool" --json "$TMP/p.json" --table >"$TMP/p.table" 2>"$TMP/err" && ok ||
    bad "gather pool: $(cat "$TMP/err")"
cmp -s "$TMP/s.json" "$TMP/p.json" && ok || bad "pool JSON differs from the serial run's"
cmp -s "$TMP/s.table" "$TMP/p.table" && ok || bad "pool table differs from the serial run's"
grep -q '^4 of 4 cells done, 0 failed, 0 missing' "$TMP/p.table" && ok || bad "table: $(cat "$TMP/p.table")"
[ "$(grep -c ' static:4 ' "$TMP/p.table")" = 2 ] && ok || bad "table rows: $(cat "$TMP/p.table")"
# a run over a finished sweep runs nothing; the results stay as they were
"$BIN" sweep run "$TMP/pool" --jobs 2 | grep -q '^ran 0 cells' && ok || bad "rerun of a done sweep"
"$BIN" eval --trace "$TMP/t1.csv" --policy static:4 --seed 7 --steps 120 --json "$TMP/direct.json" >/dev/null 2>&1
"$PY" - "$TMP/p.json" "$TMP/direct.json" <<'EOF' && ok || bad "cell 3 differs from a direct rlsched eval"
import json, sys
d = json.load(open(sys.argv[1])); e = json.load(open(sys.argv[2]))
assert d["cells"] == 4 and d["done"] == 4 and d["failed"] == [] and d["missing"] == []
r = d["results"][3]
assert (r["index"], r["policy"], r["seed"]) == (3, "static:4", 7), r
assert r["eval"] == e
assert len({json.dumps(x["eval"]["policies"][0]["cost"]) for x in d["results"]}) > 1   # real, varied runs
EOF

# --- a task killed mid-run: no result, no orphan, reported missing, rerun completes it
"$BIN" sweep plan --trace "$TMP/t1.csv" --policy hpa --seeds 1 --steps 5000000 --out "$TMP/kill" >/dev/null
"$BIN" sweep task "$TMP/kill" 0 >/dev/null 2>&1 &
TASK=$!
BG="$TASK"
CHILD=""
for _ in $(seq 100); do
    CHILD=$(cat "/proc/$TASK/task/$TASK/children" 2>/dev/null | tr -d ' ')
    [ -n "$CHILD" ] && break
    sleep 0.05
done
sleep 0.3
kill -9 "$TASK"
wait "$TASK" 2>/dev/null
BG=""
[ -n "$CHILD" ] && ok || bad "the task started no eval process"
for _ in $(seq 50); do [ -n "$CHILD" ] && alive "$CHILD" || break; sleep 0.05; done
[ -n "$CHILD" ] && alive "$CHILD" && { bad "eval $CHILD outlived its killed task"; kill -9 "$CHILD"; } || ok
[ -z "$(ls "$TMP/kill/results")" ] && ok || bad "a killed task left: $(ls "$TMP/kill/results")"
"$BIN" sweep status "$TMP/kill" | grep -q '1 cells: 0 done, 0 failed, 1 missing' && ok || bad "status after kill"
"$BIN" sweep gather "$TMP/kill" >/dev/null 2>"$TMP/err" && bad "gather of a killed sweep exited 0" || ok
grep -q 'missing \[0\]' "$TMP/err" && ok || bad "gather's message: $(cat "$TMP/err")"
# shorten the cell (the task file is the plan) and rerun only what is missing
sed -i 's/"5000000"/"120"/; s/"steps": 5000000/"steps": 120/' "$TMP/kill/tasks/00000.json"
"$BIN" sweep run "$TMP/kill" --failed >/dev/null 2>"$TMP/err" && ok || bad "rerun: $(cat "$TMP/err")"
"$BIN" sweep gather "$TMP/kill" --json "$TMP/k.json" >/dev/null 2>"$TMP/err" && ok || bad "gather after rerun: $(cat "$TMP/err")"

# --- a killed pool leaves no orphan cell
"$BIN" sweep plan --trace "$TMP/t1.csv" --policy hpa,kpa --seeds 1 --steps 5000000 --out "$TMP/kpool" >/dev/null
"$BIN" sweep run "$TMP/kpool" --jobs 2 >/dev/null 2>&1 &
POOL=$!
BG="$POOL"
KIDS=""
for _ in $(seq 100); do
    KIDS=$(cat "/proc/$POOL/task/$POOL/children" 2>/dev/null)
    [ "$(echo $KIDS | wc -w)" = 2 ] && break
    sleep 0.05
done
kill -9 "$POOL"
wait "$POOL" 2>/dev/null
BG=""
[ "$(echo $KIDS | wc -w)" = 2 ] && ok || bad "the pool did not run 2 cells at once: '$KIDS'"
sleep 0.3
left=""
for k in $KIDS; do alive "$k" && { left="$left $k"; kill -9 "$k"; }; done
[ -z "$left" ] && ok || bad "cells outlived their pool:$left"

# --- a failing cell: recorded, listed, run exits 1
"$BIN" sweep plan --policy hpa,nosuchpolicy --seeds 3 --steps 60 --out "$TMP/failing" >/dev/null
"$BIN" sweep run "$TMP/failing" --jobs 2 >/dev/null 2>"$TMP/err" && bad "run with a failing cell exited 0" || ok
grep -q '1 of 2 cells failed' "$TMP/err" && ok || bad "run's message: $(cat "$TMP/err")"
[ -e "$TMP/failing/results/00001.failed" ] && grep -q 'nosuchpolicy' "$TMP/failing/logs/00001.err" && ok ||
    bad "failure record or log"
"$BIN" sweep gather "$TMP/failing" --json "$TMP/f.json" >/dev/null 2>"$TMP/err" && bad "gather exited 0" || ok
grep -q 'failed \[1\], missing \[\]' "$TMP/err" && ok || bad "gather's failed list: $(cat "$TMP/err")"
"$BIN" sweep task "$TMP/failing" 1 >/dev/null 2>"$TMP/err" && bad "task of a failing cell exited 0" || ok
"$BIN" sweep task "$TMP/failing" 0 >/dev/null 2>&1 && ok || bad "task of a done cell"

# --- rlsched bench sweep: the bench JSON shape, baseline measured in the same run
"$BIN" bench sweep --json --quick >"$TMP/bench" 2>"$TMP/err" && ok || bad "bench sweep: $(cat "$TMP/err")"
"$PY" - "$TMP/bench" <<'EOF2' && ok || bad "bench JSON: $(cat "$TMP/bench")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
b = json.loads(lines[0])
assert list(b) == ["name", "value", "unit", "baseline_name", "baseline_value", "ratio"], b
assert b["name"] == "sweep_pool2_cells_per_s" and b["unit"] == "cells/s", b
assert b["value"] > 0 and b["baseline_value"] > 0
assert abs(b["ratio"] - b["value"] / b["baseline_value"]) < 1e-6 * b["ratio"], b
EOF2

# --- bad input: one line, non-zero exit
badcase() {   # $1 expected status, $2 pattern in the message, rest: arguments
    local want=$1 pat=$2
    shift 2
    "$BIN" sweep "$@" >/dev/null 2>"$TMP/err"
    local st=$?
    if [ "$st" = "$want" ] && [ "$(wc -l <"$TMP/err")" = 1 ] && grep -q -- "$pat" "$TMP/err"; then ok; else
        bad "sweep $* -> $st: $(cat "$TMP/err")"; fi
}
badcase 2 'needs --policy' plan --seeds 1 --out "$TMP/x1"
badcase 2 '--seeds' plan --policy hpa --seeds 5-2 --out "$TMP/x2"
badcase 2 '--steps' plan --policy hpa --seeds 1 --steps 0 --out "$TMP/x3"
badcase 1 "trace $TMP/nope.csv" plan --policy hpa --seeds 1 --trace "$TMP/nope.csv" --out "$TMP/x4"
badcase 1 'already holds a sweep' plan --policy hpa --seeds 1 --out "$TMP/pool"
badcase 1 'sweep.json' gather "$TMP"
badcase 1 'missingdir' run "$TMP/missingdir"
badcase 2 'task DIR INDEX' task "$TMP/pool" x
badcase 1 'cells 0..3' task "$TMP/pool" 4
badcase 2 '--jobs' run "$TMP/pool" --jobs 0
badcase 2 'unknown step' frobnicate
badcase 1 'seed 9223372036854775808' plan --policy hpa --seeds 9223372036854775808 --out "$TMP/x5"
badcase 2 '--max-running' submit "$TMP/serial" --max-running 0
echo '{"index": 3, "scenario": "default"}' >"$TMP/pool/tasks/00003.json"
badcase 1 "00003.json: field 'trace'" gather "$TMP/pool"
badcase 1 "sbatch-does-not-exist" submit "$TMP/serial" --sbatch "$TMP/sbatch-does-not-exist"

echo "cli_sweep: $pass passed, $fail failed"
[ "$fail" = 0 ]
