import Foundation
import RlaxPlugins
import RlaxTestSupport
import XCTest

/// `keep=0` and `keep=abc` are refused by both bundled weight stores, naming the option, the
/// value and the accepted range.
final class StoreOptionErrorTests: XCTestCase {
  func testKeepMustBeAnIntegerInRangeForBothStores() throws {
    let dir = try TestSupport.temporaryDirectory("store-keep")
    for (name, extra) in [("memory", [(String, String)]()), ("file", [("dir", dir.path)])] {
      for value in ["0", "abc", "-1", "1000001", ""] {
        XCTAssertThrowsError(try WeightStore(library: try TestSupport.bundled(name), options: PluginOptions(extra + [("keep", value)])),
                             "\(name) keep=\(value)") { error in
          let message = "\(error)"
          XCTAssertTrue(message.contains("invalid value \"\(value)\" for option keep: expected an integer in 1...1000000"), message)
          XCTAssertTrue(message.contains("\(name) store"), message)
        }
      }
      XCTAssertNoThrow(try WeightStore(library: try TestSupport.bundled(name), options: PluginOptions(extra + [("keep", "1000000")])))
    }
  }
}
