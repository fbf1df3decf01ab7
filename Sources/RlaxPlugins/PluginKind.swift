import CRlax

/// The three kinds of plugin (rlax_plugin_kind).
public enum PluginKind: String, CaseIterable, Sendable, Codable {
  case backend
  case algorithm
  case weightStore = "weight-store"

  var bit: UInt32 {
    switch self {
    case .backend: RLAX_KIND_BACKEND.rawValue
    case .algorithm: RLAX_KIND_ALGORITHM.rawValue
    case .weightStore: RLAX_KIND_WEIGHT_STORE.rawValue
    }
  }

  /// The exported get-api symbol of this kind.
  public var entrySymbol: String {
    switch self {
    case .backend: RLAX_BACKEND_ENTRY_SYMBOL
    case .algorithm: RLAX_ALGORITHM_ENTRY_SYMBOL
    case .weightStore: RLAX_WEIGHT_STORE_ENTRY_SYMBOL
    }
  }

  static func kinds(in mask: UInt32) -> [PluginKind] { allCases.filter { mask & $0.bit != 0 } }
}

/// What a plugin says about itself (rlax_manifest), plus where it was loaded from.
public struct PluginManifest: Sendable, Codable, Equatable {
  public var name: String
  public var version: String
  public var description: String
  public var kinds: [PluginKind]
  public var abiMajor: UInt32
  public var abiMinor: UInt32
  public var path: String
}

/// The ABI version this host was compiled against.
public enum HostABI {
  public static let major = UInt32(RLAX_ABI_MAJOR)
  public static let minor = UInt32(RLAX_ABI_MINOR)
}
