// swift-tools-version:6.0
import PackageDescription

// Layers point one way: CRlax (the C ABI) -> RlaxPlugins (loader + Swift wrappers)
// -> RlaxConformance, RlaxBench -> rlax (CLI). Plugins themselves are plain C built by the
// Makefile with `cc`, never by SwiftPM: they depend on include/rlax/ and nothing else.
let package = Package(
  name: "rlax",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "rlax", targets: ["rlax"]),
    .executable(name: "rlax-reward-host", targets: ["rlax-reward-host"]),
    .library(name: "RlaxPlugins", targets: ["RlaxPlugins"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
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
    .systemLibrary(name: "CFFI", path: "Sources/CFFI", pkgConfig: "libffi", providers: [.apt(["libffi-dev"])]),
    .target(name: "RlaxRewards", dependencies: ["RlaxTasks", "CFFI"]),
    .executableTarget(name: "rlax-reward-host", dependencies: ["RlaxRewards"]),
    .target(name: "RlaxModel", dependencies: ["RlaxPlugins", "RlaxConfig", "RlaxSafeTensors"]),
    .target(name: "RlaxTraining", dependencies: ["RlaxModel", "RlaxTasks", "RlaxConfig", "RlaxPlugins", "RlaxRewards"]),
    .target(name: "RlaxRuntime", dependencies: [
      "RlaxTraining", "RlaxModel", "RlaxTasks", "RlaxPlugins", "RlaxRewards", "RlaxSafeTensors", "RlaxConfig", .product(name: "Crypto", package: "swift-crypto"),
    ]),
    .target(name: "RlaxBench", dependencies: ["RlaxPlugins", "RlaxModel"]),
    .executableTarget(
      name: "rlax",
      dependencies: [
        "RlaxPlugins", "RlaxConformance", "RlaxBench", "RlaxTraining", "RlaxModel", "RlaxTasks", "RlaxConfig", "RlaxRuntime", "RlaxSimulate",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .target(name: "RlaxTestSupport", dependencies: ["RlaxPlugins"], path: "Tests/RlaxTestSupport"),
    .testTarget(name: "RlaxPluginsTests", dependencies: ["RlaxPlugins", "RlaxConformance", "RlaxTestSupport"]),
    .testTarget(name: "RlaxConformanceTests", dependencies: ["RlaxConformance", "RlaxPlugins", "RlaxTestSupport"]),
    .testTarget(name: "RlaxCLITests", dependencies: ["rlax", "RlaxTestSupport"]),
    .testTarget(name: "RlaxConfigTests", dependencies: ["RlaxConfig"]),
    .testTarget(name: "RlaxSafeTensorsTests", dependencies: ["RlaxSafeTensors", "RlaxTestSupport"]),
    .testTarget(name: "RlaxTasksTests", dependencies: ["RlaxTasks"]),
    .testTarget(name: "RlaxModelTests", dependencies: ["RlaxModel", "RlaxConformance", "RlaxTestSupport"]),
    .testTarget(name: "RlaxTrainingTests", dependencies: ["RlaxTraining", "RlaxModel", "RlaxSafeTensors", "RlaxTestSupport"]),
    .testTarget(name: "RlaxSimulateTests", dependencies: ["RlaxSimulate"]),
    .testTarget(name: "RlaxRuntimeTests", dependencies: ["RlaxRuntime", "RlaxTestSupport"]),
    .testTarget(name: "RlaxRewardsTests", dependencies: ["RlaxRewards", "rlax-reward-host", "RlaxTestSupport"]),
  ],
  swiftLanguageModes: [.v5]
)
