import ArgumentParser
import Foundation
import RlaxPlugins
import RlaxTraining

/// Options shared by commands that build a run config and a backend.
struct RunOptions: ParsableArguments {
  static let defaultBackend = "cpu-blas"
  @Option(help: "Device backend plugin: name or path to a .so (default: cpu-blas; a resumed run's own).") var backend: String?
  @Option(name: .customLong("backend-opt"), help: "Backend option key=value (repeatable).") var backendOptions: [String] = []
  @Option(help: "A JSON config file overlaid on the defaults (see `rlax config show`).") var config: String?
  @Option(name: .customLong("set"), help: "Edit one config field: path=value, e.g. model.numLayers=2 (repeatable).")
  var edits: [String] = []
  @Option(name: .customLong("replace"), help: "Swap every config section of one type for another: FROM=TO, e.g. RoPE=LearnedPositions.")
  var replacements: [String] = []

  func runConfig() throws -> RunConfig {
    try RunConfigLoader.load(file: config, edits: edits, replacements: replacements)
  }

  func makeBackend() throws -> Backend {
    try Backend(backend ?? Self.defaultBackend, options: try PluginOptions.parse(backendOptions, flag: "--backend-opt"))
  }
}
