// `vcp-native serve`: in the JIT build (dotnet run, ./vcp-native, tests) the server runs in this process from
// src/VcpNative.Serve; the NativeAOT CLI does not link ASP.NET Core (start-up and size, issue #22) and replaces itself
// (execv: same arguments, same process id, so SIGTERM reaches the server) with the serve build next to it.
using System.CommandLine;
using System.Runtime.InteropServices;

namespace VcpNative.Cli;

/// <summary>The CLI's `serve` verb: the server itself where it is linked, else a hand-over to the serve executable.</summary>
public static partial class ServeExecutable
{
    /// <summary>True when this build contains the server (every build but the NativeAOT CLI: the csproj defines SERVE_LINKED).</summary>
    public static bool Linked =>
#if SERVE_LINKED
        true;
#else
        false;
#endif

    /// <summary>The verb: the server's own command, or a stand-in that takes any arguments and hands them over.</summary>
    public static Command Command()
    {
#if SERVE_LINKED
        return VcpNative.Serve.ServeCommand.Create();
#else
        // Options are the serve build's to check: unknown tokens are kept for it, not reported here.
        return new Command(ServeVerb.Name, ServeVerb.Description) { TreatUnmatchedTokensAsErrors = false };
#endif
    }

    /// <summary>Whether this command line is for the serve executable (only when this build does not contain the server).</summary>
    public static bool Chosen(ParseResult parse) => !Linked && parse.CommandResult.Command.Name == ServeVerb.Name;

    /// <summary>The serve build next to this executable (<see cref="ServeVerb.ExecutableFor"/>).</summary>
    public static string Path()
    {
        var self = Environment.ProcessPath ?? "vcp-native";
        return System.IO.Path.Combine(System.IO.Path.GetDirectoryName(self) ?? ".", ServeVerb.ExecutableFor(System.IO.Path.GetFileName(self)));
    }

    /// <summary>Replaces this process with the serve build, same arguments; returns 127 with one line only when that fails.</summary>
    public static int Exec(string[] args, TextWriter error)
    {
        var target = Path();
        var argv = new string?[args.Length + 2];
        argv[0] = target;
        Array.Copy(args, 0, argv, 1, args.Length);
        _ = Execv(target, argv);
        error.WriteLine($"vcp-native: cannot run {target}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())} (the release ships the serve build next to the CLI: docs/deploy-binaries.md)");
        return 127;
    }

    // DirectPInvoke (csproj): linked against libc, as in the launcher.
    [LibraryImport("libc", EntryPoint = "execv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Execv(string path, string?[] argv);
}
