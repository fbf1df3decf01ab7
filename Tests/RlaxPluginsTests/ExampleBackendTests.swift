import Foundation
import RlaxConformance
import RlaxPlugins
import RlaxTestSupport
import XCTest

/// The example backend of docs/examples builds with plain `cc -shared -fPIC -Iinclude`, loads,
/// computes, and passes the conformance suite for the ops it implements.
final class ExampleBackendTests: XCTestCase {
  func testExampleBuildsWithPlainCCAndPassesConformance() throws {
    let path = try TestSupport.compilePlugin(["docs/examples/example-backend/example_backend.c"], name: "example")
    let backend = try Backend(library: try PluginLibrary.open(path: path))
    // [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]], worked by hand.
    let a = try backend.upload([1, 2, 3, 4], shape: [2, 2]), b = try backend.upload([5, 6, 7, 8], shape: [2, 2])
    let c = try backend.tensor(.f32, [2, 2])
    try backend.matmul(a, b, into: c)
    XCTAssertEqual(try backend.download(c), [19, 22, 43, 50])

    let report = ConformanceSuite.verify(path: path)
    XCTAssertTrue(report.passed, report.failures.map { "\($0.name): \($0.status)" }.joined(separator: "\n"))
    let skipped = report.results.filter { if case .skipped = $0.status { return true } else { return false } }
    XCTAssertTrue(skipped.contains { $0.name == "backend: op softmax" }, "unsupported ops must be reported as skipped")
    XCTAssertTrue(report.results.contains { $0.name.hasPrefix("matmul") && $0.status == .passed })
  }
}
