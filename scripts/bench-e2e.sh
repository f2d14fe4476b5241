#!/usr/bin/env bash
# End-to-end benchmark: generated reports → fake GitHub on loopback →
# `copilot-metrics-exporter --once` with TEAMS=true (TEAM_BREAKDOWNS=all: every
# breakdown, as the baseline computes them), next to the Python
# baseline (json.loads per line, dict aggregation) on the same files; checks
# that both compute the same team metrics, then measures the footprint.
#
#   scripts/bench-e2e.sh [SIZE_MB] [TEAMS]      # default: 1024 MB, 50 teams (~110 k team series)
#   scripts/bench-e2e.sh 1m                     # the 1 M-series configuration: 1024 MB, 500 teams
#
# The output grows with TEAMS (about 2 000 team series a team with the
# generated data: 5 teams ≈ 11 k, 50 ≈ 110 k, 500 ≈ 1 M series); the
# report size with SIZE_MB. The summary prints the series written.
#
# REMOTE_WRITE=vm or REMOTE_WRITE=prometheus: the exporter sends its output
# with remote-write to a real receiver on loopback (VictoriaMetrics, or
# Prometheus with --web.enable-remote-write-receiver, pinned with the fake
# GitHub) instead of printing it; the summary then counts the samples the
# exporter delivered and the series the receiver holds (no Python
# comparison: it reads the printed exposition).
#
# Environment: BENCH_DATA (default target/bench-data), CARGO_TARGET_DIR,
# SKIP_PYTHON=1 (exporter only), SKIP_FOOTPRINT=1, SCRAPE=1 (also run the
# service on the same data and measure its peak RSS while `/metrics` is
# scraped: once plain, once with `Accept-Encoding: gzip`, then 4 plain
# scrapes at once; the peak is reset through /proc/PID/clear_refs after the
# first refresh, so it is the scrape's alone), EXPORTER_BIN (measure
# another build of the exporter, e.g. an older commit's, on the same data), SEED_VENV (a venv with
# flask, prometheus_client, requests; created on first use when missing).
# The exporter and the Python baseline run pinned to CPU 0, the fake GitHub
# to CPU 1 (when there are two).
set -euo pipefail

SIZE_MB=${1:-1024}
TEAMS=${2:-50}
if [ "$SIZE_MB" = 1m ]; then SIZE_MB=1024; TEAMS=${2:-500}; fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DATA=${BENCH_DATA:-$ROOT/target/bench-data}/users-${SIZE_MB}mb-${TEAMS}teams
OUT=$ROOT/target/bench-e2e
SEED_VENV=${SEED_VENV:-$TARGET/seed-venv}
rm -rf "$OUT"; mkdir -p "$OUT"

die() { echo "bench-e2e: $*" >&2; exit 1; }
if [ ! -x /usr/bin/time ]; then
  echo "bench-e2e: installing GNU time" >&2
  { apt-get install -y time || { apt-get update && apt-get install -y time; }; } >/dev/null 2>&1 \
    || die "needs /usr/bin/time (apt-get install time)"
fi
CPU0=(); CPU1=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then CPU0=(taskset -c 0); CPU1=(taskset -c 1); fi

echo "== build (release)" >&2
cargo build --release --quiet --bin copilot-metrics-exporter --example gen_reports --example fake_github_files
BIN=${EXPORTER_BIN:-$TARGET/release/copilot-metrics-exporter}

if [ ! -f "$DATA/manifest.json" ]; then
  echo "== generating ${SIZE_MB} MB of users-1-day, ${TEAMS} teams into $DATA" >&2
  rm -rf "$DATA"
  "$TARGET/release/examples/gen_reports" --size-mb "$SIZE_MB" --teams "$TEAMS" --out "$DATA"
fi
DAY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["day"])' "$DATA/manifest.json")
ENT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["enterprise"])' "$DATA/manifest.json")
BYTES=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["users_bytes"])' "$DATA/manifest.json")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API_PORT=$(free_port); DL_PORT=$(free_port)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
"${CPU1[@]}" "$TARGET/release/examples/fake_github_files" "$DATA" "$API_PORT" "$DL_PORT" 2>"$OUT/fake.log" &
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$API_PORT/" && break; sleep 0.1; done
API=http://127.0.0.1:$API_PORT

SINK_ENV=(); LOG=warn
case "${REMOTE_WRITE:-}" in
  "") ;;
  vm)
    command -v victoria-metrics >/dev/null || die "REMOTE_WRITE=vm needs victoria-metrics (apt-get install victoria-metrics)"
    RW_PORT=$(free_port)
    "${CPU1[@]}" victoria-metrics -httpListenAddr="127.0.0.1:$RW_PORT" -storageDataPath="$OUT/vm-data" \
      -retentionPeriod=2y -search.disableCache -search.latencyOffset=0s >"$OUT/receiver.log" 2>&1 &
    PIDS+=($!)
    RW_BASE=http://127.0.0.1:$RW_PORT; RW_WRITE=$RW_BASE/api/v1/write ;;
  prometheus)
    command -v prometheus >/dev/null || die "REMOTE_WRITE=prometheus needs prometheus (apt-get install prometheus)"
    RW_PORT=$(free_port)
    printf 'global:\n  scrape_interval: 1h\n' >"$OUT/prometheus.yml"
    "${CPU1[@]}" prometheus --config.file="$OUT/prometheus.yml" --storage.tsdb.path="$OUT/prom-data" \
      --web.listen-address="127.0.0.1:$RW_PORT" --web.enable-remote-write-receiver >"$OUT/receiver.log" 2>&1 &
    PIDS+=($!)
    RW_BASE=http://127.0.0.1:$RW_PORT; RW_WRITE=$RW_BASE/api/v1/write ;;
  *) die "REMOTE_WRITE must be vm or prometheus, not ${REMOTE_WRITE}" ;;
esac
if [ -n "${RW_BASE:-}" ]; then
  for _ in $(seq 300); do curl -sf -o /dev/null "$RW_BASE/-/ready" && break; curl -sf -o /dev/null "$RW_BASE/health" && break; sleep 0.2; done
  SINK_ENV=(REMOTE_WRITE_URL="$RW_WRITE" REMOTE_WRITE_INTERVAL_SECONDS=0)
  # The per-scope "remote-write publish done" line carries samples_sent.
  LOG="warn,copilot_metrics_exporter::sinks::remote_write=info"
  SKIP_PYTHON=1
  echo "== receiver: ${REMOTE_WRITE} at $RW_BASE" >&2
fi

echo "== exporter --once (TEAMS=true) on $((BYTES / 1000000)) MB${RW_BASE:+, remote-write to ${REMOTE_WRITE}}" >&2
env GHC_TOKEN=bench ENTERPRISE="$ENT" GITHUB_API_URL="$API" TEAMS=true TEAM_BREAKDOWNS=all SEATS=false LOG_LEVEL="$LOG" \
  "${SINK_ENV[@]}" "${CPU0[@]}" /usr/bin/time -v -o "$OUT/exporter.time" "$BIN" --once >"$OUT/exporter.prom" 2>"$OUT/exporter.log" \
  || die "exporter failed: $(tail -5 "$OUT/exporter.log")"
if [ -n "${RW_BASE:-}" ]; then
  sed -n 's/.*samples_sent=\([0-9]*\).*/\1/p' "$OUT/exporter.log" | awk '{s += $1} END {print s + 0}' >"$OUT/rw_samples.count"
  curl -sf -o /dev/null "$RW_BASE/internal/force_flush" || true
  sleep 2
  # Series the receiver holds: VictoriaMetrics' series count, Prometheus' head.
  if [ "$REMOTE_WRITE" = vm ]; then
    curl -sf "$RW_BASE/api/v1/series/count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0])'
  else
    curl -sf "$RW_BASE/api/v1/status/tsdb" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["headStats"]["numSeries"])'
  fi >"$OUT/rw_series.count" || echo "?" >"$OUT/rw_series.count"
fi

{ grep -v '^#' "$OUT/exporter.prom" || true; } | wc -l >"$OUT/series.count"
grep -c '^copilot_team_' "$OUT/exporter.prom" >"$OUT/team_series.count" || true

if [ "${SKIP_PYTHON:-0}" != 1 ]; then
  echo "== Python baseline on the same files" >&2
  "${CPU0[@]}" /usr/bin/time -v -o "$OUT/python.time" \
    python3 scripts/baseline/teams_baseline.py "$API" "$ENT" "$DAY" "$OUT/python.json" 2>"$OUT/python.log" \
    || die "baseline failed: $(tail -5 "$OUT/python.log")"
  echo "== comparing team metrics" >&2
  python3 scripts/baseline/compare_teams.py "$OUT/exporter.prom" "$OUT/python.json" | tee "$OUT/compare.txt" \
    || die "the exporter's team metrics differ from the Python baseline's"
fi

if [ "${SCRAPE:-0}" = 1 ]; then
  echo "== service mode: peak RSS while /metrics is scraped" >&2
  PORT=$(free_port)
  env GHC_TOKEN=bench ENTERPRISE="$ENT" GITHUB_API_URL="$API" TEAMS=true TEAM_BREAKDOWNS=all SEATS=false LOG_LEVEL=warn \
    LISTEN_ADDR=127.0.0.1:$PORT "${CPU0[@]}" "$BIN" 2>"$OUT/service.log" &
  SVC=$!; PIDS+=($SVC)
  for _ in $(seq 1200); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" && break
    kill -0 "$SVC" 2>/dev/null || die "service died: $(tail -5 "$OUT/service.log")"
    sleep 0.1
  done
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" || die "service not ready after 120 s"
  sleep 1
  status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$SVC/status"; }
  status VmHWM >"$OUT/service_refresh_hwm.kb"
  URL=http://127.0.0.1:$PORT/metrics
  for mode in plain gzip plain4; do
    status VmRSS >"$OUT/scrape_${mode}_rss_before.kb"
    echo 5 >"/proc/$SVC/clear_refs"   # VmHWM := current RSS
    case $mode in
      plain) "${CPU1[@]}" curl -sf -o "$OUT/scrape_plain.body" -w '%{time_total} %{size_download}\n' "$URL" >"$OUT/scrape_plain.curl" ;;
      gzip) "${CPU1[@]}" curl -sf -H 'Accept-Encoding: gzip' -o "$OUT/scrape_gzip.body" -w '%{time_total} %{size_download}\n' "$URL" >"$OUT/scrape_gzip.curl" ;;
      plain4)
        s=$(date +%s%N); CURLS=()
        for i in 1 2 3 4; do "${CPU1[@]}" curl -sf -o /dev/null "$URL" & CURLS+=($!); done
        for c in "${CURLS[@]}"; do wait "$c" || die "a concurrent scrape failed"; done
        e=$(date +%s%N); echo "$(( (e - s) / 1000000 ))e-3 0" >"$OUT/scrape_plain4.curl" ;;
    esac
    status VmHWM >"$OUT/scrape_${mode}_hwm.kb"
  done
  # The data lines, to compare builds (self-metrics and process_* move).
  grep -v '^#\|^process_\|^copilot_exporter_' "$OUT/scrape_plain.body" | sha256sum | cut -c1-16 >"$OUT/scrape_data.sha"
  grep -vc '^#' "$OUT/scrape_plain.body" >"$OUT/scrape_series.count" || true
  gzip -dc "$OUT/scrape_gzip.body" | grep -v '^#\|^process_\|^copilot_exporter_' | sha256sum | cut -c1-16 >"$OUT/scrape_gzip_data.sha"
  kill "$SVC"; wait "$SVC" 2>/dev/null || true
  rm -f "$OUT/scrape_plain.body" "$OUT/scrape_gzip.body"
fi

if [ "${SKIP_FOOTPRINT:-0}" != 1 ]; then
  echo "== footprint" >&2
  # Start to a completed --once --demo: median of 5.
  for i in 1 2 3 4 5; do
    s=$(date +%s%N); "$BIN" --once --demo >/dev/null 2>&1; e=$(date +%s%N)
    echo $(( (e - s) / 1000 ))
  done | sort -n | sed -n 3p >"$OUT/once_demo.us"
  # Idle RSS of the service (--demo), after its first refresh and a scrape.
  PORT=$(free_port)
  LISTEN_ADDR=127.0.0.1:$PORT LOG_LEVEL=warn "$BIN" --demo 2>/dev/null &
  SVC=$!; PIDS+=($SVC)
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics" && break; sleep 0.05; done
  sleep 2; curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics" || true
  grep VmRSS "/proc/$SVC/status" | awk '{print $2}' >"$OUT/idle_rss.kb"
  kill "$SVC"
  stat -c %s "$BIN" >"$OUT/binary.bytes"
  # The Python seed stand-in (scripts/baseline/seed_like.py).
  if [ ! -x "$SEED_VENV/bin/python" ]; then
    (python3 -m venv "$SEED_VENV" && "$SEED_VENV/bin/pip" install -q flask prometheus_client requests) >"$OUT/seed-venv.log" 2>&1 \
      || echo "bench-e2e: no seed venv (pip failed), skipping the seed footprint" >&2
  fi
  if [ -x "$SEED_VENV/bin/python" ]; then
    PORT=$(free_port)
    s=$(date +%s%N)
    PORT=$PORT GITHUB_API_URL="$API" ORG="$ENT" GHC_TOKEN=bench "$SEED_VENV/bin/python" scripts/baseline/seed_like.py >/dev/null 2>&1 &
    SEED=$!; PIDS+=($SEED)
    for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics" && break; sleep 0.02; done
    e=$(date +%s%N); echo $(( (e - s) / 1000 )) >"$OUT/seed_first_scrape.us"
    sleep 2; curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics" || true
    grep VmRSS "/proc/$SEED/status" | awk '{print $2}' >"$OUT/seed_idle_rss.kb"
    du -sk "$SEED_VENV/lib" | awk '{print $1 * 1024}' >"$OUT/seed_venv.bytes"
    kill "$SEED"
  fi
fi

python3 - "$OUT" "$BYTES" "$SIZE_MB" "$TEAMS" <<'PY'
import os, re, sys
out, size, size_mb, teams = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def gnu_time(path):
    if not os.path.exists(path):
        return None
    t = open(path).read()
    def num(label):
        m = re.search(re.escape(label) + r":\s*(\S+)", t)
        return m.group(1) if m else "0"
    wall = num("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    cpu = float(num("User time (seconds)")) + float(num("System time (seconds)"))
    return secs, cpu, int(num("Maximum resident set size (kbytes)")) / 1024

def read(name):
    p = os.path.join(out, name)
    return open(p).read().strip() if os.path.exists(p) else None

mb = size / 1e6
rows = [("copilot-metrics-exporter --once", gnu_time(os.path.join(out, "exporter.time"))),
        ("Python baseline (json.loads + dicts)", gnu_time(os.path.join(out, "python.time")))]
print(f"\nusers-1-day: {mb:.0f} MB ({size_mb} MB asked), {teams} teams; exporter and baseline pinned to one core")
print(f"| {'run':38} | {'wall s':>8} | {'CPU s':>8} | {'MB/s (wall)':>11} | {'MB/s (CPU)':>10} | {'peak RSS MB':>11} |")
print(f"|{'-'*40}|{'-'*10}|{'-'*10}|{'-'*13}|{'-'*12}|{'-'*13}|")
for name, r in rows:
    if r:
        wall, cpu, rss = r
        print(f"| {name:38} | {wall:8.2f} | {cpu:8.2f} | {mb / wall:11.1f} | {mb / max(cpu, 1e-9):10.1f} | {rss:11.1f} |")
if rows[0][1] and rows[1][1]:
    (w0, c0, r0), (w1, c1, r1) = rows[0][1], rows[1][1]
    print(f"| {'ratio (baseline / exporter)':38} | {w1 / w0:7.1f}x | {c1 / c0:7.1f}x | {'':11} | {'':10} | {r1 / r0:10.1f}x |")
if read("rw_samples.count"):
    print(f"\nremote-write ({os.environ.get('REMOTE_WRITE')}): {read('rw_samples.count')} samples delivered, "
          f"{read('rw_series.count')} series in the receiver")
else:
    print(f"\nseries written by the exporter: {read('series.count')} ({read('team_series.count')} team series)")
cmp_ = read("compare.txt")
if cmp_:
    print(f"\ncorrectness: {cmp_}")
if read("scrape_plain_hwm.kb"):
    kb = lambda name: int(read(name)) / 1024
    print(f"\nservice: RSS after its first refresh {kb('scrape_plain_rss_before.kb'):.1f} MB "
          f"(peak during the refresh {kb('service_refresh_hwm.kb'):.1f} MB); "
          f"/metrics: {read('scrape_series.count')} series, data lines {read('scrape_data.sha')} "
          f"(gzip: {read('scrape_gzip_data.sha')})")
    print("| scrape | peak RSS MB during it | over RSS before MB | wall s | bytes |")
    print("|---|---|---|---|---|")
    for mode, label in (("plain", "plain"), ("gzip", "Accept-Encoding: gzip"), ("plain4", "4 plain at once")):
        secs, size = read(f"scrape_{mode}.curl").split()
        hwm, before = kb(f"scrape_{mode}_hwm.kb"), kb(f"scrape_{mode}_rss_before.kb")
        print(f"| {label} | {hwm:.1f} | +{hwm - before:.1f} | {float(secs):.2f} | {int(size) if size != '0' else ''} |")
if read("binary.bytes"):
    print("\n| footprint | copilot-metrics-exporter | Python seed stand-in (seed_like.py) |")
    print("|---|---|---|")
    venv = read("seed_venv.bytes")
    print(f"| install size | {int(read('binary.bytes')) / 1e6:.1f} MB (static binary) | "
          + (f"{int(venv) / 1e6:.0f} MB (venv site-packages, plus CPython)" if venv else "n/a") + " |")
    seed_rss = read("seed_idle_rss.kb")
    print(f"| idle RSS (service, after a refresh and a scrape) | {int(read('idle_rss.kb')) / 1024:.1f} MB | "
          + (f"{int(seed_rss) / 1024:.1f} MB" if seed_rss else "n/a") + " |")
    first = read("seed_first_scrape.us")
    print(f"| start → completed `--once --demo` (median of 5) | {int(read('once_demo.us')) / 1000:.0f} ms | "
          + (f"start → first /metrics answer: {int(first) / 1000:.0f} ms" if first else "n/a") + " |")
PY
