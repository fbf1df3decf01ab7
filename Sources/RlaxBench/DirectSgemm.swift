#if canImport(Glibc)
import Glibc
#endif
import RlaxPlugins

/// `cblas_sgemm` called directly, the reference that benchmarks measure the backend against.
/// It is the OpenBLAS already in the process — the one cpu-blas loaded, with the kernels it
/// chose — so both sides run the same kernels; only when no backend has loaded OpenBLAS does
/// it load the library itself (then with OpenBLAS's own kernel choice).
public struct DirectSgemm {
  private typealias SgemmFn = @convention(c) (
    Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
    UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
  private typealias CorenameFn = @convention(c) () -> UnsafeMutablePointer<CChar>?

  // CBLAS enum values (cblas.h): CblasRowMajor, CblasNoTrans.
  private static let rowMajor: Int32 = 101, noTrans: Int32 = 111
  private static let libraryNames = ["libopenblas.so.0", "libopenblas.so"]

  private let sgemm: SgemmFn
  /// OpenBLAS's kernel family in use, e.g. "Cooperlake".
  public let kernels: String

  public static func load() throws -> DirectSgemm {
    var handle: UnsafeMutableRawPointer?
    for flags in [RTLD_NOW | RTLD_NOLOAD, RTLD_NOW] {
      for name in libraryNames where handle == nil { handle = dlopen(name, flags) }
    }
    guard let handle, let sgemm = dlsym(handle, "cblas_sgemm") else {
      let why = dlerror().map { String(cString: $0) } ?? "cblas_sgemm not found"
      throw PluginError.invalidCall(plugin: "bench", operation: "direct cblas_sgemm reference",
                                    reason: "cannot load OpenBLAS (\(libraryNames.joined(separator: ", "))): \(why)")
    }
    let corename = dlsym(handle, "openblas_get_corename").map { unsafeBitCast($0, to: CorenameFn.self) }
    let kernels = corename?().map { String(cString: $0) } ?? "unknown"
    return DirectSgemm(sgemm: unsafeBitCast(sgemm, to: SgemmFn.self), kernels: kernels)
  }

  /// C[m, n] = A[m, k] B[k, n], all row-major and contiguous.
  public func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>,
                       m: Int, n: Int, k: Int) {
    sgemm(Self.rowMajor, Self.noTrans, Self.noTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, c, Int32(n))
  }
}
