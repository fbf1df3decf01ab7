import Foundation
import RlaxConfig
import XCTest

/// The generic config machinery on a small typed tree.
final class ConfigTreeTests: XCTestCase {
  struct Norm: Codable, Equatable { var type = "RMS"; var eps = 1e-5 }
  struct Layer: Codable, Equatable { var width = 8; var useBias = false; var norm = Norm() }
  struct Model: Codable, Equatable { var name = "tiny"; var layer = Layer(); var finalNorm = Norm(); var sizes = [1, 2] }

  func testFlattenPrintsSortedPathsWithLiterals() throws {
    let lines = ConfigTree.flatten(try JSONValue.from(Model()))
    XCTAssertEqual(lines, [
      "finalNorm.eps = 1e-05", "finalNorm.type = \"RMS\"", "layer.norm.eps = 1e-05", "layer.norm.type = \"RMS\"",
      "layer.useBias = false", "layer.width = 8", "name = \"tiny\"", "sizes = [1, 2]",
    ])
  }

  func testSetEditsByPathAndRebuildsTheTypedConfig() throws {
    var tree = try JSONValue.from(Model())
    try ConfigTree.set(&tree, edit: "layer.width=32")
    try ConfigTree.set(&tree, edit: "layer.useBias=true")
    try ConfigTree.set(&tree, edit: "name=big=model")
    try ConfigTree.set(&tree, edit: "sizes=[3,4,5]")
    let model = try ConfigTree.build(tree, as: Model.self)
    XCTAssertEqual(model.layer.width, 32)
    XCTAssertTrue(model.layer.useBias)
    XCTAssertEqual(model.name, "big=model")
    XCTAssertEqual(model.sizes, [3, 4, 5])
  }

  func testBadEditsNameThePathAndWhatWasExpected() throws {
    var tree = try JSONValue.from(Model())
    XCTAssertThrowsError(try ConfigTree.set(&tree, edit: "layer.widht=3")) { error in
      XCTAssertEqual(error as? ConfigError, .unknownPath(path: "layer.widht", known: ["norm", "useBias", "width"]))
    }
    XCTAssertThrowsError(try ConfigTree.set(&tree, edit: "layer.useBias=maybe")) { error in
      XCTAssertEqual(error as? ConfigError, .typeMismatch(path: "layer.useBias", expected: "true or false", found: "'maybe'"))
    }
    XCTAssertThrowsError(try ConfigTree.set(&tree, edit: "nowhere")) { error in
      XCTAssertEqual(error as? ConfigError, .badEdit(edit: "nowhere", reason: "expected path=value"))
    }
    try ConfigTree.set(&tree, edit: "layer.width=2.5")
    XCTAssertThrowsError(try ConfigTree.build(tree, as: Model.self)) { error in
      XCTAssertTrue("\(error)".contains("layer.width"), "\(error)")
    }
  }

  func testReplaceAllSwapsEverySectionOfATypeKeepingSharedFields() throws {
    var tree = try JSONValue.from(Model(layer: Layer(norm: Norm(type: "RMS", eps: 1e-3))))
    let layerNorm = JSONValue.object(["type": .string("Layer"), "eps": .number(1e-6), "center": .bool(true)])
    XCTAssertEqual(ConfigTree.replaceAll(type: "RMS", with: layerNorm, in: &tree), 2)
    let lines = ConfigTree.flatten(tree)
    XCTAssertTrue(lines.contains("layer.norm.type = \"Layer\"") && lines.contains("finalNorm.type = \"Layer\""))
    XCTAssertTrue(lines.contains("layer.norm.center = true"))
    XCTAssertTrue(lines.contains("layer.norm.eps = 0.001"), "a field both types have keeps its value")
    XCTAssertEqual(ConfigTree.replaceAll(type: "RMS", with: layerNorm, in: &tree), 0)
  }

  func testMergeOverlaysAndRefusesUnknownFields() throws {
    let base = try JSONValue.from(Model())
    let merged = try ConfigTree.merge(base, .object(["layer": .object(["width": .number(64)])]))
    XCTAssertEqual(try ConfigTree.build(merged, as: Model.self).layer.width, 64)
    XCTAssertEqual(try ConfigTree.build(merged, as: Model.self).finalNorm, Norm(), "fields not in the overlay keep defaults")
    XCTAssertThrowsError(try ConfigTree.merge(base, .object(["layer": .object(["wdth": .number(64)])]))) { error in
      XCTAssertEqual(error as? ConfigError, .unknownPath(path: "layer.wdth", known: ["norm", "useBias", "width"]))
    }
  }

  func testMissingFieldsAreRequiredErrorsWithTheirPath() throws {
    XCTAssertThrowsError(try ConfigTree.build(.object(["name": .string("x")]), as: Model.self)) { error in
      XCTAssertTrue("\(error)".contains("layer") && "\(error)".contains("required"), "\(error)")
    }
  }
}
