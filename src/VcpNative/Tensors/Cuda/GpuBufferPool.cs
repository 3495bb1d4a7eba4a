// Reuses device buffers of exact byte sizes so that steady-state inference on the GPU allocates nothing per op.
namespace VcpNative.Tensors.Cuda;

/// <summary>
/// Exact-size free lists of device buffers, the GPU twin of <see cref="Cpu.CpuBufferPool"/>: a forward pass over
/// images of one size asks for the same sizes every time. Buffers beyond <see cref="MaxPooledBytes"/> go back to the
/// driver. Returning a buffer while kernels that use it are still queued is safe: all work runs on one stream, so a
/// later kernel that reuses it runs after them.
/// </summary>
public sealed class GpuBufferPool : IDisposable, IDeviceBufferOwner
{
    private readonly IGpuDriver driver;
    private readonly Dictionary<long, Stack<DevicePtr>> free = new();
    private readonly Lock gate = new();
    private long pooledBytes;

    /// <summary>Creates an empty pool that allocates from <paramref name="driver"/>.</summary>
    public GpuBufferPool(IGpuDriver driver)
    {
        this.driver = driver;
    }

    /// <summary>Most bytes kept pooled; buffers returned beyond it are freed to the driver.</summary>
    public long MaxPooledBytes { get; set; } = 2L << 30;

    /// <summary>Buffers that had to be newly allocated from the driver (for tests and benchmarks).</summary>
    public long Misses { get; private set; }

    /// <summary>Buffers handed out from the pool (for tests and benchmarks).</summary>
    public long Hits { get; private set; }

    /// <summary>Device bytes this pool holds from the driver now (buffers in use plus pooled ones).</summary>
    public long AllocatedBytes { get; private set; }

    /// <summary>The most device bytes this pool has held at once since creation or <see cref="ResetPeak"/>.</summary>
    public long PeakAllocatedBytes { get; private set; }

    /// <summary>Starts a new high-water mark from what is allocated now.</summary>
    public void ResetPeak()
    {
        lock (gate)
        {
            PeakAllocatedBytes = AllocatedBytes;
        }
    }

    /// <summary>A device buffer of exactly <paramref name="bytes"/>, pooled if one is free, else from the driver.</summary>
    public DevicePtr Rent(long bytes)
    {
        lock (gate)
        {
            if (free.TryGetValue(bytes, out var stack) && stack.Count > 0)
            {
                pooledBytes -= bytes;
                Hits++;
                return stack.Pop();
            }
            Misses++;
        }
        var ptr = driver.Allocate(bytes);
        lock (gate)
        {
            AllocatedBytes += bytes;
            PeakAllocatedBytes = Math.Max(PeakAllocatedBytes, AllocatedBytes);
        }
        return ptr;
    }

    /// <summary>Gives a buffer of <paramref name="bytes"/> back for reuse (freed if the pool is full).</summary>
    public void Return(DevicePtr ptr, long bytes)
    {
        lock (gate)
        {
            if (pooledBytes + bytes <= MaxPooledBytes)
            {
                if (!free.TryGetValue(bytes, out var stack))
                {
                    stack = new Stack<DevicePtr>();
                    free[bytes] = stack;
                }
                stack.Push(ptr);
                pooledBytes += bytes;
                return;
            }
            AllocatedBytes -= bytes;
        }
        driver.Free(ptr);
    }

    /// <summary>Frees every pooled buffer (e.g. after a run with different shapes).</summary>
    public void Clear()
    {
        lock (gate)
        {
            foreach (var (bytes, stack) in free)
            {
                while (stack.Count > 0)
                {
                    driver.Free(stack.Pop());
                    AllocatedBytes -= bytes;
                }
            }
            free.Clear();
            pooledBytes = 0;
        }
    }

    /// <summary>Frees every pooled buffer to the driver.</summary>
    public void Dispose() => Clear();
}
