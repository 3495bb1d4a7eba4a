// Host-to-device uploads on a second (copy) stream through double-buffered pinned staging memory, ordered by events.
namespace VcpNative.Tensors.Cuda;

public sealed partial class GpuBackend : IAsyncUploader
{
    private const int StagingSlotCount = 2;

    /// <summary>One pinned staging buffer and the event that marks the end of the last copy out of it.</summary>
    private sealed class StagingSlot
    {
        public nint Host;
        public long Bytes;
        public GpuEvent CopyDone;
        public bool CopyIssued;
    }

    private StagingSlot[]? stagingSlots;
    private int nextStagingSlot;
    private GpuStream copyStream;
    private GpuEvent computeReached;

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

    /// <summary>
    /// Upload through pinned memory on the copy stream. The order of device work is:
    /// (1) the copy stream waits for everything already issued to the compute stream, because the pool may have handed
    /// <paramref name="dst"/> back out while earlier kernels still read the old contents;
    /// (2) the copy runs on the copy stream and records the slot's event;
    /// (3) the compute stream waits on that event, so the first kernel that reads dst sees the new values.
    /// What overlaps: the host returns at once, so staging the next batch (the memcpy into the other pinned slot) and
    /// issuing its kernels overlap the device's copy and compute of this one; the DMA itself overlaps compute on
    /// buffers other than dst only when no earlier compute is still queued (see (1)). Double buffering means the host
    /// blocks only when it stages into a slot whose previous copy is still running (two uploads ahead).
    /// </summary>
    public void UploadAsync(ReadOnlySpan<float> source, Tensor dst)
    {
        if (dst.DType != DType.F32 || !dst.IsContiguous || dst.Numel == 0)
        {
            Upload(source, dst);
            return;
        }
        var bytes = dst.Numel * sizeof(float);
        var slot = NextStagingSlot(bytes);
        unsafe
        {
            source[..(int)dst.Numel].CopyTo(new Span<float>((void*)slot.Host, (int)dst.Numel));
        }
        var compute = Driver.ComputeStream;
        Driver.RecordEvent(computeReached, compute);
        Driver.StreamWaitEvent(copyStream, computeReached);
        Driver.CopyToDeviceAsync(Ptr(dst), slot.Host, bytes, copyStream);
        Driver.RecordEvent(slot.CopyDone, copyStream);
        slot.CopyIssued = true;
        Driver.StreamWaitEvent(compute, slot.CopyDone);
    }

    /// <summary>The next staging slot, at least <paramref name="bytes"/> large, whose previous copy has finished.</summary>
    private StagingSlot NextStagingSlot(long bytes)
    {
        if (stagingSlots is null)
        {
            copyStream = Driver.CreateStream();
            computeReached = Driver.CreateEvent();
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

    /// <summary>Waits for outstanding uploads, then frees the staging buffers, events and the copy stream.</summary>
    private void DisposeStaging()
    {
        if (stagingSlots is null)
        {
            return;
        }
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
        Driver.DestroyEvent(computeReached);
        Driver.DestroyStream(copyStream);
        stagingSlots = null;
    }
}
