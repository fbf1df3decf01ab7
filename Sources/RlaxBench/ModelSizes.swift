import RlaxModel
import RlaxPlugins

/// The model sizes the training and decoding benchmarks run: the default and two larger ones.
public enum ModelSizes {
  public static func named(_ name: String, vocabSize: Int) -> DecoderConfig? {
    var c = DecoderConfig()
    c.vocabSize = vocabSize
    c.maxSeqLen = 128
    switch name {
    case "default":
      break
    case "medium":
      c.modelDim = 256
      c.numLayers = 6
      c.layer.attention.numHeads = 8
      c.layer.attention.numKVHeads = 4
      c.layer.feedForward.hiddenDim = 704
    case "large":
      c.modelDim = 512
      c.numLayers = 8
      c.layer.attention.numHeads = 8
      c.layer.attention.numKVHeads = 4
      c.layer.attention.headDim = 64
      c.layer.feedForward.hiddenDim = 1408
    default:
      return nil
    }
    return c
  }

  public static let all = ["default", "medium", "large"]

  /// `named`, or an error listing the known sizes.
  static func config(_ name: String, operation: String) throws -> DecoderConfig {
    guard let c = named(name, vocabSize: 96) else {
      throw PluginError.invalidCall(plugin: "bench", operation: operation, reason: "unknown size '\(name)'; known: \(all.joined(separator: ", "))")
    }
    return c
  }
}
