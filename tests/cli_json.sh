#!/bin/bash
# cli_json.sh - every JSON the command line emits is strict JSON (RFC 8259):
# /usr/bin/python3's json module parses it with NaN, Infinity and -Infinity
# refused (parse_constant raises). Covers eval --json, trace info --json,
# replay info --json, the replay file's observation_space / action_space
# attributes (a merged file's used to hold bare -Infinity / Infinity tokens), bench sim --json (also
# with its numpy reference missing: null baselines) and, where rlsched-train
# is built, bench train --json and bench agent --json (bench train used to
# print NaN-derived numbers). Also checks the bench lines' shape: the six keys,
# plus reference_name / reference_value only beside a published or aimed-at
# figure, and a baseline that is never that reference.
# usage: bash cli_json.sh RLSCHED SOURCE_DIR TRACES_DIR
set -u
BIN=$1
SRC=$2
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/rls_cli_json.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
skipped=0
ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }

if [ ! -x "$PY" ]; then
    echo "SKIPPED: $PY is needed to parse the JSON"
    exit 77
fi

# strict FILE MODE: MODE doc (one document) or lines (one object per line);
# exits non-zero naming the first token or error.
cat >"$TMP/strict.py" <<'EOF'
import json, sys
def refuse(tok):
    raise ValueError("non-standard JSON token %s" % tok)
path, mode = sys.argv[1], sys.argv[2]
text = open(path).read()
try:
    if mode == "doc":
        docs = [json.loads(text, parse_constant=refuse)]
    else:
        docs = [json.loads(l, parse_constant=refuse) for l in text.splitlines() if l.strip()]
except ValueError as e:
    sys.exit("%s: %s" % (path, e))
if not docs:
    sys.exit("%s: no JSON" % path)
print("%d document(s)" % len(docs))
EOF
strict() { "$PY" "$TMP/strict.py" "$1" "$2" >/dev/null; }

# the strict parser itself must refuse what the old outputs held
printf '{"low": [-Infinity, 1.5]}\n' >"$TMP/old.json"
printf '{"value": NaN}\n' >"$TMP/nan.json"
if ! strict "$TMP/old.json" doc 2>/dev/null && ! strict "$TMP/nan.json" lines 2>/dev/null; then
    ok "the check refuses Infinity and NaN"
else
    bad "the strict parser accepted Infinity or NaN"
fi

# 1. eval --json (an oracle that costs 0 would give a non-finite ratio: null)
if "$BIN" eval --policy hpa,oracle --steps 200 --json "$TMP/eval.json" >/dev/null 2>"$TMP/err" &&
    strict "$TMP/eval.json" doc; then
    ok "eval --json is strict JSON"
else
    bad "eval --json"; cat "$TMP/err"
fi

# 2. trace info --json, on a synthetic trace and on an all-zero one (mean 0)
if "$BIN" trace synth --out "$TMP/s.trace" --seed 3 --days 1 --step 300 >/dev/null 2>"$TMP/err" &&
    "$BIN" trace info "$TMP/s.trace" --json >"$TMP/trace.json" 2>>"$TMP/err" && strict "$TMP/trace.json" doc; then
    ok "trace info --json is strict JSON"
else
    bad "trace info --json"; cat "$TMP/err"
fi
{ echo "timestamp,value"; for i in $(seq 0 9); do echo "$((1700000000 + 60 * i)),0"; done; } >"$TMP/zero.csv"
if "$BIN" trace info "$TMP/zero.csv" --json >"$TMP/zero.json" 2>"$TMP/err" && strict "$TMP/zero.json" doc; then
    ok "trace info --json of an all-zero trace is strict JSON"
else
    bad "trace info --json (all zero)"; cat "$TMP/err"
fi

# 3. a replay file: replay info --json and the space attributes (these held
#    bare -Infinity / Infinity before: the features' unbounded sides)
if "$BIN" record --quiet --scenario default --policy hpa --episodes 1 --steps 20 --seed 2 \
    --out "$TMP/r.h5" >/dev/null 2>"$TMP/err" &&
    "$BIN" replay info "$TMP/r.h5" --json >"$TMP/replay.json" 2>>"$TMP/err" && strict "$TMP/replay.json" doc; then
    ok "replay info --json is strict JSON"
else
    bad "replay info --json"; cat "$TMP/err"
fi
# space.py FILE WANT_INF: both attributes strict JSON, bounds read back as
# float32 [S, F]; WANT_INF 1: every side unbounded (merge writes the bounds
# anew, all unbounded: the case that wrote bare -Infinity / Infinity tokens),
# 0: the recorder's finite bounds
cat >"$TMP/space.py" <<'EOF'
import json, sys
import h5py, numpy as np
def refuse(tok):
    raise ValueError("non-standard JSON token %s" % tok)
def s(v):
    return v.decode() if isinstance(v, bytes) else str(v)
with h5py.File(sys.argv[1], "r") as f:
    S, F = int(f.attrs["n_services"]), int(f.attrs["n_features"])
    obs = json.loads(s(f.attrs["observation_space"]), parse_constant=refuse)
    act = json.loads(s(f.attrs["action_space"]), parse_constant=refuse)
low = np.asarray(obs["low"], dtype=np.float32)
high = np.asarray(obs["high"], dtype=np.float32)
if low.shape != (S, F) or high.shape != (S, F) or obs["shape"] != [S, F]:
    sys.exit("bounds shape %r %r, expected %r" % (low.shape, high.shape, (S, F)))
if sys.argv[2] == "1" and not (np.isneginf(low).all() and np.isposinf(high).all()):
    sys.exit("expected unbounded sides: the case under test did not occur")
if sys.argv[2] == "0" and not (np.isfinite(low).all() and np.isfinite(high).all()):
    sys.exit("expected the recorder's finite bounds")
if np.isnan(low).any() or np.isnan(high).any() or not (low < high).all():
    sys.exit("bounds read back wrong")
if act["type"] != "MultiDiscrete" or len(act["nvec"]) != S:
    sys.exit("action_space %r" % act)
EOF
if [ -f "$TMP/r.h5" ] && "$PY" -c 'import h5py, numpy' 2>/dev/null; then
    if "$PY" "$TMP/space.py" "$TMP/r.h5" 0; then
        ok "a recorded file's space attributes are strict JSON with its finite bounds"
    else
        bad "recorded file's space attributes"
    fi
    if "$BIN" replay merge --out "$TMP/m.h5" "$TMP/r.h5" "$TMP/r.h5" >/dev/null 2>"$TMP/err" &&
        "$PY" "$TMP/space.py" "$TMP/m.h5" 1; then
        ok "a merged file's unbounded sides are strict JSON (\"-inf\", \"inf\") and read back as infinities"
    else
        bad "merged file's space attributes"; cat "$TMP/err"
    fi
else
    echo "SKIPPED: h5py not importable (or no replay file): space attributes not checked"
    skipped=1
fi

# bench_lines FILE PREFIX_ALLOWED_NULL: strict, six keys (+ the reference
# pair), ratio = value / baseline or null with a null baseline, references
# never used as the baseline.
cat >"$TMP/bench.py" <<'EOF'
import json, math, sys
def refuse(tok):
    raise ValueError("non-standard JSON token %s" % tok)
path, null_prefix = sys.argv[1], sys.argv[2]
six = ["name", "value", "unit", "baseline_name", "baseline_value", "ratio"]
lines = [l for l in open(path) if l.strip()]
if not lines:
    sys.exit("no output")
refs = 0
for n, line in enumerate(lines, 1):
    o = json.loads(line, parse_constant=refuse)
    keys = list(o)
    if keys != six and keys != six + ["reference_name", "reference_value"]:
        sys.exit("line %d: keys %r" % (n, keys))
    if "reference_name" in o:
        refs += 1
        if o["reference_name"] == o["baseline_name"] or not isinstance(o["reference_value"], (int, float)):
            sys.exit("line %d: reference %r" % (n, o))
    if not isinstance(o["value"], (int, float)):
        sys.exit("line %d: value %r" % (n, o["value"]))
    b = o["baseline_value"]
    if b is None:
        if null_prefix == "-" or not o["baseline_name"].startswith(null_prefix):
            sys.exit("line %d: null baseline %r" % (n, o["baseline_name"]))
    elif not isinstance(b, (int, float)):
        sys.exit("line %d: baseline %r" % (n, b))
print("%d lines, %d with a reference" % (len(lines), refs))
EOF

# 4. bench sim --json --quick, with and without its numpy reference
if "$BIN" bench sim --json --quick >"$TMP/sim.jsonl" 2>"$TMP/err" &&
    "$PY" "$TMP/bench.py" "$TMP/sim.jsonl" numpy_ >/dev/null &&
    "$PY" - "$TMP/sim.jsonl" <<'EOF'
import json, sys
o = {x["name"]: x for x in map(json.loads, open(sys.argv[1]))}
e = o["env_steps_per_s"]
sys.exit(0 if e["baseline_name"] == "numpy_service_steps_per_s_1"
         and e["reference_name"] == "cloudsim_plus_gym_steps_per_s" and e["reference_value"] == 241 else 1)
EOF
then
    ok "bench sim --json: strict, measured baselines, CloudSim Plus only as a reference"
else
    bad "bench sim --json"; cat "$TMP/err"
fi
if RLSCHED_SOURCE_DIR="$TMP/nowhere" "$BIN" bench sim --json --quick >"$TMP/null.jsonl" 2>"$TMP/err" &&
    "$PY" "$TMP/bench.py" "$TMP/null.jsonl" numpy_ >/dev/null &&
    [ "$(grep -c '"baseline_value":null,"ratio":null' "$TMP/null.jsonl")" -eq 2 ]; then
    ok "bench sim --json without the numpy reference: null baselines and ratios, still strict"
else
    bad "bench sim --json without numpy reference"; cat "$TMP/err"; cat "$TMP/null.jsonl"
fi

# 5. bench train / agent run in rlsched-train (libtorch)
if [ -x "$(dirname "$BIN")/rlsched-train" ]; then
    if "$BIN" bench train --json --quick >"$TMP/train.jsonl" 2>"$TMP/err" &&
        "$PY" "$TMP/bench.py" "$TMP/train.jsonl" pytorch_ >/dev/null; then
        ok "bench train --json is strict JSON"
    else
        bad "bench train --json"; cat "$TMP/err"; cat "$TMP/train.jsonl"
    fi
    if [ -x "$(dirname "$BIN")/rlsched-agent" ]; then
        if "$BIN" bench agent --json --quick >"$TMP/agent.jsonl" 2>"$TMP/err" &&
            "$PY" "$TMP/bench.py" "$TMP/agent.jsonl" - >/dev/null &&
            grep -q '"name":"agent_rss_mb".*"baseline_name":"agent_hpa_only_rss_mb".*"reference_name":"aim_rss_mb"' \
                "$TMP/agent.jsonl"; then
            ok "bench agent --json is strict JSON; memory against the agent without a checkpoint, aim as reference"
        else
            bad "bench agent --json"; cat "$TMP/err"; cat "$TMP/agent.jsonl"
        fi
    else
        echo "SKIPPED: rlsched-agent not built: bench agent not checked"
        skipped=1
    fi
else
    echo "SKIPPED: rlsched-train (libtorch) not built: bench train / agent not checked"
    skipped=1
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ] || exit 1
[ $skipped -eq 0 ] || exit 77
