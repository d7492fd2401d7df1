#!/bin/bash
# cli_finetune.sh - `rlsched finetune` end to end: the shipped checkpoint
# searched on two short tasks (a trace and a scenario of its own), the JSON
# summary, the output evaluated by `rlsched eval`, determinism, and bad input
# refused with one line, exit 2 and no output file.
# Args: $1 rlsched binary, $2 source dir, $3 traces dir (unused: generated traces).
set -u
BIN=$1
SRC=$2
PY=/usr/bin/python3
T=$(mktemp -d /tmp/rls_cli_finetune.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
CK="$SRC/policies/default.h5"

"$BIN" trace synth --seed 5 --days 1 --flash-per-day 4 --out "$T/load.trace" >/dev/null 2>&1 && ok || bad "trace synth"
run() {
    "$BIN" finetune --init "$CK" --out "$1" --trace "$T/load.trace" --task default --steps 480 \
        --iters 2 --pop 4 --elite 2 --sigma 0.5 --seed 7 2>"$1.err"
}
if run "$T/a.h5" >"$T/a.json"; then ok; else bad "finetune: $(cat "$T/a.h5.err")"; fi
[ -s "$T/a.h5" ] && ok || bad "no output checkpoint"
grep -q "iteration 2: best J" "$T/a.h5.err" && ok || bad "no progress on stderr"
if "$PY" - "$T/a.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("tasks", "evaluations", "j_initial", "j_best", "cost_initial", "cost_best",
          "violation_pct_initial", "violation_pct_best", "actions_initial", "actions_best", "offsets"):
    assert k in d, k
assert d["tasks"] == 2 and d["evaluations"] == 8, d
assert abs(d["j_initial"] - 1.0) < 1e-9 and d["j_best"] <= d["j_initial"], d
assert len(d["offsets"]) == 11, d
PYEOF
then ok; else bad "JSON summary"; fi
# the result is a checkpoint like any other
"$BIN" eval --scenario default --steps 200 --policy "$T/a.h5,hpa" >/dev/null 2>&1 && ok || bad "eval of the output"
# deterministic: the same search twice gives the same file contents
run "$T/b.h5" >"$T/b.json" 2>/dev/null
"$PY" - "$T/a.json" "$T/b.json" <<'PYEOF' && ok || bad "not deterministic"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["offsets"] == b["offsets"] and a["j_best"] == b["j_best"], (a, b)
PYEOF

# bad input: one line, exit 2 (usage) or 1, no output
for args in "--init $CK" "--out $T/x.h5" "--init $CK --out $T/x.h5 --pop 1" \
            "--init $CK --out $T/x.h5 --elite 9 --pop 4" "--init $CK --out $T/x.h5 --sigma 0" \
            "--init $CK --out $T/x.h5 --controller :hold=x" "--init $CK --out $T/x.h5 --bogus 1" \
            "--init $T/missing.h5 --out $T/x.h5" "--init $CK --out $T/x.h5 --trace $T/missing.trace" \
            "--init $CK --out /nonexistent/dir/x.h5"; do
    # shellcheck disable=SC2086
    rm -f "$T/x.h5"
    "$BIN" finetune --iters 1 --pop 2 --elite 1 --steps 10 $args >/dev/null 2>"$T/err"
    rc=$?
    lines=$(wc -l <"$T/err")
    if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] && [ ! -e "$T/x.h5" ]; then ok; else bad "'$args': rc $rc, $lines lines: $(cat "$T/err")"; fi
done

echo "cli_finetune: $pass passed, $fail failed"
[ $fail -eq 0 ]
