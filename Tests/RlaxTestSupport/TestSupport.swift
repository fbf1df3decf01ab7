import Foundation
import RlaxPlugins

/// Paths and helpers shared by the test targets.
public enum TestSupport {
  /// The repository root (this file is Tests/RlaxTestSupport/TestSupport.swift).
  public static let repoRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// The bundled plugins directory beside the test binary (the Makefile's output).
  public static var pluginDirectory: String { PluginLocator.bundledDirectory }

  /// The bundled plugins, or a failure telling how to build them.
  public static func bundled(_ name: String) throws -> PluginLibrary {
    let path = "\(pluginDirectory)/\(name).so"
    guard FileManager.default.fileExists(atPath: path) else {
      throw SupportError("bundled plugin \(path) is missing: run `make test` (or `make plugins`) rather than bare `swift test`")
    }
    return try PluginLibrary.open(path: path)
  }

  /// The command-line flags of a small RL run (scripts/kill-loop.sh's): a 1-layer model on
  /// 1-2 digit addition, well under a second of RL, a checkpoint every step.
  public static let tinyRunFlags = [
    "--set", "task.name=arithmetic", "--set", #"task.options={"minDigits":"1","maxDigits":"2","ops":"+"}"#,
    "--set", "model.modelDim=32", "--set", "model.numLayers=1", "--set", "model.maxSeqLen=24",
    "--set", "model.layer.attention.numHeads=2", "--set", "model.layer.attention.numKVHeads=1",
    "--set", "model.layer.attention.headDim=16", "--set", "model.layer.feedForward.hiddenDim=64",
    "--set", "rl.warmStartSteps=30", "--set", "rl.promptsPerStep=4", "--set", "rl.groupSize=4",
    "--set", "rl.sampler.maxNewTokens=4", "--set", "sft.batchSize=16", "--set", "eval.problems=4",
    "--set", "eval.samples=2", "--set", "eval.ks=[1,2]", "--set", "eval.sampler.maxNewTokens=4",
    "--set", "rl.learningRate=0.01", "--checkpoint-every", "1",
  ]

  /// The `--set` flags of ``tinyRunFlags`` (model, task, sizes), for commands that take no
  /// training flags.
  public static var tinySetFlags: [String] {
    tinyRunFlags.indices.filter { tinyRunFlags[$0] == "--set" }.flatMap { [tinyRunFlags[$0], tinyRunFlags[$0 + 1]] }
  }

  /// The config edits of ``tinyRunFlags`` (the values of its `--set` flags).
  public static var tinyConfigEdits: [String] { stride(from: 1, to: tinySetFlags.count, by: 2).map { tinySetFlags[$0] } }

  /// A fresh temporary directory.
  public static func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rlax-test-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// Builds a plugin from C sources with exactly `cc -shared -fPIC -Iinclude` and returns its path.
  public static func compilePlugin(_ sources: [String], name: String, extraFlags: [String] = []) throws -> String {
    let out = try temporaryDirectory("cc").appendingPathComponent("\(name).so").path
    let result = try run("/usr/bin/env", ["cc", "-shared", "-fPIC", "-I\(repoRoot.path)/include"] + extraFlags + ["-o", out]
                         + sources.map { "\(repoRoot.path)/\($0)" })
    guard result.status == 0 else { throw SupportError("cc failed for \(sources): \(result.output)") }
    return out
  }

  /// Runs a program and returns its exit status and combined output.
  public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}

public struct SupportError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
