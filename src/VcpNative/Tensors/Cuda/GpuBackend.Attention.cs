// GPU fused attention on kernels/attention.cu: flash-style forward (tiled, or split over warps for few queries) and
// the FlashAttention-2 backward (delta, then dK/dV per key block and dQ per query block, no atomics); with
// MatMulPrecision.Bf16TensorCores the tiled forward runs on kernels/attention_tc.cu (bf16 mma.sync, fp32 softmax).
namespace VcpNative.Tensors.Cuda;

public sealed partial class GpuBackend
{
    private const int AttentionThreads = 128;
    private const int AttentionTile = 32;
    private const int AttentionMaxHeadDim = 128;
    private const int AttentionTcQueries = 64;
    private const int AttentionTcNarrowHeadDim = 64;

    /// <summary>Up to this many queries per head, one block per query row splits the keys over its 4 warps.</summary>
    internal const int AttentionRowsKernelMaxQueries = 8;

    /// <inheritdoc/>
    public void AttentionForward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor? logSumExp, float scale, bool causal)
    {
        var a = new AttentionLaunch(this, q, k, v);
        if (a.Heads == 0 || a.Lq == 0)
        {
            return;
        }
        KernelArg[] args =
        [
            Dense(output), logSumExp is null ? DevicePtr.Null : Dense(logSumExp), a.Q, a.K, a.V,
            a.HeadsPerBatch, a.Lq, a.Lk, a.D,
            a.QStrides.Batch, a.QStrides.Head, a.QStrides.Row, a.KStrides.Batch, a.KStrides.Head, a.KStrides.Row,
            a.VStrides.Batch, a.VStrides.Head, a.VStrides.Row, scale, causal ? 1 : 0,
        ];
        if (a.Lq <= AttentionRowsKernelMaxQueries)
        {
            Driver.Launch(Kernel("attention", "attention_forward_rows"), new Dim3((uint)a.Lq, (uint)a.Heads), new Dim3(AttentionThreads), 0, args);
            return;
        }
        if (MatMulPrecision == MatMulPrecision.Bf16TensorCores)
        {
            // bf16 tensor cores (attention_tc.cu): 64 queries per block, D zero-padded to 64 or 128, static shared memory.
            var entry = a.D <= AttentionTcNarrowHeadDim ? "attention_forward_tc_bf16" : "attention_forward_tc_bf16_d128";
            Driver.Launch(Kernel("attention_tc", entry), new Dim3(AttentionBlocks(a.Lq, AttentionTcQueries), (uint)a.Heads), new Dim3(AttentionThreads), 0, args);
            return;
        }
        // Shared: 32 scaled query rows of D, plus one 32-key tile (K with an odd row stride, then V).
        var shared = (AttentionTile * a.D + AttentionTile * (a.D | 1)) * sizeof(float);
        Driver.Launch(Kernel("attention", "attention_forward"), new Dim3(AttentionBlocks(a.Lq, AttentionTile), (uint)a.Heads), new Dim3(AttentionThreads), shared, args);
    }

    /// <inheritdoc/>
    public void AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor logSumExp, Tensor gradOutput,
        Tensor? gradQ, Tensor? gradK, Tensor? gradV, float scale, bool causal)
    {
        var a = new AttentionLaunch(this, q, k, v);
        if (gradQ is null && gradK is null && gradV is null)
        {
            return;
        }
        if (a.Heads == 0 || a.Lq == 0)
        {
            // No query: every key and value gradient is zero (gradQ is empty).
            if (gradK is not null) Fill(gradK, 0f);
            if (gradV is not null) Fill(gradV, 0f);
            return;
        }
        var rows = a.Heads * a.Lq;
        var deltaBytes = (long)rows * sizeof(float);
        var delta = Pool.Rent(deltaBytes);
        try
        {
            LaunchRows("attention", "attention_backward_delta", rows, [delta, Dense(gradOutput), Dense(output), rows, a.D]);
            // Rows per warp: 8 (32-row blocks), or 4 when D > 96 so that two blocks of D plus a padded tile fit in 48 KB.
            var rowsPerWarp = a.D > 96 ? 4 : 8;
            var block = 4 * rowsPerWarp;
            var shared = (2 * block * a.D + AttentionTile * (a.D | 1)) * sizeof(float);
            ReadOnlySpan<KernelArg> common =
            [
                a.Q, a.K, a.V, Dense(gradOutput), Dense(logSumExp), delta, a.HeadsPerBatch, a.Lq, a.Lk, a.D,
                a.QStrides.Batch, a.QStrides.Head, a.QStrides.Row, a.KStrides.Batch, a.KStrides.Head, a.KStrides.Row,
                a.VStrides.Batch, a.VStrides.Head, a.VStrides.Row, scale, causal ? 1 : 0, rowsPerWarp,
            ];
            if (gradK is not null || gradV is not null)
            {
                KernelArg[] args = [OptionalOutput(gradK), OptionalOutput(gradV), .. common];
                Driver.Launch(Kernel("attention", "attention_backward_dkdv"), new Dim3(AttentionBlocks(a.Lk, block), (uint)a.Heads), new Dim3(AttentionThreads), shared, args);
            }
            if (gradQ is not null)
            {
                KernelArg[] args = [Dense(gradQ), .. common];
                Driver.Launch(Kernel("attention", "attention_backward_dq"), new Dim3(AttentionBlocks(a.Lq, block), (uint)a.Heads), new Dim3(AttentionThreads), shared, args);
            }
        }
        finally
        {
            Pool.Return(delta, deltaBytes);
        }
    }

    /// <summary>Device address of an optional contiguous output, or null (the kernel skips that gradient).</summary>
    private DevicePtr OptionalOutput(Tensor? t) => t is null ? DevicePtr.Null : Dense(t);

    private static uint AttentionBlocks(int n, int per) => (uint)((n + per - 1) / per);

    /// <summary>Shapes, device addresses and (batch, head, row) strides of q/k/v for one attention call.</summary>
    private readonly struct AttentionLaunch
    {
        public AttentionLaunch(GpuBackend gpu, Tensor q, Tensor k, Tensor v)
        {
            HeadsPerBatch = q.Shape[1];
            Heads = q.Shape[0] * q.Shape[1];
            Lq = q.Shape[2];
            Lk = k.Shape[2];
            D = q.Shape[3];
            if (D > AttentionMaxHeadDim)
            {
                throw new NotSupportedException($"attention kernel: head dimension {D} exceeds {AttentionMaxHeadDim} (q {q})");
            }
            if (Heads > MaxGridX)
            {
                throw new NotSupportedException($"attention kernel: batch·heads {Heads} exceeds the grid's y limit {MaxGridX}");
            }
            (Q, QStrides) = Operand(gpu, q);
            (K, KStrides) = Operand(gpu, k);
            (V, VStrides) = Operand(gpu, v);
        }

        public int HeadsPerBatch { get; }

        public int Heads { get; }

        public int Lq { get; }

        public int Lk { get; }

        public int D { get; }

        public DevicePtr Q { get; }

        public DevicePtr K { get; }

        public DevicePtr V { get; }

        public (long Batch, long Head, long Row) QStrides { get; }

        public (long Batch, long Head, long Row) KStrides { get; }

        public (long Batch, long Head, long Row) VStrides { get; }

        private static (DevicePtr Ptr, (long Batch, long Head, long Row) Strides) Operand(GpuBackend gpu, Tensor t)
        {
            if (t.DType != DType.F32 || (t.Shape[3] > 1 && t.Strides[3] != 1))
            {
                throw new InvalidOperationException($"attention kernel needs f32 [B,H,L,D] with unit last stride, got {t}");
            }
            return (gpu.Ptr(t), (t.Strides[0], t.Strides[1], t.Strides[2]));
        }
    }
}
