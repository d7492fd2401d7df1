#!/bin/bash
# cli_scenario.sh - `rlsched scenario show|check` end to end: the default
# scenario printed by `show` passes `check` as a file, `show FILE` output
# reads back to the same text, a relative trace path resolves, and bad files
# are refused with exit 1 and one stderr line naming the file and line.
# Usage: cli_scenario.sh RLSCHED_BINARY SOURCE_DIR TRACES_DIR
set -u

BIN=$1
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
TRACES=${3:-}
TMP=$(mktemp -d /tmp/rls_cli_scenario.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

# runs "$@", keeping stdout, stderr and the exit status
run() {
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
}

# --- show default -> check the printed file --------------------------------
run "$BIN" scenario show default
[ "$rc" -eq 0 ] && ok || bad "show default exit $rc"
cp "$TMP/out" "$TMP/default.yaml"
grep -q '^#' "$TMP/default.yaml" && ok || bad "show default lost its comments"
grep -q '^services:' "$TMP/default.yaml" && ok || bad "show default has no services"

run "$BIN" scenario check "$TMP/default.yaml"
[ "$rc" -eq 0 ] && ok || bad "check of the printed default: exit $rc: $(cat "$TMP/err")"
[ "$(wc -l <"$TMP/out")" -eq 1 ] && ok || bad "check printed $(wc -l <"$TMP/out") lines, want 1"
grep -q "6 services, 3 tenants, 12 nodes" "$TMP/out" && ok || bad "summary: $(cat "$TMP/out")"
[ ! -s "$TMP/err" ] && ok || bad "check wrote to stderr: $(cat "$TMP/err")"

# `show` with no argument is the default
run "$BIN" scenario show
cmp -s "$TMP/out" "$TMP/default.yaml" && ok || bad "show without argument differs from show default"

# --- show FILE: normalized YAML that reads back to the same text -----------
run "$BIN" scenario show "$TMP/default.yaml"
[ "$rc" -eq 0 ] && ok || bad "show FILE exit $rc: $(cat "$TMP/err")"
cp "$TMP/out" "$TMP/norm1.yaml"
run "$BIN" scenario show "$TMP/norm1.yaml"
cp "$TMP/out" "$TMP/norm2.yaml"
cmp -s "$TMP/norm1.yaml" "$TMP/norm2.yaml" && ok || bad "show FILE is not a fixed point"
run "$BIN" scenario check "$TMP/norm2.yaml"
[ "$rc" -eq 0 ] && ok || bad "check of normalized default: $(cat "$TMP/err")"

# --- a relative trace path resolves against the scenario's folder ----------
mkdir -p "$TMP/sc/data"
printf 'minute,count\n0,10\n1,12\n' >"$TMP/sc/data/load.csv"
cat >"$TMP/sc/traced.yaml" <<'EOF'
name: traced
pools: [{name: p}]
tenants: [{name: t}]
services:
  - name: web
    load: {kind: trace, path: data/load.csv, peak_rps: 100}
EOF
run bash -c "cd '$TMP' && '$BIN' scenario show sc/traced.yaml"
grep -q "path: \"$TMP/sc/data/load.csv\"" "$TMP/out" && ok || bad "trace path not resolved: $(cat "$TMP/out" "$TMP/err" | grep -i path)"

# --- bad files: exit 1, one stderr line with FILE:LINE ---------------------
expect_refused() {  # FILE LINE WORD
    run "$BIN" scenario check "$1"
    [ "$rc" -eq 1 ] && ok || bad "$1: exit $rc, want 1"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] && ok || bad "$1: stderr has $(wc -l <"$TMP/err") lines"
    grep -q "^rlsched scenario check: $1:$2: .*$3" "$TMP/err" && ok ||
        bad "$1: want 'FILE:$2: ...$3', got: $(cat "$TMP/err")"
}

sed 's/^    cold_start_s: 60 /    cold_start: 60 /' "$TMP/default.yaml" >"$TMP/typo.yaml"
line=$(grep -n '^    cold_start: 60' "$TMP/typo.yaml" | head -1 | cut -d: -f1)
[ -n "$line" ] && ok || bad "could not plant the typo"
expect_refused "$TMP/typo.yaml" "$line" "unknown field 'services\[1\].cold_start' (did you mean cold_start_s?)"

sed 's/^    tenant: media$/    tenant: medai/' "$TMP/default.yaml" >"$TMP/tenant.yaml"
line=$(grep -n 'tenant: medai' "$TMP/tenant.yaml" | head -1 | cut -d: -f1)
expect_refused "$TMP/tenant.yaml" "$line" "services\[4\].tenant"

printf 'name: x\npools: [{name: p}]\ntenants: [{name: t}]\nservices:\n  - name: s\n    slo_percentile: 1.5\n' >"$TMP/range.yaml"
expect_refused "$TMP/range.yaml" 6 "slo_percentile"

printf 'name: x\npools: [{name: p\n' >"$TMP/syntax.yaml"
run "$BIN" scenario check "$TMP/syntax.yaml"
[ "$rc" -eq 1 ] && grep -q "^rlsched scenario check: $TMP/syntax.yaml:[0-9]*: YAML syntax error" "$TMP/err" && ok ||
    bad "syntax error: exit $rc: $(cat "$TMP/err")"

: >"$TMP/empty.yaml"
expect_refused "$TMP/empty.yaml" 1 "empty"

run "$BIN" scenario check "$TMP/no-such-file.yaml"
[ "$rc" -eq 1 ] && grep -q "no-such-file.yaml" "$TMP/err" && ok || bad "missing file: exit $rc"

# one bad file among good ones still fails the whole check
run "$BIN" scenario check "$TMP/default.yaml" "$TMP/empty.yaml"
[ "$rc" -eq 1 ] && [ "$(wc -l <"$TMP/out")" -eq 1 ] && ok || bad "mixed check: exit $rc"

# --- usage -------------------------------------------------------------------
run "$BIN" scenario --help
[ "$rc" -eq 0 ] && grep -q "scenario show" "$TMP/out" && ok || bad "--help exit $rc"
run "$BIN" scenario check
[ "$rc" -eq 2 ] && ok || bad "check without FILE: exit $rc, want 2"
run "$BIN" scenario frobnicate
[ "$rc" -eq 2 ] && ok || bad "unknown subcommand: exit $rc, want 2"

# --- a real trace, when the shared traces are present ----------------------
WC="$TRACES/worldcup98_requests_per_minute_0430_0630.csv"
if [ -n "$TRACES" ] && [ -f "$WC" ]; then
    cat >"$TMP/wc.yaml" <<EOF
name: worldcup
pools: [{name: p}]
tenants: [{name: fifa}]
services:
  - {name: site, load: {kind: trace, path: "$WC", peak_rps: 900}}
EOF
    run "$BIN" scenario check "$TMP/wc.yaml"
    [ "$rc" -eq 0 ] && ok || bad "real trace scenario: $(cat "$TMP/err")"
else
    echo "SKIPPED: no $WC"
    SKIPPED=1
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
[ -z "${SKIPPED:-}" ] || exit 77   # a part needing missing data/dependency did not run
