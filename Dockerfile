# ksherdash: a static binary on distroless. Templates (committed *_templ.go), static files and
# SQL migrations are embedded, so the image holds the binary and nothing else; no templ or npm
# step runs here. Build: docker build -t ksherdash .

FROM golang:1.26-bookworm AS build
WORKDIR /src
# local: never switch toolchains; the image's 1.26.x satisfies go.mod's `go 1.26.0`.
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# .git is not in the context (.dockerignore), hence -buildvcs=false.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -buildvcs=false -ldflags='-s -w' -o /out/ksherdash ./cmd/ksherdash \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ksherdash /ksherdash
# DATA_DIR must be writable by the nonroot user (65532).
COPY --from=build --chown=65532:65532 /out/data /data
# The image has no PostgreSQL binaries, so the embedded default database cannot start here:
# set DATABASE_URL (docker-compose.yml does).
ENV LISTEN_ADDR=0.0.0.0:8080 DATA_DIR=/data
VOLUME /data
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/ksherdash"]
