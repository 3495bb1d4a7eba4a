// GPU elementwise and reduction ops: broadcast binary, unary math and its backward, sums over axes.
namespace VcpNative.Tensors.Cuda;

public sealed partial class GpuBackend
{
    private const int ColumnSumBlock = 128;
    private const int ColumnSumChunkRows = 64;

    /// <inheritdoc/>
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor output)
    {
        var o = Dense(output);
        var n = output.Numel;
        if (n == 0)
        {
            return;
        }
        if (a.DType != DType.F32 || b.DType != DType.F32)
        {
            throw new InvalidOperationException($"binary {op}: operands must be f32 (got {DTypes.Name(a.DType)}, {DTypes.Name(b.DType)})");
        }
        if (a.IsContiguous && b.IsContiguous && op is BinaryOp.Add or BinaryOp.Mul)
        {
            LaunchElementwise("elementwise", op == BinaryOp.Add ? "add_f32" : "mul_f32", n, [o, Ptr(a), Ptr(b), n]);
            return;
        }
        var layout = new StridedLayout(stackalloc int[StridedLayout.MaxRank], stackalloc long[3 * StridedLayout.MaxRank]);
        if (!layout.TryBuild(output.Shape, output.Strides, a.Strides, b.Strides, 3))
        {
            HostBinary(op, a, b, output);
            return;
        }
        var d = layout.Dims;
        var s = layout.Strides;
        // Operand 0 is the contiguous output (merged with the others only to keep its linear order); the kernel
        // writes out[i] directly, so only a's (slots 6..11) and b's (12..17) strides are passed.
        LaunchElementwise("strided", "broadcast_binary_f32", n,
        [
            o, Ptr(a), Ptr(b), n, BinaryCode(op), d[0], d[1], d[2], d[3], d[4], d[5],
            s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13], s[14], s[15], s[16], s[17],
        ]);
    }

    private static int BinaryCode(BinaryOp op) => op switch
    {
        BinaryOp.Add => 0,
        BinaryOp.Sub => 1,
        BinaryOp.Mul => 2,
        BinaryOp.Div => 3,
        BinaryOp.Max => 4,
        BinaryOp.Min => 5,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>Op code of unary_f32 / unary_backward_f32 (kernels/unary.cu), or -1 for ops with their own kernel.</summary>
    private static int UnaryCode(UnaryOp op) => op switch
    {
        UnaryOp.Neg => 0,
        UnaryOp.Exp => 1,
        UnaryOp.Log => 2,
        UnaryOp.Sqrt => 3,
        UnaryOp.Abs => 4,
        UnaryOp.Square => 5,
        UnaryOp.Relu => 6,
        UnaryOp.Sigmoid => 7,
        UnaryOp.Tanh => 8,
        UnaryOp.AddScalar => 9,
        UnaryOp.PowScalar => 10,
        UnaryOp.Gelu or UnaryOp.QuickGelu or UnaryOp.Scale => -1,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <inheritdoc/>
    public void Unary(UnaryOp op, Tensor x, Tensor y, float alpha)
    {
        var n = x.Numel;
        DevicePtr xp = Dense(x), yp = Dense(y);
        switch (op)
        {
            case UnaryOp.Scale:
                LaunchElementwise("elementwise", "scale_f32", n, [yp, xp, alpha, n]);
                break;
            case UnaryOp.Gelu:
            case UnaryOp.QuickGelu:
                // The bias-fused activation kernels with no bias (cols = 1 only feeds the unused bias index).
                LaunchElementwise("gelu", op == UnaryOp.Gelu ? "bias_gelu_forward" : "bias_quick_gelu_forward", n, [yp, xp, DevicePtr.Null, n, 1]);
                break;
            default:
                LaunchElementwise("unary", "unary_f32", n, [yp, xp, n, UnaryCode(op), alpha]);
                break;
        }
    }

    /// <inheritdoc/>
    public void UnaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx, float alpha)
    {
        var n = x.Numel;
        DevicePtr xp = Dense(x), yp = Dense(y), gyp = Dense(gy), gxp = Dense(gx);
        switch (op)
        {
            case UnaryOp.Scale:
                LaunchElementwise("elementwise", "scale_f32", n, [gxp, gyp, alpha, n]);
                break;
            case UnaryOp.Gelu:
            case UnaryOp.QuickGelu:
                LaunchElementwise("gelu", op == UnaryOp.Gelu ? "bias_gelu_backward" : "bias_quick_gelu_backward", n, [gxp, gyp, xp, DevicePtr.Null, n, 1]);
                break;
            default:
                LaunchElementwise("unary", "unary_backward_f32", n, [gxp, gyp, xp, yp, n, UnaryCode(op), alpha]);
                break;
        }
    }

    /// <inheritdoc/>
    public void SumTo(Tensor x, Tensor y)
    {
        if (x.Rank != y.Rank)
        {
            throw new ShapeMismatchException("sum_to", x.Shape, y.Shape, "ranks differ");
        }
        DevicePtr xp = Dense(x), yp = Dense(y);
        if (y.Numel == 0)
        {
            return;
        }
        if (x.Numel == 0)
        {
            Fill(y, 0f);
            return;
        }
        // Group the axes of x into alternating runs of kept and reduced axes (size-1 axes of x vanish).
        Span<long> runSize = stackalloc long[Math.Max(1, x.Rank)];
        Span<bool> runReduced = stackalloc bool[Math.Max(1, x.Rank)];
        var runs = 0;
        for (var d = 0; d < x.Rank; d++)
        {
            if (x.Shape[d] == 1)
            {
                continue;
            }
            var reduced = y.Shape[d] == 1;
            if (runs > 0 && runReduced[runs - 1] == reduced)
            {
                runSize[runs - 1] *= x.Shape[d];
                continue;
            }
            runSize[runs] = x.Shape[d];
            runReduced[runs] = reduced;
            runs++;
        }
        if (runs == 0 || (runs == 1 && !runReduced[0]))
        {
            Driver.CopyDeviceToDevice(yp, xp, y.Numel * sizeof(float));
            return;
        }
        if (runs <= 2 && runReduced[runs - 1] && runSize[runs - 1] <= int.MaxValue)
        {
            // [rows, R] -> [rows]: one block per row, warp shuffles then shared memory (row_sum).
            var rows = runs == 1 ? 1 : (int)runSize[0];
            var cols = (int)runSize[runs - 1];
            var threads = cols >= 256 ? 256 : Math.Max(32, (cols + 31) / 32 * 32);
            Driver.Launch(Kernel("elementwise", "row_sum"), new Dim3((uint)rows), new Dim3((uint)threads), threads / 32 * sizeof(float),
                [yp, xp, rows, cols, 0]);
            return;
        }
        if (runs == 2 && runReduced[0] && runSize[0] <= int.MaxValue && runSize[1] <= int.MaxValue)
        {
            ColumnSum(yp, xp, (int)runSize[0], (int)runSize[1]);
            return;
        }
        GeneralSum(x, y);
    }

    /// <summary>y[c] = Σ_r x[r, c] without atomics: per-chunk partial sums, then a fixed-order sum over chunks.</summary>
    private void ColumnSum(DevicePtr y, DevicePtr x, int rows, int cols)
    {
        var chunkRows = Math.Max(ColumnSumChunkRows, (rows + MaxGridX - 1) / MaxGridX);
        var chunks = (rows + chunkRows - 1) / chunkRows;
        var scratchBytes = (long)chunks * cols * sizeof(float);
        var scratch = Pool.Rent(scratchBytes);
        try
        {
            var colBlocks = (uint)((cols + ColumnSumBlock - 1) / ColumnSumBlock);
            Driver.Launch(Kernel("elementwise", "column_sum_partial"), new Dim3(colBlocks, (uint)chunks), new Dim3(ColumnSumBlock), 0,
                [scratch, x, rows, cols, chunkRows]);
            Driver.Launch(Kernel("elementwise", "column_sum_final"), new Dim3(colBlocks), new Dim3(ColumnSumBlock), 0,
                [y, scratch, chunks, cols, 0]);
        }
        finally
        {
            Pool.Return(scratch, scratchBytes);
        }
    }

    /// <summary>Any kept/reduced axis pattern: sum_axes_f32, one thread per output with an fp64 accumulator.</summary>
    private void GeneralSum(Tensor x, Tensor y)
    {
        var xStrides = x.Strides;
        Span<int> keptShape = stackalloc int[x.Rank];
        Span<int> reducedShape = stackalloc int[x.Rank];
        Span<long> keptStrides = stackalloc long[x.Rank];
        Span<long> reducedStrides = stackalloc long[x.Rank];
        for (var d = 0; d < x.Rank; d++)
        {
            var reduced = y.Shape[d] == 1;
            keptShape[d] = reduced ? 1 : x.Shape[d];
            reducedShape[d] = reduced ? x.Shape[d] : 1;
            keptStrides[d] = reduced ? 0 : xStrides[d];
            reducedStrides[d] = reduced ? xStrides[d] : 0;
        }
        var kept = new StridedLayout(stackalloc int[StridedLayout.MaxRank], stackalloc long[3 * StridedLayout.MaxRank]);
        var red = new StridedLayout(stackalloc int[StridedLayout.MaxRank], stackalloc long[3 * StridedLayout.MaxRank]);
        if (!kept.TryBuild(keptShape, keptStrides, default, default, 1) || !red.TryBuild(reducedShape, reducedStrides, default, default, 1))
        {
            HostSumTo(x, y);
            return;
        }
        long ny = y.Numel, nr = x.Numel / y.Numel;
        Span<int> k = kept.Dims, r = red.Dims;
        Span<long> ks = kept.Strides, rs = red.Strides;
        LaunchElementwise("strided", "sum_axes_f32", ny,
        [
            Dense(y), Dense(x), ny, nr, k[0], k[1], k[2], k[3], k[4], k[5], ks[0], ks[1], ks[2], ks[3], ks[4], ks[5],
            r[0], r[1], r[2], r[3], r[4], r[5], rs[0], rs[1], rs[2], rs[3], rs[4], rs[5],
        ]);
    }
}
