// Which vcp-native build is running (JIT, NativeAOT x86-64-v3 / x86-64-v4 / arm64), and the start-up switch from the
// AVX2 executable to its AVX-512 sibling.
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VcpNative.Cli;

/// <summary>
/// NativeAOT fixes <c>Vector512.IsHardwareAccelerated</c> and <c>Avx512F.IsSupported</c> when it compiles, from
/// IlcInstructionSet: on an AVX2 (x86-64-v3) baseline AVX-512 cannot be an opportunistic run-time check, and an
/// x86-64-v4 binary does not start on a CPU without AVX-512. So the x64 release ships two executables, vcp-native
/// (x86-64-v3) and vcp-native-avx512 (x86-64-v4), and the first thing vcp-native does is replace itself with its sibling
/// (execv, same arguments, same process id) when the CPU and the OS support AVX-512 F/BW/CD/DQ/VL and the .NET runtime
/// would use 512-bit vectors there too. This costs one exec (about 2 ms, measured in docs/deploy-binaries.md) instead of
/// shipping the kernels as a native library or compiling every hot loop twice; anything that fails keeps the AVX2 build
/// running, and <see cref="Reason"/> says why (vcp-native info, bench).
/// </summary>
public static partial class NativeBuild
{
    /// <summary>"0" turns the switch off; it is also set before the exec so a sibling never switches again.</summary>
    public const string DispatchVariable = "VCP_NATIVE_DISPATCH";

    /// <summary>Set for the sibling: the path of the executable that started it.</summary>
    public const string DispatchedFromVariable = "VCP_NATIVE_DISPATCHED_FROM";

    /// <summary>The AVX-512 executable's file name, next to vcp-native.</summary>
    public const string Avx512Executable = "vcp-native-avx512";

    private static string reason = "";

    /// <summary>True for a NativeAOT executable (no JIT): its SIMD support was fixed when it was compiled.</summary>
    public static bool IsNativeAot => !RuntimeFeature.IsDynamicCodeSupported;

    /// <summary>The running build in a few words: "NativeAOT x86-64-v4", "NativeAOT arm64", "JIT".</summary>
    public static string Name =>
        !IsNativeAot ? "JIT"
        : RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "NativeAOT arm64"
        : RuntimeInformation.ProcessArchitecture != Architecture.X64 ? $"NativeAOT {RuntimeInformation.ProcessArchitecture}"
        : Vector512.IsHardwareAccelerated ? "NativeAOT x86-64-v4"
        : Avx2.IsSupported && Fma.IsSupported ? "NativeAOT x86-64-v3"
        : "NativeAOT x86-64 (no AVX2: published without the project's IlcInstructionSet)";

    /// <summary>Why this build runs on this machine (for info and bench): the dispatch decision, or how the JIT chooses.</summary>
    public static string Reason
    {
        get
        {
            if (reason.Length > 0)
            {
                return reason;
            }
            if (!IsNativeAot)
            {
                return "the .NET runtime chooses the SIMD instructions for this CPU when it compiles each method";
            }
            var from = Environment.GetEnvironmentVariable(DispatchedFromVariable);
            if (!string.IsNullOrEmpty(from))
            {
                return $"started by {from}: this CPU and OS support AVX-512 F/BW/CD/DQ/VL";
            }
            return RuntimeInformation.ProcessArchitecture == Architecture.Arm64
                ? "arm64 build: AdvSimd (NEON) kernels"
                : Vector512.IsHardwareAccelerated ? "AVX-512 build run directly" : "no switch attempted";
        }
    }

    /// <summary>
    /// The first call of Main: in the NativeAOT x86-64-v3 build on an AVX-512 machine, execs vcp-native-avx512 with the
    /// same arguments and does not return; otherwise records why it stays and returns.
    /// </summary>
    public static void DispatchAtStartup(string[] args)
    {
        if (!IsNativeAot || RuntimeInformation.ProcessArchitecture != Architecture.X64 || Vector512.IsHardwareAccelerated)
        {
            return;
        }
        var self = Environment.ProcessPath;
        var sibling = self is null ? null : Path.Combine(Path.GetDirectoryName(self) ?? ".", Avx512Executable);
        var decision = Decide(ReadMachine(sibling, sibling is not null && File.Exists(sibling)));
        reason = decision.Reason;
        if (!decision.Exec || sibling is null)
        {
            return;
        }
        // .NET keeps its own copy of the environment; execv passes libc's, so set both there.
        _ = SetEnv(DispatchVariable, "0", 1);
        _ = SetEnv(DispatchedFromVariable, self!, 1);
        var argv = new string?[args.Length + 2];
        argv[0] = sibling;
        Array.Copy(args, 0, argv, 1, args.Length);
        _ = Execv(sibling, argv);
        // Only reached when the exec failed (e.g. no execute permission): stay on AVX2 and say why.
        var errno = Marshal.GetLastPInvokeError();
        _ = UnsetEnv(DispatchVariable);
        _ = UnsetEnv(DispatchedFromVariable);
        reason = $"stays on AVX2: execv {sibling} failed ({Marshal.GetPInvokeErrorMessage(errno)})";
    }

    /// <summary>This process's settings and this machine's CPU and OS, as the switch sees them.</summary>
    internal static DispatchInputs ReadMachine(string? siblingPath, bool siblingExists) => new(
        Environment.GetEnvironmentVariable(DispatchVariable),
        RuntimeSetting("PreferredVectorBitWidth"),
        Array.Find(DisablingKnobs, knob => RuntimeSetting(knob) == "0"),
        ReadCpuid(),
        ReadCpuinfoFlags("/proc/cpuinfo"),
        siblingPath,
        siblingExists);

    /// <summary>What the switch looks at; a record so tests can feed it any machine.</summary>
    /// <param name="DispatchSetting">VCP_NATIVE_DISPATCH ("0" = off).</param>
    /// <param name="PreferredVectorBitWidth">DOTNET_PreferredVectorBitWidth, as the JIT would read it.</param>
    /// <param name="DisabledBy">The first DOTNET_Enable* knob set to 0 that turns AVX-512 off for the JIT (e.g. "EnableAVX512"), or null.</param>
    /// <param name="Cpu">CPUID facts (leaves 0, 1, 7).</param>
    /// <param name="CpuinfoFlags">The flags line of /proc/cpuinfo (the kernel drops avx512* when it does not save their state); null if unreadable.</param>
    /// <param name="SiblingPath">Where vcp-native-avx512 should be (null when the own path is unknown).</param>
    /// <param name="SiblingExists">Whether that file exists.</param>
    internal sealed record DispatchInputs(
        string? DispatchSetting, string? PreferredVectorBitWidth, string? DisabledBy, CpuidFacts Cpu, string? CpuinfoFlags,
        string? SiblingPath, bool SiblingExists);

    /// <summary>The CPUID bits the switch needs: leaf 7 EBX (AVX-512 subsets), vendor, family and model.</summary>
    internal readonly record struct CpuidFacts(int Leaf7Ebx, bool IsIntel, int Family, int Model);

    internal readonly record struct DispatchDecision(bool Exec, string Reason);

    // The runtime knobs (DOTNET_ or COMPlus_ prefix) with which a JIT run would not use AVX-512 (.NET 10 names: the
    // per-subset EnableAVX512F of earlier releases no longer exists). NativeAOT code ignores them otherwise.
    private static readonly string[] DisablingKnobs = ["EnableAVX512", "EnableAVX2", "EnableAVX", "EnableHWIntrinsic"];

    private static readonly (string Flag, int Bit)[] Avx512Subsets =
        [("avx512f", 16), ("avx512dq", 17), ("avx512cd", 28), ("avx512bw", 30), ("avx512vl", 31)];

    /// <summary>The switch's rule: every reason to stay names itself, so info can print it.</summary>
    internal static DispatchDecision Decide(DispatchInputs inputs)
    {
        if (inputs.DispatchSetting == "0")
        {
            return new(false, $"stays on AVX2: {DispatchVariable}=0");
        }
        var missingCpu = Avx512Subsets.Where(s => (inputs.Cpu.Leaf7Ebx & (1 << s.Bit)) == 0).Select(s => s.Flag).ToArray();
        if (missingCpu.Length > 0)
        {
            return new(false, $"stays on AVX2: the CPU lacks {string.Join(", ", missingCpu)} (CPUID leaf 7)");
        }
        if (inputs.CpuinfoFlags is null)
        {
            return new(false, "stays on AVX2: /proc/cpuinfo is unreadable, so OS support for AVX-512 state is unknown");
        }
        var flags = inputs.CpuinfoFlags.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var missingOs = Avx512Subsets.Where(s => Array.IndexOf(flags, s.Flag) < 0).Select(s => s.Flag).ToArray();
        if (missingOs.Length > 0)
        {
            return new(false, $"stays on AVX2: the CPU has AVX-512 but the OS does not enable it ({string.Join(", ", missingOs)} missing from /proc/cpuinfo)");
        }
        if (inputs.DisabledBy is not null)
        {
            return new(false, $"stays on AVX2: DOTNET_{inputs.DisabledBy}=0 turns AVX-512 off, as it would for the JIT build");
        }
        int? width = int.TryParse(inputs.PreferredVectorBitWidth, NumberStyles.None, CultureInfo.InvariantCulture, out var w) ? w : null;
        if (width is < 512)
        {
            return new(false, $"stays on AVX2: DOTNET_PreferredVectorBitWidth={width} asks for at most {width}-bit vectors");
        }
        // The .NET runtime's own list (Skylake-SP/Cascade Lake/Cooper Lake 06_55h, Cannon Lake 06_66h): 512-bit code lowers
        // the clock there, so the JIT build reports Vector512 as not accelerated and runs AVX2 kernels; do the same.
        var throttles = inputs.Cpu.IsIntel && inputs.Cpu.Family == 6 && inputs.Cpu.Model is 0x55 or 0x66;
        if (throttles && width is null)
        {
            return new(false, $"stays on AVX2: Intel model 06_{inputs.Cpu.Model:X2}h slows its clock for 512-bit code, so .NET prefers 256-bit vectors (DOTNET_PreferredVectorBitWidth=512 overrides)");
        }
        if (!inputs.SiblingExists || inputs.SiblingPath is null)
        {
            return new(false, $"stays on AVX2: this CPU supports AVX-512 but {inputs.SiblingPath ?? Avx512Executable} is missing (ship it next to vcp-native)");
        }
        return new(true, $"switching to {inputs.SiblingPath}: this CPU and OS support AVX-512 F/BW/CD/DQ/VL");
    }

    private static CpuidFacts ReadCpuid()
    {
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

    /// <summary>The first "flags" line of /proc/cpuinfo (every core lists the same), without reading the whole file.</summary>
    internal static string? ReadCpuinfoFlags(string path)
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

    /// <summary>A runtime knob as the JIT reads it: DOTNET_name, or the older COMPlus_name.</summary>
    private static string? RuntimeSetting(string name) =>
        Environment.GetEnvironmentVariable("DOTNET_" + name) ?? Environment.GetEnvironmentVariable("COMPlus_" + name);

    [LibraryImport("libc", EntryPoint = "execv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Execv(string path, string?[] argv);

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "unsetenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnsetEnv(string name);
}
