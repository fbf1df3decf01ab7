import CRlax

/// A hyperparameter an algorithm declares (rlax_hyperparameter).
public struct Hyperparameter: Sendable, Codable, Equatable {
  public var name: String
  public var description: String
  public var defaultValue: Double
  public var minValue: Double
  public var maxValue: Double
}

/// What an algorithm is and needs (rlax_algorithm_info).
public struct AlgorithmInfo: Sendable, Codable, Equatable {
  public var formula: String
  public var needsReferenceLogprobs: Bool
  public var needsValueHead: Bool
  public var minGroupSize: Int
  public var hyperparameters: [Hyperparameter]
}

/// A batch of scored rollouts, row-major [N, T] arrays (see rlax_rollout_batch).
public struct RolloutBatch: Sendable {
  public var numSequences: Int
  public var numTokens: Int
  public var groupIDs: [Int32]
  public var rewards: [Float]
  public var mask: [Float]
  public var behaviorLogprobs: [Float]
  public var logprobs: [Float]
  public var refLogprobs: [Float]?
  public var values: [Float]?
  public var oldValues: [Float]?
  public var advantages: [Float]?
  public var maxResponseTokens: Int

  public init(numSequences: Int, numTokens: Int, groupIDs: [Int32], rewards: [Float], mask: [Float],
              behaviorLogprobs: [Float], logprobs: [Float], refLogprobs: [Float]? = nil,
              values: [Float]? = nil, oldValues: [Float]? = nil, advantages: [Float]? = nil,
              maxResponseTokens: Int? = nil) {
    self.numSequences = numSequences; self.numTokens = numTokens; self.groupIDs = groupIDs
    self.rewards = rewards; self.mask = mask; self.behaviorLogprobs = behaviorLogprobs
    self.logprobs = logprobs; self.refLogprobs = refLogprobs; self.values = values
    self.oldValues = oldValues; self.advantages = advantages
    self.maxResponseTokens = maxResponseTokens ?? numTokens
  }

  /// Checks array lengths before anything reaches a plugin.
  func validate(plugin: String, operation: String) throws {
    let n = numSequences, nt = numSequences * numTokens
    var problems: [String] = []
    if n < 1 || numTokens < 1 { problems.append("N = \(n) and T = \(numTokens) must be >= 1") }
    for (name, count, expected) in [("group_ids", groupIDs.count, n), ("rewards", rewards.count, n), ("mask", mask.count, nt),
                                    ("behavior_logprobs", behaviorLogprobs.count, nt), ("logprobs", logprobs.count, nt)]
      where count != expected { problems.append("\(name) has \(count) values, expected \(expected)") }
    for (name, array) in [("ref_logprobs", refLogprobs), ("values", values), ("old_values", oldValues), ("advantages", advantages)] {
      if let array, array.count != nt { problems.append("\(name) has \(array.count) values, expected \(nt)") }
    }
    if !problems.isEmpty {
      throw PluginError.invalidCall(plugin: plugin, operation: operation, reason: problems.joined(separator: "; "))
    }
  }

  /// Calls `body` with a C view of the batch, valid for the call.
  func withC<R>(_ body: (UnsafePointer<rlax_rollout_batch>) throws -> R) rethrows -> R {
    func opt<T>(_ a: [T]?, _ f: (UnsafePointer<T>?) throws -> R) rethrows -> R {
      guard let a else { return try f(nil) }
      return try a.withUnsafeBufferPointer { try f($0.baseAddress) }
    }
    return try groupIDs.withUnsafeBufferPointer { g in
      try rewards.withUnsafeBufferPointer { r in
        try mask.withUnsafeBufferPointer { m in
          try behaviorLogprobs.withUnsafeBufferPointer { b in
            try logprobs.withUnsafeBufferPointer { l in
              try opt(refLogprobs) { ref in
                try opt(values) { v in
                  try opt(oldValues) { ov in
                    try opt(advantages) { adv in
                      var batch = rlax_rollout_batch(
                        struct_size: MemoryLayout<rlax_rollout_batch>.size, num_sequences: Int32(numSequences),
                        num_tokens: Int32(numTokens), group_ids: g.baseAddress, rewards: r.baseAddress,
                        mask: m.baseAddress, behavior_logprobs: b.baseAddress, logprobs: l.baseAddress,
                        ref_logprobs: ref, values: v, old_values: ov, advantages: adv,
                        max_response_tokens: Int32(maxResponseTokens))
                      return try body(&batch)
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

/// The loss and its gradients for one batch.
public struct LossResult: Sendable {
  public var loss: Double
  public var dlossDlogprobs: [Float]
  public var dlossDvalues: [Float]?
  public var metrics: [String: Double]
}

/// An RL-algorithm instance with its hyperparameters set; destroyed on deinit.
public final class Algorithm: @unchecked Sendable {
  public let library: PluginLibrary
  public var name: String { library.manifest.name }
  public let info: AlgorithmInfo
  let api: rlax_algorithm_api
  let errors: ErrorFunctions
  let handle: OpaquePointer

  static func table(of library: PluginLibrary) throws -> rlax_algorithm_api {
    try library.functionTable(
      .algorithm, as: rlax_algorithm_api.self,
      minimumSize: MemoryLayout<rlax_algorithm_api>.offset(of: \.compute_loss)! + MemoryLayout<UnsafeRawPointer>.size,
      required: [("info", \.info), ("create", \.create), ("destroy", \.destroy),
                 ("get_hyperparameters", \.get_hyperparameters), ("compute_advantages", \.compute_advantages),
                 ("compute_loss", \.compute_loss)])
  }

  /// Reads the static description of the algorithm in `library`.
  public static func info(of library: PluginLibrary) throws -> AlgorithmInfo {
    let api = try table(of: library)
    guard let p = insidePlugin(library.cName, "info", { api.info!() }) else {
      throw PluginError.badManifest(path: library.path, reason: "algorithm info() returned NULL")
    }
    let i = p.pointee
    var hps: [Hyperparameter] = []
    for k in 0..<Int(max(i.num_hyperparameters, 0)) {
      guard let h = i.hyperparameters?[k]?.pointee else {
        throw PluginError.badManifest(path: library.path, reason: "hyperparameter \(k) is NULL")
      }
      hps.append(Hyperparameter(name: h.name.map { String(cString: $0) } ?? "", description: h.description.map { String(cString: $0) } ?? "",
                                defaultValue: h.default_value, minValue: h.min_value, maxValue: h.max_value))
    }
    return AlgorithmInfo(formula: i.formula.map { String(cString: $0) } ?? "", needsReferenceLogprobs: i.needs_reference_logprobs,
                         needsValueHead: i.needs_value_head, minGroupSize: Int(i.min_group_size), hyperparameters: hps)
  }

  public init(library: PluginLibrary, options: PluginOptions = PluginOptions()) throws {
    self.library = library
    api = try Algorithm.table(of: library)
    info = try Algorithm.info(of: library)
    errors = ErrorFunctions(table: api, library: library)
    var out: OpaquePointer?
    let api = self.api, errors = self.errors
    try options.withCArrays { keys, values, count in
      var args = rlax_algorithm_create_args(struct_size: MemoryLayout<rlax_algorithm_create_args>.size,
                                            option_keys: keys, option_values: values, num_options: count)
      try errors.checked("create") { api.create!(&args, &out) }
    }
    guard let out else {
      throw PluginError.invalidCall(plugin: library.manifest.name, operation: "create", reason: "returned success but no algorithm")
    }
    handle = out
  }

  public convenience init(_ spec: String, options: PluginOptions = PluginOptions(), locator: PluginLocator = .standard()) throws {
    try self.init(library: try locator.open(spec), options: options)
  }

  deinit {
    let api = self.api, handle = self.handle
    errors.guarded("destroy") { api.destroy!(handle) }
  }

  /// The hyperparameter values in effect, by name.
  public func hyperparameters() throws -> [String: Double] {
    var values = [Double](repeating: .nan, count: info.hyperparameters.count)
    try values.withUnsafeMutableBufferPointer { p in
      try errors.checked("get_hyperparameters") { api.get_hyperparameters!(handle, p.baseAddress) }
    }
    return Dictionary(uniqueKeysWithValues: zip(info.hyperparameters.map(\.name), values))
  }

  /// Per-token advantages [N, T].
  public func computeAdvantages(_ batch: RolloutBatch) throws -> [Float] {
    try batch.validate(plugin: name, operation: "compute_advantages")
    var out = [Float](repeating: 0, count: batch.numSequences * batch.numTokens)
    try batch.withC { b in
      try out.withUnsafeMutableBufferPointer { o in
        try errors.checked("compute_advantages") { api.compute_advantages!(handle, b, o.baseAddress) }
      }
    }
    try checkOutput(out, "advantages", of: "compute_advantages", batch: batch)
    return out
  }

  /// The host trusts no plugin output: every value finite, and 0 wherever mask is 0 (the ABI's
  /// promise for advantages and gradients), or a `badOutput` error naming the plugin, the
  /// operation, the array and the first bad (sequence, token).
  func checkOutput(_ values: [Float], _ array: String, of operation: String, batch: RolloutBatch) throws {
    let t = batch.numTokens
    func fail(_ i: Int, _ what: String) -> PluginError {
      .badOutput(plugin: name, operation: operation,
                 reason: "\(array)[\(i / t), \(i % t)] (sequence \(i / t), token \(i % t)) is \(values[i])\(what); nothing is applied, the weights are not updated")
    }
    if let i = values.firstIndex(where: { !$0.isFinite }) { throw fail(i, ", not a finite number") }
    if let i = values.indices.first(where: { batch.mask[$0] == 0 && values[$0] != 0 }) {
      throw fail(i, " on padding (mask 0), where the ABI requires 0")
    }
  }

  /// Whether the algorithm filters sequences before training (dynamic sampling).
  public var selectsSequences: Bool { api.select_sequences != nil }

  /// Which sequences of a freshly scored batch to train on; nil when the algorithm keeps all.
  public func selectSequences(_ batch: RolloutBatch) throws -> [Bool]? {
    guard let select = api.select_sequences else { return nil }
    try batch.validate(plugin: name, operation: "select_sequences")
    var keep = [UInt8](repeating: 2, count: batch.numSequences)
    try batch.withC { b in
      try keep.withUnsafeMutableBufferPointer { k in try errors.checked("select_sequences") { select(handle, b, k.baseAddress) } }
    }
    if let bad = keep.firstIndex(where: { $0 > 1 }) {
      throw PluginError.invalidCall(plugin: name, operation: "select_sequences", reason: "keep[\(bad)] is \(keep[bad]), expected 0 or 1")
    }
    return keep.map { $0 == 1 }
  }

  /// The loss and its gradients; `batch.advantages` must be set.
  public func computeLoss(_ batch: RolloutBatch) throws -> LossResult {
    try batch.validate(plugin: name, operation: "compute_loss")
    guard batch.advantages != nil else {
      throw PluginError.invalidCall(plugin: name, operation: "compute_loss", reason: "batch.advantages is not set: call computeAdvantages first")
    }
    let nt = batch.numSequences * batch.numTokens
    var dlogp = [Float](repeating: 0, count: nt)
    var dvalues: [Float]? = info.needsValueHead ? [Float](repeating: 0, count: nt) : nil
    final class Sink { var metrics: [String: Double] = [:] }
    let sink = Sink()
    var loss = 0.0
    try batch.withC { b in
      try dlogp.withUnsafeMutableBufferPointer { d in
        func run(_ dv: UnsafeMutablePointer<Float>?) throws {
          var result = rlax_loss_result(
            struct_size: MemoryLayout<rlax_loss_result>.size, loss: 0, dloss_dlogprobs: d.baseAddress, dloss_dvalues: dv,
            metric: { ctx, name, value in
              guard let ctx, let name else { return }
              Unmanaged<Sink>.fromOpaque(ctx).takeUnretainedValue().metrics[String(cString: name)] = value
            },
            metric_context: Unmanaged.passUnretained(sink).toOpaque())
          try errors.checked("compute_loss") { api.compute_loss!(handle, b, &result) }
          loss = result.loss
        }
        if dvalues != nil {
          try dvalues!.withUnsafeMutableBufferPointer { try run($0.baseAddress) }
        } else {
          try run(nil)
        }
      }
    }
    guard loss.isFinite else {
      throw PluginError.badOutput(plugin: name, operation: "compute_loss",
                                  reason: "the loss is \(loss), not a finite number; nothing is applied, the weights are not updated")
    }
    try checkOutput(dlogp, "dloss_dlogprobs", of: "compute_loss", batch: batch)
    if let dvalues { try checkOutput(dvalues, "dloss_dvalues", of: "compute_loss", batch: batch) }
    return LossResult(loss: loss, dlossDlogprobs: dlogp, dlossDvalues: dvalues, metrics: sink.metrics)
  }
}
