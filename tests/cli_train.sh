#!/bin/bash
# cli_train.sh - `rlsched train`, `rlsched export` end to end: record a little
# experience, train discrete-cql and bc into checkpoints, evaluate a checkpoint
# beside hpa with `rlsched eval`, resume, FQE, export TorchScript and check in
# Python (torch.jit.load) that it gives the outputs and actions of the
# checkpoint's weights (computed with numpy from the HDF5 datasets), and that
# bad input fails with one line and no output file.
# Args: $1 rlsched binary, $2 source dir, $3 traces dir. Exits 77 (SKIPPED) when
# the binary was built without libtorch.
set -u
BIN=$1
SRC=$2
PY=/usr/bin/python3
T=$(mktemp -d /tmp/rls_cli_train.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

if ! "$BIN" train --help >/dev/null 2>&1; then
    echo "SKIPPED: rlsched train unavailable (built without libtorch?)"
    exit 77
fi

"$BIN" record --scenario default --policy hpa,kpa --episodes 2 --out "$T/data.h5" >/dev/null 2>&1 \
    && ok || bad "record"

# train: checkpoint written, progress on stderr, summary on stdout
if "$BIN" train --data "$T/data.h5" --algo discrete-cql --steps 300 --hidden 64,64 --out "$T/cql.h5" \
        >"$T/out" 2>"$T/err"; then
    [ -s "$T/cql.h5" ] && ok || bad "no checkpoint"
    grep -q "upd/s" "$T/err" && grep -q "ETA" "$T/err" && ok || bad "no progress: $(cat "$T/err")"
    grep -q "steps 300" "$T/out" && ok || bad "summary: $(cat "$T/out")"
else
    bad "train: $(cat "$T/err")"
fi

# the checkpoint runs in eval beside a baseline
if "$BIN" eval --policy "hpa,$T/cql.h5" --steps 200 >"$T/eval" 2>&1; then
    grep -q "cql" "$T/eval" && ok || bad "eval has no checkpoint row: $(cat "$T/eval")"
else
    bad "eval: $(cat "$T/eval")"
fi

# resume continues the count, exactly: 300 + resume to 400 equals 400 straight, weight for weight
"$BIN" train --data "$T/data.h5" --algo discrete-cql --steps 400 --resume "$T/cql.h5" --out "$T/cql2.h5" \
    --quiet >"$T/out" 2>&1 && grep -q "steps 400 (from 300)" "$T/out" && grep -q "resumed .* exactly" "$T/out" \
    && ok || bad "resume: $(cat "$T/out")"
"$BIN" train --data "$T/data.h5" --algo discrete-cql --steps 400 --hidden 64,64 --out "$T/cql400.h5" \
    --quiet >/dev/null 2>&1 || bad "train 400"
if /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
    /usr/bin/python3 - "$T/cql2.h5" "$T/cql400.h5" <<'PY' && ok || bad "resumed weights differ from a straight run"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
def walk(g, out, pre=""):
    for k, v in g.items():
        if isinstance(v, h5py.Group): walk(v, out, pre + k + "/")
        elif v.dtype.kind == "f": out[pre + k] = v[...]
    return out
wa, wb = walk(a, {}), walk(b, {})
assert wa.keys() == wb.keys() and any(k.startswith("train_state/") for k in wa), sorted(wa)
for k in wa:
    assert np.array_equal(wa[k], wb[k]), k
PY
fi
# --no-train-state: no /train_state, and a resume from it says it is not exact
"$BIN" train --data "$T/data.h5" --algo discrete-cql --steps 100 --hidden 32 --no-train-state \
    --out "$T/small.h5" --quiet >/dev/null 2>&1 || bad "train --no-train-state"
"$BIN" train --data "$T/data.h5" --algo discrete-cql --steps 150 --resume "$T/small.h5" --out "$T/small2.h5" \
    --quiet >"$T/out" 2>&1 && grep -q "without /train_state" "$T/out" && ok || bad "resume without state: $(cat "$T/out")"

# FQE prints an estimate
"$BIN" train --fqe --data "$T/data.h5" --policy "$T/cql.h5" --steps 200 --quiet >"$T/out" 2>&1 \
    && grep -q "initial-state value" "$T/out" && ok || bad "fqe: $(cat "$T/out")"

# bcq has two heads: export keeps its action rule
"$BIN" train --data "$T/data.h5" --algo discrete-bcq --steps 100 --hidden 32 --out "$T/bcq.h5" --quiet \
    >/dev/null 2>&1 && ok || bad "bcq train"

# TorchScript export, loaded in Python
for ck in cql bcq; do
    if "$BIN" export "$T/$ck.h5" --format torchscript --out "$T/$ck.pt" >"$T/out" 2>&1; then
        ok
    else
        bad "export $ck: $(cat "$T/out")"
        continue
    fi
    if $PY -c "import torch, h5py" 2>/dev/null; then
        if $PY - "$T/$ck.h5" "$T/$ck.pt" "$T/data.h5" >"$T/py" 2>&1 <<'EOF'
import sys, math
import h5py, numpy as np, torch
ck, pt, data = sys.argv[1:4]
with h5py.File(ck, "r") as f:
    n = int(f.attrs["n_layers"]); heads = int(f.attrs["n_heads"]); A = int(f.attrs["n_actions"])
    W = [f["weights/layer_%d/weight" % l][()] for l in range(n)]
    B = [f["weights/layer_%d/bias" % l][()] for l in range(n)]
    mean = f["normalization/obs_mean"][()]; std = f["normalization/obs_std"][()]
with h5py.File(data, "r") as f:
    g = f["episode_0"]
    obs = g["observations"][()][:50].reshape(-1, W[0].shape[1]).astype(np.float32)
    mask = g["action_masks"][()][:50].reshape(obs.shape[0], -1).astype(bool)
x = (obs - mean) / std
for l in range(n):
    x = x @ W[l].T + B[l]
    if l + 1 < n:
        x = np.maximum(x, 0)
q = np.where(mask, x[:, :A], -1e9)
if heads == 2:
    lg = np.where(mask, x[:, A:], -1e9)
    lp = lg - lg.max(1, keepdims=True); lp = lp - np.log(np.exp(lp).sum(1, keepdims=True))
    q = np.where(lp - lp.max(1, keepdims=True) >= math.log(0.3), q, -1e9)
want = q.argmax(1)
m = torch.jit.load(pt)
out = m.forward(torch.from_numpy(obs)).numpy()
act = m.act(torch.from_numpy(obs), torch.from_numpy(mask)).numpy()
err = float(np.abs(out - x).max())
assert err < 1e-4, "forward differs by %g" % err
assert (act == want).all(), "actions differ: %s vs %s" % (act[:10], want[:10])
assert mask[np.arange(len(act)), act].all(), "a masked action was chosen"
print("ok", len(act), err)
EOF
        then ok; else bad "python torch.jit.load $ck: $(cat "$T/py")"; fi
    fi
done

# bad input: one line naming the file, non-zero exit, nothing under the final name
"$BIN" train --data "$T/missing.h5" --steps 10 --out "$T/x.h5" >"$T/out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "missing.h5" "$T/out" && [ ! -e "$T/x.h5" ] && ok || bad "missing data: rc $rc $(cat "$T/out")"
head -c 3000 "$T/data.h5" >"$T/trunc.h5"
"$BIN" train --data "$T/trunc.h5" --steps 10 --out "$T/x.h5" >"$T/out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "trunc.h5" "$T/out" && [ ! -e "$T/x.h5" ] && ok || bad "truncated data: rc $rc $(cat "$T/out")"
"$BIN" train --data "$T/data.h5" --steps 10 --out "/nonexistent-dir/x.h5" >"$T/out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "nonexistent-dir" "$T/out" && ok || bad "unwritable out: rc $rc $(cat "$T/out")"
"$BIN" train --data "$T/data.h5" --algo nope --steps 10 --out "$T/x.h5" >"$T/out" 2>&1
[ $? -eq 2 ] && ok || bad "unknown algo: $(cat "$T/out")"
"$BIN" export "$T/missing.h5" --format torchscript --out "$T/x.pt" >"$T/out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "missing.h5" "$T/out" && [ ! -e "$T/x.pt" ] && ok || bad "export missing: $(cat "$T/out")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
