// The peer for GEMM benchmarks: OpenBLAS's cblas_sgemm, loaded at run time so the bench still runs without it.
using System.Runtime.InteropServices;

namespace VcpNative.Bench;

/// <summary>Binds cblas_sgemm and openblas_set_num_threads from libopenblas.so.0 (Debian libopenblas0-pthread) if present.</summary>
internal static unsafe class OpenBlas
{
    private const int RowMajor = 101;
    private const int NoTrans = 111;
    private const int Trans = 112;

    private static readonly string[] Candidates =
    [
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
        "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
        "libopenblas.so.0",
        "libopenblas.so",
        "libopenblas",
    ];

    private static readonly delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> SgemmFn;
    private static readonly delegate* unmanaged[Cdecl]<int, void> SetThreadsFn;

    static OpenBlas()
    {
        foreach (var candidate in Candidates)
        {
            if (NativeLibrary.TryLoad(candidate, out var handle)
                && NativeLibrary.TryGetExport(handle, "cblas_sgemm", out var sgemm))
            {
                SgemmFn = (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
                if (NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var setThreads))
                {
                    SetThreadsFn = (delegate* unmanaged[Cdecl]<int, void>)setThreads;
                }
                LoadedFrom = candidate;
                if (NativeLibrary.TryGetExport(handle, "openblas_get_corename", out var coreName))
                {
                    CoreName = Marshal.PtrToStringAnsi(((delegate* unmanaged[Cdecl]<nint>)coreName)());
                }
                return;
            }
        }
    }

    public static bool IsAvailable => SgemmFn != null;

    public static string? LoadedFrom { get; }

    /// <summary>The kernel family OpenBLAS picked for this CPU (e.g. Haswell, SkylakeX, Zen).</summary>
    public static string? CoreName { get; }

    public static void SetThreads(int threads)
    {
        if (SetThreadsFn != null)
        {
            SetThreadsFn(threads);
        }
    }

    /// <summary>Row-major sgemm, same argument meaning as <see cref="Tensors.Cpu.Sgemm.Multiply(bool, bool, int, int, int, float, float*, int, float*, int, float, float*, int)"/>.</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc) =>
        SgemmFn(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
