#!/usr/bin/env bash
# cli_prometheus.sh - a real Prometheus (Debian's `prometheus`, own temp dir,
# random port, 1 s scrapes) scraping a real rlsched-agent that controls a
# served simulator; `promtool check metrics` on the agent's /metrics;
# `rlsched trace import --prometheus` records the agent's decision rate into
# a trace that `trace info` and `eval` read; bad queries, several series, no
# data, an unreachable server, usage errors: one line each. Every process it
# starts is stopped by PID. SKIPPED (77) without prometheus; the promtool part
# is SKIPPED without promtool.
# usage: bash cli_prometheus.sh RLSCHED SOURCE_DIR
set -u
BIN=$1
SRC=$2
AGENT="$(dirname "$BIN")/rlsched-agent"
PY=/usr/bin/python3
PROM=$(command -v prometheus || true)
PROMTOOL=$(command -v promtool || true)
if [ -z "$PROM" ]; then
    echo "SKIPPED: prometheus is not installed (Debian package prometheus)"
    exit 77
fi
TMP=$(mktemp -d /tmp/rls_cli_prom.XXXXXX)
PIDS=""
cleanup() {
    local p
    for p in $PIDS; do kill -TERM "$p" 2> /dev/null; done
    sleep 0.3
    for p in $PIDS; do kill -KILL "$p" 2> /dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
pass=0
fail=0
SKIPPED=""
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
. "$SRC/tests/lib_keys.sh"
make_keys "$BIN" "$TMP" || { echo "FAIL: rlsched keygen"; exit 1; }

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# GET http://127.0.0.1:$1$2 into stdout; fails when it does not answer 200 within 5 s
http_get() {
    "$PY" - "$1" "$2" << 'EOF'
import sys, time, urllib.request
end = time.time() + 5
while True:
    try:
        with urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]), timeout=1) as r:
            sys.stdout.write(r.read().decode())
            sys.exit(0)
    except Exception:
        if time.time() > end:
            sys.exit(1)
        time.sleep(0.1)
EOF
}
# runs "$@", wants exit status $1 and one stderr line holding $2
one_line() {
    local want=$1 what=$2; shift 2
    "$@" > "$TMP/out" 2> "$TMP/err"
    local rc=$?
    if [ $rc -eq "$want" ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -qF -- "$what" "$TMP/err"; then ok
    else bad "$*: rc $rc (want $want), stderr: $(cat "$TMP/err")"; fi
}
# the JSON field $2 of `trace info --json $1`
info_field() {
    "$BIN" trace info "$1" --json | "$PY" -c "import json, sys; print(json.load(sys.stdin)['$2'])"
}

# 1. usage errors (2) and failures before any query (1)
NOPORT=$(free_port)
IMP=("$BIN" trace import --prometheus "http://127.0.0.1:$NOPORT")
one_line 2 "missing --query" "${IMP[@]}" --start now-1m --end now --step 1 --out "$TMP/x"
one_line 2 "--start is not a time" "${IMP[@]}" --query up --start yesterday --end now --step 1 --out "$TMP/x"
one_line 2 "--step needs a duration" "${IMP[@]}" --query up --start now-1m --end now --step 1x --out "$TMP/x"
one_line 2 "--end is before --start" "${IMP[@]}" --query up --start now --end now-1m --step 1 --out "$TMP/x"
one_line 2 "--unit must be rps or shape" "${IMP[@]}" --query up --start now-1m --end now --step 1 --unit kb --out "$TMP/x"
one_line 2 "unknown option" "${IMP[@]}" --query up --start now-1m --end now --step 1 --frob 1 --out "$TMP/x"
one_line 1 "must start with http://" "$BIN" trace import --prometheus "127.0.0.1:$NOPORT" --query up \
    --start now-1m --end now --step 1 --out "$TMP/x"
one_line 1 "nodir" "${IMP[@]}" --query up --start now-1m --end now --step 1 --out "$TMP/nodir/x"
one_line 1 "http://127.0.0.1:$NOPORT: /api/v1/query_range: " "${IMP[@]}" --query up --start now-1m \
    --end now --step 1 --out "$TMP/x"
[ ! -e "$TMP/x" ] && ok || bad "a failed import left $TMP/x"
out=$("$BIN" trace import --prometheus --help) && echo "$out" | grep -q -- "--query Q" && ok \
    || bad "--prometheus --help"

# 2. the cluster (served simulator, a step every 0.1 s) and the agent with its metrics
CPORT=$(free_port)
MPORT=$(free_port)
"$BIN" sim serve --bind "tcp://127.0.0.1:$CPORT" "${SKEYS[@]}" --speed 150 --quiet 2> "$TMP/sim.log" &
PIDS="$PIDS $!"
"$AGENT" "${CKEYS[@]}" --connect "tcp://127.0.0.1:$CPORT" --policy "$SRC/policies/default.h5" \
    --metrics "127.0.0.1:$MPORT" --quiet 2> "$TMP/agent.log" &
APID=$!
PIDS="$PIDS $APID"
# the per-tenant series exist once the agent has the cluster's hello and a state: poll for
# them (a sanitized build on a loaded host needs more than a second), up to 30 s
got=0
for _ in $(seq 1 150); do
    if http_get "$MPORT" /metrics > "$TMP/metrics.txt" 2>/dev/null && \
        grep -q '^rlsched_agent_tenant_share_ratio{tenant=' "$TMP/metrics.txt"; then got=1; break; fi
    sleep 0.2
done
if [ $got = 1 ] || http_get "$MPORT" /metrics > "$TMP/metrics.txt"; then ok; else bad "agent /metrics: $(cat "$TMP/agent.log")"; fi
for name in 'process_cpu_seconds_total ' 'process_resident_memory_bytes ' 'process_virtual_memory_bytes ' \
    'process_open_fds ' 'process_max_fds ' 'process_start_time_seconds ' 'rlsched_build_info{version="' \
    'rlsched_agent_fairness_jain_ratio ' 'rlsched_agent_tenant_share_ratio{tenant='; do
    grep -q "^$name" "$TMP/metrics.txt" && ok || bad "/metrics lacks $name"
done
if [ -n "$PROMTOOL" ]; then
    if "$PROMTOOL" check metrics < "$TMP/metrics.txt" > "$TMP/promtool.out" 2>&1; then ok
    else bad "promtool check metrics: $(cat "$TMP/promtool.out")"; fi
else
    echo "SKIPPED: promtool check metrics (promtool not installed)"
    SKIPPED=1
fi

# 3. Prometheus scraping the agent every second
PPORT=$(free_port)
cat > "$TMP/prometheus.yml" << EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: agent
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
"$PROM" --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
    --web.listen-address="127.0.0.1:$PPORT" --log.level=warn > "$TMP/prom.log" 2>&1 &
PIDS="$PIDS $!"
URL="http://127.0.0.1:$PPORT"
http_get "$PPORT" /-/ready > /dev/null && ok || bad "prometheus not ready: $(cat "$TMP/prom.log")"

# 4. the decision rate as a trace, once 6 seconds of it are there (30 s at most)
Q='sum(rate(rlsched_agent_decisions_total[3s]))'
n=0
for i in $(seq 1 60); do
    if "$BIN" trace import --prometheus "$URL" --query "$Q" --start now-60s --end now --step 1s \
        --out "$TMP/rate.trace" > "$TMP/imp.out" 2> "$TMP/imp.err"; then
        n=$(info_field "$TMP/rate.trace" n)
        [ "$n" -ge 6 ] && break
    fi
    sleep 0.5
done
if [ "$n" -ge 6 ]; then ok; else bad "no 6 s of decisions in prometheus: n=$n $(cat "$TMP/imp.err")"; fi
grep -qF "imported $URL '$Q': n=$n step=1 s " "$TMP/imp.out" && ok || bad "import line: $(cat "$TMP/imp.out")"
[ "$(info_field "$TMP/rate.trace" format)" = prometheus ] && ok || bad "format is not prometheus"
[ "$(info_field "$TMP/rate.trace" unit)" = rps ] && ok || bad "unit is not rps"
grep -qF "# source: $URL $Q" "$TMP/rate.trace" && ok || bad "source line: $(grep source "$TMP/rate.trace")"
# a step every 0.1 s: about 10 decisions/s
mean=$(info_field "$TMP/rate.trace" mean)
if "$PY" -c "import sys; sys.exit(0 if 5 <= float('$mean') <= 15 else 1)"; then ok
else bad "mean decision rate $mean, want about 10/s"; fi
# eval reads it as a load trace
if "$BIN" eval --policy hpa --trace "$TMP/rate.trace" --steps 20 --json "$TMP/eval.json" > /dev/null \
    2> "$TMP/eval.err"; then ok; else bad "eval --trace: $(cat "$TMP/eval.err")"; fi
# RFC 3339 and Unix times name the same span
now=$(date +%s)
t0=$(date -u -d "@$((now - 20))" +%Y-%m-%dT%H:%M:%SZ)
"$BIN" trace import --prometheus "$URL" --query "$Q" --start "$t0" --end "$now" --step 2s \
    --out "$TMP/rfc.trace" > /dev/null 2> "$TMP/err" && ok || bad "RFC 3339 --start: $(cat "$TMP/err")"
start=$(info_field "$TMP/rfc.trace" start_epoch_s)
if "$PY" -c "import sys; s = float('$start'); sys.exit(0 if $now - 20 <= s <= $now and (s - ($now - 20)) % 2 == 0 else 1)"
then ok; else bad "RFC 3339 span starts at $start (asked $((now - 20)))"; fi

# the Grafana dashboard: every panel's query runs on this Prometheus and finds data
if "$PY" - "$URL" "$SRC/agent/grafana-dashboard.json" > "$TMP/dash.out" 2>&1 << 'EOF'
import json, sys, urllib.parse, urllib.request
url, path = sys.argv[1], sys.argv[2]
d = json.load(open(path))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
exprs += [v["query"]["query"].replace("label_values(", "").rsplit(",", 1)[0] for v in d["templating"]["list"]]
assert len(exprs) >= 20, len(exprs)
bad = []
for e in exprs:
    q = e.replace("$job", ".*").replace("$instance", ".*").replace("$__rate_interval", "5s")
    body = urllib.parse.urlencode({"query": q}).encode()
    with urllib.request.urlopen(url + "/api/v1/query", body, timeout=5) as r:
        ans = json.load(r)
    if ans["status"] != "success" or not ans["data"]["result"]:
        bad.append(q)
print("%d queries, %d without data: %s" % (len(exprs), len(bad), bad))
sys.exit(1 if bad else 0)
EOF
then ok; else bad "dashboard queries: $(cat "$TMP/dash.out")"; fi

# 5. several series: refused without --sum, added up with it; a bad query; no data; too many steps
one_line 1 "--sum" "$BIN" trace import --prometheus "$URL" --query rlsched_agent_scale_actions_total \
    --start now-5s --end now --step 1 --out "$TMP/multi.trace"
"$BIN" trace import --prometheus "$URL" --query rlsched_agent_scale_actions_total --sum --unit shape \
    --start now-5s --end now --step 1 --out "$TMP/multi.trace" > /dev/null 2> "$TMP/err" && ok \
    || bad "--sum: $(cat "$TMP/err")"
[ -f "$TMP/multi.trace" ] && [ "$(info_field "$TMP/multi.trace" unit)" = shape ] && ok || bad "--sum trace"
one_line 1 "HTTP 400: bad_data" "$BIN" trace import --prometheus "$URL" --query 'sum(rate(' \
    --start now-5s --end now --step 1 --out "$TMP/y"
one_line 1 "has no data" "$BIN" trace import --prometheus "$URL" --query rlsched_no_such_metric \
    --start now-5s --end now --step 1 --out "$TMP/y"
one_line 1 "more than the limit 5" "$BIN" trace import --prometheus "$URL" --query "$Q" \
    --start now-1h --end now --step 1 --max-points 5 --out "$TMP/y"
[ ! -e "$TMP/y" ] && ok || bad "a failed import left $TMP/y"

# 6. the agent stops cleanly (its metrics server with it)
kill -TERM "$APID"
wait "$APID"
rc=$?
[ $rc -eq 0 ] && ok || bad "agent SIGTERM: rc $rc: $(tail -3 "$TMP/agent.log")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] || exit 1
[ -z "$SKIPPED" ] || exit 77
