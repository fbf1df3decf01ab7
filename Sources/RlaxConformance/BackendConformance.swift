import Foundation
import RlaxPlugins

/// Conformance of a device backend: memory, every op against `Reference` on random inputs
/// with odd shapes and strided views, accumulation of backward ops, error paths, counters.
struct BackendConformance {
  let backend: Backend
  let device: DeviceDescription
  let h: OpHarness
  var rng = SplitMix64(seed: 20_261_127)
  /// Error allowed relative to the result's scale; matmuls of a bf16-MXU backend round inputs.
  let tolerance = 2e-4
  let matmulTolerance: Double

  init(backend: Backend, device: DeviceDescription) {
    self.backend = backend
    self.device = device
    h = OpHarness(backend: backend)
    matmulTolerance = device.capabilities.contains("bf16-matmul") ? 2e-2 : 2e-4
  }

  func close(_ got: [Float], _ want: [Double], _ what: String, tol: Double? = nil) throws {
    let err = scaledError(got, want)
    try expect(err <= (tol ?? tolerance), "\(what): error \(String(format: "%.3g", err)) exceeds \(tol ?? tolerance) (relative to the result's scale)")
  }

  mutating func run(into r: CheckRecorder) {
    r.check("backend: destroy(NULL), buffer_free(NULL), error_destroy(NULL) are safe") {
      backend.probeNullSafety()
      return .passed
    }
    guard device.present else {
      unavailableChecks(into: r)
      return
    }
    memoryChecks(into: r)
    elementwiseChecks(into: r)
    matmulChecks(into: r)
    normChecks(into: r)
    attentionChecks(into: r)
    lossChecks(into: r)
    errorChecks(into: r)
  }

  /// A backend whose device is absent must answer memory and ops with UNAVAILABLE.
  func unavailableChecks(into r: CheckRecorder) {
    r.check("absent device: buffer_allocate is UNAVAILABLE with a message") {
      try expectError(.unavailable, "buffer_allocate") { _ = try backend.allocate(bytes: 64) }
      return .passed
    }
    r.check("absent device: synchronize is UNAVAILABLE or succeeds") {
      do { try backend.synchronize() } catch let e as PluginError where e.code == .unavailable {}
      return .passed
    }
  }

  mutating func memoryChecks(into r: CheckRecorder) {
    r.check("memory: copy to and from the device at an offset round-trips") {
      let buffer = try backend.allocate(bytes: 4096)
      let data = (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 37) }
      try data.withUnsafeBytes { try buffer.write($0, at: 1000) }
      var back = [UInt8](repeating: 0, count: 512)
      try back.withUnsafeMutableBytes { try buffer.read(into: $0, at: 1000) }
      try expect(back == data, "bytes read back differ from bytes written")
      return .passed
    }
    r.check("memory: a copy past the end of a buffer is INVALID_ARGUMENT") {
      let buffer = try backend.allocate(bytes: 64)
      let data = [UInt8](repeating: 1, count: 32)
      try expectError(.invalidArgument, "copy 32 bytes at offset 48 of a 64-byte buffer") {
        try data.withUnsafeBytes { try buffer.write($0, at: 48) }
      }
      return .passed
    }
    r.check("counters: memory_in_use counts live buffers") {
      let before = try backend.counters().memoryInUse
      var buffer: DeviceBuffer? = try backend.allocate(bytes: 1 << 20)
      let during = try backend.counters().memoryInUse
      try expect(during >= before + (1 << 20), "memory_in_use went from \(before) to \(during) after allocating 1 MiB")
      _ = buffer
      buffer = nil
      let after = try backend.counters().memoryInUse
      try expect(after <= during - (1 << 20), "memory_in_use is \(after) after freeing 1 MiB (was \(during))")
      return .passed
    }
  }

  mutating func elementwiseChecks(into r: CheckRecorder) {
    r.check("fill: a padded view is filled and its padding untouched") {
      let t = try h.f32(rng.uniform(5 * 7), [5, 7], layout: .padded)
      try backend.fill(t, 2.5)
      let (values, padding) = try h.readWithPadding(t)
      try expect(values.allSatisfy { $0 == 2.5 }, "fill left values other than 2.5")
      try expect(padding.allSatisfy { $0 == OpHarness.sentinel }, "fill wrote outside the view")
      return .passed
    }
    let unaryNames = ["copy", "affine", "neg", "exp", "log", "sqrt", "rsqrt", "square", "abs", "tanh", "silu", "reciprocal"]
    for op in UnaryOp.allCases {
      r.check("unary \(unaryNames[Int(op.rawValue)]): shape [3,17], contiguous, padded and in place") {
        let positive: Set<UnaryOp> = [.log, .sqrt, .rsqrt, .reciprocal]
        let x = positive.contains(op) ? rng.uniform(51, 0.1, 3) : rng.uniform(51, -3, 3)
        let want = x.map { Reference.unary(Int(op.rawValue), $0, alpha: 1.5, beta: -0.25) }
        for layout in [Layout.contiguous, .padded] {
          let xt = try h.f32(x, [3, 17], layout: layout)
          let out = try h.f32(rng.uniform(51), [3, 17], layout: layout)
          try backend.unary(op, xt, into: out, alpha: 1.5, beta: -0.25)
          let (values, padding) = try h.readWithPadding(out)
          try close(values, want, "\(layout) layout")
          try expect(padding.allSatisfy { $0 == OpHarness.sentinel }, "wrote outside the output view")
        }
        let inPlace = try h.f32(x, [3, 17])
        try backend.unary(op, inPlace, into: inPlace, alpha: 1.5, beta: -0.25)
        try close(try h.read(inPlace), want, "in place")
        return .passed
      }
    }
    r.check("unary copy: f32 -> bf16 -> f32 rounds to nearest even") {
      guard device.dtypes.contains("BF16") else { return .skipped("BF16 not listed in dtypes") }
      let x: [Float] = [1.0, 1.00390625, 1.01171875, -3.14159, 65504, 1e-3, 0.0078125 * 1.5]
      let src = try h.f32(x, [x.count])
      let half = Tensor(buffer: try backend.allocate(bytes: x.count * 2), dtype: .bf16, shape: [x.count])
      let back = try h.zeros([x.count])
      try backend.unary(.copy, src, into: half)
      try backend.unary(.copy, half, into: back)
      let got = try h.read(back)
      let want = x.map(Reference.roundToBF16)
      try expect(got == want, "got \(got), expected \(want)")
      return .passed
    }
    let binaryNames = ["add", "sub", "mul", "div", "max", "min"]
    for op in BinaryOp.allCases {
      r.check("binary \(binaryNames[Int(op.rawValue)]): [7,9] with a broadcast row, padded, and out == a") {
        let a = rng.uniform(63), bRow = rng.uniform(9, 0.5, 2)
        var want = [Double](repeating: 0, count: 63)
        for i in 0..<7 { for j in 0..<9 { want[i * 9 + j] = Reference.binary(Int(op.rawValue), a[i * 9 + j], bRow[j]) } }
        let at = try h.f32(a, [7, 9], layout: .padded)
        let rowT = try h.f32(bRow, [9])
        let bt = Tensor(buffer: rowT.buffer, dtype: .f32, shape: [7, 9], strides: [0, 1])
        let out = try h.f32(rng.uniform(63), [7, 9], layout: .padded)
        try backend.binary(op, at, bt, into: out)
        try close(try h.read(out), want, "broadcast")
        try backend.binary(op, at, bt, into: at)
        try close(try h.read(at), want, "out == a")
        return .passed
      }
    }
    let reduceNames = ["sum", "mean", "max", "sum_squares"]
    for op in ReduceOp.allCases {
      r.check("reduce \(reduceNames[Int(op.rawValue)]): [3,5,7] along each axis") {
        let shape = [3, 5, 7]
        let x = rng.uniform(105)
        let xt = try h.f32(x, shape)
        for axis in 0..<3 {
          var outShape = shape
          outShape[axis] = 1
          let out = try h.zeros(outShape)
          try backend.reduce(op, xt, into: out, axis: axis)
          try close(try h.read(out), Reference.reduce(Int(op.rawValue), x, shape: shape, axis: axis), "axis \(axis)")
        }
        return .passed
      }
    }
    r.check("softmax: rows of odd length, padded and in place") {
      let x = rng.uniform(5 * 13, -5, 5)
      let want = Reference.softmax(x, rows: 5, cols: 13)
      let xt = try h.f32(x, [5, 13], layout: .padded)
      let out = try h.zeros([5, 13])
      try backend.softmax(xt, into: out)
      try close(try h.read(out), want, "padded input")
      try backend.softmax(xt, into: xt)
      try close(try h.read(xt), want, "in place")
      return .passed
    }
  }

  mutating func matmulChecks(into r: CheckRecorder) {
    for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 64, 64)] {
      r.check("matmul [\(m)x\(k)]@[\(k)x\(n)]: all four transposes, alpha 0.5, beta 2") {
        for ta in [false, true] {
          for tb in [false, true] {
            let a = rng.uniform(m * k), b = rng.uniform(k * n), c0 = rng.uniform(m * n)
            let at = try h.f32(a, ta ? [k, m] : [m, k])
            let bt = try h.f32(b, tb ? [n, k] : [k, n])
            let ct = try h.f32(c0, [m, n])
            try backend.matmul(at, bt, into: ct, transposeA: ta, transposeB: tb, alpha: 0.5, beta: 2)
            let prod = Reference.matmul(a, b, m: m, n: n, k: k, transposeA: ta, transposeB: tb)
            try close(try h.read(ct), zip(prod, c0).map { 0.5 * $0 + 2 * $1 }, "transposeA \(ta) transposeB \(tb)",
                      tol: matmulTolerance)
          }
        }
        return .passed
      }
    }
    r.check("matmul: strided views (transposed storage, padded rows) and beta 0 ignores NaN in c") {
      let (m, n, k) = (6, 5, 11)
      let a = rng.uniform(m * k), b = rng.uniform(k * n)
      let at = try h.f32(a, [m, k], layout: .transposed)
      let bt = try h.f32(b, [k, n], layout: .padded)
      let ct = try h.f32([Double](repeating: .nan, count: m * n), [m, n], layout: .padded)
      try backend.matmul(at, bt, into: ct)
      let (values, padding) = try h.readWithPadding(ct)
      try close(values, Reference.matmul(a, b, m: m, n: n, k: k, transposeA: false, transposeB: false), "strided", tol: matmulTolerance)
      try expect(padding.allSatisfy { $0 == OpHarness.sentinel }, "matmul wrote outside c's view")
      return .passed
    }
    r.check("matmul: batched [3,4,6]@[3,6,5], and a rank-2 b shared by every batch") {
      let (bs, m, n, k) = (3, 4, 5, 6)
      let a = rng.uniform(bs * m * k), b = rng.uniform(bs * k * n), shared = rng.uniform(k * n)
      let at = try h.f32(a, [bs, m, k])
      let ct = try h.zeros([bs, m, n])
      try backend.matmul(at, try h.f32(b, [bs, k, n]), into: ct)
      var want: [Double] = []
      for i in 0..<bs {
        want += Reference.matmul(Array(a[(i * m * k)..<((i + 1) * m * k)]), Array(b[(i * k * n)..<((i + 1) * k * n)]),
                                 m: m, n: n, k: k, transposeA: false, transposeB: false)
      }
      try close(try h.read(ct), want, "batched", tol: matmulTolerance)
      try backend.matmul(at, try h.f32(shared, [k, n]), into: ct)
      want = []
      for i in 0..<bs {
        want += Reference.matmul(Array(a[(i * m * k)..<((i + 1) * m * k)]), shared, m: m, n: n, k: k, transposeA: false, transposeB: false)
      }
      try close(try h.read(ct), want, "shared b", tol: matmulTolerance)
      return .passed
    }
    r.check("counters: a matmul counts one op and 2*M*N*K flops") {
      try backend.resetCounters()
      let ct = try h.zeros([8, 16])
      try backend.resetCounters()
      try backend.matmul(try h.f32(rng.uniform(8 * 32), [8, 32]), try h.f32(rng.uniform(32 * 16), [32, 16]), into: ct)
      let c = try backend.counters()
      try expect(c.ops == 1, "ops is \(c.ops), expected 1")
      try expect(c.flops == Double(2 * 8 * 16 * 32), "flops is \(c.flops), expected \(2 * 8 * 16 * 32)")
      return .passed
    }
  }

  mutating func normChecks(into r: CheckRecorder) {
    r.check("rmsnorm forward/backward: [7,33], eps 1e-5, gradients accumulate") {
      let (rows, d) = (7, 33)
      let x = rng.uniform(rows * d, -2, 2), w = rng.uniform(d, 0.5, 1.5), dout = rng.uniform(rows * d)
      let dx0 = rng.uniform(rows * d), dw0 = rng.uniform(d)
      let xt = try h.f32(x, [rows, d]), wt = try h.f32(w, [d])
      let out = try h.zeros([rows, d]), rstd = try h.zeros([rows])
      try backend.rmsnormForward(xt, weight: wt, into: out, rstd: rstd, eps: 1e-5)
      let ref = Reference.rmsnormForward(x, w, rows: rows, d: d, eps: 1e-5)
      try close(try h.read(out), ref.out, "out")
      try close(try h.read(rstd), ref.rstd, "rstd")
      let dxt = try h.f32(dx0, [rows, d]), dwt = try h.f32(dw0, [d])
      try backend.rmsnormBackward(xt, weight: wt, rstd: rstd, dout: try h.f32(dout, [rows, d]), dx: dxt, dweight: dwt)
      let g = Reference.rmsnormBackward(x, w, dout: dout, rows: rows, d: d, eps: 1e-5)
      try close(try h.read(dxt), zip(dx0, g.dx).map(+), "dx")
      try close(try h.read(dwt), zip(dw0, g.dw).map(+), "dweight")
      return .passed
    }
    r.check("rope forward/backward: [2,5,3,8], theta 10000, arbitrary positions") {
      let (b, t, hh, d) = (2, 5, 3, 8)
      let n = b * t * hh * d
      let x = rng.uniform(n), dout = rng.uniform(n), dx0 = rng.uniform(n)
      let positions: [Int32] = [0, 1, 2, 3, 4, 7, 100, 3, 0, 4095]
      let pt = try h.i32(positions, [b, t])
      let out = try h.zeros([b, t, hh, d])
      try backend.ropeForward(try h.f32(x, [b, t, hh, d]), positions: pt, into: out, theta: 10000)
      try close(try h.read(out), Reference.rope(x, positions: positions, b: b, t: t, h: hh, d: d, theta: 10000), "out")
      let dxt = try h.f32(dx0, [b, t, hh, d])
      try backend.ropeBackward(dout: try h.f32(dout, [b, t, hh, d]), positions: pt, dx: dxt, theta: 10000)
      let g = Reference.rope(dout, positions: positions, b: b, t: t, h: hh, d: d, theta: 10000, inverse: true)
      try close(try h.read(dxt), zip(dx0, g).map(+), "dx")
      return .passed
    }
    r.check("swiglu forward/backward: [5,19], gradients accumulate") {
      let n = 5 * 19
      let g = rng.uniform(n, -4, 4), u = rng.uniform(n), dout = rng.uniform(n), dg0 = rng.uniform(n), du0 = rng.uniform(n)
      let gt = try h.f32(g, [5, 19]), ut = try h.f32(u, [5, 19])
      let out = try h.zeros([5, 19])
      try backend.swigluForward(gate: gt, up: ut, into: out)
      try close(try h.read(out), Reference.swigluForward(g, u), "out")
      let dgt = try h.f32(dg0, [5, 19]), dut = try h.f32(du0, [5, 19])
      try backend.swigluBackward(gate: gt, up: ut, dout: try h.f32(dout, [5, 19]), dgate: dgt, dup: dut)
      let ref = Reference.swigluBackward(g, u, dout: dout)
      try close(try h.read(dgt), zip(dg0, ref.dgate).map(+), "dgate")
      try close(try h.read(dut), zip(du0, ref.dup).map(+), "dup")
      return .passed
    }
  }

  mutating func attentionCase(_ a: Reference.AttentionShape, _ label: String) throws {
    let qn = a.b * a.t * a.hq * a.d, kn = a.b * a.s * a.hkv * a.d
    let q = rng.uniform(qn), k = rng.uniform(kn), v = rng.uniform(kn), dout = rng.uniform(qn)
    let dq0 = rng.uniform(qn), dk0 = rng.uniform(kn), dv0 = rng.uniform(kn)
    let qt = try h.f32(q, [a.b, a.t, a.hq, a.d])
    let kt = try h.f32(k, [a.b, a.s, a.hkv, a.d]), vt = try h.f32(v, [a.b, a.s, a.hkv, a.d])
    let out = try h.zeros([a.b, a.t, a.hq, a.d]), lse = try h.zeros([a.b, a.hq, a.t])
    let qp = try a.qPositions.map { try h.i32($0, [a.b, a.t]) }
    let ks = try a.kStart.map { try h.i32($0, [a.b]) }
    try backend.attentionForward(q: qt, k: kt, v: vt, into: out, lse: lse, qPositions: qp, kStart: ks, scale: Float(a.scale))
    let ref = Reference.attentionForward(q: q, k: k, v: v, a)
    try close(try h.read(out), ref.out, "\(label): out")
    try close(try h.read(lse), ref.lse, "\(label): lse")
    let dqt = try h.f32(dq0, [a.b, a.t, a.hq, a.d])
    let dkt = try h.f32(dk0, [a.b, a.s, a.hkv, a.d]), dvt = try h.f32(dv0, [a.b, a.s, a.hkv, a.d])
    try backend.attentionBackward(q: qt, k: kt, v: vt, out: out, lse: lse, dout: try h.f32(dout, [a.b, a.t, a.hq, a.d]),
                                  qPositions: qp, kStart: ks, dq: dqt, dk: dkt, dv: dvt, scale: Float(a.scale))
    let g = Reference.attentionBackward(q: q, k: k, v: v, dout: dout, a)
    try close(try h.read(dqt), zip(dq0, g.dq).map(+), "\(label): dq")
    try close(try h.read(dkt), zip(dk0, g.dk).map(+), "\(label): dk")
    try close(try h.read(dvt), zip(dv0, g.dv).map(+), "\(label): dv")
  }

  mutating func attentionChecks(into r: CheckRecorder) {
    r.check("attention forward/backward: causal, GQA 4 query heads on 2 KV heads, [2,7,*,8]") {
      try attentionCase(.init(b: 2, t: 7, s: 7, hq: 4, hkv: 2, d: 8, scale: 1 / 8.0.squareRoot()), "causal")
      return .passed
    }
    r.check("attention forward/backward: one query per row over a 9-key cache, left padding via k_start") {
      try attentionCase(.init(b: 2, t: 1, s: 9, hq: 3, hkv: 1, d: 5, qPositions: [8, 6], kStart: [0, 3], scale: 0.4), "decode")
      return .passed
    }
    r.check("attention forward/backward: a query that sees no key gives out 0 and lse -inf") {
      try attentionCase(.init(b: 1, t: 3, s: 3, hq: 2, hkv: 2, d: 4, qPositions: [0, 1, 2], kStart: [2], scale: 0.5), "empty rows")
      return .passed
    }
  }

  mutating func lossChecks(into r: CheckRecorder) {
    r.check("embedding forward/backward: repeated ids add up") {
      let (vocab, d) = (11, 6)
      let table = rng.uniform(vocab * d), ids: [Int32] = [3, 0, 10, 3, 3, 7], dout = rng.uniform(ids.count * d)
      let dt0 = rng.uniform(vocab * d)
      let it = try h.i32(ids, [ids.count])
      let out = try h.zeros([ids.count, d])
      try backend.embeddingForward(table: try h.f32(table, [vocab, d]), ids: it, into: out)
      try close(try h.read(out), Reference.embeddingForward(table: table, ids: ids, d: d), "out")
      let dtt = try h.f32(dt0, [vocab, d])
      try backend.embeddingBackward(ids: it, dout: try h.f32(dout, [ids.count, d]), dtable: dtt)
      try close(try h.read(dtt), zip(dt0, Reference.embeddingBackward(ids: ids, dout: dout, vocab: vocab, d: d)).map(+), "dtable")
      return .passed
    }
    r.check("logsoftmax_gather forward/backward: [5,37] with large logits") {
      let (n, v) = (5, 37)
      let logits = rng.uniform(n * v, -30, 30), targets: [Int32] = [0, 36, 5, 5, 17], dlp = rng.uniform(n), dl0 = rng.uniform(n * v)
      let lt = try h.f32(logits, [n, v]), tt = try h.i32(targets, [n])
      let lp = try h.zeros([n]), lse = try h.zeros([n])
      try backend.logSoftmaxGatherForward(logits: lt, targets: tt, logprobs: lp, lse: lse)
      let ref = Reference.logSoftmaxGatherForward(logits: logits, targets: targets, v: v)
      try close(try h.read(lp), ref.logprobs, "logprobs")
      try close(try h.read(lse), ref.lse, "lse")
      let dlt = try h.f32(dl0, [n, v])
      try backend.logSoftmaxGatherBackward(logits: lt, targets: tt, lse: lse, dlogprobs: try h.f32(dlp, [n]), dlogits: dlt)
      try close(try h.read(dlt), zip(dl0, Reference.logSoftmaxGatherBackward(logits: logits, targets: targets, dlogprobs: dlp, v: v)).map(+), "dlogits")
      return .passed
    }
    r.check("adamw: two steps with weight decay and a gradient scale") {
      let n = 23
      var p = rng.uniform(n), m = [Double](repeating: 0, count: n), v = m
      let pt = try h.f32(p, [n]), mt = try h.f32(m, [n]), vt = try h.f32(v, [n])
      for step in 1...2 {
        let g = rng.uniform(n)
        try backend.adamw(param: pt, grad: try h.f32(g, [n]), m: mt, v: vt,
                          .init(lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradScale: 0.5, step: step))
        (p, m, v) = Reference.adamw(param: p, grad: g, m: m, v: v, lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8,
                                    weightDecay: 0.1, gradScale: 0.5, step: step)
      }
      try close(try h.read(pt), p, "param")
      try close(try h.read(mt), m, "m")
      try close(try h.read(vt), v, "v")
      return .passed
    }
  }

  mutating func errorChecks(into r: CheckRecorder) {
    r.check("errors: matmul with mismatched inner sizes is INVALID_ARGUMENT") {
      let c = try h.zeros([3, 4])
      try expectError(.invalidArgument, "matmul [3x5]@[6x4]") {
        try backend.matmul(try h.zeros([3, 5]), try h.zeros([6, 4]), into: c)
      }
      return .passed
    }
    r.check("errors: a view reaching past its buffer is INVALID_ARGUMENT") {
      let small = try h.zeros([4])
      let tooBig = Tensor(buffer: small.buffer, dtype: .f32, shape: [8])
      try expectError(.invalidArgument, "fill of 8 floats in a 16-byte buffer") { try backend.fill(tooBig, 1) }
      return .passed
    }
    r.check("errors: an embedding id outside the table is INVALID_ARGUMENT") {
      let out = try h.zeros([2, 3])
      try expectError(.invalidArgument, "id 9 with a 4-row table") {
        try backend.embeddingForward(table: try h.zeros([4, 3]), ids: try h.i32([1, 9], [2]), into: out)
      }
      return .passed
    }
    r.check("errors: an unsupported dtype (I32 into softmax) is refused, not computed") {
      let x = try h.i32([1, 2, 3], [3])
      do {
        try backend.softmax(x, into: x)
      } catch let PluginError.failed(_, _, code, _) where code == .invalidArgument || code == .unimplemented {
        return .passed
      }
      throw CheckFailure("softmax of I32 succeeded")
    }
  }
}
