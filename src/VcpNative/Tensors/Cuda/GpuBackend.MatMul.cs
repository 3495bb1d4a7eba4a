// GPU batched matmul: cuBLAS GemmStridedBatched on a real GPU, our gemm_f32 kernel elsewhere (and on the emulator),
// or, when MatMulPrecision asks for bf16, cuBLAS with bf16 inputs on a real GPU and our tensor-core kernel gemm_tc_bf16
// elsewhere or without cuBLAS (gemm_tc_bf16_wb16 when B is a BF16 tensor).
using VcpNative.Tensors.Cuda.Driver;

namespace VcpNative.Tensors.Cuda;

/// <summary>Arithmetic of GPU matmuls.</summary>
public enum MatMulPrecision
{
    /// <summary>fp32 inputs and accumulation: cuBLAS FP32 on a real GPU, the SIMT gemm_f32 kernel otherwise.</summary>
    Fp32,
    /// <summary>Inputs rounded to bf16, fp32 accumulation on tensor cores (gemm_tc_bf16, mma.sync.m16n8k16): ~3 significant digits.</summary>
    Bf16TensorCores,
}

public sealed partial class GpuBackend
{
    private const int GemmTile = 64;
    private const int MaxGridZ = 65535;

    /// <summary>How MatMul (and the tiled attention forward) computes; <see cref="MatMulPrecision.Fp32"/> unless a caller trades accuracy for tensor cores.</summary>
    public MatMulPrecision MatMulPrecision { get; set; } = MatMulPrecision.Fp32;

    /// <inheritdoc/>
    public void MatMul(Tensor a, bool transA, Tensor b, bool transB, Tensor c, float alpha, float beta)
    {
        var (m, k) = transA ? (a.Shape[^1], a.Shape[^2]) : (a.Shape[^2], a.Shape[^1]);
        var n = transB ? b.Shape[^2] : b.Shape[^1];
        var cp = Dense(c);
        var batchShape = c.ShapeArray.AsSpan(0, c.Rank - 2);
        var batches = (int)Shapes.Numel(batchShape);
        if (m == 0 || n == 0 || batches == 0)
        {
            return;
        }
        // A BF16 B (a weight kept in bf16) is read as it is by gemm_tc_bf16_wb16 under tensor-core precision; in every
        // other case (fp32 precision, cuBLAS, a BF16 A, a view with no GEMM layout) Prepare widens it to a dense F32
        // copy on the device (widen_bf16_f32), so the result is always right and never takes the host path when dense.
        var aOperand = GemmOperand.Prepare(this, a, transA, batchShape, allowBf16: false);
        var bOperand = GemmOperand.Prepare(this, b, transB, batchShape, allowBf16: ReadsBf16Operand(b));
        try
        {
            Gemm(aOperand, bOperand, m, n, k, alpha, beta, cp, (long)m * n, batches);
        }
        finally
        {
            aOperand.Copy?.Dispose();
            bOperand.Copy?.Dispose();
        }
    }

    private void Gemm(GemmOperand a, GemmOperand b, int m, int n, int k, float alpha, float beta, DevicePtr c, long strideC, int batches)
    {
        var tensorCores = MatMulPrecision == MatMulPrecision.Bf16TensorCores;
        if (b.Bf16 && !tensorCores)
        {
            throw new InvalidOperationException("gemm: a bf16 B operand needs MatMulPrecision.Bf16TensorCores");
        }
        // cuBLAS runs in the calling thread's current context (a server calls from worker threads).
        if (cublas is not null)
        {
            Driver.BindToCallingThread();
        }
        if (cublas is not null && !tensorCores)
        {
            cublas.GemmStridedBatched(a.Trans, b.Trans, m, n, k, alpha, a.Pointer, GemmDataType.Float32, a.Ld, a.BatchStride,
                b.Pointer, GemmDataType.Float32, b.Ld, b.BatchStride, beta, c, GemmDataType.Float32, n, strideC, batches, GemmCompute.Float32);
            return;
        }
        if (cublas is not null)
        {
            // bf16 precision with cuBLAS: the same arithmetic as gemm_tc (inputs rounded to bf16 to nearest even, fp32
            // accumulation and output) at cuBLAS's speed. The first H200 check measured gemm_tc at 4-9 % of cuBLAS bf16
            // on the ViT-L shapes (bench/results/h200-2026-12-04.md); --gpu-matmul kernel keeps our kernel.
            var aBf16 = a.Bf16 ? default : Narrow(a, a.Trans ? k : m, a.Trans ? m : k, batches);
            var bBf16 = b.Bf16 ? default : Narrow(b, b.Trans ? n : k, b.Trans ? k : n, batches);
            try
            {
                cublas.GemmStridedBatched(a.Trans, b.Trans, m, n, k, alpha, a.Bf16 ? a.Pointer : aBf16.Pointer, GemmDataType.BFloat16, a.Ld, a.BatchStride,
                    b.Bf16 ? b.Pointer : bBf16.Pointer, GemmDataType.BFloat16, b.Ld, b.BatchStride, beta, c, GemmDataType.Float32, n, strideC,
                    batches, GemmCompute.Float32);
            }
            finally
            {
                // Back to the pool while cuBLAS may still be reading: safe, every later user is queued on the same stream.
                if (aBf16.Bytes > 0) Pool.Return(aBf16.Pointer, aBf16.Bytes);
                if (bBf16.Bytes > 0) Pool.Return(bBf16.Pointer, bBf16.Bytes);
            }
            return;
        }
        // Both kernels tile C in 64 x 64 blocks and take the same arguments; gemm_f32 runs 256 threads, gemm_tc 4 warps.
        var fn = !tensorCores ? Kernel("gemm", "gemm_f32") : b.Bf16 ? Kernel("gemm_tc", "gemm_tc_bf16_wb16") : Kernel("gemm_tc", "gemm_tc_bf16");
        var bElement = b.Bf16 ? sizeof(ushort) : sizeof(float);
        var threads = tensorCores ? 128u : 256u;
        var grid = new Dim3((uint)((n + GemmTile - 1) / GemmTile), (uint)((m + GemmTile - 1) / GemmTile));
        for (var first = 0; first < batches; first += MaxGridZ)
        {
            var count = Math.Min(MaxGridZ, batches - first);
            Driver.Launch(fn, grid with { Z = (uint)count }, new Dim3(threads), 0,
            [
                c.Offset(first * strideC * sizeof(float)), a.Pointer.Offset(first * a.BatchStride * sizeof(float)),
                b.Pointer.Offset(first * b.BatchStride * bElement), m, n, k, a.Ld, b.Ld, n, a.Trans ? 1 : 0, b.Trans ? 1 : 0,
                alpha, beta, a.BatchStride, b.BatchStride, strideC,
            ]);
        }
    }

    /// <summary>
    /// One GEMM operand: a row- or column-major matrix (one unit stride) whose batch matrices sit a uniform stride
    /// apart (0 when broadcast), F32, or BF16 when <c>allowBf16</c> (Bf16: Ld and BatchStride count bf16 elements).
    /// Views that are neither are first copied to a dense F32 tensor of the full batch shape.
    /// </summary>
    /// <summary>
    /// The bf16 copy (narrow_f32_bf16, round to nearest even) of an fp32 operand stored as <paramref name="rows"/> rows of
    /// <paramref name="cols"/> values <c>Ld</c> apart, per batch <c>BatchStride</c> apart: the same offsets address it.
    /// </summary>
    private (DevicePtr Pointer, long Bytes) Narrow(GemmOperand op, int rows, int cols, int batches)
    {
        var span = (op.BatchStride == 0 ? 0 : (long)(batches - 1) * op.BatchStride) + (long)(rows - 1) * op.Ld + cols;
        var bytes = span * sizeof(ushort);
        var ptr = Pool.Rent(bytes);
        LaunchElementwise("elementwise", "narrow_f32_bf16", span, [ptr, op.Pointer, span]);
        return (ptr, bytes);
    }

    private readonly record struct GemmOperand(DevicePtr Pointer, bool Trans, int Ld, long BatchStride, bool Bf16, Tensor? Copy)
    {
        public static GemmOperand Prepare(GpuBackend gpu, Tensor t, bool trans, ReadOnlySpan<int> batchShape, bool allowBf16)
        {
            if ((t.DType == DType.F32 || (allowBf16 && t.DType == DType.BF16))
                && TryLayout(t, trans, batchShape, out var effectiveTrans, out var ld, out var stride))
            {
                return new GemmOperand(gpu.Ptr(t), effectiveTrans, ld, stride, t.DType == DType.BF16, null);
            }
            if (t.DType == DType.BF16 && t.IsContiguous)
            {
                // Widen on the device first (widen_bf16_f32), so a broadcast expansion below copies f32 by kernel.
                var wide = Tensor.Empty(t.ShapeArray, DType.F32, gpu);
                gpu.Copy(t, wide);
                var widened = Prepare(gpu, wide, trans, batchShape, allowBf16: false);
                if (widened.Copy is null)
                {
                    return widened with { Copy = wide };
                }
                wide.Dispose();
                return widened;
            }
            // Expand to the full batch shape (stride 0 on broadcast axes) and copy densely: then every test passes.
            var shape = new int[batchShape.Length + 2];
            batchShape.CopyTo(shape);
            shape[^2] = t.Shape[^2];
            shape[^1] = t.Shape[^1];
            var strides = new long[shape.Length];
            var lead = shape.Length - t.Rank;
            for (var d = 0; d < shape.Length; d++)
            {
                strides[d] = d < lead || t.Shape[d - lead] != shape[d] ? 0 : t.Strides[d - lead];
            }
            using var expanded = t.View(shape, strides, t.Offset);
            var dense = Tensor.Empty(shape, DType.F32, gpu);
            gpu.Copy(expanded, dense);
            if (!TryLayout(dense, trans, batchShape, out effectiveTrans, out ld, out stride))
            {
                throw new InvalidOperationException($"matmul operand {dense} has no GEMM layout after a dense copy");
            }
            return new GemmOperand(gpu.Ptr(dense), effectiveTrans, ld, stride, false, dense);
        }

        private static bool TryLayout(Tensor t, bool trans, ReadOnlySpan<int> batchShape, out bool effectiveTrans, out int ld, out long batchStride)
        {
            batchStride = 0;
            if (!MatrixLayout.TryGemmOperand(t, trans, out effectiveTrans, out ld))
            {
                effectiveTrans = trans;
                ld = 0;
                return false;
            }
            // Batch index b = Σ i_d · inner_d; the operand's offset must be b · S for a single S.
            var lead = batchShape.Length - (t.Rank - 2);
            long inner = 1;
            long stride = -1;
            for (var d = batchShape.Length - 1; d >= 0; d--)
            {
                var td = d - lead;
                var own = td >= 0 && t.Shape[td] != 1 ? t.Strides[td] : 0;
                if (batchShape[d] != 1)
                {
                    if (stride < 0)
                    {
                        stride = own % inner == 0 ? own / inner : -2;
                    }
                    if (stride < 0 || own != stride * inner)
                    {
                        return false;
                    }
                }
                inner *= batchShape[d];
            }
            batchStride = Math.Max(0, stride);
            return true;
        }
    }
}
