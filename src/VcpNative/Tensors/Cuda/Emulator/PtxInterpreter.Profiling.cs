// Profiling hooks of the PTX interpreter: classify each executed warp instruction and measure its memory behaviour.
using System.Numerics;
using VcpNative.Tensors.Cuda.Profiling;

namespace VcpNative.Tensors.Cuda.Emulator;

internal sealed partial class PtxInterpreter
{
    private const int SharedBanks = 32;
    private const int SectorShift = 5; // 32-byte global-memory sectors

    private static readonly InstructionClass[] ClassOfOp = BuildClassTable();

    private static InstructionClass[] BuildClassTable()
    {
        var table = new InstructionClass[(int)PtxOp.NotPred + 1];
        for (int i = 0; i < table.Length; i++)
        {
            var op = (PtxOp)i;
            table[i] = op switch
            {
                PtxOp.Nop or PtxOp.Bra or PtxOp.Exit or PtxOp.BarSync => InstructionClass.Control,
                PtxOp.Shfl or PtxOp.Vote or PtxOp.RcpF32 or PtxOp.SqrtF32 or PtxOp.RsqrtF32 or PtxOp.Ex2F32 or PtxOp.Lg2F32
                    or PtxOp.SinF32 or PtxOp.CosF32 => InstructionClass.Special,
                PtxOp.Mma => InstructionClass.TensorCore,
                PtxOp.Ld or PtxOp.St or PtxOp.Atom or PtxOp.LdParam => InstructionClass.Memory,
                PtxOp.Mov or PtxOp.Cvt or PtxOp.CvtBf16x2 or PtxOp.Zext32 or PtxOp.Sext32 or PtxOp.CvtaToGeneric or PtxOp.CvtaFromGeneric => InstructionClass.MoveConvert,
                >= PtxOp.AddF32 and <= PtxOp.AbsF32 => InstructionClass.Fp32,
                >= PtxOp.AddF64 and <= PtxOp.SqrtF64 => InstructionClass.Fp64,
                _ => InstructionClass.Integer,
            };
        }
        return table;
    }

    /// <summary>Records one warp instruction about to execute with active mask <paramref name="m"/> out of <paramref name="group"/>.</summary>
    private void Count(Warp w, ref PtxInstr ins, uint m, uint group)
    {
        var c = _counters!;
        int cls = (int)ClassOfOp[(int)ins.Op];
        int lanes = ActiveLanes(m);
        c.WarpInstructions[cls]++;
        c.ThreadInstructions[cls] += lanes;
        switch (ins.Op)
        {
            case PtxOp.FmaF32: c.Fp32Flops += 2L * lanes; break;
            case PtxOp.AddF32 or PtxOp.SubF32 or PtxOp.MulF32 or PtxOp.DivF32: c.Fp32Flops += lanes; break;
            case PtxOp.Mma: c.TensorFlops += 2 * 16 * 8 * 16; break;
            case PtxOp.Bra:
                c.Branches++;
                if (m != 0 && m != group) c.DivergentBranches++;
                break;
            case PtxOp.Ld or PtxOp.St or PtxOp.Atom:
                if (m != 0) CountMemory(w, ref ins, m, c);
                break;
        }
    }

    private void CountMemory(Warp w, ref PtxInstr ins, uint m, KernelCounters c)
    {
        int bytes = PtxParser.SizeOf(ins.Type) * Math.Max(1, (int)ins.Vec);
        Span<ulong> globalSectors = stackalloc ulong[32];
        Span<ulong> sharedAddresses = stackalloc ulong[32];
        uint sharedLanes = 0;
        int globals = 0;
        for (uint k = m; k != 0; k &= k - 1)
        {
            int l = BitOperations.TrailingZeroCount(k);
            ulong address = w.R[ins.A * 32 + l] + (ulong)ins.Imm;
            var space = ins.Space;
            if (space == PtxSpace.Generic)
            {
                if (address - PtxAddressWindows.SharedBase < PtxAddressWindows.WindowSize) { space = PtxSpace.Shared; address -= PtxAddressWindows.SharedBase; }
                else if (address - PtxAddressWindows.LocalBase < PtxAddressWindows.WindowSize) space = PtxSpace.Local;
                else space = PtxSpace.Global;
            }
            if (space == PtxSpace.Shared)
            {
                sharedAddresses[l] = address;
                sharedLanes |= 1u << l;
            }
            else if (space == PtxSpace.Global)
            {
                globalSectors[globals++] = address >> SectorShift;
            }
        }
        if (globals > 0) CountGlobal(ins.Op, globalSectors[..globals], bytes, c);
        if (sharedLanes != 0) CountShared(sharedAddresses, sharedLanes, bytes, c);
    }

    private static void CountGlobal(PtxOp op, Span<ulong> sectors, int bytes, KernelCounters c)
    {
        bool load = op != PtxOp.St, store = op != PtxOp.Ld;
        long total = (long)sectors.Length * bytes;
        foreach (var s in sectors)
        {
            if (load) c.UniqueLoadSectors.Add(s);
            if (store) c.UniqueStoreSectors.Add(s);
        }
        sectors.Sort();
        int distinct = 0;
        for (int i = 0; i < sectors.Length; i++)
        {
            if (i == 0 || sectors[i] != sectors[i - 1]) distinct++;
        }
        if (load)
        {
            c.GlobalLoadBytes += total;
            c.GlobalLoadSectors += distinct;
        }
        if (store)
        {
            c.GlobalStoreBytes += total;
            c.GlobalStoreSectors += distinct;
        }
    }

    /// <summary>
    /// Bank-conflict model: a warp access is served in phases of at most 128 bytes (32 lanes of 4 bytes, 16 of 8, 8 of
    /// 16); within a phase each of the 32 four-byte banks delivers one distinct word per wavefront (lanes reading the
    /// same word share it, a broadcast), so the phase needs max over banks of the distinct words in that bank.
    /// </summary>
    private static void CountShared(Span<ulong> addresses, uint lanes, int bytes, KernelCounters c)
    {
        int wordsPerLane = Math.Max(1, bytes / 4);
        int lanesPerPhase = bytes <= 4 ? 32 : 128 / bytes;
        Span<ulong> words = stackalloc ulong[32 * 4];
        Span<int> perBank = stackalloc int[SharedBanks];
        c.SharedAccesses++;
        for (int first = 0; first < 32; first += lanesPerPhase)
        {
            int n = 0;
            for (int l = first; l < first + lanesPerPhase; l++)
            {
                if ((lanes >> l & 1) == 0) continue;
                for (int j = 0; j < wordsPerLane; j++) words[n++] = (addresses[l] >> 2) + (ulong)j;
            }
            if (n == 0) continue;
            var phase = words[..n];
            phase.Sort();
            perBank.Clear();
            int worst = 0;
            for (int i = 0; i < n; i++)
            {
                if (i > 0 && phase[i] == phase[i - 1]) continue;
                int bank = (int)(phase[i] % SharedBanks);
                worst = Math.Max(worst, ++perBank[bank]);
            }
            c.SharedWavefronts += worst;
            c.SharedIdealWavefronts++;
        }
    }
}
