// Public entry points of the CPU single-precision matrix multiply (row-major BLAS sgemm semantics).
namespace VcpNative.Tensors.Cpu;

/// <summary>
/// Row-major <c>C[m,n] = alpha * op(A) * op(B) + beta * C</c>. op(A) is [m,k]: A stored [m,k] (leading dimension lda), or
/// [k,m] when <c>transA</c>. op(B) is [k,n]: B stored [k,n], or [n,k] when <c>transB</c> (weights W[N,K] used as W^T).
/// beta == 0 never reads C. Blocked and packed GotoBLAS-style, SIMD micro-kernel, split over <see cref="CpuParallel.Threads"/>.
/// </summary>
public static unsafe class Sgemm
{
    /// <summary>Name of the micro-kernel in use (e.g. "avx2-6x16"), for logs and benchmarks.</summary>
    public static string KernelName => SgemmKernel.Default.Name;

    /// <summary>The kernel's register tile and cache blocking, the caches it was sized from and the thread split, e.g. "MR=6 NR=16 KC=256 MC=144 NC=4096; L1d 32 KiB, L2 512 KiB (cpuid); split Auto".</summary>
    public static string KernelBlocking => $"{SgemmKernel.Default.Blocking}; {CpuCaches.Current}; split {SgemmSplit.Current}";

    /// <summary>Multiply-adds per thread below which extra threads are not used: waking a helper costs more than ~1 M of them save.</summary>
    internal const long MinWorkPerThread = 1L << 20;

    /// <summary>Row-major sgemm over raw pointers.</summary>
    public static void Multiply(
        bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
        float beta, float* c, int ldc) =>
        Multiply(SgemmKernel.Default, CpuParallel.Threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, null, beta, c, ldc);

    /// <summary>Row-major sgemm over spans; checks every operand's extent before touching memory.</summary>
    public static void Multiply(
        bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        CheckExtent(nameof(a), a.Length, transA ? k : m, transA ? m : k, lda);
        CheckExtent(nameof(b), b.Length, transB ? n : k, transB ? k : n, ldb);
        CheckExtent(nameof(c), c.Length, m, n, ldc);
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            Multiply(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        }
    }

    /// <summary>C[m, b.N] = alpha * op(A) * B + beta * C with B packed once beforehand (frozen weights): no B packing per call.</summary>
    public static void Multiply(bool transA, int m, float alpha, float* a, int lda, PackedMatrix b, float beta, float* c, int ldc)
    {
        ArgumentNullException.ThrowIfNull(b);
        Multiply(b.Kernel, CpuParallel.Threads, transA, false, m, b.N, b.K, alpha, a, lda, null, 0, b.ThrowIfDisposed(), beta, c, ldc);
    }

    /// <summary>Span form of the pre-packed multiply.</summary>
    public static void Multiply(bool transA, int m, float alpha, ReadOnlySpan<float> a, int lda, PackedMatrix b, float beta, Span<float> c, int ldc)
    {
        ArgumentNullException.ThrowIfNull(b);
        CheckExtent(nameof(a), a.Length, transA ? b.K : m, transA ? m : b.K, lda);
        CheckExtent(nameof(c), c.Length, m, b.N, ldc);
        fixed (float* pa = a)
        fixed (float* pc = c)
        {
            Multiply(transA, m, alpha, pa, lda, b, beta, pc, ldc);
        }
    }

    /// <summary>
    /// C[m,n] = act(alpha * op(A) * op(B) + beta * C + bias): the bias [n] (may be null) and the activation are applied to each
    /// block of C right after its last depth block, while it is still in cache, instead of in separate passes over C.
    /// </summary>
    public static void Multiply(
        bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
        float beta, float* c, int ldc, GemmEpilogue epilogue, float* bias) =>
        Multiply(SgemmKernel.Default, CpuParallel.Threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, null, beta, c, ldc,
            MinWorkPerThread, epilogue, bias);

    /// <summary>
    /// C[m,n] = act(A[m,k] W^T + bias) with the weight W[n,k] (row-major, leading dimension k) stored compressed:
    /// <paramref name="encoding"/> BFloat16 reads <paramref name="w"/> as bf16 bits, Int8 as int8 with
    /// <paramref name="rowScales"/>[n] (W[j,:] = q[j,:] * scale[j]). W is widened to f32 while B is packed; activations
    /// and accumulation are f32. Equals the f32 sgemm on the decoded W (same panels, same summation order).
    /// </summary>
    public static void MultiplyCompressedWeight(
        int m, int n, int k, float* a, int lda, WeightEncoding encoding, void* w, float* rowScales, float* c, int ldc,
        GemmEpilogue epilogue, float* bias) =>
        MultiplyCompressedWeight(SgemmKernel.Default, CpuParallel.Threads, m, n, k, a, lda, encoding, w, rowScales, c, ldc, epilogue, bias);

    internal static void MultiplyCompressedWeight(
        SgemmKernel kernel, int threads, int m, int n, int k, float* a, int lda, WeightEncoding encoding, void* w, float* rowScales,
        float* c, int ldc, GemmEpilogue epilogue, float* bias)
    {
        if (encoding == WeightEncoding.F32 || w == null || (encoding == WeightEncoding.Int8 && rowScales == null))
        {
            throw new ArgumentException($"a compressed weight needs bf16 or int8 data (int8 with row scales), found {encoding}", nameof(encoding));
        }
        CheckDimensions(false, true, m, n, k, lda, Math.Max(1, k), ldc, false);
        if (m == 0 || n == 0)
        {
            return;
        }
        if (k == 0)
        {
            throw new ArgumentException("a compressed-weight product needs k > 0 (the caller fills act(bias) itself)", nameof(k));
        }
        var task = SgemmTask.Rent();
        try
        {
            Fill(task, kernel, false, true, m, n, k, 1f, a, lda, null, k, null, 0f, c, ldc);
            task.BEncoding = encoding;
            task.CompressedB = w;
            task.BRowScales = rowScales;
            task.Epilogue = WithBias(epilogue, bias);
            task.Bias = bias;
            task.Execute(threads, MinWorkPerThread);
        }
        finally
        {
            task.Return();
        }
    }

    /// <summary>
    /// <paramref name="batch"/> independent products; operand i starts at its pointer + i * stride (elements; a stride of 0
    /// broadcasts one A or B to every product). Small products run one per thread, large ones each use all threads.
    /// </summary>
    public static void MultiplyBatched(
        bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb,
        float beta, float* c, int ldc, int batch, long strideA, long strideB, long strideC) =>
        MultiplyBatched(SgemmKernel.Default, CpuParallel.Threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, batch, strideA, strideB, strideC);

    internal static void MultiplyBatched(
        SgemmKernel kernel, int threads, bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, float beta, float* c, int ldc, int batch, long strideA, long strideB, long strideC)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        if (batch > 1 && strideC == 0)
        {
            throw new ArgumentException($"strideC must be non-zero when batch > 1 (found batch={batch}): every product would write the same C.", nameof(strideC));
        }
        // Whole products per thread share nothing and need no duplicate packing; only worth it when the split is even enough.
        var perBatch = threads > 1 && (batch % threads == 0 || batch >= 4 * threads);
        if (!perBatch || batch <= 1 || m == 0 || n == 0)
        {
            for (var i = 0; i < batch; i++)
            {
                Multiply(kernel, threads, transA, transB, m, n, k, alpha, a + (i * strideA), lda, b + (i * strideB), ldb, null, beta, c + (i * strideC), ldc);
            }
            return;
        }
        CheckDimensions(transA, transB, m, n, k, lda, ldb, ldc, false);
        if (k == 0 || alpha == 0f)
        {
            for (var i = 0; i < batch; i++)
            {
                ScaleC(m, n, beta, c + (i * strideC), ldc);
            }
            return;
        }
        var task = SgemmTask.Rent();
        try
        {
            Fill(task, kernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, null, beta, c, ldc);
            task.SplitBatch = true;
            task.StrideA = strideA;
            task.StrideB = strideB;
            task.StrideC = strideC;
            CpuParallel.For(batch, task);
        }
        finally
        {
            task.Return();
        }
    }

    /// <summary>The one implementation behind every overload; <paramref name="kernel"/> and <paramref name="threads"/> are explicit so tests can pin them.</summary>
    internal static void Multiply(
        SgemmKernel kernel, int threads, bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, PackedMatrix? packedB, float beta, float* c, int ldc, long minWorkPerThread = MinWorkPerThread,
        GemmEpilogue epilogue = GemmEpilogue.None, float* bias = null, SgemmSplitMode? split = null, long? sharedABudgetFloats = null)
    {
        CheckDimensions(transA, transB, m, n, k, lda, ldb, ldc, packedB is not null);
        if (m == 0 || n == 0)
        {
            return;
        }
        if (k == 0 || alpha == 0f)
        {
            ScaleC(m, n, beta, c, ldc);
            if (epilogue != GemmEpilogue.None || bias != null)
            {
                throw new ArgumentException("an epilogue needs k > 0 and alpha != 0", nameof(epilogue));
            }
            return;
        }
        var task = SgemmTask.Rent();
        try
        {
            Fill(task, packedB?.Kernel ?? kernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, packedB, beta, c, ldc);
            task.Epilogue = WithBias(epilogue, bias);
            task.Bias = bias;
            task.Split = split ?? task.Split;
            task.SharedABudget = sharedABudgetFloats ?? task.SharedABudget;
            task.Execute(threads, minWorkPerThread);
        }
        finally
        {
            task.Return();
        }
    }

    /// <summary>A bias without an activation still needs the epilogue pass.</summary>
    private static GemmEpilogue WithBias(GemmEpilogue epilogue, float* bias) =>
        bias != null && epilogue == GemmEpilogue.None ? GemmEpilogue.Bias : epilogue;

    private static void Fill(
        SgemmTask task, SgemmKernel kernel, bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, PackedMatrix? packedB, float beta, float* c, int ldc)
    {
        task.Kernel = kernel;
        task.TransA = transA;
        task.TransB = transB;
        task.M = m;
        task.N = n;
        task.K = k;
        task.Alpha = alpha;
        task.A = a;
        task.Lda = lda;
        task.B = b;
        task.Ldb = ldb;
        task.PackedB = packedB;
        task.Beta = beta;
        task.C = c;
        task.Ldc = ldc;
    }

    /// <summary>C = beta * C (k == 0 or alpha == 0); beta == 0 writes zeros without reading C.</summary>
    private static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        for (var i = 0; i < m; i++)
        {
            var row = new Span<float>(c + ((long)i * ldc), n);
            if (beta == 0f)
            {
                row.Clear();
            }
            else if (beta != 1f)
            {
                for (var j = 0; j < n; j++)
                {
                    row[j] *= beta;
                }
            }
        }
    }

    private static void CheckDimensions(bool transA, bool transB, int m, int n, int k, int lda, int ldb, int ldc, bool bPacked)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        CheckLeading(nameof(lda), lda, transA ? m : k);
        if (!bPacked)
        {
            CheckLeading(nameof(ldb), ldb, transB ? k : n);
        }
        CheckLeading(nameof(ldc), ldc, n);
    }

    private static void CheckLeading(string name, int leading, int columns)
    {
        if (leading < Math.Max(1, columns))
        {
            throw new ArgumentOutOfRangeException(name, $"{name}={leading} is smaller than the stored row length {columns}.");
        }
    }

    private static void CheckExtent(string name, int length, int rows, int columns, int leading)
    {
        CheckLeading("ld" + name, leading, columns);
        var needed = rows == 0 || columns == 0 ? 0 : ((long)(rows - 1) * leading) + columns;
        if (length < needed)
        {
            throw new ArgumentException($"{name} holds {length} floats; a [{rows},{columns}] matrix with leading dimension {leading} needs {needed}.", name);
        }
    }
}

/// <summary>Work fused into sgemm's write of C: per-column bias, then an optional activation.</summary>
public enum GemmEpilogue
{
    /// <summary>C is written as computed.</summary>
    None,
    /// <summary>C += bias (per column).</summary>
    Bias,
    /// <summary>C = GELU(C + bias), exact erf form.</summary>
    Gelu,
    /// <summary>C = QuickGELU(C + bias), x * sigmoid(1.702 x).</summary>
    QuickGelu,
}
