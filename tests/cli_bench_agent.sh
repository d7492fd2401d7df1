#!/bin/bash
# cli_bench_agent.sh - `rlsched bench agent --json --quick` prints only
# benchmark objects: every line has the six keys, a known unit, positive
# values and ratio = the documented function of value and baseline; the
# figures asked for (latency at 1/100/1000 services, GFLOP/s, loop round
# trip, resident memory) are all there.
# Args: $1 rlsched binary, $2 source dir, $3 traces dir (unused).
# Exits 77 (SKIPPED) when rlsched-train was not built.
set -u
RLSCHED="$1"
BIN_DIR="$(dirname "$RLSCHED")"
PY=/usr/bin/python3
pass=0
fail=0

if [ ! -x "$BIN_DIR/rlsched-train" ] || [ ! -x "$BIN_DIR/rlsched-agent" ]; then
    echo "SKIPPED: no rlsched-train or rlsched-agent next to $RLSCHED (built without libtorch)"
    exit 77
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

check() {   # name, command...
    local name="$1"
    shift
    if "$@"; then
        pass=$((pass + 1))
        echo "ok: $name"
    else
        fail=$((fail + 1))
        echo "FAIL: $name"
    fi
}

"$RLSCHED" bench agent --json --quick >"$tmp/out.json" 2>"$tmp/err.txt"
rc=$?
check "bench agent --json --quick exits 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || cat "$tmp/err.txt"

check "every line is an object with six keys and positive values" "$PY" - "$tmp/out.json" <<'PYEOF'
import json, math, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
if not lines:
    print("no output"); sys.exit(1)
keys = {"name", "value", "unit", "baseline_name", "baseline_value", "ratio"}
for l in lines:
    o = json.loads(l)
    # the reference pair (an aim, not measured) only beside a measured baseline
    if set(o) != keys and set(o) != keys | {"reference_name", "reference_value"}:
        print("keys:", sorted(o)); sys.exit(1)
    for k in ("value", "baseline_value", "ratio"):
        v = o[k]
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            print(o["name"], k, v); sys.exit(1)
    if not o["name"] or not o["baseline_name"] or not o["unit"]:
        print("empty string in", o); sys.exit(1)
PYEOF

check "ratios follow the documented direction" "$PY" - "$tmp/out.json" <<'PYEOF'
import json, sys
for l in open(sys.argv[1]):
    if not l.strip():
        continue
    o = json.loads(l)
    v, b, r = o["value"], o["baseline_value"], o["ratio"]
    # latency: speedup = baseline / value; everything else value / baseline
    want = b / v if o["name"].startswith("agent_decision_") else v / b
    if abs(r - want) > 1e-3 * want:
        print(o["name"], r, want); sys.exit(1)
PYEOF

check "all figures present" "$PY" - "$tmp/out.json" <<'PYEOF'
import json, sys
names = {json.loads(l)["name"] for l in open(sys.argv[1]) if l.strip()}
need = []
for n in (1, 100, 1000):
    need += ["agent_decision_p50_us_%d" % n, "agent_decision_p99_us_%d" % n,
             "native_forward_gflops_%d" % n]
need += ["agent_rss_mb", "agent_peak_rss_mb"]
missing = [n for n in need if n not in names]
rtt = [n for n in names if n.startswith("loop_rtt_p50_us_")] and \
      [n for n in names if n.startswith("loop_rtt_p99_us_")]
if missing or not rtt:
    print("missing:", missing, "rtt" if not rtt else ""); sys.exit(1)
PYEOF

check "p99 >= p50 for each latency" "$PY" - "$tmp/out.json" <<'PYEOF'
import json, sys
f = {}
for l in open(sys.argv[1]):
    if l.strip():
        o = json.loads(l); f[o["name"]] = o
for n, o in f.items():
    if "_p50_" in n:
        o99 = f.get(n.replace("_p50_", "_p99_"))
        if o99 is None or o99["value"] < o["value"] or o99["baseline_value"] < o["baseline_value"]:
            print(n); sys.exit(1)
PYEOF

"$RLSCHED" bench agent --quick >"$tmp/table.txt" 2>"$tmp/err2.txt"
check "table mode prints a header and the figures" grep -q "agent_decision_p50_us_1 " "$tmp/table.txt"

"$RLSCHED" bench agent --no-such-option >/dev/null 2>"$tmp/err3.txt"
rc=$?
check "unknown option: exit 2 and one line naming it" bash -c "[ $rc -eq 2 ] && grep -q 'no-such-option' '$tmp/err3.txt'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
