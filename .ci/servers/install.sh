#!/usr/bin/env bash
# Installs the telemetry servers that flowtel's stack tests (tests/stack/) run as local processes:
#   - prometheus + promtool, prometheus-alertmanager + amtool and docker-compose (Debian packages),
#     if missing;
#   - Jaeger v2, built from the Go module in .ci/servers/jaeger;
#   - an OpenTelemetry Collector holding exactly the components collector-config/otelcol.yaml uses,
#     built from the Go module in .ci/servers/otelcol.
#
# Idempotent and cached: binaries, GOMODCACHE and GOCACHE live outside the clone, under
# ${FLOWTEL_CACHE:-$HOME/.cache/flowtel}. Each binary's name carries the module version and a hash of
# its go.mod, go.sum and Go sources, so a second run (or another clone) reuses it without rebuilding;
# tests/stack/conftest.py computes the same names. Prints where everything is.
#
# Usage: bash .ci/servers/install.sh [--print]     (--print: only print the paths, build nothing)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${FLOWTEL_CACHE:-${HOME:-/root}/.cache/flowtel}"
bindir="$cache/bin"
mkdir -p "$bindir" "$cache/go/mod" "$cache/go/build"

export GOMODCACHE="$cache/go/mod"
export GOCACHE="$cache/go/build"
export GOFLAGS="-modcacherw"
export CGO_ENABLED=0

log() { printf 'install.sh: %s\n' "$*" >&2; }

# key MODULE_DIR: "<version>-<hash>" of a wrapper module. The hash covers go.mod, go.sum and the
# module's *.go files (C-sorted), the same bytes tests/stack/conftest.py hashes.
module_key() {
    local dir="$1" pin="$2" version hash
    version="$(awk -v m="$pin" '$1 == m { print $2; exit }' "$dir/go.mod")"
    [ -n "$version" ] || { log "no version of $pin in $dir/go.mod"; exit 1; }
    hash="$(cd "$dir" && { cat go.mod go.sum; LC_ALL=C ls -1 | grep '\.go$' | LC_ALL=C sort | xargs -r cat; } \
        | sha256sum | cut -c1-12)"
    printf '%s-%s' "$version" "$hash"
}

jaeger_bin="$bindir/jaeger-$(module_key "$here/jaeger" github.com/jaegertracing/jaeger)"
otelcol_bin="$bindir/otelcol-flowtel-$(module_key "$here/otelcol" go.opentelemetry.io/collector/otelcol)"

print_paths() {
    echo "FLOWTEL_OTELCOL_BIN=$otelcol_bin"
    echo "FLOWTEL_JAEGER_BIN=$jaeger_bin"
    echo "PROMETHEUS_BIN=$(command -v prometheus || echo missing)"
    echo "PROMTOOL_BIN=$(command -v promtool || echo missing)"
    echo "ALERTMANAGER_BIN=$(command -v prometheus-alertmanager || echo missing)"
    echo "AMTOOL_BIN=$(command -v amtool || echo missing)"
    echo "DOCKER_COMPOSE_BIN=$(command -v docker-compose || echo missing)"
}
if [ "${1:-}" = "--print" ]; then print_paths; exit 0; fi

# One install at a time per cache (CI and a developer's shell may share it).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache/install.lock"
    flock 9
fi

# --- Debian packages -------------------------------------------------------------------------
apt_missing=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || apt_missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1 \
    || apt_missing+=(prometheus-alertmanager)
command -v docker-compose >/dev/null 2>&1 || apt_missing+=(docker-compose)
if [ "${#apt_missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log "apt-get install ${apt_missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
    # The Debian packages may start a system prometheus (:9090) and alertmanager (:9093) where an init
    # system runs; the tests use their own instances on free ports, so those are left alone.
fi

# --- Go builds ---------------------------------------------------------------------------------
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || { log "go is required (the Go toolchain, 1.26 or newer)"; exit 1; }

# build NAME MODULE_DIR PACKAGE OUTPUT
build() {
    local name="$1" dir="$2" pkg="$3" out="$4" start
    if [ -x "$out" ]; then
        log "$name: cached $out"
        return
    fi
    start=$(date +%s)
    log "$name: building $pkg (a few minutes on 2 cores; log: $cache/build-$name.log) ..."
    if ! (cd "$dir" && go build -trimpath -ldflags='-s -w' -o "$out.tmp.$$" "$pkg") \
        >"$cache/build-$name.log" 2>&1; then
        grep -v '^go: downloading ' "$cache/build-$name.log" >&2 || true
        rm -f "$out.tmp.$$"
        log "$name: build failed"
        exit 1
    fi
    mv -f "$out.tmp.$$" "$out"
    log "$name: built $out in $(( $(date +%s) - start ))s"
}

build jaeger "$here/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger "$jaeger_bin"
build otelcol "$here/otelcol" . "$otelcol_bin"

# Stable names for people (the tests use the versioned names above).
ln -sfn "$(basename "$jaeger_bin")" "$bindir/jaeger"
ln -sfn "$(basename "$otelcol_bin")" "$bindir/otelcol-flowtel"

print_paths
