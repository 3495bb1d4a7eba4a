// GpuBackend.UploadAsync on the PTX emulator: same values as Upload, pinned staging reused, and the image loop on it.
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
        var viaAsync = Tensor.Empty([1031], DType.F32, gpu);
        gpu.UploadAsync(data, viaAsync);
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
            var t = Tensor.Empty([n], DType.F32, gpu);
            gpu.UploadAsync(data, t);
            uploaded.Add((t, data));
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

        // A larger batch grows a slot in place (free + allocate), never adds buffers.
        using (var big = Tensor.Empty([2 * n], DType.F32, gpu))
        {
            gpu.UploadAsync(RandomData(2 * n, 9), big);
        }
        Assert.Equal(2, emulator.LivePinnedBuffers);
        Assert.Equal(3L * n * sizeof(float), gpu.PinnedStagingBytes);

        foreach (var (tensor, _) in uploaded)
        {
            tensor.Dispose();
        }
        gpu.Dispose();
        Assert.Equal(0, emulator.LivePinnedBuffers);
    }

    [Fact]
    public void Image_loop_on_the_emulated_gpu_uses_async_uploads_and_matches_the_cpu()
    {
        const int size = 28;
        string[] files = [Fixtures.Path("vcp", "input.png"), Fixtures.Path("vcp", "input.png")];
        List<AnomalyImageResult> Run(IBackend backend)
        {
            using var model = VcpModel.Load(Fixtures.Path("clip", "tiny_clip.pt"), Fixtures.Path("vcp", "vcp_head.pth"), backend);
            var results = new List<AnomalyImageResult>();
            // Batch size 1: two batches, so both staging slots are used.
            new ImageInferenceLoop(new VcpInference(model, size), backend, 1).Run(
                files, (_, _, r) => results.Add(r), (path, e) => throw new InvalidOperationException(path, e));
            return results;
        }
        var expected = Run(CpuBackend.Instance);
        using var emulator = new PtxEmulator();
        using var gpu = new GpuBackend(emulator);
        var actual = Run(gpu);
        Assert.Equal(2, actual.Count);
        Assert.Equal(2, emulator.AsyncCopies);
        for (var i = 0; i < 2; i++)
        {
            // Same bound as the single-image pipeline test: fp32 on both sides, different summation orders.
            GradientCheck.AssertClose(Array.ConvertAll(expected[i].Map, v => (double)v), actual[i].Map, 1e-4, 0);
            Assert.InRange(Math.Abs(actual[i].Score - expected[i].Score), 0, 1e-4);
        }
    }
}
