import Foundation

/// Straightforward double-precision implementations of every backend op, written from the
/// semantics in rlax/backend.h, as the suite's reference. Arrays are contiguous row-major.
/// Backward functions return the gradient contribution (the caller adds it where the ABI
/// accumulates). The package's own tests check each backward against finite differences of
/// its forward.
public enum Reference {
  public static func matmul(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int,
                            transposeA: Bool, transposeB: Bool) -> [Double] {
    var c = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        var s = 0.0
        for p in 0..<k {
          let av = transposeA ? a[p * m + i] : a[i * k + p]
          let bv = transposeB ? b[j * k + p] : b[p * n + j]
          s += av * bv
        }
        c[i * n + j] = s
      }
    }
    return c
  }

  public static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

  public static func unary(_ op: Int, _ x: Double, alpha: Double, beta: Double) -> Double {
    switch op {
    case 0: x
    case 1: alpha * x + beta
    case 2: -x
    case 3: Foundation.exp(x)
    case 4: Foundation.log(x)
    case 5: x.squareRoot()
    case 6: 1 / x.squareRoot()
    case 7: x * x
    case 8: Swift.abs(x)
    case 9: Foundation.tanh(x)
    case 10: x * sigmoid(x)
    default: 1 / x
    }
  }

  public static func binary(_ op: Int, _ a: Double, _ b: Double) -> Double {
    switch op {
    case 0: a + b
    case 1: a - b
    case 2: a * b
    case 3: a / b
    case 4: Swift.max(a, b)
    default: Swift.min(a, b)
    }
  }

  /// Reduces `x` of `shape` along `axis` (result keeps the axis with size 1).
  public static func reduce(_ op: Int, _ x: [Double], shape: [Int], axis: Int) -> [Double] {
    let outer = shape[..<axis].reduce(1, *), n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
    var out = [Double](repeating: 0, count: outer * inner)
    for o in 0..<outer {
      for i in 0..<inner {
        var acc = op == 2 ? -Double.infinity : 0
        for r in 0..<n {
          let v = x[(o * n + r) * inner + i]
          switch op {
          case 2: acc = Swift.max(acc, v)
          case 3: acc += v * v
          default: acc += v
          }
        }
        out[o * inner + i] = op == 1 ? acc / Double(n) : acc
      }
    }
    return out
  }

  public static func logsumexp(_ row: ArraySlice<Double>) -> Double {
    guard let m = row.max(), m > -.infinity else { return -.infinity }
    return m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
  }

  public static func softmax(_ x: [Double], rows: Int, cols: Int) -> [Double] {
    var out = x
    for r in 0..<rows {
      let lse = logsumexp(x[(r * cols)..<((r + 1) * cols)])
      for c in 0..<cols { out[r * cols + c] = Foundation.exp(x[r * cols + c] - lse) }
    }
    return out
  }

  public static func rmsnormForward(_ x: [Double], _ w: [Double], rows: Int, d: Int, eps: Double) -> (out: [Double], rstd: [Double]) {
    var out = x, rstd = [Double](repeating: 0, count: rows)
    for r in 0..<rows {
      var ms = 0.0
      for c in 0..<d { ms += x[r * d + c] * x[r * d + c] }
      rstd[r] = 1 / (ms / Double(d) + eps).squareRoot()
      for c in 0..<d { out[r * d + c] = x[r * d + c] * rstd[r] * w[c] }
    }
    return (out, rstd)
  }

  public static func rmsnormBackward(_ x: [Double], _ w: [Double], dout: [Double], rows: Int, d: Int, eps: Double) -> (dx: [Double], dw: [Double]) {
    let rstd = rmsnormForward(x, w, rows: rows, d: d, eps: eps).rstd
    var dx = x, dw = [Double](repeating: 0, count: d)
    for r in 0..<rows {
      var dot = 0.0
      for c in 0..<d { dot += dout[r * d + c] * w[c] * x[r * d + c] }
      let s = rstd[r]
      for c in 0..<d {
        let i = r * d + c
        dx[i] = s * dout[i] * w[c] - s * s * s * x[i] * dot / Double(d)
        dw[c] += dout[i] * x[i] * s
      }
    }
    return (dx, dw)
  }

  /// Rotate-half RoPE over x [B,T,H,D] with positions [B,T]; `inverse` rotates by -angle
  /// (the backward pass).
  public static func rope(_ x: [Double], positions: [Int32], b: Int, t: Int, h: Int, d: Int, theta: Double, inverse: Bool = false) -> [Double] {
    var out = x
    let half = d / 2
    for bi in 0..<b {
      for ti in 0..<t {
        let pos = Double(positions[bi * t + ti])
        for hi in 0..<h {
          let base = ((bi * t + ti) * h + hi) * d
          for i in 0..<half {
            let angle = pos * Foundation.pow(theta, -2 * Double(i) / Double(d))
            let c = Foundation.cos(angle), s = inverse ? -Foundation.sin(angle) : Foundation.sin(angle)
            let x1 = x[base + i], x2 = x[base + i + half]
            out[base + i] = x1 * c - x2 * s
            out[base + i + half] = x1 * s + x2 * c
          }
        }
      }
    }
    return out
  }

  public static func swigluForward(_ g: [Double], _ u: [Double]) -> [Double] {
    zip(g, u).map { $0 * sigmoid($0) * $1 }
  }

  public static func swigluBackward(_ g: [Double], _ u: [Double], dout: [Double]) -> (dgate: [Double], dup: [Double]) {
    var dg = g, du = u
    for i in g.indices {
      let s = sigmoid(g[i])
      dg[i] = dout[i] * u[i] * s * (1 + g[i] * (1 - s))
      du[i] = dout[i] * g[i] * s
    }
    return (dg, du)
  }

  /// Shapes and masking of one attention call.
  public struct AttentionShape: Sendable {
    public var b: Int, t: Int, s: Int, hq: Int, hkv: Int, d: Int
    public var qPositions: [Int32]?
    public var kStart: [Int32]?
    public var scale: Double
    public init(b: Int, t: Int, s: Int, hq: Int, hkv: Int, d: Int, qPositions: [Int32]? = nil, kStart: [Int32]? = nil, scale: Double) {
      self.b = b; self.t = t; self.s = s; self.hq = hq; self.hkv = hkv; self.d = d
      self.qPositions = qPositions; self.kStart = kStart; self.scale = scale
    }
    func visible(_ bi: Int, _ ti: Int) -> Range<Int> {
      let pos = Int(qPositions?[bi * t + ti] ?? Int32(s - t + ti))
      let start = Int(kStart?[bi] ?? 0)
      let end = Swift.min(pos, s - 1)
      return start <= end ? start..<(end + 1) : 0..<0
    }
  }

  /// q [B,T,Hq,D], k/v [B,S,Hkv,D] -> out [B,T,Hq,D], lse [B,Hq,T].
  public static func attentionForward(q: [Double], k: [Double], v: [Double], _ a: AttentionShape) -> (out: [Double], lse: [Double]) {
    var out = [Double](repeating: 0, count: a.b * a.t * a.hq * a.d)
    var lse = [Double](repeating: -.infinity, count: a.b * a.hq * a.t)
    let group = a.hq / a.hkv
    for bi in 0..<a.b {
      for h in 0..<a.hq {
        let kh = h / group
        for ti in 0..<a.t {
          let keys = a.visible(bi, ti)
          if keys.isEmpty { continue }
          let qb = ((bi * a.t + ti) * a.hq + h) * a.d
          var scores: [Double] = []
          for si in keys {
            let kb = ((bi * a.s + si) * a.hkv + kh) * a.d
            var dot = 0.0
            for c in 0..<a.d { dot += q[qb + c] * k[kb + c] }
            scores.append(dot * a.scale)
          }
          let l = logsumexp(scores[...])
          lse[(bi * a.hq + h) * a.t + ti] = l
          for (j, si) in keys.enumerated() {
            let p = Foundation.exp(scores[j] - l)
            let vb = ((bi * a.s + si) * a.hkv + kh) * a.d
            for c in 0..<a.d { out[qb + c] += p * v[vb + c] }
          }
        }
      }
    }
    return (out, lse)
  }

  public static func attentionBackward(q: [Double], k: [Double], v: [Double], dout: [Double], _ a: AttentionShape) -> (dq: [Double], dk: [Double], dv: [Double]) {
    let fwd = attentionForward(q: q, k: k, v: v, a)
    var dq = [Double](repeating: 0, count: q.count), dk = [Double](repeating: 0, count: k.count), dv = dk
    let group = a.hq / a.hkv
    for bi in 0..<a.b {
      for h in 0..<a.hq {
        let kh = h / group
        for ti in 0..<a.t {
          let keys = a.visible(bi, ti)
          if keys.isEmpty { continue }
          let qb = ((bi * a.t + ti) * a.hq + h) * a.d
          let l = fwd.lse[(bi * a.hq + h) * a.t + ti]
          var rowDot = 0.0
          for c in 0..<a.d { rowDot += dout[qb + c] * fwd.out[qb + c] }
          for si in keys {
            let kb = ((bi * a.s + si) * a.hkv + kh) * a.d
            var dot = 0.0, dp = 0.0
            for c in 0..<a.d { dot += q[qb + c] * k[kb + c]; dp += dout[qb + c] * v[kb + c] }
            let p = Foundation.exp(dot * a.scale - l)
            let ds = p * (dp - rowDot)
            for c in 0..<a.d {
              dq[qb + c] += a.scale * ds * k[kb + c]
              dk[kb + c] += a.scale * ds * q[qb + c]
              dv[kb + c] += p * dout[qb + c]
            }
          }
        }
      }
    }
    return (dq, dk, dv)
  }

  public static func embeddingForward(table: [Double], ids: [Int32], d: Int) -> [Double] {
    ids.flatMap { table[(Int($0) * d)..<(Int($0) * d + d)] }
  }

  public static func embeddingBackward(ids: [Int32], dout: [Double], vocab: Int, d: Int) -> [Double] {
    var dt = [Double](repeating: 0, count: vocab * d)
    for (n, id) in ids.enumerated() { for c in 0..<d { dt[Int(id) * d + c] += dout[n * d + c] } }
    return dt
  }

  public static func logSoftmaxGatherForward(logits: [Double], targets: [Int32], v: Int) -> (logprobs: [Double], lse: [Double]) {
    let n = targets.count
    var lp = [Double](repeating: 0, count: n), lse = lp
    for r in 0..<n {
      lse[r] = logsumexp(logits[(r * v)..<((r + 1) * v)])
      lp[r] = logits[r * v + Int(targets[r])] - lse[r]
    }
    return (lp, lse)
  }

  public static func logSoftmaxGatherBackward(logits: [Double], targets: [Int32], dlogprobs: [Double], v: Int) -> [Double] {
    let lse = logSoftmaxGatherForward(logits: logits, targets: targets, v: v).lse
    var d = logits
    for r in 0..<targets.count {
      for c in 0..<v {
        d[r * v + c] = dlogprobs[r] * ((c == Int(targets[r]) ? 1 : 0) - Foundation.exp(logits[r * v + c] - lse[r]))
      }
    }
    return d
  }

  public static func adamw(param: [Double], grad: [Double], m: [Double], v: [Double], lr: Double, beta1: Double, beta2: Double,
                           eps: Double, weightDecay: Double, gradScale: Double, step: Int) -> (param: [Double], m: [Double], v: [Double]) {
    var p = param, mm = m, vv = v
    let c1 = 1 - Foundation.pow(beta1, Double(step)), c2 = 1 - Foundation.pow(beta2, Double(step))
    for i in p.indices {
      let g = gradScale * grad[i]
      mm[i] = beta1 * mm[i] + (1 - beta1) * g
      vv[i] = beta2 * vv[i] + (1 - beta2) * g * g
      p[i] -= lr * ((mm[i] / c1) / ((vv[i] / c2).squareRoot() + eps) + weightDecay * p[i])
    }
    return (p, mm, vv)
  }

  /// Rounds to the nearest bf16 (ties to even), as a float.
  public static func roundToBF16(_ x: Float) -> Float {
    var bits = x.bitPattern
    if x.isNaN { return x }
    let lsb = (bits >> 16) & 1
    bits = bits &+ 0x7FFF &+ lsb
    return Float(bitPattern: bits & 0xFFFF_0000)
  }
}
