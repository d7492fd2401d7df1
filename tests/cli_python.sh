#!/bin/bash
# cli_python.sh - the Python package (python/rlsched/) over librlsched.so:
# Gymnasium's env-checker rules, determinism, masks, the vector env's
# zero-copy arrays and autoreset, scenario names and files, and replay files
# read as Minari-named episodes (tests/python_env_check.py does the checks).
# SKIPPED (77) when Debian's python3 lacks numpy/h5py or the shared library
# was not built.
# usage: bash cli_python.sh RLSCHED SOURCE_DIR TRACES_DIR
set -u
BIN=$1
SRC=$2
PY=/usr/bin/python3
LIB="$(dirname "$BIN")/librlsched.so"
if [ ! -x "$PY" ] || ! "$PY" -c 'import numpy, h5py' 2> /dev/null; then
    echo "SKIP: $PY with numpy and h5py is needed (apt-get install python3-numpy python3-h5py)"
    exit 77
fi
if [ ! -f "$LIB" ]; then
    echo "SKIP: $LIB was not built (cmake --build builds it)"
    exit 77
fi
T=$(mktemp -d /tmp/rls_cli_python.XXXXXX)
trap 'rm -rf "$T"' EXIT
RLSCHED_LIB="$LIB" PYTHONPATH="$SRC/python" "$PY" "$SRC/tests/python_env_check.py" "$BIN" "$T"
rc=$?
# `rlsched bench python`: the keys of every bench line, both sides measured
if ! "$BIN" bench python --quick --json > "$T/bench.json" 2> "$T/bench.err"; then
    echo "FAIL: rlsched bench python: $(cat "$T/bench.err")"
    exit 1
fi
"$PY" - "$T/bench.json" <<'PYEOF' || exit 1
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
names = [r["name"] for r in rows]
assert names == ["python_env_steps_per_s_1", "python_vec_env_steps_per_s_64"], names
for r in rows:
    assert set(r) == {"name", "value", "unit", "baseline_name", "baseline_value", "ratio"}, r
    assert r["value"] > 0 and r["baseline_value"] > 0, r
    assert abs(r["ratio"] - r["value"] / r["baseline_value"]) < 1e-3, r
PYEOF
"$BIN" bench python --bogus 2> "$T/bad.err" && { echo "FAIL: bench python --bogus exited 0"; exit 1; }
[ "$(wc -l < "$T/bad.err")" -eq 1 ] || { echo "FAIL: bench python --bogus: not one line"; exit 1; }
exit $rc
