import Foundation

/// A v5p slice: its name, chips per axis and whether its axes wrap around. Shapes are Cloud
/// TPU's v5p table, the same as tpu-sim's `slice=` option; v5p-N counts TensorCores, 2 per chip.
public struct SliceTopology: Codable, Equatable, Sendable {
  public var name: String
  /// Chips along each of the three axes.
  public var dims: [Int]
  /// Every axis is a ring: only slices made of whole 4x4x4 cubes (every dim a multiple of 4)
  /// have the wraparound links (tpu-sim's rule).
  public var wraparound: Bool

  public var chips: Int { dims.reduce(1, *) }
  /// "4x8x8".
  public var shape: String { dims.map(String.init).joined(separator: "x") }

  /// Cloud TPU v5p's slice shapes (the smallest torus-like shape for each size).
  public static let known: [(name: String, dims: [Int])] = [
    ("v5p-8", [2, 2, 1]), ("v5p-16", [2, 2, 2]), ("v5p-32", [2, 2, 4]), ("v5p-64", [2, 4, 4]),
    ("v5p-128", [4, 4, 4]), ("v5p-256", [4, 4, 8]), ("v5p-512", [4, 8, 8]), ("v5p-1024", [8, 8, 8]),
    ("v5p-2048", [8, 8, 16]), ("v5p-4096", [8, 16, 16]), ("v5p-8192", [16, 16, 16]),
    ("v5p-12288", [16, 16, 24]),
  ]

  /// Parses "v5p-N". Case-insensitive; surrounding spaces are ignored.
  public static func parse(_ name: String) throws -> SliceTopology {
    let key = name.trimmingCharacters(in: .whitespaces).lowercased()
    guard let entry = known.first(where: { $0.name == key }) else {
      throw SimulationError.unknownSlice(name: name, known: known.map(\.name))
    }
    return SliceTopology(name: entry.name, dims: entry.dims, wraparound: entry.dims.allSatisfy { $0 % 4 == 0 })
  }

  /// Lays a group of `size` chips (a tensor-parallel group) on this slice and returns the group
  /// and its complement (the data-parallel group through the same position of every group).
  /// An axis whose length equals `size` takes the whole group; otherwise axes are taken from the
  /// shortest, each contributing gcd(remaining, length). A group axis covering the slice's whole
  /// axis is a ring when the slice wraps around; a part of an axis is a line, and so is the
  /// complement's strided part of it.
  public func split(groupSize size: Int) throws -> (group: ICIGroup, complement: ICIGroup) {
    guard size >= 1, chips % size == 0 else {
      throw SimulationError.groupDoesNotTile(group: size, slice: name, shape: shape)
    }
    var factors = [Int](repeating: 1, count: dims.count)
    if let axis = dims.firstIndex(of: size) {
      factors[axis] = size
    } else {
      var remaining = size
      for axis in dims.indices.sorted(by: { (dims[$0], $0) < (dims[$1], $1) }) where remaining > 1 {
        let f = gcd(remaining, dims[axis])
        factors[axis] = f
        remaining /= f
      }
      guard remaining == 1 else { throw SimulationError.groupDoesNotTile(group: size, slice: name, shape: shape) }
    }
    var group: [ICIGroup.Axis] = [], complement: [ICIGroup.Axis] = []
    for (axis, f) in factors.enumerated() {
      let rest = dims[axis] / f
      if f > 1 { group.append(.init(length: f, ring: wraparound && f == dims[axis])) }
      if rest > 1 { complement.append(.init(length: rest, ring: wraparound && f == 1)) }
    }
    return (ICIGroup(axes: group), ICIGroup(axes: complement))
  }
}

/// A group of chips on the ICI torus, as the axes it spans, and the scaling book's collective
/// costs on it (the formulas of tpu-sim's `ts_allreduce_seconds`):
///
///     AllGather(V) = ReduceScatter(V) = V / Σ W_axis + hop · Σ hops_axis
///     AllReduce(V) = 2·V / Σ W_axis + hop · Σ 2·hops_axis
///     ring: W_axis = 2·link, hops_axis = floor(n/2);  line: W_axis = link, hops_axis = n − 1
///
/// V is the size of the whole (gathered) array. The (n−1)/n factors are left out, as in the
/// book and tpu-sim.
public struct ICIGroup: Codable, Equatable, Sendable {
  public struct Axis: Codable, Equatable, Sendable {
    public var length: Int
    public var ring: Bool
    public init(length: Int, ring: Bool) { self.length = length; self.ring = ring }
  }

  public var axes: [Axis]
  public init(axes: [Axis]) { self.axes = axes.filter { $0.length > 1 } }

  public var size: Int { axes.reduce(1) { $0 * $1.length } }
  /// "4 (ring)", "2x8 (line, ring)", "1".
  public var description: String {
    axes.isEmpty ? "1" : axes.map { String($0.length) }.joined(separator: "x")
      + " (" + axes.map { $0.ring ? "ring" : "line" }.joined(separator: ", ") + ")"
  }

  /// Bidirectional bandwidth the group's axes give one chip, bytes/s.
  public func bandwidth(link: Double) -> Double {
    axes.reduce(0) { $0 + ($1.ring ? 2 : 1) * link }
  }

  /// Hops of one AllGather (or ReduceScatter) pass, summed over the axes.
  public var gatherHops: Int {
    axes.reduce(0) { $0 + ($1.ring ? $1.length / 2 : $1.length - 1) }
  }

  public func allGatherSeconds(bytes: Double, link: Double, hopLatency: Double) -> Double {
    size <= 1 ? 0 : bytes / bandwidth(link: link) + hopLatency * Double(gatherHops)
  }

  public func reduceScatterSeconds(bytes: Double, link: Double, hopLatency: Double) -> Double {
    allGatherSeconds(bytes: bytes, link: link, hopLatency: hopLatency)
  }

  public func allReduceSeconds(bytes: Double, link: Double, hopLatency: Double) -> Double {
    size <= 1 ? 0 : 2 * bytes / bandwidth(link: link) + hopLatency * Double(2 * gatherHops)
  }
}

func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
