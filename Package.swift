// swift-tools-version:6.0
import PackageDescription

// Layers point one way: CRlax (the C ABI) -> RlaxPlugins (loader + Swift wrappers)
// -> RlaxConformance, RlaxBench -> rlax (CLI). Plugins themselves are plain C built by the
// Makefile with `cc`, never by SwiftPM: they depend on include/rlax/ and nothing else.
let package = Package(
  name: "rlax",
  // grpc-swift-2 needs macOS 15 where it runs on Apple platforms; Linux has no such floor.
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "rlax", targets: ["rlax"]),
    .executable(name: "rlax-reward-host", targets: ["rlax-reward-host"]),
    .library(name: "RlaxPlugins", targets: ["RlaxPlugins"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
    .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
  ],
  targets: [
    .systemLibrary(name: "CRlax", path: "Sources/CRlax"),
    .target(name: "CRlaxGuard"),
    .target(name: "RlaxPlugins", dependencies: ["CRlax", "CRlaxGuard"]),
    .target(name: "RlaxConformance", dependencies: ["RlaxPlugins", "CRlax"]),
    .target(name: "RlaxConfig"),
    .target(name: "RlaxSafeTensors"),
    .target(name: "RlaxTasks"),
    .target(name: "RlaxSimulate"),
    // Statistics for comparing runs (bootstrap intervals, permutation tests); Foundation only.
    .target(name: "RlaxStats"),
    .systemLibrary(name: "CFFI", path: "Sources/CFFI", pkgConfig: "libffi", providers: [.apt(["libffi-dev"])]),
    .target(name: "RlaxRewards", dependencies: ["RlaxTasks", "CFFI"]),
    .executableTarget(name: "rlax-reward-host", dependencies: ["RlaxRewards"]),
    // The RPC transport of RLAX's roles (Protos/; Generated/ is scripts/generate-protos.sh's output).
    .target(name: "RlaxTransport", dependencies: [
      "RlaxPlugins", "RlaxSafeTensors",
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    ]),
    .target(name: "RlaxModel", dependencies: ["RlaxPlugins", "RlaxConfig", "RlaxSafeTensors"]),
    .target(name: "RlaxTraining", dependencies: ["RlaxModel", "RlaxTasks", "RlaxConfig", "RlaxPlugins", "RlaxRewards"]),
    .target(name: "RlaxRuntime", dependencies: [
      "RlaxTraining", "RlaxModel", "RlaxTasks", "RlaxPlugins", "RlaxRewards", "RlaxSafeTensors", "RlaxConfig", "RlaxTransport",
      .product(name: "Crypto", package: "swift-crypto"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    ]),
    .target(name: "RlaxCompare", dependencies: ["RlaxStats", "RlaxTasks", "RlaxTraining"]),
    // Reports of runs, comparisons and curated datasets: HTML through Mustache templates, plots as inline SVG.
    .target(name: "RlaxReport", dependencies: ["RlaxCompare", "RlaxTasks", "RlaxTraining", .product(name: "Mustache", package: "swift-mustache")]),
    .target(name: "RlaxBench", dependencies: ["RlaxPlugins", "RlaxModel", "RlaxTransport"]),
    .executableTarget(
      name: "rlax",
      dependencies: [
        "RlaxPlugins", "RlaxConformance", "RlaxBench", "RlaxTraining", "RlaxModel", "RlaxTasks", "RlaxConfig", "RlaxRuntime", "RlaxSimulate", "RlaxCompare",
        "RlaxReport", "RlaxTransport", "RlaxSafeTensors",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .target(name: "RlaxTestSupport", dependencies: ["RlaxPlugins"], path: "Tests/RlaxTestSupport"),
    .testTarget(name: "RlaxPluginsTests", dependencies: ["RlaxPlugins", "RlaxConformance", "RlaxTestSupport"]),
    .testTarget(name: "RlaxConformanceTests", dependencies: ["RlaxConformance", "RlaxPlugins", "RlaxTestSupport"]),
    .testTarget(name: "RlaxCLITests", dependencies: ["rlax", "RlaxTestSupport", "RlaxRuntime", "RlaxModel", "RlaxPlugins", "RlaxTransport"]),
    .testTarget(name: "RlaxConfigTests", dependencies: ["RlaxConfig"]),
    .testTarget(name: "RlaxSafeTensorsTests", dependencies: ["RlaxSafeTensors", "RlaxTestSupport"]),
    .testTarget(name: "RlaxTasksTests", dependencies: ["RlaxTasks"]),
    .testTarget(name: "RlaxModelTests", dependencies: ["RlaxModel", "RlaxConformance", "RlaxTestSupport"]),
    .testTarget(name: "RlaxTrainingTests", dependencies: ["RlaxTraining", "RlaxModel", "RlaxSafeTensors", "RlaxTestSupport"]),
    .testTarget(name: "RlaxSimulateTests", dependencies: ["RlaxSimulate"]),
    .testTarget(name: "RlaxStatsTests", dependencies: ["RlaxStats"]),
    .testTarget(name: "RlaxRuntimeTests", dependencies: [
      "RlaxRuntime", "RlaxTestSupport", "RlaxTransport",
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
    ]),
    .testTarget(name: "RlaxTransportTests", dependencies: ["RlaxTransport", "RlaxPlugins", "RlaxTestSupport"]),
    .testTarget(name: "RlaxRewardsTests", dependencies: ["RlaxRewards", "rlax-reward-host", "RlaxTestSupport"]),
  ],
  swiftLanguageModes: [.v5]
)
