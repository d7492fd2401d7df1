#!/usr/bin/env bash
# cli_agent_cluster.sh - the agent against the real local process cluster: a
# gateway with worker processes (rlsched cluster local), open-loop requests
# (rlsched load replaying a short trace) on one service, and rlsched-agent with the shipped default
# checkpoint. The agent must scale the loaded service up (more worker
# processes), leave the idle one alone, record what it saw, and everything
# must stop cleanly with no process left behind.
# usage: bash cli_agent_cluster.sh RLSCHED SOURCE_DIR TRACES_DIR
set -u
BIN=$1
SRC=$2
DIR=$(dirname "$BIN")
AGENT="$DIR/rlsched-agent"
PY=/usr/bin/python3
CKPT="$SRC/policies/default.h5"
if [ ! -x "$AGENT" ] || [ ! -f "$CKPT" ]; then
    echo "SKIPPED: no rlsched-agent or no policies/default.h5"
    exit 77
fi
. "$SRC/tests/lib_cluster.sh"
cluster_test_setup "$BIN" "$SRC" rls_cli_agent_cluster

write_two_services "$TMP/two.yaml"
P1=$(free_port)
P2=$(free_port)
"$BIN" cluster local --bind "tcp://127.0.0.1:$P1" "${SKEYS[@]}" --requests "tcp://127.0.0.1:$P2" --scenario "$TMP/two.yaml" \
    --step 0.5 --time-scale 0.02 --cpu-fraction 0.3 --grace 300 --max-workers 8 --quiet 2> "$TMP/gw.err" &
GW=$!
PIDS="$PIDS $GW"
sleep 1
# a short trace replayed as real requests on api: a ramp from 60 to 300 requests/s over
# 16 s (one worker serves about 100/s), in the canonical trace format
write_ramp_trace "$TMP/ramp.trace" 16 60 16
"$BIN" load --connect "tcp://127.0.0.1:$P2" --trace "$TMP/ramp.trace" --service api --duration 14 --drain 1 \
    > "$TMP/load.out" 2> "$TMP/load.err" &
LOAD=$!
PIDS="$PIDS $LOAD"
sleep 1
timeout 60 "$AGENT" --connect "tcp://127.0.0.1:$P1" "${CKEYS[@]}" --policy "$CKPT" --record "$TMP/live.h5" \
    --steps 20 --timeout 10 2> "$TMP/agent.err"
rc=$?
[ $rc -eq 0 ] && ok || bad "agent exit $rc: $(tail -3 "$TMP/agent.err")"
# the learned policy acted (not the HPA fallback) on most steps
grep -qi "fallback" "$TMP/agent.err" && grep -ci "fallback" "$TMP/agent.err" > "$TMP/nfb" || echo 0 > "$TMP/nfb"
[ "$(cat "$TMP/nfb")" -le 3 ] && ok || bad "the agent fell back to the HPA: $(grep -i fallback "$TMP/agent.err" | head -3)"
wait "$LOAD"
[ $? -eq 0 ] && ok || bad "load: $(cat "$TMP/load.out" "$TMP/load.err")"

# what the agent saw and did: api scaled up, batch left at its minimum
"$PY" - "$TMP/live.h5" <<'PY' && ok || bad "the agent did not scale the loaded service"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
names = f.attrs["feature_names"]
names = (names.decode() if isinstance(names, bytes) else names).split(",")
ides = names.index("desired")
obs = f["episode_0/observations"][...]           # [T+1, S, F]
api = obs[:, 0, ides] * 5.0                      # desired / max_replicas * max
batch = obs[:, 1, ides] * 3.0
assert api[0] <= 1.01, api[:3]
assert api.max() >= 2.99, f"api desired never reached 3: {api.round(2).tolist()}"
assert batch.max() <= 1.01 + 1.0, f"batch scaled without load: {batch.round(2).tolist()}"
PY
# a live cluster cannot start an episode on request: eval (which must replay the same
# episode for every policy) refuses it clearly; record takes the episode as it comes
"$BIN" eval --cluster "tcp://127.0.0.1:$P1" "${CKEYS[@]}" --policy hpa --steps 3 > /dev/null 2> "$TMP/ev.err"
[ $? -eq 1 ] && grep -q "cannot start an episode on request" "$TMP/ev.err" && [ "$(wc -l < "$TMP/ev.err")" -eq 1 ] \
    && ok || bad "eval --cluster on a live cluster: $(cat "$TMP/ev.err")"
timeout 30 "$BIN" record --cluster "tcp://127.0.0.1:$P1" "${CKEYS[@]}" --policy hpa --episodes 1 --steps 4 --quiet \
    --out "$TMP/rec.h5" 2> "$TMP/rec.err"
[ $? -eq 0 ] && [ -f "$TMP/rec.h5" ] && ok || bad "record --cluster on a live cluster: $(cat "$TMP/rec.err")"
kill -TERM "$GW"
for i in $(seq 1 60); do kill -0 "$GW" 2> /dev/null || break; sleep 0.05; done
wait "$GW"
[ $? -eq 0 ] && ok || bad "gateway stop: $(tail -3 "$TMP/gw.err")"
left=$(pgrep -f "cluster worker --connect" 2> /dev/null | while read -r p; do
    ppid=$(awk '{print $4}' "/proc/$p/stat" 2> /dev/null); [ "$ppid" = "$GW" ] && echo "$p"; done | wc -l)
[ "$left" -eq 0 ] && ok || bad "$left worker processes left"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
