// Per-kernel register estimates of the shipped PTX from the emulator's liveness analysis, to set beside what ptxas
// allocates on a real toolchain (the GPU check prints both).
using VcpNative.Tensors.Cuda.Emulator;

namespace VcpNative.Tensors.Cuda.Profiling;

/// <summary>
/// One kernel of a shipped module: its PTX ISA version and target, the most 32-bit values live at once, the estimate
/// the occupancy report uses (live + <see cref="KernelProfiler.RegisterAllocationSlack"/>, at most 255) and the .reg count.
/// </summary>
public sealed record KernelRegisterEstimate(string Module, string Kernel, string PtxVersion, string Target, int LiveValues, int Estimate, int DeclaredRegisters);

/// <summary>Register estimates of the shipped kernels.</summary>
public static class RegisterEstimates
{
    /// <summary>Every entry point of every shipped module, in module then name order.</summary>
    public static IReadOnlyList<KernelRegisterEstimate> ForShippedKernels()
    {
        var rows = new List<KernelRegisterEstimate>();
        foreach (var module in ShippedKernels.Modules.Order(StringComparer.Ordinal))
        {
            var parsed = PtxParser.Parse(ShippedKernels.LoadPtx(module));
            foreach (var (name, f) in parsed.Functions.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                var live = f.LiveRegisters;
                rows.Add(new KernelRegisterEstimate(module, name, parsed.Version, parsed.Target, live,
                    Math.Min(KernelProfiler.MaxRegistersPerThread, live + KernelProfiler.RegisterAllocationSlack), f.DeclaredRegisters));
            }
        }
        return rows;
    }
}
