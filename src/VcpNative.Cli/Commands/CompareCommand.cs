// `vcp-native compare`: evaluate several head files (VCP-CLIP and/or ViP2-CLIP) on one dataset, tables side by side.
using System.CommandLine;
using VcpNative.Tensors;

namespace VcpNative.Cli.Commands;

/// <summary>
/// Each head is evaluated exactly as `eval` does (method detected per head, CLIP built for that method from the same
/// weight file, the method's own per-class normalisation) into OUT/&lt;n&gt;-&lt;method&gt;/; then compare.md and
/// compare.json hold the class means of every metric per head, and optionally the per-class values.
/// </summary>
public static class CompareCommand
{
    public static Command Create()
    {
        var clip = new Option<string>("--clip") { Description = "CLIP weights (as for infer); each method builds its CLIP variant from it", Required = true };
        var heads = new Option<string[]>("--heads")
        {
            Description = "Two or more head files (VCP-CLIP and/or ViP2-CLIP; method detected per file)",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.OneOrMore,
        };
        var dataset = DatasetOptions.Dataset();
        var root = DatasetOptions.Root();
        var classes = DatasetOptions.Classes();
        var size = new Option<int>("--image-size") { Description = "Square input size", DefaultValueFactory = _ => 518 };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 1 };
        var perClass = new Option<bool>("--per-class") { Description = "Also list every class's metrics per head in compare.md" };
        var output = new Option<string>("--output", "-o") { Description = "Output folder (compare.md, compare.json, one eval folder per head)", Required = true };
        var command = new Command("compare", "Evaluate several heads (e.g. VCP-CLIP vs ViP2-CLIP) on one dataset and print their metrics side by side")
        {
            clip, heads, dataset, root, classes, size, batch, perClass, output,
        };
        command.SetAction(parse => Run(new ComparisonOptions
        {
            Clip = parse.GetValue(clip)!,
            Heads = parse.GetValue(heads)!,
            Layout = DatasetOptions.Layout(parse.GetValue(dataset)!),
            Root = parse.GetValue(root)!,
            Classes = parse.GetValue(classes),
            ImageSize = parse.GetValue(size),
            BatchSize = parse.GetValue(batch),
            PerClass = parse.GetValue(perClass),
            Output = parse.GetValue(output)!,
        }, GlobalOptions.ResolveBackend(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    public static int Run(ComparisonOptions options, IBackend backend, TextWriter stdout, TextWriter stderr)
    {
        if (options.Heads.Count < 2)
        {
            throw new ArgumentException($"--heads needs at least two head files to compare, got {options.Heads.Count}");
        }
        ComparisonOutcome result;
        using (var observer = new ConsoleRunObserver(stdout, stderr))
        {
            result = new Evaluator(backend, observer).Compare(options);
        }
        stdout.Write(result.Markdown);
        stdout.WriteLine($"compare: {result.Heads.Count} heads on {result.Images} images; tables in {Path.Combine(options.Output, "compare.md")}");
        return FailureReport.Write(result.Failures, stderr);
    }
}
