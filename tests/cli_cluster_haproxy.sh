# cli_cluster_haproxy.sh - `rlsched cluster haproxy` over Debian's real
# HAProxy 2.6, end to end: bad input refused with one line; a cluster with
# two services whose initial replicas show up as servers in HAProxy's runtime
# API (`show servers state`) and answer requests through its HTTP frontend;
# `rlsched load --http` ramps open-loop load on one service while the real
# rlsched-agent (CURVE keys, the shipped checkpoint) scales it up, the new
# servers visible in HAProxy; a worker killed with SIGKILL is reported and
# replaced (its server deleted); a scale-down (a static policy through
# `rlsched record`) drains and deletes servers; SIGTERM stops HAProxy and
# every worker, each checked by its pid. Exits 77 (SKIPPED) without haproxy.
# usage: bash cli_cluster_haproxy.sh RLSCHED SOURCE_DIR TRACES_DIR
set -u
BIN=$1
SRC=$2
DIR=$(dirname "$BIN")
AGENT="$DIR/rlsched-agent"
PY=/usr/bin/python3
CKPT="$SRC/policies/default.h5"
if ! command -v haproxy > /dev/null 2>&1; then
    echo "SKIPPED: haproxy is not installed (apt-get install haproxy)"
    exit 77
fi
if [ ! -x "$AGENT" ] || [ ! -f "$CKPT" ] || [ ! -x "$PY" ]; then
    echo "SKIPPED: no rlsched-agent, policies/default.h5 or $PY"
    exit 77
fi
. "$SRC/tests/lib_cluster.sh"
cluster_test_setup "$BIN" "$SRC" rls_cli_haproxy
# a runtime API command, the answer on stdout
api() {
    "$PY" - "$TMP/st/admin.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
d = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    d += b
sys.stdout.write(d.decode())
PY
}
# the server names of backend $1 in `show servers state`, one a line
servers() { api "show servers state $1" | awk -v be="$1" '$2 == be { print $4 }'; }
nservers() { servers "$1" | wc -l; }
# the pids of the cluster's http-worker children of service $1
workers_of() {
    local f p
    for f in /proc/[0-9]*/cmdline; do
        p=${f#/proc/}; p=${p%/cmdline}
        [ "$(awk '{print $4}' "/proc/$p/stat" 2> /dev/null)" = "$GW" ] || continue
        tr '\0' ' ' < "$f" 2> /dev/null | grep -q "http-worker.*--service $1 " && echo "$p"
    done
}

write_two_services "$TMP/two.yaml"
sed 's/name: api,/name: rls_api,/' "$TMP/two.yaml" > "$TMP/badname.yaml"

# 1. bad input: one line, exit 2 (usage) or 1
"$BIN" cluster haproxy --insecure 2> "$TMP/e1"
[ $? -eq 2 ] && grep -q -- "--bind is required" "$TMP/e1" && ok || bad "missing --bind: $(cat "$TMP/e1")"
"$BIN" cluster haproxy --bind tcp://127.0.0.1:1 --lb fastest "${SKEYS[@]}" 2> "$TMP/e2"
[ $? -eq 2 ] && grep -q -- "--lb 'fastest'" "$TMP/e2" && ok || bad "bad --lb: $(cat "$TMP/e2")"
"$BIN" cluster haproxy --bind tcp://127.0.0.1:1 --dist pareto "${SKEYS[@]}" 2> "$TMP/e3"
[ $? -eq 2 ] && grep -q -- "--dist 'pareto'" "$TMP/e3" && ok || bad "bad --dist: $(cat "$TMP/e3")"
"$BIN" cluster haproxy --bind "tcp://127.0.0.1:$(free_port)" --scenario "$TMP/badname.yaml" "${SKEYS[@]}" 2> "$TMP/e4"
[ $? -eq 1 ] && grep -q "service name 'rls_api'" "$TMP/e4" && [ "$(wc -l < "$TMP/e4")" -eq 1 ] && ok \
    || bad "a service name HAProxy cannot take: $(cat "$TMP/e4")"
"$BIN" cluster haproxy --bind "tcp://127.0.0.1:$(free_port)" --scenario "$TMP/two.yaml" --haproxy "$TMP/nohaproxy" \
    "${SKEYS[@]}" 2> "$TMP/e5"
[ $? -eq 1 ] && grep -q "cannot run" "$TMP/e5" && [ "$(wc -l < "$TMP/e5")" -eq 1 ] && ok \
    || bad "a missing haproxy executable: $(cat "$TMP/e5")"
"$BIN" cluster haproxy --bind tcp://127.0.0.1:1 2> "$TMP/e6"
[ $? -eq 2 ] && grep -qi "curve" "$TMP/e6" && ok || bad "no keys and no --insecure is not refused: $(cat "$TMP/e6")"
for url in http://10.1.2.3:80 http://example.com/ tcp://127.0.0.1:5 http://0.0.0.0:8080; do
    "$BIN" load --http "$url" --rate 1 --duration 1 2> "$TMP/e7"
    [ $? -eq 2 ] && grep -q "loopback only" "$TMP/e7" && ok || bad "load --http $url not refused: $(cat "$TMP/e7")"
done
"$BIN" load --http "http://127.0.0.1:$(free_port)" --rate 1 --duration 1 2> "$TMP/e8"
[ $? -eq 1 ] && [ "$(wc -l < "$TMP/e8")" -eq 1 ] && ok || bad "load --http to nobody: $(cat "$TMP/e8")"

echo "at ${SECONDS}s: the cluster"
# 2. the cluster: HAProxy and one worker per service
P1=$(free_port)
"$BIN" cluster haproxy --bind "tcp://127.0.0.1:$P1" "${SKEYS[@]}" --scenario "$TMP/two.yaml" --state-dir "$TMP/st" \
    --step 0.5 --time-scale 0.03 --cpu-fraction 0.1 --grace 500 --lease 1500 --log-every 0 2> "$TMP/gw.err" &
GW=$!
PIDS="$PIDS $GW"
wait_for 10 grep -q "haproxy pid" "$TMP/gw.err"
HTTP=$(sed -n 's/.*HTTP http:\/\/127.0.0.1:\([0-9]*\)\/.*/\1/p' "$TMP/gw.err")
HAP=$(sed -n 's/.*haproxy pid \([0-9]*\).*/\1/p' "$TMP/gw.err")
[ -n "$HTTP" ] && [ -n "$HAP" ] && kill -0 "$HAP" 2> /dev/null && ok || bad "cluster start: $(cat "$TMP/gw.err")"
[ -n "$HAP" ] && PIDS="$PIDS $HAP"
up1() { [ "$(nservers api)" -eq 1 ] && [ "$(nservers batch)" -eq 1 ] && \
        [ "$(api 'show stat' | grep -c '^api,w.*,UP,')" -eq 1 ]; }
wait_for 5 up1 && ok || bad "initial servers: api $(nservers api), batch $(nservers batch): $(api 'show stat' | cut -d, -f1,2,18 | head)"
"$BIN" load --http "http://127.0.0.1:$HTTP" --rate 40 --max-requests 30 --duration 5 --json > "$TMP/l1.out"
grep -q '"sent": 30, "replied": 30, "ok": 30' "$TMP/l1.out" && ok || bad "requests through HAProxy: $(cat "$TMP/l1.out")"

echo "at ${SECONDS}s: load on api"
# 3. load on api, the real agent scales it up, the servers appear in HAProxy
write_ramp_trace "$TMP/ramp.trace" 8 40 20
"$BIN" load --http "http://127.0.0.1:$HTTP" --trace "$TMP/ramp.trace" --service api --duration 7 --drain 2 \
    > "$TMP/load.out" 2> "$TMP/load.err" &
LOAD=$!
PIDS="$PIDS $LOAD"
sleep 1
timeout 30 "$AGENT" --connect "tcp://127.0.0.1:$P1" "${CKEYS[@]}" --policy "$CKPT" --steps 12 --timeout 10 \
    2> "$TMP/agent.err" &
AG=$!
PIDS="$PIDS $AG"
wait "$AG"
rc=$?
[ $rc -eq 0 ] && ok || bad "agent exit $rc: $(tail -3 "$TMP/agent.err")"
n_api=$(nservers api)
[ "$n_api" -ge 2 ] && ok || bad "api servers in HAProxy after scaling up: $n_api (want >= 2): $(tail -3 "$TMP/agent.err")"
[ "$(nservers batch)" -le 2 ] && ok || bad "batch scaled without load: $(nservers batch)"
wait "$LOAD"
[ $? -eq 0 ] && ok || bad "load: $(cat "$TMP/load.out" "$TMP/load.err")"
okn=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' "$TMP/load.out")
sent=$(sed -n 's/^sent=\([0-9]*\).*/\1/p' "$TMP/load.out")
[ -n "$okn" ] && [ "$okn" -gt 0 ] && [ $((okn * 10)) -ge $((sent * 5)) ] && ok \
    || bad "most ramp requests should succeed: $(cat "$TMP/load.out")"
grep -q "throughput_rps=" "$TMP/load.out" && grep -q "p95_ms=" "$TMP/load.out" && ok || bad "load summary fields"

echo "at ${SECONDS}s: a worker killed"
# 4. a worker killed: reported, its server deleted, a new one in its place
before=$(nservers api)
victim=$(workers_of api | head -1)
if [ -n "$victim" ]; then
    kill -KILL "$victim"
    wait_for 5 grep -q "worker $victim (api/w[0-9]*) died" "$TMP/gw.err" && ok || bad "kill not reported: $(tail -3 "$TMP/gw.err")"
    vname=$(sed -n "s/.*worker $victim (api\/\(w[0-9]*\)) died.*/\1/p" "$TMP/gw.err" | head -1)
    replaced() { ! servers api | grep -qx "$vname" && [ "$(nservers api)" -eq "$before" ] && \
                 [ "$(api 'show stat' | grep -c '^api,w.*,UP,')" -eq "$before" ]; }
    wait_for 5 replaced && ok || bad "killed $vname not replaced: $(servers api | tr '\n' ' ') (had $before)"
    kill -0 "$victim" 2> /dev/null && bad "the killed worker $victim is still there" || ok
else
    bad "no api worker process found among the cluster's children"
fi

echo "at ${SECONDS}s: scale down"
# 5. scale down to one replica each: drained and deleted
timeout 20 "$BIN" record --cluster "tcp://127.0.0.1:$P1" "${CKEYS[@]}" --policy static:1 --episodes 1 --steps 4 \
    --quiet --out "$TMP/rec.h5" 2> "$TMP/rec.err"
[ $? -eq 0 ] && ok || bad "record --policy static:1: $(cat "$TMP/rec.err")"
down1() { [ "$(nservers api)" -eq 1 ] && [ "$(workers_of api | wc -l)" -eq 1 ]; }
wait_for 5 down1 && ok || bad "after scale-down: api servers $(nservers api), workers $(workers_of api | wc -l)"
"$BIN" load --http "http://127.0.0.1:$HTTP" --service api --rate 30 --max-requests 15 --duration 5 --json > "$TMP/l2.out"
grep -q '"sent": 15, "replied": 15, "ok": 15' "$TMP/l2.out" && ok || bad "requests after scale-down: $(cat "$TMP/l2.out")"

echo "at ${SECONDS}s: SIGTERM"
# 6. SIGTERM: HAProxy and every worker gone, each by its pid
ALL=$(workers_of api; workers_of batch)
kill -TERM "$GW"
for i in $(seq 1 100); do kill -0 "$GW" 2> /dev/null || break; sleep 0.05; done
wait "$GW"
rc=$?
[ $rc -eq 0 ] && ok || bad "cluster stop: rc $rc: $(tail -3 "$TMP/gw.err")"
left=0
for p in $HAP $ALL; do [ -e "/proc/$p" ] && left=$((left + 1)); done
[ $left -eq 0 ] && ok || bad "$left processes (haproxy $HAP, workers $ALL) left after SIGTERM"
grep -q "stopped after .* steps" "$TMP/gw.err" && grep -q "crashed" "$TMP/gw.err" && ok || bad "final line: $(tail -2 "$TMP/gw.err")"
deleted=$(sed -n 's/.* \([0-9]*\) deleted.*/\1/p' "$TMP/gw.err")
[ -n "$deleted" ] && [ "$deleted" -ge 2 ] && ok || bad "servers deleted: '$deleted': $(tail -1 "$TMP/gw.err")"
[ ! -e "$TMP/st/admin.sock" ] || [ -z "$(api 'show info' 2> /dev/null)" ] && ok || bad "HAProxy still answers"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
