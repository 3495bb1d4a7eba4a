// A run-time check of the sgemm micro-kernel in use against a float64 reference, for a new machine or a new build.
namespace VcpNative.Tensors.Cpu;

/// <summary>
/// Multiplies odd shapes (edge tiles in both directions, every transpose, several depth blocks, alpha/beta) with the
/// default kernel on every thread and compares each element with the float64 product. `vcp-native smoke` runs it, so a
/// binary for another CPU (the arm64 build under qemu, a Jetson) proves its kernel before it computes anything else.
/// </summary>
public static unsafe class SgemmSelfCheck
{
    /// <summary>The kernel checked, how many products, and the worst |error| / tolerance over all elements (&lt;= 1 passes).</summary>
    public sealed record Result(string Kernel, int Products, long Elements, double WorstRatio)
    {
        /// <summary>True when every element is within tolerance.</summary>
        public bool Passed => WorstRatio <= 1.0;
    }

    /// <summary>Checks the default sgemm kernel on every thread.</summary>
    public static Result Run() => Run(SgemmKernel.Default);

    internal static Result Run(SgemmKernel kernel)
    {
        // Shapes around the register tile and the KC/MC blocks of whichever kernel runs.
        int[][] shapes =
        [
            [1, 1, 1], [7, 13, 29], [29, 7, 13], [37, 41, 300],
            [kernel.Mr + 1, (3 * kernel.Nr) + 5, kernel.Kc + 44], [kernel.Mc + 3, kernel.Nr - 1, 17],
        ];
        (float Alpha, float Beta)[] scalings = [(1f, 0f), (1.5f, 0.5f)];
        var products = 0;
        long elements = 0;
        var worst = 0.0;
        var random = new Random(20240611);
        foreach (var shape in shapes)
        {
            foreach (var transA in new[] { false, true })
            {
                foreach (var transB in new[] { false, true })
                {
                    var (alpha, beta) = scalings[products % scalings.Length];
                    worst = Math.Max(worst, CheckOne(kernel, random, shape[0], shape[1], shape[2], transA, transB, alpha, beta));
                    products++;
                    elements += (long)shape[0] * shape[1];
                }
            }
        }
        return new Result(kernel.Name, products, elements, worst);
    }

    private static double CheckOne(SgemmKernel kernel, Random random, int m, int n, int k, bool transA, bool transB, float alpha, float beta)
    {
        // Padded leading dimensions: the kernel must neither read nor write outside the stored rows.
        var lda = (transA ? m : k) + 3;
        var ldb = (transB ? k : n) + 3;
        var ldc = n + 3;
        var a = Fill(random, (transA ? k : m) * lda);
        var b = Fill(random, (transB ? n : k) * ldb);
        var c0 = Fill(random, m * ldc);
        var c = (float[])c0.Clone();
        fixed (float* pa = a, pb = b, pc = c)
        {
            Sgemm.Multiply(kernel, CpuParallel.Threads, transA, transB, m, n, k, alpha, pa, lda, pb, ldb, null, beta, pc, ldc, minWorkPerThread: 1);
        }
        var worst = 0.0;
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < ldc; j++)
            {
                var got = c[(i * ldc) + j];
                if (j >= n)
                {
                    // Padding columns must be untouched.
                    worst = Math.Max(worst, got == c0[(i * ldc) + j] ? 0 : double.PositiveInfinity);
                    continue;
                }
                double sum = 0, magnitude = 0;
                for (var p = 0; p < k; p++)
                {
                    var term = (double)(transA ? a[(p * lda) + i] : a[(i * lda) + p]) * (transB ? b[(j * ldb) + p] : b[(p * ldb) + j]);
                    sum += term;
                    magnitude += Math.Abs(term);
                }
                var old = (double)c0[(i * ldc) + j];
                var expected = (alpha * sum) + (beta * old);
                // fp32 accumulation in another order: (k + 2) * 2^-23 * sum|terms| bounds it (as in the unit tests).
                var tolerance = ((k + 2) * Math.Pow(2, -23) * ((Math.Abs(alpha) * magnitude) + Math.Abs(beta * old))) + 1e-30;
                var ratio = double.IsFinite(got) ? Math.Abs(got - expected) / tolerance : double.PositiveInfinity;
                worst = Math.Max(worst, ratio);
            }
        }
        return worst;
    }

    private static float[] Fill(Random random, int count)
    {
        var values = new float[Math.Max(1, count)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1);
        }
        return values;
    }
}
