#!/bin/bash
# cli_export_onnx.sh - `rlsched export --format onnx` as a user runs it, and
# `--version` on every binary:
# - rlsched, rlsched-agent and rlsched-train (when built) print "NAME VERSION"
#   with the same version and exit 0;
# - ONNX export needs no libtorch: a copy of rlsched alone in a directory
#   without rlsched-train exports ONNX, and refuses TorchScript with one line;
# - the model file: the protobuf of a ModelProto (ir_version first), the
#   network's weights inside, replacing an existing file whole, no temporary
#   left behind;
# - bad input (an unknown format, a missing or non-HDF5 checkpoint, an
#   unwritable output, a bad --bcq-tau, no --out): one line on stderr naming
#   the thing, non-zero exit, no output file.
# The model's numbers and Debian's ONNX checker: tests/test_onnx_export.c.
# usage: bash cli_export_onnx.sh RLSCHED SOURCE_DIR TRACES_DIR
set -u
BIN=$1
SRC=$2
DIR=$(dirname "$BIN")
T=$(mktemp -d /tmp/rls_cli_export_onnx.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# --version everywhere, one version
want=$("$BIN" --version 2>&1)
rc=$?
[ $rc -eq 0 ] && [[ "$want" =~ ^rlsched\ [0-9]+\.[0-9]+\.[0-9]+$ ]] && ok || bad "rlsched --version: rc $rc '$want'"
ver=${want#rlsched }
for b in rlsched-agent rlsched-train; do
    if [ ! -x "$DIR/$b" ]; then
        echo "note: $DIR/$b not built, its --version not checked"
        continue
    fi
    got=$("$DIR/$b" --version 2>&1)
    rc=$?
    [ $rc -eq 0 ] && [ "$got" = "$b $ver" ] && ok || bad "$b --version: rc $rc '$got', expected '$b $ver'"
done

# the help names both formats
"$BIN" export --help >"$T/help" 2>&1 && grep -q "onnx" "$T/help" && grep -q "torchscript" "$T/help" \
    && ok || bad "export --help: $(cat "$T/help")"

# export the shipped policy
if "$BIN" export "$SRC/policies/default.h5" --format onnx --out "$T/p.onnx" >"$T/out" 2>"$T/err"; then
    grep -q "wrote $T/p.onnx (ONNX opset 13" "$T/out" && ok || bad "export summary: $(cat "$T/out")"
    [ ! -s "$T/err" ] && ok || bad "export wrote to stderr: $(cat "$T/err")"
else
    bad "export default.h5: $(cat "$T/err")"
fi
# a ModelProto: field 1 (ir_version, varint) = 7 first; the first weight of layer 0, as
# float32 little-endian bytes from the checkpoint, is inside
[ "$(head -c 2 "$T/p.onnx" | od -An -tx1 | tr -d ' ')" = "0807" ] && ok || bad "not a ModelProto"
if /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
    /usr/bin/python3 - "$SRC/policies/default.h5" "$T/p.onnx" <<'PY' && ok || bad "the weights are not in the model"
import sys, h5py
w = h5py.File(sys.argv[1], "r")["weights/layer_1/weight"][...]
blob = open(sys.argv[2], "rb").read()
assert w.astype("<f4").tobytes() in blob
PY
fi
ls -a "$T" | grep -q '\.tmp\.' && bad "a temporary was left: $(ls -a "$T")" || ok

# an existing file is replaced whole, atomically
head -c 100000 /dev/urandom >"$T/old.onnx"
"$BIN" export "$SRC/policies/default.h5" --format onnx --out "$T/old.onnx" >/dev/null 2>&1 \
    && cmp -s "$T/old.onnx" "$T/p.onnx" && ok || bad "re-export over an existing file differs"

# no libtorch needed: rlsched alone (no rlsched-train beside it)
mkdir "$T/alone"
cp "$BIN" "$T/alone/rlsched"
"$T/alone/rlsched" export "$SRC/policies/default.h5" --format onnx --out "$T/alone.onnx" >/dev/null 2>"$T/err" \
    && cmp -s "$T/alone.onnx" "$T/p.onnx" && ok || bad "onnx export without rlsched-train: $(cat "$T/err")"
"$T/alone/rlsched" export "$SRC/policies/default.h5" --format torchscript --out "$T/alone.pt" >/dev/null 2>"$T/err"
rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "without libtorch" "$T/err" && [ ! -e "$T/alone.pt" ] \
    && ok || bad "torchscript without rlsched-train: rc $rc $(cat "$T/err")"

# refuse WHAT WANT_RC GREP ARGS...: exit WANT_RC, one stderr line matching GREP, no $T/x.onnx
refuse() {
    local what=$1 want=$2 pat=$3
    shift 3
    rm -f "$T/x.onnx"
    timeout 60 "$BIN" export "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ $rc -ne "$want" ]; then
        bad "$what: exit $rc, expected $want: $(cat "$T/err")"
    elif [ "$(wc -l <"$T/err")" -ne 1 ] || ! grep -q -- "$pat" "$T/err"; then
        bad "$what: stderr is not one line naming '$pat': $(cat "$T/err")"
    elif [ -e "$T/x.onnx" ] || ls -a "$T" | grep -q '\.tmp\.'; then
        bad "$what: an output file was left"
    else
        ok
    fi
}
echo "not hdf5" >"$T/junk.h5"
refuse "unknown format" 2 "'tflite'" "$SRC/policies/default.h5" --format tflite --out "$T/x.onnx"
refuse "missing checkpoint" 1 "missing.h5" "$T/missing.h5" --format onnx --out "$T/x.onnx"
refuse "not a checkpoint" 1 "junk.h5" "$T/junk.h5" --format onnx --out "$T/x.onnx"
refuse "unwritable output" 1 "no/such/dir" "$SRC/policies/default.h5" --format onnx --out "$T/no/such/dir/x.onnx"
refuse "bad --bcq-tau" 2 "bcq-tau" "$SRC/policies/default.h5" --format onnx --bcq-tau 0 --out "$T/x.onnx"
refuse "no --out" 2 "--out" "$SRC/policies/default.h5" --format onnx

echo "cli_export_onnx: $pass passed, $fail failed"
[ $fail -eq 0 ]
