#!/bin/bash
# cli_bench.sh - behaviour of `rlsched bench sim` (not a timing assertion):
# --json --quick prints one object per line with the six keys, numeric values
# and positive throughputs; --verify shows the numpy reference computes what
# the simulator computes; a missing reference gives null baselines, not a
# crash; usage errors exit 2 with one line on stderr.
# Usage: bash cli_bench.sh RLSCHED_BINARY SOURCE_DIR TRACES_DIR
set -u
BIN=$1
SRC=$2
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/cli_bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }

have_numpy=0
if [ -x "$PY" ] && "$PY" -c 'import numpy' 2>/dev/null; then
    have_numpy=1
fi

# check_json FILE ALLOW_NULL_BASELINE: every line is an object with the six
# keys, numeric value, numeric (or null if allowed) baseline, ratio matching,
# positive throughputs, and the expected figures present.
check_json() {
    "$PY" - "$1" "$2" <<'EOF'
import json, math, sys
path, allow_null = sys.argv[1], sys.argv[2] == "1"
keys = {"name", "value", "unit", "baseline_name", "baseline_value", "ratio"}
names = set()
lines = [l for l in open(path) if l.strip()]
if not lines:
    sys.exit("no output")
for n, line in enumerate(lines, 1):
    o = json.loads(line)
    # the reference pair only beside a published figure, never the baseline
    if set(o) != keys and set(o) != keys | {"reference_name", "reference_value"}:
        sys.exit(f"line {n}: keys {sorted(o)}")
    if "reference_name" in o and o["reference_name"] == o["baseline_name"]:
        sys.exit(f"line {n}: the reference is the baseline")
    if not isinstance(o["value"], (int, float)) or not math.isfinite(o["value"]):
        sys.exit(f"line {n}: value {o['value']!r}")
    for k in ("name", "unit", "baseline_name"):
        if not isinstance(o[k], str) or not o[k]:
            sys.exit(f"line {n}: {k} {o[k]!r}")
    b, r = o["baseline_value"], o["ratio"]
    null_ok = allow_null and o["baseline_name"].startswith("numpy_service_steps_per_s")
    if b is None:
        if not null_ok or r is not None:
            sys.exit(f"line {n}: null baseline for {o['name']}")
    else:
        if not isinstance(b, (int, float)) or not math.isfinite(b):
            sys.exit(f"line {n}: baseline {b!r}")
        if b != 0:
            if not isinstance(r, (int, float)) or abs(r - o["value"] / b) > 1e-6 * max(1, abs(r)):
                sys.exit(f"line {n}: ratio {r!r} is not value/baseline")
    if o["name"].startswith(("sim_service_steps_per_s", "env_steps_per_s", "memory_bytes")) \
            and not o["value"] > 0:
        sys.exit(f"line {n}: {o['name']} = {o['value']} is not positive")
    if o["unit"] in ("service-steps/s", "steps/s") and b is not None and not b > 0:
        sys.exit(f"line {n}: baseline throughput {b} is not positive")
    names.add(o["name"])
need = {"sim_service_steps_per_s", "env_steps_per_s", "sim_service_steps_per_s_1",
        "sim_service_steps_per_s_100", "memory_bytes_per_service_1",
        "memory_bytes_per_service_100", "rss_bytes_per_service_100"}
if need - names:
    sys.exit(f"missing {sorted(need - names)}")
if len([x for x in names if x.startswith("sim_service_steps_per_s_")]) != 4:
    sys.exit("expected 4 sizes")
print(f"{len(lines)} objects")
EOF
}

if [ ! -x "$PY" ]; then
    echo "cli_bench.sh: $PY is needed to check the JSON" >&2
    exit 1
fi

# 1. --json --quick: well-formed objects, numpy baseline present when numpy is
"$BIN" bench sim --json --quick >"$TMP/out.jsonl" 2>"$TMP/err"
rc=$?
if [ $rc -eq 0 ] && check_json "$TMP/out.jsonl" $((1 - have_numpy)); then
    ok "bench sim --json --quick prints six-key objects with numeric values"
else
    bad "bench sim --json --quick (rc $rc)"; cat "$TMP/err"
fi
if [ $have_numpy -eq 1 ]; then
    if "$PY" -c '
import json, sys
o = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
m = [x for x in o if x["name"] == "sim_service_steps_per_s"][0]
e = [x for x in o if x["name"] == "env_steps_per_s"][0]
sys.exit(0 if m["baseline_name"] == "numpy_service_steps_per_s" and m["baseline_value"] > 0
         and e["baseline_name"] == "numpy_service_steps_per_s_1" and e["baseline_value"] > 0
         and e["reference_name"] == "cloudsim_plus_gym_steps_per_s" else 1)
' "$TMP/out.jsonl"; then
        ok "the 100- and 1-service figures carry numpy baselines (CloudSim Plus only as a reference)"
    else
        bad "the 100-service figure has no numpy baseline"
    fi
fi
if grep -q "pinned to CPU" "$TMP/err"; then
    ok "the run says it is pinned to one CPU"
else
    bad "no pinning note on stderr"; cat "$TMP/err"
fi

# 2. the numpy reference computes the same step model (noise off)
if [ $have_numpy -eq 1 ]; then
    if "$BIN" bench sim --verify >"$TMP/verify" 2>&1 && grep -q "^verify: same" "$TMP/verify"; then
        ok "bench sim --verify: C simulator and numpy reference agree"
    else
        bad "bench sim --verify"; cat "$TMP/verify"
    fi
else
    echo "SKIPPED: numpy not installed, --verify not run"
    SKIPPED=1
fi

# 3. no reference script: null baseline and a note, not a crash
RLSCHED_SOURCE_DIR="$TMP/nowhere" "$BIN" bench sim --json --quick >"$TMP/null.jsonl" 2>"$TMP/nerr"
rc=$?
if [ $rc -eq 0 ] && check_json "$TMP/null.jsonl" 1 >/dev/null &&
    "$PY" -c '
import json, sys
o = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
m = [x for x in o if x["name"] == "sim_service_steps_per_s"][0]
sys.exit(0 if m["baseline_value"] is None and m["ratio"] is None else 1)
' "$TMP/null.jsonl" && grep -q "numpy baseline unavailable" "$TMP/nerr"; then
    ok "a missing numpy reference gives a null baseline and a note"
else
    bad "missing reference (rc $rc)"; cat "$TMP/nerr"
fi

# 4. usage errors: exit 2, one line on stderr, nothing on stdout
for args in "bench nosuch" "bench sim --bogus" "bench"; do
    # shellcheck disable=SC2086
    "$BIN" $args >"$TMP/uout" 2>"$TMP/uerr"
    rc=$?
    if [ $rc -eq 2 ] && [ "$(wc -l <"$TMP/uerr")" -eq 1 ] && [ ! -s "$TMP/uout" ]; then
        ok "rlsched $args: exit 2 with one line"
    else
        bad "rlsched $args: rc $rc"; cat "$TMP/uerr"
    fi
done

# 5. the table form has a header and the figures
if "$BIN" bench sim --quick >"$TMP/table" 2>&1 && grep -q "^name " "$TMP/table" &&
    grep -q "^sim_service_steps_per_s " "$TMP/table" && grep -q "^env_steps_per_s " "$TMP/table"; then
    ok "bench sim --quick prints a table"
else
    bad "table output"; cat "$TMP/table"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ] || exit 1
[ -z "${SKIPPED:-}" ] || exit 77   # a part needing missing data/dependency did not run
