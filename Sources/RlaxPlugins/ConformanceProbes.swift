import CRlax

/// Calls that only a conformance suite makes: they poke at the raw table to check the
/// promises a plugin makes (NULL-safe destroy functions, refusing a foreign ABI major).
extension PluginLibrary {
  /// Calls the get-api entry of `kind` with services claiming another ABI major; a
  /// conforming plugin returns NULL. Nil when the entry is missing.
  public func probeRefusesForeignMajor(_ kind: PluginKind) -> Bool? {
    guard let entry = symbol(kind.entrySymbol) else { return nil }
    typealias GetAPI = @convention(c) (UnsafePointer<rlax_host_services>?) -> UnsafeRawPointer?
    var foreign = services.table.pointee
    foreign.abi_major = HostABI.major + 1
    services.log.muted = true
    defer { services.log.muted = false }
    return unsafeBitCast(entry, to: GetAPI.self)(&foreign) == nil
  }

  /// struct_size and ABI version of the table of `kind`, as the plugin reports them.
  public func probeTableHeader(_ kind: PluginKind) -> (structSize: Int, major: UInt32, minor: UInt32)? {
    guard let entry = symbol(kind.entrySymbol) else { return nil }
    typealias GetAPI = @convention(c) (UnsafePointer<rlax_host_services>?) -> UnsafeRawPointer?
    guard let raw = unsafeBitCast(entry, to: GetAPI.self)(services.table) else { return nil }
    let prefix = raw.load(as: rlax_api_prefix.self)
    return (prefix.struct_size, prefix.abi_major, prefix.abi_minor)
  }
}

extension Backend {
  /// destroy(NULL), buffer_free(backend, NULL) and error_destroy(NULL) must do nothing.
  public func probeNullSafety() {
    api.destroy!(nil)
    api.buffer_free!(handle, nil)
    api.error_destroy!(nil)
  }
}

extension Algorithm {
  /// destroy(NULL) and error_destroy(NULL) must do nothing.
  public func probeNullSafety() {
    api.destroy!(nil)
    api.error_destroy!(nil)
  }
}

extension WeightStore {
  /// destroy(NULL) and error_destroy(NULL) must do nothing.
  public func probeNullSafety() {
    api.destroy!(nil)
    api.error_destroy!(nil)
  }
}
