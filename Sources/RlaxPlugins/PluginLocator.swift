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

  /// Opens a plugin given by path or by name.
  public func open(_ spec: String) throws -> PluginLibrary {
    if PluginLocator.isPath(spec) { return try PluginLibrary.open(path: spec) }
    for dir in searchDirectories {
      let guess = (dir as NSString).appendingPathComponent("\(spec).so")
      if FileManager.default.fileExists(atPath: guess) {
        let library = try PluginLibrary.open(path: guess)
        if library.manifest.name == spec { return library }
      }
    }
    var available: [String] = []
    for file in candidateFiles() {
      guard let library = try? PluginLibrary.open(path: file) else { continue }
      if library.manifest.name == spec { return library }
      available.append(library.manifest.name)
    }
    throw PluginError.notFound(name: spec, searched: searchDirectories, available: available)
  }

  /// One entry per candidate file: its manifest, or the error that kept it from loading.
  public func list() -> [(path: String, result: Result<PluginManifest, PluginError>)] {
    var seen = Set<String>()
    var out: [(String, Result<PluginManifest, PluginError>)] = []
    for file in candidateFiles() {
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
