#!/usr/bin/env bash
# The offline-learning experiment, end to end (method and results: README.md here).
#
#   tools/experiments/learn.sh RLSCHED WORKDIR [stage ...]
#
# WORKDIR must hold split.sh's output (train/, test/, tune/). Stages (default, the reported
# run: record merge relabel train dagger merge relabel train eval table):
#   record  one replay file per training trace and for the default scenario, behaviour
#           policies cycled episode by episode (BEHAVIOUR), exploration EPSILON
#   dagger  (DAgger round) record the current learned policy (POLICY, exploration
#           EPSILON) on every training trace and the default scenario into rec/dagger_*.h5,
#           so the next merge + relabel + train sees the states the learner itself reaches
#   merge   all of them into WORKDIR/data.h5 (rlsched replay merge; normalization recomputed)
#   relabel (hindsight teacher, used by the reported run) rewrite data.h5's actions with the
#           clairvoyant rule the oracle follows, computed from each episode's own future:
#           up = ceil(max load over the next cold start + H_EXTRA steps / U), down = the
#           same over the next DOWN_WIN steps (a clairvoyant stabilization window: no
#           scale-down that the next minutes would undo); desired* = up if the service is
#           below up, down if it is above down, else unchanged (never below min);
#           action* = the smallest allowed delta reaching desired* (scale-ups rounded up,
#           scale-downs rounded toward 0), placement bin-pack. Then bc imitates a teacher
#           whose choice is a function of the state and the future, never of a behaviour
#           policy's hidden state (HPA windows, Holt-Winters level), on states that
#           mixed, epsilon-noisy behaviour policies visited (recovery included).
#   train   rlsched train on data.h5 -> WORKDIR/policy.h5 (ALGO, STEPS, BATCH, EXTRA)
#   eval    every test trace: hpa, hpa-tuned (tuned on tune/<name>.trace, the training
#           side), kpa, predictive, the learned policy, oracle -> WORKDIR/eval/*.json
#   table   WORKDIR/table.md: cost, x oracle, SLO violations, drops per trace and policy
# Environment knobs (defaults are the reported run):
set -euo pipefail
R=${1:?usage: learn.sh RLSCHED WORKDIR [stage ...]}
W=${2:?usage: learn.sh RLSCHED WORKDIR [stage ...]}
shift 2
STAGES=${*:-record merge relabel train dagger merge relabel train eval table}
BEHAVIOUR=${BEHAVIOUR:-predictive@binpack,hpa-tuned@binpack,kpa@binpack,oracle}
EPSILON=${EPSILON:-0.1}
EP_STEPS=${EP_STEPS:-5760}          # steps per recorded episode (one day of 15 s steps)
EP_PER_TRACE=${EP_PER_TRACE:-2}     # episodes per training trace
DEFAULT_EPISODES=${DEFAULT_EPISODES:-8}
ALGO=${ALGO:-bc}
STEPS=${STEPS:-20000}
BATCH=${BATCH:-256}
EXTRA=${EXTRA:-}                    # more train flags, e.g. "--alpha 0.5 --gamma 0.95"
POLICY=${POLICY:-$W/policy.h5}      # the learned policy evaluated
SCENARIO=${SCENARIO:-default}
U=${U:-0.84}                        # relabel: target utilization of the teacher
H_EXTRA=${H_EXTRA:-8}               # relabel: look-ahead beyond the cold start, steps
DOWN_WIN=${DOWN_WIN:-40}            # relabel: look-ahead of a scale-down, steps
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
dagger)
    seed=5000
    "$R" record --scenario "$SCENARIO" --policy "$POLICY" --epsilon "$EPSILON" \
        --episodes "$DEFAULT_EPISODES" --seed $seed --out "$W/rec/dagger_default.h5" --quiet
    for t in "$W"/train/*.trace; do
        seed=$((seed + 10))
        "$R" record --scenario "$SCENARIO" --trace "$t" --policy "$POLICY" --epsilon "$EPSILON" \
            --episodes "$EP_PER_TRACE" --steps "$EP_STEPS" --seed $seed \
            --out "$W/rec/dagger_$(basename "$t" .trace).h5" --quiet
    done ;;
merge)
    "$R" replay merge --out "$W/data.h5" "$W"/rec/*.h5
    "$R" replay info "$W/data.h5" | sed -n 1,8p ;;
relabel)
    # the hindsight teacher (replay/transform.h): scale up to the peak of the next
    # cold start + H_EXTRA steps at utilization U, down to the peak of DOWN_WIN steps
    "$R" replay relabel "$W/data.h5" --out "$W/data.relabelled.h5" --target-util "$U" \
        --lookahead-extra "$H_EXTRA" --down-window "$DOWN_WIN"
    mv "$W/data.relabelled.h5" "$W/data.h5" ;;
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
cols = ["hpa", "hpa-tuned", "kpa", "predictive", "learned", "oracle"]
print("Each cell: cost $ / x oracle / SLO violations % / drops %. **W**: the learned policy is "
      "cheaper than hpa-tuned with SLO violations no higher.\n")
print("| test trace | " + " | ".join(cols) + " |")
print("|---|" + "---|" * len(cols))
wins = within = 0
for fn in files:
    d = json.load(open(fn)); t = os.path.basename(fn)[:-5]
    P = {}
    for p in d["policies"]:
        P["learned" if p["name"].endswith(".h5") else p["name"]] = p
    L, H = P["learned"], P["hpa-tuned"]
    win = L["cost"] < H["cost"] and L["slo_violation_pct"] <= H["slo_violation_pct"]
    ok = L["cost_vs_oracle"] <= 1.15 and L["slo_violation_pct"] <= H["slo_violation_pct"]
    wins += win; within += ok
    cell = lambda p: f"{p['cost']:.2f} / {p['cost_vs_oracle']:.3f} / {p['slo_violation_pct']:.2f} / {p['dropped_pct']:.2f}"
    print(f"| {t}{' **W**' if win else ''} | " + " | ".join(cell(P[c]) for c in cols) + " |")
print()
print(f"learned beats hpa-tuned (cheaper, SLO violations no higher) on {wins}/{len(files)} test traces; "
      f"within 1.15x oracle at SLO violations <= hpa-tuned's on {within}/{len(files)}")
PY
    ;;
*) echo "learn.sh: unknown stage '$stage'" >&2; exit 2 ;;
esac
done
