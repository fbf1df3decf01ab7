import Foundation
import RlaxConfig
import RlaxPlugins
import RlaxSafeTensors

/// Small state that resumes a run exactly: the step, the seed, and free-form counters of the
/// layers above (data cursor, RNG positions, ...).
public struct TrainingState: Codable, Equatable, Sendable {
  public var step: Int
  public var seed: UInt64
  public var counters: [String: UInt64]
  public init(step: Int, seed: UInt64, counters: [String: UInt64] = [:]) {
    self.step = step; self.seed = seed; self.counters = counters
  }
}

/// A checkpoint directory:
///   model.safetensors      every parameter (names and layouts in docs/model.md), CRC-32C checked
///   optimizer.safetensors  AdamW moments as m.NAME and v.NAME, plus the step (when saved)
///   model.json             the DecoderConfig
///   state.json             TrainingState
///   EXTRA.json             whatever the caller adds (the run config, ...)
/// The directory is written under a temporary name and renamed into place once every file in
/// it is durable (`DurableStorage.writeDirectory`), so a checkpoint directory is complete or
/// absent.
public enum Checkpoint {
  public static let modelFile = "model.safetensors"
  public static let optimizerFile = "optimizer.safetensors"
  public static let configFile = "model.json"
  public static let stateFile = "state.json"

  public static func save(model: DecoderModel, optimizer: AdamW?, state: TrainingState,
                          extraJSON: [String: Data] = [:], to dir: URL, extraFiles: (URL) throws -> Void = { _ in }) throws {
    let params = model.params
    let b = model.backend
    func tensors(_ buffer: DeviceBuffer, prefix: String) throws -> [SafeTensor] {
      try params.entries.map { e in
        SafeTensor(name: prefix + e.name, shape: e.shape, floats: try b.download(params.view(e.name, in: buffer)))
      }
    }
    let weights = try tensors(params.values, prefix: "")
    let moments = try optimizer.map { try tensors($0.m, prefix: "m.") + (try tensors($0.v, prefix: "v.")) }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    // The whole directory appears at once, complete and durable, or not at all: a kill or a
    // full disk mid-save leaves the previous checkpoint (if any) as it was.
    try DurableStorage.writeDirectory(dir) { tmp in
      try SafeTensors.write(weights, metadata: ["format": "rlax", "step": "\(state.step)"],
                            checksums: true, to: tmp.appendingPathComponent(modelFile))
      if let optimizer, let moments {
        try SafeTensors.write(moments, metadata: ["format": "rlax", "adamw_step": "\(optimizer.step)"], checksums: true,
                              to: tmp.appendingPathComponent(optimizerFile))
      }
      try write(try encoder.encode(model.config), tmp.appendingPathComponent(configFile))
      for (name, data) in extraJSON { try write(data, tmp.appendingPathComponent("\(name).json")) }
      try write(try encoder.encode(state), tmp.appendingPathComponent(stateFile))
      try extraFiles(tmp)
    }
  }

  static func write(_ data: Data, _ url: URL) throws {
    do { try data.write(to: url) } catch {
      throw StorageError.io(path: url.path, what: "cannot write", errno: (error as NSError).underlyingErrno)
    }
  }

  /// Reads the model config and state of a checkpoint.
  public static func describe(_ dir: URL) throws -> (config: DecoderConfig, state: TrainingState) {
    guard FileManager.default.fileExists(atPath: dir.appendingPathComponent(stateFile).path) else {
      throw CheckpointError.incomplete(dir: dir.path, missing: stateFile)
    }
    // Fields added since the checkpoint was written take their defaults.
    let saved = try decodeJSON(JSONValue.self, dir.appendingPathComponent(configFile))
    let config: DecoderConfig
    do { config = try ConfigTree.build(try ConfigTree.merge(try JSONValue.from(DecoderConfig()), saved), as: DecoderConfig.self) } catch {
      throw CheckpointError.bad(file: dir.appendingPathComponent(configFile).path, reason: "\(error)")
    }
    return (config, try decodeJSON(TrainingState.self, dir.appendingPathComponent(stateFile)))
  }

  /// Builds the model on `backend` with the checkpoint's weights. With `addValueHead`, a
  /// checkpoint without a value head gets a fresh one (initialised from `seed`).
  public static func loadModel(_ dir: URL, backend: Backend, addValueHead: Bool = false,
                               seed: UInt64 = 0) throws -> (model: DecoderModel, state: TrainingState) {
    var (config, state) = try describe(dir)
    let adding = addValueHead && !config.valueHead
    config.valueHead = config.valueHead || addValueHead
    let model = try DecoderModel(config: config, backend: backend)
    if adding { try model.initialize(seed: seed) }
    let file = dir.appendingPathComponent(modelFile)
    try restore(model.params, from: try tensorsByName(file), prefix: "", file: file.path,
                skip: adding ? [DecoderModel.valueHeadName] : [])
    return (model, state)
  }

  /// Restores AdamW moments and step saved with the model.
  public static func loadOptimizer(_ dir: URL, into optimizer: AdamW) throws {
    let file = dir.appendingPathComponent(optimizerFile)
    guard FileManager.default.fileExists(atPath: file.path) else { throw CheckpointError.incomplete(dir: dir.path, missing: optimizerFile) }
    let (tensors, metadata) = try SafeTensors.read(file)
    let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    let params = optimizer.params
    for (prefix, buffer) in [("m.", optimizer.m), ("v.", optimizer.v)] {
      for e in params.entries {
        let values = try expect(byName[prefix + e.name], name: prefix + e.name, shape: e.shape, file: file.path)
        try values.withUnsafeBytes { try buffer.write($0, at: e.offset * 4) }
      }
    }
    guard let step = metadata["adamw_step"].flatMap(Int.init) else {
      throw CheckpointError.bad(file: file.path, reason: "metadata adamw_step is missing or not an integer")
    }
    optimizer.step = step
  }

  static func tensorsByName(_ file: URL) throws -> [String: SafeTensor] {
    guard FileManager.default.fileExists(atPath: file.path) else {
      throw CheckpointError.incomplete(dir: file.deletingLastPathComponent().path, missing: file.lastPathComponent)
    }
    return Dictionary(try SafeTensors.read(file).tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
  }

  static func restore(_ params: ParameterStore, from byName: [String: SafeTensor], prefix: String, file: String,
                      skip: Set<String> = []) throws {
    for e in params.entries where !skip.contains(e.name) {
      try params.write(e.name, try expect(byName[prefix + e.name], name: prefix + e.name, shape: e.shape, file: file))
    }
  }

  static func expect(_ tensor: SafeTensor?, name: String, shape: [Int], file: String) throws -> [Float] {
    guard let tensor else { throw CheckpointError.bad(file: file, reason: "tensor \(name) is missing") }
    guard tensor.dtype == .F32, tensor.shape == shape else {
      throw CheckpointError.bad(file: file, reason: "tensor \(name) is \(tensor.dtype.rawValue) \(tensor.shape), the config expects F32 \(shape)")
    }
    return try tensor.finiteFloats(file: file)
  }

  static func decodeJSON<T: Decodable>(_ type: T.Type, _ url: URL) throws -> T {
    guard let data = try? Data(contentsOf: url) else {
      throw CheckpointError.incomplete(dir: url.deletingLastPathComponent().path, missing: url.lastPathComponent)
    }
    do { return try JSONDecoder().decode(type, from: data) } catch {
      throw CheckpointError.bad(file: url.path, reason: "\(error)")
    }
  }
}

public enum CheckpointError: Error, CustomStringConvertible, Equatable {
  case incomplete(dir: String, missing: String)
  case bad(file: String, reason: String)

  public var description: String {
    switch self {
    case .incomplete(let dir, let missing): "checkpoint \(dir) is incomplete or not a checkpoint: \(missing) is missing"
    case .bad(let file, let reason): "checkpoint file \(file): \(reason)"
    }
  }
}
