// Host-to-device uploads on a second (copy) stream through double-buffered pinned staging memory into dedicated device
// buffers, ordered against compute by events so that the copy of the next batch overlaps the compute of this one.
namespace VcpNative.Tensors.Cuda;

public sealed partial class GpuBackend : IAsyncUploader
{
    private const int StagingSlotCount = 2;
    private const int MinUploadBuffersPerSize = 2;

    /// <summary>One pinned staging buffer and the event that marks the end of the last copy out of it.</summary>
    private sealed class StagingSlot
    {
        public nint Host;
        public long Bytes;
        public GpuEvent CopyDone;
        public bool CopyIssued;
    }

    /// <summary>
    /// A device buffer that only uploads write. <see cref="Released"/> is recorded on the compute stream when the tensor
    /// over it is disposed, i.e. after the host has issued every kernel that reads it; the next copy into it waits on
    /// that event alone, not on all compute, which is what lets it overlap the batch still running.
    /// </summary>
    private sealed class UploadBuffer
    {
        public DevicePtr Pointer;
        public long Bytes;
        public GpuEvent Released;
        public bool InUse;
        public bool ReleaseRecorded;
        public long ReleaseOrder;
    }

    /// <summary>The device buffers handed out by <see cref="UploadAsync"/>; tensors over them return here, not to the pool.</summary>
    private sealed class UploadBufferOwner(GpuBackend backend) : IDeviceBufferOwner
    {
        public readonly List<UploadBuffer> Buffers = [];

        /// <summary>Set when the backend freed the buffers: a tensor disposed after that has nothing left to return.</summary>
        public bool Closed;

        /// <summary>How many returns so far (the latest buffer returned has this as its ReleaseOrder).</summary>
        public long Releases;

        public void Return(DevicePtr ptr, long bytes)
        {
            if (Closed)
            {
                return;
            }
            foreach (var buffer in Buffers)
            {
                if (buffer.Pointer == ptr)
                {
                    backend.Driver.RecordEvent(buffer.Released, backend.Driver.ComputeStream);
                    buffer.ReleaseRecorded = true;
                    buffer.InUse = false;
                    buffer.ReleaseOrder = ++Releases;
                    return;
                }
            }
            throw new InvalidOperationException($"upload buffer {ptr} was not handed out by this backend");
        }
    }

    private StagingSlot[]? stagingSlots;
    private int nextStagingSlot;
    private GpuStream copyStream;
    private UploadBufferOwner? uploadBuffers;

    /// <summary>Pinned staging bytes held for <see cref="UploadAsync"/> (grows only when a larger batch arrives).</summary>
    public long PinnedStagingBytes
    {
        get
        {
            long total = 0;
            foreach (var slot in stagingSlots ?? [])
            {
                total += slot.Bytes;
            }
            return total;
        }
    }

    /// <summary>Device buffers kept for uploads (one per batch in flight: two in the image loop's steady state).</summary>
    public int UploadBufferCount => uploadBuffers?.Buffers.Count ?? 0;

    /// <summary>
    /// A new f32 tensor of <paramref name="shape"/> holding <paramref name="source"/>, copied on the copy stream. Order of
    /// device work: (1) the copy stream waits for the event recorded when this device buffer's previous tensor was
    /// disposed (its readers have run), and for nothing else; (2) the copy runs from pinned staging and records the
    /// staging slot's event; (3) the compute stream waits on that event, so the first kernel that reads the tensor sees
    /// the new values. So the DMA of batch i+1 runs while the kernels of batch i are still computing, as long as the
    /// caller issues this upload before waiting for batch i's results. The host blocks only to reuse a staging slot whose
    /// copy (two uploads back) is still running.
    /// </summary>
    public Tensor UploadAsync(ReadOnlySpan<float> source, ReadOnlySpan<int> shape)
    {
        var dims = shape.ToArray();
        var numel = Shapes.Numel(dims);
        if (source.Length < numel)
        {
            throw new ArgumentException($"upload: {source.Length} values for shape {Shapes.Format(dims)} ({numel} elements)");
        }
        if (numel == 0)
        {
            return Tensor.Empty(dims, DType.F32, this);
        }
        var bytes = numel * sizeof(float);
        var slot = NextStagingSlot(bytes);
        unsafe
        {
            source[..(int)numel].CopyTo(new Span<float>((void*)slot.Host, (int)numel));
        }
        var buffer = RentUploadBuffer(bytes);
        if (buffer.ReleaseRecorded)
        {
            Driver.StreamWaitEvent(copyStream, buffer.Released);
        }
        Driver.CopyToDeviceAsync(buffer.Pointer, slot.Host, bytes, copyStream);
        Driver.RecordEvent(slot.CopyDone, copyStream);
        slot.CopyIssued = true;
        Driver.StreamWaitEvent(Driver.ComputeStream, slot.CopyDone);
        var storage = new GpuStorage(this, DType.F32, numel, uploadBuffers!, buffer.Pointer, bytes);
        return new Tensor(storage, dims, Shapes.ContiguousStrides(dims), 0);
    }

    /// <summary>
    /// The free upload buffer of exactly <paramref name="bytes"/> released longest ago, or a new one. The buffer released
    /// last is taken only once two of this size exist: it usually belongs to the batch still computing, and copying
    /// into it would wait for that batch (the image loop, one batch in flight, settles on two buffers).
    /// </summary>
    private UploadBuffer RentUploadBuffer(long bytes)
    {
        uploadBuffers ??= new UploadBufferOwner(this);
        UploadBuffer? oldest = null;
        var sameSize = 0;
        foreach (var candidate in uploadBuffers.Buffers)
        {
            if (candidate.Bytes != bytes)
            {
                continue;
            }
            sameSize++;
            if (!candidate.InUse && (oldest is null || candidate.ReleaseOrder < oldest.ReleaseOrder))
            {
                oldest = candidate;
            }
        }
        if (oldest is not null && (oldest.ReleaseOrder != uploadBuffers.Releases || sameSize >= MinUploadBuffersPerSize))
        {
            oldest.InUse = true;
            return oldest;
        }
        var buffer = new UploadBuffer { Pointer = Driver.Allocate(bytes), Bytes = bytes, Released = Driver.CreateEvent(), InUse = true };
        uploadBuffers.Buffers.Add(buffer);
        return buffer;
    }

    /// <summary>The next staging slot, at least <paramref name="bytes"/> large, whose previous copy has finished.</summary>
    private StagingSlot NextStagingSlot(long bytes)
    {
        if (stagingSlots is null)
        {
            copyStream = Driver.CreateStream();
            stagingSlots = new StagingSlot[StagingSlotCount];
            for (var i = 0; i < StagingSlotCount; i++)
            {
                stagingSlots[i] = new StagingSlot { CopyDone = Driver.CreateEvent() };
            }
        }
        var slot = stagingSlots[nextStagingSlot];
        nextStagingSlot = (nextStagingSlot + 1) % StagingSlotCount;
        if (slot.CopyIssued)
        {
            // The host must not overwrite pinned memory the DMA engine may still be reading.
            Driver.SynchronizeEvent(slot.CopyDone);
            slot.CopyIssued = false;
        }
        if (slot.Bytes < bytes)
        {
            if (slot.Host != 0)
            {
                Driver.FreePinned(slot.Host);
            }
            slot.Host = 0;
            slot.Bytes = 0;
            slot.Host = Driver.AllocatePinned(bytes);
            slot.Bytes = bytes;
        }
        return slot;
    }

    /// <summary>Waits for outstanding uploads, then frees the staging and upload buffers, events and the copy stream.</summary>
    private void DisposeStaging()
    {
        if (stagingSlots is not null)
        {
            foreach (var slot in stagingSlots)
            {
                if (slot.CopyIssued)
                {
                    Driver.SynchronizeEvent(slot.CopyDone);
                }
                if (slot.Host != 0)
                {
                    Driver.FreePinned(slot.Host);
                }
                Driver.DestroyEvent(slot.CopyDone);
            }
            Driver.DestroyStream(copyStream);
            stagingSlots = null;
        }
        if (uploadBuffers is not null)
        {
            // A tensor still alive over one of these would dangle; freeing waits for the device (cuMemFree synchronises).
            foreach (var buffer in uploadBuffers.Buffers)
            {
                Driver.Free(buffer.Pointer);
                Driver.DestroyEvent(buffer.Released);
            }
            uploadBuffers.Closed = true;
            uploadBuffers = null;
        }
    }
}
