// Which vcp-native build is running (JIT, NativeAOT x86-64-v3 / x86-64-v4 / arm64) and why, for `info` and `bench`.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace VcpNative.Cli;

/// <summary>
/// NativeAOT fixes <c>Vector512.IsHardwareAccelerated</c> and <c>Avx512F.IsSupported</c> when it compiles, so the x64
/// release ships vcp-native-avx2 (x86-64-v3) and vcp-native-avx512 (x86-64-v4) behind the launcher vcp-native
/// (src/VcpNative.Launcher), which picks one and passes its reason on in the environment.
/// </summary>
public static class NativeBuild
{
    // Set by the launcher (src/VcpNative.Launcher/Program.cs, LaunchVariables) for the executable it starts.
    private const string LaunchedByVariable = "VCP_NATIVE_LAUNCHED_BY";
    private const string ReasonVariable = "VCP_NATIVE_BUILD_REASON";

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

    /// <summary>Why this build runs on this machine: the launcher's choice, or how the JIT chooses.</summary>
    public static string Reason
    {
        get
        {
            if (!IsNativeAot)
            {
                return "the .NET runtime chooses the SIMD instructions for this CPU when it compiles each method";
            }
            var launcher = Environment.GetEnvironmentVariable(LaunchedByVariable);
            var reason = Environment.GetEnvironmentVariable(ReasonVariable);
            if (!string.IsNullOrEmpty(launcher) && !string.IsNullOrEmpty(reason))
            {
                return $"{reason} (chosen by {launcher})";
            }
            return RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.Arm64 => "arm64 build: AdvSimd (NEON) kernels",
                Architecture.X64 => "started directly, not through the launcher vcp-native that picks the AVX2 or AVX-512 executable",
                _ => "started directly",
            };
        }
    }
}
