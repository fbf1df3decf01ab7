/// A message that broke the protocol, or a failed call, with what was wrong.
public enum TransportError: Error, CustomStringConvertible, Equatable {
  case badMessage(String)
  case call(server: String, operation: String, code: String, message: String)
  case token(path: String, reason: String)

  public var description: String {
    switch self {
    case .badMessage(let m): m
    case .call(let server, let operation, let code, let message): "\(server): \(operation): \(code): \(message)"
    case .token(let path, let reason): "token file \(path): \(reason)"
    }
  }
}
