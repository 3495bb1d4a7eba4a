// Backends are asked for capabilities, never type-tested: a source scan, since `is CpuBackend` compiles anywhere.
using System.Text.RegularExpressions;
using Xunit;

namespace VcpNative.Tests.Layering;

public sealed partial class BackendTypeTestTests
{
    /// <summary>Where naming a concrete backend is the point: the backends themselves and the composition roots.</summary>
    private static readonly string[] Allowed =
    [
        "src/VcpNative/Tensors/Cpu/",
        "src/VcpNative/Tensors/Cuda/",
        "src/VcpNative.Cli/",          // composition root: --device picks the backend
        "src/VcpNative.CommandLine/",  // the --device option every executable shares (GlobalOptions)
        "src/VcpNative/AnomalyDetector", // composition root of the public API
        "src/VcpNative/Tensors/DeviceBackends.cs", // the one factory from a device name to a backend
        "src/VcpNative.Verification/",   // checks every executor against the CPU backend by design
        // Host tensors (Tensor.Wrap, FromInts, a tensor created without a backend) live in the CPU backend's memory.
        "src/VcpNative/Tensors/Tensor.cs",
    ];

    [GeneratedRegex(@"\b(is|as)\s+(not\s+)?([\w.]*\.)?(Cpu|Gpu)Backend\b|\bCpuBackend\.Instance\b")]
    private static partial Regex TypeTest();

    [Fact]
    public void NoBackendTypeTestsOutsideTheBackendsAndCompositionRoots()
    {
        var root = Fixtures.RepositoryRoot();
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal)
                || Allowed.Any(a => relative.StartsWith(a, StringComparison.Ordinal)))
            {
                continue;
            }
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                var code = lines[i].TrimStart();
                if (!code.StartsWith("//", StringComparison.Ordinal) && TypeTest().IsMatch(code))
                {
                    offenders.Add($"{relative}:{i + 1}: {code}");
                }
            }
        }
        Assert.True(offenders.Count == 0, "backend type tests (ask the backend for a capability instead):\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void ThePatternCatchesTheUsualForms()
    {
        Assert.Matches(TypeTest(), "if (backend is CpuBackend) {");
        Assert.Matches(TypeTest(), "var g = backend as GpuBackend;");
        Assert.Matches(TypeTest(), "x.Backend is not Cpu.CpuBackend");
        Assert.Matches(TypeTest(), "b is VcpNative.Tensors.Cpu.CpuBackend");
        Assert.Matches(TypeTest(), "backend is GpuBackend { MatMulPrecision: x }");
        Assert.Matches(TypeTest(), "backend ??= CpuBackend.Instance;");
        Assert.DoesNotMatch(TypeTest(), "backend is IDeviceBackend device");
    }
}
