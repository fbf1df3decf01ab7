import ArgumentParser
import Foundation
import RlaxConfig
import RlaxSimulate

struct SimulateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "simulate",
    abstract: "Project a full RL step of a large decoder on a TPU v5p slice (cost only: shapes, no numerics).",
    discussion: "The model, its assumptions and sources are in docs/tpu-sim.md. Edit any input with --set, e.g. --set inferenceSlice=v5p-1024.")
  @Option(name: .customLong("set"), help: "Edit one input: name=value (repeatable); see --show-config.") var edits: [String] = []
  @Flag(help: "Print the inputs as flat name = value lines and exit.") var showConfig = false
  @Option(help: "Comma-separated inference slices for the scaling table.") var scaling = "v5p-128,v5p-256,v5p-512,v5p-1024"
  @Flag(help: "Print JSON.") var json = false

  func run() throws {
    var tree = try JSONValue.from(SimulationConfig())
    for edit in edits { try ConfigTree.set(&tree, edit: edit) }
    let config = try ConfigTree.build(tree, as: SimulationConfig.self)
    if showConfig { return ConfigTree.flatten(tree).forEach { print($0) } }
    let projection = try RLStepSimulator.project(config)
    let table = try RLStepSimulator.scaling(config, inferenceSlices: scaling.split(separator: ",").map(String.init))
    if json {
      struct Output: Codable { var projection: Projection; var scaling: [Projection] }
      return try printJSON(Output(projection: projection, scaling: table))
    }
    print(projection.table())
    print()
    print(table.table())
  }
}
