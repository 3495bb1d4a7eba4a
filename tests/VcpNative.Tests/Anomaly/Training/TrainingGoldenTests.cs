// Golden test of one VCP-CLIP training step (loss, every head gradient, Adam update) against the authors' step in PyTorch.
using VcpNative.Anomaly.Training;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Anomaly.Training;

public class TrainingGoldenTests
{
    private readonly ITestOutputHelper output;

    public TrainingGoldenTests(ITestOutputHelper output) => this.output = output;

    [Fact]
    public void OneStepMatchesAuthorsTrainingStepInPyTorch()
    {
        using var expected = Fixtures.Expected("train", "train_step.safetensors");
        using var model = TrainingFixtures.LoadModel();
        var trainer = new VcpTrainer(model, new VcpTrainingOptions { ImageSize = TrainingFixtures.Size, Dropout = 0f });
        var (images, masks) = TrainingFixtures.Batch(expected);
        using var features = trainer.ComputeFeatures(images);
        var loss = trainer.ComputeGradients(features, masks);

        // Losses within 1e-4 relative: fp32 on both sides, different summation orders over 2*112*112 pixels.
        AssertRelative(expected["loss"].ToFloat32()[0], loss.Loss, 1e-4, "loss");
        AssertRelative(expected["loss_raw"].ToFloat32()[0], loss.LossRaw, 1e-4, "loss_raw");
        AssertRelative(expected["loss_new"].ToFloat32()[0], loss.LossNew, 1e-4, "loss_new");

        // Every gradient within 1e-3 relative in norm (or 1e-6 absolute): back-propagation through the text tower
        // and two softmaxes in fp32 amplifies rounding differences a little.
        var grads = trainer.Gradients();
        var expectedNames = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in expected.Names)
        {
            if (name.StartsWith("grad.", StringComparison.Ordinal))
            {
                expectedNames.Add(name["grad.".Length..]);
            }
        }
        Assert.Equal(expectedNames, new SortedSet<string>(grads.Keys, StringComparer.Ordinal));   // prompt_text_projection gets none
        Assert.Equal(27, expectedNames.Count);     // 28 head tensors, all but prompt_text_projection
        var worst = 0.0;
        foreach (var name in expectedNames)
        {
            var want = expected["grad." + name].ToFloat32();
            var got = grads[name].ToArray();
            Assert.Equal(want.Length, got.Length);
            var diff = TrainingFixtures.DiffNorm(got, want);
            var norm = TrainingFixtures.Norm(want);
            var rel = diff / Math.Max(norm, 1e-30);
            output.WriteLine($"grad {name}: |g_ref| {norm:G4}, |g - g_ref| / |g_ref| {rel:G3}");
            Assert.True(diff <= 1e-3 * norm || diff <= 1e-6, $"gradient {name}: |g - g_ref| = {diff:G4} > 1e-3 * {norm:G4}");
            worst = Math.Max(worst, rel);
        }
        output.WriteLine($"worst gradient relative error {worst:G3}; loss {loss.Loss} (ref {expected["loss"].ToFloat32()[0]})");

        // One Adam step (two groups, betas 0.5/0.999): parameters within 1e-5 relative in norm of torch.optim.Adam's.
        var before = new Dictionary<string, float[]>();
        foreach (var name in ZeroGradient)
        {
            before[name] = model.Heads.Parameters.Get(name).ToArray();
        }
        trainer.Optimizer.Step();
        // Biases with an analytically zero gradient (the fixture leaves them out): Adam's first step moves each
        // element by lr * |g| / (|g| + eps) <= lr, whatever the rounding noise in g.
        foreach (var name in ZeroGradient)
        {
            var now = model.Heads.Parameters.Get(name).ToArray();
            for (var i = 0; i < now.Length; i++)
            {
                Assert.InRange(Math.Abs(now[i] - before[name][i]), 0, 4e-5 * 1.001);
            }
        }
        var after = 0;
        var worstParam = 0.0;
        foreach (var name in expected.Names)
        {
            if (!name.StartsWith("after.", StringComparison.Ordinal))
            {
                continue;
            }
            var p = model.Heads.Parameters.Get(name["after.".Length..]);
            var want = expected[name].ToFloat32();
            var got = p.ToArray();
            var diff = TrainingFixtures.DiffNorm(got, want);
            var norm = TrainingFixtures.Norm(want);
            Assert.True(diff <= 1e-5 * norm, $"{name}: |p - p_ref| = {diff:G4} > 1e-5 * {norm:G4}");
            worstParam = Math.Max(worstParam, diff / norm);
            after++;
        }
        output.WriteLine($"worst parameter relative error after Adam {worstParam:G3} over {after} tensors");
        Assert.Equal(16, after);
    }

    private static readonly string[] ZeroGradient = ["Zero_try.k_proj_pre_1.bias", "New_Lan_Embed.prompt_linear1.fc.bias"];

    private static void AssertRelative(double expected, double actual, double rtol, string what) =>
        Assert.True(Math.Abs(actual - expected) <= rtol * Math.Abs(expected), $"{what}: expected {expected:G9}, got {actual:G9}");
}
