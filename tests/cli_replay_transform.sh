#!/usr/bin/env bash
# cli_replay_transform.sh - `rlsched replay merge` and `rlsched replay relabel`:
# merged files hold every input episode unchanged; the C hindsight teacher gives
# exactly the actions of an independent numpy implementation (relabel_ref.py)
# and leaves observations alone; failures leave no output file.
# Args: $1 rlsched binary, $2 source dir, $3 traces dir.
set -u
BIN=$1
SRC=$2
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

"$BIN" record --policy predictive@binpack,oracle --epsilon 0.1 --episodes 2 --steps 300 --seed 3 \
    --quiet --out "$TMP/a.h5" 2> "$TMP/a.err" || bad "record a: $(cat "$TMP/a.err")"
"$BIN" record --policy kpa,hpa --epsilon 0.2 --episodes 3 --steps 200 --seed 9 \
    --quiet --out "$TMP/b.h5" 2> "$TMP/b.err" || bad "record b: $(cat "$TMP/b.err")"

# merge: 5 episodes, the data of each input episode unchanged, in order
"$BIN" replay merge --out "$TMP/m.h5" "$TMP/a.h5" "$TMP/b.h5" > /dev/null 2> "$TMP/m.err"
[ $? -eq 0 ] && ok || bad "merge: $(cat "$TMP/m.err")"
/usr/bin/python3 - "$TMP/m.h5" "$TMP/a.h5" "$TMP/b.h5" <<'PY' && ok || bad "merged content differs"
import sys, h5py, numpy as np
m = h5py.File(sys.argv[1], "r")
k = 0
for path in sys.argv[2:]:
    f = h5py.File(path, "r")
    for e in range(int(f.attrs["total_episodes"])):
        for ds in ("observations", "actions", "rewards", "service_rewards", "terminations", "truncations",
                   "action_masks"):
            assert np.array_equal(m[f"episode_{k}/{ds}"][...], f[f"episode_{e}/{ds}"][...]), (k, ds)
        k += 1
assert int(m.attrs["total_episodes"]) == k == 5, k
PY

# relabel: the C teacher against the numpy reference, on the merged file
cp "$TMP/m.h5" "$TMP/ref.h5"
if /usr/bin/python3 -c 'import yaml, h5py, numpy' 2>/dev/null; then
    /usr/bin/python3 "$SRC/tests/relabel_ref.py" "$TMP/ref.h5" 0.84 6 30 > /dev/null || bad "relabel_ref.py failed"
    "$BIN" replay relabel "$TMP/m.h5" --out "$TMP/r.h5" --target-util 0.84 --lookahead-extra 6 \
        --down-window 30 > "$TMP/r.out" 2> "$TMP/r.err"
    [ $? -eq 0 ] && ok || bad "relabel: $(cat "$TMP/r.err")"
    /usr/bin/python3 - "$TMP/r.h5" "$TMP/ref.h5" "$TMP/m.h5" <<'PY' && ok || bad "relabel differs from the reference"
import sys, h5py, numpy as np
c, ref, src = (h5py.File(p, "r") for p in sys.argv[1:])
changed = 0
for e in range(int(src.attrs["total_episodes"])):
    a, b = c[f"episode_{e}/actions"][...], ref[f"episode_{e}/actions"][...]
    assert np.array_equal(a, b), (e, int((a != b).sum()))
    assert np.array_equal(c[f"episode_{e}/observations"][...], src[f"episode_{e}/observations"][...])
    assert (a % 2 == 1).all()          # always bin-pack
    changed += int((a != src[f"episode_{e}/actions"][...]).sum())
assert changed > 0
PY
    # the SLO teacher (Erlang C at the peak + 1.5 sigmas) against the reference's own queueing math
    cp "$TMP/m.h5" "$TMP/ref2.h5"
    /usr/bin/python3 "$SRC/tests/relabel_ref.py" "$TMP/ref2.h5" 0.84 6 30 slo:1.5 > /dev/null || bad "relabel_ref.py slo failed"
    "$BIN" replay relabel "$TMP/m.h5" --out "$TMP/r2.h5" --teacher slo --margin 1.5 --lookahead-extra 6 \
        --down-window 30 > "$TMP/r2.out" 2> "$TMP/r2.err"
    [ $? -eq 0 ] && ok || bad "relabel --teacher slo: $(cat "$TMP/r2.err")"
    /usr/bin/python3 - "$TMP/r2.h5" "$TMP/ref2.h5" "$TMP/r.h5" <<'PY' && ok || bad "slo relabel differs from the reference"
import sys, h5py, numpy as np
c, ref, util = (h5py.File(p, "r") for p in sys.argv[1:])
differs = 0
for e in range(int(c.attrs["total_episodes"])):
    a, b = c[f"episode_{e}/actions"][...], ref[f"episode_{e}/actions"][...]
    assert np.array_equal(a, b), (e, int((a != b).sum()))
    differs += int((a != util[f"episode_{e}/actions"][...]).sum())
assert differs > 0                     # a different teacher, not the util one again
assert b"teacher=slo" in bytes(c.attrs["behavior_policy"], "utf-8") if isinstance(c.attrs["behavior_policy"], str) else b"teacher=slo" in c.attrs["behavior_policy"]
PY
else
    echo "SKIPPED: relabel reference needs python3-yaml, h5py, numpy"
    SKIPPED=1
fi

# failures: a missing input, bad options; nothing left under the output name
"$BIN" replay merge --out "$TMP/x.h5" "$TMP/a.h5" "$TMP/missing.h5" 2> "$TMP/e1"
[ $? -eq 1 ] && [ ! -e "$TMP/x.h5" ] && [ ! -e "$TMP/x.h5.part" ] && grep -q "missing.h5" "$TMP/e1" && ok \
    || bad "merge with a missing input: $(cat "$TMP/e1")"
"$BIN" replay relabel "$TMP/a.h5" --out "$TMP/y.h5" --target-util 1.5 2> "$TMP/e2"
[ $? -eq 2 ] && [ ! -e "$TMP/y.h5" ] && ok || bad "relabel --target-util 1.5: $(cat "$TMP/e2")"
"$BIN" replay relabel "$TMP/a.h5" --out "$TMP/y.h5" --teacher median 2> "$TMP/e4"
[ $? -eq 2 ] && [ ! -e "$TMP/y.h5" ] && grep -q "teacher" "$TMP/e4" && ok || bad "relabel --teacher median: $(cat "$TMP/e4")"
"$BIN" replay relabel "$TMP/a.h5" --out /nonexistent/dir/y.h5 2> "$TMP/e3"
[ $? -eq 1 ] && ok || bad "relabel to an unwritable path: $(cat "$TMP/e3")"
"$BIN" replay merge "$TMP/a.h5" 2> /dev/null
[ $? -eq 2 ] && ok || bad "merge without --out"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] || exit 1
[ -z "${SKIPPED:-}" ] || exit 77   # a part needing missing data/dependency did not run
