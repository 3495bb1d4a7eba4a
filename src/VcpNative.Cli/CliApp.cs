// Builds the vcp-native command tree and turns every failure into one line and a non-zero exit code.
using System.CommandLine;
using VcpNative.Cli.Commands;
using VcpNative.Tensors;

namespace VcpNative.Cli;

/// <summary>Exit codes of vcp-native.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    /// <summary>A batch finished but some inputs failed (their errors are listed at the end).</summary>
    public const int PartialFailure = 3;
}

/// <summary>The root command, global options and the error policy.</summary>
public static class CliApp
{
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var root = Build();
        var parse = root.Parse(args);
        var verbose = parse.GetValue(GlobalOptions.Verbose);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                error.WriteLine($"vcp-native: {e.Message}");
            }
            error.WriteLine("Run 'vcp-native --help' for usage.");
            return ExitCodes.Usage;
        }
        try
        {
            // The command's CPU threads (--threads): this run's pool, entered on this thread for the whole command.
            using var threads = new CpuThreadPool(parse.GetValue(GlobalOptions.Threads));
            using var threadScope = threads.Enter();
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = output, Error = error });
        }
        catch (Exception ex)
        {
            error.WriteLine($"vcp-native: error: {OneLine(ex)}");
            if (verbose)
            {
                error.WriteLine(ex.ToString());
            }
            return ExitCodes.Failure;
        }
    }

    /// <summary>The exception's message on one line (inner exceptions appended), never a stack trace.</summary>
    public static string OneLine(Exception ex)
    {
        var message = ex.Message;
        if (ex is AggregateException agg && agg.InnerExceptions.Count == 1)
        {
            return OneLine(agg.InnerExceptions[0]);
        }
        if (ex.InnerException is not null && !message.Contains(ex.InnerException.Message, StringComparison.Ordinal))
        {
            message += ": " + ex.InnerException.Message;
        }
        return message.ReplaceLineEndings(" ");
    }

    public static RootCommand Build()
    {
        var root = new RootCommand("vcp-native: zero-shot industrial anomaly segmentation (VCP-CLIP, ViP2-CLIP) with its own tensor engine.");
        root.Add(GlobalOptions.Threads);
        root.Add(GlobalOptions.Device);
        root.Add(GlobalOptions.Precision);
        root.Add(GlobalOptions.GpuMatMul);
        root.Add(GlobalOptions.Verbose);
        root.Add(InfoCommand.Create());
        root.Add(SmokeCommand.Create());
        root.Add(ConvertCommand.Create());
        root.Add(InferCommand.Create());
        root.Add(WeightsCommand.Create());
        root.Add(EvalCommand.Create());
        root.Add(SynthCommand.Create());
        root.Add(CalibrateCommand.Create());
        root.Add(CompareCommand.Create());
        root.Add(KernelsCommand.Create());
        root.Add(BenchCommand.Create());
        root.Add(TrainCommand.Create());
        root.Add(DemoCommand.Create());
        root.Add(ServeCommand.Create());
        return root;
    }
}
