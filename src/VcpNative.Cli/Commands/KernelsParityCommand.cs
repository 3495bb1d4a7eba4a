// `vcp-native kernels parity`: the golden tiny VCP-CLIP / ViP2-CLIP cases on a GPU backend against the PyTorch fixtures
// and the CPU backend, for machines that have the binary but no .NET test runner (the GPU check).
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using VcpNative.Verification;
using VcpNative.Tensors;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Cli.Commands;

public static class KernelsParityCommand
{
    /// <summary>Where the fixtures are in a checkout of the repository, relative to its root.</summary>
    public const string DefaultFixtures = "tests/VcpNative.Tests/Fixtures";

    public static Command Create()
    {
        var fixtures = new Option<string>("--fixtures")
        {
            Description = $"Folder of the golden fixtures (default: {DefaultFixtures} under the current folder)",
            DefaultValueFactory = _ => DefaultFixtures,
        };
        var json = new Option<string?>("--json") { Description = "Also write the rows as JSON to this file" };
        var cases = new Option<string?>("--cases") { Description = $"Comma-separated subset of: {string.Join(", ", GoldenParity.Cases)}" };
        var command = new Command("parity", "Run the golden tiny VCP-CLIP and ViP2-CLIP cases (inference at 518 px, one training step each) on the GPU backend and the CPU; compare with the PyTorch fixtures")
        {
            fixtures, json, cases,
        };
        command.SetAction(parse =>
        {
            // Like verify: the point is a GPU backend, so --device cpu (the global default) means the emulator here.
            var device = parse.GetValue(GlobalOptions.Device) is "cuda" ? "cuda" : "emulated";
            var backend = GlobalOptions.ResolveBackend(parse, device);
            try
            {
                var bf16 = parse.GetValue(GlobalOptions.Precision) == "bf16";
                var o = parse.InvocationConfiguration.Output;
                o.WriteLine($"device: {backend.Name}; precision: {(bf16 ? "bf16 tensor cores" : "fp32")}; reference: PyTorch fixtures in {parse.GetValue(fixtures)} and the CPU backend");
                var rows = GoldenParity.Run(new GoldenParityOptions(parse.GetValue(fixtures)!, bf16,
                    parse.GetValue(cases)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)), backend, CpuBackend.Instance, o.WriteLine);
                Print(rows, o);
                if (parse.GetValue(json) is { } path)
                {
                    File.WriteAllText(path, Json(rows, backend.Name, bf16));
                }
                var failed = rows.Count(r => !r.Passed);
                o.WriteLine($"{rows.Count - failed} passed, {failed} failed");
                return failed == 0 ? ExitCodes.Ok : ExitCodes.Failure;
            }
            finally
            {
                (backend as IDisposable)?.Dispose();
            }
        });
        return command;
    }

    private static void Print(IReadOnlyList<ParityRow> rows, TextWriter o)
    {
        var table = new List<string[]> { new[] { "case", "quantity", "measure", "vs PyTorch", "vs CPU", "bound", "result" } };
        table.AddRange(rows.Select(r => new[]
        {
            r.Case, r.Quantity, r.Measure, G(r.VsReference), G(r.VsCpu), G(r.Bound), r.Passed ? "pass" : "FAIL",
        }));
        var widths = Enumerable.Range(0, table[0].Length).Select(c => table.Max(row => row[c].Length)).ToArray();
        foreach (var row in table)
        {
            o.WriteLine(string.Join("  ", row.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
        }
    }

    private static string G(double v) => v.ToString("0.##E+0", CultureInfo.InvariantCulture);

    private static string Json(IReadOnlyList<ParityRow> rows, string device, bool bf16)
    {
        var list = new JsonArray();
        foreach (var r in rows)
        {
            list.Add((JsonNode)new JsonObject
            {
                ["case"] = r.Case, ["quantity"] = r.Quantity, ["measure"] = r.Measure,
                ["vs_reference"] = r.VsReference, ["vs_cpu"] = r.VsCpu, ["bound"] = r.Bound, ["passed"] = r.Passed,
            });
        }
        var root = new JsonObject { ["device"] = device, ["precision"] = bf16 ? "bf16" : "fp32", ["rows"] = list };
        return root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
