// GpuBackend.UploadAsync on the PTX emulator: same values as Upload, pinned staging reused, and the image loop's overlap.
using VcpNative.Anomaly.Inference;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;
using Xunit;

namespace VcpNative.Tests.Tensors.Cuda;

public class GpuAsyncUploadTests
{
    private static float[] RandomData(int n, int seed)
    {
        var rng = new Random(seed);
        var data = new float[n];
        for (var i = 0; i < n; i++)
        {
            data[i] = (float)(rng.NextDouble() * 4 - 2);
        }
        return data;
    }

    [Fact]
    public void UploadAsync_then_a_kernel_gives_the_same_result_as_upload()
    {
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        using var scope = new TensorScope();
        var data = RandomData(1031, 7); // prime length: not a multiple of the 256-thread block
        var expected = data.ToArray();
        var viaAsync = gpu.UploadAsync(data, [1031]);
        // The source may be reused at once: the staged copy must not see this overwrite.
        Array.Fill(data, float.NaN);
        var viaSync = Tensor.FromArray(expected, [1031], gpu);
        // Exact equality: the same bits go through the same gelu kernel, only the copy path differs.
        Assert.Equal(expected, viaAsync.ToArray());
        Assert.Equal(Ops.Gelu(viaSync).ToArray(), Ops.Gelu(viaAsync).ToArray());
        Assert.Equal(1, ((PtxEmulator)gpu.Driver).AsyncCopies);
    }

    [Fact]
    public void Double_buffered_staging_reuses_two_pinned_buffers_across_batches()
    {
        using var emulator = new PtxEmulator();
        var gpu = new GpuBackend(emulator);
        const int n = 300;
        var uploaded = new List<(Tensor Tensor, float[] Data)>();
        for (var batch = 0; batch < 6; batch++)
        {
            var data = RandomData(n, 100 + batch);
            uploaded.Add((gpu.UploadAsync(data, [n]), data));
        }
        // Alternating slots must not corrupt earlier uploads.
        foreach (var (tensor, data) in uploaded)
        {
            Assert.Equal(data, tensor.ToArray());
        }
        Assert.Equal(2, emulator.PinnedAllocations);
        Assert.Equal(2, emulator.LivePinnedBuffers);
        Assert.Equal(2L * n * sizeof(float), gpu.PinnedStagingBytes);
        Assert.Equal(6, emulator.AsyncCopies);
        // Six tensors alive at once need six device buffers; once they are disposed the buffers are reused.
        Assert.Equal(6, gpu.UploadBufferCount);

        // A larger batch grows a slot in place (free + allocate), never adds buffers.
        using (gpu.UploadAsync(RandomData(2 * n, 9), [2 * n]))
        {
        }
        Assert.Equal(2, emulator.LivePinnedBuffers);
        Assert.Equal(3L * n * sizeof(float), gpu.PinnedStagingBytes);

        foreach (var (tensor, _) in uploaded)
        {
            tensor.Dispose();
        }
        using (gpu.UploadAsync(RandomData(n, 10), [n]))
        {
        }
        Assert.Equal(7, gpu.UploadBufferCount); // six of n floats, one of 2n: the n-float upload reused one
        gpu.Dispose();
        Assert.Equal(0, emulator.LivePinnedBuffers);
    }

    [Fact]
    public void A_reused_upload_buffer_waits_for_the_kernels_that_read_it_and_no_others()
    {
        using var emulator = new PtxEmulator { RecordStreamLog = true };
        using var gpu = new GpuBackend(emulator);
        using var scope = new TensorScope();
        var first = RandomData(500, 1);
        var a = gpu.UploadAsync(first, [500]);
        var reader = Ops.Gelu(a);
        a.Dispose();
        using (gpu.UploadAsync(RandomData(500, 2), [500]))
        {
        }
        var unrelated = Ops.Gelu(reader); // queued after a's release, reads nothing the next copy writes
        var third = RandomData(500, 3);
        // Two buffers exist now, so this takes a's (released longest ago); without the wait on its release event the
        // stream model reports a race with the gelu that read it.
        var d = gpu.UploadAsync(third, [500]);
        Assert.Equal(2, gpu.UploadBufferCount);
        Assert.Equal(third, d.ToArray());
        // Same kernel on a synchronously uploaded copy: bit-identical unless the reuse overwrote a before gelu read it.
        Assert.Equal(Ops.Gelu(Tensor.FromArray(first, [500], gpu)).ToArray(), reader.ToArray());
        var log = emulator.StreamLog;
        var copy = log.Last(op => op.Kind == StreamOperation.CopyToDeviceAsync);
        var kernels = log.Where(op => op.Kind == StreamOperation.Kernel && op.Index < copy.Index).ToList();
        Assert.True(kernels[0].HappensBefore(copy), "the copy into a's buffer must follow the gelu that read a");
        Assert.False(kernels[^1].HappensBefore(copy), "the copy must not wait for the later, unrelated gelu");
        _ = unrelated;
    }

    [Fact]
    public void Image_loop_on_the_emulated_gpu_uses_async_uploads_and_matches_the_cpu()
    {
        const int size = 28;
        string[] files = [Fixtures.Path("vcp", "input.png"), Fixtures.Path("vcp", "input.png"), Fixtures.Path("vcp", "input.png")];
        List<AnomalyImageResult> Run(IBackend backend)
        {
            using var model = VcpModel.Load(Fixtures.Path("clip", "tiny_clip.pt"), Fixtures.Path("vcp", "vcp_head.pth"), backend);
            var results = new List<AnomalyImageResult>();
            // Batch size 1: three batches, so both staging slots and both upload buffers are used and then reused.
            new ImageInferenceLoop(new VcpInference(model, size), backend, 1).Run(
                files, (_, _, r) => results.Add(r), (path, e) => throw new InvalidOperationException(path, e));
            return results;
        }
        var expected = Run(CpuBackend.Instance);
        using var emulator = new PtxEmulator { RecordStreamLog = true };
        using var gpu = new GpuBackend(emulator);
        var actual = Run(gpu);
        Assert.Equal(3, actual.Count);
        Assert.Equal(3, emulator.AsyncCopies);
        Assert.Equal(2, gpu.UploadBufferCount);
        AssertUploadsOverlapThePreviousBatch(emulator.StreamLog, 3);
        for (var i = 0; i < 3; i++)
        {
            // Same bound as the single-image pipeline test: fp32 on both sides, different summation orders.
            GradientCheck.AssertClose(Array.ConvertAll(expected[i].Map, v => (double)v), actual[i].Map, 1e-4, 0);
            Assert.InRange(Math.Abs(actual[i].Score - expected[i].Score), 0, 1e-4);
        }
    }

    /// <summary>
    /// What the loop promises a real GPU, checked on the emulator's stream model: (a) the copy of batch i+1 is not
    /// ordered after any kernel of batch i, so the DMA may run while batch i computes; (b) batch i's first kernel is
    /// ordered after batch i's copy, so it reads the new images; (c) the host never waits while issuing a batch's kernels,
    /// only when it reads results back (and, cheaply, before refilling a staging slot two uploads old). Reusing an upload buffer before its readers ran would throw a race in the model.
    /// </summary>
    private static void AssertUploadsOverlapThePreviousBatch(IReadOnlyList<StreamOperation> log, int batches)
    {
        var uploads = new List<int>();
        for (var i = 0; i < log.Count; i++)
        {
            if (log[i].Kind == StreamOperation.CopyToDeviceAsync)
            {
                uploads.Add(i);
            }
        }
        Assert.Equal(batches, uploads.Count);
        for (var b = 0; b < batches; b++)
        {
            var upload = log[uploads[b]];
            var firstKernel = log.Skip(uploads[b] + 1).First(op => op.Kind == StreamOperation.Kernel);
            Assert.True(upload.HappensBefore(firstKernel), $"batch {b}: {firstKernel} is not ordered after its upload {upload}");
            if (b == 0)
            {
                continue;
            }
            var previousKernels = log.Take(uploads[b]).Skip(uploads[b - 1]).Where(op => op.Kind == StreamOperation.Kernel).ToList();
            Assert.NotEmpty(previousKernels);
            foreach (var kernel in previousKernels)
            {
                Assert.False(kernel.HappensBefore(upload), $"batch {b}: upload {upload} waits for batch {b - 1}'s {kernel}: no overlap");
            }
            var firstPrevious = log.ToList().IndexOf(previousKernels[0]);
            var lastPrevious = log.ToList().IndexOf(previousKernels[^1]);
            var waits = log.Take(lastPrevious).Skip(firstPrevious).Where(op => op.Kind == StreamOperation.HostWait).ToList();
            Assert.True(waits.Count == 0, $"batch {b - 1}: the host waited while issuing it: {string.Join(", ", waits)}");
        }
    }
}
