// `vcp-native eval`: run VCP-CLIP or ViP2-CLIP over a labelled dataset and report the authors' metrics per class and on average.
using System.CommandLine;
using VcpNative.Anomaly.Evaluation;

namespace VcpNative.Cli.Commands;

public static class EvalCommand
{
    public static Command Create()
    {
        var run = new DatasetRunOptionSet("CLIP weights (as for infer)", "Output folder");
        var head = MethodOptions.Head();
        var method = MethodOptions.Method();
        var saveMaps = new Option<bool>("--save-maps") { Description = "Write maps/<stem>.npy before per-class normalisation" };
        var shard = ShardOption.Create("test images (metrics: 'vcp-native merge --eval')");
        var compute = ComputeOption.Create();
        var command = new Command("eval", "Evaluate VCP-CLIP or ViP2-CLIP on a dataset: pixel/image AUROC, AUPRO, AP, F1-max, IoU per class")
        {
            run.Clip, head, method, run.Dataset, run.Root, run.Classes, run.ImageSize, run.BatchSize, saveMaps, shard, compute, run.NoReport, run.Output,
        };
        command.SetAction(parse =>
        {
            var backend = GlobalOptions.ResolveBackend(parse);
            return Run(new EvaluatorOptions(run.Read(parse), parse.GetValue(head)!)
            {
                Method = parse.GetValue(method),
                Compute = ComputeOption.Read(parse, compute, backend),
                SaveMaps = parse.GetValue(saveMaps),
                Shard = ShardOption.Read(parse, shard),
                WriteReport = !parse.GetValue(run.NoReport),
            }, backend, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        });
        return command;
    }

    public static int Run(EvaluatorOptions options, Tensors.IBackend backend, TextWriter stdout, TextWriter stderr)
    {
        EvaluationOutcome result;
        using (var observer = new ConsoleRunObserver(stdout, stderr))
        {
            result = new Evaluator(backend, observer).Run(options);
        }
        if (options.Shard is { } shard)
        {
            stdout.WriteLine($"eval ({result.Method}) shard {shard}: {result.Images} images scored into {options.Output}; metrics: vcp-native merge --eval -o OUT <every shard's folder>");
            return FailureReport.Write(result.Failures, stderr);
        }
        stdout.Write(MetricsReport.Markdown(result.Rows, MetricsReport.Mean(result.Rows)));
        stdout.WriteLine($"eval ({result.Method}): {result.Images} images, {result.Rows.Count} {(result.Rows.Count == 1 ? "class" : "classes")}; metrics in {Path.Combine(options.Output, "metrics.md")}{(options.WriteReport ? $", report in {Path.Combine(options.Output, "report.html")}" : "")}");
        return FailureReport.Write(result.Failures, stderr);
    }
}
