#!/usr/bin/env bash
# The offline-learning experiment, end to end (method and results: README.md here).
#
#   tools/experiments/learn.sh RLSCHED WORKDIR [stage ...]
#
# WORKDIR must hold split.sh's output (train/, test/, tune/). Stages (default: all, in order):
#   record  one replay file per training trace and for the default scenario, behaviour
#           policies cycled episode by episode (BEHAVIOUR), exploration EPSILON
#   merge   all of them into WORKDIR/data.h5 (h5py; normalization recomputed)
#   train   rlsched train on data.h5 -> WORKDIR/policy.h5 (ALGO, STEPS, BATCH, EXTRA)
#   eval    every test trace: hpa, hpa-tuned (tuned on tune/<name>.trace, the training
#           side), kpa, predictive, the learned policy, oracle -> WORKDIR/eval/*.json
#   table   WORKDIR/table.md: cost, x oracle, SLO violations, drops per trace and policy
# Environment knobs (defaults are the reported run):
set -euo pipefail
R=${1:?usage: learn.sh RLSCHED WORKDIR [stage ...]}
W=${2:?usage: learn.sh RLSCHED WORKDIR [stage ...]}
shift 2
STAGES=${*:-record merge train eval table}
BEHAVIOUR=${BEHAVIOUR:-predictive@binpack,hpa-tuned@binpack,kpa@binpack,oracle}
EPSILON=${EPSILON:-0.1}
EP_STEPS=${EP_STEPS:-5760}          # steps per recorded episode (one day of 15 s steps)
EP_PER_TRACE=${EP_PER_TRACE:-2}     # episodes per training trace
DEFAULT_EPISODES=${DEFAULT_EPISODES:-8}
ALGO=${ALGO:-bc}
STEPS=${STEPS:-30000}
BATCH=${BATCH:-256}
EXTRA=${EXTRA:-}                    # more train flags, e.g. "--alpha 0.5 --gamma 0.95"
POLICY=${POLICY:-$W/policy.h5}      # the learned policy evaluated
SCENARIO=${SCENARIO:-default}
mkdir -p "$W/rec" "$W/eval"

for stage in $STAGES; do
case $stage in
record)
    rm -f "$W"/rec/*.h5
    seed=100
    "$R" record --scenario "$SCENARIO" --policy "$BEHAVIOUR" --epsilon "$EPSILON" \
        --episodes "$DEFAULT_EPISODES" --seed $seed --out "$W/rec/default.h5" --quiet
    for t in "$W"/train/*.trace; do
        seed=$((seed + 10))
        # rotate the behaviour list so every trace sees different policies
        "$R" record --scenario "$SCENARIO" --trace "$t" --policy "$BEHAVIOUR" --epsilon "$EPSILON" \
            --episodes "$EP_PER_TRACE" --steps "$EP_STEPS" --seed $seed \
            --out "$W/rec/$(basename "$t" .trace).h5" --quiet
        BEHAVIOUR=$(echo "$BEHAVIOUR" | awk -F, '{for(i=2;i<=NF;i++) printf "%s,", $i; print $1}')
    done ;;
merge)
    /usr/bin/python3 - "$W/data.h5" "$W"/rec/*.h5 <<'PY'
# Concatenates rlsched replay files (replay/FORMAT.md) of the same shapes into one.
import sys, h5py, numpy as np, os
out, ins = sys.argv[1], sys.argv[2:]
tmp = out + ".tmp"
with h5py.File(tmp, "w") as o:
    n = steps = 0; s1 = s2 = None; rows = 0; pols = []
    for k, path in enumerate(ins):
        with h5py.File(path, "r") as f:
            if k == 0:
                for a, v in f.attrs.items():
                    o.attrs[a] = v
                f.copy("scenario_yaml", o)
            for e in range(int(f.attrs["total_episodes"])):
                g = f[f"episode_{e}"]
                f.copy(g, o, name=f"episode_{n}")
                o[f"episode_{n}"].attrs["id"] = np.int64(n)
                obs = g["observations"][...].astype(np.float64)
                obs = obs.reshape(-1, obs.shape[-1])
                s1 = obs.sum(0) if s1 is None else s1 + obs.sum(0)
                s2 = (obs ** 2).sum(0) if s2 is None else s2 + (obs ** 2).sum(0)
                rows += obs.shape[0]; steps += int(g.attrs["total_steps"]); n += 1
            pols.append(f.attrs["behavior_policy"])
    S = int(o.attrs["n_services"])
    mean = s1 / rows; std = np.sqrt(np.maximum(s2 / rows - mean ** 2, 0))
    std[std < 1e-6] = 1
    o.create_dataset("obs_mean", data=mean.astype("<f4"))
    o.create_dataset("obs_std", data=std.astype("<f4"))
    o.attrs["total_episodes"] = np.int64(n); o.attrs["total_steps"] = np.int64(steps)
    o.attrs["total_transitions"] = np.int64(steps * S)
    o.attrs["trace"] = np.bytes_(b"merged")
os.replace(tmp, out)
print(f"merged {len(ins)} files: {n} episodes, {steps} steps -> {out}")
PY
    "$R" replay info "$W/data.h5" | sed -n 1,8p ;;
train)
    "$R" train --data "$W/data.h5" --algo "$ALGO" --steps "$STEPS" --batch "$BATCH" \
        --out "$POLICY" --quiet $EXTRA ;;
eval)
    for t in "$W"/test/*.trace; do
        n=$(basename "$t" .trace)
        "$R" eval --scenario "$SCENARIO" --trace "$t" --tune-trace "$W/tune/$n.trace" \
            --policy "hpa,hpa-tuned,kpa,predictive,$POLICY,oracle" --json "$W/eval/$n.json" >/dev/null
    done ;;
table)
    /usr/bin/python3 - "$W" "$POLICY" <<'PY' | tee "$W/table.md"
# Per test trace: cost, x oracle, SLO violations, drops; then the score card.
import sys, json, glob, os
W, pol = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(os.path.join(W, "eval", "*.json")))
print("| test trace | policy | cost $ | x oracle | SLO viol % | drop % |")
print("|---|---|---:|---:|---:|---:|")
wins = within = 0
for fn in files:
    d = json.load(open(fn)); t = os.path.basename(fn)[:-5]
    P = {p["name"]: p for p in d["policies"]}
    learned = [p for p in d["policies"] if p["kind"] not in ("hpa", "kpa", "predictive", "oracle", "hpa-tuned")]
    lname = learned[0]["name"] if learned else [n for n in P if n.endswith(".h5")][0]
    for p in d["policies"]:
        name = "learned" if p["name"] == lname else p["name"]
        print(f"| {t} | {name} | {p['cost']:.2f} | {p['cost_vs_oracle']:.3f} | "
              f"{p['slo_violation_pct']:.2f} | {p['dropped_pct']:.3f} |")
    L, H = P[lname], P["hpa-tuned"]
    win = L["cost"] < H["cost"] and L["slo_violation_pct"] <= H["slo_violation_pct"]
    ok = L["cost_vs_oracle"] <= 1.15 and L["slo_violation_pct"] <= H["slo_violation_pct"]
    wins += win; within += ok
print()
print(f"learned beats hpa-tuned (cheaper, SLO violations no higher) on {wins}/{len(files)} test traces; "
      f"within 1.15x oracle at SLO <= hpa-tuned on {within}/{len(files)}")
PY
    ;;
*) echo "learn.sh: unknown stage '$stage'" >&2; exit 2 ;;
esac
done
