// Training N steps at once equals k steps, a checkpoint, fresh objects and N - k more steps, bit for bit.
using VcpNative.Anomaly.Features;
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Training;
using VcpNative.Tensors;
using VcpNative.WeightsConverter;
using Xunit;

namespace VcpNative.Tests.Anomaly.Training;

public sealed class CheckpointResumeTests : IDisposable
{
    private const int TotalSteps = 4;
    private const int StepsBeforeSave = 2;

    private readonly string folder = Directory.CreateTempSubdirectory("vcp-train-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static readonly VcpTrainingOptions Options = new() { ImageSize = TrainingFixtures.Size, Dropout = 0.1f, Seed = 333 };

    /// <summary>Alternates two batches (image 0, image 1) of the fixture; dropout on, so the random state matters.</summary>
    private static List<VcpStepLoss> Train(VcpTrainer trainer, ImageFeatures[] batches, Tensor[] masks, int from, int to)
    {
        var losses = new List<VcpStepLoss>();
        for (var s = from; s < to; s++)
        {
            losses.Add(trainer.TrainOnFeatures(batches[s % 2], masks[s % 2]));
        }
        return losses;
    }

    [Fact]
    public void ResumedTrainingIsBitIdenticalToUninterrupted()
    {
        using var fx = Fixtures.Expected("train", "train_step.safetensors");
        var (images, masks) = TrainingFixtures.Batch(fx);
        var maskParts = new[] { Ops.CopyOf(Ops.Narrow(masks, 0, 0, 1)), Ops.CopyOf(Ops.Narrow(masks, 0, 1, 1)) };

        // Uninterrupted run.
        using var modelA = TrainingFixtures.LoadModel();
        var a = new VcpTrainer(modelA, Options);
        using var all = a.ComputeFeatures(images);
        var batches = new[] { all.Slice(0, 1), all.Slice(1, 1) };
        var lossesA = Train(a, batches, maskParts, 0, TotalSteps);

        // Interrupted run: k steps, checkpoint, everything rebuilt from files, N - k steps.
        var checkpoint = Path.Combine(folder, "last.safetensors");
        List<VcpStepLoss> lossesB;
        using (var modelB = TrainingFixtures.LoadModel())
        {
            var b = new VcpTrainer(modelB, Options);
            lossesB = Train(b, batches, maskParts, 0, StepsBeforeSave);
            b.SaveCheckpoint(checkpoint, epoch: 1);
        }
        Assert.Empty(Directory.GetFiles(folder, "*.tmp"));           // atomic write leaves no temp file behind
        // The checkpoint is also a head file: load the heads from it directly.
        using var modelC = TrainingFixtures.LoadModel(checkpoint);
        var c = new VcpTrainer(modelC, Options);
        Assert.Equal(1, c.RestoreCheckpoint(checkpoint));
        Assert.Equal(StepsBeforeSave, c.StepsDone);
        lossesB.AddRange(Train(c, batches, maskParts, StepsBeforeSave, TotalSteps));

        Assert.Equal(lossesA, lossesB);
        Assert.Equal(a.Random.State, c.Random.State);
        Assert.Equal(TotalSteps, c.StepsDone);
        foreach (var (name, p) in a.Optimizer.AllParameters())
        {
            Assert.Equal(p.ToArray(), modelC.Heads.Parameters.Get(name).ToArray());      // exact float equality
            var sa = a.Optimizer.StateOf(name);
            var sc = c.Optimizer.StateOf(name);
            Assert.Equal(sa is null, sc is null);
            if (sa is not null)
            {
                Assert.Equal(sa.Step, sc!.Step);
                Assert.Equal(sa.ExpAvg, sc.ExpAvg);
                Assert.Equal(sa.ExpAvgSq, sc.ExpAvgSq);
            }
        }
        // Training moved the heads and dropout made consecutive steps on the same batch differ.
        Assert.NotEqual(lossesA[0].Loss, lossesA[2].Loss);
        foreach (var t in batches)
        {
            t.Dispose();
        }
    }

    [Fact]
    public void SameSeedSameRunDifferentSeedDifferentDropout()
    {
        using var fx = Fixtures.Expected("train", "train_step.safetensors");
        var (images, masks) = TrainingFixtures.Batch(fx);
        float LossWith(ulong seed)
        {
            using var model = TrainingFixtures.LoadModel();
            var t = new VcpTrainer(model, Options with { Seed = seed });
            return t.Step(images, masks).Loss;
        }
        Assert.Equal(LossWith(1), LossWith(1));
        Assert.NotEqual(LossWith(1), LossWith(2));
    }

    [Fact]
    public void HeadFileIsNotACheckpoint()
    {
        using var model = TrainingFixtures.LoadModel();
        var t = new VcpTrainer(model, Options);
        var ex = Assert.Throws<ModelFormatException>(() => t.RestoreCheckpoint(Fixtures.Path("vcp", "vcp_head.pth")));
        Assert.Contains("vcp-native-train", ex.Message);
    }

    [Fact]
    public void WrongMaskShapeIsRefused()
    {
        using var model = TrainingFixtures.LoadModel();
        var t = new VcpTrainer(model, Options);
        using var images = Tensor.Zeros([1, 3, TrainingFixtures.Size, TrainingFixtures.Size]);
        using var masks = Tensor.Zeros([1, 56, 56]);
        var ex = Assert.Throws<ShapeMismatchException>(() => t.Step(images, masks));
        Assert.Contains("vcp_train", ex.Message);
    }
}
