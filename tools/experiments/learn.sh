#!/usr/bin/env bash
# The learning experiment, end to end (method and results: README.md here).
#
#   tools/experiments/learn.sh RLSCHED WORKDIR [stage ...]
#
# WORKDIR holds split.sh's output (train/, val/, test/, tune/). Stages:
#   record   behaviour data: baselines (BEHAVIOUR, cycled) with exploration EPSILON on every
#            training trace, the default scenario and N_RANDOM random scenarios
#            (random:SEED, when this build has them) -> WORKDIR/rec/*.h5
#   dagger   the imitation policy IMIT itself (with its controller) on the same sources
#            -> WORKDIR/rec/dagger_*.h5
#   imitate  merge rec/*.h5, relabel with the hindsight teacher (U, H_EXTRA, DOWN_WIN),
#            bc STEPS steps (seed SEED) -> IMIT (default WORKDIR/imit.h5)
#   collect  round ROUND of the reward-driven stage: the current policy POLICY (with its
#            controller) and exploration RL_EPSILON on the same sources, actions as taken
#            (not relabelled) -> WORKDIR/rl/round_ROUND_*.h5
#   rl       merge WORKDIR/rl/*.h5; discrete-iql from IMIT's actor (--init) on the
#            Lagrangian reward (LAMBDA, CHURN, GAMMA, TEMP), RL_STEPS steps -> RL_OUT
#   val      evaluate POLICIES (comma list) on every validation trace and N_EVAL_RANDOM random
#            scenarios drawn from the validation series -> WORKDIR/val_eval/
#   test     the same on every test trace -> WORKDIR/test_eval/  (run once, at the end)
#   base     the baselines on val and test (tuned on tune/) -> WORKDIR/base_{val,test}/
#   table    SPLIT=val|test: WORKDIR/table_SPLIT.md from base_SPLIT and SPLIT_eval
#   all      the whole protocol in order, 5 seeds, the test split once (about 40 minutes)
# Knobs: environment variables below.
set -euo pipefail
R=${1:?usage: learn.sh RLSCHED WORKDIR [stage ...]}
W=${2:?usage: learn.sh RLSCHED WORKDIR [stage ...]}
shift 2
STAGES=${*:-record imitate dagger imitate collect rl table}
RT=${RT:-$(dirname "$R")/rlsched-train}
BEHAVIOUR=${BEHAVIOUR:-predictive@binpack,hpa-tuned@binpack,kpa@binpack,oracle}
EPSILON=${EPSILON:-0.1}
RL_EPSILON=${RL_EPSILON:-0.1}
EP_STEPS=${EP_STEPS:-5760}
EP_PER_TRACE=${EP_PER_TRACE:-2}
DEFAULT_EPISODES=${DEFAULT_EPISODES:-8}
N_RANDOM=${N_RANDOM:-0}
STEPS=${STEPS:-20000}
SEED=${SEED:-1}
U=${U:-0.88}; H_EXTRA=${H_EXTRA:-8}; DOWN_WIN=${DOWN_WIN:-40}
IMIT=${IMIT:-$W/imit.h5}
POLICY=${POLICY:-$IMIT}
ROUND=${ROUND:-1}
LAMBDA=${LAMBDA:-20}; CHURN=${CHURN:-0.02}; GAMMA=${GAMMA:-0.95}; TEMP=${TEMP:-3}
RL_STEPS=${RL_STEPS:-20000}
RL_OUT=${RL_OUT:-$W/rl.h5}
RL_EXTRA=${RL_EXTRA:-}
RL_DIR=${RL_DIR:-rl}                # collect writes, rl merges WORKDIR/RL_DIR/*.h5
DAGGER_CTRL=${DAGGER_CTRL:-:hold=0:floor=0:ood=0} # dagger records the bare network (its own states)
RL_CTRL=${RL_CTRL:-:hold=0:floor=0} # collect runs the network bare: the data's actions are the
                                    # network's own (the controller would record its holds)
POLICIES=${POLICIES:-$POLICY}
SPLIT=${SPLIT:-val}
N_EVAL_RANDOM=${N_EVAL_RANDOM:-20}  # random scenarios per split (windows of that split's series)
BASELINES="hpa,hpa-tuned,hpa-tuned@binpack,kpa,predictive,predictive@binpack,kpa@binpack,oracle"
mkdir -p "$W/rec" "$W/$RL_DIR"

# record_all POLICIES EPS PREFIX SEED0: every training source -> PREFIX_<source>.h5
record_all() {
    local pol=$1 eps=$2 pre=$3 seed=$4 t
    "$R" record --scenario default --policy "$pol" --epsilon "$eps" --episodes "$DEFAULT_EPISODES" \
        --seed "$seed" --out "${pre}_default.h5" --quiet
    for t in "$W"/train/*.trace; do
        seed=$((seed + 10))
        "$R" record --scenario default --trace "$t" --policy "$pol" --epsilon "$eps" \
            --episodes "$EP_PER_TRACE" --steps "$EP_STEPS" --seed $seed \
            --out "${pre}_$(basename "$t" .trace).h5" --quiet
        pol=$(echo "$pol" | awk -F, '{for(i=2;i<=NF;i++) printf "%s,", $i; print $1}')
    done
    for ((k = 1; k <= N_RANDOM; k++)); do
        seed=$((seed + 10))
        RLS_TRACE_LIB="$W/train" "$R" record --scenario "random:$((seed + k)):services=6" --policy "$pol" --epsilon "$eps" \
            --episodes 1 --steps "$EP_STEPS" --seed $seed --out "${pre}_random$k.h5" --quiet
        pol=$(echo "$pol" | awk -F, '{for(i=2;i<=NF;i++) printf "%s,", $i; print $1}')
    done
}

# eval_random SPLIT POLICIES OUTDIR: N_EVAL_RANDOM random scenarios whose real windows come from
# SPLIT's series only (RLS_TRACE_LIB=WORKDIR/SPLIT), seeds 100000+ (val) / 200000+ (test)
eval_random() {
    local k s0=100000
    [ "$1" = test ] && s0=200000
    mkdir -p "$3"
    for ((k = 0; k < N_EVAL_RANDOM; k++)); do
        RLS_TRACE_LIB="$W/$1" "$R" eval --scenario "random:$((s0 + k))" --policy "$2" \
            --json "$3/random_$((s0 + k)).json" >/dev/null
    done
}

# eval_split SPLIT POLICIES OUTDIR [--tune]
eval_split() {
    local t n tune=()
    mkdir -p "$3"
    for t in "$W/$1"/*.trace; do
        n=$(basename "$t" .trace)
        [ "${4:-}" = --tune ] && tune=(--tune-trace "$W/tune/$n.trace")
        "$R" eval --scenario default --trace "$t" "${tune[@]}" --policy "$2" --json "$3/$n.json" >/dev/null
    done
}

for stage in $STAGES; do
case $stage in
all)
    # the whole protocol, in order: data, 5 seeds of both stages, baselines, validation, and
    # the test split once at the end (tools/experiments/README.md)
    "$0" "$R" "$W" record imitate
    cp "$W/imit.h5" "$W/imit_1.h5"
    RL_DIR=rl2 POLICY="$W/imit_1.h5" "$0" "$R" "$W" collect
    for s in 1 2 3 4 5; do
        SEED=$s IMIT="$W/imit_$s.h5" "$0" "$R" "$W" imitate
        SEED=$s IMIT="$W/imit_$s.h5" RL_DIR=rl2 TEMP=1 LAMBDA=20 RL_STEPS=5000 \
            RL_OUT="$W/rl_$s.h5" "$0" "$R" "$W" rl
    done
    P=$(echo "$W"/imit_{1..5}.h5 "$W"/rl_{1..5}.h5 | tr ' ' ,)
    "$0" "$R" "$W" base
    POLICIES=$P "$0" "$R" "$W" val
    SPLIT=val "$0" "$R" "$W" table >/dev/null
    POLICIES=$P "$0" "$R" "$W" test
    SPLIT=test "$0" "$R" "$W" table ;;
record)  rm -f "$W"/rec/*.h5; record_all "$BEHAVIOUR" "$EPSILON" "$W/rec/base" 100 ;;
dagger)  record_all "$IMIT$DAGGER_CTRL" "$EPSILON" "$W/rec/dagger" 5000 ;;
imitate)
    # data once (delete WORKDIR/imit_data.h5 to rebuild it), then bc with SEED
    if [ ! -f "$W/imit_data.h5" ]; then
        "$R" replay merge --out "$W/imit_data.tmp.h5" "$W"/rec/*.h5 >/dev/null
        "$R" replay relabel "$W/imit_data.tmp.h5" --out "$W/imit_data.r.h5" --target-util "$U" \
            --lookahead-extra "$H_EXTRA" --down-window "$DOWN_WIN" >/dev/null
        rm -f "$W/imit_data.tmp.h5"; mv "$W/imit_data.r.h5" "$W/imit_data.h5"
    fi
    "$R" train --data "$W/imit_data.h5" --algo bc --steps "$STEPS" --batch 256 --seed "$SEED" \
        --out "$IMIT" --quiet --no-train-state | head -1 ;;
collect) record_all "$POLICY$RL_CTRL" "$RL_EPSILON" "$W/$RL_DIR/round_$ROUND" $((9000 + 1000 * ROUND)) ;;
rl)
    [ -f "$W/${RL_DIR}_data.h5" ] || "$R" replay merge --out "$W/${RL_DIR}_data.h5" "$W/$RL_DIR"/*.h5 >/dev/null
    "$R" train --data "$W/${RL_DIR}_data.h5" --algo discrete-iql --init "$IMIT" --reward lagrangian \
        --lambda "$LAMBDA" --churn "$CHURN" --gamma "$GAMMA" --temperature "$TEMP" \
        --steps "$RL_STEPS" --seed "$SEED" --out "$RL_OUT" --quiet --no-train-state $RL_EXTRA | head -1 ;;
val)   eval_split val "$POLICIES" "$W/val_eval"; eval_random val "$POLICIES" "$W/val_eval" ;;
test)  eval_split test "$POLICIES" "$W/test_eval"; eval_random test "$POLICIES" "$W/test_eval" ;;
base)  eval_split val "$BASELINES" "$W/base_val" --tune; eval_split test "$BASELINES" "$W/base_test" --tune
       eval_random val "$BASELINES" "$W/base_val"; eval_random test "$BASELINES" "$W/base_test" ;;
table) /usr/bin/python3 "$(dirname "$0")/table.py" "$W" "$SPLIT" | tee "$W/table_$SPLIT.md" ;;
*) echo "learn.sh: unknown stage '$stage'" >&2; exit 2 ;;
esac
done
