#!/usr/bin/env bash
# Load test of /metrics: the release binary serves the demo data and
# refreshes every second while wrk hammers /metrics from a second process on
# loopback. Prints wrk's numbers and how many refreshes completed meanwhile.
#
# Usage: scripts/load-test.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-10}
CONNECTIONS=${2:-64}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LISTEN_ADDR=127.0.0.1:$PORT CACHE_TTL_SECONDS=1 LOG_LEVEL=warn ./target/release/copilot-metrics-exporter --demo &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
refreshes() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^copilot_exporter_refreshes_total/ {s+=$2} END {print s+0}'; }
BEFORE=$(refreshes)
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_TO_RUN}s" --latency "http://127.0.0.1:$PORT/metrics"
AFTER=$(refreshes)
echo "refreshes during the run: $((AFTER - BEFORE)) (schedule: one per second, ${SECONDS_TO_RUN} s)"
echo "exporter RSS after the run: $(awk '/VmRSS/ {print $2, $3}' /proc/$PID/status)"
echo "response size: $(curl -s "http://127.0.0.1:$PORT/metrics" | wc -c) bytes"
