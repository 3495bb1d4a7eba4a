// The launcher's rule for choosing vcp-native-avx512 or vcp-native-avx2: on made-up machines, and on this one against the
// JIT's own choice. (The exec itself runs in tools/release.sh --smoke, on the published binaries.)
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using VcpNative.Launcher;
using Xunit;
using Xunit.Abstractions;

namespace VcpNative.Tests.Launcher;

public class X64BuildChoiceTests(ITestOutputHelper output)
{
    // CPUID leaf 7 EBX with AVX-512 F (16), DQ (17), CD (28), BW (30) and VL (31).
    private const int AllAvx512 = (1 << 16) | (1 << 17) | (1 << 28) | (1 << 30) | (1 << 31);
    private const string AllFlags = " fpu avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni";
    private static readonly X64BuildChoice.CpuidFacts Zen4 = new(AllAvx512, IsIntel: false, Family: 25, Model: 0x11);

    private static X64BuildChoice.Inputs Machine(
        X64BuildChoice.CpuidFacts? cpu = null, string? flags = AllFlags, bool avx512Exists = true, string? dispatch = null,
        string? width = null, string? disabledBy = null) =>
        new(dispatch, width, disabledBy, cpu ?? Zen4, flags, "/opt/vcp/vcp-native-avx512", avx512Exists);

    [Fact]
    public void Avx512CpuAndOs_WithTheExecutable_ChoosesAvx512()
    {
        var choice = X64BuildChoice.Decide(Machine());
        Assert.True(choice.Avx512, choice.Reason);
        Assert.Equal("AVX-512 build: this CPU and OS support AVX-512 F/BW/CD/DQ/VL", choice.Reason);
    }

    [Theory]
    [InlineData("0", null, null, "AVX2 build: VCP_NATIVE_DISPATCH=0")]
    [InlineData(null, "256", null, "AVX2 build: DOTNET_PreferredVectorBitWidth=256 asks for at most 256-bit vectors")]
    [InlineData(null, null, "EnableAVX512", "AVX2 build: DOTNET_EnableAVX512=0 turns AVX-512 off, as it would for the JIT build")]
    public void Settings_KeepTheAvx2Build(string? dispatch, string? width, string? disabledBy, string reason)
    {
        var choice = X64BuildChoice.Decide(Machine(dispatch: dispatch, width: width, disabledBy: disabledBy));
        Assert.False(choice.Avx512);
        Assert.Equal(reason, choice.Reason);
    }

    [Fact]
    public void MissingAvx512Executable_KeepsAvx2AndSaysWhere()
    {
        var choice = X64BuildChoice.Decide(Machine(avx512Exists: false));
        Assert.False(choice.Avx512);
        Assert.Equal("AVX2 build: this CPU supports AVX-512 but /opt/vcp/vcp-native-avx512 is missing (ship it next to vcp-native)", choice.Reason);
    }

    [Fact]
    public void CpuWithoutEverySubset_KeepsAvx2()
    {
        // Knights Landing style: F and CD but no BW, DQ or VL.
        var choice = X64BuildChoice.Decide(Machine(cpu: new X64BuildChoice.CpuidFacts((1 << 16) | (1 << 28), true, 6, 0x57)));
        Assert.False(choice.Avx512);
        Assert.Equal("AVX2 build: the CPU lacks avx512dq, avx512bw, avx512vl (CPUID leaf 7)", choice.Reason);
        Assert.False(X64BuildChoice.Decide(Machine(cpu: new X64BuildChoice.CpuidFacts(0, false, 23, 0x31))).Avx512);
    }

    [Fact]
    public void OsWithoutAvx512State_KeepsAvx2()
    {
        // The kernel clears the avx512* flags when it does not save the ZMM/opmask state (e.g. a hypervisor hides it).
        var choice = X64BuildChoice.Decide(Machine(flags: " fpu avx2 fma avx512f"));
        Assert.False(choice.Avx512);
        Assert.Equal("AVX2 build: the CPU has AVX-512 but the OS does not enable it (avx512dq, avx512cd, avx512bw, avx512vl missing from /proc/cpuinfo)", choice.Reason);
        Assert.False(X64BuildChoice.Decide(Machine(flags: null)).Avx512);
    }

    [Fact]
    public void ThrottlingIntelModels_FollowTheJit()
    {
        var cascadeLake = new X64BuildChoice.CpuidFacts(AllAvx512, IsIntel: true, Family: 6, Model: 0x55);
        var choice = X64BuildChoice.Decide(Machine(cpu: cascadeLake));
        Assert.False(choice.Avx512);
        Assert.Equal("AVX2 build: Intel model 06_55h slows its clock for 512-bit code, so .NET prefers 256-bit vectors (DOTNET_PreferredVectorBitWidth=512 overrides)", choice.Reason);
        Assert.True(X64BuildChoice.Decide(Machine(cpu: cascadeLake, width: "512")).Avx512);
        var sapphireRapids = new X64BuildChoice.CpuidFacts(AllAvx512, IsIntel: true, Family: 6, Model: 0x8F);
        Assert.True(X64BuildChoice.Decide(Machine(cpu: sapphireRapids)).Avx512);
    }

    [Fact]
    public void CpuinfoFlags_FirstFlagsLineOrNull()
    {
        var path = Path.Combine(Path.GetTempPath(), $"cpuinfo-{Guid.NewGuid():N}");
        File.WriteAllText(path, "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu avx512f avx512bw\nbugs\t\t: none\n\nprocessor\t: 1\nflags\t\t: fpu\n");
        try
        {
            Assert.Equal(" fpu avx512f avx512bw", X64BuildChoice.ReadCpuinfoFlags(path));
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Null(X64BuildChoice.ReadCpuinfoFlags(path));
    }

    [Fact]
    public void OnThisMachine_ChoosesAvx512ExactlyWhenTheJitUsesIt()
    {
        // The test host is a JIT process: Vector512.IsHardwareAccelerated here is the runtime's own decision for this CPU,
        // which the launcher must reproduce from CPUID, /proc/cpuinfo and the environment alone.
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            output.WriteLine($"not x64 ({RuntimeInformation.ProcessArchitecture}): one executable per architecture, no launcher to test here");
            Assert.Equal(Architecture.Arm64, RuntimeInformation.ProcessArchitecture);
            return;
        }
        var jitUsesAvx512 = Avx512F.IsSupported && Vector512.IsHardwareAccelerated;
        // VCP_NATIVE_DISPATCH is the launcher's own switch, not the JIT's business.
        var inputs = X64BuildChoice.ReadMachine("/opt/vcp/vcp-native-avx512", avx512Exists: true) with { DispatchSetting = null };
        var choice = X64BuildChoice.Decide(inputs);
        output.WriteLine($"JIT uses AVX-512: {jitUsesAvx512}; launcher: {choice.Reason}");
        Assert.Equal(jitUsesAvx512, choice.Avx512);
    }
}
