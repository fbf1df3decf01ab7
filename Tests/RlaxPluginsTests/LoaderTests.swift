import Foundation
import RlaxPlugins
import RlaxTestSupport
import XCTest

/// The loader: discovery, version negotiation, and a clear error for every kind of broken plugin.
final class LoaderTests: XCTestCase {
  func testBundledPluginsAreFoundByNameWithTheirKinds() throws {
    let locator = PluginLocator(searchDirectories: [TestSupport.pluginDirectory])
    var expected: [String: PluginKind] = ["cpu-blas": .backend, "gpu-stub": .backend, "tpu-sim": .backend,
                                          "memory": .weightStore, "file": .weightStore]
    for algorithm in ["grpo", "dr-grpo", "dapo", "gspo", "cispo", "rloo", "reinforce-pp", "ppo", "mdloo"] { expected[algorithm] = .algorithm }
    for (name, kind) in expected {
      let library = try locator.open(name)
      XCTAssertEqual(library.manifest.name, name)
      XCTAssertEqual(library.manifest.kinds, [kind])
      XCTAssertEqual(library.manifest.abiMajor, HostABI.major)
    }
    let listed = locator.list().compactMap { try? $0.result.get().name }
    XCTAssertEqual(Set(listed), Set(expected.keys))
  }

  func testOpeningTheSameFileTwiceGivesTheSameLibrary() throws {
    let a = try TestSupport.bundled("grpo"), b = try PluginLibrary.open(path: TestSupport.pluginDirectory + "/./grpo.so")
    XCTAssertTrue(a === b)
  }

  func testUnknownNameListsWhatWasSearchedAndWhatExists() throws {
    let locator = PluginLocator(searchDirectories: ["/nonexistent-dir", TestSupport.pluginDirectory])
    XCTAssertThrowsError(try locator.open("no-such-plugin")) { error in
      guard case PluginError.notFound(let name, let searched, let available) = error else { return XCTFail("\(error)") }
      XCTAssertEqual(name, "no-such-plugin")
      XCTAssertEqual(searched, ["/nonexistent-dir", TestSupport.pluginDirectory])
      XCTAssertTrue(available.contains("cpu-blas"))
      XCTAssertTrue("\(error)".contains("RLAX_PLUGIN_PATH"))
    }
  }

  func testPluginPathDirectoriesComeFirst() throws {
    let dir = try TestSupport.temporaryDirectory("path")
    let example = try TestSupport.compilePlugin(["docs/examples/example-backend/example_backend.c"], name: "example")
    try FileManager.default.copyItem(atPath: example, toPath: dir.appendingPathComponent("example.so").path)
    let locator = PluginLocator.standard(environment: ["RLAX_PLUGIN_PATH": "\(dir.path):/elsewhere"])
    XCTAssertEqual(locator.searchDirectories, [dir.path, "/elsewhere", TestSupport.pluginDirectory])
    XCTAssertEqual(try locator.open("example").manifest.name, "example")
  }

  func testATextFileNamedSoIsNotASharedObject() throws {
    let path = try TestSupport.temporaryDirectory("text").appendingPathComponent("text.so").path
    try "this is not ELF\n".write(toFile: path, atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try PluginLibrary.open(path: path)) { error in
      guard case PluginError.notASharedObject(let p, let reason) = error else { return XCTFail("\(error)") }
      XCTAssertEqual(p, path)
      XCTAssertFalse(reason.isEmpty)
    }
    XCTAssertThrowsError(try PluginLibrary.open(path: "/nonexistent/x.so")) { error in
      XCTAssertEqual(error as? PluginError, .notASharedObject(path: "/nonexistent/x.so", reason: "no such file"))
    }
  }

  func testLibraryWithoutManifestIsMissingSymbol() throws {
    let path = try TestSupport.compilePlugin(["Tests/Fixtures/broken/no_manifest.c"], name: "no-manifest")
    XCTAssertThrowsError(try PluginLibrary.open(path: path)) { error in
      XCTAssertEqual(error as? PluginError, .missingSymbol(path: path, symbol: "rlax_plugin_manifest"))
    }
  }

  func testLibraryWithoutEntrySymbolIsMissingSymbol() throws {
    let path = try TestSupport.compilePlugin(["Tests/Fixtures/broken/no_entry.c"], name: "no-entry")
    let library = try PluginLibrary.open(path: path)
    XCTAssertThrowsError(try Backend(library: library)) { error in
      XCTAssertEqual(error as? PluginError, .missingSymbol(path: library.path, symbol: "rlax_get_backend_api"))
    }
  }

  func testWrongABIMajorIsRefusedWithBothVersions() throws {
    let path = try TestSupport.compilePlugin(["Tests/Fixtures/broken/wrong_major.c"], name: "wrong-major")
    XCTAssertThrowsError(try PluginLibrary.open(path: path)) { error in
      guard case PluginError.abiMismatch(_, _, let plugin, let host) = error else { return XCTFail("\(error)") }
      XCTAssertEqual(plugin, 99)
      XCTAssertEqual(host, HostABI.major)
      XCTAssertTrue("\(error)".contains("major 99"))
    }
  }

  func testTableWithTooSmallStructSizeIsRefused() throws {
    let library = try PluginLibrary.open(path: try TestSupport.compilePlugin(["Tests/Fixtures/broken/small_table.c"], name: "small-table"))
    XCTAssertThrowsError(try Backend(library: library)) { error in
      guard case PluginError.tableTooSmall(_, _, let found, let required) = error else { return XCTFail("\(error)") }
      XCTAssertEqual(found, 16)
      XCTAssertGreaterThan(required, 16)
    }
  }

  func testNullRequiredFunctionIsNamed() throws {
    let library = try PluginLibrary.open(path: try TestSupport.compilePlugin(["Tests/Fixtures/broken/null_create.c"], name: "null-create"))
    XCTAssertThrowsError(try Backend(library: library)) { error in
      XCTAssertEqual(error as? PluginError, .missingFunction(path: library.path, function: "create"))
    }
  }

  func testPluginRefusingTheHostIsAnErrorQuotingItsLog() throws {
    let library = try PluginLibrary.open(path: try TestSupport.compilePlugin(["Tests/Fixtures/broken/refuses_host.c"], name: "refuses-host"))
    XCTAssertThrowsError(try Backend(library: library)) { error in
      guard case PluginError.refusedHost(_, let log) = error else { return XCTFail("\(error)") }
      XCTAssertTrue(log.contains { $0.contains("I need ABI major 7") }, "log: \(log)")
    }
  }

  func testAnOpReturningAnErrorBecomesATypedErrorAndTheBackendStaysUsable() throws {
    let library = try PluginLibrary.open(path: try TestSupport.compilePlugin(["Tests/Fixtures/broken/op_error.c"], name: "op-error"))
    let backend = try Backend(library: library)
    let a = try backend.upload([1, 2, 3, 4], shape: [2, 2]), c = try backend.tensor(.f32, [2, 2])
    let b = try backend.upload([1, 2, 3, 4, 5, 6], shape: [2, 3]), d = try backend.tensor(.f32, [2, 3])
    // The error names the op's tensor shapes, so a failure deep in a run says what it computed.
    XCTAssertThrowsError(try backend.matmul(a, b, into: d)) { error in
      XCTAssertEqual(error as? PluginError, .failed(plugin: "op-error", operation: "matmul on [2, 2] f32, [2, 3] f32, [2, 3] f32",
                                                    code: .internalError, message: "op-error: matmul failed on purpose"))
    }
    XCTAssertThrowsError(try backend.softmax(a, into: c)) { error in
      XCTAssertEqual(error as? PluginError, .unsupported(plugin: "op-error", operation: "softmax"))
    }
    try backend.fill(c, 7)
    XCTAssertEqual(try backend.download(c), [7, 7, 7, 7])
  }

  func testAskingForAKindThePluginLacksNamesBoth() throws {
    XCTAssertThrowsError(try Backend(library: try TestSupport.bundled("grpo"))) { error in
      guard case PluginError.wrongKind(_, let name, let expected, let found) = error else { return XCTFail("\(error)") }
      XCTAssertEqual([name, expected, found], ["grpo", "backend", "algorithm"])
    }
  }
}
