# syntax=docker/dockerfile:1
#
# Kubently container images: one build, two targets.
#
#   docker build --target gateway  -t kubently-gateway  .
#   docker build --target executor -t kubently-executor .
#
# (`compose.yaml` builds both.) Both binaries use rustls (ring), so the runtime image needs no
# OpenSSL: distroless/cc (glibc, libgcc, CA certificates) running as the `nonroot` user (65532).

# ---------------------------------------------------------------- build
FROM rust:1-bookworm AS builder
WORKDIR /src
# The whole workspace (see .dockerignore): cargo needs every member's manifest, and --locked
# builds exactly the versions in Cargo.lock.
COPY . .
# The registry and target directories are BuildKit cache mounts, so rebuilds are incremental.
# A cache mount is not part of the image: the binaries are copied out of it in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p kubently-gateway -p kubently-executor -p kubently-admin \
 && install -D -m 0755 -t /out target/release/kubently-gateway target/release/kubently-executor \
      target/release/kubently-admin \
 && install -d -o 65532 -g 65532 /out/bus

# ---------------------------------------------------------------- runtime base
# Debian 12 matches the builder's glibc. No shell, no package manager; user nonroot:nonroot.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
USER nonroot:nonroot

# ---------------------------------------------------------------- executor
# Runs beside a cluster. Kubernetes access comes from KUBENTLY__KUBE__KUBECONFIG / KUBECONFIG, or the
# pod's service account when run in-cluster; NATS from KUBENTLY__NATS__URL.
FROM runtime AS executor
COPY --from=builder /out/kubently-executor /usr/local/bin/kubently-executor
ENTRYPOINT ["/usr/local/bin/kubently-executor"]

# ---------------------------------------------------------------- admin
# The bus's trust, TLS and credentials (`kubently-admin init`, `add-cluster`, `revoke-cluster`).
# /bus is owned by nonroot, so a named volume mounted there starts writable for it.
FROM runtime AS admin
COPY --from=builder /out/kubently-admin /usr/local/bin/kubently-admin
COPY --from=builder --chown=65532:65532 /out/bus /bus
ENTRYPOINT ["/usr/local/bin/kubently-admin"]

# ---------------------------------------------------------------- gateway (default target)
# HTTP API for agents. Listens on all interfaces inside the container; the port is
# KUBENTLY__SERVER__PORT (default 8080).
FROM runtime AS gateway
COPY --from=builder /out/kubently-gateway /usr/local/bin/kubently-gateway
ENV KUBENTLY__SERVER__HOST=0.0.0.0
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kubently-gateway"]
