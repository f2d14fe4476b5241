#!/usr/bin/env bash
# CI step for the packaging issue, meant to be called from .ci/run BEFORE
# `cargo test` (tests/packaging.rs needs the tools; with CI set a missing tool
# fails the test instead of skipping it):
#
#   bash .ci/packaging.sh
#
# 1. installs the offline packaging tools (.ci-deps/, Debian packages),
# 2. runs scripts/check-packaging.sh (hadolint, helm lint/template,
#    kubernetes-validate, promtool, dashboard checks),
# 3. builds the static release binary and runs scripts/image-smoke.sh
#    (buildah build of the runtime-prebuilt target, run as uid 65532).
#    SKIP_IMAGE_SMOKE=1 skips step 3 (it costs a release build, ~5 min on 2 cores).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bash .ci/install-packaging-tools.sh
scripts/check-packaging.sh

if [[ "${SKIP_IMAGE_SMOKE:-0}" == 1 ]]; then
  echo "image smoke test skipped (SKIP_IMAGE_SMOKE=1)"
  exit 0
fi
target_dir="${CARGO_TARGET_DIR:-$root/target}"
# The machine's own target triple (x86_64-unknown-linux-gnu, aarch64-…), so
# the same step works on every architecture the image is built for.
host="$(rustc -vV | sed -n 's/^host: //p')"
[[ -n "$host" ]] || { echo "cannot read the host triple from rustc -vV" >&2; exit 1; }
# Static glibc binary: runs in the FROM-scratch runtime-prebuilt image.
RUSTFLAGS='-C target-feature=+crt-static' \
  cargo build --release --locked --target "$host" --bin copilot-metrics-exporter
scripts/image-smoke.sh "$target_dir/$host/release/copilot-metrics-exporter"
