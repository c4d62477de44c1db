#!/usr/bin/env bash
# What one isolated call touches: each variant runs 1,000 calls, sleeps
# 20 ms, then makes one call between two marker loads, five times, under
# valgrind's lackey (every instruction fetch and data access traced);
# count.py counts the distinct cache lines and 4 KiB pages of code and of
# data between the markers. With the test database live, as the benches.
# `billed` takes about ten minutes (the MongoDB driver's start-up is
# traced too).
#
#   cp benches/results/2026-11-28-round9/footprint/probe_footprint.rs examples/
#   cargo build --release --example probe_footprint && rm examples/probe_footprint.rs
#   benches/results/2026-11-28-round9/footprint/run.sh [VARIANT ...] > OUT
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../../../.."
eval "$(scripts/testdb start)"
trap 'kill "$PID" 2>/dev/null' EXIT
for variant in "${@:-bare fastraced traced billed}"; do
    for v in $variant; do
        echo "# $v"
        MONGODB_URI="$MONGODB_URI" valgrind --tool=lackey --trace-mem=yes \
            target/release/examples/probe_footprint "$v" 2>&1 | python3 "$here/count.py"
    done
done
