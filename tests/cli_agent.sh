#!/usr/bin/env bash
# cli_agent.sh - the rlsched-agent binary: it does not link libtorch, --help,
# usage errors exit 2, a cluster that is not there makes it exit 1 after
# --timeout with a timestamped log line (a bad checkpoint only makes the HPA
# act), SIGTERM stops it cleanly (exit 0) and SIGHUP reloads the checkpoint
# (a bad file keeps the old one).
# Args: $1 the rlsched binary (rlsched-agent is built beside it), $2 source dir.
set -u
RLSCHED=$1
SRC=$2
AGENT="$(dirname "$RLSCHED")/rlsched-agent"
CKPT="$SRC/policies/default.h5"
TMP=$(mktemp -d /tmp/rls_cli_agent.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
. "$SRC/tests/lib_keys.sh"
make_keys "$RLSCHED" "$TMP" || { echo "FAIL: rlsched keygen"; exit 1; }
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# An endpoint nobody listens on: a port picked by the kernel, then released.
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

if [ ! -x "$AGENT" ]; then
    echo "FAIL: $AGENT not built"
    echo "0 passed, 1 failed"
    exit 1
fi

# 1. no libtorch (nor its c10 runtime) among the shared libraries
libs=$(ldd "$AGENT" 2>&1)
if echo "$libs" | grep -Eqi 'libtorch|libc10'; then bad "rlsched-agent links libtorch: $libs"; else ok; fi
if echo "$libs" | grep -q 'libzmq'; then ok; else bad "ldd does not list libzmq (ldd output unusable?)"; fi

# 2. --help
out=$("$AGENT" --help 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q 'usage: rlsched-agent --connect'; then ok; else bad "--help: rc $rc"; fi

# 3. usage errors exit 2 with one line naming the problem
expect2() {
    local what=$1; shift
    local err
    err=$("$AGENT" "$@" 2>&1 >/dev/null); local rc=$?
    if [ $rc -eq 2 ] && [ "$(echo "$err" | wc -l)" -eq 1 ] && echo "$err" | grep -qF -- "$what"; then ok
    else bad "args '$*': rc $rc, stderr: $err"; fi
}
expect2 "--connect is required"
expect2 "unknown option '--bogus'" --connect tcp://127.0.0.1:1 --bogus 1
expect2 "--fairness 'maybe'" --connect tcp://127.0.0.1:1 --fairness maybe
expect2 "--steps 'abc'" --connect tcp://127.0.0.1:1 --steps abc
expect2 "--steps '0'" --connect tcp://127.0.0.1:1 --steps 0
expect2 "--max-step '-3'" --connect tcp://127.0.0.1:1 --max-step -3
expect2 "--stale-after 'x'" --connect tcp://127.0.0.1:1 --stale-after x
expect2 "--timeout needs a value" --connect tcp://127.0.0.1:1 --timeout
expect2 "need --curve-server" --connect tcp://127.0.0.1:1 --curve-secret "$TMP/none.key"
expect2 "unexpected argument 'stray'" --connect tcp://127.0.0.1:1 stray
# secure by default: no keys, or only the server's, is a usage error saying how to make them
expect2 "rlsched keygen --out agent" --connect tcp://127.0.0.1:1
expect2 "(or --insecure)" --connect tcp://127.0.0.1:1 --curve-server "$TMP/server.pub"

# 4. no cluster: exits 1 after --timeout, with timestamped lines, no crash
port=$(free_port)
start=$(date +%s)
err=$("$AGENT" "${CKEYS[@]}" --connect "tcp://127.0.0.1:$port" --policy "$CKPT" --steps 3 --timeout 1 2>&1); rc=$?
took=$(( $(date +%s) - start ))
if [ $rc -eq 1 ]; then ok; else bad "missing cluster: rc $rc (want 1): $err"; fi
if [ $took -le 10 ]; then ok; else bad "missing cluster: took $took s"; fi
if echo "$err" | grep -q "no cluster at tcp://127.0.0.1:$port answered"; then ok; else bad "missing cluster: no clear line: $err"; fi
if echo "$err" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z rlsched-agent (info|warn|error): '; then ok
else bad "log lines lack the timestamp: $err"; fi
if echo "$err" | grep -q "checkpoint: loaded $CKPT"; then ok; else bad "checkpoint not loaded: $err"; fi

# 5. a corrupt checkpoint is not fatal: the HPA would act (still exits 1 on the timeout)
head -c 3000 /dev/urandom > "$TMP/bad.h5"
err=$("$AGENT" "${CKEYS[@]}" --connect "tcp://127.0.0.1:$port" --policy "$TMP/bad.h5" --timeout 0.5 2>&1); rc=$?
if [ $rc -eq 1 ] && echo "$err" | grep -q "the HPA acts (fallback no_checkpoint)"; then ok
else bad "corrupt checkpoint: rc $rc: $err"; fi

# 6. SIGHUP reloads (a bad file keeps the old policy), SIGTERM stops cleanly
cp "$CKPT" "$TMP/policy.h5"
"$AGENT" "${CKEYS[@]}" --connect "tcp://127.0.0.1:$port" --policy "$TMP/policy.h5" 2> "$TMP/log" &
pid=$!
# the handlers are installed before the agent's first log line (its run has begun): wait for
# it (a slow, sanitized or loaded host may need seconds), then for each reload's line
wait_log() { for _ in $(seq 1 200); do grep -q "$1" "$TMP/log" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
wait_log .
kill -HUP $pid
wait_log "reload: checkpoint"
echo "garbage" > "$TMP/policy.h5"
kill -HUP $pid
wait_log "reload: .*; keeping"
kill -TERM $pid
wait $pid; rc=$?
if [ $rc -eq 0 ]; then ok; else bad "SIGTERM: rc $rc: $(cat "$TMP/log")"; fi
if grep -q "reload: checkpoint $TMP/policy.h5 loaded" "$TMP/log"; then ok; else bad "SIGHUP: no reload line: $(cat "$TMP/log")"; fi
if grep -q "reload: .*; keeping $TMP/policy.h5" "$TMP/log"; then ok; else bad "SIGHUP with a bad file: $(cat "$TMP/log")"; fi
if grep -q "stop: asked to stop" "$TMP/log"; then ok; else bad "SIGTERM: no stop line: $(cat "$TMP/log")"; fi

# 7. a metrics address that does not parse is refused at start
err=$("$AGENT" "${CKEYS[@]}" --connect "tcp://127.0.0.1:$port" --metrics "127.0.0.1:http" 2>&1); rc=$?
if [ $rc -eq 1 ] && echo "$err" | grep -q "metrics address '127.0.0.1:http'"; then ok; else bad "--metrics bad: rc $rc: $err"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
