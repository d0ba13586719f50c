# Container image of the bascaler controller (and the rest of the CLI).
# Build: docker build -t ghcr.io/bascaler/bascaler:dev .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/bascaler ./cmd/bascaler

# distroless/static: no shell, no package manager, runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bascaler /bascaler
USER 65532:65532
ENTRYPOINT ["/bascaler"]
CMD ["controller", "--leader-elect"]
