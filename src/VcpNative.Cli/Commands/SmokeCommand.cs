// `vcp-native smoke`: a quick end-to-end check of the tensor runtime on random data (forward, backward, timing).
using System.CommandLine;
using System.Diagnostics;
using VcpNative.Tensors;
using VcpNative.Tensors.Autograd;

namespace VcpNative.Cli.Commands;

/// <summary>
/// Runs a random two-layer MLP block forward and backward, checks one gradient against finite differences,
/// and times a ViT-L-sized linear layer. Used by the README until `demo` exists.
/// </summary>
public static class SmokeCommand
{
    public static Command Create()
    {
        var command = new Command("smoke", "Check the tensor runtime on random data and time one ViT-L/14 linear layer");
        command.SetAction(parse =>
        {
            var backend = GlobalOptions.ResolveBackend(parse);
            var o = parse.InvocationConfiguration.Output;
            var rng = new System.Random(1);
            using var x = RandomTensor([8, 32], rng, backend);
            using var w1 = RandomTensor([64, 32], rng, backend, requiresGrad: true);
            using var w2 = RandomTensor([16, 64], rng, backend);
            var analytic = Loss(x, w1, w2, backward: true);
            var g = w1.Grad!.ToArray();
            // central difference on a few weights
            var data = w1.AsSpan();
            double worst = 0;
            for (var i = 0; i < data.Length; i += 97)
            {
                var saved = data[i];
                data[i] = saved + 1e-2f;
                var plus = Loss(x, w1, w2, backward: false);
                data[i] = saved - 1e-2f;
                var minus = Loss(x, w1, w2, backward: false);
                data[i] = saved;
                var numeric = (plus - minus) / 2e-2;
                worst = Math.Max(worst, Math.Abs(numeric - g[i]) / Math.Max(1e-3, Math.Abs(numeric)));
            }
            o.WriteLine($"mlp forward+backward: loss {analytic:F6}, worst relative gradient error vs finite differences {worst:E2}");
            if (worst > 5e-2)
            {
                throw new InvalidOperationException($"gradient check failed: relative error {worst:E2} > 5e-2");
            }

            // The CPU matrix-multiply kernel this build chose (NEON on arm64, AVX-512 or AVX2 on x64) against float64.
            var gemm = Tensors.Cpu.SgemmSelfCheck.Run();
            o.WriteLine($"sgemm {gemm.Kernel}: {gemm.Products} products on odd shapes (all transposes, alpha/beta, {gemm.Elements} elements) vs float64: worst error {gemm.WorstRatio:F3} of the fp32 bound");
            if (!gemm.Passed)
            {
                throw new InvalidOperationException($"sgemm check failed: kernel {gemm.Kernel} is {gemm.WorstRatio:G3} times over the fp32 rounding bound");
            }

            using var tokens = RandomTensor([1370, 1024], rng, backend);
            using var fc = RandomTensor([4096, 1024], rng, backend);
            using (Tape.NoGrad())
            {
                using (Ops.Linear(tokens, fc))
                {
                }
                var sw = Stopwatch.StartNew();
                using (Ops.Linear(tokens, fc))
                {
                }
                var seconds = sw.Elapsed.TotalSeconds;
                var gflops = 2.0 * 1370 * 1024 * 4096 / seconds / 1e9;
                o.WriteLine($"linear 1370x1024 -> 4096 (ViT-L/14 MLP at 518 px): {seconds * 1000:F1} ms, {gflops:F1} GFLOP/s on {Tensors.CpuParallel.Threads} threads");
            }
            o.WriteLine("smoke: ok");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static double Loss(Tensor x, Tensor w1, Tensor w2, bool backward)
    {
        using var scope = new TensorScope();
        using var noGrad = backward ? null : Tape.NoGrad();
        var h = Ops.Gelu(Ops.Linear(x, w1));
        var y = Ops.Linear(h, w2);
        var loss = Ops.Mean(Ops.Square(y));
        if (backward)
        {
            loss.Backward();
        }
        return loss.Item();
    }

    private static Tensor RandomTensor(int[] shape, System.Random rng, IBackend backend, bool requiresGrad = false)
    {
        var data = new float[Shapes.Numel(shape)];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(rng.NextDouble() * 2 - 1) * 0.5f;
        }
        var t = Tensor.FromArray(data, shape, backend);
        t.RequiresGrad = requiresGrad;
        return t;
    }
}
