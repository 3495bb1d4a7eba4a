// A B operand of sgemm packed once into micro-kernel panels (frozen weights), so repeated products skip packing it.
using System.Runtime.InteropServices;

namespace VcpNative.Tensors.Cpu;

/// <summary>
/// op(B) [K,N] stored as the micro-kernel's NR-wide panels, per KC depth block, in 64-byte aligned native memory.
/// Typical use: a linear layer's weight W[N,K] packed with <see cref="FromWeight"/>, then
/// <see cref="Sgemm.Multiply(bool, int, float, float*, int, PackedMatrix, float, float*, int)"/> computes x @ W^T.
/// </summary>
public sealed unsafe class PackedMatrix : IDisposable
{
    private float* data;
    private readonly bool owned;

    /// <summary>Packs op(B): B stored [k,n] with leading dimension <paramref name="ldb"/>, or [n,k] when <paramref name="transB"/>.</summary>
    public PackedMatrix(float* b, int k, int n, int ldb, bool transB)
        : this(b, k, n, ldb, transB, SgemmKernel.Default)
    {
    }

    internal PackedMatrix(float* b, int k, int n, int ldb, bool transB, SgemmKernel kernel)
        : this(b, k, n, ldb, transB, kernel, null)
    {
    }

    /// <summary>
    /// Packs into <paramref name="storage"/> (at least <see cref="FloatsFor"/> floats, 64-byte aligned, owned by the
    /// caller and outliving this matrix) or, when null, into memory of its own that <see cref="Dispose"/> frees.
    /// </summary>
    internal PackedMatrix(float* b, int k, int n, int ldb, bool transB, SgemmKernel kernel, float* storage)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (ldb < Math.Max(1, transB ? k : n))
        {
            throw new ArgumentOutOfRangeException(nameof(ldb), $"ldb={ldb} is smaller than the stored row length {(transB ? k : n)}.");
        }
        K = k;
        N = n;
        Kernel = kernel;
        Kc = kernel.Kc;
        PaddedN = (n + kernel.Nr - 1) / kernel.Nr * kernel.Nr;
        owned = storage == null;
        data = owned ? (float*)NativeMemory.AlignedAlloc((nuint)(FloatsFor(k, n, kernel) * sizeof(float)), 64) : storage;
        for (var pc = 0; pc < k; pc += Kc)
        {
            var kc = Math.Min(Kc, k - pc);
            SgemmTask.PackBPanels(b, ldb, transB, kernel.Nr, pc, kc, 0, n, data + (pc * PaddedN));
        }
    }

    /// <summary>Floats the packed panels of a [k,n] op(B) take for <paramref name="kernel"/>.</summary>
    internal static long FloatsFor(int k, int n, SgemmKernel kernel) => Math.Max(1, (long)k * ((n + kernel.Nr - 1) / kernel.Nr * kernel.Nr));

    /// <summary>Rows of op(B) (the reduction length).</summary>
    public int K { get; }

    /// <summary>Columns of op(B) (the output width).</summary>
    public int N { get; }

    internal SgemmKernel Kernel { get; }

    internal int Kc { get; }

    /// <summary>N rounded up to the kernel's NR: depth block pc starts at Data + pc * PaddedN.</summary>
    internal long PaddedN { get; }

    internal float* Data => data;

    /// <summary>Packs a weight W[n,k] (row-major, as stored by PyTorch's nn.Linear) for products x @ W^T.</summary>
    public static PackedMatrix FromWeight(ReadOnlySpan<float> weight, int n, int k)
    {
        if (weight.Length < (long)n * k)
        {
            throw new ArgumentException($"weight holds {weight.Length} floats; [{n},{k}] needs {(long)n * k}.", nameof(weight));
        }
        fixed (float* w = weight)
        {
            return new PackedMatrix(w, k, n, Math.Max(1, k), transB: true);
        }
    }

    /// <summary>Packs a plain B[k,n] (row-major) for products A @ B.</summary>
    public static PackedMatrix FromMatrix(ReadOnlySpan<float> b, int k, int n)
    {
        if (b.Length < (long)n * k)
        {
            throw new ArgumentException($"b holds {b.Length} floats; [{k},{n}] needs {(long)n * k}.", nameof(b));
        }
        fixed (float* p = b)
        {
            return new PackedMatrix(p, k, n, Math.Max(1, n), transB: false);
        }
    }

    internal PackedMatrix ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(data == null, this);
        return this;
    }

    /// <summary>Frees the packed panels.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the packed panels if <see cref="Dispose"/> was not called.</summary>
    ~PackedMatrix() => Free();

    private void Free()
    {
        if (owned)
        {
            NativeMemory.AlignedFree(data);
        }
        data = null;
    }
}
