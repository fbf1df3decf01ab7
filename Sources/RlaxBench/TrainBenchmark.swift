import Foundation
import RlaxModel
import RlaxPlugins

/// `rlax bench train`: training tokens/s (forward + backward + AdamW) per model size, with
/// the achieved GFLOP/s and its ratio to the machine's `cblas_sgemm` peak from the same run.
/// FLOPs per token count the matmuls and causal attention (mean context (T+1)/2), three times
/// the forward pass for forward + backward.
public struct TrainBenchmark {
  public struct Row: Codable, Sendable {
    public var size: String
    public var parameters: Int
    public var batch: Int
    public var length: Int
    public var tokensPerSecond: Double
    public var gflops: Double
    public var ratioToPeak: Double
  }

  public struct Report: Codable, Sendable {
    public var backend: String
    public var sgemmPeakGflops: Double
    /// OpenBLAS's kernel family behind the peak, e.g. "Cooperlake".
    public var sgemmKernels: String
    public var rows: [Row]
  }

  public var backend: Backend
  public var sizes: [String]
  public var batch: Int
  public var length: Int
  public var seconds: Double

  public init(backend: Backend, sizes: [String] = ModelSizes.all, batch: Int = 16, length: Int = 64, seconds: Double = 5) {
    self.backend = backend; self.sizes = sizes; self.batch = batch; self.length = length; self.seconds = seconds
  }

  public func run() throws -> Report {
    var (rows, peak, kernels) = try SgemmPeak.around { try measureRows() }
    rows = rows.map { var r = $0; r.ratioToPeak = r.gflops / peak; return r }
    return Report(backend: backend.name, sgemmPeakGflops: peak, sgemmKernels: kernels, rows: rows)
  }

  func measureRows() throws -> [Row] {
    var rows: [Row] = []
    for size in sizes {
      let config = try ModelSizes.config(size, operation: "train")
      let model = try DecoderModel(config: config, backend: backend)
      try model.initialize(seed: 1)
      let optimizer = try AdamW(config: AdamWConfig(), params: model.params)
      var rng = ModelRNG(seed: 2)
      let n = batch * length
      let tokens = (0..<n).map { _ in Int32(rng.next() % 96) }
      let targets = (0..<n).map { _ in Int32(rng.next() % 96) }
      let tokenBatch = TokenBatch(batch: batch, length: length, tokens: tokens, targets: targets)
      let dlogprobs = [Float](repeating: -1 / Float(n), count: n)
      let step = {
        try model.params.zeroGrads()
        let pass = try model.forward(tokenBatch)
        try model.backward(pass, dlogprobs: dlogprobs)
        try optimizer.apply(lr: 1e-4, decays: model.decays)
        try backend.synchronize()
      }
      try step()  // warm-up
      var steps = 0
      let start = Date()
      repeat { try step(); steps += 1 } while Date().timeIntervalSince(start) < seconds
      let elapsed = Date().timeIntervalSince(start)
      let tokensPerSecond = Double(steps * n) / elapsed
      let gflops = 3 * config.forwardFlopsPerToken(context: (length + 1) / 2) * tokensPerSecond / 1e9
      rows.append(Row(size: size, parameters: model.params.parameterCount, batch: batch, length: length,
                      tokensPerSecond: tokensPerSecond, gflops: gflops, ratioToPeak: 0))
    }
    return rows
  }
}

extension TrainBenchmark.Report {
  public var text: String {
    var lines = [String(format: "rlax bench train: backend %@, cblas_sgemm peak (1024^3, this run, OpenBLAS %@ kernels) %.1f GFLOP/s", backend, sgemmKernels, sgemmPeakGflops),
                 "size      parameters  batch x len   tokens/s   GFLOP/s  of peak"]
    for r in rows {
      lines.append(String(format: "%-8@ %11d  %5d x %-4d %10.0f %9.2f %7.1f%%", r.size as NSString, r.parameters, r.batch, r.length,
                          r.tokensPerSecond, r.gflops, r.ratioToPeak * 100))
    }
    return lines.joined(separator: "\n")
  }
}
