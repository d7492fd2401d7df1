#!/usr/bin/env bash
# Splits ../shared/traces BY SOURCE SERIES into train / validation / test traces for the
# learning experiment (tools/experiments/README.md): no window of a validation or test
# series is ever in training, and model selection reads validation only.
#
#   tools/experiments/split.sh RLSCHED WORKDIR [TRACES_DIR]
#
# Writes WORKDIR/train/*.trace (what a policy may learn from; random scenarios draw their
# real windows from these too), WORKDIR/val/*.trace (model selection), WORKDIR/test/*.trace
# (scored once, by `learn.sh ... test`) and WORKDIR/tune/<name>.trace for every val and test
# trace: the TRAINING-side trace of the same kind that hpa-tuned is grid-searched on.
#   train: World Cup 98 (web log), ISP link traffic, Alibaba cluster usage, 10 NAB series
#   val:   Twitter stream (second-level bursts), 3 NAB series
#   test:  NASA (web log), Azure Functions (serverless), 6 NAB series
set -euo pipefail
R=${1:?usage: split.sh RLSCHED WORKDIR [TRACES_DIR]}
W=${2:?usage: split.sh RLSCHED WORKDIR [TRACES_DIR]}
T=${3:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/traces}
mkdir -p "$W/train" "$W/val" "$W/test" "$W/tune"
imp() { "$R" trace import "$@" >/dev/null; }

# training series: long ones cut into 2-6 day chunks for episode variety
i=0; for s in 0:0.2 0.2:0.4 0.4:0.6 0.6:0.8 0.8:1; do
    imp "$T/worldcup98_requests_per_minute_0430_0630.csv" --span $s --out "$W/train/worldcup98_$i.trace"; i=$((i+1)); done
i=0; for s in 0:0.2 0.2:0.4 0.4:0.6 0.6:0.8 0.8:1; do
    imp "$T/isp_eu_traffic_5min.csv" --span $s --out "$W/train/isp_$i.trace"; i=$((i+1)); done
imp "$T/alibaba2018_cluster_usage_300s_days1_5.csv" --out "$W/train/alibaba_0.trace"
NAB_VAL="ec2_disk_write_bytes_c0d644 ec2_request_latency_system_failure ec2_cpu_utilization_825cc2"
NAB_TEST="ec2_cpu_utilization_5f5533 ec2_cpu_utilization_c6585a elb_request_count_8c0756 rds_cpu_utilization_e47b3b ec2_network_in_5abac7 grok_asg_anomaly"
# the training NAB series of the same kind, for hpa-tuned
declare -A NAB_TUNE=(
    [ec2_disk_write_bytes_c0d644]=ec2_disk_write_bytes_1ef3de
    [ec2_request_latency_system_failure]=ec2_cpu_utilization_77c1ca
    [ec2_cpu_utilization_825cc2]=ec2_cpu_utilization_ac20cd
    [ec2_cpu_utilization_5f5533]=ec2_cpu_utilization_24ae8d
    [ec2_cpu_utilization_c6585a]=ec2_cpu_utilization_53ea38
    [elb_request_count_8c0756]=ec2_network_in_257a54
    [rds_cpu_utilization_e47b3b]=rds_cpu_utilization_cc0c53
    [ec2_network_in_5abac7]=ec2_network_in_257a54
    [grok_asg_anomaly]=cpu_utilization_asg_misconfiguration
)
for f in "$T"/nab/*.csv; do
    b=$(basename "$f" .csv)
    if [[ " $NAB_VAL " == *" $b "* ]]; then
        imp "$f" --span 0:0.25 --out "$W/val/nab_$b.trace"
        imp "$T/nab/${NAB_TUNE[$b]}.csv" --span 0:0.25 --out "$W/tune/nab_$b.trace"
    elif [[ " $NAB_TEST " == *" $b "* ]]; then
        imp "$f" --span 0:0.25 --out "$W/test/nab_$b.trace"
        imp "$T/nab/${NAB_TUNE[$b]}.csv" --span 0:0.25 --out "$W/tune/nab_$b.trace"
    else
        imp "$f" --out "$W/train/nab_$b.trace"
    fi
done
# validation: Twitter, two 3-day windows at 15 s (its second-level bursts kept); hpa-tuned
# tuned on a World Cup 98 window (the training web log)
imp "$T/twitter_stream_2021_08_per_second.txt" --resample 15 --span 0.2:0.33 --out "$W/val/twitter_0.trace"
imp "$T/twitter_stream_2021_08_per_second.txt" --resample 15 --span 0.6:0.73 --out "$W/val/twitter_1.trace"
# test: NASA (two windows), Azure Functions (two halves)
imp "$T/nasa_requests_per_second_july1995.txt" --resample 60 --span 0.5:0.6 --out "$W/test/nasa_0.trace"
imp "$T/nasa_requests_per_second_july1995.txt" --resample 60 --span 0.85:0.95 --out "$W/test/nasa_1.trace"
imp "$T/azure_functions_2019_200_functions_per_minute.csv" --value-col sum --span 0:0.5 --out "$W/test/azure_0.trace"
imp "$T/azure_functions_2019_200_functions_per_minute.csv" --value-col sum --span 0.5:1 --out "$W/test/azure_1.trace"
for n in twitter_0 twitter_1 nasa_0 nasa_1; do cp "$W/train/worldcup98_2.trace" "$W/tune/$n.trace"; done
for n in azure_0 azure_1; do cp "$W/train/alibaba_0.trace" "$W/tune/$n.trace"; done
echo "split: $(ls "$W/train" | wc -l) train, $(ls "$W/val" | wc -l) validation, $(ls "$W/test" | wc -l) test traces in $W"
