#!/usr/bin/env bash
# Paired criterion runs: a bench of this checkout against the same bench
# built from another commit, run alternately on the same core, so that the
# drift of a shared machine (this project's VM reads ±25–40 % apart within
# an hour) hits both sides alike. Prints, per benchmark, the median time of
# each run and the ratio now / base of the medians over all runs.
#
#   scripts/bench-paired.sh REV [ROUNDS] [FILTER]
#   scripts/bench-paired.sh 2cb2e71 3 'teams/add_line$|users/add_line_hashed'
#
# Environment: BENCH (default parse), BASE_TARGET (target directory of the
# base build, default target/bench-paired; a copy of target/release there
# saves rebuilding dependencies), MEASUREMENT_TIME (seconds, default 3).
set -euo pipefail

REV=${1:?usage: scripts/bench-paired.sh REV [ROUNDS] [FILTER]}
ROUNDS=${2:-3}
FILTER=${3:-.}
BENCH=${BENCH:-parse}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BASE_TARGET=${BASE_TARGET:-$ROOT/target/bench-paired}
WT=$ROOT/target/bench-paired-src
OUT=$ROOT/target/bench-paired-out
mkdir -p "$OUT"

executable() { sed -n "s/.*Executable benches\/$BENCH.rs (\(.*\))/\1/p" "$1" | tail -1; }

echo "== building the $BENCH bench of this checkout" >&2
cargo bench --bench "$BENCH" --no-run 2>"$OUT/now.build"
NOW=$(executable "$OUT/now.build")
case "$NOW" in /*) ;; *) NOW=$ROOT/$NOW ;; esac

echo "== building the $BENCH bench of $REV in $WT" >&2
git worktree remove --force "$WT" 2>/dev/null || rm -rf "$WT"
git worktree add --detach "$WT" "$REV" >/dev/null
(cd "$WT" && CARGO_TARGET_DIR=$BASE_TARGET cargo bench --bench "$BENCH" --no-run) 2>"$OUT/base.build"
BASE=$(executable "$OUT/base.build")
git worktree remove --force "$WT"

PIN=()
if command -v taskset >/dev/null; then PIN=(taskset -c 0); fi
: >"$OUT/runs.tsv"
for round in $(seq 1 "$ROUNDS"); do
  for side in base now; do
    bin=$BASE; [ "$side" = now ] && bin=$NOW
    echo "== round $round: $side (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    "${PIN[@]}" "$bin" --bench "$FILTER" --warm-up-time 1 \
      --measurement-time "${MEASUREMENT_TIME:-3}" --noplot 2>/dev/null |
      python3 -c '
import re, sys
side, rnd = sys.argv[1], sys.argv[2]
name = None
unit = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
for line in sys.stdin:
    m = re.match(r"^(\S+)", line)
    if m and not line.startswith(" "):
        name = m.group(1)
    t = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
    if t and name and "%" not in line:
        print(f"{side}\t{rnd}\t{name}\t{float(t.group(1)) * unit[t.group(2)]}")
' "$side" "$round" >>"$OUT/runs.tsv"
  done
done

python3 - "$OUT/runs.tsv" "$REV" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    side, _, name, secs = line.rstrip("\n").split("\t")
    runs[name][side].append(float(secs))
def fmt(s):
    for unit, f in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if s >= f:
            return f"{s / f:.3g} {unit}"
    return f"{s:.3g} s"
print(f"| benchmark | base {sys.argv[2]}: each run | now: each run | now / base (medians) |")
print("|---|---|---|---|")
for name, sides in runs.items():
    if "base" not in sides or "now" not in sides:
        continue
    b, n = sides["base"], sides["now"]
    ratio = statistics.median(n) / statistics.median(b)
    print(f"| `{name}` | {' / '.join(map(fmt, b))} | {' / '.join(map(fmt, n))} | {ratio:.2f} |")
EOF
