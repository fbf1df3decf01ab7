import Foundation
import GRPCCore
#if canImport(Glibc)
import Glibc
#endif

/// The shared secret every call carries (`authorization: Bearer TOKEN`). It lives in a file
/// only its owner can read: made with mode 0600 when it does not exist, refused when others
/// can read it.
public enum AccessToken {
  /// Reads the token at `path`, or creates the file with a fresh random token.
  public static func load(_ path: String, create: Bool) throws -> String {
    if !FileManager.default.fileExists(atPath: path) {
      guard create else { throw TransportError.token(path: path, reason: "does not exist") }
      let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
      let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
      guard fd >= 0 else { throw TransportError.token(path: path, reason: "cannot create it: \(String(cString: strerror(errno)))") }
      defer { close(fd) }
      let line = Array((token + "\n").utf8)
      guard write(fd, line, line.count) == line.count else {
        throw TransportError.token(path: path, reason: "cannot write it: \(String(cString: strerror(errno)))")
      }
      return token
    }
    var info = stat()
    guard stat(path, &info) == 0 else { throw TransportError.token(path: path, reason: String(cString: strerror(errno))) }
    guard info.st_mode & 0o077 == 0 else {
      throw TransportError.token(path: path, reason: String(format: "others can read it (mode %03o): chmod 600 %@", info.st_mode & 0o777, path))
    }
    let token = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    guard !token.isEmpty else { throw TransportError.token(path: path, reason: "is empty or unreadable") }
    return token
  }

  static func metadata(_ token: String) -> Metadata { ["authorization": "Bearer \(token)"] }
}

/// Refuses every call that does not carry the server's token (UNAUTHENTICATED).
struct TokenCheck: ServerInterceptor {
  let expected: [UInt8]

  init(token: String) { expected = Array("Bearer \(token)".utf8) }

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>, context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    guard let given = request.metadata[stringValues: "authorization"].first(where: { _ in true }), matches(Array(given.utf8)) else {
      throw RPCError(code: .unauthenticated, message: "missing or wrong token (send authorization: Bearer TOKEN)")
    }
    return try await next(request, context)
  }

  /// Constant-time comparison: how long it takes says nothing about how much of it matched.
  func matches(_ given: [UInt8]) -> Bool {
    guard given.count == expected.count else { return false }
    var difference: UInt8 = 0
    for (a, b) in zip(given, expected) { difference |= a ^ b }
    return difference == 0
  }
}
