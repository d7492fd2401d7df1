#!/usr/bin/env bash
# Splits ../shared/traces into training and test traces for the offline-learning
# experiment (tools/experiments/README.md). Training and test never overlap in time
# (time-span splits) or in file (NAB: whole files).
#
#   tools/experiments/split.sh RLSCHED WORKDIR [TRACES_DIR]
#
# Writes WORKDIR/train/*.trace (the parts a policy may learn from),
# WORKDIR/test/*.trace (held out, 2-4 days each so one eval takes seconds) and
# WORKDIR/tune/<test name>.trace (the training-side trace hpa-tuned is tuned on for
# that test trace: a slice of the same source's training part, or a training NAB file of
# the same kind). Fractions passed to --span are of the whole published file.
set -euo pipefail
R=${1:?usage: split.sh RLSCHED WORKDIR [TRACES_DIR]}
W=${2:?usage: split.sh RLSCHED WORKDIR [TRACES_DIR]}
T=${3:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/traces}
mkdir -p "$W/train" "$W/test" "$W/tune"
imp() { "$R" trace import "$@" >/dev/null; }

# name  file  extra-import-args  train-spans  test-spans  tune-span
# Long traces: train on the first half (cut into ~2-6 day chunks for episode variety),
# test on windows of the second half.
split_time() {
    local name=$1 file=$2 extra=$3 train=$4 test=$5 tune=$6 i=0 s
    for s in $train; do imp "$T/$file" $extra --span "$s" --out "$W/train/${name}_$i.trace"; i=$((i+1)); done
    i=0
    for s in $test; do
        imp "$T/$file" $extra --span "$s" --out "$W/test/${name}_$i.trace"
        imp "$T/$file" $extra --span "$tune" --out "$W/tune/${name}_$i.trace"
        i=$((i+1))
    done
}
split_time worldcup98 worldcup98_requests_per_minute_0430_0630.csv "" \
    "0:0.1 0.1:0.2 0.2:0.3 0.3:0.4 0.4:0.5" "0.55:0.6 0.8:0.85" "0.45:0.5"
split_time nasa nasa_requests_per_second_july1995.txt "--resample 60" \
    "0:0.1 0.1:0.2 0.2:0.3 0.3:0.4 0.4:0.5" "0.5:0.6 0.85:0.95" "0.4:0.5"
split_time isp isp_eu_traffic_5min.csv "" \
    "0:0.1 0.1:0.2 0.2:0.3 0.3:0.4 0.4:0.5" "0.55:0.6 0.9:0.95" "0.45:0.5"
split_time alibaba alibaba2018_cluster_usage_300s_days1_5.csv "" "0:0.5" "0.5:1" "0:0.5"
split_time azure azure_functions_2019_200_functions_per_minute.csv "--value-col sum" "0:0.5" "0.5:1" "0:0.5"

# NAB: split by file. Test files (first quarter, ~3.5 days) with the training file of the
# same kind that hpa-tuned is tuned on; every other file trains (whole file).
declare -A NAB_TUNE=(
    [ec2_cpu_utilization_5f5533]=ec2_cpu_utilization_24ae8d
    [ec2_cpu_utilization_c6585a]=ec2_cpu_utilization_53ea38
    [elb_request_count_8c0756]=ec2_network_in_257a54
    [rds_cpu_utilization_e47b3b]=rds_cpu_utilization_cc0c53
    [ec2_network_in_5abac7]=ec2_network_in_257a54
    [grok_asg_anomaly]=cpu_utilization_asg_misconfiguration
)
for f in "$T"/nab/*.csv; do
    b=$(basename "$f" .csv)
    if [[ -n "${NAB_TUNE[$b]:-}" ]]; then
        imp "$f" --span 0:0.25 --out "$W/test/nab_$b.trace"
        imp "$T/nab/${NAB_TUNE[$b]}.csv" --span 0:0.25 --out "$W/tune/nab_$b.trace"
    else
        imp "$f" --out "$W/train/nab_$b.trace"
    fi
done
echo "split: $(ls "$W/train" | wc -l) training, $(ls "$W/test" | wc -l) test traces in $W"
