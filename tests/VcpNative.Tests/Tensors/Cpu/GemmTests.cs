// Checks the CPU sgemm (every micro-kernel this CPU supports) against a naive float64 triple loop.
using VcpNative.Tensors.Cpu;
using Xunit;

namespace VcpNative.Tests.Tensors.Cpu;

public sealed unsafe class GemmTests
{
    /// <summary>
    /// Every kernel this CPU supports, plus the NEON 8x12 kernel on every CPU: off arm64 its FMA-by-lane falls back to a
    /// lane broadcast and a fused multiply-add (the same rounding), so its tile, packing widths and edges are tested here
    /// as well; the arm64 build runs the real instruction (tools/release.sh checks it under qemu).
    /// </summary>
    private static IEnumerable<SgemmKernel> KernelsUnderTest() =>
        SgemmKernel.Supported.Contains(SgemmKernel.Neon) ? SgemmKernel.Supported : SgemmKernel.Supported.Append(SgemmKernel.Neon);

    public static TheoryData<string, bool, bool> KernelsAndTransposes()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (var kernel in KernelsUnderTest())
        {
            foreach (var transA in new[] { false, true })
            {
                foreach (var transB in new[] { false, true })
                {
                    data.Add(kernel.Name, transA, transB);
                }
            }
        }
        return data;
    }

    public static TheoryData<string> Kernels()
    {
        var data = new TheoryData<string>();
        foreach (var kernel in KernelsUnderTest())
        {
            data.Add(kernel.Name);
        }
        return data;
    }

    private static SgemmKernel KernelNamed(string name)
    {
        foreach (var kernel in KernelsUnderTest())
        {
            if (kernel.Name == name)
            {
                return kernel;
            }
        }
        throw new InvalidOperationException(name);
    }

    /// <summary>Row-major operands of one product, with padded leading dimensions and random contents.</summary>
    private sealed class Problem
    {
        public Problem(int m, int n, int k, bool transA, bool transB, int pad, int seed, bool nanC)
        {
            M = m;
            N = n;
            K = k;
            TransA = transA;
            TransB = transB;
            Lda = (transA ? m : k) + pad;
            Ldb = (transB ? k : n) + pad;
            Ldc = n + pad;
            var random = new Random(seed);
            A = Fill(random, (transA ? k : m) * Lda);
            B = Fill(random, (transB ? n : k) * Ldb);
            C = Fill(random, m * Ldc);
            if (nanC)
            {
                Array.Fill(C, float.NaN);
            }
        }

        public int M { get; }
        public int N { get; }
        public int K { get; }
        public bool TransA { get; }
        public bool TransB { get; }
        public int Lda { get; }
        public int Ldb { get; }
        public int Ldc { get; }
        public float[] A { get; }
        public float[] B { get; }
        public float[] C { get; }

        private static float[] Fill(Random random, int count)
        {
            var values = new float[Math.Max(1, count)];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (float)((random.NextDouble() * 2) - 1);
            }
            return values;
        }

        public float OpA(int i, int p) => TransA ? A[(p * Lda) + i] : A[(i * Lda) + p];

        public float OpB(int p, int j) => TransB ? B[(j * Ldb) + p] : B[(p * Ldb) + j];

        public float[] Run(SgemmKernel kernel, int threads, float alpha, float beta, SgemmSplitMode split = SgemmSplitMode.Auto, long? sharedABudgetFloats = null)
        {
            var c = (float[])C.Clone();
            fixed (float* a = A)
            fixed (float* b = B)
            fixed (float* pc = c)
            {
                // minWorkPerThread 1: even tiny products take the multi-threaded path when threads > 1.
                Sgemm.Multiply(kernel, threads, TransA, TransB, M, N, K, alpha, a, Lda, b, Ldb, null, beta, pc, Ldc, minWorkPerThread: 1, split: split,
                    sharedABudgetFloats: sharedABudgetFloats);
            }
            return c;
        }

        /// <summary>Asserts <paramref name="actual"/> matches the float64 product; padding columns of C must stay untouched.</summary>
        public void AssertMatches(float[] actual, float alpha, float beta)
        {
            for (var i = 0; i < M; i++)
            {
                for (var j = 0; j < Ldc; j++)
                {
                    var old = C[(i * Ldc) + j];
                    var got = actual[(i * Ldc) + j];
                    if (j >= N)
                    {
                        Assert.Equal(old, got);
                        continue;
                    }
                    double sum = 0;
                    double magnitude = 0;
                    for (var p = 0; p < K; p++)
                    {
                        double term = (double)OpA(i, p) * OpB(p, j);
                        sum += term;
                        magnitude += Math.Abs(term);
                    }
                    var expected = alpha * sum;
                    var scale = Math.Abs(alpha) * magnitude;
                    if (beta != 0f)
                    {
                        expected += beta * (double)old;
                        scale += Math.Abs(beta * (double)old);
                    }
                    // fp32 accumulation in a different order: worst case error is about (K + 2) * 2^-24 * sum|terms|;
                    // twice that covers the alpha/beta roundings. The 1e-30 floor only matters when every term is 0.
                    var tolerance = ((K + 2) * Math.Pow(2, -23) * scale) + 1e-30;
                    Assert.False(double.IsNaN(got), $"C[{i},{j}] is NaN");
                    Assert.True(Math.Abs(got - expected) <= tolerance, $"C[{i},{j}] = {got}, expected {expected} (tolerance {tolerance}), m={M} n={N} k={K}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelsAndTransposes))]
    public void MatchesReference_AllShapes(string kernelName, bool transA, bool transB)
    {
        var kernel = KernelNamed(kernelName);
        int[][] shapes = [[1, 1, 1], [7, 13, 29], [29, 7, 13], [13, 29, 7], [65, 33, 17], [17, 65, 129], [1, 40, 300], [40, 1, 300], [37, 41, 300]];
        foreach (var shape in shapes)
        {
            var problem = new Problem(shape[0], shape[1], shape[2], transA, transB, pad: 3, seed: shape[0] * 1000 + shape[1], nanC: false);
            problem.AssertMatches(problem.Run(kernel, 1, 1f, 0f), 1f, 0f);
        }
    }

    [Theory]
    [MemberData(nameof(KernelsAndTransposes))]
    public void MatchesReference_AcrossEveryBlockEdge(string kernelName, bool transA, bool transB)
    {
        // Tiny blocks (KC=5, MC=2*MR, NC=2*NR) make every loop of the blocked driver run several partial iterations.
        var baseKernel = KernelNamed(kernelName);
        var kernel = baseKernel.WithBlocking(5, 2 * baseKernel.Mr, 2 * baseKernel.Nr);
        var problem = new Problem(3 * baseKernel.Mr + 1, 5 * baseKernel.Nr - 3, 23, transA, transB, pad: 2, seed: 11, nanC: false);
        problem.AssertMatches(problem.Run(kernel, 1, 1.5f, 0.5f), 1.5f, 0.5f);
        foreach (var split in TwoThreadSplits)
        {
            problem.AssertMatches(problem.Run(kernel, 2, 1.5f, 0.5f, split), 1.5f, 0.5f);
        }
        // Column stripes with A packed per stripe (budget 0), and shared in row chunks of one MC block (budget 1).
        problem.AssertMatches(problem.Run(kernel, 2, 1.5f, 0.5f, SgemmSplitMode.Columns, sharedABudgetFloats: 0), 1.5f, 0.5f);
        problem.AssertMatches(problem.Run(kernel, 2, 1.5f, 0.5f, SgemmSplitMode.Columns, sharedABudgetFloats: 1), 1.5f, 0.5f);
    }

    /// <summary>Both parallel loop nests: the shared B block and the per-thread column stripes.</summary>
    private static readonly SgemmSplitMode[] TwoThreadSplits = [SgemmSplitMode.SharedB, SgemmSplitMode.Columns];

    [Theory]
    [MemberData(nameof(Kernels))]
    public void MatchesReference_AroundDefaultBlockSizes(string kernelName)
    {
        var kernel = KernelNamed(kernelName);
        var problem = new Problem(kernel.Mc + 1, 257, kernel.Kc + 44, false, true, pad: 0, seed: 5, nanC: false);
        var transposed = new Problem(129, 65, kernel.Kc + 1, true, false, pad: 1, seed: 6, nanC: false);
        foreach (var split in TwoThreadSplits)
        {
            problem.AssertMatches(problem.Run(kernel, 2, 1f, 0f, split), 1f, 0f);
            transposed.AssertMatches(transposed.Run(kernel, 2, 1f, 1f, split), 1f, 1f);
        }
        // Three row chunks of shared packed A (MC, MC and 1 rows; transposed A too).
        var tall = new Problem((2 * kernel.Mc) + 1, 2 * kernel.Nr, 37, true, false, pad: 1, seed: 7, nanC: false);
        tall.AssertMatches(tall.Run(kernel, 2, 1f, 1f, SgemmSplitMode.Columns, sharedABudgetFloats: 37L * kernel.Mc), 1f, 1f);
        problem.AssertMatches(problem.Run(kernel, 2, 1f, 0f, SgemmSplitMode.Columns, sharedABudgetFloats: 0), 1f, 0f);
    }

    [Theory]
    [InlineData(1f, 0f)]
    [InlineData(0.5f, 0f)]
    [InlineData(1f, 1f)]
    [InlineData(-1.5f, 0.25f)]
    [InlineData(0f, 2f)]
    [InlineData(2f, -1f)]
    public void AlphaBeta_AllKernels(float alpha, float beta)
    {
        foreach (var kernel in KernelsUnderTest())
        {
            var problem = new Problem(23, 37, 19, false, true, pad: 1, seed: 3, nanC: false);
            problem.AssertMatches(problem.Run(kernel, 2, alpha, beta), alpha, beta);
        }
    }

    [Fact]
    public void BetaZero_IgnoresNaNInC()
    {
        foreach (var kernel in KernelsUnderTest())
        {
            var problem = new Problem(31, 45, 17, true, true, pad: 0, seed: 4, nanC: true);
            var c = problem.Run(kernel, 2, 0.75f, 0f);
            problem.AssertMatches(c, 0.75f, 0f);
        }
    }

    [Fact]
    public void ZeroK_ScalesC()
    {
        var problem = new Problem(5, 6, 0, false, false, pad: 1, seed: 8, nanC: false);
        problem.AssertMatches(problem.Run(SgemmKernel.Default, 1, 1f, 3f), 1f, 3f);
        var nan = new Problem(5, 6, 0, false, true, pad: 1, seed: 8, nanC: true);
        nan.AssertMatches(nan.Run(SgemmKernel.Default, 1, 1f, 0f), 1f, 0f);
    }

    [Fact]
    public void OneAndTwoThreads_Agree()
    {
        var problem = new Problem(301, 211, 300, false, true, pad: 0, seed: 9, nanC: false);
        var one = problem.Run(SgemmKernel.Default, 1, 1f, 0f);
        foreach (var split in TwoThreadSplits)
        {
            var two = problem.Run(SgemmKernel.Default, 2, 1f, 0f, split);
            problem.AssertMatches(two, 1f, 0f);
            // Each element sums its k terms in the same order whatever the split, so only identical values are expected;
            // 1e-6 relative leaves room for a JIT that contracts the alpha/beta step differently in edge tiles.
            for (var i = 0; i < one.Length; i++)
            {
                Assert.True(Math.Abs(one[i] - two[i]) <= 1e-6f * Math.Max(1f, Math.Abs(one[i])), $"{split} element {i}: {one[i]} vs {two[i]}");
            }
        }
        // And through the public entry point, which uses CpuParallel.Threads.
        var viaPublic = (float[])problem.C.Clone();
        Sgemm.Multiply(false, true, 301, 211, 300, 1f, problem.A, problem.Lda, problem.B, problem.Ldb, 0f, viaPublic, problem.Ldc);
        problem.AssertMatches(viaPublic, 1f, 0f);
    }

    [Fact]
    public void Batched_WithBroadcastB_MatchesPerProductCalls()
    {
        const int batch = 4, m = 19, n = 23, k = 31;
        var random = new Random(12);
        var a = new float[batch * m * k];
        var b = new float[k * n];
        for (var i = 0; i < a.Length; i++)
        {
            a[i] = (float)random.NextDouble() - 0.5f;
        }
        for (var i = 0; i < b.Length; i++)
        {
            b[i] = (float)random.NextDouble() - 0.5f;
        }
        foreach (var threads in new[] { 1, 2 })
        {
            var c = new float[batch * m * n];
            Array.Fill(c, float.NaN);
            fixed (float* pa = a)
            fixed (float* pb = b)
            fixed (float* pc = c)
            {
                Sgemm.MultiplyBatched(SgemmKernel.Default, threads, false, false, m, n, k, 1f, pa, k, pb, n, 0f, pc, n, batch, m * k, 0, m * n);
            }
            for (var t = 0; t < batch; t++)
            {
                for (var i = 0; i < m; i++)
                {
                    for (var j = 0; j < n; j++)
                    {
                        double sum = 0, magnitude = 0;
                        for (var p = 0; p < k; p++)
                        {
                            double term = (double)a[(t * m * k) + (i * k) + p] * b[(p * n) + j];
                            sum += term;
                            magnitude += Math.Abs(term);
                        }
                        // fp32 accumulation order, as in Problem.AssertMatches.
                        var tolerance = (k + 2) * Math.Pow(2, -23) * magnitude;
                        Assert.True(Math.Abs(c[(t * m * n) + (i * n) + j] - sum) <= tolerance, $"batch {t} C[{i},{j}] threads={threads}");
                    }
                }
            }
        }
    }

    [Fact]
    public void Batched_RejectsSharedOutput()
    {
        var buffer = new float[16];
        fixed (float* p = buffer)
        {
            var pointer = p;
            Assert.Throws<ArgumentException>(() => Sgemm.MultiplyBatched(false, false, 2, 2, 2, 1f, pointer, 2, pointer, 2, 0f, pointer, 2, 2, 4, 4, 0));
        }
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void PackedWeight_EqualsUnpackedPath(string kernelName)
    {
        var kernel = KernelNamed(kernelName);
        const int m = 50, n = 70, k = 300;
        var x = new Problem(m, n, k, false, true, pad: 0, seed: 13, nanC: false);
        var expected = x.Run(kernel, 2, 1f, 0f);
        float[] actual = new float[m * n];
        fixed (float* w = x.B)
        fixed (float* a = x.A)
        fixed (float* c = actual)
        {
            using var packed = new PackedMatrix(w, k, n, k, transB: true, kernel);
            foreach (var (threads, split) in new[] { (1, SgemmSplitMode.Auto), (2, SgemmSplitMode.SharedB), (2, SgemmSplitMode.Columns) })
            {
                Array.Clear(actual);
                Sgemm.Multiply(kernel, threads, false, false, m, n, k, 1f, a, k, null, 0, packed, 0f, c, n, minWorkPerThread: 1, split: split);
                // Same kernel, same panels, same summation order: the packed path must reproduce the unpacked one exactly.
                Assert.Equal(expected, actual);
            }
        }
        x.AssertMatches(actual, 1f, 0f);
    }

    [Fact]
    public void PackedWeight_TinyBlocks_MatchesReference()
    {
        // KC=7 and NC=2*NR make the pre-packed layout hold several depth blocks and the driver several column blocks.
        var kernel = SgemmKernel.Default.WithBlocking(7, SgemmKernel.Default.Mr, 2 * SgemmKernel.Default.Nr);
        const int m = 27, n = 101, k = 45;
        var x = new Problem(m, n, k, false, true, pad: 0, seed: 15, nanC: false);
        foreach (var split in TwoThreadSplits)
        {
            var c = (float[])x.C.Clone();
            fixed (float* w = x.B)
            fixed (float* a = x.A)
            fixed (float* pc = c)
            {
                using var packed = new PackedMatrix(w, k, n, k, transB: true, kernel);
                Sgemm.Multiply(kernel, 2, false, false, m, n, k, 0.5f, a, k, null, 0, packed, 2f, pc, n, minWorkPerThread: 1, split: split);
            }
            x.AssertMatches(c, 0.5f, 2f);
        }
    }

    [Fact]
    public void ConcurrentCallers_ShareThePoolSafely()
    {
        // Two threads issue many small parallel products at once: one gets the worker pool, the other runs serially,
        // and loops follow each other quickly enough that a helper waking late would meet the next loop.
        var problem = new Problem(37, 53, 41, false, true, pad: 0, seed: 16, nanC: false);
        var expected = problem.Run(SgemmKernel.Default, 1, 1f, 0f);
        var failures = 0;
        var callers = new Thread[2];
        for (var t = 0; t < callers.Length; t++)
        {
            callers[t] = new Thread(() =>
            {
                for (var i = 0; i < 300; i++)
                {
                    var c = problem.Run(SgemmKernel.Default, 2, 1f, 0f);
                    for (var j = 0; j < c.Length; j++)
                    {
                        // Same kernel and summation order as the serial run: any difference is a scheduling bug.
                        if (c[j] != expected[j])
                        {
                            Interlocked.Increment(ref failures);
                            break;
                        }
                    }
                }
            });
            callers[t].Start();
        }
        foreach (var caller in callers)
        {
            caller.Join();
        }
        Assert.Equal(0, failures);
    }

    [Fact]
    public void PackedFromWeight_PublicSpanPath()
    {
        const int m = 9, n = 20, k = 33;
        var x = new Problem(m, n, k, false, true, pad: 0, seed: 14, nanC: true);
        using var packed = PackedMatrix.FromWeight(x.B, n, k);
        var c = (float[])x.C.Clone();
        Sgemm.Multiply(false, m, 1f, x.A, k, packed, 0f, c, n);
        x.AssertMatches(c, 1f, 0f);
        packed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Sgemm.Multiply(false, m, 1f, x.A, k, packed, 0f, c, n));
    }

    [Fact]
    public void SteadyState_AllocatesNothingOnTheCaller()
    {
        var problem = new Problem(200, 96, 300, false, true, pad: 0, seed: 17, nanC: false);
        var c = new float[200 * 96];
        fixed (float* a = problem.A)
        fixed (float* b = problem.B)
        fixed (float* pc = c)
        {
            // Warm-up creates the pool's threads, this thread's pack buffers and its task object.
            Sgemm.Multiply(SgemmKernel.Default, 2, false, true, 200, 96, 300, 1f, a, 300, b, 300, null, 0f, pc, 96, minWorkPerThread: 1);
            // Busy threads on every core make the pool's helpers late, so the caller has to block on its completion
            // event rather than spin (the case that once allocated 24 bytes under CI load).
            using var stop = new CancellationTokenSource();
            var hogs = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Thread(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    Thread.SpinWait(1000);
                }
            }) { IsBackground = true }).ToList();
            hogs.ForEach(t => t.Start());
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 50; i++)
            {
                Sgemm.Multiply(SgemmKernel.Default, 2, false, true, 200, 96, 300, 1f, a, 300, b, 300, null, 0f, pc, 96, minWorkPerThread: 1);
            }
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            stop.Cancel();
            hogs.ForEach(t => t.Join());
            Assert.Equal(0, allocated);
        }
        problem.AssertMatches(c, 1f, 0f);
    }

    [Fact]
    public void SpanOverload_RejectsShortOperands()
    {
        var a = new float[6];
        var b = new float[6];
        var c = new float[3];
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(false, false, 2, 2, 3, 1f, a, 3, b, 2, 0f, c, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sgemm.Multiply(false, false, 2, 2, 3, 1f, a, 2, b, 2, 0f, new float[4], 2));
    }

    [Fact]
    public void Default_IsTheWidestKernelThisCpuRuns()
    {
        // A build whose SIMD support was compiled out (NativeAOT without the right instruction set) would quietly pick a
        // narrower kernel; this names the one each CPU family must get. VCP_SGEMM_KERNEL deliberately overrides it.
        var forced = Environment.GetEnvironmentVariable("VCP_SGEMM_KERNEL");
        Assert.True(string.IsNullOrEmpty(forced), $"VCP_SGEMM_KERNEL={forced} is set: the default kernel is overridden, unset it to run this test");
        var expected =
            System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported ? "neon-8x12"
            : System.Runtime.Intrinsics.X86.Avx512F.IsSupported && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "avx512-12x32"
            : System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported ? "avx2-6x16"
            : System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? "vector128-4x8"
            : "scalar-4x4";
        Assert.Equal(expected, SgemmKernel.Default.Name);
        Assert.Equal(expected, Sgemm.KernelName);
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void SelfCheck_PassesForEveryKernel(string kernelName)
    {
        var result = SgemmSelfCheck.Run(KernelNamed(kernelName));
        Assert.Equal(kernelName, result.Kernel);
        Assert.Equal(24, result.Products);
        Assert.True(result.Passed, $"{kernelName}: worst error {result.WorstRatio} of the fp32 bound");
    }

    [Fact]
    public void SelfCheck_CatchesAKernelThatDropsOneDepthStep()
    {
        var broken = new SgemmKernel("broken-4x4", 4, 4, 256, 64, 1024, true, &DropsLastStep);
        var result = SgemmSelfCheck.Run(broken);
        Assert.False(result.Passed, $"a kernel missing one k term passed with {result.WorstRatio}");
    }

    private static void DropsLastStep(int kc, float* a, float* b, float* c, long ldc, float alpha, float beta) =>
        SgemmKernels.ScalarKernel4x4(Math.Max(0, kc - 1), a, b, c, ldc, alpha, beta);
}
