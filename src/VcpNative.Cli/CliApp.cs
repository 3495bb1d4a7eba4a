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
    /// <summary>Stopped by SIGINT (Ctrl+C) after writing what finished; rerun with --resume.</summary>
    public const int Interrupted = 130;
    /// <summary>Stopped by SIGTERM after writing what finished; rerun with --resume.</summary>
    public const int Terminated = 143;
}

/// <summary>A command line that cannot run as given (exit code 2): the message names the option.</summary>
public sealed class UsageException(string message, Exception? inner = null) : Exception(message, inner);

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
        if (UnknownOptions.Find(parse) is string unknown)
        {
            error.WriteLine($"vcp-native: {unknown}");
            error.WriteLine($"Run 'vcp-native {parse.CommandResult.Command.Name} --help' for usage.");
            return ExitCodes.Usage;
        }
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
            // No ProcessTerminationTimeout: commands that can stop early (infer) handle SIGINT/SIGTERM themselves.
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null, Output = output, Error = error });
        }
        catch (Exception ex) when (ex is UsageException or RunSetupException)
        {
            // A command line, input or output folder that cannot be used as given: nothing was done (exit 2 in every verb),
            // said in one line that names the option.
            error.WriteLine($"vcp-native: {ex.Message}");
            return ExitCodes.Usage;
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
    public static string OneLine(Exception ex) => ErrorText.OneLine(ex);

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
        root.Add(MergeCommand.Create());
        root.Add(KernelsCommand.Create());
        root.Add(BenchCommand.Create());
        root.Add(TrainCommand.Create());
        root.Add(DemoCommand.Create());
        root.Add(ServeCommand.Create());
        return root;
    }
}
