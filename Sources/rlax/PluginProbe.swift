import ArgumentParser
import Foundation
import RlaxPlugins

/// Reads plugin manifests in a child process (`rlax plugins probe PATH...`), so that a `.so` on
/// the search path whose constructors crash or hang cannot take down `plugins list` or a lookup
/// by name: the child dies instead, and the file is reported as broken with the reason.
enum PluginProbe {
  struct Line: Codable {
    var start: String?
    var path: String?
    var manifest: PluginManifest?
    var error: String?
  }

  /// The child's side: one JSON line before and one after each file, flushed at once.
  static func runWorker(paths: [String]) {
    let encoder = JSONEncoder()
    func emit(_ line: Line) {
      guard var data = try? encoder.encode(line) else { return }
      data.append(0x0A)
      FileHandle.standardOutput.write(data)
    }
    for path in paths {
      emit(Line(start: path))
      do {
        let library = try PluginLibrary.open(path: path)
        emit(Line(path: path, manifest: library.manifest))
      } catch {
        emit(Line(path: path, error: "\(error)"))
      }
    }
  }

  /// Seconds the parent waits for one child before killing it (the child's own watchdog
  /// normally ends a hanging constructor first, after RLAX_PLUGIN_DEADLINE).
  static var parentTimeout: Double {
    let deadline = PluginWatch.deadline(environment: ProcessInfo.processInfo.environment).seconds
    return deadline > 0 ? min(deadline, 60) + 10 : 70
  }

  /// The parent's side: manifests of `paths`, or why each could not be read. A child that dies
  /// on one file is restarted for the files after it.
  @Sendable static func probe(_ paths: [String]) -> [String: Result<PluginManifest, PluginError>] {
    var results: [String: Result<PluginManifest, PluginError>] = [:]
    var remaining = paths
    while !remaining.isEmpty {
      let process = Process()
      process.executableURL = SelfExecutable.url
      process.arguments = ["plugins", "probe"] + remaining
      var environment = ProcessInfo.processInfo.environment
      environment["SWIFT_BACKTRACE"] = "enable=no"
      process.environment = environment
      let out = Pipe(), err = Pipe()
      process.standardOutput = out
      process.standardError = err
      do {
        try process.run()
      } catch {
        for path in remaining { results[path] = .failure(.unloadable(path: path, reason: "could not start a probe process: \(error)")) }
        return results
      }
      final class Box: @unchecked Sendable { var data = Data(); var killed = false }
      let errors = Box(), deadline = Box()
      let errDone = DispatchSemaphore(value: 0)
      DispatchQueue.global().async {
        errors.data = err.fileHandleForReading.readDataToEndOfFile()
        errDone.signal()
      }
      let timeout = parentTimeout
      let timer = DispatchWorkItem {
        if process.isRunning {
          deadline.killed = true
          process.terminate()
        }
      }
      DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
      let output = out.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      timer.cancel()
      errDone.wait()

      var started: String?
      let decoder = JSONDecoder()
      for raw in output.split(separator: 0x0A) {
        guard let line = try? decoder.decode(Line.self, from: Data(raw)) else { continue }
        if let start = line.start { started = start; continue }
        guard let path = line.path else { continue }
        started = nil
        if let m = line.manifest { results[path] = .success(m) }
        else { results[path] = .failure(.unloadable(path: path, reason: line.error ?? "unknown error")) }
      }
      remaining.removeAll { results[$0] != nil }
      guard let culprit = started ?? remaining.first else { continue }
      // The child died (or was killed) on `culprit`.
      let fatal = String(decoding: errors.data, as: UTF8.self).split(separator: "\n").last { $0.contains("rlax: fatal:") }
      let status = process.terminationStatus
      var why: String
      if deadline.killed {
        why = "loading it did not finish within \(Int(timeout)) s (probed in a child process)"
      } else if process.terminationReason == .uncaughtSignal {
        why = "loading it crashed the probe process with signal \(status) (\(String(cString: strsignal(status))))"
      } else if status > 128 && status < 128 + 65 {
        why = "loading it crashed the probe process with signal \(status - 128) (\(String(cString: strsignal(status - 128))))"
      } else if status == PluginWatch.watchdogExitStatus {
        why = "loading it hung (the probe process's watchdog ended it)"
      } else {
        why = "the probe process exited with status \(status) while loading it"
      }
      if let fatal {
        let detail = fatal.replacingOccurrences(of: "rlax: fatal: ", with: "")
        why += ": " + (detail.range(of: "; exiting with status").map { String(detail[..<$0.lowerBound]) } ?? detail)
      }
      results[culprit] = .failure(.unloadable(path: culprit, reason: why + "; not loaded"))
      remaining.removeAll { $0 == culprit }
    }
    return results
  }
}
