import Foundation
import RlaxPlugins
import RlaxSafeTensors

/// Weight versions saved beside a checkpoint, as safetensors.
enum HostTensorFile {
  static func write(_ tensors: [HostTensor], to url: URL) throws {
    try SafeTensors.write(tensors.map { SafeTensor(name: $0.name, shape: $0.shape, floats: $0.floats) }, checksums: true, to: url)
  }

  static func read(_ url: URL) throws -> [HostTensor] {
    try SafeTensors.read(url).tensors.map { HostTensor(name: $0.name, shape: $0.shape, floats: try $0.floats) }
  }
}
