#!/usr/bin/env bash
# The steps of the mlops container image (Containerfile), runnable without Docker, so CI runs
# the same steps the image build does (docs/orchestration.md, "The image").
#
#   bash scripts/image.sh packages        install the runtime libraries (Debian 12): what the
#                                         image's RUN step does, and what a bare worker needs
#   bash scripts/image.sh binary          build the release binary (Swift's standard library
#                                         linked in) into .build/image/mlops, for COPY
#   bash scripts/image.sh check BINARY    check a binary against the runtime libraries: every
#                                         library it links resolves, the two it loads on first
#                                         use (libxgboost, libcurl) are there, and it runs
#                                         (--version loads XGBoost)
set -euo pipefail

# What mlops needs at run time, and nothing to build with: libgit2, libarchive, SQLite, XGBoost
# (loaded on first use), libcurl (S3, loaded on first use), CA certificates (TLS to S3, git
# and PostgreSQL), git's transports in libgit2 itself.
runtime=(libgit2-1.5 libarchive13 libsqlite3-0 libxgboost0 libcurl4 ca-certificates)

packages() {
  local missing=()
  for package in "${runtime[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing runtime packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

check() {
  local binary="$1" failed=0
  [ -x "$binary" ] || { echo "error: $binary is not an executable" >&2; exit 1; }
  if ldd "$binary" | grep -q "not found"; then
    echo "error: $binary needs libraries the runtime packages do not give:" >&2
    ldd "$binary" | grep "not found" >&2
    failed=1
  fi
  # Loaded with dlopen on first use, so ldd does not list them.
  for library in libxgboost.so.0 libcurl.so.4; do
    # grep reads all of it: with -q it would stop at the first match, ldconfig would die of
    # SIGPIPE, and under pipefail the library would look missing.
    if ! ldconfig -p | grep "$library " >/dev/null; then
      echo "error: $library is not installed (it is loaded on first use)" >&2
      failed=1
    fi
  done
  [ "$failed" -eq 0 ] || exit 1
  "$binary" --version
}

case "${1:-}" in
  packages) packages ;;
  binary)
    cd "$(dirname "$0")/.."
    swift build -c release --product mlops --static-swift-stdlib --scratch-path .build-static
    mkdir -p .build/image
    cp "$(swift build -c release --scratch-path .build-static --show-bin-path)/mlops" .build/image/mlops
    echo "==> .build/image/mlops" ;;
  check) packages; check "${2:?usage: image.sh check BINARY}" ;;
  *) echo "usage: bash scripts/image.sh packages | binary | check BINARY" >&2; exit 64 ;;
esac
