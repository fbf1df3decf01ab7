import Foundation
import RlaxTestSupport
import XCTest

/// The `rlax` executable, run as a user would.
final class CLITests: XCTestCase {
  var rlax: String { URL(fileURLWithPath: TestSupport.pluginDirectory).deletingLastPathComponent().appendingPathComponent("rlax").path }

  func run(_ args: String..., environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
    try TestSupport.run(rlax, args, environment: environment)
  }

  func testPluginsListJSONNamesEveryBundledPlugin() throws {
    let (status, output) = try run("plugins", "list", "--json")
    XCTAssertEqual(status, 0, output)
    let entries = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] ?? []
    let names = Set(entries.compactMap { $0["name"] as? String })
    XCTAssertTrue(names.isSuperset(of: ["cpu-blas", "gpu-stub", "grpo", "memory", "file"]), "\(names)")
    let grpo = entries.first { $0["name"] as? String == "grpo" }
    XCTAssertEqual(grpo?["kinds"] as? [String], ["algorithm"])
    XCTAssertEqual(grpo?["abi"] as? String, "1.0")
    XCTAssertTrue((grpo?["path"] as? String ?? "").hasSuffix("/grpo.so"))
  }

  func testPluginsInfoShowsHyperparametersAndDevice() throws {
    let grpo = try run("plugins", "info", "grpo")
    XCTAssertEqual(grpo.status, 0, grpo.output)
    XCTAssertTrue(grpo.output.contains("clip_high"), grpo.output)
    let stub = try run("plugins", "info", "gpu-stub", "--json")
    XCTAssertEqual(stub.status, 0, stub.output)
    let json = try JSONSerialization.jsonObject(with: Data(stub.output.utf8)) as? [String: Any]
    XCTAssertEqual((json?["device"] as? [String: Any])?["present"] as? Bool, false)
  }

  func testVerifyPassesABundledPluginAndFailsANonPlugin() throws {
    let ok = try run("plugins", "verify", "grpo", "memory")
    XCTAssertEqual(ok.status, 0, ok.output)
    XCTAssertTrue(ok.output.contains("2 passed, 0 failed"), ok.output)
    let path = try TestSupport.temporaryDirectory("cli").appendingPathComponent("junk.so").path
    try "junk".write(toFile: path, atomically: true, encoding: .utf8)
    let bad = try run("plugins", "verify", path)
    XCTAssertEqual(bad.status, 1, bad.output)
    XCTAssertTrue(bad.output.contains("FAIL") && bad.output.contains("not a loadable shared object"), bad.output)
  }

  /// cpu-blas picks OpenBLAS's kernels from the CPU's features (OpenBLAS falls back to generic
  /// SSE3 kernels on CPUs it does not know); the expectation here is read from /proc/cpuinfo.
  func testCPUBlasChoosesOpenBLASKernelsFromCPUFeaturesAndHonoursOPENBLAS_CORETYPE() throws {
    let forced = try run("plugins", "info", "cpu-blas", environment: ["OPENBLAS_CORETYPE": "Prescott"])
    XCTAssertEqual(forced.status, 0, forced.output)
    XCTAssertTrue(forced.output.contains(" Prescott ") && forced.output.contains("kernels from OPENBLAS_CORETYPE"), forced.output)
    guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
          let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
      throw XCTSkip("needs Linux /proc/cpuinfo and OPENBLAS_CORETYPE unset")
    }
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    let expected: String?
    if flags.contains("avx512_bf16") { expected = "Cooperlake" }
    else if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { expected = "SkylakeX" }
    else if flags.isSuperset(of: ["avx2", "fma"]) { expected = "Haswell" }
    else { expected = nil }
    let auto = try run("plugins", "info", "cpu-blas")
    XCTAssertEqual(auto.status, 0, auto.output)
    if let expected {
      XCTAssertTrue(auto.output.contains(" \(expected) ") && auto.output.contains("kernels chosen by cpu-blas from CPU features"), auto.output)
    } else {
      XCTAssertTrue(auto.output.contains("kernels chosen by OpenBLAS"), auto.output)
    }
  }

  func testGPUStubFailsWithOneReadableLine() throws {
    let (status, output) = try run("bench", "matmul", "--backend", "gpu-stub", "--sizes", "8")
    XCTAssertNotEqual(status, 0)
    let lines = output.split(separator: "\n")
    XCTAssertEqual(lines.count, 1, output)
    XCTAssertTrue(output.contains("UNAVAILABLE"), output)
  }

  func testUnknownPluginNameIsAClearError() throws {
    let (status, output) = try run("plugins", "info", "nope", environment: ["RLAX_PLUGIN_PATH": "/nonexistent"])
    XCTAssertNotEqual(status, 0)
    XCTAssertTrue(output.contains("plugin 'nope' not found") && output.contains("/nonexistent"), output)
  }

  func testBenchMatmulPrintsFiguresForTheABIAndDirectCBLAS() throws {
    let (status, output) = try run("bench", "matmul", "--sizes", "32", "--seconds", "0.05", "--json")
    XCTAssertEqual(status, 0, output)
    let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
    let row = (json?["rows"] as? [[String: Any]])?.first
    XCTAssertEqual(row?["size"] as? Int, 32)
    XCTAssertGreaterThan(row?["abiGflops"] as? Double ?? 0, 0)
    XCTAssertGreaterThan(row?["directGflops"] as? Double ?? 0, 0)
  }

  /// --quick: the default model, a short run (for a new plugin's smoke test); a --set given
  /// as well wins, and the closing lines name the pass@k the run evaluated.
  func testQuickMakesAShortRunThatSetFlagsOverride() throws {
    let dir = try TestSupport.temporaryDirectory("quick").appendingPathComponent("run")
    let (status, output) = try run("--quick", "--run-dir", dir.path, "--quiet", "--set", "eval.samples=4", "--set", "eval.ks=[1,4]")
    XCTAssertEqual(status, 0, output)
    XCTAssertTrue(output.contains("grpo on cpu-blas: 4 steps"), output)
    XCTAssertTrue(output.contains("held-out pass@1 ") && output.contains(", pass@4 ") && !output.contains("pass@8"), output)
    let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("run.json"))) as? [String: Any])
    let config = try XCTUnwrap(record["config"] as? [String: Any])
    let rl = try XCTUnwrap(config["rl"] as? [String: Any]), eval = try XCTUnwrap(config["eval"] as? [String: Any])
    XCTAssertEqual(rl["warmStartSteps"] as? Int, 20)
    XCTAssertEqual(rl["promptsPerStep"] as? Int, 4)
    XCTAssertEqual(eval["problems"] as? Int, 8)
    XCTAssertEqual(eval["samples"] as? Int, 4, "--set wins over --quick")
  }
}

extension CLITests {
  func testVerifySurvivesAPluginThatCrashesAndNamesTheCheck() throws {
    let crashing = try TestSupport.compilePlugin(["Tests/Fixtures/broken/op_error.c"], name: "crashes",
                                                 extraFlags: ["-DOP_ERROR_CRASH_IN_FILL"])
    let (status, output) = try run("plugins", "verify", crashing, "grpo")
    XCTAssertEqual(status, 1, output)
    XCTAssertTrue(output.contains("crashed the process (signal 11"), output)
    XCTAssertTrue(output.contains("during check 'fill"), output)
    XCTAssertTrue(output.contains("PASS grpo"), "the next plugin is still verified:\n\(output)")
    XCTAssertTrue(output.contains("1 passed, 1 failed"), output)
  }
}

extension CLITests {
  func testBenchTrainAndDecodeReportRatiosToTheSgemmPeak() throws {
    for args in [["bench", "train", "--sizes", "default", "--seconds", "0.2", "--batch", "2", "--length", "8", "--json"],
                 ["bench", "decode", "--sizes", "default", "--batches", "2", "--prompt", "4", "--new-tokens", "4", "--seconds", "0.2", "--json"]] {
      let (status, output) = try TestSupport.run(rlax, args)
      XCTAssertEqual(status, 0, output)
      let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
      let row = (json?["rows"] as? [[String: Any]])?.first
      XCTAssertGreaterThan(json?["sgemmPeakGflops"] as? Double ?? 0, 0)
      XCTAssertGreaterThan(row?["tokensPerSecond"] as? Double ?? 0, 0)
      let ratio = row?["ratioToPeak"] as? Double ?? 0
      XCTAssertEqual(ratio, (row?["gflops"] as? Double ?? 0) / (json?["sgemmPeakGflops"] as? Double ?? 1), accuracy: 1e-9)
    }
  }

  func testSimulateProjectsAnRLStepAndRefusesBadSlices() throws {
    let (status, output) = try run("simulate", "--json")
    XCTAssertEqual(status, 0, output)
    let json = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
    XCTAssertEqual((json?["scaling"] as? [Any])?.count, 4)
    let bad = try run("simulate", "--set", "inferenceSlice=v5p-7")
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.output.contains("v5p-7"), bad.output)
  }

  func testConfigShowPrintsEditableFlatLines() throws {
    let (status, output) = try run("config", "show", "--set", "model.numLayers=2", "--replace", "RoPE=LearnedPositions")
    XCTAssertEqual(status, 0, output)
    XCTAssertTrue(output.contains("model.numLayers = 2\n"), output)
    XCTAssertTrue(output.contains("model.positionEncoding.type = \"LearnedPositions\""), output)
    let bad = try run("config", "show", "--set", "model.numLayer=2")
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.output.contains("no field model.numLayer"), bad.output)
  }
}
