# cli_crashers.sh - the reproducers in ../shared/crashers through the real
# binary: each is refused with exactly one line on stderr naming the file and
# exit status 1, quickly and without a large allocation (the deep YAML is made
# here). Exit 77 (SKIPPED) when the folder is absent.
# usage: bash cli_crashers.sh RLSCHED SOURCE_DIR [TRACES_DIR]
set -u
BIN=$1
SRC=$2
CR="$SRC/../shared/crashers"
if [ ! -d "$CR/h5" ] || [ ! -d "$CR/trace" ]; then
    echo "SKIPPED: $CR not found"
    exit 77
fi
TMP=$(mktemp -d /tmp/rls_cli_crashers.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
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
/usr/bin/python3 -c "open('$TMP/deep.yaml','w').write('name: '+'['*100000+']'*100000+'\n')" 2>/dev/null ||
    python3 -c "open('$TMP/deep.yaml','w').write('name: '+'['*100000+']'*100000+'\n')"
expect_refusal "scenario check deep.yaml" "$TMP/deep.yaml" "$BIN" scenario check "$TMP/deep.yaml"
if [ "$fails" -ne 0 ]; then
    echo "$fails failures"
    exit 1
fi
echo "all crashers refused"
