/// What a parameter server needs of the place its weight versions live: a weight-store plugin
/// in this process (`WeightStore`) or a parameter server in another process
/// (`RemoteWeightStore`, over gRPC). Versions number from 1; 0 means none. Implementations
/// are thread-safe.
public protocol VersionedTensorStore: AnyObject, Sendable {
  /// For messages: the plugin's name, or the remote server's address.
  var name: String { get }
  func publish(version: UInt64, tensors: [HostTensor]) throws
  /// The newest complete version, 0 when there is none.
  func latest() throws -> UInt64
  func tensorInfos(version: UInt64) throws -> [TensorInfo]
  /// Every tensor of `version` (or those named), in the version's order.
  func fetch(version: UInt64, names: [String]?) throws -> [HostTensor]
  /// The named tensors of `version` straight into caller-owned memory of their exact size.
  func fetch(version: UInt64, into targets: [(name: String, destination: UnsafeMutableRawBufferPointer)]) throws
  /// Waits up to `timeoutMs` for a version newer than `after`; nil on timeout.
  func waitNewer(than after: UInt64, timeoutMs: Int) throws -> UInt64?
}

extension VersionedTensorStore {
  public func fetch(version: UInt64) throws -> [HostTensor] { try fetch(version: version, names: nil) }
}

extension WeightStore: VersionedTensorStore {}
