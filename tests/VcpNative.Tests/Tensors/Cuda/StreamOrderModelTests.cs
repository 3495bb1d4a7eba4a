// The emulator's stream-order race check: unordered cross-stream access to one allocation is reported, events and host waits order it.
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;
using Xunit;

namespace VcpNative.Tests.Tensors.Cuda;

public class StreamOrderModelTests
{
    private const int N = 64;

    /// <summary>fill_f32 on the compute stream writes <paramref name="dst"/> (a real kernel, so the interpreter's access tracking is what is tested).</summary>
    private static void FillOnCompute(PtxEmulator gpu, DevicePtr dst, float value)
    {
        var module = gpu.LoadModule(ShippedKernels.LoadPtx("elementwise"));
        var fill = gpu.GetFunction(module, "fill_f32");
        gpu.Launch(fill, new Dim3(1, 1, 1), new Dim3(N, 1, 1), 0, [dst, value, (long)N]);
    }

    private static nint PinnedSource(PtxEmulator gpu)
    {
        var host = gpu.AllocatePinned(N * sizeof(float));
        unsafe
        {
            new Span<float>((void*)host, N).Fill(3f);
        }
        return host;
    }

    [Fact]
    public void Copy_stream_writing_a_buffer_a_queued_kernel_wrote_is_a_race()
    {
        using var gpu = new PtxEmulator();
        var buffer = gpu.Allocate(N * sizeof(float));
        var copy = gpu.CreateStream();
        FillOnCompute(gpu, buffer, 1f);
        var e = Assert.Throws<GpuStreamRaceException>(() => gpu.CopyToDeviceAsync(buffer, PinnedSource(gpu), N * sizeof(float), copy));
        // One line naming both operations and the allocation.
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("copy-h2d-async", e.Message);
        Assert.Contains("kernel fill_f32 on stream 0", e.Message);
        Assert.Contains($"device allocation 0x{buffer.Address:x} (256 bytes)", e.Message);
    }

    [Fact]
    public void An_event_recorded_after_the_kernel_orders_the_copy()
    {
        using var gpu = new PtxEmulator();
        var buffer = gpu.Allocate(N * sizeof(float));
        var copy = gpu.CreateStream();
        var done = gpu.CreateEvent();
        FillOnCompute(gpu, buffer, 1f);
        gpu.RecordEvent(done, gpu.ComputeStream);
        gpu.StreamWaitEvent(copy, done);
        gpu.CopyToDeviceAsync(buffer, PinnedSource(gpu), N * sizeof(float), copy);
        // ...and the compute stream must in turn wait for the copy before it reads the buffer.
        var copied = gpu.CreateEvent();
        gpu.RecordEvent(copied, copy);
        var back = new float[N];
        Assert.Throws<GpuStreamRaceException>(() => gpu.CopyToHost(buffer, back));
        gpu.StreamWaitEvent(gpu.ComputeStream, copied);
        gpu.CopyToHost(buffer, back);
        Assert.All(back, v => Assert.Equal(3f, v));
    }

    [Fact]
    public void A_host_wait_orders_later_work_on_any_stream()
    {
        using var gpu = new PtxEmulator { RecordStreamLog = true };
        var buffer = gpu.Allocate(N * sizeof(float));
        var copy = gpu.CreateStream();
        FillOnCompute(gpu, buffer, 1f);
        gpu.Synchronize();
        gpu.CopyToDeviceAsync(buffer, PinnedSource(gpu), N * sizeof(float), copy);
        var log = gpu.StreamLog;
        Assert.Equal([StreamOperation.Kernel, StreamOperation.HostWait, StreamOperation.CopyToDeviceAsync], log.Select(op => op.Kind));
        Assert.True(log[0].HappensBefore(log[2]));
        Assert.False(log[2].HappensBefore(log[0]));
        Assert.Equal(1, gpu.HostWaits);
    }

    [Fact]
    public void Reads_on_two_streams_do_not_race_but_a_later_unordered_write_does()
    {
        using var gpu = new PtxEmulator();
        var source = gpu.Allocate(N * sizeof(float));
        var other = gpu.Allocate(N * sizeof(float));
        var copy = gpu.CreateStream();
        FillOnCompute(gpu, source, 2f);
        var written = gpu.CreateEvent();
        gpu.RecordEvent(written, gpu.ComputeStream);
        gpu.StreamWaitEvent(copy, written);
        // A copy-stream write to a different allocation is independent of the compute stream's work.
        gpu.CopyToDeviceAsync(other, PinnedSource(gpu), N * sizeof(float), copy);
        // The compute stream now writes `other` without waiting for the copy: write-write race.
        Assert.Throws<GpuStreamRaceException>(() => FillOnCompute(gpu, other, 5f));
    }
}
