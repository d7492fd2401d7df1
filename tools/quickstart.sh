#!/usr/bin/env bash
# quickstart.sh - the two commands of README.md, on a fresh Debian 12 as root.
#   tools/quickstart.sh demo   install what is missing, build into build/, run the
#                              baseline evaluation on the embedded default scenario
#   tools/quickstart.sh test   install, build (ASan + UBSan) and run the test suite
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES="build-essential cmake pkg-config libyaml-dev libjansson-dev libcmocka-dev libhdf5-dev libzmq3-dev libmsgpack-dev libmicrohttpd-dev libcurl4-openssl-dev haproxy prometheus libtorch-dev libopenblas0-pthread python3-numpy python3-h5py python3-torch python3-yaml python3-onnx slurm-wlm munge"

install_missing() {
    local missing=""
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        echo "quickstart: installing$missing"
        if [ "$(id -u)" != 0 ]; then
            echo "quickstart: need root to apt-get install:$missing" >&2
            exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends $missing
    fi
}

build_release() {
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build -j"$(nproc)"
}

case "${1:-}" in
demo)
    install_missing
    build_release
    build/rlsched eval --scenario default \
        --policy static,hpa,hpa-tuned,kpa,predictive,oracle,policies/default.h5 \
        --json build/demo.json --decisions build/demo-decisions.csv --svg build/demo.svg
    echo "quickstart: wrote build/demo.json, build/demo-decisions.csv, build/demo.svg"
    ;;
test)
    install_missing
    build_release
    cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DRLS_SANITIZE=ON >/dev/null
    cmake --build build/sanitize -j"$(nproc)"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build/sanitize --output-on-failure -j"$(nproc)"
    ;;
*)
    echo "usage: tools/quickstart.sh demo|test" >&2
    exit 2
    ;;
esac
