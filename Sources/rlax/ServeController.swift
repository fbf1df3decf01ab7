import ArgumentParser
import Foundation
import RlaxRuntime
import RlaxTransport

/// The controller: the run's deterministic plan, leases of work items to worker processes,
/// the groups they report, and a journal in --state-dir from which a restart resumes.
struct ServeController: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "controller", abstract: "Serve the controller over gRPC (Protos/rlax/v1/controller.proto).")

  @OptionGroup var endpoint: ListenOptions
  @Option(help: "Directory of the run spec and the journal; a restarted controller resumes from it.") var stateDir: String
  @Option(help: "Seconds a lease lasts unless its worker renews it (workers renew every third of it).") var leaseSeconds = 30.0
  @Option(help: "The largest request message accepted, in bytes.") var maxRequestBytes = 64 << 20

  func run() throws {
    guard leaseSeconds >= 0.3 && leaseSeconds <= 86_400 else { throw ValidationError("--lease-seconds must be in 0.3...86400, got \(leaseSeconds)") }
    let (host, port) = try endpoint.address()
    let token = try endpoint.token()
    let log = RoleProcess.logger("controller")
    let role = try ControllerRole(stateDirectory: URL(fileURLWithPath: stateDir), leaseSeconds: leaseSeconds)
    if let restored = role.restored {
      log("resumed the run in \(stateDir): \(restored.accepted) groups accepted, \(restored.leases) leases so far")
    }
    // The transport's limit only resets the stream; the service's answers with a status.
    let server = RoleServer(services: [ControllerService(role: role, maxMessageBytes: maxRequestBytes, log: log)], host: host, port: port,
                            token: token, maxRequestBytes: 2 * maxRequestBytes)
    try RoleProcess.serve(server, host: host, portFile: endpoint.portFile, log: log, describe: "state in \(stateDir)")
  }
}
