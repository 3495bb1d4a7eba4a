// Runs the CLI in-process with captured output, for end-to-end tests of the verbs.
using System.Runtime.InteropServices;
using System.Text.Json;
using VcpNative.Cli;
using Xunit;

namespace VcpNative.Tests.Cli;

internal static class CliRun
{
    /// <summary>Exit code, standard output and standard error of <c>vcp-native ARGS</c>.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>
    /// <c>vcp-native GLOBAL infer</c> of the tiny fixture model on the fixture image at 28 px with <c>--save-maps</c> and
    /// <paramref name="extra"/>; asserts exit 0 and returns the image score and its saved map.
    /// </summary>
    public static (float Score, float[] Map) InferFixture(string output, string[] global, params string[] extra)
    {
        var (code, _, err) = Run(
        [
            .. global, "infer", "--clip", Fixtures.Path("clip", "tiny_clip.pt"), "--head", Fixtures.Path("vcp", "vcp_head.pth"),
            "--image-size", "28", "--save-maps", "-o", output, .. extra, Fixtures.Path("vcp", "input.png"),
        ]);
        Assert.True(code == 0, err);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        var record = ResultsJson.Records(json).EnumerateArray().Single();
        var npy = File.ReadAllBytes(Path.Combine(output, record.GetProperty("map").GetString()!));
        var header = 10 + BitConverter.ToUInt16(npy, 8);
        return ((float)record.GetProperty("score").GetDouble(), MemoryMarshal.Cast<byte, float>(npy.AsSpan(header)).ToArray());
    }
}
