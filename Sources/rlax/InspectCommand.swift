import ArgumentParser
import Foundation
import RlaxModel
import RlaxTasks
import RlaxTraining

struct InspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Look inside a checkpoint.", subcommands: [Logits.self])

  struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Next-token logits after a prompt (BOS + prompt), to compare the model with another framework.")
    @OptionGroup var options: RunOptions
    @Option(help: "Checkpoint directory.") var checkpoint: String
    @Option(help: "Prompt text.") var prompt: String
    @Flag(help: "Print JSON.") var json = false

    struct Output: Codable { var prompt: String; var tokens: [Int32]; var logits: [Float]; var top: [String: Float] }

    func run() throws {
      let (model, _) = try Checkpoint.loadModel(URL(fileURLWithPath: checkpoint), backend: try options.makeBackend())
      let format = PromptFormat()
      let tokens = [format.tokenizer.bosID] + (try format.tokenizer.encode(prompt))
      let pass = try model.forward(TokenBatch(batch: 1, length: tokens.count, tokens: tokens, targets: tokens), saveForBackward: false)
      let logits = Array(try model.backend.download(pass.logits).suffix(model.config.vocabSize))
      let order = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5)
      let top = Dictionary(uniqueKeysWithValues: order.map { (format.tokenizer.decode([Int32($0)]).isEmpty ? "<\($0)>" : format.tokenizer.decode([Int32($0)]), logits[$0]) })
      if json { return try printJSON(Output(prompt: prompt, tokens: tokens, logits: logits, top: top)) }
      for i in order { print(String(format: "%6d %@ %.4f", i, format.tokenizer.decode([Int32(i)]), logits[i])) }
    }
  }
}
