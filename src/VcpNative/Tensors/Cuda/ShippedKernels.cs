// Access to the PTX modules compiled from kernels/*.cu and embedded in this assembly.
using System.Reflection;

namespace VcpNative.Tensors.Cuda;

/// <summary>The PTX modules embedded in the library, by name.</summary>
public static class ShippedKernels
{
    /// <summary>Module names (file names without .ptx) of every embedded kernel file.</summary>
    public static IReadOnlyList<string> Modules { get; } = typeof(ShippedKernels).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith("ptx/", StringComparison.Ordinal) && n.EndsWith(".ptx", StringComparison.Ordinal))
        .Select(n => n[4..^4]).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The PTX text of kernels/ptx/{module}.ptx, e.g. LoadPtx("gemm").</summary>
    public static string LoadPtx(string module)
    {
        using var stream = typeof(ShippedKernels).Assembly.GetManifestResourceStream($"ptx/{module}.ptx")
            ?? throw new ArgumentException($"no embedded PTX module '{module}' (have: {string.Join(", ", Modules)})");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
