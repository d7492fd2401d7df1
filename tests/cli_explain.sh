#!/bin/bash
# cli_explain.sh - `rlsched explain` end to end: the shipped checkpoint run as
# deployed on the default scenario and on a generated trace, the JSON keys,
# attributions that sum to f(x) - f(obs_mean), top-K ordered by magnitude,
# the text form, one service, and bad input refused with one line and the
# documented exit code.
# Args: $1 rlsched binary, $2 source dir, $3 traces dir (unused: a generated trace).
set -u
BIN=$1
SRC=$2
PY=/usr/bin/python3
T=$(mktemp -d /tmp/rls_cli_explain.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
CK="$SRC/policies/default.h5"
if [ ! -x "$PY" ] || ! "$PY" -c 'import json' 2>/dev/null; then
    echo "SKIP: $PY is missing (needed to check the JSON)"
    exit 77
fi

# JSON: every service, K features each, sorted by |attribution|, complete
if "$BIN" explain --policy "$CK" --scenario default --at 30 --top 4 --json >"$T/a.json" 2>"$T/a.err"; then ok; else bad "explain --json: $(cat "$T/a.err")"; fi
[ ! -s "$T/a.err" ] && ok || bad "stderr not empty: $(cat "$T/a.err")"
check_json() {
    "$PY" - "$1" "$2" "$3" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
k, n_svc = int(sys.argv[2]), int(sys.argv[3])
for key in ("policy", "scenario", "seed", "step", "time_s", "method", "baseline", "services"):
    assert key in d, key
assert d["method"] == "integrated-gradients" and d["baseline"] == "obs_mean", d
assert len(d["services"]) == n_svc, len(d["services"])
for s in d["services"]:
    for key in ("service", "previous_desired", "desired", "delta", "placement", "decided_by",
                "action", "action_delta", "action_placement", "f_x", "f_baseline", "sum",
                "completeness_err", "integral", "steps", "converged", "top"):
        assert key in s, key
    assert s["decided_by"] in ("network", "hpa"), s["decided_by"]
    assert s["placement"] in ("spread", "binpack") and s["action_placement"] in ("spread", "binpack")
    assert s["delta"] == s["desired"] - s["previous_desired"]
    assert 0 <= s["action"] < 18 and s["converged"] is True and s["integral"] == "exact"
    assert abs(s["sum"] - (s["f_x"] - s["f_baseline"])) <= 1e-3, s
    assert s["completeness_err"] <= 1e-3, s
    assert len(s["top"]) == k, len(s["top"])
    mags = [abs(f["attribution"]) for f in s["top"]]
    assert mags == sorted(mags, reverse=True), mags
    assert len(set(f["feature"] for f in s["top"])) == k
PYEOF
}
NSVC=$("$BIN" scenario show default 2>/dev/null | grep -c '^ *- name:' || true)
[ "${NSVC:-0}" -ge 2 ] && ok || bad "scenario show default: $NSVC services"
check_json "$T/a.json" 4 "$NSVC" && ok || bad "JSON of the default scenario"
# the same run twice: the same explanation (deterministic)
"$BIN" explain --policy "$CK" --scenario default --at 30 --top 4 --json >"$T/b.json" 2>/dev/null
cmp -s "$T/a.json" "$T/b.json" && ok || bad "two runs differ"
# one service, K = 25 (all features): their attributions sum to f(x) - f(obs_mean)
SVC=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["services"][-1]["service"])' "$T/a.json")
"$BIN" explain --policy "$CK" --at 30 --service "$SVC" --top 25 --json >"$T/c.json" 2>"$T/c.err" && ok || bad "--service: $(cat "$T/c.err")"
"$PY" - "$T/c.json" "$SVC" <<'PYEOF' && ok || bad "one service, all features"
import json, sys
d = json.load(open(sys.argv[1]))
assert [s["service"] for s in d["services"]] == [sys.argv[2]]
s = d["services"][0]
assert len(s["top"]) == 25
tot = sum(f["attribution"] for f in s["top"])
assert abs(tot - (s["f_x"] - s["f_baseline"])) <= 1e-3, (tot, s["f_x"], s["f_baseline"])
PYEOF
# a generated trace, a controller option and a placement in the spec
"$BIN" trace synth --seed 3 --days 1 --out "$T/load.trace" >/dev/null 2>&1 && ok || bad "trace synth"
"$BIN" explain --policy "$CK:hold=2@binpack" --trace "$T/load.trace" --at 100 --top 3 --json >"$T/d.json" 2>"$T/d.err" \
    && ok || bad "explain --trace: $(cat "$T/d.err")"
check_json "$T/d.json" 3 "$NSVC" && ok || bad "JSON with a trace"
# the text form names each service and its ranked features
"$BIN" explain --policy "$CK" --at 5 --top 2 >"$T/t.txt" 2>&1 && ok || bad "text form"
grep -q "completeness error" "$T/t.txt" && grep -q "^   1\. " "$T/t.txt" && grep -q "^   2\. " "$T/t.txt" \
    && ! grep -q "^   3\. " "$T/t.txt" && ok || bad "text form content: $(head -5 "$T/t.txt")"
"$BIN" explain --help | grep -q "usage: rlsched explain" && ok || bad "--help"

# the benchmark: the project's bench keys, both sides measured in the same run
"$BIN" bench explain --policy "$CK" --steps 2 --json >"$T/bench.json" 2>"$T/bench.err" && ok || bad "bench explain: $(cat "$T/bench.err")"
"$PY" - "$T/bench.json" <<'PYEOF' && ok || bad "bench explain JSON"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("name", "value", "unit", "baseline_name", "baseline_value", "ratio", "latency_1_service_ms",
          "latency_1_service_no_explain_ms", "regions_per_explanation_100"):
    assert k in d, k
assert d["value"] > 0 and d["baseline_value"] > 0 and d["unit"] == "ms"
assert abs(d["ratio"] - d["value"] / d["baseline_value"]) < 1e-3 * d["ratio"]
assert d["regions_per_explanation_100"] >= 1
PYEOF
"$BIN" bench explain --steps 0 >/dev/null 2>"$T/e"; [ $? -eq 2 ] && [ "$(wc -l <"$T/e")" -eq 1 ] && ok || bad "bench --steps 0"

# bad input: one line on stderr, nothing on stdout, exit 2 (usage) or 1 (a file)
expect() {   # expect CODE PATTERN ARGS...
    local code=$1 pat=$2
    shift 2
    "$BIN" explain "$@" >"$T/o" 2>"$T/e"
    local rc=$?
    if [ $rc -ne "$code" ]; then bad "explain $*: exit $rc, expected $code ($(cat "$T/e"))"; return; fi
    [ "$(wc -l <"$T/e")" -eq 1 ] || { bad "explain $*: not one line: $(cat "$T/e")"; return; }
    grep -q "$pat" "$T/e" || { bad "explain $*: '$(cat "$T/e")' lacks '$pat'"; return; }
    [ ! -s "$T/o" ] || { bad "explain $*: output on stdout"; return; }
    ok
}
expect 2 "at.*past the episode" --policy "$CK" --at 99999999
expect 2 "'--at' 'x'\|--at 'x'" --policy "$CK" --at x
expect 2 "'-3'" --policy "$CK" --at -3
expect 2 "required" --policy "$CK"
expect 2 "required" --at 3
expect 1 "missing.h5" --policy "$T/missing.h5" --at 3
echo "not hdf5" >"$T/junk.h5"
expect 1 "junk.h5" --policy "$T/junk.h5" --at 3
expect 2 "not a checkpoint spec" --policy hpa --at 3
expect 2 "no such service" --policy "$CK" --at 3 --service nosuch
expect 2 "top .0." --policy "$CK" --at 3 --top 0
expect 2 "option" --policy "$CK:bogus=1" --at 3
expect 2 "unknown option" --policy "$CK" --at 3 --frobnicate 1
expect 1 "nosuch.yaml" --policy "$CK" --at 3 --scenario "$T/nosuch.yaml"

echo "cli_explain: $pass passed, $fail failed"
[ $fail -eq 0 ]
