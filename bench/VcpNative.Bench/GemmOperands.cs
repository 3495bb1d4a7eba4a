// Inputs of one benchmarked GEMM shape (x[M,K] @ W[N,K]^T), in aligned native memory shared by every contender.
using System.Runtime.InteropServices;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Bench;

/// <summary>x, W, an output per contender and W pre-packed; random values in [-1, 1).</summary>
internal sealed unsafe class GemmOperands : IDisposable
{
    public GemmOperands(int m, int k, int n, SgemmKernel kernel)
    {
        M = m;
        K = k;
        N = n;
        X = Allocate((long)m * k, 1);
        W = Allocate((long)n * k, 2);
        C = Allocate((long)m * n, 3);
        CPeer = Allocate((long)m * n, 4);
        Packed = new PackedMatrix(W, k, n, k, transB: true, kernel);
        Kernel = kernel;
    }

    public int M { get; }
    public int K { get; }
    public int N { get; }
    public float* X { get; }
    public float* W { get; }
    public float* C { get; }
    public float* CPeer { get; }
    public PackedMatrix Packed { get; }
    public SgemmKernel Kernel { get; }

    public double GigaFlop => 2.0 * M * N * K / 1e9;

    public void Ours(int threads) =>
        Sgemm.Multiply(Kernel, threads, false, true, M, N, K, 1f, X, K, W, K, null, 0f, C, N);

    /// <summary>Ours with another micro-kernel (e.g. AVX2 on a machine whose default is AVX-512), packing W per call.</summary>
    public void OursWith(SgemmKernel kernel, int threads) =>
        Sgemm.Multiply(kernel, threads, false, true, M, N, K, 1f, X, K, W, K, null, 0f, C, N);

    public void OursPacked(int threads) =>
        Sgemm.Multiply(Kernel, threads, false, false, M, N, K, 1f, X, K, null, 0, Packed, 0f, C, N);

    public void Peer() => OpenBlas.Multiply(false, true, M, N, K, 1f, X, K, W, K, 0f, CPeer, N);

    /// <summary>max |ours - peer| / max(1e-6, max |peer|) over the whole output.</summary>
    public double MaxRelativeDifference()
    {
        double maxDiff = 0, maxRef = 1e-6;
        var count = (long)M * N;
        for (long i = 0; i < count; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(C[i] - CPeer[i]));
            maxRef = Math.Max(maxRef, Math.Abs(CPeer[i]));
        }
        return maxDiff / maxRef;
    }

    private static float* Allocate(long count, int seed)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
        var random = new Random(seed);
        for (long i = 0; i < count; i++)
        {
            p[i] = (float)((random.NextDouble() * 2) - 1);
        }
        return p;
    }

    public void Dispose()
    {
        Packed.Dispose();
        NativeMemory.AlignedFree(X);
        NativeMemory.AlignedFree(W);
        NativeMemory.AlignedFree(C);
        NativeMemory.AlignedFree(CPeer);
    }
}
