# lib_cluster.sh - what the cluster CLI tests (cli_cluster.sh,
# cli_cluster_haproxy.sh, cli_agent_cluster.sh) share. Source it with PY set
# (/usr/bin/python3), then:
#   cluster_test_setup RLSCHED SOURCE_DIR NAME
#       makes TMP (a new /tmp/NAME.XXXXXX), a cleanup on exit that kills
#       every pid listed in PIDS and removes TMP, the CURVE keys of
#       lib_keys.sh (SKEYS, CKEYS) and the counters pass and fail; exits 1
#       when keygen fails
#   ok; bad MESSAGE     count a check (bad prints "FAIL: MESSAGE")
#   free_port           a free TCP port on 127.0.0.1
#   wait_for SECONDS COMMAND...   runs COMMAND every 0.1 s until it succeeds
#                       or SECONDS pass (then its status)
#   write_ramp_trace FILE N FIRST STEP
#       a canonical trace (requests per second) of N one-second steps:
#       FIRST, FIRST + STEP, ...
#   write_two_services FILE
#       the scenario the agent tests scale: api (1 to 5 replicas, 50 rps)
#       and batch (1 to 3, 10 rps), one of each at first, 20 s cold starts
cluster_test_cleanup() {
    local p
    for p in $PIDS; do kill -KILL "$p" 2> /dev/null; done
    rm -rf "$TMP"
}

cluster_test_setup() {
    TMP=$(mktemp -d "/tmp/$3.XXXXXX")
    PIDS=""
    trap cluster_test_cleanup EXIT
    . "$2/tests/lib_keys.sh"
    make_keys "$1" "$TMP" || { echo "FAIL: rlsched keygen"; exit 1; }
    pass=0
    fail=0
}

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {
    local end=$(( $(date +%s%N) + $1 * 1000000000 ))
    shift
    while [ "$(date +%s%N)" -lt $end ]; do "$@" && return 0; sleep 0.1; done
    "$@"
}

write_ramp_trace() {
    local i
    {
        printf '# rlsched-trace v1\n# step_s: 1\n# unit: rps\n# format: csv\n# n: %d\n' "$2"
        for i in $(seq 0 $(($2 - 1))); do echo $(($3 + i * $4)); done
    } > "$1"
}

write_two_services() {
    cat > "$1" <<'YAML'
name: two
step_s: 15
horizon_steps: 1000
pools:
  - {name: general, count: 2, cpu: 8, mem_gb: 32, price_per_hour: 0.40}
tenants:
  - {name: shop, weight: 1}
services:
  - {name: api, tenant: shop, capacity_rps: 100, service_time_ms: 10, cpu: 1, mem_gb: 1, cold_start_s: 20,
     min_replicas: 1, max_replicas: 5, initial_replicas: 1, slo_ms: 100, slo_percentile: 0.95, queue_limit: 400,
     load: {kind: const, peak_rps: 50}}
  - {name: batch, tenant: shop, capacity_rps: 50, service_time_ms: 20, cpu: 1, mem_gb: 1, cold_start_s: 20,
     min_replicas: 1, max_replicas: 3, initial_replicas: 1, slo_ms: 200, slo_percentile: 0.95, queue_limit: 50,
     load: {kind: const, peak_rps: 10}}
YAML
}
