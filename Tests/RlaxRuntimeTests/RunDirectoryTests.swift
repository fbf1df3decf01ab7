import Foundation
import RlaxRuntime
import RlaxTestSupport
import XCTest

final class RunDirectoryTests: XCTestCase {
  /// flock conflicts between two open files even in one process, so a second writer here is
  /// refused as a second process would be, with the holder's pid.
  func testASecondWriterIsRefusedWithTheHoldersPid() throws {
    let url = try TestSupport.temporaryDirectory("lock")
    let first = RunDirectory(url)
    try first.lock()
    XCTAssertThrowsError(try RunDirectory(url).lock()) { error in
      XCTAssertEqual(error as? RunSetupError, .locked(dir: url.path, holder: "\(getpid())"))
      XCTAssertTrue("\(error)".contains("in use by another rlax process (pid \(getpid())"), "\(error)")
    }
  }

  func testTheLockIsReleasedWithItsHolder() throws {
    let url = try TestSupport.temporaryDirectory("lock-release")
    do {
      let first = RunDirectory(url)
      try first.lock()
    }
    XCTAssertNoThrow(try RunDirectory(url).lock())
  }

  func testMetricsKeepEachStepBeforeTheCheckpointOnceAndDropACutLine() throws {
    let dir = RunDirectory(try TestSupport.temporaryDirectory("metrics"))
    let lines = [#"{"step":0,"loss":1}"#, #"{"step":1,"loss":2}"#, #"{"step":1,"loss":2}"#, #"{"step":2,"loss":3}"#, #"{"step":3,"lo"#]
    try Data(lines.joined(separator: "\n").utf8).write(to: dir.metrics)
    try dir.truncateMetrics(toStepsBefore: 2)
    XCTAssertEqual(try String(contentsOf: dir.metrics, encoding: .utf8), #"{"step":0,"loss":1}"# + "\n" + #"{"step":1,"loss":2}"# + "\n")
  }
}
