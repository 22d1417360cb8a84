# Builds the release binary, then copies it into a small runtime image.
#   docker build -t a2a-gateway .
#   docker run --rm -p 8080:8080 -e A2A_GATEWAY__MQTT__URL=mqtt://broker:1883 a2a-gateway
#
# The build stage gets exactly what compiling the a2a-gateway binary reads:
# the manifest and lock file, src/, and every file src/ pulls in at compile time
# (include_str!: the OpenAPI document the gateway serves, and a JSON Schema the
# crate's unit tests embed). tests/container.rs checks these COPY lines against
# the manifest and the include_str!/include_bytes! calls in src/, so a new
# compile-time input cannot be forgotten here.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY openapi ./openapi
COPY tests/schemas ./tests/schemas
RUN cargo build --release --locked --bin a2a-gateway \
    && strip target/release/a2a-gateway

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin a2a
COPY --from=build /src/target/release/a2a-gateway /usr/local/bin/a2a-gateway
COPY gateway.yaml /etc/a2a-gateway/gateway.yaml
# The documented defaults, but reachable from outside the container.
ENV A2A_GATEWAY_CONFIG=/etc/a2a-gateway/gateway.yaml \
    A2A_GATEWAY__HTTP__LISTEN=0.0.0.0:8080
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["a2a-gateway", "healthcheck"]
ENTRYPOINT ["a2a-gateway"]
CMD ["serve"]
