import Foundation

/// Finds plugins: by explicit path, or by name in the directories of `RLAX_PLUGIN_PATH`
/// (colon-separated, searched first) and then the directory of the bundled plugins
/// (`plugins/` beside the running executable, where the Makefile puts them).
public struct PluginLocator: Sendable {
  public var searchDirectories: [String]

  public init(searchDirectories: [String]) { self.searchDirectories = searchDirectories }

  /// RLAX_PLUGIN_PATH, then the bundled directory.
  public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> PluginLocator {
    var dirs = (environment["RLAX_PLUGIN_PATH"] ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
    dirs.append(bundledDirectory)
    return PluginLocator(searchDirectories: dirs)
  }

  /// `plugins/` beside the running executable (for `swift test`, the test binary sits in the
  /// same build directory as `rlax`).
  public static var bundledDirectory: String {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return exe.deletingLastPathComponent().appendingPathComponent("plugins").path
  }

  /// True when `spec` is a path rather than a name.
  public static func isPath(_ spec: String) -> Bool { spec.contains("/") || spec.hasSuffix(".so") }

  /// Every `*.so` in the search directories, earlier directories first; a name found twice
  /// is shadowed by its first occurrence, as in PATH.
  public func candidateFiles() -> [String] {
    var files: [String] = []
    for dir in searchDirectories {
      guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
      files += entries.filter { $0.hasSuffix(".so") }.sorted().map { (dir as NSString).appendingPathComponent($0) }
    }
    return files
  }

  /// Reads the manifests of `paths` without loading them into this process (in a child
  /// process), so that a library whose constructors crash or hang cannot take the caller down.
  public typealias ManifestProbe = @Sendable ([String]) -> [String: Result<PluginManifest, PluginError>]

  /// Set by the `rlax` executable at start-up: when set, name lookup and `list` probe every
  /// candidate file with it first, skip (and report) broken ones, and `dlopen` in this process
  /// only the file that is asked for. When nil (library use, tests), files are opened here.
  nonisolated(unsafe) public static var isolatedProbe: ManifestProbe?

  /// Manifests of `files`: those already loaded here as they are, the rest from the probe.
  func probed(_ files: [String], _ probe: ManifestProbe) -> [String: Result<PluginManifest, PluginError>] {
    var results: [String: Result<PluginManifest, PluginError>] = [:]
    var rest: [String] = []
    for file in files {
      if let m = PluginLibrary.loadedManifest(path: file) { results[file] = .success(m) } else { rest.append(file) }
    }
    if !rest.isEmpty { results.merge(probe(rest)) { a, _ in a } }
    return results
  }

  static func warn(_ line: String) {
    try? FileHandle.standardError.write(contentsOf: Data("rlax: warning: \(line)\n".utf8))
  }

  /// Opens a plugin given by path or by name.
  public func open(_ spec: String) throws -> PluginLibrary {
    if PluginLocator.isPath(spec) { return try PluginLibrary.open(path: spec) }
    let guesses = searchDirectories.map { ($0 as NSString).appendingPathComponent("\(spec).so") }
      .filter { FileManager.default.fileExists(atPath: $0) }
    guard let probe = PluginLocator.isolatedProbe else {
      for guess in guesses {
        let library = try PluginLibrary.open(path: guess)
        if library.manifest.name == spec { return library }
      }
      var available: [String] = []
      for file in candidateFiles() {
        guard let library = try? PluginLibrary.open(path: file) else { continue }
        if library.manifest.name == spec { return library }
        available.append(library.manifest.name)
      }
      throw PluginError.notFound(name: spec, searched: searchDirectories, available: available)
    }
    // Isolated lookup: probe first; load into this process only a file whose probed manifest
    // carries the name; skip broken files, saying so.
    var broken: [String] = []
    var available: [String] = []
    func pick(_ files: [String]) throws -> PluginLibrary? {
      let results = probed(files, probe)
      for file in files {
        switch results[file] {
        case .success(let m)?:
          if m.name == spec { return try PluginLibrary.open(path: file) }
          available.append(m.name)
        case .failure(let e)?:
          broken.append(e.description)
          PluginLocator.warn("skipping \(e.description)")
        case nil:
          break
        }
      }
      return nil
    }
    if let library = try pick(guesses) { return library }
    let tried = Set(guesses)
    if let library = try pick(candidateFiles().filter { !tried.contains($0) }) { return library }
    if broken.isEmpty { throw PluginError.notFound(name: spec, searched: searchDirectories, available: available) }
    throw PluginError.notFoundSkippingBroken(name: spec, searched: searchDirectories, available: available, broken: broken)
  }

  /// One entry per candidate file: its manifest, or the error that kept it from loading.
  /// With an `isolatedProbe`, no candidate is loaded into this process.
  public func list() -> [(path: String, result: Result<PluginManifest, PluginError>)] {
    var seen = Set<String>()
    var out: [(String, Result<PluginManifest, PluginError>)] = []
    let files = candidateFiles()
    if let probe = PluginLocator.isolatedProbe {
      let results = probed(files, probe)
      for file in files {
        guard let result = results[file] else { continue }
        if case .success(let m) = result, !seen.insert(m.name).inserted { continue }
        out.append((file, result))
      }
      return out
    }
    for file in files {
      do {
        let library = try PluginLibrary.open(path: file)
        guard seen.insert(library.manifest.name).inserted else { continue }
        out.append((file, .success(library.manifest)))
      } catch let error as PluginError {
        out.append((file, .failure(error)))
      } catch {
        out.append((file, .failure(.notASharedObject(path: file, reason: "\(error)"))))
      }
    }
    return out
  }
}
