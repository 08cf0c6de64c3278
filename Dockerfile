# One container runs everything: the parley binary with its web UI, and the
# PostgreSQL server binaries for its private database in /data.
# The steps are the Makefile's: npm ci && npm run build, then go build with
# the version (`make docker` passes it: docker build --build-arg VERSION=...).

FROM node:20-bookworm-slim AS ui
WORKDIR /src/embed
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
COPY embed/package.json embed/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY embed/ ./
RUN npm run build

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=ui /src/embed/dist ./embed/dist
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -ldflags "-X main.version=${VERSION}" -o /out/parley .

FROM debian:bookworm-slim
# postgresql-common would create a cluster of its own; Parley makes its own in /data.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-common \
 && sed -ri 's/^#?\s*create_main_cluster\s*=.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf \
 && apt-get install -y --no-install-recommends postgresql-15 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin parley \
 && mkdir -p /data && chown parley:parley /data
COPY --from=build /out/parley /usr/local/bin/parley
ENV PARLEY_ADDR=:8080 \
    PARLEY_DATA_DIR=/data \
    PARLEY_PG_BIN=/usr/lib/postgresql/15/bin \
    PARLEY_LOG_FORMAT=json
USER parley
VOLUME /data
EXPOSE 8080
# Each WebSocket is an open file. An image cannot raise its file limit; the
# runtime does (docker run --ulimit nofile=262144:262144, or ulimits in
# Compose), and parley lifts its soft limit to that hard limit at start.
# follows PARLEY_ADDR, whatever port it is set to
HEALTHCHECK --interval=15s --timeout=4s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/parley", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/parley"]
CMD ["serve"]
