// `kernels profile`: runs one kernel-backed op on the PTX emulator with counters on, scales the counts to the requested
// shape, and derives occupancy limits and a roofline time estimate for a named GPU.
using System.Globalization;
using System.Text;
using VcpNative.Tensors.Autograd;
using VcpNative.Tensors.Cuda.Emulator;

namespace VcpNative.Tensors.Cuda.Profiling;

/// <summary>
/// One profilable op. The emulator interprets every lane, so large shapes run at a reduced <see cref="Emulated"/>
/// shape and the counts are multiplied by <see cref="Scale"/> (the ratio of the kernel's work units, e.g. GEMM
/// tile-steps); <see cref="CompulsoryBytes"/> is the analytic minimum DRAM traffic at the requested shape.
/// <see cref="Transposed"/> (GEMMs only, else null) gives the same target with op(A) / op(B) read from transposed
/// storage, i.e. the kernel's trans_a / trans_b operand layouts.
/// </summary>
public sealed record ProfileTarget(string Name, string Description, string ShapeFormat, int[] DefaultShape,
                                   Func<int[], int[]> Emulated, Func<int[], int[], double> Scale, string ScaleRule,
                                   Func<int[], double> CompulsoryBytes, Action<GpuBackend, int[]> Run,
                                   Func<bool, bool, ProfileTarget>? Transposed = null);

/// <summary>Resident blocks per SM and the limit that binds.</summary>
public sealed record KernelOccupancy(string Kernel, int RegistersPerThread, int SharedBytesPerBlock, int ThreadsPerBlock,
                                     int BlocksPerSm, string Limiter, double Occupancy, int LiveRegisters, int DeclaredRegisters);

/// <summary>Everything `kernels profile` prints, with counts already scaled to <see cref="Shape"/>.</summary>
public sealed record KernelProfileReport(ProfileTarget Target, int[] Shape, int[] EmulatedShape, double Scale, GpuSpec Gpu,
                                         KernelCounters Emulated, IReadOnlyList<KernelLaunchRecord> Launches,
                                         IReadOnlyList<KernelOccupancy> Occupancy, double ComputeSeconds, double TensorSeconds,
                                         double MemorySeconds, double NoReuseMemorySeconds)
{
    /// <summary>Roofline estimate: the larger of compute time (SIMT + tensor) and compulsory-traffic time.</summary>
    public double EstimateSeconds => Math.Max(ComputeSeconds + TensorSeconds, MemorySeconds);

    /// <summary>"compute-bound" or "memory-bound", whichever roofline time is larger.</summary>
    public string Bound => ComputeSeconds + TensorSeconds >= MemorySeconds ? "compute-bound" : "memory-bound";
}

/// <summary>Runs one op's kernels in the PTX emulator with counters attached and turns the counts into a roofline and occupancy report.</summary>
public static class KernelProfiler
{
    private const int GemmTile = 64;

    /// <summary>Every op `kernels profile` knows.</summary>
    public static IReadOnlyList<ProfileTarget> Targets { get; } =
    [
        Gemm("gemm", "fp32 SIMT GEMM (gemm_f32)", 16, MatMulPrecision.Fp32),
        Gemm("gemm_tc", "bf16 tensor-core GEMM (gemm_tc_bf16, mma.sync m16n8k16), fp32 accumulation", 32, MatMulPrecision.Bf16TensorCores),
        Attention(),
        AttentionTensorCores(),
        Rows("add", "elementwise add of two [R,C] tensors (add_f32)", [1370, 1024], 12, (g, s) => Ops.Add(Input(g, s, 1), Input(g, s, 2))),
        Rows("softmax", "row softmax (softmax_forward), e.g. 16 heads x 1370 queries", [16 * 1370, 1370], 8, (g, s) => Ops.Softmax(Input(g, s, 1))),
        Rows("layernorm", "LayerNorm over the last axis (layernorm_forward)", [1370, 1024], 8, (g, s) =>
            Ops.LayerNorm(Input(g, s, 1), Input(g, [s[1]], 2), Input(g, [s[1]], 3), 1e-5f)),
    ];

    /// <summary>The target called <paramref name="name"/>; throws for an unknown name.</summary>
    public static ProfileTarget Find(string name)
    {
        foreach (var t in Targets)
        {
            if (string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return t;
            }
        }
        var names = new List<string>();
        foreach (var t in Targets)
        {
            names.Add(t.Name);
        }
        throw new ArgumentException($"kernels profile: unknown kernel '{name}' (have: {string.Join(", ", names)})");
    }

    /// <summary>"1370x1024x1024" into dimensions; null or empty gives the target's default.</summary>
    public static int[] ParseShape(ProfileTarget target, string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return target.DefaultShape;
        }
        var parts = text.Split('x', 'X', ',');
        var shape = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]) || shape[i] <= 0)
            {
                throw new ArgumentException($"shape {text}: expected positive integers as {target.ShapeFormat}");
            }
        }
        if (shape.Length != target.DefaultShape.Length)
        {
            throw new ArgumentException($"shape {text}: {target.Name} takes {target.ShapeFormat}, found {shape.Length} dimensions");
        }
        return shape;
    }

    /// <summary>Profiles <paramref name="target"/> at <paramref name="shape"/> and estimates its time on <paramref name="gpu"/>.</summary>
    public static KernelProfileReport Profile(ProfileTarget target, int[] shape, GpuSpec gpu)
    {
        var emulatedShape = target.Emulated(shape);
        var emulator = new PtxEmulator { Profile = new EmulatorProfile() };
        using (var backend = new GpuBackend(emulator, ownsDriver: true))
        using (var scope = new TensorScope())
        using (Tape.NoGrad())
        {
            target.Run(backend, emulatedShape);
        }
        var launches = emulator.Profile.Launches;
        var total = new KernelCounters();
        foreach (var l in launches)
        {
            total.Add(l.Counters);
        }
        var scale = target.Scale(shape, emulatedShape);
        var occupancy = new List<KernelOccupancy>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var l in launches)
        {
            if (seen.Add(l.Kernel))
            {
                occupancy.Add(Occupancy(l, gpu));
            }
        }
        var compute = total.Fp32Flops * scale / (gpu.Fp32Tflops * 1e12);
        var tensor = total.TensorFlops * scale / (gpu.TensorTflops * 1e12);
        var memory = target.CompulsoryBytes(shape) / (gpu.BandwidthGBs * 1e9);
        var noReuse = (total.GlobalLoadSectors + total.GlobalStoreSectors) * 32.0 * scale / (gpu.BandwidthGBs * 1e9);
        return new KernelProfileReport(target, shape, emulatedShape, scale, gpu, total, launches, occupancy, compute, tensor, memory, noReuse);
    }

    /// <summary>
    /// Resident blocks per SM from registers (allocated per warp in units of 256, per thread rounded up to 8),
    /// shared memory (128-byte granules plus the 1 KB per block the runtime reserves on sm_80+), threads and the
    /// block limit, as the CUDA occupancy calculator does.
    /// </summary>
    /// <summary>Registers added to the live-value count for ptxas's own temporaries (a judgement, stated in the output).</summary>
    public const int RegisterAllocationSlack = 8;

    /// <summary>The per-thread register limit of every GPU from sm_50 on.</summary>
    public const int MaxRegistersPerThread = 255;

    /// <summary>Resident blocks per SM of <paramref name="launch"/> on <paramref name="gpu"/> and the limit that binds.</summary>
    public static KernelOccupancy Occupancy(KernelLaunchRecord launch, GpuSpec gpu)
    {
        var threads = (int)launch.Block.Volume;
        var warps = (threads + 31) / 32;
        // ptxas needs at least the live values plus a few of its own (addresses, predicates spilled to registers);
        // the .reg count is only an upper bound. Never above the 255 the hardware allows (it would spill instead).
        var regs = Math.Min(MaxRegistersPerThread, Math.Max(1, launch.LiveRegisters + RegisterAllocationSlack));
        var regsPerWarp = (((regs + 7) / 8 * 8 * 32) + 255) / 256 * 256;
        var byRegs = gpu.RegistersPerSm / (regsPerWarp * warps);
        var smem = launch.SharedBytesPerBlock == 0 ? 0 : ((launch.SharedBytesPerBlock + 127) / 128 * 128) + 1024;
        var bySmem = smem == 0 ? int.MaxValue : gpu.SharedBytesPerSm / smem;
        var byThreads = gpu.MaxThreadsPerSm / (warps * 32);
        var blocks = Math.Min(Math.Min(byRegs, bySmem), Math.Min(byThreads, gpu.MaxBlocksPerSm));
        // On a tie the hardware limits (threads, blocks) are named first: they bind whatever the kernel does.
        var limiter = blocks == byThreads ? "threads" : blocks == gpu.MaxBlocksPerSm ? "blocks per SM" : blocks == byRegs ? "registers" : "shared memory";
        var occupancy = blocks * warps / (gpu.MaxThreadsPerSm / 32.0);
        return new KernelOccupancy(launch.Kernel, regs, launch.SharedBytesPerBlock, threads, blocks, limiter, occupancy, launch.LiveRegisters, launch.DeclaredRegisters);
    }

    /// <summary>The report as `kernels profile` prints it.</summary>
    public static string Format(KernelProfileReport r)
    {
        var ci = CultureInfo.InvariantCulture;
        var s = r.Scale;
        var c = r.Emulated;
        var o = new StringBuilder();
        o.AppendLine(ci, $"kernels profile {r.Target.Name}: {r.Target.Description}");
        o.AppendLine(ci, $"shape {Dims(r.Shape)} ({r.Target.ShapeFormat}); emulated at {Dims(r.EmulatedShape)}, counts x {s:F2} ({r.Target.ScaleRule})");
        foreach (var l in r.Launches)
        {
            o.AppendLine(ci, $"  launch {l.Kernel}: grid ({l.Grid.X},{l.Grid.Y},{l.Grid.Z}) x block ({l.Block.X},{l.Block.Y},{l.Block.Z}) at the emulated shape");
        }
        o.AppendLine();
        o.AppendLine("instruction mix (scaled)   warp instr    share  thread instr");
        var totalWarp = (double)c.TotalWarpInstructions;
        for (var i = 0; i < KernelCounters.ClassCount; i++)
        {
            if (c.WarpInstructions[i] == 0)
            {
                continue;
            }
            o.AppendLine(ci, $"  {ClassName((InstructionClass)i),-22} {c.WarpInstructions[i] * s,12:G4} {100 * c.WarpInstructions[i] / totalWarp,6:F1}%  {c.ThreadInstructions[i] * s,12:G4}");
        }
        o.AppendLine(ci, $"  {"total",-22} {totalWarp * s,12:G4}");
        o.AppendLine(ci, $"flops: fp32 SIMT {c.Fp32Flops * s:G4}, tensor core {c.TensorFlops * s:G4}");
        o.AppendLine(ci, $"global memory: loaded {Mb(c.GlobalLoadBytes * s)} in {c.GlobalLoadSectors * s:G4} 32-B sectors, stored {Mb(c.GlobalStoreBytes * s)} in {c.GlobalStoreSectors * s:G4} sectors");
        o.AppendLine(ci, $"  distinct bytes touched at the emulated shape: {Mb(c.UniqueLoadSectors.Count * 32.0)} loaded, {Mb(c.UniqueStoreSectors.Count * 32.0)} stored; compulsory at {Dims(r.Shape)}: {Mb(r.Target.CompulsoryBytes(r.Shape))}");
        var extra = c.SharedIdealWavefronts == 0 ? 0 : 100.0 * c.SharedBankConflictReplays / c.SharedIdealWavefronts;
        o.AppendLine(ci, $"shared memory: {c.SharedAccesses * s:G4} warp accesses, {c.SharedWavefronts * s:G4} wavefronts, {c.SharedBankConflictReplays * s:G4} bank-conflict replays (+{extra:F1}%)");
        var divergent = c.Branches == 0 ? 0 : 100.0 * c.DivergentBranches / c.Branches;
        o.AppendLine(ci, $"branches: {c.Branches * s:G4} warp branches, {c.DivergentBranches * s:G4} divergent ({divergent:F2}%)");
        o.AppendLine();
        o.AppendLine(ci, $"occupancy on {r.Gpu.Name} ({r.Gpu.Sms} SMs; per SM {r.Gpu.RegistersPerSm} registers, {r.Gpu.MaxThreadsPerSm} threads, {r.Gpu.MaxBlocksPerSm} blocks, {r.Gpu.SharedBytesPerSm / 1024} KB shared):");
        foreach (var q in r.Occupancy)
        {
            o.AppendLine(ci, $"  {q.Kernel}: ~{q.RegistersPerThread} registers/thread ({q.LiveRegisters} live 32-bit values at most by liveness analysis of the PTX + {RegisterAllocationSlack} for ptxas; .reg declares {q.DeclaredRegisters}), {q.SharedBytesPerBlock} B shared/block, {q.ThreadsPerBlock} threads/block");
            if (q.LiveRegisters + RegisterAllocationSlack > MaxRegistersPerThread)
            {
                o.AppendLine(ci, $"    !! more live values than the {MaxRegistersPerThread} registers a thread can have: ptxas must reorder or spill to local memory");
            }
            o.AppendLine(ci, $"    -> {q.BlocksPerSm} blocks/SM (limited by {q.Limiter}), occupancy {100 * q.Occupancy:F0}%");
        }
        o.AppendLine(ci, $"roofline on {r.Gpu.Name} (published peaks: {r.Gpu.Fp32Tflops} TFLOP/s fp32, {r.Gpu.TensorTflops} TFLOP/s tensor core dense, {r.Gpu.BandwidthGBs} GB/s):");
        o.AppendLine(ci, $"  fp32 SIMT {Us(r.ComputeSeconds)}, tensor core {Us(r.TensorSeconds)}, compulsory DRAM traffic {Us(r.MemorySeconds)}");
        o.AppendLine(ci, $"  estimate {Us(r.EstimateSeconds)} ({r.Bound}); every sector from DRAM (no cache reuse): {Us(Math.Max(r.ComputeSeconds + r.TensorSeconds, r.NoReuseMemorySeconds))}");
        o.AppendLine("  (a peak-throughput bound from emulator counts: issue overheads, latency and occupancy are not modelled; real-GPU timings are still to be taken)");
        return o.ToString();
    }

    private static string ClassName(InstructionClass c) => c switch
    {
        InstructionClass.Fp32 => "fp32 arithmetic",
        InstructionClass.Fp64 => "fp64 arithmetic",
        InstructionClass.Integer => "int/logic/compare",
        InstructionClass.MoveConvert => "move/convert",
        InstructionClass.Memory => "memory",
        InstructionClass.Control => "control/sync",
        InstructionClass.Special => "special (SFU, shfl)",
        _ => "tensor core (mma)",
    };

    private static string Dims(int[] shape) => string.Join("x", shape);

    private static string Mb(double bytes) => (bytes / 1e6).ToString("F3", CultureInfo.InvariantCulture) + " MB";

    private static string Us(double seconds) => (seconds * 1e6).ToString("F1", CultureInfo.InvariantCulture) + " us";

    private static Tensor Input(IBackend b, int[] shape, int seed) => SeededInputs.Tensor(b, shape, seed);

    private static ProfileTarget Gemm(string name, string description, int kStep, MatMulPrecision precision, bool transA = false, bool transB = false)
    {
        static double Units(int[] s, int kStep) =>
            (double)((s[0] + GemmTile - 1) / GemmTile) * ((s[1] + GemmTile - 1) / GemmTile) * ((s[2] + kStep - 1) / kStep);
        var layout = $"A{(transA ? "[K,M]^T" : "[M,K]")} B{(transB ? "[N,K]^T" : "[K,N]")}";
        return new ProfileTarget(name, $"{description}, C = {layout}", "M x N x K", [1370, 1024, 1024],
            s => [Math.Min(s[0], 128), Math.Min(s[1], 128), Math.Min(s[2], 128)],
            (t, e) => Units(t, kStep) / Units(e, kStep),
            $"ratio of 64x64x{kStep} tile-steps; per-block prologue/epilogue work scales only approximately",
            s => 4.0 * (((double)s[0] * s[2]) + ((double)s[2] * s[1]) + ((double)s[0] * s[1])),
            (g, s) =>
            {
                g.MatMulPrecision = precision;
                var a = Input(g, transA ? [s[2], s[0]] : [s[0], s[2]], 1);
                var b = Input(g, transB ? [s[1], s[2]] : [s[2], s[1]], 2);
                Ops.MatMul(a, b, transA, transB);
            },
            (ta, tb) => Gemm(name, description, kStep, precision, ta, tb));
    }

    /// <summary>Self-attention of one ViT-L/14 layer at 518 px by default: 16 heads, 1370 tokens, head width 64.</summary>
    private static ProfileTarget Attention() =>
        AttentionTarget("attention", "fused flash-style attention forward (attention_forward), softmax(q k^T / sqrt(D)) v",
            MatMulPrecision.Fp32, 96, s => (double)s[0] * s[1] * s[1],
            "ratio of (heads x queries x keys); the per-block prologue and the logsumexp store scale only approximately");

    /// <summary>The same attention on tensor cores; emulated at 128 tokens, two whole 64-query blocks by two 64-key tiles.</summary>
    private static ProfileTarget AttentionTensorCores()
    {
        static double Tiles(int l) => (l + 63) / 64;
        return AttentionTarget("attention_tc", "bf16 tensor-core fused attention forward (attention_forward_tc_bf16, mma.sync m16n8k16), fp32 softmax",
            MatMulPrecision.Bf16TensorCores, 128, s => s[0] * Tiles(s[1]) * Tiles(s[1]),
            "ratio of heads x 64-query blocks x 64-key tiles (padded tails included); the Q staging and epilogue scale only approximately");
    }

    private static ProfileTarget AttentionTarget(string name, string description, MatMulPrecision precision, int emulatedTokens,
                                                 Func<int[], double> work, string scaleRule) =>
        new(name, description, "BH x L x D", [16, 1370, 64],
            s => [1, Math.Min(s[1], emulatedTokens), s[2]],
            (t, e) => work(t) / work(e),
            scaleRule,
            s => 4.0 * 4 * s[0] * s[1] * s[2],
            (g, s) =>
            {
                g.MatMulPrecision = precision;
                var q = Input(g, [1, s[0], s[1], s[2]], 1);
                Ops.Attention(q, Input(g, [1, s[0], s[1], s[2]], 2), Input(g, [1, s[0], s[1], s[2]], 3));
            });

    private static ProfileTarget Rows(string name, string description, int[] defaultShape, int bytesPerElement, Func<GpuBackend, int[], Tensor> run) =>
        new(name, description, "R x C", defaultShape,
            s => [Math.Min(s[0], 8), s[1]],
            (t, e) => (double)t[0] / e[0],
            "ratio of rows",
            s => (double)bytesPerElement * s[0] * s[1],
            (g, s) => run(g, s));
}
