import Foundation
import RlaxPlugins

/// `rlax plugins verify`: the conformance suite any plugin author runs on their `.so`, after
/// PJRT's. Loading checks (manifest, version, struct_size, required functions) come first;
/// then the checks of each kind the manifest claims.
public enum ConformanceSuite {
  /// Verifies the plugin at `path` (or named `path`) in this process. A store that refuses to
  /// be created without options gets `dir=` a fresh temporary directory.
  public static func verify(path: String, locator: PluginLocator = .standard(),
                             observer: ConformanceObserver? = nil) -> ConformanceReport {
    let r = CheckRecorder(observer: observer)
    let library: PluginLibrary
    do {
      library = try locator.open(path)
    } catch {
      r.record("load: open the shared object and read its manifest", .failed("\(error)"))
      return ConformanceReport(path: path, manifest: nil, results: r.results)
    }
    let m = library.manifest
    observer?.loaded(m)
    r.record("load: manifest \(m.name) \(m.version), ABI \(m.abiMajor).\(m.abiMinor), kinds \(m.kinds.map(\.rawValue).joined(separator: ","))", .passed)
    for kind in m.kinds {
      r.check("\(kind.rawValue): refuses a host of another ABI major (get-api returns NULL)") {
        guard let refused = library.probeRefusesForeignMajor(kind) else {
          throw CheckFailure("entry symbol \(kind.entrySymbol) missing")
        }
        try expect(refused, "returned a table to a host claiming ABI major \(HostABI.major + 1)")
        return .passed
      }
      r.check("\(kind.rawValue): table version and struct_size") {
        guard let header = library.probeTableHeader(kind) else { throw CheckFailure("get-api returned NULL to this host") }
        try expect(header.major == HostABI.major, "table says ABI major \(header.major), host \(HostABI.major)")
        try expect(header.minor == m.abiMinor, "table says ABI minor \(header.minor), manifest \(m.abiMinor)")
        return .passed
      }
      switch kind {
      case .backend: verifyBackend(library, r)
      case .algorithm: verifyAlgorithm(library, r)
      case .weightStore: verifyStore(library, r)
      }
    }
    return ConformanceReport(path: library.path, manifest: m, results: r.results)
  }

  static func verifyBackend(_ library: PluginLibrary, _ r: CheckRecorder) {
    let backend: Backend
    let device: DeviceDescription
    do {
      backend = try Backend(library: library)
      device = try backend.describe()
      r.record("backend: create and describe (\(device.name))", .passed)
    } catch {
      r.record("backend: create and describe", .failed("\(error)"))
      return
    }
    r.check("backend: an unknown create option is INVALID_ARGUMENT") {
      try expectError(.invalidArgument, "create with no_such_option_xyz=1") {
        _ = try Backend(library: library, options: PluginOptions([("no_such_option_xyz", "1")]))
      }
      return .passed
    }
    for (op, supported) in backend.supportedOps.sorted(by: { $0.key < $1.key }) where !supported {
      r.record("backend: op \(op)", .skipped("not supported (NULL in the table)"))
    }
    var suite = BackendConformance(backend: backend, device: device)
    suite.run(into: r)
  }

  static func verifyAlgorithm(_ library: PluginLibrary, _ r: CheckRecorder) {
    do {
      let info = try Algorithm.info(of: library)
      var suite = AlgorithmConformance(library: library, info: info)
      suite.run(into: r)
    } catch {
      r.record("algorithm: read info", .failed("\(error)"))
    }
  }

  static func verifyStore(_ library: PluginLibrary, _ r: CheckRecorder) {
    var scratch: String?
    do {
      _ = try WeightStore(library: library)
    } catch let e as PluginError where e.code == .invalidArgument {
      scratch = FileManager.default.temporaryDirectory.appendingPathComponent("rlax-verify-\(UUID().uuidString)").path
    } catch {
      r.record("store: create", .failed("\(error)"))
      return
    }
    WeightStoreConformance(library: library, scratchDirectory: scratch).run(into: r)
    if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
  }
}
