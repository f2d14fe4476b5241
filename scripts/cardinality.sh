#!/usr/bin/env bash
# Cardinality table of the README: series per team and per user, with the
# default breakdowns and what each breakdown adds, measured on generated
# reports (examples/gen_reports.rs: the documented row schemas, 5 IDEs,
# 9 features, 17 languages, 7 models) served by examples/fake_github_files.
#
#   scripts/cardinality.sh [USERS] [TEAMS]     # default: 20000 users, 80 teams
#
# Runs `copilot-metrics-exporter --once` twice on the same files (TEAMS=true,
# USER_METRICS=login): once with every breakdown on (TEAM_BREAKDOWNS=all,
# USER_BREAKDOWNS=all), once with the defaults, and prints the series per
# team and per user of the totals and of each breakdown. Environment:
# CARGO_PROFILE (default release), BENCH_DATA (default target/bench-data).
set -euo pipefail

USERS=${1:-20000}
TEAMS=${2:-80}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PROFILE=${CARGO_PROFILE:-release}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DATA=${BENCH_DATA:-$ROOT/target/bench-data}/cardinality-${USERS}u-${TEAMS}t
OUT=$ROOT/target/cardinality
mkdir -p "$OUT"

flag=(); [ "$PROFILE" = release ] && flag=(--release)
cargo build "${flag[@]}" --quiet --bin copilot-metrics-exporter --example gen_reports --example fake_github_files
DIR=$TARGET/$([ "$PROFILE" = release ] && echo release || echo debug)
if [ ! -f "$DATA/manifest.json" ]; then
  rm -rf "$DATA"
  "$DIR/examples/gen_reports" --users "$USERS" --teams "$TEAMS" --out "$DATA" >/dev/null
fi
ENT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["enterprise"])' "$DATA/manifest.json")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API_PORT=$(free_port); DL_PORT=$(free_port)
"$DIR/examples/fake_github_files" "$DATA" "$API_PORT" "$DL_PORT" 2>"$OUT/fake.log" &
FAKE=$!
trap 'kill $FAKE 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$API_PORT/" && break; sleep 0.1; done

run() { # NAME, then extra environment
  local name=$1; shift
  env GHC_TOKEN=bench ENTERPRISE="$ENT" GITHUB_API_URL="http://127.0.0.1:$API_PORT" \
    TEAMS=true USER_METRICS=login USER_METRICS_MAX=10000000 SEATS=false LOG_LEVEL=warn "$@" \
    "$DIR/copilot-metrics-exporter" --once >"$OUT/$name.prom" 2>"$OUT/$name.log"
}
run all TEAM_BREAKDOWNS=all USER_BREAKDOWNS=all
run default

python3 - "$OUT/all.prom" "$OUT/default.prom" "$USERS" "$TEAMS" <<'EOF'
import re, sys
from collections import Counter

SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s')
BREAKDOWNS = ["ide", "feature", "language_feature", "language_model", "model_feature"]

def kind(name):
    for b in BREAKDOWNS:
        if name.endswith("_by_" + b):
            return b
    if re.match(r'copilot_(team|user)_cli_', name):
        return "cli"
    return "totals"

def count(path):
    per = {"team": Counter(), "user": Counter()}
    entities = {"team": set(), "user": set()}
    for line in open(path):
        m = SERIES.match(line)
        if not m or m.group(1).startswith("copilot_exporter_"):
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        for who in ("team", "user"):
            if who in labels and m.group(1).startswith(f"copilot_{who}_"):
                per[who][kind(m.group(1))] += 1
                entities[who].add(labels[who])
    return per, {k: len(v) for k, v in entities.items()}

every, n = count(sys.argv[1])
default, n_default = count(sys.argv[2])
assert n == n_default, (n, n_default)
print(f"data: gen_reports --users {sys.argv[3]} --teams {sys.argv[4]} "
      f"({n['team']} teams, {n['user']} users)\n")
print("| | per team | per user |")
print("|---|---:|---:|")
avg = lambda c, who: sum(c[who].values()) / max(n[who], 1)
print(f"| default settings | {avg(default, 'team'):.0f} | {avg(default, 'user'):.0f} |")
print(f"| every breakdown on (`all`) | {avg(every, 'team'):.0f} | {avg(every, 'user'):.0f} |")
for k in ["totals"] + BREAKDOWNS + ["cli"]:
    t = every["team"][k] / max(n["team"], 1)
    u = every["user"][k] / max(n["user"], 1)
    label = "totals (no breakdown)" if k == "totals" else f"`{k}` adds"
    print(f"| {label} | {t:.1f} | {u:.1f} |")
EOF
