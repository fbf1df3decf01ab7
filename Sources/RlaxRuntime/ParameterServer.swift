import Foundation
import RlaxModel
import RlaxPlugins

/// Versions of the policy's weights in a weight-store plugin, in this process or behind a
/// parameter-server process: the trainer publishes, workers fetch. Version v (weights after v
/// updates) is stored as store version v + 1, since stores number from 1.
public final class ParameterServer: @unchecked Sendable {
  public let store: any VersionedTensorStore

  public init(store: any VersionedTensorStore) { self.store = store }

  public func publish(version: Int, from model: DecoderModel) throws {
    let params = model.params
    let tensors = try params.entries.map { e in
      HostTensor(name: e.name, shape: e.shape, floats: try model.backend.download(params.value(e.name)))
    }
    try store.publish(version: UInt64(version + 1), tensors: tensors)
  }

  /// Newest published version, or nil when there is none.
  public func latest() throws -> Int? {
    let v = try store.latest()
    return v == 0 ? nil : Int(v) - 1
  }

  /// Blocks until `version` is published (or a timeout); then loads it into `model`.
  public func load(version: Int, into model: DecoderModel, timeoutSeconds: Double = 600) throws {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while (try latest() ?? -1) < version {
      let remaining = deadline.timeIntervalSinceNow
      guard remaining > 0 else {
        throw PluginError.invalidCall(plugin: store.name, operation: "load version \(version)", reason: "not published within \(Int(timeoutSeconds)) s")
      }
      _ = try store.waitNewer(than: UInt64((try latest() ?? -1) + 1), timeoutMs: Int(min(remaining, 1) * 1000))
    }
    try fetchChecked(version: version, into: model)
  }

  /// Fetches `version` into `model` after checking that it covers every parameter of the model
  /// exactly: each present once with dtype F32, the parameter's shape and byte count, and
  /// nothing else. Any difference is an error naming the tensor, the store and the version,
  /// with what was expected and what was found; the model is left untouched then.
  func fetchChecked(version: Int, into model: DecoderModel) throws {
    let storeVersion = UInt64(version + 1)
    let operation = "load version \(version) (store version \(storeVersion))"
    let infos = try store.tensorInfos(version: storeVersion)
    let params = model.params
    let byName = Dictionary(infos.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    func bad(_ reason: String) -> PluginError { .badOutput(plugin: store.name, operation: operation, reason: reason) }
    func describe(_ dtype: DType, _ shape: [Int], _ nbytes: Int) -> String { "\(dtype.name) \(shape) (\(nbytes) bytes)" }
    for e in params.entries {
      guard let info = byName[e.name] else {
        throw bad("parameter '\(e.name)' is missing from the version (it holds \(infos.count) tensors, the model has \(params.entries.count) parameters)")
      }
      let expected = describe(.f32, e.shape, e.count * DType.f32.size)
      guard info.dtype == .f32, info.shape == e.shape, info.nbytes == e.count * DType.f32.size else {
        throw bad("tensor '\(e.name)': expected \(expected), found \(describe(info.dtype, info.shape, info.nbytes))")
      }
    }
    if let extra = infos.first(where: { !params.contains($0.name) }) {
      throw bad("tensor '\(extra.name)' \(describe(extra.dtype, extra.shape, extra.nbytes)) is not a parameter of the model")
    }
    var values = params.entries.map { [Float](repeating: 0, count: $0.count) }
    // One fetch for all parameters, straight into the host arrays.
    let total = params.entries.reduce(0) { $0 + $1.count * DType.f32.size }
    let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 16)
    defer { staging.deallocate() }
    var cursor = 0
    var targets: [(name: String, destination: UnsafeMutableRawBufferPointer)] = []
    for e in params.entries {
      let n = e.count * DType.f32.size
      targets.append((e.name, UnsafeMutableRawBufferPointer(rebasing: staging[cursor..<(cursor + n)])))
      cursor += n
    }
    try store.fetch(version: storeVersion, into: targets)
    for (i, t) in targets.enumerated() {
      values[i].withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(t.destination)) }
      try params.write(t.name, values[i])
    }
  }

  /// Weights of a stored version as host tensors (for checkpoints).
  public func fetch(version: Int) throws -> [HostTensor] { try store.fetch(version: UInt64(version + 1)) }

  public func publish(version: Int, tensors: [HostTensor]) throws {
    try store.publish(version: UInt64(version + 1), tensors: tensors)
  }
}
