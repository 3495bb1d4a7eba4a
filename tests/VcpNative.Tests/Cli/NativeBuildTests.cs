// The start-up switch from the AVX2 NativeAOT executable to vcp-native-avx512: its rule on made-up machines, and on this one
// against the JIT's own choice. (The exec itself runs in tools/release.sh --smoke, on the published binaries.)
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using VcpNative.Cli;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Cli;

public class NativeBuildTests(ITestOutputHelper output)
{
    // CPUID leaf 7 EBX with AVX-512 F (16), DQ (17), CD (28), BW (30) and VL (31).
    private const int AllAvx512 = (1 << 16) | (1 << 17) | (1 << 28) | (1 << 30) | (1 << 31);
    private const string AllFlags = " fpu avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni";
    private static readonly NativeBuild.CpuidFacts Zen4 = new(AllAvx512, IsIntel: false, Family: 25, Model: 0x11);

    private static NativeBuild.DispatchInputs Machine(
        NativeBuild.CpuidFacts? cpu = null, string? flags = AllFlags, bool sibling = true, string? dispatch = null,
        string? width = null, string? disabledBy = null) =>
        new(dispatch, width, disabledBy, cpu ?? Zen4, flags, "/opt/vcp/vcp-native-avx512", sibling);

    [Fact]
    public void Avx512CpuAndOs_WithSibling_Switches()
    {
        var decision = NativeBuild.Decide(Machine());
        Assert.True(decision.Exec, decision.Reason);
        Assert.Equal("switching to /opt/vcp/vcp-native-avx512: this CPU and OS support AVX-512 F/BW/CD/DQ/VL", decision.Reason);
    }

    [Theory]
    [InlineData("0", null, null, "stays on AVX2: VCP_NATIVE_DISPATCH=0")]
    [InlineData(null, "256", null, "stays on AVX2: DOTNET_PreferredVectorBitWidth=256 asks for at most 256-bit vectors")]
    [InlineData(null, null, "EnableAVX512", "stays on AVX2: DOTNET_EnableAVX512=0 turns AVX-512 off, as it would for the JIT build")]
    public void Settings_KeepTheAvx2Build(string? dispatch, string? width, string? disabledBy, string reason)
    {
        var decision = NativeBuild.Decide(Machine(dispatch: dispatch, width: width, disabledBy: disabledBy));
        Assert.False(decision.Exec);
        Assert.Equal(reason, decision.Reason);
    }

    [Fact]
    public void MissingSibling_StaysAndSaysWhere()
    {
        var decision = NativeBuild.Decide(Machine(sibling: false));
        Assert.False(decision.Exec);
        Assert.Equal("stays on AVX2: this CPU supports AVX-512 but /opt/vcp/vcp-native-avx512 is missing (ship it next to vcp-native)", decision.Reason);
    }

    [Fact]
    public void CpuWithoutEverySubset_Stays()
    {
        // Knights Landing style: F and CD but no BW, DQ or VL.
        var decision = NativeBuild.Decide(Machine(cpu: new NativeBuild.CpuidFacts((1 << 16) | (1 << 28), true, 6, 0x57)));
        Assert.False(decision.Exec);
        Assert.Equal("stays on AVX2: the CPU lacks avx512dq, avx512bw, avx512vl (CPUID leaf 7)", decision.Reason);
        Assert.False(NativeBuild.Decide(Machine(cpu: new NativeBuild.CpuidFacts(0, false, 23, 0x31))).Exec);
    }

    [Fact]
    public void OsWithoutAvx512State_Stays()
    {
        // The kernel clears the avx512* flags when it does not save the ZMM/opmask state (e.g. a hypervisor hides it).
        var decision = NativeBuild.Decide(Machine(flags: " fpu avx2 fma avx512f"));
        Assert.False(decision.Exec);
        Assert.Equal("stays on AVX2: the CPU has AVX-512 but the OS does not enable it (avx512dq, avx512cd, avx512bw, avx512vl missing from /proc/cpuinfo)", decision.Reason);
        Assert.False(NativeBuild.Decide(Machine(flags: null)).Exec);
    }

    [Fact]
    public void ThrottlingIntelModels_FollowTheJit()
    {
        var cascadeLake = new NativeBuild.CpuidFacts(AllAvx512, IsIntel: true, Family: 6, Model: 0x55);
        var stays = NativeBuild.Decide(Machine(cpu: cascadeLake));
        Assert.False(stays.Exec);
        Assert.Equal("stays on AVX2: Intel model 06_55h slows its clock for 512-bit code, so .NET prefers 256-bit vectors (DOTNET_PreferredVectorBitWidth=512 overrides)", stays.Reason);
        Assert.True(NativeBuild.Decide(Machine(cpu: cascadeLake, width: "512")).Exec);
        var sapphireRapids = new NativeBuild.CpuidFacts(AllAvx512, IsIntel: true, Family: 6, Model: 0x8F);
        Assert.True(NativeBuild.Decide(Machine(cpu: sapphireRapids)).Exec);
    }

    [Fact]
    public void CpuinfoFlags_FirstFlagsLineOrNull()
    {
        var path = Path.Combine(Path.GetTempPath(), $"cpuinfo-{Guid.NewGuid():N}");
        File.WriteAllText(path, "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu avx512f avx512bw\nbugs\t\t: none\n\nprocessor\t: 1\nflags\t\t: fpu\n");
        try
        {
            Assert.Equal(" fpu avx512f avx512bw", NativeBuild.ReadCpuinfoFlags(path));
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Null(NativeBuild.ReadCpuinfoFlags(path));
    }

    [Fact]
    public void OnThisMachine_SwitchesExactlyWhenTheJitUsesAvx512()
    {
        // The test host is a JIT process: Vector512.IsHardwareAccelerated here is the runtime's own decision for this CPU,
        // which the AVX2 NativeAOT executable must reproduce from CPUID and /proc/cpuinfo alone.
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            output.WriteLine($"not x64 ({RuntimeInformation.ProcessArchitecture}): there is only one executable per architecture, nothing to switch");
            Assert.False(NativeBuild.IsNativeAot);
            return;
        }
        Assert.False(NativeBuild.IsNativeAot);
        var jitUsesAvx512 = Avx512F.IsSupported && Vector512.IsHardwareAccelerated;
        // As vcp-native would see this machine with its sibling in place (VCP_NATIVE_DISPATCH is not the JIT's business).
        var inputs = NativeBuild.ReadMachine("/opt/vcp/vcp-native-avx512", siblingExists: true) with { DispatchSetting = null };
        var decision = NativeBuild.Decide(inputs);
        output.WriteLine($"JIT uses AVX-512: {jitUsesAvx512}; switch: {decision.Reason}");
        Assert.Equal(jitUsesAvx512, decision.Exec);
    }
}
