// Dynamic counters the PTX emulator fills while a profile is attached: instruction mix, global traffic, shared-memory
// bank conflicts and branch divergence, per kernel launch.
namespace VcpNative.Tensors.Cuda.Profiling;

/// <summary>Opcode classes of the instruction mix (what functional unit an instruction occupies on the SM).</summary>
public enum InstructionClass
{
    /// <summary>fp32 add/sub/mul/fma/div/min/max/neg/abs.</summary>
    Fp32,
    /// <summary>fp64 arithmetic.</summary>
    Fp64,
    /// <summary>Integer arithmetic, logic, shifts, compares (setp), selects, predicate logic.</summary>
    Integer,
    /// <summary>mov, cvt, cvta, sign/zero extension.</summary>
    MoveConvert,
    /// <summary>ld/st/atom in any state space, and ld.param.</summary>
    Memory,
    /// <summary>bra, exit/ret, bar.sync, membar/fence.</summary>
    Control,
    /// <summary>SFU transcendentals (rcp, sqrt, rsqrt, ex2, lg2, sin, cos) and warp shuffles/votes.</summary>
    Special,
    /// <summary>mma.sync (tensor cores).</summary>
    TensorCore,
}

/// <summary>Counters of one or more kernel launches (warp-level unless the name says thread).</summary>
public sealed class KernelCounters
{
    /// <summary>Number of <see cref="InstructionClass"/> values.</summary>
    public const int ClassCount = (int)InstructionClass.TensorCore + 1;

    /// <summary>Warp instructions issued per class (one per warp per instruction, whatever the active mask).</summary>
    public long[] WarpInstructions { get; } = new long[ClassCount];

    /// <summary>Thread instructions per class (active lanes summed).</summary>
    public long[] ThreadInstructions { get; } = new long[ClassCount];

    /// <summary>fp32 floating-point operations on the SIMT cores (fma counts 2).</summary>
    public long Fp32Flops { get; set; }

    /// <summary>Tensor-core operations (mma.m16n8k16: 2 * 16 * 8 * 16 per warp instruction).</summary>
    public long TensorFlops { get; set; }

    /// <summary>Bytes loaded from global memory by all threads.</summary>
    public long GlobalLoadBytes { get; set; }

    /// <summary>Bytes stored to global memory by all threads.</summary>
    public long GlobalStoreBytes { get; set; }

    /// <summary>32-byte sectors per warp access summed: the transactions the memory system would serve without caches.</summary>
    public long GlobalLoadSectors { get; set; }

    /// <summary>32-byte sectors per warp store summed (see <see cref="GlobalLoadSectors"/>).</summary>
    public long GlobalStoreSectors { get; set; }

    /// <summary>Distinct 32-byte sectors ever loaded / stored: the compulsory DRAM traffic with perfect caching.</summary>
    public HashSet<ulong> UniqueLoadSectors { get; } = [];

    /// <summary>Distinct 32-byte sectors ever stored.</summary>
    public HashSet<ulong> UniqueStoreSectors { get; } = [];

    /// <summary>Warp-level shared-memory instructions.</summary>
    public long SharedAccesses { get; set; }

    /// <summary>Shared-memory wavefronts the accesses needed (bank conflicts serialise into extra wavefronts).</summary>
    public long SharedWavefronts { get; set; }

    /// <summary>Wavefronts a conflict-free pattern of the same widths would need.</summary>
    public long SharedIdealWavefronts { get; set; }

    /// <summary>Shared-memory replays caused by bank conflicts: wavefronts beyond the ideal.</summary>
    public long SharedBankConflictReplays => SharedWavefronts - SharedIdealWavefronts;

    /// <summary>Warp-level branch instructions executed (guarded or not).</summary>
    public long Branches { get; set; }

    /// <summary>Branches whose guard split the active lanes (some took it, some did not).</summary>
    public long DivergentBranches { get; set; }

    /// <summary>Warp instructions of all classes.</summary>
    public long TotalWarpInstructions
    {
        get
        {
            long sum = 0;
            foreach (var v in WarpInstructions)
            {
                sum += v;
            }
            return sum;
        }
    }

    /// <summary>Adds the counts of <paramref name="other"/> into this one.</summary>
    public void Add(KernelCounters other)
    {
        for (var i = 0; i < ClassCount; i++)
        {
            WarpInstructions[i] += other.WarpInstructions[i];
            ThreadInstructions[i] += other.ThreadInstructions[i];
        }
        Fp32Flops += other.Fp32Flops;
        TensorFlops += other.TensorFlops;
        GlobalLoadBytes += other.GlobalLoadBytes;
        GlobalStoreBytes += other.GlobalStoreBytes;
        GlobalLoadSectors += other.GlobalLoadSectors;
        GlobalStoreSectors += other.GlobalStoreSectors;
        UniqueLoadSectors.UnionWith(other.UniqueLoadSectors);
        UniqueStoreSectors.UnionWith(other.UniqueStoreSectors);
        SharedAccesses += other.SharedAccesses;
        SharedWavefronts += other.SharedWavefronts;
        SharedIdealWavefronts += other.SharedIdealWavefronts;
        Branches += other.Branches;
        DivergentBranches += other.DivergentBranches;
    }
}

/// <summary>One profiled launch: configuration, static resources and the counters it produced.</summary>
/// <param name="Kernel">Entry-point name.</param>
/// <param name="Grid">Grid dimensions.</param>
/// <param name="Block">Block dimensions.</param>
/// <param name="SharedBytesPerBlock">Static plus dynamic shared memory per block.</param>
/// <param name="DeclaredRegisters">32-bit registers from the kernel's .reg declarations (upper bound before ptxas).</param>
/// <param name="Counters">What the launch did.</param>
/// <param name="LiveRegisters">Most 32-bit values live at once by liveness analysis of the PTX (what ptxas needs at least).</param>
public sealed record KernelLaunchRecord(string Kernel, Dim3 Grid, Dim3 Block, int SharedBytesPerBlock, int DeclaredRegisters, KernelCounters Counters,
                                        int LiveRegisters);

/// <summary>Attach to <see cref="Emulator.PtxEmulator.Profile"/> to record every launch; detach (null) for full speed.</summary>
public sealed class EmulatorProfile
{
    /// <summary>Every launch recorded while attached, in order.</summary>
    public List<KernelLaunchRecord> Launches { get; } = [];
}
