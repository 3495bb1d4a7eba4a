// GPU row-wise normalisations on the shipped kernels: LayerNorm, softmax (mask, causal), L2 normalisation.
namespace VcpNative.Tensors.Cuda;

public sealed partial class GpuBackend
{
    private const int ParamGradChunkRows = 64;

    /// <inheritdoc/>
    public void LayerNormForward(Tensor x, Tensor? gamma, Tensor? beta, float eps, Tensor y, Tensor mean, Tensor rstd)
    {
        var (rows, cols) = RowsCols(x);
        using var g = DenseOrNull(gamma);
        using var b = DenseOrNull(beta);
        LaunchRows("layernorm", "layernorm_forward", rows,
            [Dense(y), Dense(mean), Dense(rstd), Dense(x), PtrOrNull(g ?? gamma), PtrOrNull(b ?? beta), rows, cols, eps]);
    }

    /// <inheritdoc/>
    public void LayerNormBackward(Tensor x, Tensor? gamma, Tensor mean, Tensor rstd, Tensor gy, Tensor? gx, Tensor? gGamma, Tensor? gBeta)
    {
        var (rows, cols) = RowsCols(x);
        if (gx is not null)
        {
            using var g = DenseOrNull(gamma);
            LaunchRows("layernorm", "layernorm_backward_dx", rows,
                [Dense(gx), Dense(gy), Dense(x), PtrOrNull(g ?? gamma), Dense(mean), Dense(rstd), rows, cols, 0]);
        }
        if (gGamma is null && gBeta is null)
        {
            return;
        }
        if (rows == 0)
        {
            if (gGamma is not null) Fill(gGamma, 0f);
            if (gBeta is not null) Fill(gBeta, 0f);
            return;
        }
        // Deterministic parameter gradients: per-chunk partial sums of dy·xhat and dy, then a fixed-order chunk sum.
        var chunkRows = Math.Max(ParamGradChunkRows, (rows + MaxGridX - 1) / MaxGridX);
        var chunks = (rows + chunkRows - 1) / chunkRows;
        var planeBytes = (long)chunks * cols * sizeof(float);
        var scratch = Pool.Rent(2 * planeBytes);
        try
        {
            var colBlocks = (uint)((cols + ColumnSumBlock - 1) / ColumnSumBlock);
            Driver.Launch(Kernel("layernorm", "layernorm_backward_params_partial"), new Dim3(colBlocks, (uint)chunks), new Dim3(ColumnSumBlock), 0,
                [scratch, Dense(gy), Dense(x), Dense(mean), Dense(rstd), rows, cols, chunkRows]);
            var final = Kernel("elementwise", "column_sum_final");
            if (gGamma is not null)
            {
                Driver.Launch(final, new Dim3(colBlocks), new Dim3(ColumnSumBlock), 0, [Dense(gGamma), scratch, chunks, cols, 0]);
            }
            if (gBeta is not null)
            {
                Driver.Launch(final, new Dim3(colBlocks), new Dim3(ColumnSumBlock), 0, [Dense(gBeta), scratch.Offset(planeBytes), chunks, cols, 0]);
            }
        }
        finally
        {
            Pool.Return(scratch, 2 * planeBytes);
        }
    }

    /// <inheritdoc/>
    public void SoftmaxForward(Tensor x, Tensor? mask, bool causal, Tensor y)
    {
        var (rows, cols) = RowsCols(x);
        var queries = x.Rank >= 2 ? x.Shape[^2] : 1;
        if (causal && queries != cols)
        {
            // softmax_forward aligns the causal diagonal bottom-right when keys outnumber queries; ours is top-left.
            HostSoftmaxForward(x, mask, causal, y);
            return;
        }
        if (rows == 0 || cols == 0)
        {
            return;
        }
        Tensor? denseMask = null;
        try
        {
            var maskPtr = DevicePtr.Null;
            var maskRows = 1;
            if (mask is not null)
            {
                if (!TryPeriodicRows(mask, out maskRows))
                {
                    // The kernel reads mask[(row % maskRows) * cols + c]; other broadcast patterns are made dense first.
                    denseMask = Tensor.Empty(mask.Shape, DType.F32, this);
                    Copy(mask, denseMask);
                    maskRows = rows;
                }
                maskPtr = Ptr(denseMask ?? mask);
            }
            LaunchRows("softmax", "softmax_forward", rows, [Dense(y), Dense(x), maskPtr, maskRows, rows, cols, causal ? 1 : 0, queries]);
        }
        finally
        {
            denseMask?.Dispose();
        }
    }

    /// <summary>
    /// Whether the mask view is a dense [maskRows, cols] block repeated over its leading axes (stride 0 there),
    /// e.g. an [L, L] attention mask broadcast over batch and heads.
    /// </summary>
    private static bool TryPeriodicRows(Tensor mask, out int maskRows)
    {
        maskRows = 1;
        if (mask.DType != DType.F32)
        {
            return false;
        }
        long expected = 1;
        var d = mask.Rank - 1;
        for (; d >= 0; d--)
        {
            if (mask.Shape[d] != 1 && mask.Strides[d] != expected)
            {
                break;
            }
            expected *= mask.Shape[d];
        }
        for (var o = d; o >= 0; o--)
        {
            if (mask.Shape[o] != 1 && mask.Strides[o] != 0)
            {
                return false;
            }
        }
        var cols = mask.Rank == 0 ? 1 : mask.Shape[^1];
        if (d == mask.Rank - 1 && cols > 1)
        {
            return false; // the last axis itself is broadcast or strided
        }
        maskRows = (int)Math.Max(1, expected / Math.Max(1, cols));
        return true;
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(Tensor y, Tensor gy, Tensor gx)
    {
        var (rows, cols) = RowsCols(y);
        LaunchRows("softmax", "softmax_backward", rows, [Dense(gx), Dense(gy), Dense(y), rows, cols, 0]);
    }

    /// <inheritdoc/>
    public void L2NormalizeForward(Tensor x, Tensor y, Tensor norm)
    {
        var (rows, cols) = RowsCols(x);
        LaunchRows("l2norm", "l2norm_forward", rows, [Dense(y), Dense(norm), Dense(x), rows, cols]);
    }

    /// <inheritdoc/>
    public void L2NormalizeBackward(Tensor y, Tensor norm, Tensor gy, Tensor gx)
    {
        var (rows, cols) = RowsCols(y);
        if (rows == 0 || cols == 0)
        {
            return;
        }
        LaunchRows("l2norm", "l2norm_backward", rows, [Dense(gx), Dense(gy), Dense(y), Dense(norm), rows, cols, 0]);
    }

    /// <summary>A dense copy of an optional parameter vector that is not already dense F32, else null (use it as is).</summary>
    private Tensor? DenseOrNull(Tensor? t)
    {
        if (t is null || (t.DType == DType.F32 && t.IsContiguous))
        {
            return null;
        }
        var d = Tensor.Empty(t.Shape, DType.F32, this);
        Copy(t, d);
        return d;
    }
}
