import Foundation
import RlaxConformance
import RlaxPlugins

/// Runs the conformance suite on one plugin in a child process (`rlax plugins verify
/// --worker SPEC`), which streams its progress as JSON lines. A plugin that crashes or hangs
/// then fails its report, naming the check it died in, instead of taking `rlax` down with it.
enum IsolatedVerification {
  struct Event: Codable {
    var event: String
    var check: String?
    var status: String?
    var detail: String?
    var manifest: PluginManifest?
    var path: String?
  }

  /// The child's side: prints one JSON line per event, flushed at once.
  final class LineWriter: ConformanceObserver {
    let encoder = JSONEncoder()

    func emit(_ event: Event) {
      guard var data = try? encoder.encode(event) else { return }
      data.append(0x0A)
      FileHandle.standardOutput.write(data)
    }

    func loaded(_ manifest: PluginManifest) { emit(Event(event: "manifest", manifest: manifest)) }
    func started(_ check: String) { emit(Event(event: "start", check: check)) }
    func finished(_ result: CheckResult) {
      switch result.status {
      case .passed: emit(Event(event: "result", check: result.name, status: "passed"))
      case .failed(let why): emit(Event(event: "result", check: result.name, status: "failed", detail: why))
      case .skipped(let why): emit(Event(event: "result", check: result.name, status: "skipped", detail: why))
      }
    }
  }

  static func runWorker(spec: String) {
    let writer = LineWriter()
    let report = ConformanceSuite.verify(path: spec, observer: writer)
    writer.emit(Event(event: "done", path: report.path))
  }

  /// The parent's side.
  static func verify(spec: String, timeoutSeconds: Double) -> ConformanceReport {
    let process = Process()
    process.executableURL = SelfExecutable.url
    process.arguments = ["plugins", "verify", "--worker", spec]
    var environment = ProcessInfo.processInfo.environment
    environment["SWIFT_BACKTRACE"] = "enable=no"  // a crash ends the child at once
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    do {
      try process.run()
    } catch {
      return ConformanceReport(path: spec, manifest: nil, results: [
        CheckResult(name: "start the verification process", status: .failed("\(error)"))])
    }
    final class Deadline: @unchecked Sendable { var passed = false }
    let deadline = Deadline()
    let timer = DispatchWorkItem {
      if process.isRunning {
        deadline.passed = true
        process.terminate()
      }
    }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeoutSeconds, execute: timer)
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    timer.cancel()

    var report = ConformanceReport(path: spec, manifest: nil, results: [])
    var running: String?
    var finished = false
    let decoder = JSONDecoder()
    for line in output.split(separator: 0x0A) {
      guard let e = try? decoder.decode(Event.self, from: Data(line)) else { continue }
      switch e.event {
      case "manifest": report.manifest = e.manifest
      case "start": running = e.check
      case "result":
        running = nil
        let status: CheckStatus = e.status == "passed" ? .passed : e.status == "skipped" ? .skipped(e.detail ?? "") : .failed(e.detail ?? "")
        report.results.append(CheckResult(name: e.check ?? "?", status: status))
      case "done":
        finished = true
        report.path = e.path ?? spec
      default: break
      }
    }
    if !finished {
      let during = running.map { " during check '\($0)'" } ?? ""
      let why: String
      if deadline.passed {
        why = "timed out after \(Int(timeoutSeconds)) s\(during)"
      } else if process.terminationReason == .uncaughtSignal {
        why = "the plugin crashed the process (signal \(process.terminationStatus), \(String(cString: strsignal(process.terminationStatus))))\(during)"
      } else if process.terminationStatus > 128 && process.terminationStatus < 128 + 65 {
        // rlax's crash handler reported the plugin and ended the child with 128 + signal.
        let signal = process.terminationStatus - 128
        why = "the plugin crashed the process (signal \(signal), \(String(cString: strsignal(signal))))\(during)"
      } else if process.terminationStatus == PluginWatch.watchdogExitStatus {
        why = "a plugin call hung: the watchdog ended the process (RLAX_PLUGIN_DEADLINE)\(during)"
      } else {
        why = "the verification process exited with status \(process.terminationStatus)\(during)"
      }
      report.results.append(CheckResult(name: running ?? "run the suite", status: .failed(why)))
    }
    return report
  }
}
