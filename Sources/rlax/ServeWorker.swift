import ArgumentParser
import Foundation
import RlaxPlugins
import RlaxRewards
import RlaxRuntime
import RlaxTransport

/// A rollout worker: stateless; registers with the controller, learns the run from it, and
/// leases, generates, scores and reports until the run is over.
struct ServeWorker: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "worker", abstract: "Generate rollouts for a controller process, with weights from a parameter server process.")

  @Option(help: "The controller, HOST:PORT.") var controller: String
  @Option(help: "The parameter server, HOST:PORT.") var parameterServer: String
  @Option(help: "The token file of the role processes.") var tokenFile: String
  @Option(help: "This worker's name; a restarted worker keeps it (its earlier leases are then void).") var name = "worker-\(getpid())"
  @Option(help: "Device backend plugin (default: the run's).") var backend: String?
  @Option(name: .customLong("backend-opt"), help: "Backend option key=value (repeatable; default: the run's).") var backendOptions: [String] = []

  func run() throws {
    RoleProcess.exitWithParent()
    let log = RoleProcess.logger(name)
    let token = try AccessToken.load(tokenFile, create: false)
    let (controllerHost, controllerPort) = try Address.parse(controller, flag: "--controller")
    let (psHost, psPort) = try Address.parse(parameterServer, flag: "--parameter-server")
    // Roles restart independently: wait minutes, not seconds, for one that is down.
    let source = try RemoteController(host: controllerHost, port: controllerPort, token: token, plan: nil, retrySeconds: 600)
    let (id, spec) = try source.register(name: name)
    guard let plan = source.plan else { throw ValidationError("the controller sent no plan") }
    let store = try RemoteWeightStore(host: psHost, port: psPort, token: token, retrySeconds: 600)
    let device = try Backend(backend ?? spec.backend,
                             options: try PluginOptions.parse(backend == nil ? spec.backendOptions : backendOptions, flag: "--backend-opt"))
    let stats = RewardStats()
    let rewards = try RewardGuard(config: spec.config.rl.reward, task: plan.task, stats: stats)
    defer { rewards.close() }
    let worker = try RolloutWorker(id: id, backend: device, modelConfig: spec.config.model, plan: plan, server: ParameterServer(store: store),
                                   source: source, score: { try rewards.scoreChecked(problem: $0, completion: $1) },
                                   ownWarnings: { stats.warnings })
    log("registered with \(source.name); weights from \(store.name)")
    try worker.serve()
    log("the run is over")
  }
}
