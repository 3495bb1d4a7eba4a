// Builds the vcp-native command tree; CommandShell (src/VcpNative.CommandLine) turns every failure into one line and an exit code.
using System.CommandLine;
using VcpNative.Cli.Commands;

namespace VcpNative.Cli;

/// <summary>The root command, global options and the error policy.</summary>
public static class CliApp
{
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var parse = Build().Parse(args);
        // The NativeAOT CLI does not link the server: its `serve` verb hands the whole command line to the serve build.
        if (ServeExecutable.Chosen(parse))
        {
            return ServeExecutable.Exec(args, error ?? Console.Error);
        }
        return CommandShell.Run(parse, output ?? Console.Out, error ?? Console.Error);
    }

    /// <summary>The exception's message on one line (inner exceptions appended), never a stack trace.</summary>
    public static string OneLine(Exception ex) => ErrorText.OneLine(ex);

    public static RootCommand Build() => CommandShell.Root(
        "vcp-native: zero-shot industrial anomaly segmentation (VCP-CLIP, ViP2-CLIP) with its own tensor engine.",
        InfoCommand.Create(), SmokeCommand.Create(), ConvertCommand.Create(), InferCommand.Create(), WeightsCommand.Create(),
        EvalCommand.Create(), SynthCommand.Create(), CalibrateCommand.Create(), CompareCommand.Create(), MergeCommand.Create(), KernelsCommand.Create(),
        BenchCommand.Create(), TrainCommand.Create(), DemoCommand.Create(), ServeExecutable.Command());
}
