#!/usr/bin/env bash
# Builds the container image from the Dockerfile's `runtime-prebuilt` target
# around a host-built static binary, then runs it. No registry is needed.
#
# Usage: scripts/image-smoke.sh PATH/TO/copilot-metrics-exporter
#   The binary must be static, e.g. built with
#     RUSTFLAGS='-C target-feature=+crt-static' \
#       cargo build --release --target "$(rustc -vV | sed -n 's/^host: //p')"
#
# Checks (each one fails the script):
#   1. the binary is statically linked (no ELF interpreter)
#   2. `buildah build --target runtime-prebuilt` succeeds
#   3. image config: User 65532:65532, port 8000/tcp exposed, exec-form
#      entrypoint /copilot-metrics-exporter, OCI version/revision labels
#   4. `--once --demo` inside the image exits 0 and prints copilot_* metrics
#   5. server mode (the `docker run -p 8000:8000` recipe): /metrics answers
#      with copilot_* metrics, /healthz and /readyz answer 200, and the
#      serving process runs as uid/gid 65532
#
# Engine: buildah with vfs storage and chroot isolation (works unprivileged
# and without a daemon on the build machines; podman run does not, see
# shared/reference/packaging.md section 3.3). Everything lives in a temporary
# directory that is removed at exit (KEEP_SMOKE_DIR=1 keeps it).
set -euo pipefail

die() { echo "image-smoke: FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); echo "image-smoke: ok: $*"; }
checks=0

[[ $# -eq 1 ]] || die "usage: $0 PATH/TO/copilot-metrics-exporter"
bin="$(realpath "$1")"
[[ -x "$bin" ]] || die "$bin is not an executable file"
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v buildah >/dev/null || die "buildah is not installed (.ci/install-packaging-tools.sh)"

version="${IMAGE_VERSION:-$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)}"
revision="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
image="localhost/copilot-metrics-exporter:smoke"

work="$(mktemp -d /tmp/image-smoke.XXXXXX)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    # Stop only what this script started: the server's process tree.
    kill_tree "$server_pid" || true
  fi
  for c in "${containers[@]:-}"; do
    [[ -n "$c" ]] && buildah "${S[@]}" rm "$c" >/dev/null 2>&1 || true
  done
  if [[ "${KEEP_SMOKE_DIR:-0}" == 1 ]]; then
    echo "image-smoke: kept $work" >&2
  else
    buildah "${S[@]}" rmi -a -f >/dev/null 2>&1 || true
    rm -rf "$work" 2>/dev/null || true
  fi
}
kill_tree() {
  local pid=$1 child
  for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do kill_tree "$child"; done
  kill "$pid" 2>/dev/null || true
}
# All descendants of a pid, one per line.
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$child"; descendants "$child"; done
}
containers=()
S=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)
trap cleanup EXIT

# 1. static binary: a dynamic one would fail at exec time in a scratch image.
if readelf -l "$bin" 2>/dev/null | grep -q 'INTERP'; then
  die "$bin is dynamically linked; build with RUSTFLAGS='-C target-feature=+crt-static'"
fi
readelf -h "$bin" >/dev/null 2>&1 || die "$bin is not an ELF file"
ok "binary is static ($(stat -c %s "$bin") bytes)"

# 2. Build context laid out as in the repository: Dockerfile, docker/, dist/.
ctx="$work/ctx"
# The image's architecture in Go/OCI spelling (the Dockerfile's TARGETARCH):
# the binary goes to dist/<arch>/ as in a multi-arch release build.
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  ppc64le) arch=ppc64le ;;
  s390x) arch=s390x ;;
  riscv64) arch=riscv64 ;;
  *) die "unknown machine $(uname -m)" ;;
esac
mkdir -p "$ctx/dist/$arch"
cp "$root/Dockerfile" "$root/.dockerignore" "$ctx/"
cp -r "$root/docker" "$ctx/"
cp "$bin" "$ctx/dist/$arch/copilot-metrics-exporter"
ca="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
[[ -s "$ca" ]] || die "CA bundle $ca missing (apt-get install ca-certificates)"
cp "$ca" "$ctx/dist/ca-certificates.crt"

buildah "${S[@]}" build --isolation chroot --target runtime-prebuilt \
  --build-arg TARGETARCH="$arch" --build-arg VERSION="$version" --build-arg VCS_REF="$revision" \
  --build-arg BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -t "$image" -f "$ctx/Dockerfile" "$ctx" >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; die "buildah build failed"; }
ok "built $image from target runtime-prebuilt"

# 3. Image configuration.
inspect() { buildah "${S[@]}" inspect --type image --format "$1" "$image"; }
user="$(inspect '{{.OCIv1.Config.User}}')"
[[ "$user" == "65532:65532" ]] || die "image user is '$user', want 65532:65532"
ports="$(inspect '{{range $p, $_ := .OCIv1.Config.ExposedPorts}}{{$p}} {{end}}')"
[[ "$ports" == *"8000/tcp"* ]] || die "port 8000/tcp not exposed (got '$ports')"
# Go template prints the exec-form array as [a b]; a shell-form entrypoint
# would show up as [/bin/sh -c ...].
entry="$(inspect '{{.OCIv1.Config.Entrypoint}}')"
[[ "$entry" == '[/copilot-metrics-exporter]' ]] || die "entrypoint is $entry"
label_version="$(inspect '{{index .OCIv1.Config.Labels "org.opencontainers.image.version"}}')"
[[ "$label_version" == "$version" ]] || die "version label '$label_version', want '$version'"
label_rev="$(inspect '{{index .OCIv1.Config.Labels "org.opencontainers.image.revision"}}')"
[[ "$label_rev" == "$revision" ]] || die "revision label '$label_rev', want '$revision'"
ok "config: user $user, ports $ports, entrypoint $entry, version $label_version"

# 4. One-shot demo run, as the image's user (buildah run applies USER).
c1="$(buildah "${S[@]}" from "$image")"; containers+=("$c1")
set +e
buildah "${S[@]}" run --isolation chroot "$c1" -- /copilot-metrics-exporter --once --demo \
  >"$work/once.out" 2>"$work/once.err"
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
  cat "$work/once.err" >&2
  die "--once --demo exited $rc"
fi
n_metrics="$(grep -cE '^copilot_[a-z0-9_]+(\{[^}]*\})? [-+0-9.eE]+' "$work/once.out" || true)"
[[ "$n_metrics" -gt 0 ]] || { head -20 "$work/once.out" >&2; die "--once --demo printed no copilot_* samples"; }
grep -qE '^copilot_daily_active_users(\{| )' "$work/once.out" \
  || die "--once --demo output lacks copilot_daily_active_users"
ok "--once --demo exit 0, $n_metrics copilot_* samples"

# 5. Server mode. chroot isolation shares the host network namespace, so the
# port is reachable on loopback just like `docker run -p 8000:8000`.
port="${SMOKE_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
c2="$(buildah "${S[@]}" from "$image")"; containers+=("$c2")
buildah "${S[@]}" run --isolation chroot --env LISTEN_ADDR="127.0.0.1:$port" "$c2" -- \
  /copilot-metrics-exporter --demo >"$work/server.out" 2>&1 &
server_pid=$!
body=""
for _ in $(seq 1 100); do
  if body="$(python3 - "$port" <<'PY' 2>/dev/null
import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=2).read().decode())
PY
)" && grep -q '^copilot_daily_active_users' <<<"$body"; then
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.out" >&2; die "server exited early"; }
  sleep 0.2
done
grep -q '^copilot_daily_active_users' <<<"$body" || { cat "$work/server.out" >&2; die "no metrics on :$port/metrics"; }
# The chart's liveness and readiness probes.
for path in /healthz /readyz; do
  code="$(python3 - "$port" "$path" <<'PY'
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print(f"error {e}")
PY
)"
  [[ "$code" == 200 ]] || die "GET $path answered '$code', want 200"
done
# Find the exporter among the processes this script started and read its
# real/effective uid and gid from /proc.
uids=""
for pid in $(descendants "$server_pid"); do
  if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == copilot-metric* ]]; then
    uids="$(awk '/^Uid:/{u=$2"/"$3} /^Gid:/{g=$2"/"$3} END{print u" "g}' "/proc/$pid/status")"
    break
  fi
done
[[ -n "$uids" ]] || die "could not find the exporter process under pid $server_pid"
[[ "$uids" == "65532/65532 65532/65532" ]] || die "exporter runs as uid/gid '$uids', want 65532"
ok "server mode: /metrics, /healthz, /readyz on 127.0.0.1:$port served by uid/gid 65532"

echo "image-smoke: OK ($checks checks)"
