import Foundation
import RlaxModel
import RlaxPlugins

/// `rlax bench decode`: generated tokens/s with the KV cache at several batch sizes, with the
/// achieved GFLOP/s (prefill excluded from neither: the whole generate call is timed) and its
/// ratio to the machine's `cblas_sgemm` peak from the same run.
public struct DecodeBenchmark {
  public struct Row: Codable, Sendable {
    public var size: String
    public var batch: Int
    public var promptLength: Int
    public var newTokens: Int
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
  public var batches: [Int]
  public var promptLength: Int
  public var newTokens: Int
  public var seconds: Double

  public init(backend: Backend, sizes: [String] = ModelSizes.all, batches: [Int] = [1, 64], promptLength: Int = 16,
              newTokens: Int = 48, seconds: Double = 3) {
    self.backend = backend; self.sizes = sizes; self.batches = batches
    self.promptLength = promptLength; self.newTokens = newTokens; self.seconds = seconds
  }

  public func run() throws -> Report {
    var (rows, peak, kernels) = try SgemmPeak.around { try measureRows() }
    rows = rows.map { var r = $0; r.ratioToPeak = r.gflops / peak; return r }
    return Report(backend: backend.name, sgemmPeakGflops: peak, sgemmKernels: kernels, rows: rows)
  }

  func measureRows() throws -> [Row] {
    var rows: [Row] = []
    for size in sizes {
      let config = try ModelSizes.config(size, operation: "decode")
      let model = try DecoderModel(config: config, backend: backend)
      try model.initialize(seed: 1)
      var sampling = SamplerConfig()
      sampling.maxNewTokens = newTokens
      let sampler = try Sampler(model: model, config: sampling, stopToken: nil)
      for batch in batches {
        var rng = ModelRNG(seed: 3)
        let prompts = (0..<batch).map { _ in (0..<promptLength).map { _ in Int32(rng.next() % 96) } }
        let seeds = (0..<batch).map { UInt64($0) }
        _ = try sampler.generate(prompts: prompts, seeds: seeds)  // warm-up
        var calls = 0
        let start = Date()
        repeat { _ = try sampler.generate(prompts: prompts, seeds: seeds); calls += 1 } while Date().timeIntervalSince(start) < seconds
        let elapsed = Date().timeIntervalSince(start)
        let tokensPerSecond = Double(calls * batch * newTokens) / elapsed
        // FLOPs of the whole call: prefill of the prompt plus one forward per new token.
        let flopsPerCall = Double(batch) * (Double(promptLength) * config.forwardFlopsPerToken(context: (promptLength + 1) / 2)
                                            + Double(newTokens) * config.forwardFlopsPerToken(context: promptLength + newTokens / 2))
        let gflops = flopsPerCall * Double(calls) / elapsed / 1e9
        rows.append(Row(size: size, batch: batch, promptLength: promptLength, newTokens: newTokens,
                        tokensPerSecond: tokensPerSecond, gflops: gflops, ratioToPeak: 0))
      }
    }
    return rows
  }
}

extension DecodeBenchmark.Report {
  public var text: String {
    var lines = [String(format: "rlax bench decode: backend %@, cblas_sgemm peak (1024^3, this run, OpenBLAS %@ kernels) %.1f GFLOP/s", backend, sgemmKernels, sgemmPeakGflops),
                 "size     batch  prompt+new   tokens/s   GFLOP/s  of peak"]
    for r in rows {
      lines.append(String(format: "%-8@ %5d  %4d+%-4d %10.0f %9.2f %7.1f%%", r.size as NSString, r.batch, r.promptLength, r.newTokens,
                          r.tokensPerSecond, r.gflops, r.ratioToPeak * 100))
    }
    return lines.joined(separator: "\n")
  }
}
