// A reference-counted block of tensor memory owned by one backend.
namespace VcpNative.Tensors;

/// <summary>
/// Memory behind one or more tensors (a tensor and its views share it). Reference counted so that a
/// disposed tensor returns its memory to the backend's pool only when no view still uses it.
/// </summary>
public abstract class TensorStorage
{
    private int references = 1;

    /// <summary>Creates storage for <paramref name="length"/> elements of <paramref name="dtype"/>, with one reference.</summary>
    protected TensorStorage(IBackend backend, DType dtype, long length)
    {
        Backend = backend;
        DType = dtype;
        Length = length;
    }

    /// <summary>The backend that allocated the storage.</summary>
    public IBackend Backend { get; }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>True once the last reference has gone and the buffer was freed.</summary>
    public bool IsReleased => Volatile.Read(ref references) <= 0;

    internal void AddReference()
    {
        if (Interlocked.Increment(ref references) <= 1)
        {
            throw new ObjectDisposedException(nameof(TensorStorage), "storage was already returned to its pool");
        }
    }

    internal void Release()
    {
        var left = Interlocked.Decrement(ref references);
        if (left == 0)
        {
            Free();
        }
    }

    /// <summary>Returns the memory to the backend (pool or driver).</summary>
    protected abstract void Free();
}
