// `vcp-native merge`: the output folders of a sharded infer or eval into one, after checking every input is there once.
using System.CommandLine;
using VcpNative.Anomaly.Evaluation;
using VcpNative.IO.Sharding;

namespace VcpNative.Cli.Commands;

/// <summary>The CLI face of <see cref="ShardMerge"/>: a merge that cannot be made prints why (and which inputs) and exits 1, writing nothing.</summary>
public static class MergeCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--output", "-o") { Description = "Merged folder (new or empty)", Required = true };
        var eval = new Option<bool>("--eval") { Description = "The shards are of 'eval --shard': compute the metrics of the whole dataset" };
        var files = new Option<string>("--files") { Description = "How maps, overlays and masks come over: copy, move (same file system, shards lose them) or symlink", DefaultValueFactory = _ => "copy" }
            .AcceptOnlyFromAmong("copy", "move", "symlink");
        var noReport = new Option<bool>("--no-report") { Description = "Do not write report.html (infer: the gallery sorted by score; eval: curves, histograms, worst-scored images; data and thumbnails in report_files/)" };
        var shards = new Argument<string[]>("shards") { Description = "Every shard's output folder", Arity = ArgumentArity.OneOrMore };
        var command = new Command("merge", "Merge the output folders of 'infer --shard' or 'eval --shard' into what a single run writes") { output, eval, files, noReport, shards };
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var options = new ShardMergeOptions
            {
                Output = parse.GetValue(output)!,
                Shards = parse.GetValue(shards)!,
                Eval = parse.GetValue(eval) ? true : null,
                WriteReport = !parse.GetValue(noReport),
                Files = parse.GetValue(files) switch { "move" => MergedFiles.Move, "symlink" => MergedFiles.Symlink, _ => MergedFiles.Copy },
            };
            ShardMergeOutcome outcome;
            try
            {
                outcome = ShardMerge.Run(options);
            }
            catch (ShardException e)
            {
                stderr.WriteLine($"vcp-native: error: {e.Message}");
                foreach (var line in e.Details)
                {
                    stderr.WriteLine($"  {line}");
                }
                return ExitCodes.Failure;
            }
            if (outcome.Rows.Count > 0)
            {
                stdout.Write(MetricsReport.Markdown(outcome.Rows, MetricsReport.Mean(outcome.Rows)));
            }
            stdout.WriteLine($"merge ({outcome.Kind}): {outcome.Shards} shards, {outcome.Inputs} inputs ({outcome.Failed} failed); results in {options.Output}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
