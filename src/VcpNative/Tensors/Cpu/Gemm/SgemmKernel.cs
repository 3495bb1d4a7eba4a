// Which sgemm micro-kernel runs on this CPU, with the register tile (MR x NR) and cache blocking (KC, MC, NC) that go with it.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace VcpNative.Tensors.Cpu;

/// <summary>A micro-kernel and its blocking. Packed panels are laid out for one kernel, so a packed matrix remembers its kernel.</summary>
internal sealed unsafe class SgemmKernel
{
    /// <summary>Internal so tests can build a deliberately wrong kernel; the list below is the real set.</summary>
    internal SgemmKernel(
        string name, int mr, int nr, int kc, int mc, int nc, bool isSupported,
        delegate*<int, float*, float*, float*, long, float, float, void> run)
    {
        Name = name;
        Mr = mr;
        Nr = nr;
        Kc = kc;
        Mc = mc;
        Nc = nc;
        IsSupported = isSupported;
        Run = run;
    }

    public string Name { get; }

    /// <summary>Rows of the register tile (A panel width).</summary>
    public int Mr { get; }

    /// <summary>Columns of the register tile (B panel width).</summary>
    public int Nr { get; }

    /// <summary>k depth of a packed block: an A and a B micro-panel together stay in L1.</summary>
    public int Kc { get; }

    /// <summary>Rows of a packed A block (multiple of Mr): MC x KC stays in L2.</summary>
    public int Mc { get; }

    /// <summary>Columns of a packed B block (multiple of Nr): KC x NC stays in L2/L3.</summary>
    public int Nc { get; }

    public bool IsSupported { get; }

    public delegate*<int, float*, float*, float*, long, float, float, void> Run { get; }

    // Blocking: KC, MC and NC below are the values measured best on a 2-core AMD EPYC (Zen 5: L1d 48 KiB, L2 1 MiB
    // per core) with the bench's quick mode; ForCaches shrinks them where this CPU's caches are smaller (see there).
    public static readonly SgemmKernel Avx512 = ForCaches(
        "avx512-12x32", 12, 32, 256, 144, 4096,
        Avx512F.IsSupported && Vector512.IsHardwareAccelerated, &SgemmKernels.Avx512Kernel12x32);

    public static readonly SgemmKernel Avx2 = ForCaches(
        "avx2-6x16", 6, 16, 256, 144, 4096,
        System.Runtime.Intrinsics.X86.Avx2.IsSupported && Fma.IsSupported, &SgemmKernels.Avx2Kernel6x16);

    // Blocking from the caches of a Jetson Orin's Cortex-A78AE (L1d 64 KiB and L2 256 KiB per core, L3 2 MiB per 4-core
    // cluster), not measured there: A and B micro-panels 20 KiB (L1), an A block 128 KiB (L2), a B block 1.5 MiB (L3).
    // KC = 256 as on x64, so every kernel sums the k terms of an element in the same order and blocks.
    public static readonly SgemmKernel Neon = ForCaches(
        "neon-8x12", 8, 12, 256, 128, 1536,
        AdvSimd.Arm64.IsSupported, &SgemmKernels.NeonKernel8x12);

    public static readonly SgemmKernel Vector128Portable = new(
        "vector128-4x8", 4, 8, 256, 128, 2048,
        Vector128.IsHardwareAccelerated, &SgemmKernels.Vector128Kernel4x8);

    public static readonly SgemmKernel Scalar = new(
        "scalar-4x4", 4, 4, 256, 64, 1024, true, &SgemmKernels.ScalarKernel4x4);

    /// <summary>
    /// A kernel whose blocking is the measured one, made smaller where <paramref name="caches"/> are smaller than on the
    /// machine it was measured on: KC halves while a B micro-panel (KC x NR floats) would take over 3/4 of L1d, and MC
    /// shrinks (to a multiple of MR) until an A block (MC x KC floats) takes at most half of L2. Never larger than
    /// measured: bigger caches were not seen to help (Zen 5's 1 MiB L2 with MC 144..288 measured the same).
    /// </summary>
    internal static SgemmKernel ForCaches(
        string name, int mr, int nr, int kc, int mc, int nc, bool isSupported,
        delegate*<int, float*, float*, float*, long, float, float, void> run, CpuCaches? caches = null)
    {
        caches ??= CpuCaches.Current;
        while (kc > 64 && (long)kc * nr * sizeof(float) > caches.L1Data * 3L / 4)
        {
            kc /= 2;
        }
        var fit = (int)(caches.L2 / 2L / ((long)kc * sizeof(float)) / mr * mr);
        mc = Math.Max(mr, Math.Min(mc, fit));
        return new SgemmKernel(name, mr, nr, kc, mc, nc, isSupported, run);
    }

    /// <summary>"KC=256 MC=144 NC=4096" (what benchmarks print next to the kernel name).</summary>
    public string Blocking => $"MR={Mr} NR={Nr} KC={Kc} MC={Mc} NC={Nc}";

    /// <summary>Every kernel this CPU can run, fastest first (tests run them all against the reference).</summary>
    public static IReadOnlyList<SgemmKernel> Supported { get; } =
        new[] { Avx512, Avx2, Neon, Vector128Portable, Scalar }.Where(kernel => kernel.IsSupported).ToArray();

    /// <summary>The kernel <see cref="Sgemm"/> uses; VCP_SGEMM_KERNEL=name overrides it (for benchmarking one kernel against another).</summary>
    public static SgemmKernel Default { get; } = SelectDefault();

    private static SgemmKernel SelectDefault()
    {
        var forced = Environment.GetEnvironmentVariable("VCP_SGEMM_KERNEL");
        foreach (var kernel in Supported)
        {
            if (!string.IsNullOrEmpty(forced) && kernel.Name.StartsWith(forced, StringComparison.OrdinalIgnoreCase))
            {
                return kernel;
            }
        }
        return Supported[0];
    }

    /// <summary>The same micro-kernel with other block sizes (tests use tiny blocks to cross every loop edge; tuning tries variants).</summary>
    public SgemmKernel WithBlocking(int kc, int mc, int nc)
    {
        if (kc < 1 || mc < Mr || mc % Mr != 0 || nc < Nr || nc % Nr != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(kc), $"blocking kc={kc}, mc={mc}, nc={nc} must be positive multiples of MR={Mr}, NR={Nr}.");
        }
        return new SgemmKernel($"{Name}-kc{kc}-mc{mc}-nc{nc}", Mr, Nr, kc, mc, nc, IsSupported, Run);
    }

    public override string ToString() => Name;
}
