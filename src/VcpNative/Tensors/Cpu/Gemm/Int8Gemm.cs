// The int8 linear layer y = act(x W^T + b): dynamic per-token int8 activations, per-channel int8 weights, int32 sums.
//
// One call: (1) per-channel max |x| over the call's tokens picks the outlier input channels (Int8OutlierPolicy);
// (2) every token (row of x) is quantised symmetrically without its outlier channels with the kernel's L levels
// (Int8Kernel.ActivationLevels: 127, or 63 for avx2u7): s = max|x| / L, q = round_half_even(x * L / max|x|) in
// [-L, L], stored as the byte q + the kernel's bias (128 for VNNI, 64 for avx2u7, else 0); (3) the outlier channels,
// if any, go through an fp32 sgemm with their weight columns (f32 when kept, else dequantised), written into y;
// (4) tiles of RowBlock x ColBlock outputs, split over the thread pool, accumulate A x B in int32 through the kernel
// (depth in DepthBlock slices, so a weight panel slice stays in L1 and the activation block in L2), then the epilogue
// writes y = act(y_outliers + s_x[row] * s_w[col] * (acc - bias * colsum_w[col]) + bias_y). Results do not depend on
// the thread count; they do depend on the kernel's L (AVX2-only and AVX-VNNI machines differ).
using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VcpNative.Tensors.Cpu;

/// <summary>Int8 x int8 -> int32 products with f32 epilogue, over an <see cref="Int8PackedWeight"/>.</summary>
internal static unsafe class Int8Gemm
{
    /// <summary>Output rows per tile at most; a tile is the largest multiple of the kernel's Mr that fits (72 for Mr 4 and 6).</summary>
    internal const int RowBlock = 72;

    /// <summary>Output columns per tile (16 panels).</summary>
    internal const int ColBlock = 256;

    /// <summary>Bytes of depth per pass over a tile: 16 KB of weight panel, 72 KB of activations.</summary>
    internal const int DepthBlock = 1024;

    /// <summary>Name of the kernel <see cref="Linear"/> uses by default.</summary>
    public static string KernelName => Int8Kernel.Default.Name;

    /// <summary>y[m, N] = act(x[m, K] W^T + bias) through int8 (see the file header); x, y row-major with ldx, ldy.</summary>
    public static void Linear(Int8Kernel kernel, int m, float* x, int ldx, Int8PackedWeight w, float* bias, GemmEpilogue epilogue, float* y, int ldy)
    {
        if (m == 0 || w.N == 0)
        {
            return;
        }
        using var task = new Int8GemmTask(kernel, m, w);
        task.QuantizeActivations(x, ldx, w.Outliers);
        if (task.OutlierCount > 0)
        {
            task.OutlierProduct(x, ldx, y, ldy);
        }
        task.Y = y;
        task.Ldy = ldy;
        task.Bias = bias;
        task.Epilogue = epilogue;
        task.Multiply();
    }

    /// <summary>
    /// C[m, N] = A W^T exactly in int32 for quantised activations A [m, K] (s8 in the kernel's [-L, L], row-major; out of
    /// range throws): the path the tests compare against a scalar reference for every kernel.
    /// </summary>
    internal static void MultiplyInt32(Int8Kernel kernel, int m, ReadOnlySpan<sbyte> a, Int8PackedWeight w, Span<int> c)
    {
        if (m == 0 || w.N == 0)
        {
            return;
        }
        using var task = new Int8GemmTask(kernel, m, w);
        task.LoadQuantized(a);
        fixed (int* pc = c)
        {
            task.Int32Output = pc;
            task.Multiply();
        }
    }

    /// <summary>Per-token quantisation of <paramref name="x"/> [m, k] as <see cref="Linear"/> does it (no outliers): q and scales.</summary>
    internal static void QuantizeRows(ReadOnlySpan<float> x, int m, int k, int levels, Span<sbyte> q, Span<float> scales)
    {
        for (var r = 0; r < m; r++)
        {
            fixed (sbyte* dst = q.Slice(r * k, k))
            {
                scales[r] = QuantizeRow(x.Slice(r * k, k), (byte*)dst, levels, bias: 0);
            }
        }
    }

    /// <summary>
    /// Quantises one row to q in [-levels, levels], stored in <paramref name="dst"/> as the byte q + bias (bias 0: s8;
    /// 128: u8 for vpdpbusd; 64 with levels 63: u7 for vpmaddubsw); returns its scale max|x| / levels.
    /// </summary>
    internal static float QuantizeRow(ReadOnlySpan<float> row, byte* dst, int levels, int bias)
    {
        var max = row.Length == 0 ? 0f : MathF.Abs(TensorPrimitives.MaxMagnitude(row));
        if (!float.IsFinite(max))
        {
            throw new ArgumentException($"int8 linear: a token holds {max}: cannot quantise a non-finite activation");
        }
        var inv = max > 0f ? levels / max : 0f;
        var offset = (byte)bias;
        var i = 0;
        fixed (float* src = row)
        {
            if (Avx2.IsSupported)
            {
                // cvtps2dq rounds half to even under the default MXCSR, as MathF.Round does below; |x * inv| <= levels
                // + rounding, so the truncating narrows keep q, and the byte add wraps q + bias as the scalar tail does.
                var vinv = Vector256.Create(inv);
                var voffset = Vector256.Create(offset);
                for (; i + 32 <= row.Length; i += 32)
                {
                    var q0 = Avx.ConvertToVector256Int32(Avx.LoadVector256(src + i) * vinv);
                    var q1 = Avx.ConvertToVector256Int32(Avx.LoadVector256(src + i + 8) * vinv);
                    var q2 = Avx.ConvertToVector256Int32(Avx.LoadVector256(src + i + 16) * vinv);
                    var q3 = Avx.ConvertToVector256Int32(Avx.LoadVector256(src + i + 24) * vinv);
                    var bytes = Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3)).AsByte() + voffset;
                    bytes.Store(dst + i);
                }
            }
            for (; i < row.Length; i++)
            {
                var q = (int)MathF.Round(src[i] * inv);
                dst[i] = (byte)(Math.Clamp(q, -levels, levels) + bias);
            }
        }
        return max / levels;
    }

    /// <summary>One call's buffers and its parallel loop body (phase 0: quantise rows; phase 1: output tiles).</summary>
    private sealed class Int8GemmTask : IParallelLoopBody, IDisposable
    {
        private readonly Int8Kernel kernel;
        private readonly int m;
        private readonly Int8PackedWeight w;
        private readonly byte[] a;
        private readonly float[] rowScales;
        private readonly int tilesN;
        private readonly int rowBlock;
        private int phase;
        private float* x;
        private int ldx;
        private int[]? outliers;
        private bool[]? isOutlier;
        private float[]? columnMax;

        // Columns per work item of the outlier search's column maxima (a 1 KB slice of every row).
        private const int ColumnMaxChunk = 256;

        public Int8GemmTask(Int8Kernel kernel, int m, Int8PackedWeight w)
        {
            this.kernel = kernel;
            this.m = m;
            this.w = w;
            rowBlock = RowBlock / kernel.Mr * kernel.Mr;
            // Rows padded to a whole tile height: the kernels always run Mr rows, the epilogue writes the real ones.
            var rowsPadded = (m + rowBlock - 1) / rowBlock * rowBlock;
            a = ArrayPool<byte>.Shared.Rent(rowsPadded * w.KPadded);
            rowScales = ArrayPool<float>.Shared.Rent(m);
            tilesN = (w.N + ColBlock - 1) / ColBlock;
        }

        public int OutlierCount { get; private set; }

        public float* Y;
        public int Ldy;
        public float* Bias;
        public GemmEpilogue Epilogue;
        public int* Int32Output;

        private int TilesM => (m + rowBlock - 1) / rowBlock;

        public void LoadQuantized(ReadOnlySpan<sbyte> q)
        {
            var k = w.K;
            var levels = kernel.ActivationLevels;
            var pad = (byte)kernel.ActivationBias;
            Array.Clear(a);
            for (var r = 0; r < m; r++)
            {
                for (var c = 0; c < k; c++)
                {
                    var v = q[(r * k) + c];
                    if (v < -levels || v > levels)
                    {
                        throw new ArgumentException($"{kernel.Name} takes activations in [-{levels}, {levels}]; q[{r}, {c}] = {v}");
                    }
                    a[(r * w.KPadded) + c] = (byte)(v + kernel.ActivationBias);
                }
                for (var c = k; c < w.KPadded; c++)
                {
                    a[(r * w.KPadded) + c] = pad;
                }
            }
        }

        public void QuantizeActivations(float* x, int ldx, Int8OutlierPolicy policy)
        {
            this.x = x;
            this.ldx = ldx;
            if (float.IsFinite(policy.Ratio) && policy.MaxFraction > 0f)
            {
                FindOutliers(policy);
            }
            phase = 0;
            CpuParallel.For(m, this);
        }

        private void FindOutliers(Int8OutlierPolicy policy)
        {
            var k = w.K;
            var colMax = ArrayPool<float>.Shared.Rent(k);
            var sorted = ArrayPool<float>.Shared.Rent(k);
            try
            {
                var max = colMax.AsSpan(0, k);
                // Column maxima over the call's tokens, in column chunks over the threads (each chunk reads every row).
                columnMax = colMax;
                phase = 2;
                CpuParallel.For((k + ColumnMaxChunk - 1) / ColumnMaxChunk, this);
                columnMax = null;
                var order = sorted.AsSpan(0, k);
                max.CopyTo(order);
                order.Sort();
                var threshold = policy.Ratio * order[k / 2];
                var limit = (int)(policy.MaxFraction * k);
                var count = 0;
                for (var c = 0; c < k; c++)
                {
                    count += max[c] > threshold ? 1 : 0;
                }
                if (count > limit)
                {
                    // Keep the largest `limit` channels: raise the threshold to the limit-th largest maximum.
                    threshold = limit == 0 ? float.PositiveInfinity : order[k - limit - 1];
                }
                var list = new List<int>();
                for (var c = 0; c < k && list.Count < Math.Max(limit, 0); c++)
                {
                    if (max[c] > threshold)
                    {
                        list.Add(c);
                    }
                }
                if (list.Count > 0)
                {
                    outliers = [.. list];
                    isOutlier = new bool[k];
                    foreach (var c in outliers)
                    {
                        isOutlier[c] = true;
                    }
                    OutlierCount = outliers.Length;
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(colMax);
                ArrayPool<float>.Shared.Return(sorted);
            }
        }

        /// <summary>y = x[:, outliers] W[:, outliers]^T in fp32, with the f32 weights when kept (the epilogue adds the int8 part).</summary>
        public void OutlierProduct(float* x, int ldx, float* y, int ldy)
        {
            var count = OutlierCount;
            var xo = ArrayPool<float>.Shared.Rent(m * count);
            var wo = ArrayPool<float>.Shared.Rent(w.N * count);
            try
            {
                OutlierProduct(x, ldx, y, ldy, xo, wo);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(xo);
                ArrayPool<float>.Shared.Return(wo);
            }
        }

        private void OutlierProduct(float* x, int ldx, float* y, int ldy, float[] xo, float[] wo)
        {
            var count = OutlierCount;
            for (var r = 0; r < m; r++)
            {
                for (var j = 0; j < count; j++)
                {
                    xo[(r * count) + j] = x[((long)r * ldx) + outliers![j]];
                }
            }
            for (var n = 0; n < w.N; n++)
            {
                for (var j = 0; j < count; j++)
                {
                    wo[(n * count) + j] = w.Weight(n, outliers![j]);
                }
            }
            fixed (float* pxo = xo, pwo = wo)
            {
                Sgemm.Multiply(false, true, m, w.N, count, 1f, pxo, count, pwo, count, 0f, y, ldy);
            }
        }

        public void Multiply()
        {
            phase = 1;
            CpuParallel.For(TilesM * tilesN, this);
        }

        public void Run(int index)
        {
            switch (phase)
            {
                case 0:
                    QuantizeToken(index);
                    break;
                case 1:
                    Tile(index / tilesN, index % tilesN);
                    break;
                default:
                    ColumnMax(index);
                    break;
            }
        }

        /// <summary>columnMax[c] = max over rows of |x[r, c]| for the columns of chunk <paramref name="chunk"/>.</summary>
        private void ColumnMax(int chunk)
        {
            var c0 = chunk * ColumnMaxChunk;
            var width = Math.Min(ColumnMaxChunk, w.K - c0);
            var max = columnMax!.AsSpan(c0, width);
            max.Clear();
            for (var r = 0; r < m; r++)
            {
                TensorPrimitives.MaxMagnitude(max, new ReadOnlySpan<float>(x + ((long)r * ldx) + c0, width), max);
            }
            TensorPrimitives.Abs(max, max);
        }

        private void QuantizeToken(int r)
        {
            var k = w.K;
            var row = new ReadOnlySpan<float>(x + ((long)r * ldx), k);
            float[]? masked = null;
            if (isOutlier is not null)
            {
                masked = ArrayPool<float>.Shared.Rent(k);
                row.CopyTo(masked);
                foreach (var c in outliers!)
                {
                    masked[c] = 0f;
                }
                row = masked.AsSpan(0, k);
            }
            fixed (byte* dst = &a[r * w.KPadded])
            {
                rowScales[r] = QuantizeRow(row, dst, kernel.ActivationLevels, kernel.ActivationBias);
                // Padding is q = 0, stored biased like every other activation byte (the correction covers it).
                var pad = (byte)kernel.ActivationBias;
                for (var c = k; c < w.KPadded; c++)
                {
                    dst[c] = pad;
                }
            }
            if (masked is not null)
            {
                ArrayPool<float>.Shared.Return(masked);
            }
        }

        private void Tile(int tm, int tn)
        {
            var r0 = tm * rowBlock;
            var rows = Math.Min(rowBlock, m - r0);
            var mr = kernel.Mr;
            var rowsPadded = (rows + mr - 1) / mr * mr;
            var c0 = tn * ColBlock;
            var cols = Math.Min(ColBlock, w.N - c0);
            var p0 = c0 / Int8Kernel.PanelWidth;
            var panels = (cols + Int8Kernel.PanelWidth - 1) / Int8Kernel.PanelWidth;
            var kp = w.KPadded;
            var panelBytes = (long)kp * Int8Kernel.PanelWidth;
            var scratch = ArrayPool<int>.Shared.Rent(RowBlock * ColBlock);
            try
            {
                fixed (byte* pa = a)
                fixed (sbyte* pb = w.Panels)
                fixed (int* pc = scratch)
                {
                    var run = kernel.Run;
                    for (var kb = 0; kb < kp; kb += DepthBlock)
                    {
                        var groups = Math.Min(DepthBlock, kp - kb) / 4;
                        for (var p = 0; p < panels; p++)
                        {
                            var panel = pb + ((p0 + p) * panelBytes) + ((long)kb * Int8Kernel.PanelWidth);
                            for (var i = 0; i < rowsPadded; i += mr)
                            {
                                run(pa + ((long)(r0 + i) * kp) + kb, kp, panel, groups, pc + (i * ColBlock) + (p * Int8Kernel.PanelWidth), ColBlock, kb > 0);
                            }
                        }
                    }
                    if (Int32Output != null)
                    {
                        WriteInt32(pc, r0, rows, c0, cols);
                    }
                    else
                    {
                        WriteFloat(pc, r0, rows, c0, cols);
                    }
                }
            }
            finally
            {
                ArrayPool<int>.Shared.Return(scratch);
            }
        }

        private void WriteInt32(int* acc, int r0, int rows, int c0, int cols)
        {
            var correction = kernel.ActivationBias;
            for (var i = 0; i < rows; i++)
            {
                for (var j = 0; j < cols; j++)
                {
                    Int32Output[((long)(r0 + i) * w.N) + c0 + j] = acc[(i * ColBlock) + j] - (correction * w.ColumnSums[c0 + j]);
                }
            }
        }

        /// <summary>y = act(y_outliers + s_x * s_w * (acc - correction) + bias) on the tile.</summary>
        private void WriteFloat(int* acc, int r0, int rows, int c0, int cols)
        {
            var correction = kernel.ActivationBias;
            var side = OutlierCount > 0;
            fixed (float* sw = w.Scales)
            fixed (int* sums = w.ColumnSums)
            {
                for (var i = 0; i < rows; i++)
                {
                    var sx = rowScales[r0 + i];
                    var src = acc + (i * ColBlock);
                    var dst = Y + ((long)(r0 + i) * Ldy) + c0;
                    var j = 0;
                    if (Vector256.IsHardwareAccelerated)
                    {
                        var vsx = Vector256.Create(sx);
                        var vcorr = Vector256.Create(correction);
                        for (; j + 8 <= cols; j += 8)
                        {
                            var q = Vector256.Load(src + j) - (vcorr * Vector256.Load(sums + c0 + j));
                            var v = Vector256.ConvertToSingle(q) * (vsx * Vector256.Load(sw + c0 + j));
                            if (side)
                            {
                                v += Vector256.Load(dst + j);
                            }
                            if (Bias != null)
                            {
                                v += Vector256.Load(Bias + c0 + j);
                            }
                            v.Store(dst + j);
                        }
                    }
                    for (; j < cols; j++)
                    {
                        var q = src[j] - (correction * sums[c0 + j]);
                        var v = q * (sx * sw[c0 + j]);
                        if (side)
                        {
                            v += dst[j];
                        }
                        if (Bias != null)
                        {
                            v += Bias[c0 + j];
                        }
                        dst[j] = v;
                    }
                    var span = new Span<float>(dst, cols);
                    switch (Epilogue)
                    {
                        case GemmEpilogue.Gelu:
                            Activations.Gelu(span, span);
                            break;
                        case GemmEpilogue.QuickGelu:
                            Activations.QuickGelu(span, span);
                            break;
                    }
                }
            }
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(a);
            ArrayPool<float>.Shared.Return(rowScales);
        }
    }
}
