import ArgumentParser
import Dispatch
import Foundation
import RlaxRuntime
import RlaxSafeTensors
import RlaxTransport

/// `rlax launch`: a whole run as local processes (one parameter server, one controller, one
/// trainer, N rollout workers), supervised: a role that dies is restarted with backoff (the
/// trainer with --resume), every line a role prints is prefixed with its name, and the run
/// ends when the trainer has written summary.json. Takes `rlax train`'s flags; --workers
/// counts worker processes.
struct LaunchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "launch",
    abstract: "Run training as supervised processes: parameter server, controller, trainer and --workers rollout workers.")

  @OptionGroup var train: TrainOptions
  @Option(help: "Seconds a worker's lease lasts unless renewed (a stopped or dead worker's item is re-leased after it).")
  var leaseSeconds = 30.0
  @Option(help: "Give up when a role exits with an error (not killed by a signal) this many times in a row.")
  var restartLimit = 5

  func validate() throws {
    guard train.controller == nil, train.parameterServer == nil, train.tokenFile == nil else {
      throw ValidationError("rlax launch starts its own controller and parameter server: drop --controller, --parameter-server and --token-file")
    }
    guard !(train.resume && train.overwrite) else { throw ValidationError("--resume and --overwrite contradict each other: choose one") }
  }

  func run() throws {
    let config = try train.runConfig()
    try config.validate()
    let runDir = URL(fileURLWithPath: train.runDir)
    let launchDir = runDir.appendingPathComponent(RunDirectory.launchName)
    if !train.resume {
      // Refuse an occupied run directory before starting anything; a new run starts with an
      // empty parameter server and controller.
      if !train.overwrite { try RunDirectory(runDir).prepareForNewRun(overwrite: false) }
      try? FileManager.default.removeItem(at: launchDir)
    }
    try DurableStorage.createDirectory(launchDir)
    let tokenFile = launchDir.appendingPathComponent("token").path
    _ = try AccessToken.load(tokenFile, create: true)
    let supervisor = Supervisor(launchDir: launchDir, restartLimit: restartLimit)
    let stopSources = supervisor.handleSignals()
    defer { stopSources.forEach { $0.cancel() } }

    let ps = try supervisor.startListening("ps", [
      "serve", "ps", "--token-file", tokenFile, "--store", "file",
      "--store-opt", "dir=\(launchDir.appendingPathComponent("ps-store").path)", "--store-opt", "keep=\(config.rl.keepVersions)",
    ])
    let controller = try supervisor.startListening("controller", [
      "serve", "controller", "--token-file", tokenFile, "--state-dir", launchDir.appendingPathComponent("controller").path,
      "--lease-seconds", "\(leaseSeconds)",
    ])
    let roles = ["--controller", "127.0.0.1:\(controller)", "--parameter-server", "127.0.0.1:\(ps)", "--token-file", tokenFile]
    // The trainer gets launch's own arguments (train's flags); a restart resumes, never overwrites.
    let trainArguments = LaunchArguments.trainerArguments(Array(CommandLine.arguments.dropFirst()))
    supervisor.start("trainer", ["serve", "trainer"] + trainArguments + roles,
                     restart: ["serve", "trainer"] + LaunchArguments.resuming(trainArguments) + roles, isTrainer: true)
    for i in 0..<config.rl.workers {
      supervisor.start("worker-\(i)", ["serve", "worker", "--name", "worker-\(i)"] + roles)
    }
    let outcome = supervisor.wait()
    supervisor.log(supervisor.restartReport())
    switch outcome {
    case .trainerDone: return
    case .stopped(let signal): throw ExitCode(128 + signal)
    case .gaveUp(let reason):
      throw ValidationError("launch gave up: \(reason)")
    }
  }
}

/// Turns `rlax launch`'s command line into the trainer's.
enum LaunchArguments {
  /// Launch's own options, with the number of values each takes.
  static let ownOptions = ["--lease-seconds": 1, "--restart-limit": 1]

  /// The arguments after the executable, without "launch" and launch's own options.
  static func trainerArguments(_ arguments: [String]) -> [String] {
    var out: [String] = [], i = 0
    var rest = arguments
    if let launch = rest.firstIndex(of: "launch") { rest.remove(at: launch) }
    while i < rest.count {
      let a = rest[i]
      let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
      if let values = ownOptions[name] {
        i += a.contains("=") ? 1 : 1 + values
        continue
      }
      out.append(a)
      i += 1
    }
    return out
  }

  /// A restarted trainer continues the run: --resume, never --overwrite.
  static func resuming(_ arguments: [String]) -> [String] {
    arguments.filter { $0 != "--overwrite" } + (arguments.contains("--resume") ? [] : ["--resume"])
  }
}
