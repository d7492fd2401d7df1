# cli_cluster.sh - `rlsched cluster local` and `rlsched load` as commands:
# usage errors and bad input fail with one line (exit 2 or 1); `rlsched load`
# refuses any address that is not loopback and says so when nobody listens;
# a real gateway started here serves a short replay of a real trace
# (nasa, requests per second) and of a constant rate, every request answered,
# and stops cleanly on SIGTERM with its worker processes gone. The cluster in
# depth (scaling, start-up delay, drops, scale-down, the protocol) is
# tests/test_cluster.c.
# usage: bash cli_cluster.sh RLSCHED SOURCE_DIR TRACES_DIR
set -u
BIN=$1
SRC=$2
TRACES=$3
PY=/usr/bin/python3
. "$SRC/tests/lib_cluster.sh"
cluster_test_setup "$BIN" "$SRC" rls_cli_cluster
# the live children of pid $1
children() {
    local n=0 f pp st
    for f in /proc/[0-9]*/stat; do
        read -r line < "$f" 2> /dev/null || continue
        rest=${line##*) }
        st=${rest%% *}
        rest=${rest#* }
        pp=${rest%% *}
        [ "$pp" = "$1" ] && [ "$st" != "Z" ] && n=$((n + 1))
    done
    echo $n
}

# 1. usage errors and refusals
"$BIN" cluster > /dev/null 2>&1
[ $? -eq 2 ] && ok || bad "cluster without a subcommand is not a usage error"
"$BIN" cluster local --bind tcp://127.0.0.1:1 2> "$TMP/e1"
[ $? -eq 2 ] && grep -q -- "--requests are required" "$TMP/e1" && ok || bad "missing --requests: $(cat "$TMP/e1")"
"$BIN" cluster local --bind tcp://127.0.0.1:1 --requests tcp://10.0.0.1:5 2> "$TMP/e2"
[ $? -eq 2 ] && grep -q "loopback only" "$TMP/e2" && ok || bad "non-loopback --requests: $(cat "$TMP/e2")"
"$BIN" cluster local --bind tcp://127.0.0.1:1 --requests tcp://127.0.0.1:2 --time-scale fast 2> "$TMP/e3"
[ $? -eq 2 ] && grep -q -- "--time-scale 'fast'" "$TMP/e3" && ok || bad "bad --time-scale: $(cat "$TMP/e3")"
"$BIN" cluster local --bind tcp://127.0.0.1:1 --requests tcp://127.0.0.1:2 --scenario "$TMP/none.yaml" "${SKEYS[@]}" \
    2> "$TMP/e4"
[ $? -eq 1 ] && grep -q "none.yaml" "$TMP/e4" && [ "$(wc -l < "$TMP/e4")" -eq 1 ] && ok || bad "missing scenario: $(cat "$TMP/e4")"
"$BIN" cluster worker 2> /dev/null
[ $? -eq 2 ] && ok || bad "a worker by hand without --connect is not refused"
"$BIN" cluster local --help | grep -q -- "--max-workers" && ok || bad "cluster local --help"
"$BIN" load --help | grep -q -- "--speed" && ok || bad "load --help"
for ep in tcp://10.1.2.3:5556 tcp://0.0.0.0:5556 "tcp://*:5556" tcp://example.com:80 tcp://192.168.1.1:1; do
    "$BIN" load --connect "$ep" --rate 1 --duration 1 2> "$TMP/e5"
    [ $? -eq 2 ] && grep -q "loopback only" "$TMP/e5" && ok || bad "load to $ep not refused: $(cat "$TMP/e5")"
done
"$BIN" load --connect tcp://127.0.0.1:5 2> "$TMP/e6"
[ $? -eq 2 ] && grep -q "exactly one of --trace" "$TMP/e6" && ok || bad "load without a rate: $(cat "$TMP/e6")"
"$BIN" load --connect tcp://127.0.0.1:$(free_port) --rate 1 --duration 1 2> "$TMP/e7"
[ $? -eq 1 ] && grep -q "no answer from" "$TMP/e7" && ok || bad "load to nobody: $(cat "$TMP/e7")"

# 2. a real gateway, a replay of a real trace, SIGTERM
cat > "$TMP/two.yaml" <<'YAML'
name: two
step_s: 15
horizon_steps: 100
pools:
  - {name: general, count: 2, cpu: 8, mem_gb: 32, price_per_hour: 0.40}
tenants:
  - {name: shop, weight: 2, guaranteed_replicas: 1}
services:
  - {name: api, tenant: shop, capacity_rps: 100, service_time_ms: 10, cpu: 1, mem_gb: 1, cold_start_s: 20,
     min_replicas: 1, max_replicas: 3, initial_replicas: 2, slo_ms: 50, slo_percentile: 0.95, queue_limit: 200,
     load: {kind: const, peak_rps: 50}}
  - {name: batch, tenant: shop, capacity_rps: 50, service_time_ms: 20, cpu: 1, mem_gb: 1, cold_start_s: 20,
     min_replicas: 1, max_replicas: 2, initial_replicas: 1, slo_ms: 100, slo_percentile: 0.95, queue_limit: 50,
     load: {kind: const, peak_rps: 10}}
YAML
P1=$(free_port)
P2=$(free_port)
"$BIN" cluster local --bind "tcp://127.0.0.1:$P1" "${SKEYS[@]}" --requests "tcp://127.0.0.1:$P2" --scenario "$TMP/two.yaml" \
    --step 0.5 --time-scale 0.01 --cpu-fraction 0.2 --grace 300 --quiet 2> "$TMP/gw.err" &
GW=$!
PIDS="$PIDS $GW"
sleep 1
n=$(children "$GW")
[ "$n" -eq 3 ] && ok || bad "3 workers expected (2 api + 1 batch), found $n: $(cat "$TMP/gw.err")"
NASA="$TRACES/nasa_requests_per_second_july1995.txt"
if [ -f "$NASA" ]; then
    "$BIN" load --connect "tcp://localhost:$P2" --trace "$NASA" --speed 5 --scale 4 --duration 2 --service api \
        > "$TMP/l1.out" 2> "$TMP/l1.err"
    rc=$?
    sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$TMP/l1.out")
    okn=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' "$TMP/l1.out")
    [ $rc -eq 0 ] && [ -n "$sent" ] && [ "$sent" -gt 0 ] && [ "$sent" = "$okn" ] && ok \
        || bad "trace replay: rc $rc: $(cat "$TMP/l1.out" "$TMP/l1.err")"
else
    echo "SKIPPED: $NASA missing"
    SKIPPED=1
fi
"$BIN" load --connect "tcp://127.0.0.1:$P2" --rate 40 --max-requests 30 --duration 10 --json > "$TMP/l2.out"
grep -q '"sent": 30, "replied": 30, "ok": 30' "$TMP/l2.out" && ok || bad "bounded by --max-requests: $(cat "$TMP/l2.out")"
t0=$(date +%s%N)
"$BIN" load --connect "tcp://127.0.0.1:$P2" --rate 20 --duration 1 > "$TMP/l3.out"
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -lt 4000 ] && grep -q "unanswered=0" "$TMP/l3.out" && ok \
    || bad "bounded by --duration: $(( (t1 - t0) / 1000000 )) ms, $(cat "$TMP/l3.out")"
WORKERS=$(for f in /proc/[0-9]*/stat; do read -r l < "$f" 2> /dev/null || continue; r=${l##*) }; r=${r#* }; \
    [ "${r%% *}" = "$GW" ] && { p=${f#/proc/}; echo "${p%/stat}"; }; done)
kill -TERM "$GW"
stopped=0
for i in $(seq 1 60); do
    if ! kill -0 "$GW" 2> /dev/null; then stopped=1; break; fi
    sleep 0.05
done
wait "$GW"
rc=$?
[ $stopped -eq 1 ] && [ $rc -eq 0 ] && ok || bad "SIGTERM: stopped $stopped, rc $rc: $(cat "$TMP/gw.err")"
left=0
for w in $WORKERS; do [ -e "/proc/$w" ] && left=$((left + 1)); done
[ $left -eq 0 ] && ok || bad "$left worker processes left after SIGTERM"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ] || exit 1
[ -z "${SKIPPED:-}" ] || exit 77   # a part needing missing data/dependency did not run
