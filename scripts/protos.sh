#!/usr/bin/env bash
# Regenerate the Swift code of the protocol buffers mlops speaks (Protos/) and check it is what
# is committed. CI does not run this: building protoc-gen-swift takes minutes, so the generated
# files are committed and this script is run by hand after a .proto changes.
#
#   bash scripts/protos.sh          regenerate Sources/TFMetadata/Generated
#   bash scripts/protos.sh --check  regenerate into a scratch folder and fail if it differs
set -euo pipefail
cd "$(dirname "$0")/.."

swift_protobuf_version=1.39.0
tools=.build/proto-tools

if ! command -v protoc >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends protobuf-compiler >/dev/null
fi

# protoc-gen-swift of the same swift-protobuf version Package.swift depends on.
plugin="$tools/swift-protobuf/.build/release/protoc-gen-swift"
if [ ! -x "$plugin" ]; then
  rm -rf "$tools/swift-protobuf"
  mkdir -p "$tools"
  git clone -q --branch "$swift_protobuf_version" https://github.com/apple/swift-protobuf "$tools/swift-protobuf"
  (cd "$tools/swift-protobuf" && swift build -c release --product protoc-gen-swift)
fi
well_known="$tools/swift-protobuf/Protos/Sources/SwiftProtobuf"

generate() {  # out-folder proto-files...
  local out=$1; shift
  rm -rf "$out"; mkdir -p "$out"
  protoc --plugin=protoc-gen-swift="$plugin" -I Protos -I "$well_known" \
    --swift_out="$out" --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath "$@"
}

tfmd=(Protos/tensorflow_metadata/proto/v0/{path,derived_feature,schema,statistics,anomalies}.proto)
if [ "${1:-}" = "--check" ]; then
  scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
  generate "$scratch/tfmd" "${tfmd[@]}"
  diff -r "$scratch/tfmd" Sources/TFMetadata/Generated && echo "generated code is up to date"
else
  generate Sources/TFMetadata/Generated "${tfmd[@]}"
  echo "wrote Sources/TFMetadata/Generated"
fi
