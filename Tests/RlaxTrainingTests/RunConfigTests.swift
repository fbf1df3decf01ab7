import Foundation
import RlaxConfig
import RlaxModel
import RlaxTestSupport
import RlaxTraining
import RlaxTasks
import XCTest

final class RunConfigTests: XCTestCase {
  func testDefaultsAreTheAppleChoicesAndValidate() throws {
    let c = try RunConfigLoader.load()
    XCTAssertEqual(c.model.positionEncoding, .rope(RoPEConfig(theta: 500_000)))
    XCTAssertTrue(c.model.layer.attention.useQKNorm)
    XCTAssertLessThan(c.model.layer.attention.numKVHeads, c.model.layer.attention.numHeads)
    XCTAssertTrue(c.model.tiedEmbeddings)
    XCTAssertEqual(c.model.layer.norm.eps, 1e-5)
    XCTAssertGreaterThan(c.model.vocabSize, 0, "the tokenizer injects the vocabulary size")
  }

  func testSetAndReplaceReachTheWholeTree() throws {
    let c = try RunConfigLoader.load(edits: ["model.layer.attention.numHeads=8", "model.positionEncoding.theta=10000"])
    XCTAssertEqual(c.model.layer.attention.numHeads, 8)
    XCTAssertEqual(c.model.positionEncoding, .rope(RoPEConfig(theta: 10000)))
    let learned = try RunConfigLoader.load(replacements: ["RoPE=LearnedPositions"])
    XCTAssertEqual(learned.model.positionEncoding, .learned(LearnedPositionsConfig()))
  }

  func testRequiredAndInvalidFieldsAreNamedBeforeAnythingIsBuilt() throws {
    XCTAssertThrowsError(try RunConfigLoader.load(edits: ["model.vocabSize=0"])) { error in
      XCTAssertEqual(error as? ConfigError, .required(path: "model.vocabSize", hint: "set it from the tokenizer"))
    }
    XCTAssertThrowsError(try RunConfigLoader.load(edits: ["model.layer.attention.numKVHeads=3"])) { error in
      XCTAssertTrue("\(error)".contains("model.layer.attention.numKVHeads"), "\(error)")
    }
    XCTAssertThrowsError(try RunConfigLoader.load(edits: ["task.name=nope"])) { error in
      XCTAssertTrue("\(error)".contains("task") && "\(error)".contains("nope"), "\(error)")
    }
    for band in ["[0.9,0.1]", "[0.5]", "[-0.1,0.5]"] {
      XCTAssertThrowsError(try RunConfigLoader.load(edits: ["rl.curation.band=\(band)"])) { error in
        XCTAssertTrue("\(error)".contains("rl.curation.band") && "\(error)".contains("0 <= lo <= hi <= 1"), "\(error)")
      }
    }
    XCTAssertEqual(try RunConfigLoader.load(edits: ["rl.curation.band=[0.1,0.9]"]).rl.curation.band, [0.1, 0.9])
  }

  func testAConfigFileOverlaysDefaultsAndATypoNamesFileAndPath() throws {
    let dir = try TestSupport.temporaryDirectory("config")
    let good = dir.appendingPathComponent("good.json"), bad = dir.appendingPathComponent("bad.json")
    try #"{"model": {"numLayers": 2}, "task": {"name": "countdown", "options": {"count": "3"}}}"#.write(to: good, atomically: true, encoding: .utf8)
    try #"{"model": {"numLayer": 2}}"#.write(to: bad, atomically: true, encoding: .utf8)
    let c = try RunConfigLoader.load(file: good.path)
    XCTAssertEqual(c.model.numLayers, 2)
    XCTAssertEqual(c.model.modelDim, RunConfig.defaults().model.modelDim)
    XCTAssertEqual(c.task.options, ["count": "3"])
    XCTAssertThrowsError(try RunConfigLoader.load(file: bad.path)) { error in
      XCTAssertTrue("\(error)".contains(bad.path) && "\(error)".contains("model.numLayer"), "\(error)")
    }
  }

  func testSavedConfigsLoadBack() throws {
    let dir = try TestSupport.temporaryDirectory("config")
    var c = RunConfig.defaults()
    c.model.numLayers = 3
    c.sft.steps = 7
    let file = dir.appendingPathComponent("run.json").path
    try ConfigFile.save(c, to: file)
    XCTAssertEqual(try RunConfigLoader.load(file: file), c)
  }
}

/// Errors that name the cause, found when the run is configured (before any training).
final class RunConfigErrorTests: XCTestCase {
  func testAJSONLDatasetWithoutHeldOutRecordsFailsAtConfigurationNamingTheFile() throws {
    let dir = try TestSupport.temporaryDirectory("rlax-train-only")
    let url = dir.appendingPathComponent("train-only.jsonl")
    let prompts = (0..<200).map { "\($0)+1=" }.filter { Split.containing(prompt: $0) == .train }.prefix(4)
    try prompts.map { #"{"prompt": "\#($0)", "answer": "1", "verifier": "numeric"}"# }.joined(separator: "\n")
      .write(to: url, atomically: true, encoding: .utf8)
    let edits = ["task.name=jsonl", #"task.options={"path": "\#(url.path)"}"#]
    XCTAssertThrowsError(try RunConfigLoader.load(edits: edits)) { error in
      let message = "\(error)"
      XCTAssertTrue(message.hasPrefix("config: task: \(url.path): none of its 4 records is held out"), message)
      XCTAssertTrue(message.contains("FNV-1a hash of its prompt is 0 mod 10"), message)
      XCTAssertTrue(message.contains("--set eval.split=train"), message)
    }
    // Evaluating on the train split is allowed.
    XCTAssertNoThrow(try RunConfigLoader.load(edits: edits + ["eval.split=train"]))
  }
}

extension RunConfigErrorTests {
  func testOutOfRangeIntegersNameThePathAndTheRange() throws {
    func message(_ edits: [String]) -> String {
      do {
        _ = try RunConfigLoader.load(edits: edits)
        return "no error"
      } catch { return "\(error)" }
    }
    XCTAssertEqual(message(["rl.seed=-1"]),
                   "config: rl.seed expects an integer in 0...18446744073709551615 (at most 2^53 = 9007199254740992 in a config), got -1")
    XCTAssertEqual(message(["rl.steps=99999999999999999999"]),
                   "config: rl.steps expects an integer of magnitude at most 2^53 = 9007199254740992 (config numbers are JSON doubles; a larger one would be rounded), got '99999999999999999999'")
    XCTAssertEqual(message(["rl.steps=1e19"]),
                   "config: rl.steps expects an integer in -9223372036854775808...9223372036854775807 (at most 2^53 = 9007199254740992 in magnitude in a config), got 10000000000000000000")
    XCTAssertEqual(message(["rl.seed=9007199254740993"]),
                   "config: rl.seed expects an integer of magnitude at most 2^53 = 9007199254740992 (config numbers are JSON doubles; a larger one would be rounded), got '9007199254740993'")
    XCTAssertEqual(message(["rl.steps=2.5"]), "config: rl.steps expects an integer, got a fraction")
    XCTAssertEqual(try RunConfigLoader.load(edits: ["rl.seed=9007199254740992"]).rl.seed, 9_007_199_254_740_992)
  }

  func testOutOfRangeIntegersInAConfigFileNameThePath() throws {
    let url = try TestSupport.temporaryDirectory("rlax-config-int").appendingPathComponent("c.json")
    try Data(#"{"sft": {"seed": -5}}"#.utf8).write(to: url)
    XCTAssertThrowsError(try RunConfigLoader.load(file: url.path)) { error in
      XCTAssertEqual("\(error)", "config: sft.seed expects an integer in 0...18446744073709551615 (at most 2^53 = 9007199254740992 in a config), got -5")
    }
  }

  func testStoreOptKeepIsValidatedAndBecomesKeepVersions() throws {
    func message(_ edits: [String]) -> String {
      do {
        _ = try RunConfigLoader.load(edits: edits)
        return "no error"
      } catch { return "\(error)" }
    }
    XCTAssertEqual(message([#"rl.storeOptions={"keep":"0"}"#]),
                   #"config: rl.storeOptions.keep: --store-opt keep=0: expected an integer >= 2 (the weight versions the store keeps; this run needs at least maxStaleness / pushEvery + 2 = 2), got "0""#)
    XCTAssertTrue(message([#"rl.storeOptions={"keep":"abc"}"#]).contains(#"--store-opt keep=abc: expected an integer >= 2"#))
    XCTAssertTrue(message([#"rl.storeOptions={"keep":"3"}"#, "rl.maxStaleness=4"]).contains("expected an integer >= 6"))
    XCTAssertEqual(message([#"rl.storeOptions={"keep":"5"}"#, "rl.keepVersions=4"]),
                   "config: rl.storeOptions.keep: --store-opt keep=5 disagrees with rl.keepVersions = 4, which the run gives the store; set one of them")
    // A usable keep is what the run keeps (the run passes rl.keepVersions to the store as keep).
    XCTAssertEqual(try RunConfigLoader.load(edits: [#"rl.storeOptions={"keep":"5"}"#]).rl.keepVersions, 5)
  }
}
