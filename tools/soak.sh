#!/usr/bin/env bash
# soak.sh - the soak run (agent/AGENT.md "Soak"): HOURS of simulated time of
# the default scenario served by `rlsched sim serve` (CURVE keys, loopback),
# driven by rlsched-agent with policies/default.h5 and --record, while on a
# schedule the served simulator is killed by PID and started again on the same
# port (alternately SIGKILL, a crash, and SIGTERM, a clean stop), the agent is
# sent SIGHUP (reload), and misbehaving peers come: garbage bytes to the port,
# an agent with an unlisted key, a second listed agent without takeover. The
# agent's VmRSS is sampled. At the end everything is stopped by PID and checked:
# every process exited as expected, the agent never died, every episode the
# agent logged as committed reads back (`rlsched replay info`), the peers never
# got the cluster; the RSS slope (least squares, samples after the first 10%)
# in MB per simulated hour and per wall minute and the max RSS are printed.
#
# usage: tools/soak.sh BUILD_DIR [HOURS_SIMULATED (24)] [OUTDIR (a temp dir, kept)]
# environment:
#   SOAK_WALL_S    aimed wall time in seconds (600); the pace is
#                  HOURS*3600/SOAK_WALL_S simulated seconds per wall second
#   SOAK_SPEED     the served simulator's --speed instead (a number, or 'max' =
#                  lock-step: a step as soon as the agent answers)
#   SOAK_EVENT_S   wall seconds between scheduled events (SOAK_WALL_S/15, >= 6);
#                  events rotate: restart the simulator, SIGHUP, peers
#   SOAK_SAMPLE_S  RSS sampling period in seconds (1)
#   SOAK_RSS_LIMIT_MB  fail when the agent's RSS exceeds this (100)
# exit: 0 all checks passed, 1 a check failed, 2 usage, 77 a dependency missing.
set -u
if [ $# -lt 1 ] || [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
    echo "usage: tools/soak.sh BUILD_DIR [HOURS_SIMULATED] [OUTDIR]" >&2
    exit 2
fi
BUILD=$1
HOURS=${2:-24}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN="$BUILD/rlsched"
AGENT="$BUILD/rlsched-agent"
POLICY="$SRC/policies/default.h5"
for f in "$BIN" "$AGENT"; do
    [ -x "$f" ] || { echo "SKIPPED: $f not built"; exit 77; }
done
[ -f "$POLICY" ] || { echo "SKIPPED: $POLICY missing"; exit 77; }
[ -r /proc/self/status ] || { echo "SKIPPED: no /proc"; exit 77; }
if ! awk -v h="$HOURS" 'BEGIN { exit !(h + 0 > 0) }'; then
    echo "soak.sh: HOURS '$HOURS': expected a positive number" >&2
    exit 2
fi
if [ $# -ge 3 ]; then
    OUT=$3
    mkdir -p "$OUT" || exit 1
else
    OUT=$(mktemp -d /tmp/rls_soak.XXXXXX)
fi
WALL=${SOAK_WALL_S:-600}
SPEED=${SOAK_SPEED:-$(awk -v h="$HOURS" -v w="$WALL" 'BEGIN { printf "%.6g", h * 3600 / w }')}
EVENT=${SOAK_EVENT_S:-$(awk -v w="$WALL" 'BEGIN { e = int(w / 15); print (e < 6 ? 6 : e) }')}
SAMPLE=${SOAK_SAMPLE_S:-1}
RSS_LIMIT=${SOAK_RSS_LIMIT_MB:-100}
STEP_S=15    # the default scenario's step

PIDS=""
cleanup() {
    local p
    for p in $PIDS; do kill -KILL "$p" 2> /dev/null; done
}
trap cleanup EXIT
fail=0
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

. "$SRC/tests/lib_keys.sh"
make_keys "$BIN" "$OUT" || { echo "FAIL: rlsched keygen"; exit 1; }

# a free loopback port
PORT=""
if [ -x /usr/bin/python3 ]; then
    PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
[ -n "$PORT" ] || PORT=$((20000 + RANDOM % 20000))
EP="tcp://127.0.0.1:$PORT"

# --- the served simulator: instance N logs to serve.N.log ---
NSRV=0
SPID=""
start_server() {
    NSRV=$((NSRV + 1))
    "$BIN" sim serve --bind "$EP" "${SKEYS[@]}" --speed "$SPEED" --log-every 20 2> "$OUT/serve.$NSRV.log" &
    SPID=$!
    PIDS="$PIDS $SPID"
}
# the simulated steps of all instances so far: "stopped after N steps" of the
# ones that stopped cleanly, else their last progress line
sim_steps() {
    awk 'FNR == 1 && NR > 1 { t += n } FNR == 1 { n = 0; done = 0 }
         /stopped after [0-9]+ steps/ { for (i = 1; i <= NF; i++) if ($i == "after") n = $(i + 1) + 0; done = 1 }
         !done && / step [0-9]+ \(episode step/ { for (i = 1; i <= NF; i++) if ($i == "step") { n = $(i + 1) + 0; break } }
         END { print t + n }' "$OUT"/serve.*.log 2> /dev/null || echo 0
}
# exit codes of stopped simulator instances: "N signal code"
: > "$OUT/serve.exits"
stop_server() {   # $1: KILL or TERM
    kill -"$1" "$SPID" 2> /dev/null
    wait "$SPID" 2> /dev/null
    echo "$NSRV $1 $?" >> "$OUT/serve.exits"
}

# --- misbehaving peers (each run in the background, bounded) ---
NPEER=0
peers() {
    NPEER=$((NPEER + 1))
    local n=$NPEER
    {
        # garbage bytes to the port (not ZMTP, not CURVE)
        if exec 3<> "/dev/tcp/127.0.0.1/$PORT"; then
            head -c 8192 /dev/urandom >&3 2> /dev/null
            sleep 0.2
            exec 3>&-
            echo "garbage sent" > "$OUT/peer.$n.garbage"
        else
            echo "garbage: port closed" > "$OUT/peer.$n.garbage"
        fi
        # an unlisted key: refused in the handshake, exit 1 after --timeout
        timeout 10 "$AGENT" --connect "$EP" --curve-server "$OUT/server.pub" --curve-secret "$OUT/stranger.key" \
            --steps 1 --timeout 2 2> "$OUT/peer.$n.stranger.log"
        echo "stranger $?" > "$OUT/peer.$n.stranger.rc"
        # a second listed agent without takeover while the lease is held
        timeout 3 "$AGENT" --connect "$EP" --curve-server "$OUT/server.pub" --curve-secret "$OUT/agent3.key" \
            2> "$OUT/peer.$n.second.log"
        echo "second $?" > "$OUT/peer.$n.second.rc"
    } &
    PIDS="$PIDS $!"
    PEER_PID=$!
}

# --- the run ---
echo "soak: $HOURS simulated hours, speed $SPEED, an event every $EVENT s, RSS every $SAMPLE s; output in $OUT"
start_server
sleep 0.3
"$AGENT" --connect "$EP" "${CKEYS[@]}" --policy "$POLICY" --record "$OUT/soak.h5" --episode-steps 240 \
    --stale-after 1 2> "$OUT/agent.log" &
APID=$!
PIDS="$PIDS $APID"

TARGET=$(awk -v h="$HOURS" -v s="$STEP_S" 'BEGIN { printf "%d", h * 3600 / s + 0.5 }')
DEADLINE=$(awk -v w="$WALL" -v h="$HOURS" -v s="$SPEED" \
    'BEGIN { d = (s == "max" || s + 0 <= 0) ? w : h * 3600 / s; printf "%d", 2 * d + 120 }')
T0=$(date +%s.%N)
now() { awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN { printf "%.3f", a - b }'; }
echo "# wall_s sim_steps rss_kb" > "$OUT/rss.tsv"
next_event=$EVENT
k=0
PEER_PID=""
restarts=0
hups=0
while :; do
    t=$(now)
    steps=$(sim_steps)
    if ! kill -0 "$APID" 2> /dev/null; then
        bad "the agent died at wall ${t}s, simulated step $steps"
        break
    fi
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$APID/status" 2> /dev/null)
    [ -n "$rss" ] && echo "$t $steps $rss" >> "$OUT/rss.tsv"
    [ "$steps" -ge "$TARGET" ] && break
    if awk -v t="$t" -v d="$DEADLINE" 'BEGIN { exit !(t > d) }'; then
        bad "only $steps of $TARGET simulated steps after ${t} s"
        break
    fi
    if awk -v t="$t" -v e="$next_event" 'BEGIN { exit !(t >= e) }'; then
        case $((k % 3)) in
        0)  # restart the served simulator on the same port: a crash, then a clean stop, ...
            if [ $(((k / 3) % 2)) -eq 0 ]; then sig=KILL; else sig=TERM; fi
            [ -n "$PEER_PID" ] && wait "$PEER_PID" 2> /dev/null   # no peer may meet a fresh simulator
            stop_server $sig
            start_server
            restarts=$((restarts + 1))
            echo "soak: ${t}s step $steps: simulator restarted (SIG$sig)" ;;
        1)  kill -HUP "$APID"
            hups=$((hups + 1))
            echo "soak: ${t}s step $steps: agent reloaded (SIGHUP)" ;;
        2)  if [ -n "$PEER_PID" ] && kill -0 "$PEER_PID" 2> /dev/null; then
                echo "soak: ${t}s: previous peers still running, skipped"
            else
                peers
                echo "soak: ${t}s step $steps: misbehaving peers $NPEER (garbage, unlisted key, second agent)"
            fi ;;
        esac
        k=$((k + 1))
        next_event=$(awk -v e="$next_event" -v d="$EVENT" 'BEGIN { print e + d }')
    fi
    sleep "$SAMPLE"
done
WALL_USED=$(now)

# --- stop everything by PID and check ---
[ -n "$PEER_PID" ] && wait "$PEER_PID" 2> /dev/null
arc=dead
if kill -0 "$APID" 2> /dev/null; then
    kill -TERM "$APID"
    wait "$APID"
    arc=$?
fi
[ "$arc" = 0 ] || bad "the agent exited $arc (expected 0 on SIGTERM): $(tail -3 "$OUT/agent.log")"
stop_server TERM
STEPS=$(sim_steps)
while read -r n sig rc; do
    case $sig in
    TERM) [ "$rc" -eq 0 ] || bad "simulator $n exited $rc after SIGTERM: $(tail -2 "$OUT/serve.$n.log")" ;;
    KILL) [ "$rc" -eq 137 ] || bad "simulator $n exited $rc before its SIGKILL: $(tail -2 "$OUT/serve.$n.log")" ;;
    esac
done < "$OUT/serve.exits"

# peers: the unlisted key never answered (exit 1), the second agent was refused
# and killed by timeout (124), and neither got a lease
for f in "$OUT"/peer.*.stranger.rc; do
    [ -e "$f" ] || continue
    read -r _ rc < "$f"
    [ "$rc" -eq 1 ] || bad "unlisted-key peer exited $rc (expected 1): $(cat "${f%.rc}.log")"
done
for f in "$OUT"/peer.*.second.rc; do
    [ -e "$f" ] || continue
    read -r _ rc < "$f"
    [ "$rc" -eq 124 ] || bad "second agent exited $rc (expected 124, refused until killed): $(cat "${f%.rc}.log")"
    grep -q "is held by agent" "${f%.rc}.log" || bad "second agent not refused: $(cat "${f%.rc}.log")"
done
if grep -l "lease [0-9]* from the cluster" "$OUT"/peer.*.log > /dev/null 2>&1; then
    bad "a misbehaving peer got the cluster: $(grep -l "lease [0-9]* from the cluster" "$OUT"/peer.*.log)"
fi
n_peers=$(ls "$OUT"/peer.*.second.rc 2> /dev/null | wc -l)
n_garbage=$(grep -l "garbage sent" "$OUT"/peer.*.garbage 2> /dev/null | wc -l)

# the agent: reloads all logged ok, no error line, found every simulator again
n_reload=$(grep -c "reload: checkpoint .* loaded" "$OUT/agent.log")
[ "$n_reload" -eq "$hups" ] || bad "$hups SIGHUPs but $n_reload reloads logged"
grep -q " error: " "$OUT/agent.log" && bad "agent errors: $(grep " error: " "$OUT/agent.log" | head -3)"
n_lease=$(grep -c "lease [0-9]* from the cluster" "$OUT/agent.log")
[ "$n_lease" -ge "$NSRV" ] || bad "the agent got $n_lease leases from $NSRV simulator instances"

# every committed episode reads back
n_commit=$(grep -c "record: episode of [0-9]* steps committed" "$OUT/agent.log")
s_commit=$(awk '/record: episode of [0-9]+ steps committed/ { for (i = 1; i <= NF; i++) if ($i == "of") { s += $(i + 1); break } }
                END { print s + 0 }' "$OUT/agent.log")
if "$BIN" replay info "$OUT/soak.h5" --json > "$OUT/replay_info.json" 2> "$OUT/replay_info.err"; then
    r_eps=$(awk -F'[:,]' '/^  "episodes"/ { gsub(/ /, "", $2); print $2 }' "$OUT/replay_info.json")
    r_steps=$(awk -F'[:,]' '/^  "steps"/ { gsub(/ /, "", $2); print $2 }' "$OUT/replay_info.json")
    grep -q '"checksums": "verified"' "$OUT/replay_info.json" || bad "replay checksums not verified"
    [ "$r_eps" = "$n_commit" ] || bad "the agent committed $n_commit episodes, the file holds $r_eps"
    [ "$r_steps" = "$s_commit" ] || bad "the agent committed $s_commit steps, the file holds $r_steps"
else
    r_eps=0
    r_steps=0
    bad "rlsched replay info: $(cat "$OUT/replay_info.err")"
fi
[ "$n_commit" -gt 0 ] || bad "no episode recorded"

# RSS: least squares over the samples after the first 10% (warm-up)
read -r n_samp slope_h slope_m rss_max rss_first rss_last <<< "$(awk -v st="$STEP_S" '
    !/^#/ { n++; t[n] = $1; h[n] = $2 * st / 3600; r[n] = $3 / 1024; if (r[n] > mx) mx = r[n] }
    END {
        a = int(n / 10) + 1; m = 0
        for (i = a; i <= n; i++) { m++; sx += h[i]; sy += r[i]; sxx += h[i] * h[i]; sxy += h[i] * r[i]
                                   tx += t[i] / 60; txx += (t[i] / 60) ^ 2; txy += t[i] / 60 * r[i] }
        dh = m * sxx - sx * sx; dm = m * txx - tx * tx
        bh = 0; bm = 0
        if (dh > 0) bh = (m * sxy - sx * sy) / dh
        if (dm > 0) bm = (m * txy - tx * sy) / dm
        printf "%d %.4f %.4f %.1f %.1f %.1f\n", n, bh, bm, mx, r[a], r[n] }' "$OUT/rss.tsv")"
awk -v m="$rss_max" -v l="$RSS_LIMIT" 'BEGIN { exit !(m > l) }' && bad "agent RSS reached $rss_max MB (limit $RSS_LIMIT MB)"
[ "$n_samp" -ge 5 ] || bad "only $n_samp RSS samples"

SIM_H=$(awk -v s="$STEPS" -v st="$STEP_S" 'BEGIN { printf "%.2f", s * st / 3600 }')
{
    echo "soak summary"
    echo "  simulated     $SIM_H h ($STEPS steps of ${STEP_S} s) in $WALL_USED s wall, speed $SPEED"
    echo "  events        $restarts simulator restarts ($NSRV instances), $hups SIGHUP reloads, $n_peers peer rounds ($n_garbage garbage writes, unlisted key, second agent)"
    echo "  agent         exit $arc, $n_lease leases taken"
    echo "  recorded      $n_commit episodes / $s_commit steps committed; file reads back $r_eps episodes / $r_steps steps"
    echo "  rss           max $rss_max MB; $rss_first -> $rss_last MB after warm-up; slope $slope_h MB per simulated hour, $slope_m MB per wall minute ($n_samp samples)"
    echo "  result        $([ "$fail" -eq 0 ] && echo PASS || echo "FAIL ($fail)")"
} | tee "$OUT/summary.txt"
[ "$fail" -eq 0 ]
