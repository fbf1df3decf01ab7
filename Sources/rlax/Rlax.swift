import ArgumentParser
import RlaxPlugins

@main
struct Rlax: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rlax",
    abstract: "RL post-training for language models, with device backends, RL algorithms and weight stores as C-ABI plugins.",
    discussion: """
      Plugins are found by name in the directories of RLAX_PLUGIN_PATH (colon-separated) and then in plugins/ \
      beside this executable, or given by path.
      """,
    subcommands: [TrainCommand.self, PluginsCommand.self, ConfigCommand.self, SFTCommand.self, EvalCommand.self, InspectCommand.self, BenchCommand.self, SimulateCommand.self, ServeCommand.self, LaunchCommand.self, CompareCommand.self, CurateCommand.self, ReportCommand.self],
    defaultSubcommand: TrainCommand.self)

  /// Before anything else: crash handlers and the plugin-call watchdog (PluginWatch), and
  /// manifest probes in a child process for lookups and listings (PluginProbe); the probe
  /// child itself opens files directly.
  static func main() {
    PluginWatch.install()
    let args = CommandLine.arguments.dropFirst()
    if !(args.first == "plugins" && args.dropFirst().first == "probe") {
      PluginLocator.isolatedProbe = PluginProbe.probe
    }
    main(nil)
  }
}
