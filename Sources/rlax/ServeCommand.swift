import ArgumentParser
import Foundation
import RlaxPlugins
import RlaxTransport

/// `rlax serve ps|controller|trainer|worker`: one of RLAX's roles as its own process
/// (docs/distributed.md); `rlax launch` starts and supervises a whole run of them.
struct ServeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve", abstract: "Run one role of a run as its own process.",
    subcommands: [ServeParameterServer.self, ServeController.self, ServeTrainer.self, ServeWorker.self])
}

/// The parameter server: versions pushed by the trainer, pulled by rollout workers, kept in a
/// weight-store plugin. `rlax --parameter-server HOST:PORT --token-file F` trains against it.
struct ServeParameterServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ps", abstract: "Serve the parameter server over gRPC (Protos/rlax/v1/parameter_server.proto).")

  @OptionGroup var endpoint: ListenOptions
  @Option(help: "Weight-store plugin keeping the versions: memory, file, or a path.") var store = "memory"
  @Option(name: .customLong("store-opt"), help: "Weight-store option key=value (repeatable), e.g. keep=4.") var storeOptions: [String] = []

  func run() throws {
    let (host, port) = try endpoint.address()
    let token = try endpoint.token()
    let weights = try WeightStore(library: try PluginLocator.standard().open(store),
                                  options: try PluginOptions.parse(storeOptions, flag: "--store-opt"))
    let log = RoleProcess.logger("ps")
    let server = RoleServer(services: [ParameterServerService(store: weights, log: log)], host: host, port: port, token: token)
    try RoleProcess.serve(server, host: host, portFile: endpoint.portFile, log: log, describe: "\(weights.name) store")
  }
}

/// The trainer of a run whose controller, parameter server and workers are processes: `rlax
/// train` with --controller and --parameter-server required.
struct ServeTrainer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "trainer", abstract: "Train against a controller and a parameter server process (rlax train --controller --parameter-server).")

  @OptionGroup var train: TrainOptions

  func validate() throws {
    guard train.controller != nil, train.parameterServer != nil, train.tokenFile != nil else {
      throw ValidationError("rlax serve trainer needs --controller, --parameter-server and --token-file")
    }
  }

  func run() throws {
    RoleProcess.exitWithParent()
    try train.run()
  }
}
