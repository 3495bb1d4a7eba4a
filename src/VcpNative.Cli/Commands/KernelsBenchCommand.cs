// `vcp-native kernels bench`: our GEMM and attention kernels against cuBLAS on the ViT-L/14 shapes, CUDA-event times.
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using VcpNative.Tensors.Cuda;
using VcpNative.Tensors.Cuda.Profiling;

namespace VcpNative.Cli.Commands;

public static class KernelsBenchCommand
{
    public static Command Create()
    {
        var batches = new Option<string>("--batch-sizes") { Description = "Comma-separated images per batch (M = 1370 x batch)", DefaultValueFactory = _ => "1,32" };
        var iterations = new Option<int>("--iterations") { Description = "Timed calls per case (mean reported)", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed calls first", DefaultValueFactory = _ => 2 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of the table" };
        var command = new Command("bench", "Time gemm_tc, linear_f32 and the attention kernels against cuBLAS on ViT-L/14 shapes at 518 px (--device cuda; on the emulator a tiny stand-in shape proves the code path)")
        {
            batches, iterations, warmup, json,
        };
        command.SetAction(parse =>
        {
            var sizes = parse.GetValue(batches)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(v => int.TryParse(v, CultureInfo.InvariantCulture, out var b) && b >= 1 ? b : throw new UsageException($"--batch-sizes: '{v}' is not a positive integer"))
                .ToArray();
            if (parse.GetValue(iterations) < 1 || parse.GetValue(warmup) < 0)
            {
                throw new UsageException("kernels bench: need --iterations >= 1 and --warmup >= 0");
            }
            var device = parse.GetValue(GlobalOptions.Device) is "cuda" ? "cuda" : "emulated";
            using var gpu = (GpuBackend)GlobalOptions.ResolveBackend(parse, device);
            var emulated = gpu.Driver.Device.IsEmulated;
            var options = new KernelTimingOptions(sizes, emulated ? 1 : parse.GetValue(iterations), emulated ? 0 : parse.GetValue(warmup));
            var o = parse.InvocationConfiguration.Output;
            var quiet = parse.GetValue(json);
            var rows = KernelTimings.Run(gpu, options, quiet ? null : parse.InvocationConfiguration.Error.WriteLine);
            if (quiet)
            {
                o.WriteLine(Json(rows, gpu, options));
            }
            else
            {
                Print(rows, gpu, o);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void Print(IReadOnlyList<KernelTimingRow> rows, GpuBackend gpu, TextWriter o)
    {
        o.WriteLine($"device: {gpu.DeviceDescription}{(gpu.Driver.Device.IsEmulated ? " (tiny stand-in shapes; host times, not GPU times)" : "")}");
        var table = new List<string[]> { new[] { "case", "batch", "M x N x K", "ours", "ms", "TFLOP/s", "peer", "peer ms", "peer TFLOP/s", "ours/peer", "max rel diff" } };
        table.AddRange(rows.Select(r => new[]
        {
            r.Case, r.Batch.ToString(CultureInfo.InvariantCulture), $"{r.M}x{r.N}x{r.K}", r.Kernel, F(r.Ms), F(r.Tflops),
            r.Peer ?? "-", r.PeerMs is { } p ? F(p) : "-", r.PeerTflops is { } t ? F(t) : "-", r.Ratio is { } q ? F(q) : "-",
            r.MaxRelativeDiff.ToString("0.##E+0", CultureInfo.InvariantCulture),
        }));
        var widths = Enumerable.Range(0, table[0].Length).Select(c => table.Max(row => row[c].Length)).ToArray();
        foreach (var row in table)
        {
            o.WriteLine(string.Join("  ", row.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
        }
        foreach (var note in rows.Select(r => r.Note).Where(n => n.Length > 0).Distinct())
        {
            o.WriteLine("note: " + note.Trim());
        }
    }

    private static string F(double v) => v.ToString(v >= 100 ? "F0" : v >= 1 ? "F2" : "G3", CultureInfo.InvariantCulture);

    private static string Json(IReadOnlyList<KernelTimingRow> rows, GpuBackend gpu, KernelTimingOptions options)
    {
        var list = new JsonArray();
        foreach (var r in rows)
        {
            list.Add((JsonNode)new JsonObject
            {
                ["case"] = r.Case, ["kernel"] = r.Kernel, ["peer"] = r.Peer, ["batch"] = r.Batch, ["m"] = r.M, ["n"] = r.N, ["k"] = r.K,
                ["ms"] = r.Ms, ["peer_ms"] = r.PeerMs, ["tflops"] = r.Tflops, ["peer_tflops"] = r.PeerTflops, ["ratio"] = r.Ratio,
                ["max_rel_diff"] = r.MaxRelativeDiff, ["note"] = r.Note.Trim(),
            });
        }
        var root = new JsonObject
        {
            ["device"] = gpu.DeviceDescription, ["emulated"] = gpu.Driver.Device.IsEmulated,
            ["iterations"] = options.Iterations, ["warmup"] = options.Warmup, ["rows"] = list,
        };
        return root.ToJsonString();
    }
}
