// The --weights-format option shared by `convert clip` and `bench`: f32 (default), bf16 or int8 linear weights.
using System.CommandLine;
using VcpNative.WeightsConverter.Quantization;

namespace VcpNative.Cli.Commands;

internal static class WeightsFormatOption
{
    public static Option<string> Create(string description)
    {
        var option = new Option<string>("--weights-format") { Description = description + ": f32, bf16 or int8", DefaultValueFactory = _ => "f32" };
        option.AcceptOnlyFromAmong("f32", "bf16", "int8");
        return option;
    }

    public static LinearWeightFormat Parse(string? name) =>
        LinearWeightFormats.TryParse(name, out var format) ? format : throw new UsageException($"--weights-format: expected f32, bf16 or int8, found '{name}'");
}
