import ArgumentParser
import Foundation
import RlaxConformance
import RlaxPlugins

struct PluginsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plugins", abstract: "List, describe and verify plugins.",
    subcommands: [List.self, Info.self, Verify.self, Probe.self])

  /// The child side of PluginProbe: prints each file's manifest (or error) as a JSON line.
  struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read plugin manifests (used by list and lookup, in a child process).",
                                                    shouldDisplay: false)
    @Argument var paths: [String] = []
    func run() throws { PluginProbe.runWorker(paths: paths) }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the plugins in the search path: name, kind, version, ABI version, path.")
    @Flag(help: "Print JSON.") var json = false

    struct Entry: Codable {
      var name: String?
      var kinds: [String]?
      var version: String?
      var abi: String?
      var path: String
      var error: String?
    }

    func run() throws {
      let entries = PluginLocator.standard().list().map { path, result -> Entry in
        switch result {
        case .success(let m):
          Entry(name: m.name, kinds: m.kinds.map(\.rawValue), version: m.version, abi: "\(m.abiMajor).\(m.abiMinor)", path: path, error: nil)
        case .failure(let e):
          Entry(name: nil, kinds: nil, version: nil, abi: nil, path: path, error: e.description)
        }
      }
      if json { return try printJSON(entries) }
      if entries.isEmpty {
        print("no plugins found in \(PluginLocator.standard().searchDirectories.joined(separator: ", "))")
        return
      }
      for e in entries {
        if let error = e.error {
          print("(unloadable)  \(error)")
        } else {
          print("\(e.name!.padding(toLength: 12, withPad: " ", startingAt: 0)) \((e.kinds ?? []).joined(separator: ",").padding(toLength: 13, withPad: " ", startingAt: 0)) \(e.version!.padding(toLength: 8, withPad: " ", startingAt: 0)) ABI \(e.abi!)  \(e.path)")
        }
      }
    }
  }

  struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a plugin's manifest, and its device description or hyperparameters.")
    @Argument(help: "Plugin name or path to a .so.") var plugin: String
    @Flag(help: "Print JSON.") var json = false

    struct Details: Codable {
      var manifest: PluginManifest
      var device: DeviceDescription?
      var ops: [String: Bool]?
      var algorithm: AlgorithmInfo?
    }

    func run() throws {
      let library = try PluginLocator.standard().open(plugin)
      var details = Details(manifest: library.manifest)
      if library.provides(.backend) {
        let backend = try Backend(library: library)
        details.device = try backend.describe()
        details.ops = backend.supportedOps
      }
      if library.provides(.algorithm) { details.algorithm = try Algorithm.info(of: library) }
      if json { return try printJSON(details) }
      let m = details.manifest
      print("\(m.name) \(m.version): \(m.description)")
      print("  kinds: \(m.kinds.map(\.rawValue).joined(separator: ", "))   ABI \(m.abiMajor).\(m.abiMinor)   \(m.path)")
      if let d = details.device {
        print("  device: \(d.name) [\(d.platform)]\(d.present ? "" : " (not present)")")
        print("  memory: \(d.memoryBytes == 0 ? "unknown" : formatBytes(d.memoryBytes))   dtypes: \(d.dtypes.joined(separator: ", "))   capabilities: \(d.capabilities.isEmpty ? "none" : d.capabilities.joined(separator: ", "))")
        if d.peakFlopsF32 > 0 || d.peakFlopsBF16 > 0 {
          print(String(format: "  peak: %.1f TFLOP/s f32, %.1f TFLOP/s bf16", d.peakFlopsF32 / 1e12, d.peakFlopsBF16 / 1e12))
        }
        let ops = details.ops ?? [:]
        let missing = ops.filter { !$0.value }.keys.sorted()
        print("  ops: \(ops.count - missing.count) of \(ops.count)\(missing.isEmpty ? "" : "; not supported: \(missing.joined(separator: ", "))")")
      }
      if let a = details.algorithm {
        print("  formula: \(a.formula)")
        print("  needs: reference log-probs \(a.needsReferenceLogprobs ? "yes" : "no"), value head \(a.needsValueHead ? "yes" : "no"), samples per prompt >= \(a.minGroupSize)")
        print("  hyperparameters (--algo-opt name=value):")
        for h in a.hyperparameters {
          print("    \(h.name.padding(toLength: 14, withPad: " ", startingAt: 0)) default \(h.defaultValue) in [\(h.minValue), \(h.maxValue)]  \(h.description)")
        }
      }
    }
  }

  struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run the conformance suite on plugins; exit status 1 when any check fails.",
      discussion: "Backends: every op against a float64 reference on random inputs with odd shapes and strided views. Algorithms: gradients against finite differences. Weight stores: atomicity under a concurrent reader, retention, corruption detection.")
    @Argument(help: "Plugin names or paths to .so files.") var plugins: [String] = []
    @Flag(help: "Verify every plugin in the search path.") var all = false
    @Flag(name: .shortAndLong, help: "Print every check, not only failures.") var verbose = false
    @Flag(help: "Run the checks in this process instead of one child process per plugin (a crashing plugin then crashes rlax).")
    var inProcess = false
    @Option(help: "Seconds a plugin's checks may take before it fails as hung.") var timeout = 300.0
    @Option(help: .hidden) var worker: String?

    func validate() throws {
      if plugins.isEmpty && !all && worker == nil { throw ValidationError("name at least one plugin, or pass --all") }
    }

    func run() throws {
      if let worker { return IsolatedVerification.runWorker(spec: worker) }
      var specs = plugins
      if all { specs += PluginLocator.standard().list().map(\.path) }
      var failed = 0
      for spec in specs {
        let report = inProcess ? ConformanceSuite.verify(path: spec)
          : IsolatedVerification.verify(spec: spec, timeoutSeconds: timeout)
        let passed = report.results.filter { $0.status == .passed }.count
        let skipped = report.results.count - passed - report.failures.count
        let title = report.manifest.map { "\($0.name) \($0.version)" } ?? spec
        print("\(report.passed ? "PASS" : "FAIL") \(title) (\(report.path)): \(passed) passed, \(report.failures.count) failed, \(skipped) skipped")
        for result in report.results {
          switch result.status {
          case .failed(let why): print("  FAIL \(result.name): \(why)")
          case .skipped(let why) where verbose: print("  skip \(result.name): \(why)")
          case .passed where verbose: print("  ok   \(result.name)")
          default: break
          }
        }
        if !report.passed { failed += 1 }
      }
      print("\(specs.count - failed) passed, \(failed) failed")
      if failed > 0 { throw ExitCode(1) }
    }
  }
}
