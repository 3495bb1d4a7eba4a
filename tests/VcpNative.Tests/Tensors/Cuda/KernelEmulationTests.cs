// Every shipped __global__ kernel run on the PTX emulator against a float64 C# reference, on odd shapes.
using Xunit;
using Xunit.Abstractions;
using VcpNative.Tensors.Cuda;
using static VcpNative.Tests.Tensors.Cuda.EmulatorHarness;

namespace VcpNative.Tests.Tensors.Cuda;

public class KernelEmulationTests(ITestOutputHelper output)
{
    private const int RowsPerBlock = 4; // warp-per-row kernels launch 4 warps (128 threads) per block

    [Theory]
    [InlineData(37, 1024)]
    [InlineData(3, 1)]
    [InlineData(5, 33)]
    public void Layernorm_forward_and_backward(int rows, int cols)
    {
        using var h = new EmulatorHarness();
        var x = Random(rows * cols, 1, 3f);
        for (int i = 0; i < x.Length; i++) x[i] += 0.5f; // non-zero mean exercises the two-pass variance
        var gamma = Random(cols, 2);
        var beta = Random(cols, 3);
        var dy = Random(rows * cols, 4);
        const float eps = 1e-5f;
        DevicePtr px = h.Upload(x), pg = h.Upload(gamma), pb = h.Upload(beta), pdy = h.Upload(dy);
        DevicePtr pout = h.Garbage(rows * cols), pmean = h.Garbage(rows), prstd = h.Garbage(rows), pdx = h.Garbage(rows * cols);
        var grid = new Dim3(Blocks(rows, RowsPerBlock));
        h.Launch("layernorm", "layernorm_forward", grid, new Dim3(32 * RowsPerBlock), pout, pmean, prstd, px, pg, pb, rows, cols, eps);
        h.Launch("layernorm", "layernorm_backward_dx", grid, new Dim3(32 * RowsPerBlock), pdx, pdy, px, pg, pmean, prstd, rows, cols, 0);
        const int chunkRows = 8;
        int chunks = (rows + chunkRows - 1) / chunkRows;
        DevicePtr scratch = h.Garbage(2 * chunks * cols), pdgamma = h.Garbage(cols), pdbeta = h.Garbage(cols);
        h.Launch("layernorm", "layernorm_backward_params_partial", new Dim3(Blocks(cols, 128), (uint)chunks), new Dim3(128),
                 scratch, pdy, px, pmean, prstd, rows, cols, chunkRows);
        h.Launch("elementwise", "column_sum_final", new Dim3(Blocks(cols, 128)), new Dim3(128), pdgamma, scratch, chunks, cols, 0);
        h.Launch("elementwise", "column_sum_final", new Dim3(Blocks(cols, 128)), new Dim3(128), pdbeta, scratch.Offset(4L * chunks * cols), chunks, cols, 0);

        var refOut = new double[rows * cols];
        var refDx = new double[rows * cols];
        var refMean = new double[rows];
        var refRstd = new double[rows];
        var refDg = new double[cols];
        var refDb = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            double mean = 0, v = 0;
            for (int c = 0; c < cols; c++) mean += x[r * cols + c];
            mean /= cols;
            for (int c = 0; c < cols; c++) v += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
            double rstd = 1 / Math.Sqrt(v / cols + eps);
            refMean[r] = mean;
            refRstd[r] = rstd;
            double sg = 0, sgx = 0;
            for (int c = 0; c < cols; c++)
            {
                double xhat = (x[r * cols + c] - mean) * rstd;
                refOut[r * cols + c] = xhat * gamma[c] + beta[c];
                double g = dy[r * cols + c] * gamma[c];
                sg += g;
                sgx += g * xhat;
                refDg[c] += dy[r * cols + c] * xhat;
                refDb[c] += dy[r * cols + c];
            }
            for (int c = 0; c < cols; c++)
            {
                double xhat = (x[r * cols + c] - mean) * rstd;
                refDx[r * cols + c] = rstd * (dy[r * cols + c] * gamma[c] - sg / cols - xhat * sgx / cols);
            }
        }
        // fp32 sums over <= 1024 elements in a different order than the fp64 reference: ~1e-6 relative, scaled by rstd.
        AssertClose(refMean, h.Download(pmean, rows), 1e-5, 1e-5, "mean");
        AssertClose(refRstd, h.Download(prstd, rows), 1e-5, 1e-4, "rstd");
        AssertClose(refOut, h.Download(pout, rows * cols), 1e-4, 1e-4, "y");
        AssertClose(refDx, h.Download(pdx, rows * cols), 2e-4, 1e-3, "dx");
        AssertClose(refDg, h.Download(pdgamma, cols), 1e-4, 1e-4, "dgamma");
        AssertClose(refDb, h.Download(pdbeta, cols), 1e-4, 1e-4, "dbeta");
    }

    [Theory]
    [InlineData("bias_gelu", 7, 61)]
    [InlineData("bias_quick_gelu", 7, 61)]
    [InlineData("bias_gelu", 1, 1)]
    public void Bias_activation_forward_and_backward(string kernel, int rows, int cols)
    {
        using var h = new EmulatorHarness();
        int n = rows * cols;
        var x = Random(n, 5, 5f);
        var bias = Random(cols, 6);
        var dy = Random(n, 7);
        DevicePtr px = h.Upload(x), pb = h.Upload(bias), pdy = h.Upload(dy), py = h.Garbage(n), pdx = h.Garbage(n);
        // A small grid (2 blocks) makes the grid-stride loop take several turns.
        h.Launch("gelu", kernel + "_forward", new Dim3(2), new Dim3(64), py, px, pb, (long)n, cols);
        h.Launch("gelu", kernel + "_backward", new Dim3(2), new Dim3(64), pdx, pdy, px, pb, (long)n, cols);
        var refY = new double[n];
        var refDx = new double[n];
        for (int i = 0; i < n; i++)
        {
            double u = x[i] + (double)bias[i % cols];
            if (kernel == "bias_gelu")
            {
                double cdf = 0.5 * (1 + Float64Math.Erf(u / Math.Sqrt(2)));
                refY[i] = u * cdf;
                refDx[i] = dy[i] * (cdf + u * Math.Exp(-0.5 * u * u) / Math.Sqrt(2 * Math.PI));
            }
            else
            {
                double s = 1 / (1 + Math.Exp(-1.702 * u));
                refY[i] = u * s;
                refDx[i] = dy[i] * (s + 1.702 * u * s * (1 - s));
            }
        }
        // erf fit (1.2e-7 relative on erfc) and ex2.approx (emulated exactly) give ~1e-6; |u| <= 6 scales it.
        AssertClose(refY, h.Download(py, n), 5e-6, 1e-5, kernel + " y");
        AssertClose(refDx, h.Download(pdx, n), 5e-6, 1e-5, kernel + " dx");
    }

    [Theory]
    [InlineData(13, 77, false, false)]
    [InlineData(12, 7, true, false)]
    [InlineData(10, 5, true, true)]
    [InlineData(3, 1, false, false)]
    public void Softmax_forward_and_backward(int rows, int cols, bool causal, bool withMask)
    {
        using var h = new EmulatorHarness();
        int n = rows * cols;
        var x = Random(n, 8, 6f);
        var dy = Random(n, 9);
        const int maskRows = 2;
        var mask = new float[maskRows * cols];
        for (int i = 0; i < mask.Length; i++) mask[i] = i % 3 == 1 ? float.NegativeInfinity : 0.25f * (i % 4);
        int qLen = causal ? Math.Min(rows, cols) : 1;
        DevicePtr px = h.Upload(x), pdy = h.Upload(dy), pmask = withMask ? h.Upload(mask) : DevicePtr.Null;
        DevicePtr py = h.Garbage(n), pdx = h.Garbage(n);
        var grid = new Dim3(Blocks(rows, RowsPerBlock));
        h.Launch("softmax", "softmax_forward", grid, new Dim3(32 * RowsPerBlock), py, px, pmask, maskRows, rows, cols, causal ? 1 : 0, qLen);
        h.Launch("softmax", "softmax_backward", grid, new Dim3(32 * RowsPerBlock), pdx, pdy, py, rows, cols, 0);
        var refY = new double[n];
        var refDx = new double[n];
        for (int r = 0; r < rows; r++)
        {
            int limit = causal ? r % qLen + (cols - qLen) : cols;
            var s = new double[cols];
            double max = double.NegativeInfinity;
            for (int c = 0; c < cols; c++)
            {
                s[c] = c > limit ? double.NegativeInfinity : x[r * cols + c] + (withMask ? mask[r % maskRows * cols + c] : 0);
                max = Math.Max(max, s[c]);
            }
            double sum = 0;
            for (int c = 0; c < cols; c++) sum += double.IsNegativeInfinity(max) ? 0 : Math.Exp(s[c] - max);
            double dot = 0;
            for (int c = 0; c < cols; c++)
            {
                refY[r * cols + c] = double.IsNegativeInfinity(max) ? 0 : Math.Exp(s[c] - max) / sum;
                dot += refY[r * cols + c] * dy[r * cols + c];
            }
            for (int c = 0; c < cols; c++) refDx[r * cols + c] = refY[r * cols + c] * (dy[r * cols + c] - dot);
        }
        // exp of arguments up to ~12 in magnitude in fp32: ~1e-6 relative per term.
        AssertClose(refY, h.Download(py, n), 1e-6, 1e-5, "softmax y");
        AssertClose(refDx, h.Download(pdx, n), 1e-6, 1e-4, "softmax dx");
    }

    [Theory]
    [InlineData(9, 100)]
    [InlineData(2, 1)]
    public void L2norm_forward_and_backward(int rows, int cols)
    {
        using var h = new EmulatorHarness();
        int n = rows * cols;
        var x = Random(n, 10, 2f);
        var dy = Random(n, 11);
        DevicePtr px = h.Upload(x), pdy = h.Upload(dy), py = h.Garbage(n), pnorm = h.Garbage(rows), pdx = h.Garbage(n);
        var grid = new Dim3(Blocks(rows, RowsPerBlock));
        h.Launch("l2norm", "l2norm_forward", grid, new Dim3(32 * RowsPerBlock), py, pnorm, px, rows, cols);
        h.Launch("l2norm", "l2norm_backward", grid, new Dim3(32 * RowsPerBlock), pdx, pdy, py, pnorm, rows, cols, 0);
        var refY = new double[n];
        var refN = new double[rows];
        var refDx = new double[n];
        for (int r = 0; r < rows; r++)
        {
            double ss = 0, dot = 0;
            for (int c = 0; c < cols; c++) ss += (double)x[r * cols + c] * x[r * cols + c];
            double norm = Math.Sqrt(ss);
            refN[r] = norm;
            for (int c = 0; c < cols; c++)
            {
                refY[r * cols + c] = x[r * cols + c] / norm;
                dot += dy[r * cols + c] * refY[r * cols + c];
            }
            for (int c = 0; c < cols; c++) refDx[r * cols + c] = (dy[r * cols + c] - refY[r * cols + c] * dot) / norm;
        }
        // fp32 sum of squares over <= 100 terms: ~1e-6 relative.
        AssertClose(refY, h.Download(py, n), 1e-6, 1e-5, "l2norm y");
        AssertClose(refN, h.Download(pnorm, rows), 1e-6, 1e-5, "l2norm norm");
        AssertClose(refDx, h.Download(pdx, n), 1e-5, 1e-4, "l2norm dx");
    }

    [Fact]
    public void Elementwise_kernels_and_reductions()
    {
        using var h = new EmulatorHarness();
        const int n = 1031; // prime, not a multiple of the block
        var a = Random(n, 12);
        var b = Random(n, 13);
        DevicePtr pa = h.Upload(a), pb = h.Upload(b), pout = h.Garbage(n);
        var grid = new Dim3(3);
        var block = new Dim3(256);
        h.Launch("elementwise", "add_f32", grid, block, pout, pa, pb, (long)n);
        AssertClose([.. Enumerable.Range(0, n).Select(i => (double)(a[i] + b[i]))], h.Download(pout, n), 0, 0, "add"); // one fp32 op: exact
        h.Launch("elementwise", "mul_f32", grid, block, pout, pa, pb, (long)n);
        AssertClose([.. Enumerable.Range(0, n).Select(i => (double)(a[i] * b[i]))], h.Download(pout, n), 0, 0, "mul");
        h.Launch("elementwise", "scale_f32", grid, block, pout, pa, 0.37f, (long)n);
        AssertClose([.. Enumerable.Range(0, n).Select(i => (double)(0.37f * a[i]))], h.Download(pout, n), 0, 0, "scale");
        h.Launch("elementwise", "fill_f32", grid, block, pout, -2.5f, (long)n);
        AssertClose([.. Enumerable.Repeat(-2.5, n)], h.Download(pout, n), 0, 0, "fill");

        const int rows = 11, cols = 97;
        var x = Random(rows * cols, 14);
        DevicePtr px = h.Upload(x), prow = h.Upload(Enumerable.Repeat(1f, rows).ToArray());
        // One block of 96 threads (3 warps) per row; dynamic shared holds the 3 warp partials. accumulate=1 adds to 1.
        h.LaunchShared("elementwise", "row_sum", new Dim3(rows), new Dim3(96), 3 * 4, prow, px, rows, cols, 1);
        var refRow = new double[rows];
        var refCol = new double[cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) { refRow[r] += x[r * cols + c]; refCol[c] += x[r * cols + c]; }
        // fp32 sums of 97 values in [-1, 1]: error ~1e-6.
        AssertClose([.. refRow.Select(v => v + 1)], h.Download(prow, rows), 1e-5, 1e-6, "row_sum");
        const int chunkRows = 4, chunks = 3;
        DevicePtr scratch = h.Garbage(chunks * cols), pcol = h.Garbage(cols);
        h.Launch("elementwise", "column_sum_partial", new Dim3(1, chunks), new Dim3(128), scratch, px, rows, cols, chunkRows);
        h.Launch("elementwise", "column_sum_final", new Dim3(1), new Dim3(128), pcol, scratch, chunks, cols, 0);
        AssertClose(refCol, h.Download(pcol, cols), 1e-5, 1e-6, "column_sum");
    }

    [Theory]
    [InlineData(64, 96, 80, 0, 0, 1)]
    [InlineData(37, 19, 53, 1, 0, 1)]
    [InlineData(5, 70, 17, 0, 1, 1)]
    [InlineData(17, 13, 1, 1, 1, 3)]
    [InlineData(1, 1, 1, 0, 0, 1)]
    public void Gemm_matches_reference(int m, int n, int k, int transA, int transB, int batch)
    {
        using var h = new EmulatorHarness();
        int lda = transA == 0 ? k + 1 : m + 2, ldb = transB == 0 ? n : k + 3, ldc = n + 1; // padded leading dims
        long strideA = (long)(transA == 0 ? m : k) * lda, strideB = (long)(transB == 0 ? k : n) * ldb, strideC = (long)m * ldc;
        var a = Random((int)(strideA * batch), 15);
        var b = Random((int)(strideB * batch), 16);
        var c0 = Random((int)(strideC * batch), 17);
        const float alpha = 0.75f, beta = -0.5f;
        DevicePtr pa = h.Upload(a), pb = h.Upload(b), pc = h.Upload(c0);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        long before = h.Gpu.WarpInstructionsExecuted;
        h.Launch("gemm", "gemm_f32", new Dim3(Blocks(n, 64), Blocks(m, 64), (uint)batch), new Dim3(256),
                 pc, pa, pb, m, n, k, lda, ldb, ldc, transA, transB, alpha, beta, strideA, strideB, strideC);
        sw.Stop();
        output.WriteLine($"gemm {m}x{n}x{k} batch {batch}: {sw.Elapsed.TotalMilliseconds:F1} ms on the emulator, " +
                         $"{h.Gpu.WarpInstructionsExecuted - before} warp-instructions");
        var expected = new double[strideC * batch];
        for (int z = 0; z < batch; z++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < ldc; j++)
                {
                    long ci = z * strideC + (long)i * ldc + j;
                    if (j >= n) { expected[ci] = c0[ci]; continue; } // padding columns must stay untouched
                    double s = 0;
                    for (int p = 0; p < k; p++)
                    {
                        double av = transA == 0 ? a[z * strideA + (long)i * lda + p] : a[z * strideA + (long)p * lda + i];
                        double bv = transB == 0 ? b[z * strideB + (long)p * ldb + j] : b[z * strideB + (long)j * ldb + p];
                        s += av * bv;
                    }
                    expected[ci] = alpha * s + beta * c0[ci];
                }
        // fp32 fma accumulation over k <= 80 products of values in [-1, 1]: error ~k * 6e-8.
        AssertClose(expected, h.Download(pc, (int)(strideC * batch)), 1e-5, 1e-5, "C");
    }

    [Fact]
    public void Gemm_with_beta_zero_ignores_nan_in_c()
    {
        using var h = new EmulatorHarness();
        const int m = 3, n = 5, k = 4;
        var a = Random(m * k, 18);
        var b = Random(k * n, 19);
        DevicePtr pa = h.Upload(a), pb = h.Upload(b), pc = h.Garbage(m * n);
        h.Launch("gemm", "gemm_f32", new Dim3(1, 1, 1), new Dim3(256), pc, pa, pb, m, n, k, k, n, n, 0, 0, 1f, 0f, 0L, 0L, 0L);
        var expected = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++) expected[i * n + j] += (double)a[i * k + p] * b[p * n + j];
        AssertClose(expected, h.Download(pc, m * n), 1e-6, 1e-6, "C"); // k = 4 fp32 fmas
    }
}
