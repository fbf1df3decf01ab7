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
