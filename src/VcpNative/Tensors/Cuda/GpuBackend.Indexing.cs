// GPU gathers and scatters on kernels/indexing.cu and kernels/topk.cu: embedding, patch and 1-D im2col/col2im, top-k.
using VcpNative.Tensors.Cpu;

namespace VcpNative.Tensors.Cuda;

public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public void EmbeddingForward(Tensor weight, Tensor ids, Tensor output)
    {
        var (vocab, dim) = (weight.Shape[0], weight.Shape[1]);
        var tokens = ids.Numel;
        if (tokens == 0 || dim == 0)
        {
            return;
        }
        if (!weight.IsContiguous)
        {
            throw new InvalidOperationException($"embedding_forward needs a contiguous table, got {weight}");
        }
        var dtype = weight.DType switch
        {
            DType.F32 => 0,
            DType.F16 => 1,
            DType.BF16 => 2,
            _ => throw new InvalidOperationException($"embedding_forward: table dtype {DTypes.Name(weight.DType)} is not f32/f16/bf16"),
        };
        using var deviceIds = new DeviceIds(this, ids);
        var bad = Pool.Rent(sizeof(int));
        try
        {
            Driver.Memset(bad, 0, sizeof(int));
            LaunchElementwise("indexing", "embedding_forward", tokens * dim,
                [Dense(output), Ptr(weight), deviceIds.Pointer, bad, tokens, dim, vocab, dtype]);
            if (deviceIds.OnDevice)
            {
                // Host ids were range-checked by the op layer; device-resident ids are checked here (one 4-byte read).
                Span<int> flag = stackalloc int[1];
                Driver.CopyToHost(bad, flag);
                if (flag[0] != 0)
                {
                    throw new ArgumentOutOfRangeException(nameof(ids), $"op 'embedding': an id of ids {Shapes.Format(ids.Shape)} is outside the table of V={vocab} rows");
                }
            }
        }
        finally
        {
            Pool.Return(bad, sizeof(int));
        }
    }

    /// <inheritdoc/>
    public void EmbeddingBackward(Tensor ids, Tensor gy, Tensor gWeight)
    {
        var dim = gWeight.Shape[1];
        var tokens = (int)ids.Numel;
        if (tokens == 0 || dim == 0)
        {
            return;
        }
        using var deviceIds = new DeviceIds(this, ids);
        LaunchElementwise("indexing", "embedding_backward", (long)tokens * dim, [Dense(gWeight), deviceIds.Pointer, Dense(gy), tokens, dim]);
    }

    /// <inheritdoc/>
    public void PatchUnfold(Tensor x, int patch, Tensor cols) =>
        LaunchElementwise("indexing", "patch_unfold", cols.Numel, [Dense(cols), Dense(x), x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], patch]);

    /// <inheritdoc/>
    public void PatchFold(Tensor cols, int patch, Tensor gx) =>
        LaunchElementwise("indexing", "patch_fold", gx.Numel, [Dense(gx), Dense(cols), gx.Shape[0], gx.Shape[1], gx.Shape[2], gx.Shape[3], patch]);

    /// <inheritdoc/>
    public void Conv1dUnfold(Tensor x, int kernel, int padding, Tensor cols) =>
        LaunchElementwise("indexing", "conv1d_unfold", cols.Numel,
            [Dense(cols), Dense(x), (long)x.Shape[0] * x.Shape[1], x.Shape[2], kernel, padding, cols.Shape[2]]);

    /// <inheritdoc/>
    public void Conv1dFold(Tensor cols, int kernel, int padding, Tensor gx) =>
        LaunchElementwise("indexing", "conv1d_fold", gx.Numel,
            [Dense(gx), Dense(cols), (long)gx.Shape[0] * gx.Shape[1], gx.Shape[2], kernel, padding, cols.Shape[2]]);

    /// <inheritdoc/>
    public void TopKForward(Tensor x, int k, bool largest, Tensor values, Tensor indices)
    {
        var n = x.Shape[^1];
        var rows = n == 0 ? 0 : x.Numel / n;
        if (rows == 0 || k == 0)
        {
            return;
        }
        var pow2 = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)k);
        // Enough threads that each reads ~8 elements per pass, within one block (32..1024, a power of two).
        var threads = (int)Math.Clamp(System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, Math.Max(n, pow2) / 8)), 32u, 1024u);
        var chunkRows = Math.Min(rows, MaxGridX);
        var scratchBytes = chunkRows * pow2 * sizeof(ulong);
        var scratch = Pool.Rent(scratchBytes);
        try
        {
            var f = Kernel("topk", "topk_forward");
            for (long r0 = 0; r0 < rows; r0 += chunkRows)
            {
                var count = (uint)Math.Min(chunkRows, rows - r0);
                Driver.Launch(f, new Dim3(count), new Dim3((uint)threads), 0,
                [
                    Ptr(values).Offset(r0 * k * sizeof(float)), Ptr(indices).Offset(r0 * k * sizeof(int)), scratch,
                    Dense(x).Offset(r0 * n * sizeof(float)), n, k, largest ? 1 : 0, pow2,
                ]);
            }
        }
        finally
        {
            Pool.Return(scratch, scratchBytes);
        }
    }

    /// <inheritdoc/>
    public void TopKBackward(Tensor indices, Tensor gValues, Tensor gx)
    {
        var k = gValues.Shape[^1];
        var n = gx.Shape[^1];
        var rows = k == 0 ? 0 : gValues.Numel / k;
        using var deviceIndices = new DeviceIds(this, indices);
        LaunchElementwise("indexing", "topk_backward", rows * k, [Dense(gx), deviceIndices.Pointer, Dense(gValues), rows, k, n]);
    }

    /// <summary>
    /// A contiguous I32 index tensor as a device pointer: the tensor itself when it lives on this backend, else
    /// (host ids from the tokenizer) one upload into a pooled buffer returned on dispose.
    /// </summary>
    private readonly struct DeviceIds : IDisposable
    {
        private readonly GpuBackend gpu;
        private readonly long rentedBytes;

        public DeviceIds(GpuBackend gpu, Tensor ids)
        {
            if (ids.DType != DType.I32 || !ids.IsContiguous)
            {
                throw new InvalidOperationException($"GPU kernel needs contiguous i32 indices, got {ids}");
            }
            this.gpu = gpu;
            if (ids.Storage is GpuStorage)
            {
                Pointer = gpu.Ptr(ids);
                OnDevice = true;
                rentedBytes = 0;
                return;
            }
            var host = (CpuStorage)ids.Storage;
            rentedBytes = Math.Max(1, ids.Numel) * sizeof(int);
            Pointer = gpu.Pool.Rent(rentedBytes);
            gpu.Driver.CopyToDevice(Pointer, host.Ints.AsSpan((int)ids.Offset, (int)ids.Numel));
        }

        public DevicePtr Pointer { get; }

        public bool OnDevice { get; }

        public void Dispose()
        {
            if (rentedBytes > 0)
            {
                gpu.Pool.Return(Pointer, rentedBytes);
            }
        }
    }
}
