# cli_crashers.sh - the reproducers in ../shared/crashers through the real
# binary: each is refused with exactly one line on stderr naming the file and
# exit status 1, quickly and without a large allocation (the deep YAML is made
# here). Exit 77 (SKIPPED) when the folder is absent (after the replay
# checksum checks, which need no reproducer).
# Also `rlsched replay info --json` and checksums: "checksums" is "verified"
# for a recorded file, "none" for one without any checksum attribute (written
# before them); a file missing one checksum, or with a dataset changed behind
# its checksum, is refused (h5py edits; that part SKIPs without h5py).
# usage: bash cli_crashers.sh RLSCHED SOURCE_DIR [TRACES_DIR]
set -u
BIN=$1
SRC=$2
CR="$SRC/../shared/crashers"
TMP=$(mktemp -d /tmp/rls_cli_crashers.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
PY=/usr/bin/python3
# expect_refusal NAME FILE CMD...: exit 1, one stderr line containing FILE's name
expect_refusal() {
    local name=$1 file=$2
    shift 2
    local t0=$SECONDS
    "$@" > "$TMP/out" 2> "$TMP/err"
    local rc=$?
    local lines
    lines=$(wc -l < "$TMP/err")
    if [ "$rc" -ne 1 ] || [ "$lines" -ne 1 ] || ! grep -q "$(basename "$file")" "$TMP/err" ||
       [ $((SECONDS - t0)) -gt 20 ]; then
        echo "FAIL $name: exit $rc, $lines stderr lines, $((SECONDS - t0)) s: $(head -c 400 "$TMP/err")"
        fails=$((fails + 1))
    else
        echo "ok   $name: $(cat "$TMP/err")"
    fi
}
# --- replay info --json: the checksums field
# json_field FILE KEY: the value of KEY in FILE's top-level JSON object
json_field() {
    "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null ||
        grep -o "\"$2\": \"[^\"]*\"" "$1" | sed 's/.*: "//; s/"$//'
}
if ! "$BIN" record --quiet --policy hpa --episodes 2 --steps 10 --seed 3 --out "$TMP/rec.h5" > /dev/null 2> "$TMP/rec.err"; then
    echo "FAIL record: $(head -c 400 "$TMP/rec.err")"
    fails=$((fails + 1))
elif ! "$BIN" replay info "$TMP/rec.h5" --json > "$TMP/info.json" 2> "$TMP/info.err"; then
    echo "FAIL replay info --json: $(head -c 400 "$TMP/info.err")"
    fails=$((fails + 1))
elif [ "$(json_field "$TMP/info.json" checksums)" != verified ]; then
    echo "FAIL replay info --json: checksums is '$(json_field "$TMP/info.json" checksums)', not 'verified'"
    fails=$((fails + 1))
else
    echo "ok   replay info --json: \"checksums\": \"verified\" for a recorded file"
    if "$PY" -c 'import h5py' 2> /dev/null; then
        # edit FILE OP: a copy of rec.h5 changed by h5py (strip: every checksum attribute;
        # drop1: the observations' one only; poke: a reward changed, its checksum kept)
        edit() {
            cp "$TMP/rec.h5" "$TMP/$1.h5"
            "$PY" - "$TMP/$1.h5" "$1" <<'PYEOF'
import sys, h5py
f = h5py.File(sys.argv[1], "r+")
op = sys.argv[2]
if op == "strip":
    objs = [f]
    f.visititems(lambda name, o: objs.append(o))
    for o in objs:
        for k in ("fnv1a64", "attrs_fnv1a64"):
            if k in o.attrs:
                del o.attrs[k]
elif op == "drop1":
    del f["episode_0/observations"].attrs["fnv1a64"]
elif op == "poke":
    d = f["episode_1/rewards"]
    d[3] = d[3] + 1.0
f.close()
PYEOF
        }
        edit strip && "$BIN" replay info "$TMP/strip.h5" --json > "$TMP/strip.json" 2> "$TMP/strip.err"
        if [ "$(json_field "$TMP/strip.json" checksums)" = none ] &&
           "$BIN" replay info "$TMP/strip.h5" 2> /dev/null | grep -q "^checksums     none (written before checksums"; then
            echo "ok   replay info --json: \"checksums\": \"none\" for a file without checksums"
        else
            echo "FAIL replay info on a file without checksums: $(head -c 400 "$TMP/strip.err") $(grep checksums "$TMP/strip.json")"
            fails=$((fails + 1))
        fi
        edit drop1 && expect_refusal "replay info, one checksum missing" "$TMP/drop1.h5" "$BIN" replay info "$TMP/drop1.h5" --json
        grep -q "fnv1a64" "$TMP/err" || { echo "FAIL drop1: the message does not name the checksum"; fails=$((fails + 1)); }
        edit poke && expect_refusal "replay info, a reward changed behind its checksum" "$TMP/poke.h5" "$BIN" replay info "$TMP/poke.h5" --json
        grep -q "episode_1/rewards: checksum mismatch" "$TMP/err" || { echo "FAIL poke: not a checksum mismatch of /episode_1/rewards"; fails=$((fails + 1)); }
    else
        echo "SKIPPED replay checksum edits: /usr/bin/python3 has no h5py"
    fi
fi
if [ ! -d "$CR/h5" ] || [ ! -d "$CR/trace" ]; then
    if [ "$fails" -ne 0 ]; then
        echo "$fails failures"
        exit 1
    fi
    echo "SKIPPED: $CR not found"
    exit 77
fi
for f in "$CR"/h5/*.h5; do
    expect_refusal "replay info $(basename "$f")" "$f" "$BIN" replay info "$f"
done
expect_refusal "trace info header n" "$CR/trace/cli_header_n.trace" "$BIN" trace info "$CR/trace/cli_header_n.trace"
expect_refusal "trace import --resample 15" "$CR/trace/cli_resample_22B.csv" \
    "$BIN" trace import "$CR/trace/cli_resample_22B.csv" --resample 15 --out "$TMP/r.trace"
[ ! -e "$TMP/r.trace" ] || { echo "FAIL resample wrote an output"; fails=$((fails + 1)); }
for f in "$CR"/trace/oom-*; do
    expect_refusal "trace import $(basename "$f")" "$f" "$BIN" trace import "$f" --out "$TMP/o.trace"
done
# --max-points raises the bound when asked: the 250-million resample is then allowed to start
# (not run here); a small explicit bound refuses a normal import
"$BIN" trace synth --out "$TMP/s.trace" --days 1 --step 60 > /dev/null 2>&1
expect_refusal "trace import --max-points 100" "$TMP/s.trace" \
    "$BIN" trace import "$TMP/s.trace" --max-points 100 --out "$TMP/s2.trace"
/usr/bin/python3 -c "open('$TMP/deep.yaml','w').write('name: '+'['*100000+']'*100000+'\n')"
expect_refusal "scenario check deep.yaml" "$TMP/deep.yaml" "$BIN" scenario check "$TMP/deep.yaml"
if [ "$fails" -ne 0 ]; then
    echo "$fails failures"
    exit 1
fi
echo "all crashers refused"
