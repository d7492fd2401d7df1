#!/bin/bash
# cli_hpa_manifest.sh - HorizontalPodAutoscaler manifests through the CLI:
# `eval --policy hpa-tuned --hpa-manifest-out` writes autoscaling/v2
# manifests; `eval --policy hpa --hpa-manifest` reads them back and decides
# exactly as hpa-tuned did on the same run (the decisions CSV, policy column
# aside); a scenario's `hpa:` (embedded) acts the same; bad manifests are
# refused with exit 2 and one stderr line naming the field; `scenario hpa`
# and `scenario knative` print the baselines as Kubernetes/Knative config.
# Usage: cli_hpa_manifest.sh RLSCHED_BINARY SOURCE_DIR TRACES_DIR
set -u

BIN=$1
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
TMP=$(mktemp -d /tmp/rls_cli_hpa_manifest.XXXXXX)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
run() {
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
}
# the decisions without the policy column
strip() { cut -d, -f2- "$1" | sed 1d; }

STEPS=240

# --- hpa-tuned -> manifests -> hpa: the same decisions ----------------------
run "$BIN" eval --policy hpa-tuned --steps $STEPS --hpa-manifest-out "$TMP/tuned.yaml" \
    --decisions "$TMP/tuned.csv"
[ "$rc" -eq 0 ] && ok || bad "hpa-tuned --hpa-manifest-out exit $rc: $(cat "$TMP/err")"
n_docs=$(grep -c '^kind: HorizontalPodAutoscaler$' "$TMP/tuned.yaml")
n_svc=$("$BIN" scenario show default | grep -c '^  - name:' )
[ "$n_docs" -gt 0 ] && ok || bad "no manifest written"
grep -q '^apiVersion: autoscaling/v2$' "$TMP/tuned.yaml" && ok || bad "no apiVersion autoscaling/v2"
grep -q 'averageUtilization: ' "$TMP/tuned.yaml" && ok || bad "no averageUtilization"
chosen=$(grep -o 'target_utilization=[0-9.]*' "$TMP/err" | cut -d= -f2)
pct=$(awk -v t="$chosen" 'BEGIN { printf "%d", t * 100 + 0.5 }')
grep -q "averageUtilization: $pct\$" "$TMP/tuned.yaml" && ok ||
    bad "manifest target is not the chosen $chosen ($(grep averageUtilization "$TMP/tuned.yaml" | head -1))"

run "$BIN" eval --policy hpa --steps $STEPS --hpa-manifest "$TMP/tuned.yaml" --decisions "$TMP/back.csv"
[ "$rc" -eq 0 ] && ok || bad "hpa --hpa-manifest exit $rc: $(cat "$TMP/err")"
strip "$TMP/tuned.csv" >"$TMP/a"
strip "$TMP/back.csv" >"$TMP/b"
[ -s "$TMP/a" ] && cmp -s "$TMP/a" "$TMP/b" && ok || bad "manifest read back decides differently from hpa-tuned"
# the default HPA decides otherwise (the comparison can fail)
run "$BIN" eval --policy hpa --steps $STEPS --decisions "$TMP/plain.csv"
strip "$TMP/plain.csv" >"$TMP/c"
cmp -s "$TMP/a" "$TMP/c" && bad "the default hpa decides as the tuned one: the round trip proves nothing" || ok

# --- the same manifests embedded in a scenario (`scenario hpa` of it) -------
"$BIN" scenario show default >"$TMP/sc.yaml"
awk -v m="$TMP/tuned.yaml" '
    { print }
    /^  - name: / { name = $3; gsub(/"/, "", name)
                    print "    hpa: " m }' "$TMP/sc.yaml" >"$TMP/sc_hpa.yaml"
run "$BIN" eval --scenario "$TMP/sc_hpa.yaml" --policy hpa --steps $STEPS --decisions "$TMP/emb.csv"
[ "$rc" -eq 0 ] && ok || bad "scenario with hpa: paths exit $rc: $(cat "$TMP/err")"
strip "$TMP/emb.csv" >"$TMP/d"
cmp -s "$TMP/a" "$TMP/d" && ok || bad "scenario hpa: decides differently from hpa-tuned"
run "$BIN" scenario hpa "$TMP/sc_hpa.yaml"
[ "$rc" -eq 0 ] && ok || bad "scenario hpa exit $rc"
cmp -s "$TMP/out" <(grep -v '^#' "$TMP/tuned.yaml") && ok || bad "scenario hpa does not print the manifests it runs"
run "$BIN" scenario show "$TMP/sc_hpa.yaml"
cp "$TMP/out" "$TMP/sc_shown.yaml"
run "$BIN" eval --scenario "$TMP/sc_shown.yaml" --policy hpa --steps $STEPS --decisions "$TMP/shown.csv"
strip "$TMP/shown.csv" >"$TMP/e"
grep -q '^    hpa:$' "$TMP/sc_shown.yaml" && cmp -s "$TMP/a" "$TMP/e" && ok ||
    bad "scenario show of embedded hpa: does not read back to the same decisions"

# --- knative annotations ---------------------------------------------------
run "$BIN" scenario knative
[ "$rc" -eq 0 ] && ok || bad "scenario knative exit $rc"
for k in target window panic-window-percentage panic-threshold-percentage; do
    [ "$(grep -c "autoscaling.knative.dev/$k: " "$TMP/out")" -eq "$n_svc" ] && ok || bad "knative: $k not once per service"
done

# --- bad manifests: exit 2, one line naming the field ------------------------
refused() {   # FILE FIELD
    run "$BIN" eval --policy hpa --steps 5 --hpa-manifest "$1"
    if [ "$rc" -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "$2" "$TMP/err"; then ok
    else bad "$1: exit $rc, expected 2 and one line naming $2: $(cat "$TMP/err")"; fi
}
head='apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
spec:
  scaleTargetRef: {name: frontend}'
printf 'apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nspec: {maxReplicas: 3}\n' >"$TMP/b1.yaml"
refused "$TMP/b1.yaml" "apiVersion"
printf '%s\n  maxReplicas: 4.5\n' "$head" >"$TMP/b2.yaml"
refused "$TMP/b2.yaml" "spec.maxReplicas"
printf '%s\n  maxReplicas: 4\n  metrics:\n  - type: Object\n' "$head" >"$TMP/b3.yaml"
refused "$TMP/b3.yaml" "spec.metrics\[0\].type"
printf '%s\n  maxReplicas: 4\n  behavior:\n    scaleDown:\n      stabilizationWindowSeconds: -1\n' "$head" >"$TMP/b4.yaml"
refused "$TMP/b4.yaml" "spec.behavior.scaleDown.stabilizationWindowSeconds"
printf '%s\n  maxReplicas: 4000\n' "$head" >"$TMP/b5.yaml"
refused "$TMP/b5.yaml" "spec.maxReplicas"
printf 'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  scaleTargetRef: {name: nosuch}\n  maxReplicas: 4\n' >"$TMP/b6.yaml"
refused "$TMP/b6.yaml" "scaleTargetRef.name"
run "$BIN" eval --policy hpa --steps 5 --hpa-manifest-out "$TMP/x.yaml"
[ "$rc" -eq 2 ] && grep -q 'hpa-tuned' "$TMP/err" && ok || bad "--hpa-manifest-out without hpa-tuned: exit $rc"

# the agent's fallback HPA takes the same manifests; a bad one is refused at start
AGENT="$(dirname "$BIN")/rlsched-agent"
if [ -x "$AGENT" ]; then
    run "$AGENT" --insecure --connect tcp://127.0.0.1:1 --steps 1 --timeout 0.2 --hpa-manifest "$TMP/b3.yaml"
    [ "$rc" -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q 'spec.metrics\[0\].type' "$TMP/err" && ok ||
        bad "agent --hpa-manifest bad: exit $rc: $(cat "$TMP/err")"
    # live: a lock-step simulator served on loopback, the agent without a
    # checkpoint (the HPA acts); a manifest pinning frontend at 30 replicas
    # shows in the cluster's ready replicas after 10 steps
    printf '%s\n  minReplicas: 30\n  maxReplicas: 30\n' "$head" >"$TMP/pin30.yaml"
    for m in none pin30; do
        port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        timeout 60 "$BIN" sim serve --bind "tcp://127.0.0.1:$port" --speed max --insecure --max-steps 10 \
            --log-every 1 2>"$TMP/sim_$m.err" &
        SIM=$!
        PIDS="$PIDS $SIM"
        extra=()
        [ "$m" = none ] || extra=(--hpa-manifest "$TMP/$m.yaml")
        timeout 60 "$AGENT" --insecure --connect "tcp://127.0.0.1:$port" --steps 10 --timeout 20 "${extra[@]}" \
            2>"$TMP/agent_$m.err"
        arc=$?
        wait "$SIM"
        [ "$arc" -eq 0 ] && ok || bad "agent ($m) exit $arc: $(tail -3 "$TMP/agent_$m.err")"
        ready_m=$(grep 'step 10 ' "$TMP/sim_$m.err" | grep -o '[0-9]* replicas ready' | cut -d' ' -f1)
        eval "ready_$m=\${ready_m:-0}"
    done
    grep -q "hpa: the fallback runs the manifests of $TMP/pin30.yaml for frontend" "$TMP/agent_pin30.err" && ok ||
        bad "agent: no line naming the manifest's services: $(cat "$TMP/agent_pin30.err")"
    # frontend starts at 2: pinned at 30 (the safety filter's steps of max(4, 100%)) it adds >= 10
    [ "$ready_pin30" -ge $((ready_none + 10)) ] && ok ||
        bad "agent fallback ignores the manifest: $ready_pin30 replicas ready vs $ready_none without"
else
    bad "no rlsched-agent beside $BIN"
fi

echo "cli_hpa_manifest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
