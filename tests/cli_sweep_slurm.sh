#!/usr/bin/env bash
# cli_sweep_slurm.sh - `rlsched sweep submit` on a real one-node Slurm cluster:
# munged (its own key and socket), slurmctld and slurmd (a generated
# slurm.conf, loopback, random ports) each in this test's temporary directory.
# A sweep of 2 traces x 2 policies x 2 seeds is submitted as one job array
# (held, one array task cancelled on purpose, then released); gather must name
# exactly that cell as missing, `submit --failed` must re-submit only it, and
# the completed sweep's gathered JSON and table must be byte-identical to the
# serial local run of the same cells. A running array task SIGKILLed through
# Slurm leaves no result and is reported missing. Every daemon is stopped by PID.
# Without Slurm/munge or root: SKIPPED (exit 77) with the reason.
# Args: $1 rlsched binary, $2 source dir.
set -u
BIN=$1
SRC=$2
PY=/usr/bin/python3
skip() { echo "SKIPPED: $*"; exit 77; }

for b in munged slurmctld slurmd sbatch squeue scancel scontrol sinfo; do
    command -v "$b" >/dev/null 2>&1 || skip "$b not found (Debian packages slurm-wlm and munge)"
done
[ "$(id -u)" = 0 ] || skip "slurmd must run as root to start jobs; this test runs as $(id -un)"

TMP=$(mktemp -d /tmp/rls_cli_sweep_slurm.XXXXXX)
chmod 755 "$TMP"
MUNGE_PID="" CTLD_PID="" SLURMD_PID=""
cleanup() {
    if [ -n "$CTLD_PID" ] && kill -0 "$CTLD_PID" 2>/dev/null; then
        scancel --quiet --user=root >/dev/null 2>&1   # this cluster's jobs only (SLURM_CONF)
        for _ in $(seq 50); do
            [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
    for p in $SLURMD_PID $CTLD_PID $MUNGE_PID; do
        kill "$p" 2>/dev/null
    done
    for p in $SLURMD_PID $CTLD_PID $MUNGE_PID; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
logs() { for f in "$TMP"/munge/log "$TMP"/ctld.log "$TMP"/slurmd.log; do echo "== $f"; tail -n 15 "$f" 2>/dev/null; done; }

# --- munge: its own key, socket, pid, seed and log
mkdir -p "$TMP/munge" && chmod 700 "$TMP/munge"
head -c 1024 /dev/urandom >"$TMP/munge/key" && chmod 400 "$TMP/munge/key"
munged -F -f --key-file="$TMP/munge/key" --socket="$TMP/munge/sock" --pid-file="$TMP/munge/pid" \
    --seed-file="$TMP/munge/seed" --log-file="$TMP/munge/log" >"$TMP/munge/out" 2>&1 &
MUNGE_PID=$!
for _ in $(seq 50); do [ -S "$TMP/munge/sock" ] && break; sleep 0.1; done
[ -S "$TMP/munge/sock" ] || skip "munged did not start: $(tail -n 3 "$TMP/munge/out" "$TMP/munge/log" 2>/dev/null | tr '\n' ' ')"

# --- slurm.conf: one node with 2 CPUs on loopback, random ports
HOST=$(hostname -s)
PORT1=$((20000 + RANDOM % 20000))
PORT2=$((PORT1 + 1))
mkdir -p "$TMP/state" "$TMP/spool"
export SLURM_CONF=$TMP/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=rlstest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT1
SlurmdPort=$PORT2
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$TMP/munge/sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/ctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/ctld.log
SlurmdLogFile=$TMP/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=300
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=rls Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -i -f "$SLURM_CONF" >"$TMP/ctld.out" 2>&1 &
CTLD_PID=$!
slurmd -D -f "$SLURM_CONF" >"$TMP/slurmd.out" 2>&1 &
SLURMD_PID=$!
state=""
for _ in $(seq 150); do
    kill -0 "$CTLD_PID" 2>/dev/null && kill -0 "$SLURMD_PID" 2>/dev/null || break
    state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null)
    [ "$state" = idle ] && break
    sleep 0.1
done
if [ "$state" != idle ]; then
    logs
    skip "the one-node Slurm cluster did not come up (node state '${state:-none}'; logs above)"
fi
echo "slurm up: node $HOST idle, ports $PORT1/$PORT2"

# --- the sweep: 2 traces x 2 policies x 2 seeds, short runs
"$BIN" trace synth --out "$TMP/t1.csv" --seed 1 --days 1 >/dev/null &&
    "$BIN" trace synth --out "$TMP/t2.csv" --seed 2 --days 1 --flash-mult 5 >/dev/null ||
    { echo "FAIL: trace synth"; exit 1; }
plan() { "$BIN" sweep plan --trace "$TMP/t1.csv,$TMP/t2.csv" --policy hpa,kpa --seeds 1-2 \
    --steps 120 --out "$1" >/dev/null; }
plan "$TMP/serial" && plan "$TMP/array" && ok || bad "sweep plan"

# the serial run of the same cells, here
if "$BIN" sweep run "$TMP/serial" --jobs 1 >/dev/null 2>"$TMP/err" &&
    "$BIN" sweep gather "$TMP/serial" --json "$TMP/serial.json" --table >"$TMP/serial.table" 2>>"$TMP/err"
then ok; else bad "serial run: $(cat "$TMP/err")"; fi

wait_job() {   # $1 job id: until no task of it is queued or running (40 s at most)
    for _ in $(seq 400); do
        [ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    return 1
}

# submit held, cancel array task 5 on purpose (a killed task), release the rest
if "$BIN" sweep submit "$TMP/array" --sbatch-arg --hold >"$TMP/out" 2>"$TMP/err"; then ok; else
    bad "submit: $(cat "$TMP/err")"; logs; exit 1; fi
JOB=$(sed -n 's/^submitted 8 cells as job array \([0-9]*\)$/\1/p' "$TMP/out")
[ -n "$JOB" ] && ok || { bad "submit output: $(cat "$TMP/out")"; exit 1; }
grep -q "sweep task '$TMP/array' \"\$SLURM_ARRAY_TASK_ID\"" "$TMP/array/submit-0.sbatch" && ok ||
    bad "batch script: $(cat "$TMP/array/submit-0.sbatch")"
scancel "${JOB}_5" 2>"$TMP/err" && ok || bad "scancel ${JOB}_5: $(cat "$TMP/err")"
scontrol release "$JOB" 2>"$TMP/err" && ok || bad "scontrol release: $(cat "$TMP/err")"
wait_job "$JOB" && ok || { bad "job array $JOB did not finish in 40 s"; squeue; logs; }

# gather names exactly the cancelled cell, and exits non-zero
"$BIN" sweep gather "$TMP/array" --json "$TMP/partial.json" >/dev/null 2>"$TMP/err" &&
    bad "gather with a missing cell exited 0" || ok
grep -q 'missing \[5\]' "$TMP/err" && ok || bad "gather's message: $(cat "$TMP/err")"
[ ! -e "$TMP/array/results/00005.json" ] && ok || bad "the cancelled cell left a result"
"$PY" - "$TMP/partial.json" <<'EOF' && ok || bad "partial document"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["cells"] == 8 and d["done"] == 7 and d["missing"] == [5] and d["failed"] == [], d
assert [r["index"] for r in d["results"]] == [0, 1, 2, 3, 4, 6, 7]
EOF

# resubmit only what is not done: array=5
if "$BIN" sweep submit "$TMP/array" --failed >"$TMP/out" 2>"$TMP/err"; then ok; else
    bad "submit --failed: $(cat "$TMP/err")"; fi
JOB2=$(sed -n 's/^submitted 1 cells as job array \([0-9]*\)$/\1/p' "$TMP/out")
[ -n "$JOB2" ] && ok || bad "submit --failed output: $(cat "$TMP/out")"
[ -n "$JOB2" ] && { wait_job "$JOB2" && ok || bad "job $JOB2 did not finish"; }
"$BIN" sweep submit "$TMP/array" --failed >"$TMP/out" 2>&1 && grep -q 'nothing to submit' "$TMP/out" &&
    ok || bad "a second --failed: $(cat "$TMP/out")"

# gathered document and table identical to the serial run's
if "$BIN" sweep gather "$TMP/array" --json "$TMP/array.json" --table >"$TMP/array.table" 2>"$TMP/err"
then ok; else bad "final gather: $(cat "$TMP/err")"; fi
cmp -s "$TMP/serial.json" "$TMP/array.json" && ok || bad "array JSON differs from the serial run's"
cmp -s "$TMP/serial.table" "$TMP/array.table" && ok || bad "array table differs from the serial run's"
grep -q '^8 of 8 cells done, 0 failed, 0 missing' "$TMP/array.table" && ok || bad "table: $(tail -n 2 "$TMP/array.table")"
# the array tasks really ran under Slurm (their logs), and each cell equals a plain eval
ls "$TMP"/array/logs/slurm-"$JOB"_*.out >/dev/null 2>&1 && ok || bad "no Slurm task logs"
"$BIN" eval --trace "$TMP/t2.csv" --policy kpa --seed 2 --steps 120 --json "$TMP/direct.json" >/dev/null 2>&1
"$PY" - "$TMP/array.json" "$TMP/direct.json" <<'EOF' && ok || bad "cell 7 differs from a direct rlsched eval"
import json, sys
d = json.load(open(sys.argv[1])); e = json.load(open(sys.argv[2]))
r = d["results"][7]
assert (r["policy"], r["seed"], r["trace"].endswith("t2.csv")) == ("kpa", 2, True), r
assert r["eval"] == e
EOF

# --- a running array task killed (SIGKILL through Slurm): no result, reported missing
"$BIN" sweep plan --trace "$TMP/t1.csv" --policy hpa --seeds 1 --steps 5000000 --out "$TMP/kill" >/dev/null
out=$("$BIN" sweep submit "$TMP/kill" 2>&1)
JOB3=${out##* }
running=""
for _ in $(seq 200); do
    running=$(squeue -h -j "$JOB3" -t R -o %i 2>/dev/null)
    [ -n "$running" ] && [ -s "$TMP/kill/logs/00000.err" -o -e "$TMP/kill/logs/00000.out" ] && break
    sleep 0.1
done
sleep 0.5
[ -n "$running" ] && ok || bad "array task $JOB3 never ran: $out"
scancel --signal=KILL --full "$JOB3" 2>"$TMP/err" && ok || bad "scancel --signal=KILL: $(cat "$TMP/err")"
wait_job "$JOB3" && ok || bad "killed job $JOB3 still queued"
[ -z "$(ls "$TMP/kill/results" | grep -v '\.tmp')" ] && ok || bad "a killed task left: $(ls "$TMP/kill/results")"
"$BIN" sweep status "$TMP/kill" | grep -q '^1 cells: 0 done, 0 failed, 1 missing' && ok ||
    bad "status after the kill: $("$BIN" sweep status "$TMP/kill")"

echo "cli_sweep_slurm: $pass passed, $fail failed"
[ "$fail" = 0 ]
