// The error policy of every vcp-native executable: usage errors are exit 2 naming the option, failures one line and exit 1
// (a stack trace only with --verbose), and the command runs inside its own CPU thread pool (--threads).
using System.CommandLine;
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

/// <summary>Builds a root command with the global options and runs a command line under the error policy.</summary>
public static class CommandShell
{
    /// <summary>A root command holding the global options (<see cref="GlobalOptions"/>) and <paramref name="commands"/>.</summary>
    public static RootCommand Root(string description, params Command[] commands)
    {
        var root = new RootCommand(description);
        root.Add(GlobalOptions.Threads);
        root.Add(GlobalOptions.Device);
        root.Add(GlobalOptions.Precision);
        root.Add(GlobalOptions.GpuMatMul);
        root.Add(GlobalOptions.Verbose);
        foreach (var command in commands)
        {
            root.Add(command);
        }
        return root;
    }

    /// <summary>Parses <paramref name="args"/> against <paramref name="root"/> and runs the chosen command; returns its exit code.</summary>
    public static int Run(RootCommand root, string[] args, TextWriter output, TextWriter error) => Run(root.Parse(args), output, error);

    /// <summary>Runs the command chosen by <paramref name="parse"/>; returns its exit code.</summary>
    public static int Run(ParseResult parse, TextWriter output, TextWriter error)
    {
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
            // No ProcessTerminationTimeout: commands that can stop early (infer, serve) handle SIGINT/SIGTERM themselves.
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
            error.WriteLine($"vcp-native: error: {ErrorText.OneLine(ex)}");
            if (verbose)
            {
                error.WriteLine(ex.ToString());
            }
            return ExitCodes.Failure;
        }
    }
}
