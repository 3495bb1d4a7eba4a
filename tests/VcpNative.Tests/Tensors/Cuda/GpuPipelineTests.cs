// Whole graphs on GpuBackend(PtxEmulator) vs CpuBackend: a training-style backward pass and VCP-CLIP inference.
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Preprocessing;
using VcpNative.IO.Images;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Emulator;
using Xunit;
using VcpNative.Verification;

namespace VcpNative.Tests.Tensors.Cuda;

public class GpuPipelineTests
{
    /// <summary>loss = sum(softmax(layernorm(gelu(x W^T + b))) * r); returns the loss and the gradients of x, W, b, gamma, beta.</summary>
    private static float[][] LinearGeluLayerNormSoftmax(IBackend backend)
    {
        using var scope = new TensorScope();
        var x = KernelVerification.Input(backend, [3, 11, 37], 1, grad: true);
        var w = KernelVerification.Input(backend, [29, 37], 2, -0.3f, 0.3f, grad: true);
        var b = KernelVerification.Input(backend, [29], 3, grad: true);
        var gamma = KernelVerification.Input(backend, [29], 4, 0.5f, 1.5f, grad: true);
        var beta = KernelVerification.Input(backend, [29], 5, grad: true);
        var r = KernelVerification.Input(backend, [3, 11, 29], 6);
        var h = Ops.Softmax(Ops.LayerNorm(Ops.Gelu(Ops.Linear(x, w, b)), gamma, beta, 1e-5f));
        var loss = Ops.Sum(Ops.Mul(h, r));
        loss.Backward();
        return [loss.ToArray(), x.Grad!.ToArray(), w.Grad!.ToArray(), b.Grad!.ToArray(), gamma.Grad!.ToArray(), beta.Grad!.ToArray()];
    }

    [Fact]
    public void Backward_through_linear_gelu_layernorm_softmax_sum_matches_the_cpu()
    {
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        var expected = LinearGeluLayerNormSoftmax(CpuBackend.Instance);
        var actual = LinearGeluLayerNormSoftmax(gpu);
        string[] names = ["loss", "dx", "dW", "db", "dgamma", "dbeta"];
        for (var i = 0; i < expected.Length; i++)
        {
            // 1e-4 relative (the bound) plus a 1e-6 floor for gradients that cancel to ~0: both sides are fp32
            // with different reduction orders (warp trees vs double accumulators) and ex2-based exp.
            GradientCheck.AssertClose(Array.ConvertAll(expected[i], v => (double)v), actual[i], 1e-6, 1e-4, names[i]);
        }
        Assert.Equal(0, gpu.HostFallbackCalls);
    }

    [Fact]
    public void Vcp_inference_on_the_emulated_gpu_matches_the_cpu()
    {
        using var gpu = new GpuBackend(new PtxEmulator(), ownsDriver: true);
        AssertVcpMatchesCpu(Fixtures.Path("clip", "tiny_clip.pt"), gpu);
        // Every op of VCP inference runs on kernels now: nothing may take the host path.
        Assert.Equal(0, gpu.HostFallbackCalls);
        Assert.Contains("attention_forward", gpu.KernelsUsed);
        Assert.Empty(GpuBackend.HostFallbackOps);
    }

    /// <summary>
    /// VCP-CLIP on the fixture image at 28 px with <paramref name="clipPath"/> and the fixture heads, on the CPU and on
    /// <paramref name="gpu"/>: maps and score within 1e-4 (the bound; fp32 on both sides, different summation orders).
    /// </summary>
    internal static void AssertVcpMatchesCpu(string clipPath, GpuBackend gpu)
    {
        const int size = 28;
        var data = ClipPreprocess.ToTensorData(ImageDecoder.DecodeRgb(Fixtures.Path("vcp", "input.png")), size);
        AnomalyImageResult Run(IBackend backend)
        {
            using var model = VcpModel.Load(clipPath, Fixtures.Path("vcp", "vcp_head.pth"), backend);
            using var scope = new TensorScope();
            return new VcpInference(model, size).Run(Tensor.FromArray(data, [1, 3, size, size], backend))[0];
        }
        var expected = Run(CpuBackend.Instance);
        var actual = Run(gpu);
        GradientCheck.AssertClose(Array.ConvertAll(expected.Map, v => (double)v), actual.Map, 1e-4, 0);
        Assert.InRange(Math.Abs(actual.Score - expected.Score), 0, 1e-4);
    }
}
