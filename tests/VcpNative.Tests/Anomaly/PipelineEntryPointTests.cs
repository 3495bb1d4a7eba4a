// The library entry points without the CLI: Trainer and Evaluator report to an observer and write what the verbs write.
using VcpNative.Anomaly.Datasets;
using VcpNative.Anomaly.Synthetic;
using VcpNative.Tensors.Cpu;
using Xunit;

namespace VcpNative.Tests.Anomaly;

public class PipelineEntryPointTests
{
    /// <summary>Records every event, in order.</summary>
    private sealed class RecordingObserver : IRunObserver
    {
        public List<string> Events { get; } = [];

        public void OnProgress(string stage, int done, int total, string? status) => Events.Add($"progress {stage} {done}/{total}");

        public void OnStageFinished(string stage) => Events.Add($"finished {stage}");

        public void OnLog(string message) => Events.Add($"log {message}");

        public void OnEpoch(EpochReport epoch) => Events.Add($"epoch {epoch.Epoch}/{epoch.Epochs} step {epoch.Steps}");

        public void OnCheckpoint(string path) => Events.Add($"checkpoint {Path.GetFileName(path)}");
    }

    private static string Synth(string dir)
    {
        var data = Path.Combine(dir, "data");
        SyntheticDataset.Generate(data, 3, new SyntheticOptions { ImageSize = 32, Classes = ["dots"] });
        return data;
    }

    [Fact]
    public void TrainerReportsStepsEpochsAndCheckpointsToItsObserver()
    {
        using var temp = new TempDirectory("pipelines");
        var observer = new RecordingObserver();
        var output = Path.Combine(temp.Path, "o");
        var outcome = new Trainer(CpuBackend.Instance, observer).Run(new TrainerOptions
        {
            Clip = Fixtures.Path("clip", "tiny_clip.pt"),
            Init = Fixtures.Path("vcp", "vcp_head.pth"),
            Data = Synth(temp.Path),
            Layout = DatasetLayout.MvtecAd,
            ImageSize = 28,
            BatchSize = 4,
            Epochs = 1,
            Augment = false,
            Output = output,
        });
        var stepsPerEpoch = outcome.Steps;
        Assert.True(stepsPerEpoch >= 1);
        Assert.Equal(0, outcome.Failures);
        Assert.Contains($"progress train {stepsPerEpoch}/{stepsPerEpoch}", observer.Events);
        Assert.Contains($"epoch 1/1 step {stepsPerEpoch}", observer.Events);
        Assert.Contains("checkpoint epoch_1.safetensors", observer.Events);
        Assert.Contains("checkpoint last.safetensors", observer.Events);
        Assert.Contains("finished train", observer.Events);
        Assert.StartsWith($"log train: {stepsPerEpoch} steps; heads in ", observer.Events[^1]);
        Assert.True(File.Exists(Path.Combine(output, "train_log.jsonl")));
    }

    [Fact]
    public void TrainerRefusesAMissingResumeNamingTheOptionNotAFlag()
    {
        using var temp = new TempDirectory("pipelines");
        var e = Assert.Throws<RunSetupException>(() => new Trainer(CpuBackend.Instance).Run(new TrainerOptions
        {
            Clip = Fixtures.Path("clip", "tiny_clip.pt"),
            Data = Synth(temp.Path),
            ImageSize = 28,
            Resume = true,
            Output = Path.Combine(temp.Path, "o"),
        }));
        Assert.Equal(nameof(TrainerOptions.Resume), e.Setting);
        Assert.DoesNotContain("--", e.Message);
    }

    [Fact]
    public void EvaluatorScoresEveryImageAndWritesTheVerbsFiles()
    {
        using var temp = new TempDirectory("pipelines");
        var observer = new RecordingObserver();
        var output = Path.Combine(temp.Path, "eval");
        var outcome = new Evaluator(CpuBackend.Instance, observer).Run(new EvaluatorOptions
        {
            Clip = Fixtures.Path("clip", "tiny_clip.pt"),
            Head = Fixtures.Path("vcp", "vcp_head.pth"),
            Root = Synth(temp.Path),
            Layout = DatasetLayout.MvtecAd,
            ImageSize = 28,
            BatchSize = 4,
            Output = output,
        });
        Assert.Equal("vcp", outcome.Method);
        Assert.Empty(outcome.Failures);
        Assert.Equal(["dots"], outcome.Rows.Select(r => r.ClassName));
        Assert.Contains($"progress eval vcp {outcome.Images}/{outcome.Images}", observer.Events);
        Assert.Equal("finished eval vcp", observer.Events[^1]);
        foreach (var file in new[] { "results.json", "results.csv", "metrics.md", "metrics.json" })
        {
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        }
    }
}
