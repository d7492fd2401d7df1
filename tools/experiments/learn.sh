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
#           side), hpa-tuned@binpack, kpa, predictive, the learned policy, oracle
#           -> WORKDIR/eval/*.json
#   base    the same without the learned policy -> BASE/*.json (the baselines do not
#           depend on the learned policy: compute them once, compare variants against them)
#   evalp   only the learned policy -> WORKDIR/evalp/*.json (with BASE from `base`)
#   table   WORKDIR/table.md: cost, x oracle, SLO violations, drops per trace and policy
#           (from eval/, or from BASE/ and evalp/ when evalp/ exists)
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
                                    # (train_default.sh: --no-train-state, a small shipped file)
POLICY=${POLICY:-$W/policy.h5}      # the learned policy evaluated
DAGGER_TAG=${DAGGER_TAG:-dagger}    # dagger: file prefix under rec/ (a second round: another tag)
DAGGER_SEED=${DAGGER_SEED:-5000}    # dagger: first recording seed (a second round: another one)
SCENARIO=${SCENARIO:-default}
U=${U:-0.88}                        # relabel: target utilization of the teacher
H_EXTRA=${H_EXTRA:-8}               # relabel: look-ahead beyond the cold start, steps
DOWN_WIN=${DOWN_WIN:-40}            # relabel: look-ahead of a scale-down, steps
TEACHER=${TEACHER:-util}            # relabel: util (ceil(peak / U)) or slo (Erlang C, see transform.h)
MARGIN=${MARGIN:-2}                 # relabel: slo teacher's Poisson margin, sigmas
BASE=${BASE:-$W/base}               # baseline evaluations (stage base)
BASELINES="hpa,hpa-tuned,hpa-tuned@binpack,kpa,predictive"
mkdir -p "$W/rec" "$W/eval"

# eval_tests POLICIES OUTDIR [--tune]: every test trace -> OUTDIR/<name>.json (--tune: hpa-tuned
# is tuned on tune/<name>.trace, the training side)
eval_tests() {
    local t n tune=()
    mkdir -p "$2"
    for t in "$W"/test/*.trace; do
        n=$(basename "$t" .trace)
        [ "${3:-}" = --tune ] && tune=(--tune-trace "$W/tune/$n.trace")
        "$R" eval --scenario "$SCENARIO" --trace "$t" "${tune[@]}" --policy "$1" \
            --json "$2/$n.json" >/dev/null
    done
}

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
    seed=$DAGGER_SEED
    "$R" record --scenario "$SCENARIO" --policy "$POLICY" --epsilon "$EPSILON" \
        --episodes "$DEFAULT_EPISODES" --seed $seed --out "$W/rec/${DAGGER_TAG}_default.h5" --quiet
    for t in "$W"/train/*.trace; do
        seed=$((seed + 10))
        "$R" record --scenario "$SCENARIO" --trace "$t" --policy "$POLICY" --epsilon "$EPSILON" \
            --episodes "$EP_PER_TRACE" --steps "$EP_STEPS" --seed $seed \
            --out "$W/rec/${DAGGER_TAG}_$(basename "$t" .trace).h5" --quiet
    done ;;
merge)
    "$R" replay merge --out "$W/data.h5" "$W"/rec/*.h5
    "$R" replay info "$W/data.h5" | sed -n 1,8p ;;
relabel)
    # the hindsight teacher (replay/transform.h): scale up to the peak of the next
    # cold start + H_EXTRA steps at utilization U, down to the peak of DOWN_WIN steps
    "$R" replay relabel "$W/data.h5" --out "$W/data.relabelled.h5" --target-util "$U" \
        --lookahead-extra "$H_EXTRA" --down-window "$DOWN_WIN" --teacher "$TEACHER" --margin "$MARGIN"
    mv "$W/data.relabelled.h5" "$W/data.h5" ;;
train)
    "$R" train --data "$W/data.h5" --algo "$ALGO" --steps "$STEPS" --batch "$BATCH" \
        --out "$POLICY" --quiet $EXTRA ;;
eval)  eval_tests "$BASELINES,$POLICY,oracle" "$W/eval" --tune ;;
base)  eval_tests "$BASELINES,oracle" "$BASE" --tune ;;
evalp) eval_tests "$POLICY" "$W/evalp" ;;
table)
    /usr/bin/python3 - "$W" "$POLICY" "$BASE" <<'PY' | tee "$W/table.md"
# Per test trace: cost, x oracle, SLO violations, drops; then the score card.
import sys, json, glob, os
W, pol, base = sys.argv[1], sys.argv[2], sys.argv[3]
split = os.path.isdir(os.path.join(W, "evalp"))
files = sorted(glob.glob(os.path.join(W, "evalp" if split else "eval", "*.json")))
cols = ["hpa", "hpa-tuned", "hpa-tuned@binpack", "kpa", "predictive", "learned", "oracle"]
print("Each cell: cost $ / x oracle / SLO violations % / drops %. **W**: the learned policy is "
      "cheaper than hpa-tuned with SLO violations no higher.\n")
print("| test trace | " + " | ".join(cols) + " |")
print("|---|" + "---|" * len(cols))
wins = within = wins_bp = 0
for fn in files:
    t = os.path.basename(fn)[:-5]
    pols = json.load(open(fn))["policies"]
    if split:
        pols = json.load(open(os.path.join(base, t + ".json")))["policies"] + pols
    P = {}
    for p in pols:
        P["learned" if p["name"].endswith(".h5") else p["name"]] = p
    for p in P.values():   # x oracle from the costs (evalp runs have no oracle of their own)
        p["cost_vs_oracle"] = p["cost"] / P["oracle"]["cost"]
    L, H = P["learned"], P["hpa-tuned"]
    win = L["cost"] < H["cost"] and L["slo_violation_pct"] <= H["slo_violation_pct"]
    ok = L["cost_vs_oracle"] <= 1.15 and L["slo_violation_pct"] <= H["slo_violation_pct"]
    B = P.get("hpa-tuned@binpack")
    bp = B is not None and L["cost"] < B["cost"] and L["slo_violation_pct"] <= B["slo_violation_pct"]
    wins += win; within += ok; wins_bp += bp
    cell = lambda p: f"{p['cost']:.2f} / {p['cost_vs_oracle']:.3f} / {p['slo_violation_pct']:.2f} / {p['dropped_pct']:.2f}"
    print(f"| {t}{' **W**' if win else ''} | " + " | ".join(cell(P[c]) if c in P else "-" for c in cols) + " |")
print()
print(f"learned beats hpa-tuned (cheaper, SLO violations no higher) on {wins}/{len(files)} test traces; "
      f"within 1.15x oracle at SLO violations <= hpa-tuned's on {within}/{len(files)}; "
      f"cheaper than hpa-tuned@binpack with SLO violations no higher on {wins_bp}/{len(files)}")
PY
    ;;
*) echo "learn.sh: unknown stage '$stage'" >&2; exit 2 ;;
esac
done
