# cli_control_lease.sh - the control channel between real processes:
# `rlsched sim serve` with keys and rlsched-agent processes. An agent with an
# unlisted key never gets the cluster; while the first agent holds the lease a
# second listed agent is refused (with and without --takeover, its key is not
# listed "takeover"), so there is no takeover without the rule; a key listed
# "takeover" that asks takes it; once that holder falls silent for --lease ms
# the first agent gets the cluster back. Every lease change is logged.
# usage: bash cli_control_lease.sh RLSCHED SOURCE_DIR TRACES_DIR
set -u
BIN=$1
SRC=$2
AGENT="$(dirname "$BIN")/rlsched-agent"
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/rls_cli_lease.XXXXXX)
PIDS=""
cleanup() {
    for p in $PIDS; do kill -KILL "$p" 2> /dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
. "$SRC/tests/lib_keys.sh"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

if [ ! -x "$AGENT" ]; then
    echo "SKIPPED: $AGENT not built"
    exit 77
fi
make_keys "$BIN" "$TMP" || { echo "FAIL: rlsched keygen"; exit 1; }

# waits up to $3 s until file $1 has a line matching $2
wait_for() {
    local i
    for i in $(seq 1 $(( $3 * 20 ))); do
        grep -q -- "$2" "$1" 2> /dev/null && return 0
        sleep 0.05
    done
    return 1
}

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
EP="tcp://127.0.0.1:$PORT"
"$BIN" sim serve --bind "$EP" "${SKEYS[@]}" --speed 20 --lease 1500 --quiet 2> "$TMP/serve.err" &
SPID=$!
PIDS="$PIDS $SPID"

# 1. the first listed agent gets lease 1
"$AGENT" --connect "$EP" "${CKEYS[@]}" --stale-after 1 2> "$TMP/a1.log" &
A1=$!
PIDS="$PIDS $A1"
wait_for "$TMP/serve.err" "lease 1 granted" 10 && ok || bad "no lease for the first agent: $(cat "$TMP/serve.err")"
wait_for "$TMP/a1.log" "lease 1 from the cluster" 5 && ok || bad "the agent was not told its lease: $(cat "$TMP/a1.log")"

# 2. an unlisted key: nothing at all (its connection is refused in the handshake)
timeout 10 "$AGENT" --connect "$EP" --curve-server "$TMP/server.pub" --curve-secret "$TMP/stranger.key" \
    --steps 1 --timeout 2 2> "$TMP/x.log"
[ $? -eq 1 ] && grep -q "no cluster at $EP answered" "$TMP/x.log" && ok || bad "unlisted key: $(cat "$TMP/x.log")"

# 3. a second listed agent while the lease is live: refused, with and without
#    --takeover (its key is not listed "takeover"): 0 takeovers
timeout 3 "$AGENT" --connect "$EP" --curve-server "$TMP/server.pub" --curve-secret "$TMP/agent3.key" 2> "$TMP/a3.log"
[ $? -eq 124 ] && grep -q "lease 1 is held by agent" "$TMP/a3.log" && ok || bad "second agent: $(cat "$TMP/a3.log")"
timeout 3 "$AGENT" --connect "$EP" --curve-server "$TMP/server.pub" --curve-secret "$TMP/agent3.key" --takeover \
    2> "$TMP/a3t.log"
grep -q "takeover refused" "$TMP/a3t.log" && ok || bad "takeover by an unmarked key: $(cat "$TMP/a3t.log")"
grep -q "lease 2" "$TMP/serve.err" && bad "a lease changed without the rule: $(cat "$TMP/serve.err")" || ok
grep -q "refused from 127.0.0.1: lease 1 is held" "$TMP/serve.err" && ok || bad "refusals not logged"
[ "$(grep -c "stop: asked to stop after 0 decisions" "$TMP/a3.log" "$TMP/a3t.log" | grep -c ':1$')" -eq 2 ] && ok \
    || bad "a refused agent decided something: $(cat "$TMP/a3.log")"

# 4. a key listed "takeover" that asks: lease 2, logged
timeout 20 "$AGENT" --connect "$EP" --curve-server "$TMP/server.pub" --curve-secret "$TMP/agent2.key" --takeover \
    --steps 3 --timeout 10 2> "$TMP/a2.log"
[ $? -eq 0 ] && ok || bad "takeover agent: $(cat "$TMP/a2.log")"
grep -q "lease 2 granted to agent 127.0.0.1 (key .*; takeover by a key listed 'takeover')" "$TMP/serve.err" && ok \
    || bad "no takeover line: $(cat "$TMP/serve.err")"

# 5. the takeover agent has gone; after --lease ms of its silence the first
#    agent (re-sending hello since its state went stale) gets lease 3
wait_for "$TMP/serve.err" "lease 3 granted" 15 && ok || bad "no lease back after the lapse: $(cat "$TMP/serve.err")"
grep -q "lease 2 of agent .*, silent for .* ms) ends: the holder's lease lapsed" "$TMP/serve.err" && ok \
    || bad "the lapse is not logged: $(cat "$TMP/serve.err")"
kill -TERM $A1 2> /dev/null
wait $A1 2> /dev/null
kill -TERM $SPID 2> /dev/null
wait $SPID 2> /dev/null

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
