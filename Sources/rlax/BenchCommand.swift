import ArgumentParser
import RlaxBench
import RlaxPlugins

struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench", abstract: "Benchmarks that print figures (not tests).", subcommands: [Matmul.self])

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
}
