#!/bin/bash
# cli_badinput.sh - every bad command-line input gets one clear line on stderr
# and a non-zero exit, before any work: unknown options, missing values,
# out-of-range and non-numeric numbers (train --batch 0 / 99999999999 used to
# fall back to the default), negative counts, outputs that cannot be written
# (train --out in a missing directory used to train fully first; the agent's
# --record to one used to run on with "recording disabled"), junk files
# (replay recover on one used to exit 0), and a missing subcommand (used to
# print the whole usage). A refused output also prints nothing on stdout.
# Then --opt=value: accepted everywhere, `eval --seed=3` prints what
# `eval --seed 3` prints.
# usage: bash cli_badinput.sh RLSCHED SOURCE_DIR TRACES_DIR
set -u
BIN=$1
AGENT=$(dirname "$BIN")/rlsched-agent
TMP=$(mktemp -d /tmp/rls_cli_badinput.XXXXXX)
trap 'chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }

if [ ! -x "$BIN" ] || [ ! -x "$AGENT" ]; then
    echo "SKIPPED: $BIN and $AGENT are needed"
    exit 77
fi

# refuse WHAT CMD...: CMD exits non-zero (not a crash), with exactly one line on
# stderr and nothing on stdout.
refuse() {
    local what=$1
    shift
    timeout 60 "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$? lines
    lines=$(wc -l <"$TMP/err")
    if [ "$rc" -eq 0 ]; then
        bad "$what: exit 0 ($*)"
    elif [ "$rc" -ge 124 ]; then
        bad "$what: exit $rc (timeout or crash) ($*)"
    elif [ "$lines" -ne 1 ]; then
        bad "$what: $lines lines on stderr, want 1 ($*):"
        sed 's/^/    /' "$TMP/err" | head -5
    elif [ -s "$TMP/out" ]; then
        bad "$what: printed on stdout ($*)"
    else
        ok
    fi
}

printf 'this is not HDF5\n' >"$TMP/junk.h5"
mkdir "$TMP/ro" && chmod a-w "$TMP/ro"
if [ "$(id -u)" -eq 0 ]; then
    RO=/proc/rls_no_such_dir_h11   # root writes anywhere chmod allows: use /proc
else
    RO=$TMP/ro
fi
NODIR=/nonexistent/dir

# the dispatcher
refuse "no command" "$BIN"
refuse "unknown command" "$BIN" frobnicate

# eval
refuse "eval unknown option" "$BIN" eval --x
refuse "eval unknown option=value" "$BIN" eval --x=3
refuse "eval missing value" "$BIN" eval --seed
refuse "eval non-number seed" "$BIN" eval --seed abc
refuse "eval negative seed" "$BIN" eval --seed=-1
refuse "eval negative steps" "$BIN" eval --steps -5
refuse "eval zero steps" "$BIN" eval --steps 0
refuse "eval huge steps" "$BIN" eval --steps 99999999999999999999
refuse "eval unknown policy" "$BIN" eval --policy nosuch --steps 5
refuse "eval missing scenario" "$BIN" eval --scenario "$TMP/none.yaml"
refuse "eval unwritable json" "$BIN" eval --steps 5 --policy static --json "$NODIR/x.json"
refuse "eval unwritable svg" "$BIN" eval --steps 5 --policy static --svg "$NODIR/x.svg"

# record
refuse "record unknown option" "$BIN" record --x
refuse "record zero episodes" "$BIN" record --policy hpa --episodes 0 --out "$TMP/r.h5"
refuse "record negative episodes" "$BIN" record --policy hpa --episodes -2 --out "$TMP/r.h5"
refuse "record bad epsilon" "$BIN" record --policy hpa --episodes 1 --epsilon 2 --out "$TMP/r.h5"
refuse "record missing out" "$BIN" record --policy hpa --episodes 1
refuse "record unwritable out" "$BIN" record --policy hpa --episodes 1 --steps 5 --out "$NODIR/r.h5"
refuse "record out in read-only dir" "$BIN" record --policy hpa --episodes 1 --steps 5 --out "$RO/r.h5"

# train (exec'd rlsched-train; without it, one line saying so)
refuse "train batch 0" "$BIN" train --data "$TMP/junk.h5" --steps 10 --batch 0 --out "$TMP/p.h5"
refuse "train batch huge" "$BIN" train --data "$TMP/junk.h5" --steps 10 --batch 99999999999 --out "$TMP/p.h5"
refuse "train batch=0" "$BIN" train --data "$TMP/junk.h5" --steps 10 --batch=0 --out "$TMP/p.h5"
refuse "train negative steps" "$BIN" train --data "$TMP/junk.h5" --steps -1 --out "$TMP/p.h5"
refuse "train fractional steps" "$BIN" train --data "$TMP/junk.h5" --steps 1.5 --out "$TMP/p.h5"
refuse "train gamma > 1" "$BIN" train --data "$TMP/junk.h5" --gamma 2 --out "$TMP/p.h5"
refuse "train threads 0" "$BIN" train --data "$TMP/junk.h5" --threads 0 --out "$TMP/p.h5"
refuse "train unknown option" "$BIN" train --data "$TMP/junk.h5" --frobnicate
refuse "train missing value" "$BIN" train --data
refuse "train unwritable out" "$BIN" train --data "$TMP/junk.h5" --steps 10 --out "$NODIR/x.h5"
refuse "train junk data" "$BIN" train --data "$TMP/junk.h5" --steps 10 --out "$TMP/p.h5" --quiet

# trace
refuse "trace no subcommand" "$BIN" trace
refuse "trace unknown subcommand" "$BIN" trace frob
refuse "trace synth unknown option" "$BIN" trace synth --x --out "$TMP/t.csv"
refuse "trace synth missing out" "$BIN" trace synth
refuse "trace synth bad seed" "$BIN" trace synth --seed -3 --out "$TMP/t.csv"
refuse "trace synth unwritable out" "$BIN" trace synth --out "$NODIR/t.csv"
refuse "trace import missing file" "$BIN" trace import "$TMP/none.csv" --out "$TMP/t.csv"
refuse "trace import bad step" "$BIN" trace import "$TMP/junk.h5" --step 0 --out "$TMP/t.csv"
refuse "trace info junk" "$BIN" trace info "$TMP/junk.h5"

# replay
refuse "replay no subcommand" "$BIN" replay
refuse "replay info junk" "$BIN" replay info "$TMP/junk.h5"
refuse "replay info unknown option" "$BIN" replay info --x "$TMP/junk.h5"
refuse "replay recover junk" "$BIN" replay recover "$TMP/junk.h5"
refuse "replay recover missing" "$BIN" replay recover "$TMP/none.h5"
refuse "replay merge no inputs" "$BIN" replay merge --out "$TMP/m.h5"
refuse "replay relabel empty count" "$BIN" replay relabel "$TMP/junk.h5" --out "$TMP/m.h5" --lookahead-extra ""
refuse "replay relabel bad util" "$BIN" replay relabel "$TMP/junk.h5" --out "$TMP/m.h5" --target-util 5

# scenario
refuse "scenario no subcommand" "$BIN" scenario
refuse "scenario check missing" "$BIN" scenario check "$TMP/none.yaml"
refuse "scenario check junk" "$BIN" scenario check "$TMP/junk.h5"
refuse "scenario random bad steps" "$BIN" scenario random --steps 0
refuse "scenario random unknown option" "$BIN" scenario random --x

# sim
refuse "sim no subcommand" "$BIN" sim
refuse "sim serve unknown option" "$BIN" sim serve --x
refuse "sim serve missing bind" "$BIN" sim serve

# bench
refuse "bench no benchmark" "$BIN" bench
refuse "bench unknown benchmark" "$BIN" bench frob
refuse "bench sim unknown option" "$BIN" bench sim --x

# export
refuse "export missing out" "$BIN" export "$TMP/junk.h5"

# the agent
refuse "agent unknown option" "$AGENT" --x
refuse "agent missing connect" "$AGENT" --insecure
refuse "agent bad steps" "$AGENT" --connect tcp://127.0.0.1:1 --insecure --steps 0
refuse "agent steps=abc" "$AGENT" --connect=tcp://127.0.0.1:1 --insecure --steps=abc
refuse "agent unwritable record" "$AGENT" --connect tcp://127.0.0.1:1 --insecure --timeout 1 \
    --record "$NODIR/x.h5"
refuse "agent record in read-only dir" "$AGENT" --connect tcp://127.0.0.1:1 --insecure --timeout 1 \
    --record "$RO/x.h5"

# --opt=value works like --opt value
if "$BIN" eval --policy static,hpa --steps 20 --seed 3 >"$TMP/a.txt" 2>"$TMP/a.err" &&
   "$BIN" eval --policy=static,hpa --steps=20 --seed=3 >"$TMP/b.txt" 2>"$TMP/b.err"; then
    if cmp -s "$TMP/a.txt" "$TMP/b.txt" && [ -s "$TMP/a.txt" ]; then ok; else
        bad "eval --seed=3 printed something else than --seed 3"
        diff "$TMP/a.txt" "$TMP/b.txt" | head -5
    fi
else
    bad "eval --opt=value failed: $(cat "$TMP/b.err")"
fi
if "$BIN" eval --policy static --steps 20 --seed 4 >"$TMP/c.txt" 2>/dev/null && cmp -s "$TMP/a.txt" "$TMP/c.txt"; then
    bad "eval: --seed 4 printed what --seed 3 printed (the seed is not used)"
else
    ok
fi
if "$BIN" scenario random --seed=7 --steps=50 >"$TMP/s1.yaml" 2>/dev/null &&
   "$BIN" scenario random --seed 7 --steps 50 >"$TMP/s2.yaml" 2>/dev/null && cmp -s "$TMP/s1.yaml" "$TMP/s2.yaml"; then
    ok
else
    bad "scenario random --seed=7 differs from --seed 7"
fi
if "$BIN" trace synth --seed=5 --out="$TMP/t1.csv" >/dev/null 2>&1 &&
   "$BIN" trace synth --seed 5 --out "$TMP/t2.csv" >/dev/null 2>&1 && cmp -s "$TMP/t1.csv" "$TMP/t2.csv"; then
    ok
else
    bad "trace synth --seed=5 --out=F differs from --seed 5 --out F"
fi
# a value that itself holds '=' stays whole; after a bare -- nothing is split
if "$BIN" eval --policy=static:2 --steps=5 >/dev/null 2>&1; then ok; else bad "eval --policy=static:2 refused"; fi

echo "cli_badinput: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
