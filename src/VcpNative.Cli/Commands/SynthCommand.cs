// `vcp-native synth`: write a deterministic synthetic MVTec-layout dataset with exact defect masks.
using System.CommandLine;
using VcpNative.Anomaly.Synthetic;

namespace VcpNative.Cli.Commands;

public static class SynthCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--output", "-o") { Description = "Output folder", Required = true };
        var seed = new Option<int>("--seed") { Description = "Random seed (same seed, same bytes)", DefaultValueFactory = _ => 333 };
        var size = new Option<int>("--image-size") { Description = "Image side in pixels", DefaultValueFactory = _ => 128 };
        var classes = new Option<string?>("--classes") { Description = "Comma-separated subset of: " + string.Join(',', SyntheticDataset.ClassNames) };
        var command = new Command("synth", "Generate a synthetic anomaly dataset (MVTec layout: textures and objects, several defect kinds)")
        {
            output, seed, size, classes,
        };
        command.SetAction(parse =>
        {
            var options = new SyntheticOptions { ImageSize = parse.GetValue(size) };
            var only = parse.GetValue(classes);
            if (only is not null)
            {
                options = options with { Classes = only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
            }
            var summary = SyntheticDataset.Generate(parse.GetValue(output)!, parse.GetValue(seed), options);
            parse.InvocationConfiguration.Output.WriteLine($"synth: {summary.Classes.Count} classes ({string.Join(", ", summary.Classes)}), {summary.TrainImages} train, {summary.TestGoodImages} good and {summary.TestDefectImages} defective test images in {parse.GetValue(output)}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
