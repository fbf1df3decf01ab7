import ArgumentParser
import RlaxConfig
import RlaxTraining

struct ConfigCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "config", abstract: "Show run configs.", subcommands: [Show.self])

  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print the run config as flat `a.b.c = value` lines (after --config, --set and --replace).")
    @OptionGroup var options: RunOptions
    @Flag(help: "Print JSON (loadable with --config).") var json = false

    func run() throws {
      let config = try options.runConfig()
      if json { return try printJSON(config) }
      for line in ConfigTree.flatten(try JSONValue.from(config)) { print(line) }
    }
  }
}
