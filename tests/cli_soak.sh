# cli_soak.sh - the short soak (tools/soak.sh, agent/AGENT.md "Soak"): 2
# simulated hours of the served simulator with rlsched-agent in ~30 s wall
# time, with the simulator killed (SIGKILL) and restarted, stopped (SIGTERM)
# and restarted, two SIGHUP reloads and one round of misbehaving peers
# (garbage bytes, an unlisted key, a second agent without takeover). Passes
# when soak.sh's checks pass (no unexpected exit, every committed episode reads
# back, RSS under the limit) and every scheduled event happened.
# usage: bash cli_soak.sh RLSCHED SOURCE_DIR TRACES_DIR
set -u
BIN=$1
SRC=$2
BUILD=$(dirname "$BIN")
AGENT="$BUILD/rlsched-agent"
TMP=$(mktemp -d /tmp/rls_cli_soak.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

if [ ! -x "$AGENT" ]; then
    echo "SKIPPED: $AGENT not built"
    exit 77
fi
# sanitizer builds: ASan's shadow memory and quarantine are not the agent's
LIMIT=100
if ldd "$AGENT" 2> /dev/null | grep -q libasan; then
    LIMIT=1000
fi
SOAK_WALL_S=30 SOAK_EVENT_S=6 SOAK_RSS_LIMIT_MB=$LIMIT bash "$SRC/tools/soak.sh" "$BUILD" 2 "$TMP/out" > "$TMP/soak.txt" 2>&1
rc=$?
cat "$TMP/soak.txt"
[ "$rc" -eq 77 ] && exit 77
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
[ "$rc" -eq 0 ] && ok || bad "soak.sh exited $rc"
grep -q "simulator restarted (SIGKILL)" "$TMP/soak.txt" && ok || bad "no simulator crash in the schedule"
grep -q "simulator restarted (SIGTERM)" "$TMP/soak.txt" && ok || bad "no simulator stop in the schedule"
grep -q "agent reloaded (SIGHUP)" "$TMP/soak.txt" && ok || bad "no reload in the schedule"
grep -q "misbehaving peers 1" "$TMP/soak.txt" && ok || bad "no misbehaving peer in the schedule"
grep -q "1 garbage writes" "$TMP/soak.txt" && ok || bad "the garbage writer did not reach the port"
# the agent recorded across the restarts, and the simulated time was reached
grep -Eq "recorded +[1-9][0-9]* episodes" "$TMP/soak.txt" && ok || bad "nothing recorded"
grep -Eq "simulated +(2|3)\.[0-9]+ h" "$TMP/soak.txt" && ok || bad "2 simulated hours not reached"
# a soak that finds a dead agent must fail: kill it under soak.sh's feet
SOAK_WALL_S=20 SOAK_EVENT_S=60 bash "$SRC/tools/soak.sh" "$BUILD" 1 "$TMP/out2" > "$TMP/soak2.txt" 2>&1 &
SOAKPID=$!
for i in $(seq 1 100); do
    grep -q "lease [0-9]* from the cluster" "$TMP/out2/agent.log" 2> /dev/null && break
    sleep 0.1
done
APID=$(pgrep -P "$SOAKPID" -f "rlsched-agent .*--record $TMP/out2/soak.h5" | head -1)
if [ -n "$APID" ]; then
    kill -KILL "$APID"
    wait "$SOAKPID"
    rc2=$?
    [ "$rc2" -eq 1 ] && grep -q "FAIL: the agent died" "$TMP/soak2.txt" && ok || bad "a killed agent was not caught (exit $rc2): $(cat "$TMP/soak2.txt")"
else
    kill "$SOAKPID" 2> /dev/null
    wait "$SOAKPID"
    bad "the second soak's agent was not found"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
