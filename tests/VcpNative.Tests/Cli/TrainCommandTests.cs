// `vcp-native train` end to end: checkpoints, log, gradient dump, and resume equal to an uninterrupted run.
using System.Text.Json;
using VcpNative.Cli;
using VcpNative.WeightsConverter;
using Xunit;

namespace VcpNative.Tests.Cli;

public class TrainCommandTests
{
    private static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "vcp-train-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string[] Args(string data, string output, params string[] extra) =>
    [
        "train", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--init", Fixtures.Path("vcp", "vcp_head.pth"),
        "--data", data, "--dataset", "mvtec", "--image-size", "28", "--batch-size", "4", "--epochs", "2",
        "--augment", "off", "--seed", "5", "-o", output, .. extra,
    ];

    private static string Synth(string dir)
    {
        var data = Path.Combine(dir, "data");
        Assert.Equal(0, CliApp.Run(["synth", "-o", data, "--seed", "3", "--image-size", "32", "--classes", "dots,bolt"], new StringWriter(), new StringWriter()));
        return data;
    }

    [Fact]
    public void UsedOutputIsRefusedUnlessResumedWithTheSameSettingsOrOverwritten()
    {
        var dir = TempDir();
        var data = Synth(dir);
        var output = Path.Combine(dir, "run");
        int Train(StringWriter err, params string[] extra) => CliApp.Run(Args(data, output, extra), new StringWriter(), err);
        Assert.Equal(0, Train(new StringWriter(), "--steps", "2", "--checkpoint-every", "1"));
        Assert.True(File.Exists(Path.Combine(output, "train_settings.json")));
        var last = File.ReadAllBytes(Path.Combine(output, "last.safetensors"));

        // A second run into the used folder: a usage error before any step, nothing touched.
        var refused = new StringWriter();
        Assert.Equal(ExitCodes.Usage, Train(refused, "--steps", "2"));
        Assert.Contains("--output: ", refused.ToString());
        Assert.Contains("is not empty", refused.ToString());
        Assert.Equal(last, File.ReadAllBytes(Path.Combine(output, "last.safetensors")));

        // Resuming with other hyperparameters names each one; a larger step count alone is fine.
        var changed = new StringWriter();
        Assert.Equal(ExitCodes.Usage, Train(changed, "--resume", "--steps", "3", "--lr", "2e-5", "--dropout", "0.25"));
        Assert.Contains("--dropout 0.1 -> 0.25", changed.ToString());
        Assert.Contains("--lr 4E-05 -> 2E-05", changed.ToString());
        Assert.DoesNotContain("--steps", changed.ToString().Split("(")[1].Split(")")[0]);
        var fewer = new StringWriter();
        Assert.Equal(ExitCodes.Usage, Train(fewer, "--resume", "--steps", "1"));
        Assert.Contains("--steps 2 -> 1", fewer.ToString());
        var resumed = new StringWriter();
        Assert.True(Train(resumed, "--resume", "--steps", "3") == 0, resumed.ToString());

        // --overwrite starts again: old epoch files and log are gone, the run's own ones written.
        File.WriteAllText(Path.Combine(output, "epoch_9.safetensors"), "stale");
        Assert.Equal(0, Train(new StringWriter(), "--overwrite", "--steps", "1"));
        Assert.False(File.Exists(Path.Combine(output, "epoch_9.safetensors")));
        Assert.Single(File.ReadAllLines(Path.Combine(output, "train_log.jsonl")));
        Assert.Equal(ExitCodes.Usage, Train(new StringWriter(), "--overwrite", "--resume"));
    }

    [Fact]
    public void KilledMidEpochAndResumedEqualsAnUninterruptedRun()
    {
        var dir = TempDir();
        var data = Synth(dir);
        var whole = Path.Combine(dir, "whole");
        var err = new StringWriter();
        Assert.True(CliApp.Run(Args(data, whole), new StringWriter(), err) == 0, err.ToString());
        var log = File.ReadAllLines(Path.Combine(whole, "train_log.jsonl"));
        Assert.True(log.Length >= 4);
        using (var first = JsonDocument.Parse(log[0]))
        {
            foreach (var key in new[] { "step", "loss", "loss_raw", "loss_new", "lr", "images_per_s" })
            {
                Assert.True(first.RootElement.TryGetProperty(key, out _), key);
            }
        }
        Assert.True(File.Exists(Path.Combine(whole, "epoch_1.safetensors")));
        Assert.True(File.Exists(Path.Combine(whole, "epoch_2.safetensors")));

        // "Kill" after 3 steps (mid-epoch, checkpointing every step), then resume to the end.
        var split = Path.Combine(dir, "split");
        Assert.Equal(0, CliApp.Run(Args(data, split, "--steps", "3", "--checkpoint-every", "1"), new StringWriter(), new StringWriter()));
        Assert.False(File.Exists(Path.Combine(split, "epoch_2.safetensors")));
        Assert.Equal(0, CliApp.Run(Args(data, split, "--resume"), new StringWriter(), new StringWriter()));

        using var a = WeightLoader.LoadVerbatim(Path.Combine(whole, "last.safetensors"));
        using var b = WeightLoader.LoadVerbatim(Path.Combine(split, "last.safetensors"));
        Assert.Equal(a.Names.Order(), b.Names.Order());
        foreach (var name in a.Names)
        {
            Assert.True(a[name].ToFloat32().AsSpan().SequenceEqual(b[name].ToFloat32()), $"{name} differs after resume");
        }
        Assert.Equal(log.Length, File.ReadAllLines(Path.Combine(split, "train_log.jsonl")).Length);
    }

    [Fact]
    public void ProcessKilledMidEpochAndResumedEqualsAnUninterruptedRun()
    {
        var dir = TempDir();
        var data = Synth(dir);
        var whole = Path.Combine(dir, "whole");
        Assert.Equal(0, CliApp.Run(Args(data, whole), new StringWriter(), new StringWriter()));

        // A real kill: the CLI in a child process, killed once its log shows 3 finished steps (mid-epoch; the kill
        // lands wherever the process happens to be, possibly inside a checkpoint write).
        var killed = Path.Combine(dir, "killed");
        var cli = Path.Combine(AppContext.BaseDirectory, "vcp-native.dll");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(cli);
        foreach (var arg in Args(data, killed, "--checkpoint-every", "1"))
        {
            start.ArgumentList.Add(arg);
        }
        using (var child = System.Diagnostics.Process.Start(start)!)
        {
            child.OutputDataReceived += (_, _) => { };
            child.ErrorDataReceived += (_, _) => { };
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            var log = Path.Combine(killed, "train_log.jsonl");
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (!child.HasExited && DateTime.UtcNow < deadline && (!File.Exists(log) || GrowingFile.LineCount(log) < 3))
            {
                Thread.Sleep(20);
            }
            Assert.False(child.HasExited, "training finished before it could be killed");
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }
        Assert.Equal(0, CliApp.Run(Args(data, killed, "--resume"), new StringWriter(), new StringWriter()));

        using var a = WeightLoader.LoadVerbatim(Path.Combine(whole, "last.safetensors"));
        using var b = WeightLoader.LoadVerbatim(Path.Combine(killed, "last.safetensors"));
        foreach (var name in a.Names)
        {
            Assert.True(a[name].ToFloat32().AsSpan().SequenceEqual(b[name].ToFloat32()), $"{name} differs after kill and resume");
        }
    }

    [Fact]
    public void ValidationAfterEachEpochLogsWhatEvalComputesForThatEpochsHeads()
    {
        var dir = TempDir();
        var data = Synth(dir);
        var val = Path.Combine(dir, "val");
        Assert.Equal(0, CliApp.Run(["synth", "-o", val, "--seed", "11", "--image-size", "32", "--classes", "stripes"], new StringWriter(), new StringWriter()));
        var output = Path.Combine(dir, "o");
        var stdout = new StringWriter();
        var err = new StringWriter();
        Assert.True(CliApp.Run(Args(data, output, "--val-data", val), stdout, err) == 0, err.ToString());
        var lines = File.ReadAllLines(Path.Combine(output, "train_log.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var validations = lines.Where(l => l.TryGetProperty("val_ap_px", out _)).ToList();
        Assert.Equal(2, validations.Count); // one per epoch
        Assert.Equal(2, stdout.ToString().Split('\n').Count(l => l.StartsWith("train: validation after step", StringComparison.Ordinal)));
        using var epoch1 = WeightLoader.LoadVerbatim(Path.Combine(output, "epoch_1.safetensors"));
        var logged = validations[0].GetProperty("val_ap_px").GetDouble();
        Assert.InRange(logged, 0.0, 1.0);
        Assert.Equal(1, validations[0].GetProperty("val_classes").GetInt32());
        Assert.Equal(logged, double.Parse(epoch1.Metadata["val.ap_px"], System.Globalization.CultureInfo.InvariantCulture));

        // Independent path: `eval` of the epoch-1 heads on the same data gives the same class-mean pixel AP.
        var evalOut = Path.Combine(dir, "eval");
        Assert.True(CliApp.Run(
        [
            "eval", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Path.Combine(output, "epoch_1.safetensors"),
            "--dataset", "mvtec", "--data", val, "--image-size", "28", "-o", evalOut,
        ], new StringWriter(), err) == 0, err.ToString());
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(evalOut, "metrics.json")));
        Assert.Equal(metrics.RootElement.GetProperty("mean").GetProperty("ap_px").GetDouble(), logged, 9);
        Assert.Equal(metrics.RootElement.GetProperty("mean").GetProperty("auroc_px").GetDouble(), validations[0].GetProperty("val_auroc_px").GetDouble(), 9);
    }

    [Fact]
    public void MissingValidationDataFailsBeforeTheFirstStep()
    {
        var dir = TempDir();
        var data = Synth(dir);
        var output = Path.Combine(dir, "o");
        var err = new StringWriter();
        Assert.NotEqual(0, CliApp.Run(Args(data, output, "--val-data", Path.Combine(dir, "nowhere")), new StringWriter(), err));
        Assert.Contains("nowhere", err.ToString());
        Assert.False(File.Exists(Path.Combine(output, "last.safetensors")));
    }

    [Fact]
    public void DumpGradsWritesFirstStepGradientsWithTheLoss()
    {
        var dir = TempDir();
        var data = Synth(dir);
        var grads = Path.Combine(dir, "grads.safetensors");
        Assert.Equal(0, CliApp.Run(Args(data, Path.Combine(dir, "o"), "--steps", "1", "--dump-grads", grads), new StringWriter(), new StringWriter()));
        using var g = WeightLoader.LoadVerbatim(grads);
        Assert.True(g.Contains("trainable_linearlayer.fc.0.weight"));
        Assert.True(g.Contains("prompt_embeddings"));
        Assert.False(g.Contains("prompt_text_projection"));
        var loss = double.Parse(g.Metadata["loss"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(loss > 0 && double.IsFinite(loss));
        using var firstLog = JsonDocument.Parse(File.ReadLines(Path.Combine(dir, "o", "train_log.jsonl")).First());
        Assert.Equal(loss, firstLog.RootElement.GetProperty("loss").GetDouble(), 5);
    }
}

public class TrainVip2CommandTests
{
    [Fact]
    public void Vip2TrainsFromTheAuthorsCheckpointAndLogsItsLossParts()
    {
        using var temp = new TempDirectory("vcp-train-vip2");
        var data = Path.Combine(temp.Path, "data");
        Assert.Equal(0, CliApp.Run(["synth", "-o", data, "--seed", "4", "--image-size", "32", "--classes", "dots"], new StringWriter(), new StringWriter()));
        var output = Path.Combine(temp.Path, "o");
        var err = new StringWriter();
        var code = CliApp.Run(
        [
            "train", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--init", Fixtures.Path("vip2", "vip2_head.pth"),
            "--data", data, "--dataset", "mvtec", "--image-size", "28", "--batch-size", "4", "--steps", "2", "--augment", "off", "-o", output,
        ], new StringWriter(), err);
        Assert.True(code == 0, err.ToString());
        var line = File.ReadLines(Path.Combine(output, "train_log.jsonl")).First();
        Assert.Contains("\"loss_seg\"", line);
        Assert.Contains("\"loss_image\"", line);
        using var heads = WeightLoader.LoadVerbatim(Path.Combine(output, "last.safetensors"));
        Assert.True(heads.Contains("prompt_learner.ctx_pos"));
        Assert.Equal("vip2", VcpNative.Anomaly.Methods.AnomalyModelLoader.DetectMethod(Path.Combine(output, "last.safetensors")));
    }

    [Fact]
    public void Vip2WithoutInitIsRefusedWithOneLine()
    {
        using var temp = new TempDirectory("vcp-train-vip2");
        var err = new StringWriter();
        Assert.Equal(0, CliApp.Run(["synth", "-o", temp.Path, "--seed", "4", "--image-size", "32", "--classes", "dots"], new StringWriter(), new StringWriter()));
        var code = CliApp.Run(["train", "--method", "vip2", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--data", temp.Path, "--dataset", "mvtec", "-o", Path.Combine(temp.Path, "o")], new StringWriter(), err);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--init", err.ToString());
    }
}
