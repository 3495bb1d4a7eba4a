// `vcp-native info`: version, SIMD support and thread settings of this machine.
using System.CommandLine;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Cli.Commands;

public static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Print version, CPU SIMD support and backend settings");
        command.SetAction(parse =>
        {
            var o = parse.InvocationConfiguration.Output;
            o.WriteLine($"vcp-native {typeof(InfoCommand).Assembly.GetName().Version?.ToString(3)}");
            o.WriteLine($"runtime     .NET {Environment.Version} on {System.Runtime.InteropServices.RuntimeInformation.OSDescription} ({System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture})");
            o.WriteLine($"cores       {Environment.ProcessorCount}; threads {CpuParallel.Threads}");
            o.WriteLine($"simd        Vector256 {(Vector256.IsHardwareAccelerated ? "yes" : "no")}, AVX2 {(Avx2.IsSupported ? "yes" : "no")}, FMA {(Fma.IsSupported ? "yes" : "no")}, AVX-512 {(Avx512F.IsSupported ? "yes" : "no")}, Vector128 {(Vector128.IsHardwareAccelerated ? "yes" : "no")}");
            o.WriteLine($"device      {parse.GetValue(GlobalOptions.Device)}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
