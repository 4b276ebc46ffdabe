#!/usr/bin/env bash
# Regenerate the Swift code of the protocol buffers mlops speaks (Protos/) and the descriptor
# set the tests compare with the published definitions (Protos/descriptors.pb). CI does not run
# this: building the protoc plugins takes minutes, so their output is committed and this script
# is run by hand after a .proto changes.
#
#   bash scripts/protos.sh          regenerate Sources/TFMetadata/Generated,
#                                   Sources/InferenceProtocol/Generated and Protos/descriptors.pb
#   bash scripts/protos.sh --check  regenerate into a scratch folder and fail if anything differs
set -euo pipefail
cd "$(dirname "$0")/.."

# The versions Package.swift depends on.
swift_protobuf_version=1.39.0
grpc_swift_protobuf_version=2.4.1
tools=.build/proto-tools

if ! command -v protoc >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends protobuf-compiler >/dev/null
fi

plugin() {  # repository version product
  local name=${1##*/}
  local binary="$tools/$name/.build/release/$3"
  if [ ! -x "$binary" ]; then
    rm -rf "${tools:?}/$name"
    mkdir -p "$tools"
    git clone -q --branch "$2" "https://github.com/$1" "$tools/$name"
    (cd "$tools/$name" && swift build -c release --product "$3" >&2)
  fi
  echo "$binary"
}
swift_plugin=$(plugin apple/swift-protobuf "$swift_protobuf_version" protoc-gen-swift)
grpc_plugin=$(plugin grpc/grpc-swift-protobuf "$grpc_swift_protobuf_version" protoc-gen-grpc-swift-2)
well_known="$tools/swift-protobuf/Protos/Sources/SwiftProtobuf"

tfmd=(Protos/tensorflow_metadata/proto/v0/{path,derived_feature,schema,statistics,anomalies}.proto)
oip=(Protos/inference/grpc_predict_v2.proto)

generate() {  # out-root
  local out=$1
  rm -rf "$out/tfmd" "$out/oip"; mkdir -p "$out/tfmd" "$out/oip"
  protoc --plugin=protoc-gen-swift="$swift_plugin" -I Protos -I "$well_known" \
    --swift_out="$out/tfmd" --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath "${tfmd[@]}"
  protoc --plugin=protoc-gen-swift="$swift_plugin" --plugin=protoc-gen-grpc-swift-2="$grpc_plugin" -I Protos \
    --swift_out="$out/oip" --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
    --grpc-swift-2_out="$out/oip" --grpc-swift-2_opt=Visibility=Public,Client=false,Server=true \
    --grpc-swift-2_opt=FileNaming=DropPath "${oip[@]}"
  protoc -I Protos -I "$well_known" --include_imports --descriptor_set_out="$out/descriptors.pb" "${tfmd[@]}" "${oip[@]}"
}

if [ "${1:-}" = "--check" ]; then
  scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
  generate "$scratch"
  diff -r "$scratch/tfmd" Sources/TFMetadata/Generated
  diff -r "$scratch/oip" Sources/InferenceProtocol/Generated
  cmp "$scratch/descriptors.pb" Protos/descriptors.pb
  echo "generated code and descriptors are up to date"
else
  scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
  generate "$scratch"
  rm -rf Sources/TFMetadata/Generated Sources/InferenceProtocol/Generated
  mkdir -p Sources/TFMetadata Sources/InferenceProtocol
  mv "$scratch/tfmd" Sources/TFMetadata/Generated
  mv "$scratch/oip" Sources/InferenceProtocol/Generated
  mv "$scratch/descriptors.pb" Protos/descriptors.pb
  echo "wrote Sources/TFMetadata/Generated, Sources/InferenceProtocol/Generated and Protos/descriptors.pb"
fi
