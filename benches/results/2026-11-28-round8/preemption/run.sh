#!/usr/bin/env bash
# Where the live caller's wall time goes: chunks of 32,768 `#[billable]`
# calls into a live test database (as `hot_path/billable_live` times them,
# a flush between chunks), each chunk's wall time and its thread's CPU time
# per call, and how often the calling thread was preempted meanwhile
# (nonvoluntary context switches from /proc/thread-self/status).
#
#   cp benches/results/2026-11-28-round8/preemption/probe_chunks.rs examples/
#   cargo build --release --example probe_chunks && rm examples/probe_chunks.rs
#   benches/results/2026-11-28-round8/preemption/run.sh > OUT
set -euo pipefail
cd "$(dirname "$0")/../../../.."
eval "$(scripts/testdb start)"
trap 'kill "$PID" 2>/dev/null' EXIT
for run in 1 2 3 4; do
    echo "# run $run, test database on both cores"
    MONGODB_URI="$MONGODB_URI" target/release/examples/probe_chunks 32768 2>&1
done
taskset -a -p -c 1 "$PID" >/dev/null
for run in 1 2 3 4; do
    echo "# run $run, test database pinned to core 1"
    MONGODB_URI="$MONGODB_URI" target/release/examples/probe_chunks 32768 2>&1
done
