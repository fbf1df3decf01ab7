#!/usr/bin/env bash
# Regenerates the committed Swift code for Protos/ (never run in CI): protoc from Debian's
# protobuf-compiler, with the code generators of the swift-protobuf and grpc-swift-protobuf
# packages that Package.swift names, built once in a scratch package outside the tree.
#
#   scripts/generate-protos.sh [GENERATOR_BIN_DIR]
#
# GENERATOR_BIN_DIR holds protoc-gen-swift and protoc-gen-grpc-swift-2; without it they are
# built (release) in $TMPDIR/rlax-protoc-gen.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "protoc missing: apt-get install protobuf-compiler" >&2; exit 2; }
bin=${1:-}
if [ -z "$bin" ]; then
  gen=${TMPDIR:-/tmp}/rlax-protoc-gen
  mkdir -p "$gen/Sources/gen"
  cat >"$gen/Package.swift" <<'SWIFT'
// swift-tools-version:6.1
import PackageDescription
let package = Package(
  name: "gen",
  dependencies: [
    .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
  ],
  targets: [.executableTarget(name: "gen", dependencies: [.product(name: "GRPCProtobuf", package: "grpc-swift-protobuf")])]
)
SWIFT
  echo 'print("generators only")' >"$gen/Sources/gen/main.swift"
  (cd "$gen" && swift build -c release --product protoc-gen-grpc-swift-2 >&2 && swift build -c release --product protoc-gen-swift >&2)
  bin=$(cd "$gen" && swift build -c release --show-bin-path)
fi
out=Sources/RlaxTransport/Generated
mkdir -p "$out"
protoc --proto_path=Protos \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" --swift_out="$out" --swift_opt=Visibility=Public \
  --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" --grpc-swift_out="$out" \
  --grpc-swift_opt=Visibility=Public,Server=true,Client=true \
  $(find Protos -name '*.proto' | sort)
echo "generated into $out:" && find "$out" -name '*.swift' | sort
