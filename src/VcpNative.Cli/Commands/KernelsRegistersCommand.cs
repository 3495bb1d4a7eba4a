// `vcp-native kernels registers`: the liveness register estimate of every shipped kernel (tab-separated or JSON).
using System.CommandLine;
using System.Text.Json.Nodes;
using VcpNative.Tensors.Cuda.Profiling;

namespace VcpNative.Cli.Commands;

public static class KernelsRegistersCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON array instead of the table" };
        var command = new Command("registers", "List every shipped kernel with its PTX version/target and the emulator's register estimate (live 32-bit values + slack)")
        {
            json,
        };
        command.SetAction(parse =>
        {
            var o = parse.InvocationConfiguration.Output;
            var rows = RegisterEstimates.ForShippedKernels();
            if (parse.GetValue(json))
            {
                var list = new JsonArray();
                foreach (var r in rows)
                {
                    list.Add((JsonNode)new JsonObject
                    {
                        ["module"] = r.Module, ["kernel"] = r.Kernel, ["ptx_version"] = r.PtxVersion, ["target"] = r.Target,
                        ["live_values"] = r.LiveValues, ["estimate"] = r.Estimate, ["declared_registers"] = r.DeclaredRegisters,
                    });
                }
                o.WriteLine(list.ToJsonString());
                return ExitCodes.Ok;
            }
            o.WriteLine("module\tkernel\tptx\ttarget\tlive\testimate\t.reg");
            foreach (var r in rows)
            {
                o.WriteLine($"{r.Module}\t{r.Kernel}\t{r.PtxVersion}\t{r.Target}\t{r.LiveValues}\t{r.Estimate}\t{r.DeclaredRegisters}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
