import Foundation
import RlaxModel
import RlaxPlugins

/// Versions of the policy's weights in a weight-store plugin: the trainer publishes, workers
/// fetch. Version v (weights after v updates) is stored as store version v + 1, since stores
/// number from 1.
public final class ParameterServer: @unchecked Sendable {
  public let store: WeightStore

  public init(store: WeightStore) { self.store = store }

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
    let params = model.params
    for tensor in try store.fetch(version: UInt64(version + 1)) {
      guard params.contains(tensor.name), params.entry(tensor.name).shape == tensor.shape else {
        throw PluginError.invalidCall(plugin: store.name, operation: "load version \(version)",
                                      reason: "tensor \(tensor.name) \(tensor.shape) does not fit the model")
      }
      try params.write(tensor.name, tensor.floats)
    }
  }

  /// Weights of a stored version as host tensors (for checkpoints).
  public func fetch(version: Int) throws -> [HostTensor] { try store.fetch(version: UInt64(version + 1)) }

  public func publish(version: Int, tensors: [HostTensor]) throws {
    try store.publish(version: UInt64(version + 1), tensors: tensors)
  }
}
