#!/usr/bin/env bash
# Reproduces the shipped default policy, policies/default.h5, from data the project
# generates itself: the compiled-in default scenario and synthetic traces from
# `rlsched trace synth` (several seeds and shapes). It never reads ../shared/traces.
# Method (tools/experiments/README.md): record mixed behaviour policies with exploration,
# relabel every action with the clairvoyant hindsight teacher, behaviour-clone it, then one
# DAgger round (record the clone itself, relabel, clone again on both).
#
#   tools/train_default.sh [RLSCHED] [OUT.h5]      (defaults: build/rlsched, policies/default.h5)
#
# About 4 minutes on 2 cores. Deterministic given the same build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
R=${1:-$ROOT/build/rlsched}
OUT=${2:-$ROOT/policies/default.h5}
W=$(mktemp -d /tmp/rlsched-default.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/train"
# 12 synthetic load shapes: calm and peaky days, different peak hours, noise, flash crowds
# and outages; each is cut into 1-day episodes by learn.sh.
i=0
for spec in \
    "--diurnal-amp 0.6 --peak-hour 14" "--diurnal-amp 0.8 --peak-hour 20 --flash-per-day 2" \
    "--diurnal-amp 0.3 --peak-hour 9 --noise 0.2" "--diurnal-amp 0.7 --peak-hour 11 --flash-per-day 4 --flash-mult 4" \
    "--diurnal-amp 0.5 --peak-hour 3 --noise 0.3" "--diurnal-amp 0.9 --peak-hour 17 --flash-per-day 0" \
    "--diurnal-amp 0.4 --peak-hour 22 --outage-per-day 1" "--diurnal-amp 0.6 --peak-hour 6 --noise 0.15 --flash-dur 300 --flash-per-day 6" \
    "--diurnal-amp 0.2 --peak-hour 13 --noise 0.4" "--diurnal-amp 0.75 --peak-hour 19 --trend 0.2" \
    "--diurnal-amp 0.5 --peak-hour 8 --flash-per-day 3 --flash-mult 6 --flash-dur 600" "--diurnal-amp 0.65 --peak-hour 16 --weekly-amp 0.5" ; do
    i=$((i + 1))
    # shellcheck disable=SC2086
    "$R" trace synth --seed $((40 + i)) --days 2 $spec --out "$W/train/synth_$i.trace" >/dev/null
done
# learn.sh: record (behaviour policies), imitate (merge, relabel, bc), dagger (the clone
# itself, bare), imitate again on both (the merged data rebuilt)
export BEHAVIOUR=predictive@binpack,hpa-tuned@binpack,kpa@binpack,oracle EPSILON=0.1 \
    EP_STEPS=5760 EP_PER_TRACE=2 DEFAULT_EPISODES=8 U=0.88 H_EXTRA=8 DOWN_WIN=40 STEPS=20000 \
    SEED=1 IMIT="$OUT"
"$ROOT/tools/experiments/learn.sh" "$R" "$W" record imitate dagger
rm -f "$W/imit_data.h5"
"$ROOT/tools/experiments/learn.sh" "$R" "$W" imitate
echo "train_default: wrote $OUT"
