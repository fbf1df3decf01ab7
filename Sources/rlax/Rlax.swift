import ArgumentParser

@main
struct Rlax: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rlax",
    abstract: "RL post-training for language models, with device backends, RL algorithms and weight stores as C-ABI plugins.",
    discussion: """
      Plugins are found by name in the directories of RLAX_PLUGIN_PATH (colon-separated) and then in plugins/ \
      beside this executable, or given by path.
      """,
    subcommands: [TrainCommand.self, PluginsCommand.self, ConfigCommand.self, SFTCommand.self, EvalCommand.self, InspectCommand.self, BenchCommand.self, SimulateCommand.self],
    defaultSubcommand: TrainCommand.self)
}
