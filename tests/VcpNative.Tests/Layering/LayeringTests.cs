// The one-way flow IO -> Tensors -> Models -> Anomaly -> (public API) -> Cli, asserted on the compiled assemblies.
using System.Reflection;
using System.Text.RegularExpressions;
using NetArchTest.Rules;
using VcpNative.Tensors;
using Xunit;

namespace VcpNative.Tests.Layering;

public sealed class LayeringTests
{
    private const string IO = "VcpNative.IO";
    private const string Converter = "VcpNative.WeightsConverter";
    private const string TensorsNs = "VcpNative.Tensors";
    private const string CpuNs = "VcpNative.Tensors.Cpu";
    private const string CudaNs = "VcpNative.Tensors.Cuda";
    private const string Models = "VcpNative.Models";
    private const string Anomaly = "VcpNative.Anomaly";
    private const string Cli = "VcpNative.Cli";

    private static readonly Assembly Library = typeof(Tensor).Assembly;
    private static readonly Assembly WeightsConverter = typeof(VcpNative.WeightsConverter.WeightSet).Assembly;

    /// <summary>The public API types that sit directly in namespace VcpNative, above Anomaly (by full name).</summary>
    private static string[] ApiTypes() =>
        [.. Library.GetTypes().Where(t => t.Namespace == "VcpNative" && !t.Name.StartsWith('<')).Select(t => t.FullName!)];

    private static string[] Above(params string[] layers) => [.. layers, Cli, .. ApiTypes()];

    public static TheoryData<string, string[]> Rules() => new()
    {
        { IO, Above(TensorsNs, Models, Anomaly) },
        { TensorsNs, Above(Models, Anomaly) },
        { Models, Above(Anomaly, CpuNs, CudaNs) },
        { Anomaly, Above() },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void LayerDoesNotDependOnWhatIsAboveIt(string layer, string[] forbidden)
    {
        // ResideInNamespace compares name prefixes (VcpNative.Anomaly would take in VcpNative.AnomalyDetector): match whole segments.
        var result = Types.InAssembly(Library).That().ResideInNamespaceMatching($"^{Regex.Escape(layer)}(\\.|$)")
            .ShouldNot().HaveDependencyOnAny(forbidden).GetResult();
        Assert.True(result.IsSuccessful, Describe(layer, forbidden, result));
    }

    [Fact]
    public void WeightsConverter_DependsOnNothingOfOurs()
    {
        var result = Types.InAssembly(WeightsConverter).ShouldNot()
            .HaveDependencyOnAny(IO, TensorsNs, Models, Anomaly, Cli).GetResult();
        Assert.True(result.IsSuccessful, Describe(Converter, [IO, TensorsNs, Models, Anomaly, Cli], result));
    }

    [Fact]
    public void ImageLibrariesStayInsideTheirDecoders()
    {
        // libSkiaSharp.so is an optional companion loaded on the first WebP: only WebPDecoder may touch SkiaSharp,
        // so no other path (start-up, other formats) can load it; LibTiff.NET likewise stays in TiffDecoder.
        foreach (var (library, decoder) in new[] { ("SkiaSharp", "WebPDecoder"), ("BitMiracle.LibTiff", "TiffDecoder") })
        {
            var users = Types.InAssembly(Library).That().HaveDependencyOn(library).GetTypes()
                .Select(t => t.FullName!.Split('+')[0]).Distinct().ToArray();
            Assert.Equal([$"VcpNative.IO.Images.{decoder}"], users);
        }
    }

    [Fact]
    public void TheRulesSeeRealDependencies()
    {
        // The checker must be able to fail: Anomaly does use Tensors and Models, and the CLI uses Anomaly.
        Assert.False(Types.InAssembly(Library).That().ResideInNamespace(Anomaly)
            .ShouldNot().HaveDependencyOn(TensorsNs).GetResult().IsSuccessful);
        Assert.False(Types.InAssembly(Library).That().ResideInNamespace(Models)
            .ShouldNot().HaveDependencyOn(TensorsNs).GetResult().IsSuccessful);
        Assert.False(Types.InAssembly(typeof(VcpNative.Cli.CliApp).Assembly).That().ResideInNamespace(Cli)
            .ShouldNot().HaveDependencyOn(Anomaly).GetResult().IsSuccessful);
    }

    private static string Describe(string layer, string[] forbidden, TestResult result) =>
        $"{layer} depends on something above it ({string.Join(", ", forbidden.Take(8))}...): " +
        string.Join(", ", result.FailingTypeNames ?? []);
}
