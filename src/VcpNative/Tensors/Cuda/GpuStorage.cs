// Device memory of a tensor: one buffer from the GPU backend's pool (or its upload buffers), addressed by a DevicePtr.
namespace VcpNative.Tensors.Cuda;

/// <summary>Where a device buffer goes back when the last tensor view of it is disposed.</summary>
internal interface IDeviceBufferOwner
{
    void Return(DevicePtr ptr, long bytes);
}

/// <summary>
/// A device buffer of <see cref="TensorStorage.Length"/> elements of the storage dtype (F32 for compute; I32 ids,
/// F16/BF16 and I64 are stored raw and only copied or converted). Returns to its owner (the backend's pool, or the
/// upload buffers of <see cref="GpuBackend.UploadAsync"/>) when the last view is disposed.
/// </summary>
public sealed class GpuStorage : TensorStorage
{
    private readonly IDeviceBufferOwner owner;

    internal GpuStorage(GpuBackend backend, DType dtype, long length, IDeviceBufferOwner owner, DevicePtr pointer, long bytes)
        : base(backend, dtype, length)
    {
        this.owner = owner;
        Pointer = pointer;
        Bytes = bytes;
    }

    /// <summary>Address of element 0.</summary>
    public DevicePtr Pointer { get; }

    /// <summary>Size of the buffer in bytes (Length × element size).</summary>
    public long Bytes { get; }

    /// <inheritdoc/>
    protected override void Free() => owner.Return(Pointer, Bytes);
}
