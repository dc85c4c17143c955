# syntax=docker/dockerfile:1
# One image for all six daemons of the order saga suite.
#   build:   docker build -t order-saga .
#   run one: docker run --rm --env-file .env -e PORT=21082 -p 127.0.0.1:21082:21082 order-saga service-order
#            (.env: the tokens and passwords of .env.example; a daemon refuses to start without its tokens)
# docker-compose.yml runs each daemon from this image with its own command and environment.

ARG DEBIAN_TAG=12-slim

# ---- build stage: compile every daemon with CMake + Ninja ---------------------------------------
FROM debian:${DEBIAN_TAG} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Build tools and the -dev packages listed in DESIGN.md, pinned to the upstream versions of
# Debian 12 (the glob lets Debian security revisions in; tests/ship checks each pin resolves).
# libprotobuf-dev ships google/protobuf/field_mask.proto, which proto/ adds to the API set.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential=12.* cmake=3.25.* ninja-build=1.11.* pkg-config=1.8.* ca-certificates=20250419* \
      libmicrohttpd-dev=0.9.75* libgrpc-dev=1.51.* protobuf-c-compiler=1.4.* libprotobuf-c-dev=1.4.* libprotobuf-dev=3.21.* \
      libmariadb-dev=1:10.11.* libhiredis-dev=0.14.* libjansson-dev=2.14* libcurl4-openssl-dev=7.88.* libcmocka-dev=1.1.* \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# proto/ fetches the pinned, checksum-verified Temporal API protos from the npm registry at
# configure time (CMake file(DOWNLOAD) when npm is absent); a .cache/ in the context is reused.
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSAGA_SANITIZE=OFF \
 && ninja -C /build orchestrator-pure orchestrator-temporal service-order service-inventory \
      service-payment service-notification \
 && mkdir -p /out/bin \
 && for d in orchestrator-pure orchestrator-temporal service-order service-inventory \
             service-payment service-notification; do \
      install -m 0755 "/build/$d/$d" /out/bin/; \
    done \
 && strip /out/bin/*

# ---- runtime stage: shared libraries only, non-root ---------------------------------------------
FROM debian:${DEBIAN_TAG} AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates=20250419* curl=7.88.* tini=0.19.* \
      libatomic1=12.* libmicrohttpd12=0.9.75* libgrpc29=1.51.* libprotobuf-c1=1.4.* libmariadb3=1:10.11.* libhiredis0.14=0.14.* libjansson4=2.14* libcurl4=7.88.* \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 saga \
 && useradd --system --uid 10001 --gid saga --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin saga
COPY --from=build /out/bin/ /usr/local/bin/
COPY docker/healthcheck.sh /usr/local/bin/saga-healthcheck
# Inside a container the daemons must listen on every interface (the default is 127.0.0.1).
ENV BIND_ADDR=0.0.0.0 \
    LOG_LEVEL=info
USER 10001:10001
EXPOSE 21080 21081 21082 21083 21084 21085
# GET /health on the daemon's PORT (or its default port when PORT is unset).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["/usr/local/bin/saga-healthcheck"]
# tini forwards SIGTERM so a daemon drains in-flight requests and exits 0.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["service-order"]
