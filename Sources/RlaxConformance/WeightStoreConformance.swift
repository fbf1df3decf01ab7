import Foundation
import RlaxPlugins

/// Conformance of a weight store: round trips, version order, retention, waiting,
/// atomicity under a concurrent reader, and corruption detection.
struct WeightStoreConformance {
  let library: PluginLibrary
  /// Set for stores that refuse to be created without options: each store the suite makes
  /// then gets `dir=` a fresh directory under it.
  let scratchDirectory: String?
  private let made = Counter()
  private final class Counter { var n = 0 }

  init(library: PluginLibrary, scratchDirectory: String?) {
    self.library = library
    self.scratchDirectory = scratchDirectory
  }

  var options: PluginOptions {
    guard let scratchDirectory else { return PluginOptions() }
    made.n += 1
    return PluginOptions([("dir", "\(scratchDirectory)/store-\(made.n)")])
  }

  func makeStore() throws -> WeightStore {
    try WeightStore(library: library, options: options.with("keep", "2"))
  }

  static func tensors(version: UInt64, floats: Int = 12) -> [HostTensor] {
    let v = Float(version)
    return [
      HostTensor(name: "model.embed.weight", shape: [4, floats / 4], floats: [Float](repeating: v, count: floats)),
      HostTensor(name: "model.norm.scale", dtype: .f32, shape: [], bytes: withUnsafeBytes(of: v) { Array($0) }),
      HostTensor(name: "step", dtype: .i32, shape: [2], bytes: [Int32(version), -Int32(version)].withUnsafeBytes { Array($0) }),
      HostTensor(name: "empty", dtype: .f32, shape: [0, 4], bytes: []),
    ]
  }

  func run(into r: CheckRecorder) {
    r.check("store: destroy(NULL) and error_destroy(NULL) are safe; a new store is empty") {
      let store = try makeStore()
      store.probeNullSafety()
      let latest = try store.latest(), versions = try store.versions()
      try expect(latest == 0, "latest() of a new store is \(latest), expected 0")
      try expect(versions.isEmpty, "a new store lists versions \(versions)")
      return .passed
    }
    r.check("store: publish then fetch round-trips names, order, dtypes, shapes and bytes") {
      let store = try makeStore()
      let sent = WeightStoreConformance.tensors(version: 5)
      try store.publish(version: 5, tensors: sent)
      let latest = try store.latest()
      try expect(latest == 5, "latest() is \(latest) after publishing 5")
      let infos = try store.tensorInfos(version: 5)
      try expect(infos.map(\.name) == sent.map(\.name), "tensor order \(infos.map(\.name)), published \(sent.map(\.name))")
      try expect(infos.map(\.shape) == sent.map(\.shape), "shapes \(infos.map(\.shape)), published \(sent.map(\.shape))")
      let back = try store.fetch(version: 5)
      try expect(back == sent, "fetched tensors differ from published ones")
      return .passed
    }
    r.check("store: a version <= the latest, a size mismatch and an unknown option are INVALID_ARGUMENT") {
      let store = try makeStore()
      try store.publish(version: 3, tensors: WeightStoreConformance.tensors(version: 3))
      try expectError(.invalidArgument, "publishing 3 again") { try store.publish(version: 3, tensors: WeightStoreConformance.tensors(version: 3)) }
      try expectError(.invalidArgument, "publishing 2 after 3") { try store.publish(version: 2, tensors: WeightStoreConformance.tensors(version: 2)) }
      try expectError(.invalidArgument, "a [2,2] f32 tensor of 12 bytes") {
        try store.publish(version: 4, tensors: [HostTensor(name: "bad", dtype: .f32, shape: [2, 2], bytes: [UInt8](repeating: 0, count: 12))])
      }
      try expectError(.invalidArgument, "unknown option") {
        _ = try WeightStore(library: library, options: options.with("no_such_option_xyz", "1"))
      }
      return .passed
    }
    r.check("store: fetching an unknown version or tensor is NOT_FOUND; a wrong size is INVALID_ARGUMENT") {
      let store = try makeStore()
      try store.publish(version: 1, tensors: WeightStoreConformance.tensors(version: 1))
      try expectError(.notFound, "version 99") { _ = try store.fetch(version: 99) }
      var small = [UInt8](repeating: 0, count: 4)
      try expectError(.notFound, "tensor 'nope'") {
        try small.withUnsafeMutableBytes { try store.fetch(version: 1, into: [("nope", $0)]) }
      }
      try expectError(.invalidArgument, "4 bytes for a 48-byte tensor") {
        try small.withUnsafeMutableBytes { try store.fetch(version: 1, into: [("model.embed.weight", $0)]) }
      }
      return .passed
    }
    r.check("store: keep=2 retains the last two versions; an older one is NOT_FOUND") {
      let store = try makeStore()
      for v: UInt64 in [1, 2, 7] { try store.publish(version: v, tensors: WeightStoreConformance.tensors(version: v)) }
      let versions = try store.versions()
      try expect(versions == [2, 7], "versions \(versions), expected [2, 7]")
      try expectError(.notFound, "removed version 1") { _ = try store.fetch(version: 1) }
      return .passed
    }
    r.check("store: wait_newer times out, and wakes for a version published by another thread") {
      let store = try makeStore()
      try store.publish(version: 1, tensors: WeightStoreConformance.tensors(version: 1))
      let start = Date()
      try expect(try store.waitNewer(than: 1, timeoutMs: 50) == nil, "wait_newer returned a version where none is newer")
      try expect(Date().timeIntervalSince(start) >= 0.04, "wait_newer returned before its 50 ms timeout")
      let publisher = Thread {
        Thread.sleep(forTimeInterval: 0.05)
        try? store.publish(version: 2, tensors: WeightStoreConformance.tensors(version: 2))
      }
      publisher.start()
      let got = try store.waitNewer(than: 1, timeoutMs: 10_000)
      try expect(got == 2, "wait_newer returned \(String(describing: got)), expected 2")
      return .passed
    }
    r.check("store: a concurrent reader never sees part of a version (>= 60 publishes of 64 KiB tensors)") {
      let store = try makeStore()
      try store.publish(version: 1, tensors: WeightStoreConformance.tensors(version: 1, floats: 16_384))
      final class Shared: @unchecked Sendable {
        let lock = NSLock()
        var done = false
        var problem: String?
        var reads = 0
      }
      let shared = Shared()
      let reader = Thread {
        while true {
          shared.lock.lock(); let done = shared.done; shared.lock.unlock()
          if done { break }
          do {
            let v = try store.latest()
            let got = try store.fetch(version: v)
            let expected = Float(v)
            if !(got[0].floats.allSatisfy { $0 == expected } && got[1].floats == [expected]) {
              shared.lock.lock(); shared.problem = "version \(v) held values of another version"; shared.lock.unlock()
            }
            shared.lock.lock(); shared.reads += 1; shared.lock.unlock()
          } catch let e as PluginError where e.code == .notFound {
            continue  // retention removed it between latest() and fetch: allowed
          } catch {
            shared.lock.lock(); shared.problem = "\(error)"; shared.lock.unlock()
          }
        }
      }
      reader.start()
      // Publish at least 60 versions, and go on until the reader has overlapped 20 fetches
      // with publishing (bounded at 20 s, so a slow machine cannot hang the suite).
      var version: UInt64 = 1
      let start = Date()
      while true {
        shared.lock.lock(); let reads = shared.reads; shared.lock.unlock()
        if (version >= 61 && reads >= 20) || Date().timeIntervalSince(start) > 20 { break }
        version += 1
        try store.publish(version: version, tensors: WeightStoreConformance.tensors(version: version, floats: 16_384))
      }
      shared.lock.lock(); shared.done = true; shared.lock.unlock()
      while !reader.isFinished { Thread.sleep(forTimeInterval: 0.005) }
      if let problem = shared.problem { throw CheckFailure(problem) }
      try expect(shared.reads > 0, "the reader never completed a fetch")
      return .passed
    }
    r.check("store: a damaged tensor is CORRUPT on fetch") {
      let store = try makeStore()
      guard store.canCorruptForTesting else { return .skipped("corrupt_for_testing not supported") }
      try store.publish(version: 1, tensors: WeightStoreConformance.tensors(version: 1))
      try store.corruptForTesting(version: 1, tensor: "model.embed.weight")
      try expectError(.corrupt, "fetch after corrupt_for_testing") { _ = try store.fetch(version: 1) }
      return .passed
    }
  }
}
