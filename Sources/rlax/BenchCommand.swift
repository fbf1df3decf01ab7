import ArgumentParser
import RlaxBench
import RlaxPlugins

struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench", abstract: "Benchmarks that print figures (not tests).", subcommands: [Matmul.self, Train.self, Decode.self, Transport.self])

  struct Matmul: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Matmul GFLOP/s through the backend ABI beside direct cblas_sgemm, and the cost of one op call.")
    @Option(help: "Backend plugin name or path.") var backend = "cpu-blas"
    @Option(name: .customLong("backend-opt"), help: "Backend option key=value (repeatable).") var backendOptions: [String] = []
    @Option(help: "Comma-separated square sizes.") var sizes = "64,512,2048"
    @Option(help: "Seconds of timing per measurement (one side of one round).") var seconds = 0.3
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
      let sizeList = sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
      guard !sizeList.isEmpty, sizeList.allSatisfy({ $0 > 0 }) else {
        throw ValidationError("--sizes must be positive integers separated by commas, got '\(sizes)'")
      }
      let b = try Backend(backend, options: try PluginOptions.parse(backendOptions, flag: "--backend-opt"))
      let report = try MatmulBenchmark(backend: b, sizes: sizeList, secondsPerMeasurement: seconds).run()
      if json { try printJSON(report) } else { print(report.text) }
    }
  }

  struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Training tokens/s (forward + backward + AdamW) per model size, with GFLOP/s against the sgemm peak.")
    @Option(help: "Backend plugin name or path.") var backend = "cpu-blas"
    @Option(name: .customLong("backend-opt"), help: "Backend option key=value (repeatable).") var backendOptions: [String] = []
    @Option(help: "Comma-separated sizes: default, medium, large.") var sizes = "default,medium,large"
    @Option(help: "Sequences per step.") var batch = 16
    @Option(help: "Tokens per sequence.") var length = 64
    @Option(help: "Seconds of timing per size.") var seconds = 5.0
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
      let b = try Backend(backend, options: try PluginOptions.parse(backendOptions, flag: "--backend-opt"))
      let report = try TrainBenchmark(backend: b, sizes: sizes.split(separator: ",").map(String.init), batch: batch,
                                      length: length, seconds: seconds).run()
      if json { try printJSON(report) } else { print(report.text) }
    }
  }

  struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Generated tokens/s with the KV cache at batch 1 and 64, with GFLOP/s against the sgemm peak.")
    @Option(help: "Backend plugin name or path.") var backend = "cpu-blas"
    @Option(name: .customLong("backend-opt"), help: "Backend option key=value (repeatable).") var backendOptions: [String] = []
    @Option(help: "Comma-separated sizes: default, medium, large.") var sizes = "default,medium,large"
    @Option(help: "Comma-separated batch sizes.") var batches = "1,64"
    @Option(help: "Prompt tokens per row.") var prompt = 16
    @Option(help: "New tokens per row.") var newTokens = 48
    @Option(help: "Seconds of timing per size and batch.") var seconds = 3.0
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
      let b = try Backend(backend, options: try PluginOptions.parse(backendOptions, flag: "--backend-opt"))
      let report = try DecodeBenchmark(backend: b, sizes: sizes.split(separator: ",").map(String.init),
                                       batches: batches.split(separator: ",").compactMap { Int($0) }, promptLength: prompt,
                                       newTokens: newTokens, seconds: seconds).run()
      if json { try printJSON(report) } else { print(report.text) }
    }
  }

  struct Transport: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Weight push and pull MB/s through the parameter server over gRPC on loopback, beside the store in one process.")
    @Option(help: "Weight-store plugin behind the server (and the in-process reference).") var store = "memory"
    @Option(help: "Comma-separated PARAMETERS:TENSORS sets, e.g. 750000:30 (about the default model) and 100000000:200.")
    var sets = "750000:30,100000000:200"
    @Option(help: "Rounds per set (the median is reported).") var rounds = 3
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
      let parsed = try sets.split(separator: ",").map { item -> (Int, Int) in
        let parts = item.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else { throw ValidationError("--sets takes PARAMETERS:TENSORS items, got '\(item)'") }
        return (parts[0], parts[1])
      }
      let report = try TransportBenchmark(store: try PluginLocator.standard().open(store), sizes: parsed, rounds: max(rounds, 1)).run()
      if json { try printJSON(report) } else { print(report.text) }
    }
  }
}
