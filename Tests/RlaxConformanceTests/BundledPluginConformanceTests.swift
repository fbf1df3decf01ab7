import Foundation
import RlaxConformance
import RlaxPlugins
import RlaxTestSupport
import XCTest

/// Every bundled plugin passes `rlax plugins verify`; the suite also fails when it should.
final class BundledPluginConformanceTests: XCTestCase {
  func verify(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> ConformanceReport {
    _ = try TestSupport.bundled(name)
    let report = ConformanceSuite.verify(path: "\(TestSupport.pluginDirectory)/\(name).so")
    XCTAssertTrue(report.passed, "\(name):\n" + report.failures.map { "\($0.name): \($0.status)" }.joined(separator: "\n"), file: file, line: line)
    return report
  }

  func testCPUBlasPassesEveryOpCheck() throws {
    let report = try verify("cpu-blas")
    let skipped = report.results.filter { if case .skipped = $0.status { return true } else { return false } }
    XCTAssertEqual(skipped.map(\.name), [], "cpu-blas implements every op")
    XCTAssertGreaterThan(report.results.count, 40)
  }

  func testGPUStubPassesAsAnAbsentDevice() throws {
    let report = try verify("gpu-stub")
    XCTAssertTrue(report.results.contains { $0.name.hasPrefix("absent device") && $0.status == .passed })
  }

  func testEveryAlgorithmPasses() throws {
    for name in ["grpo", "dr-grpo", "dapo", "gspo", "cispo", "rloo", "reinforce-pp", "ppo", "mdloo"] { _ = try verify(name) }
  }

  func testTPUSimPassesWithBF16Matmuls() throws {
    let report = try verify("tpu-sim")
    XCTAssertTrue(report.results.contains { $0.name.hasPrefix("matmul") && $0.status == .passed })
  }
  func testMemoryStorePasses() throws {
    let report = try verify("memory")
    XCTAssertTrue(report.results.contains { $0.name.contains("CORRUPT") && $0.status == .passed })
  }
  func testFileStorePasses() throws {
    let report = try verify("file")
    XCTAssertTrue(report.results.contains { $0.name.contains("concurrent reader") && $0.status == .passed })
  }

  func testTheSuiteFailsABackendWhoseOpReturnsErrors() throws {
    let path = try TestSupport.compilePlugin(["Tests/Fixtures/broken/op_error.c"], name: "op-error")
    let report = ConformanceSuite.verify(path: path)
    XCTAssertFalse(report.passed)
    XCTAssertTrue(report.failures.contains { $0.name.hasPrefix("matmul") }, "\(report.failures)")
  }

  func testTheSuiteFailsABackendWithWrongNumbers() throws {
    // The example backend with its matmul's alpha ignored: the alpha = 0.5 checks must fail.
    let source = try String(contentsOf: TestSupport.repoRoot.appendingPathComponent("docs/examples/example-backend/example_backend.c"), encoding: .utf8)
    let broken = source.replacingOccurrences(of: "alpha * acc", with: "acc")
    XCTAssertNotEqual(broken, source, "the example's matmul no longer contains 'alpha * acc': update this test")
    let dir = try TestSupport.temporaryDirectory("wrong-alpha")
    let file = dir.appendingPathComponent("wrong_alpha.c")
    try broken.write(to: file, atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("wrong-alpha.so").path
    let cc = try TestSupport.run("/usr/bin/env", ["cc", "-shared", "-fPIC", "-I\(TestSupport.repoRoot.path)/include", "-o", out, file.path])
    XCTAssertEqual(cc.status, 0, cc.output)
    let report = ConformanceSuite.verify(path: out)
    XCTAssertTrue(report.failures.contains { $0.name.contains("alpha 0.5") }, "\(report.results)")
    XCTAssertTrue(report.results.contains { $0.name.hasPrefix("fill") && $0.status == .passed }, "other ops still pass")
  }

  func testTheSuiteReportsAFileThatIsNotAPlugin() throws {
    let path = try TestSupport.temporaryDirectory("bad").appendingPathComponent("bad.so").path
    try "not a library".write(toFile: path, atomically: true, encoding: .utf8)
    let report = ConformanceSuite.verify(path: path)
    XCTAssertFalse(report.passed)
    XCTAssertNil(report.manifest)
  }
}
