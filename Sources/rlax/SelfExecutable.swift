import Foundation

/// This rlax binary, for the child processes it starts (plugin probes, isolated verification,
/// `launch`'s roles, `compare`'s runs).
enum SelfExecutable {
  static var url: URL { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath() }
}
