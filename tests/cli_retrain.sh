#!/usr/bin/env bash
# cli_retrain.sh - the retraining loop end to end with real processes: a served
# simulator (rlsched sim serve), the agent (rlsched-agent) acting on it with a
# checkpoint and recording what it sees, then `rlsched train` on that file.
# Args: $1 rlsched binary, $2 source dir, $3 traces dir.
set -u
BIN=$1
SRC=$2
DIR=$(dirname "$BIN")
AGENT="$DIR/rlsched-agent"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
TMP=$(mktemp -d)
SPID=
cleanup() { [ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
. "$SRC/tests/lib_keys.sh"
make_keys "$BIN" "$TMP" || { echo "FAIL: rlsched keygen"; exit 1; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [ ! -x "$DIR/rlsched-train" ]; then
    echo "SKIPPED: built without libtorch (no rlsched-train)"
    exit 77
fi

# a checkpoint: the shipped default policy, or a small one trained here
CKPT="$SRC/policies/default.h5"
if [ ! -f "$CKPT" ]; then
    "$BIN" record --policy hpa,kpa --epsilon 0.2 --episodes 2 --steps 100 --quiet --out "$TMP/seed.h5" \
        2> "$TMP/rec0.err" || bad "seed record: $(cat "$TMP/rec0.err")"
    "$BIN" train --data "$TMP/seed.h5" --algo bc --steps 200 --batch 32 --quiet --out "$TMP/seed_ckpt.h5" \
        > /dev/null 2> "$TMP/tr0.err" || bad "seed train: $(cat "$TMP/tr0.err")"
    CKPT="$TMP/seed_ckpt.h5"
fi

PORT=$(free_port)
"$BIN" sim serve --bind "tcp://127.0.0.1:$PORT" "${SKEYS[@]}" --speed max --quiet 2> "$TMP/serve.err" &
SPID=$!
sleep 0.5
timeout 120 "$AGENT" --connect "tcp://127.0.0.1:$PORT" "${CKEYS[@]}" --policy "$CKPT" --record "$TMP/live.h5" \
    --steps 120 --timeout 20 --quiet 2> "$TMP/agent.err"
rc=$?
[ $rc -eq 0 ] && ok || bad "agent exit $rc: $(tail -3 "$TMP/agent.err")"
kill -TERM "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
SPID=

# the live file is a replay file like any other
"$BIN" replay info "$TMP/live.h5" --json > "$TMP/info.json" 2> "$TMP/info.err"
/usr/bin/python3 - "$TMP/info.json" <<'PY' && ok || bad "replay info of the agent's file: $(cat "$TMP/info.err")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["steps"] >= 100, d["steps"]
assert d["n_services"] == 6 and d["n_features"] == 25 and d["n_actions"] == 18, d
PY
# ... and it trains
"$BIN" train --data "$TMP/live.h5" --algo discrete-cql --steps 200 --batch 32 --quiet \
    --out "$TMP/retrained.h5" > "$TMP/train.out" 2> "$TMP/train.err"
[ $? -eq 0 ] && [ -f "$TMP/retrained.h5" ] && ok || bad "train on the agent's file: $(tail -2 "$TMP/train.err")"
# and the retrained policy runs in the simulator like any baseline
"$BIN" eval --policy hpa,"$TMP/retrained.h5" --steps 100 --json "$TMP/eval.json" > /dev/null 2> "$TMP/eval.err"
[ $? -eq 0 ] && ok || bad "eval of the retrained policy: $(cat "$TMP/eval.err")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
