// `vcp-native eval`: run VCP-CLIP or ViP2-CLIP over a labelled dataset and report the authors' metrics per class and on average.
using System.CommandLine;
using VcpNative.Anomaly.Evaluation;

namespace VcpNative.Cli.Commands;

public static class EvalCommand
{
    public static Command Create()
    {
        var clip = new Option<string>("--clip") { Description = "CLIP weights (as for infer)", Required = true };
        var head = MethodOptions.Head();
        var method = MethodOptions.Method();
        var dataset = DatasetOptions.Dataset();
        var root = DatasetOptions.Root();
        var classes = DatasetOptions.Classes();
        var size = new Option<int>("--image-size") { Description = "Square input size", DefaultValueFactory = _ => 518 };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 1 };
        var saveMaps = new Option<bool>("--save-maps") { Description = "Write maps/<stem>.npy before per-class normalisation" };
        var output = new Option<string>("--output", "-o") { Description = "Output folder", Required = true };
        var command = new Command("eval", "Evaluate VCP-CLIP or ViP2-CLIP on a dataset: pixel/image AUROC, AUPRO, AP, F1-max, IoU per class")
        {
            clip, head, method, dataset, root, classes, size, batch, saveMaps, output,
        };
        command.SetAction(parse => Run(new EvaluatorOptions
        {
            Clip = parse.GetValue(clip)!,
            Head = parse.GetValue(head)!,
            Method = parse.GetValue(method),
            Layout = DatasetOptions.Layout(parse.GetValue(dataset)!),
            Root = parse.GetValue(root)!,
            Classes = parse.GetValue(classes),
            ImageSize = parse.GetValue(size),
            BatchSize = parse.GetValue(batch),
            SaveMaps = parse.GetValue(saveMaps),
            Output = parse.GetValue(output)!,
        }, GlobalOptions.ResolveBackend(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    public static int Run(EvaluatorOptions options, Tensors.IBackend backend, TextWriter stdout, TextWriter stderr)
    {
        EvaluationOutcome result;
        using (var observer = new ConsoleRunObserver(stdout, stderr))
        {
            result = new Evaluator(backend, observer).Run(options);
        }
        stdout.Write(MetricsReport.Markdown(result.Rows, MetricsReport.Mean(result.Rows)));
        stdout.WriteLine($"eval ({result.Method}): {result.Images} images, {result.Rows.Count} {(result.Rows.Count == 1 ? "class" : "classes")}; metrics in {Path.Combine(options.Output, "metrics.md")}");
        return FailureReport.Write(result.Failures, stderr);
    }
}
