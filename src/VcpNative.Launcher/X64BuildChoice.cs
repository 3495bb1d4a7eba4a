// Which x64 NativeAOT executable fits this CPU: vcp-native-avx512 (x86-64-v4) or vcp-native-avx2 (x86-64-v3), by the rule
// the .NET JIT applies when it decides whether to use 512-bit vectors.
using System.Globalization;
using System.Runtime.Intrinsics.X86;

namespace VcpNative.Launcher;

/// <summary>
/// The launcher's rule, kept free of I/O so tests can feed it any machine: AVX-512 F/BW/CD/DQ/VL in CPUID leaf 7, the
/// same five flags in /proc/cpuinfo (Linux drops them when it does not save the ZMM and opmask state, which .NET's
/// missing xgetbv cannot tell), no setting that turns AVX-512 off for the JIT, no Intel model on which the JIT prefers
/// 256-bit vectors, and the AVX-512 executable present. Every reason not to switch names itself for `vcp-native info`.
/// </summary>
public static class X64BuildChoice
{
    /// <summary>"0" keeps the AVX2 executable whatever the CPU.</summary>
    public const string DispatchVariable = "VCP_NATIVE_DISPATCH";

    public const string Avx512Executable = "vcp-native-avx512";

    public const string Avx2Executable = "vcp-native-avx2";

    /// <summary>The server's x86-64-v4 build (src/VcpNative.Serve), run for the <c>serve</c> verb.</summary>
    public const string ServeAvx512Executable = "vcp-native-serve-avx512";

    /// <summary>The server's x86-64-v3 build.</summary>
    public const string ServeAvx2Executable = "vcp-native-serve-avx2";

    /// <summary>
    /// The pair to choose from for this command line: the serve builds when the first argument is the verb <c>serve</c>,
    /// else the CLI builds (which hand <c>serve</c> on to the serve build themselves when global options come first).
    /// </summary>
    public static (string Avx512, string Avx2) ExecutablesFor(string[] args) =>
        args is ["serve", ..] ? (ServeAvx512Executable, ServeAvx2Executable) : (Avx512Executable, Avx2Executable);

    /// <summary>What the rule looks at.</summary>
    /// <param name="DispatchSetting">VCP_NATIVE_DISPATCH ("0" = off).</param>
    /// <param name="PreferredVectorBitWidth">DOTNET_PreferredVectorBitWidth, as the JIT would read it.</param>
    /// <param name="DisabledBy">The first DOTNET_Enable* knob set to 0 that turns AVX-512 off for the JIT (e.g. "EnableAVX512"), or null.</param>
    /// <param name="Cpu">CPUID facts (leaves 0, 1, 7).</param>
    /// <param name="CpuinfoFlags">The flags line of /proc/cpuinfo; null if unreadable.</param>
    /// <param name="Avx512Path">Where vcp-native-avx512 should be.</param>
    /// <param name="Avx512Exists">Whether that file exists.</param>
    public sealed record Inputs(
        string? DispatchSetting, string? PreferredVectorBitWidth, string? DisabledBy, CpuidFacts Cpu, string? CpuinfoFlags,
        string Avx512Path, bool Avx512Exists);

    /// <summary>The CPUID bits the rule needs: leaf 7 EBX (AVX-512 subsets), vendor, family and model.</summary>
    public readonly record struct CpuidFacts(int Leaf7Ebx, bool IsIntel, int Family, int Model);

    /// <summary>True: run vcp-native-avx512. The reason is one line either way.</summary>
    public readonly record struct Choice(bool Avx512, string Reason);

    // The runtime knobs (DOTNET_ or COMPlus_ prefix) with which a JIT run would not use AVX-512 (.NET 10 names: the
    // per-subset EnableAVX512F of earlier releases no longer exists). NativeAOT code ignores them otherwise.
    private static readonly string[] DisablingKnobs = ["EnableAVX512", "EnableAVX2", "EnableAVX", "EnableHWIntrinsic"];

    private static readonly (string Flag, int Bit)[] Avx512Subsets =
        [("avx512f", 16), ("avx512dq", 17), ("avx512cd", 28), ("avx512bw", 30), ("avx512vl", 31)];

    public static Choice Decide(Inputs inputs)
    {
        if (inputs.DispatchSetting == "0")
        {
            return new(false, $"AVX2 build: {DispatchVariable}=0");
        }
        var missingCpu = Missing(flag => (inputs.Cpu.Leaf7Ebx & (1 << BitOf(flag))) == 0);
        if (missingCpu.Length > 0)
        {
            return new(false, $"AVX2 build: the CPU lacks {missingCpu} (CPUID leaf 7)");
        }
        if (inputs.CpuinfoFlags is null)
        {
            return new(false, "AVX2 build: /proc/cpuinfo is unreadable, so OS support for AVX-512 state is unknown");
        }
        var flags = inputs.CpuinfoFlags.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var missingOs = Missing(flag => Array.IndexOf(flags, flag) < 0);
        if (missingOs.Length > 0)
        {
            return new(false, $"AVX2 build: the CPU has AVX-512 but the OS does not enable it ({missingOs} missing from /proc/cpuinfo)");
        }
        if (inputs.DisabledBy is not null)
        {
            return new(false, $"AVX2 build: DOTNET_{inputs.DisabledBy}=0 turns AVX-512 off, as it would for the JIT build");
        }
        int? width = int.TryParse(inputs.PreferredVectorBitWidth, NumberStyles.None, CultureInfo.InvariantCulture, out var w) ? w : null;
        if (width is < 512)
        {
            return new(false, $"AVX2 build: DOTNET_PreferredVectorBitWidth={width} asks for at most {width}-bit vectors");
        }
        // The .NET runtime's own list (Skylake-SP/Cascade Lake/Cooper Lake 06_55h, Cannon Lake 06_66h): 512-bit code lowers
        // the clock there, so the JIT build reports Vector512 as not accelerated and runs AVX2 kernels; do the same.
        if (inputs.Cpu.IsIntel && inputs.Cpu.Family == 6 && inputs.Cpu.Model is 0x55 or 0x66 && width is null)
        {
            return new(false, $"AVX2 build: Intel model 06_{inputs.Cpu.Model:X2}h slows its clock for 512-bit code, so .NET prefers 256-bit vectors (DOTNET_PreferredVectorBitWidth=512 overrides)");
        }
        if (!inputs.Avx512Exists)
        {
            return new(false, $"AVX2 build: this CPU supports AVX-512 but {inputs.Avx512Path} is missing (ship it next to vcp-native)");
        }
        return new(true, "AVX-512 build: this CPU and OS support AVX-512 F/BW/CD/DQ/VL");
    }

    /// <summary>This process's settings and this machine's CPU and OS, as the rule sees them.</summary>
    public static Inputs ReadMachine(string avx512Path, bool avx512Exists) => new(
        Environment.GetEnvironmentVariable(DispatchVariable),
        RuntimeSetting("PreferredVectorBitWidth"),
        Array.Find(DisablingKnobs, knob => RuntimeSetting(knob) == "0"),
        ReadCpuid(),
        ReadCpuinfoFlags("/proc/cpuinfo"),
        avx512Path,
        avx512Exists);

    /// <summary>The first "flags" line of /proc/cpuinfo (every core lists the same), without reading the whole file.</summary>
    public static string? ReadCpuinfoFlags(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            while (reader.ReadLine() is { } line)
            {
                if (line.StartsWith("flags", StringComparison.Ordinal))
                {
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    return colon < 0 ? "" : line[(colon + 1)..];
                }
            }
            return "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static CpuidFacts ReadCpuid()
    {
        if (!X86Base.IsSupported)
        {
            return default;
        }
        var (_, vendorEbx, vendorEcx, vendorEdx) = X86Base.CpuId(0, 0);
        // "GenuineIntel" as EBX, EDX, ECX.
        var isIntel = vendorEbx == 0x756e6547 && vendorEdx == 0x49656e69 && vendorEcx == 0x6c65746e;
        var (signature, _, _, _) = X86Base.CpuId(1, 0);
        var family = (signature >> 8) & 0xF;
        var model = (signature >> 4) & 0xF;
        if (family is 6 or 15)
        {
            model |= ((signature >> 16) & 0xF) << 4;
        }
        if (family == 15)
        {
            family += (signature >> 20) & 0xFF;
        }
        var (_, leaf7Ebx, _, _) = X86Base.CpuId(7, 0);
        return new CpuidFacts(leaf7Ebx, isIntel, family, model);
    }

    private static int BitOf(string flag)
    {
        foreach (var (name, bit) in Avx512Subsets)
        {
            if (name == flag)
            {
                return bit;
            }
        }
        throw new ArgumentException(flag);
    }

    /// <summary>The AVX-512 subsets for which <paramref name="lacks"/> holds, comma-separated ("" when none).</summary>
    private static string Missing(Func<string, bool> lacks)
    {
        var names = new List<string>();
        foreach (var (flag, _) in Avx512Subsets)
        {
            if (lacks(flag))
            {
                names.Add(flag);
            }
        }
        return string.Join(", ", names);
    }

    /// <summary>A runtime knob as the JIT reads it: DOTNET_name, or the older COMPlus_name.</summary>
    private static string? RuntimeSetting(string name) =>
        Environment.GetEnvironmentVariable("DOTNET_" + name) ?? Environment.GetEnvironmentVariable("COMPlus_" + name);
}
