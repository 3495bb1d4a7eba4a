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
        var run = new DatasetRunOptionSet("CLIP weights (as for infer); each method builds its CLIP variant from it",
            "Output folder (compare.md, compare.json, one eval folder per head)");
        var heads = new Option<string[]>("--heads")
        {
            Description = "Two or more head files (VCP-CLIP and/or ViP2-CLIP; method detected per file)",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.OneOrMore,
        };
        var perClass = new Option<bool>("--per-class") { Description = "Also list every class's metrics per head in compare.md" };
        var command = new Command("compare", "Evaluate several heads (e.g. VCP-CLIP vs ViP2-CLIP) on one dataset and print their metrics side by side")
        {
            run.Clip, heads, run.Dataset, run.Root, run.Classes, run.ImageSize, run.BatchSize, perClass, run.NoReport, run.Output,
        };
        command.SetAction(parse => Run(new ComparisonOptions(run.Read(parse), parse.GetValue(heads)!) { PerClass = parse.GetValue(perClass), WriteReport = !parse.GetValue(run.NoReport) },
            GlobalOptions.ResolveBackend(parse), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    public static int Run(ComparisonOptions options, IBackend backend, TextWriter stdout, TextWriter stderr)
    {
        if (options.Heads.Count < 2)
        {
            throw new UsageException($"--heads needs at least two head files to compare, got {options.Heads.Count}");
        }
        ComparisonOutcome result;
        using (var observer = new ConsoleRunObserver(stdout, stderr))
        {
            result = new Evaluator(backend, observer).Compare(options);
        }
        stdout.Write(result.Markdown);
        stdout.WriteLine($"compare: {result.Heads.Count} heads on {result.Images} images; tables in {Path.Combine(options.Output, "compare.md")}{(options.WriteReport ? $", report in {Path.Combine(options.Output, "report.html")}" : "")}");
        return FailureReport.Write(result.Failures, stderr);
    }
}
