// The --compute option shared by infer, eval and bench: fp32 (default) or int8 image-tower linear layers on the CPU.
using System.CommandLine;
using VcpNative.Tensors;

namespace VcpNative.Cli.Commands;

internal static class ComputeOption
{
    public static Option<string> Create()
    {
        var option = new Option<string>("--compute")
        {
            Description = "Arithmetic of the image tower's block linear layers: fp32, or int8 (CPU only: per-channel int8 weights, per-token int8 activations, int32 sums; faster, approximate)",
            DefaultValueFactory = _ => "fp32",
        };
        option.AcceptOnlyFromAmong("fp32", "int8");
        return option;
    }

    /// <summary>The parsed choice; int8 on a backend without int8 linear layers (a GPU) is a usage error (exit 2).</summary>
    public static LinearCompute Read(ParseResult parse, Option<string> option, IBackend backend)
    {
        if (parse.GetValue(option) != "int8")
        {
            return LinearCompute.Fp32;
        }
        if (!backend.SupportsInt8Linear)
        {
            throw new UsageException($"--compute int8 runs on the CPU: use it with --device cpu (not {backend.Name})");
        }
        return LinearCompute.Int8;
    }
}
