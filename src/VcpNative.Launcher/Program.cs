// vcp-native on linux-x64: a small NativeAOT launcher that replaces itself (execv: same arguments, same process id) with
// vcp-native-avx512 (x86-64-v4) where this CPU and OS support AVX-512, else with vcp-native-avx2 (x86-64-v3), both from
// its own folder; for `vcp-native serve ...` with the server's builds vcp-native-serve-avx512/-avx2 instead (the CLI does
// not link ASP.NET Core). NativeAOT fixes Vector512.IsHardwareAccelerated when it compiles, so one binary cannot choose.
//
// Why a launcher and not the CLI switching itself at the top of Main (measured, docs/deploy-binaries.md): the 12 MB CLI
// spends about 13 ms before Main (rehydrating 2.4 MB of runtime data), so a switch from inside it cost 16-24 ms per
// start (`--help` 45.5 ms instead of 19.6 ms); this image is small enough to decide and exec in about 4 ms.
using System.Runtime.InteropServices;
using VcpNative.Launcher;

var self = Environment.ProcessPath ?? "vcp-native";
var folder = Path.GetDirectoryName(self) ?? ".";
var (avx512Name, avx2Name) = X64BuildChoice.ExecutablesFor(args);
var avx512 = Path.Combine(folder, avx512Name);
var avx2 = Path.Combine(folder, avx2Name);
var choice = X64BuildChoice.Decide(X64BuildChoice.ReadMachine(avx512, File.Exists(avx512)));
// The CLI prints both in `vcp-native info` (and bench JSON): which executable runs and why.
_ = Libc.SetEnv(LaunchVariables.LaunchedBy, self, 1);
_ = Libc.SetEnv(LaunchVariables.Reason, choice.Reason, 1);
var errors = new List<string>();
foreach (var target in choice.Avx512 ? new[] { avx512, avx2 } : new[] { avx2 })
{
    var argv = new string?[args.Length + 2];
    argv[0] = target;
    Array.Copy(args, 0, argv, 1, args.Length);
    _ = Libc.Execv(target, argv);
    // Only reached when the exec failed (missing file, no execute permission): say so, try the AVX2 build next.
    errors.Add($"{target}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    _ = Libc.SetEnv(LaunchVariables.Reason, $"AVX2 build: {errors[^1]}", 1);
}
Console.Error.WriteLine($"vcp-native: cannot run {string.Join("; ", errors)} (the linux-x64 release ships vcp-native, {avx2Name} and {avx512Name} in one folder)");
return 127;

namespace VcpNative.Launcher
{
    /// <summary>What the launcher tells the executable it starts.</summary>
    public static class LaunchVariables
    {
        /// <summary>The launcher's path.</summary>
        public const string LaunchedBy = "VCP_NATIVE_LAUNCHED_BY";

        /// <summary>The one-line reason for the executable chosen (<see cref="X64BuildChoice.Choice.Reason"/>).</summary>
        public const string Reason = "VCP_NATIVE_BUILD_REASON";
    }

    internal static partial class Libc
    {
        // DirectPInvoke (csproj): linked against libc, no dlopen probing at start-up.
        [LibraryImport("libc", EntryPoint = "execv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Execv(string path, string?[] argv);

        // .NET keeps its own copy of the environment; execv passes libc's, so the variables go there.
        [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int SetEnv(string name, string value, int overwrite);
    }
}
