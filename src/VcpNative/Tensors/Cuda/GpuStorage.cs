// Device memory of a tensor: one buffer from the GPU backend's pool, addressed by a DevicePtr.
namespace VcpNative.Tensors.Cuda;

/// <summary>
/// A device buffer of <see cref="TensorStorage.Length"/> elements of the storage dtype (F32 for compute; I32 ids,
/// F16/BF16 and I64 are stored raw and only copied or converted). Returns to the pool when the last view is disposed.
/// </summary>
public sealed class GpuStorage : TensorStorage
{
    private readonly GpuBufferPool pool;

    internal GpuStorage(GpuBackend backend, DType dtype, long length, GpuBufferPool pool, DevicePtr pointer, long bytes)
        : base(backend, dtype, length)
    {
        this.pool = pool;
        Pointer = pointer;
        Bytes = bytes;
    }

    /// <summary>Address of element 0.</summary>
    public DevicePtr Pointer { get; }

    /// <summary>Size of the buffer in bytes (Length × element size).</summary>
    public long Bytes { get; }

    protected override void Free() => pool.Return(Pointer, Bytes);
}
