#!/usr/bin/env bash
# Installs the system libraries mlops links against (Debian/Ubuntu), then builds it.
# Usage: bash scripts/setup.sh [debug|release]   (default: debug)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pkg-config libgit2-dev libarchive-dev libsqlite3-dev libxgboost-dev libcurl4-openssl-dev curl)  # curl: the demo's HTTP client; libcurl: S3 (loaded on first use)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing system packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "error: swift is not on PATH (Swift 6 toolchain needed)" >&2; exit 1; }
configuration="${1:-debug}"
echo "==> building mlops ($configuration)"
swift build -c "$configuration" --product mlops
echo "==> built $(swift build -c "$configuration" --show-bin-path)/mlops"
