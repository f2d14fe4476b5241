# Container image for copilot-metrics-exporter.
#
# Targets:
#   runtime           (default: last stage) builds from source with
#                     cargo-chef dependency caching; needs the rust and
#                     distroless base images from a registry. Builds for the
#                     platform it runs on (TARGETARCH, set by BuildKit; the
#                     builder's own host triple without BuildKit), so one
#                     command makes a multi-arch image (QEMU emulates the
#                     foreign platform):
#                       docker buildx build --platform linux/amd64,linux/arm64 \
#                         -t ghcr.io/OWNER/copilot-metrics-exporter:TAG --push .
#   runtime-prebuilt  packs a static binary built outside Docker (the
#                     node_exporter / Vector pattern) from dist/<TARGETARCH>/
#                     (or dist/ without BuildKit). Needs no base image, so it
#                     also builds on machines without registry access:
#                       host=$(rustc -vV | sed -n 's/^host: //p')
#                       arch=$(docker version -f '{{.Server.Arch}}')   # amd64, arm64
#                       RUSTFLAGS='-C target-feature=+crt-static' cargo build --release \
#                         --target "$host"
#                       mkdir -p "dist/$arch"
#                       cp "target/$host/release/copilot-metrics-exporter" "dist/$arch/"
#                       cp /etc/ssl/certs/ca-certificates.crt dist/
#                       docker build --target runtime-prebuilt -t copilot-metrics-exporter .
#                     Multi-arch from binaries built natively on each
#                     architecture (what .github/workflows/release.yaml does):
#                       docker buildx build --target runtime-prebuilt \
#                         --platform linux/amd64,linux/arm64 -t … --push .
#
# Deliberately no "# syntax=" line: it makes BuildKit pull a frontend image,
# which fails offline; the built-in frontend supports everything used here.

# ARGs used in FROM lines must be declared before the first FROM.
ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm
# Pin by digest in release builds: --build-arg RUNTIME_IMAGE=gcr.io/...@sha256:...
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

# ---------------------------------------------------------------------------
# chef: toolchain + cargo-chef, shared by planner and builder.
FROM ${RUST_IMAGE} AS chef
ARG CARGO_CHEF_VERSION=0.1.78
RUN cargo install --locked cargo-chef --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

# planner: reduce the workspace to a dependency recipe. recipe.json only
# changes when Cargo.toml/Cargo.lock change, so the cook layer stays cached
# across source edits.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# builder: compile dependencies (cached layer), then the crate itself.
# Static glibc (crt-static) needs no musl target download and runs in an
# image without libc. RUSTFLAGS must be identical for cook and build, or
# cargo rebuilds every dependency. The target triple follows the platform
# being built: BuildKit's TARGETARCH (amd64, arm64, ...) when set, else the
# toolchain's host triple. The builder stage runs on that same platform
# (native or emulated), so no cross linker is needed.
FROM chef AS builder
ARG TARGETARCH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV RUSTFLAGS="-C target-feature=+crt-static"
RUN case "${TARGETARCH}" in \
      "") rustc -vV | sed -n 's/^host: //p' ;; \
      amd64) echo x86_64-unknown-linux-gnu ;; \
      arm64) echo aarch64-unknown-linux-gnu ;; \
      ppc64le) echo powerpc64le-unknown-linux-gnu ;; \
      s390x) echo s390x-unknown-linux-gnu ;; \
      riscv64) echo riscv64gc-unknown-linux-gnu ;; \
      *) echo "unsupported TARGETARCH ${TARGETARCH}" >&2; exit 1 ;; \
    esac >/cargo-target \
 && echo "building for $(cat /cargo-target)"
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --target "$(cat /cargo-target)" --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --target "$(cat /cargo-target)" --bin copilot-metrics-exporter \
 && cp "target/$(cat /cargo-target)/release/copilot-metrics-exporter" /copilot-metrics-exporter

# ---------------------------------------------------------------------------
# runtime-prebuilt: same layout as runtime, but FROM scratch, with the binary
# (dist/<TARGETARCH>/) and the CA bundle (dist/) taken from the build
# context. BuildKit and buildah skip the stages a target does not need, so
# this builds with no registry.
FROM scratch AS runtime-prebuilt
# Empty without BuildKit: then the binary is read from dist/ itself.
ARG TARGETARCH
ARG VERSION=0.0.0-dev
ARG VCS_REF=unknown
ARG BUILD_DATE=unknown
LABEL org.opencontainers.image.title="copilot-metrics-exporter" \
      org.opencontainers.image.description="Exports GitHub Copilot usage metrics as Prometheus metrics (/metrics, Pushgateway, remote-write)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.source="https://github.com/copilot-metrics-exporter/copilot-metrics-exporter" \
      org.opencontainers.image.url="https://github.com/copilot-metrics-exporter/copilot-metrics-exporter" \
      org.opencontainers.image.documentation="https://github.com/copilot-metrics-exporter/copilot-metrics-exporter#readme" \
      org.opencontainers.image.licenses="Apache-2.0"
# passwd/group with the distroless nonroot entry (65532), so tools that
# resolve the uid see a name, like in the distroless image.
COPY --chmod=0444 docker/rootfs/etc/ /etc/
COPY --chmod=0444 dist/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --chmod=0555 dist/${TARGETARCH}/copilot-metrics-exporter /copilot-metrics-exporter
USER 65532:65532
EXPOSE 8000
ENTRYPOINT ["/copilot-metrics-exporter"]

# ---------------------------------------------------------------------------
# runtime: distroless static (CA certificates, tzdata, nonroot passwd entry,
# no shell), running as uid/gid 65532. Last stage = default target, so the
# plain `docker build -t copilot-metrics-exporter .` builds from source.
FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=0.0.0-dev
ARG VCS_REF=unknown
ARG BUILD_DATE=unknown
LABEL org.opencontainers.image.title="copilot-metrics-exporter" \
      org.opencontainers.image.description="Exports GitHub Copilot usage metrics as Prometheus metrics (/metrics, Pushgateway, remote-write)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.source="https://github.com/copilot-metrics-exporter/copilot-metrics-exporter" \
      org.opencontainers.image.url="https://github.com/copilot-metrics-exporter/copilot-metrics-exporter" \
      org.opencontainers.image.documentation="https://github.com/copilot-metrics-exporter/copilot-metrics-exporter#readme" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder --chmod=0555 /copilot-metrics-exporter /copilot-metrics-exporter
# Numeric user so Kubernetes can verify runAsNonRoot.
USER 65532:65532
EXPOSE 8000
ENTRYPOINT ["/copilot-metrics-exporter"]

