// Runs one decoded kernel over a grid: warps in SIMT lock-step with per-lane PCs (lowest-PC-first reconvergence),
// barriers and warp-synchronous instructions as wait states, and bounds-checked memory like a sanitizer.
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using VcpNative.Tensors.Cuda.Profiling;

namespace VcpNative.Tensors.Cuda.Emulator;

internal sealed partial class PtxInterpreter
{
    private const byte Running = 0, WaitBar = 1, WaitWarp = 2, Exited = 3, Absent = 4;

    private sealed class Warp
    {
        public required ulong[] R;
        public readonly int[] Pc = new int[32];
        public readonly byte[] State = new byte[32];
        public readonly ulong[] Scratch = new ulong[32];
        public required byte[][] Local;
        public uint Existing;
        public int Index;
    }

    private readonly PtxFunction _fn;
    private readonly EmulatorMemory _memory;
    private readonly byte[] _params;
    private readonly Dim3 _grid, _block;
    private readonly byte[] _shared;
    private readonly bool[] _sharedInit;
    private readonly Warp[] _warps;
    private Dim3 _blockIdx;
    // Null unless a profile is attached: the hot loop then pays one well-predicted null test per instruction.
    private readonly KernelCounters? _counters;
    // Allocations the kernel read or wrote (value: written), for the stream-order race check. Consecutive accesses to
    // the same allocation skip the dictionary.
    private readonly Dictionary<byte[], bool> _touched = new(ReferenceEqualityComparer.Instance);
    private byte[]? _lastTouched;
    private bool _lastTouchedWritten;

    public long WarpInstructions { get; private set; }

    /// <summary>Every global allocation the launch touched, and whether it wrote to it.</summary>
    public IReadOnlyDictionary<byte[], bool> TouchedAllocations => _touched;

    public PtxInterpreter(PtxFunction fn, EmulatorMemory memory, byte[] parameters, Dim3 grid, Dim3 block, int dynamicShared,
                          KernelCounters? counters = null)
    {
        _counters = counters;
        _fn = fn;
        _memory = memory;
        _params = parameters;
        _grid = grid;
        _block = block;
        _shared = new byte[fn.StaticSharedBytes + dynamicShared];
        _sharedInit = new bool[_shared.Length];
        int threads = (int)block.Volume;
        _warps = new Warp[(threads + 31) / 32];
        for (int w = 0; w < _warps.Length; w++)
        {
            var local = new byte[fn.LocalBytes == 0 ? 0 : 32][];
            for (int l = 0; l < local.Length; l++) local[l] = new byte[fn.LocalBytes];
            var warp = new Warp { R = new ulong[fn.SlotCount * 32], Local = local, Index = w };
            int lanes = Math.Min(32, threads - w * 32);
            warp.Existing = lanes == 32 ? uint.MaxValue : (1u << lanes) - 1;
            foreach (var (slot, value) in fn.Constants) Array.Fill(warp.R, value, slot * 32, 32);
            _warps[w] = warp;
        }
    }

    public void Run()
    {
        for (uint z = 0; z < _grid.Z; z++)
            for (uint y = 0; y < _grid.Y; y++)
                for (uint x = 0; x < _grid.X; x++)
                    RunBlock(new Dim3(x, y, z));
    }

    private void RunBlock(Dim3 blockIdx)
    {
        _blockIdx = blockIdx;
        Array.Clear(_sharedInit);
        foreach (var w in _warps) StartWarp(w);
        while (true)
        {
            foreach (var w in _warps) RunWarp(w);
            bool waiting = false;
            foreach (var w in _warps)
            {
                for (int l = 0; l < 32; l++)
                {
                    if (w.State[l] != WaitBar) continue;
                    w.State[l] = Running;
                    w.Pc[l]++;
                    waiting = true;
                }
            }
            if (!waiting) return;
        }
    }

    private void StartWarp(Warp w)
    {
        for (int l = 0; l < 32; l++)
        {
            w.Pc[l] = 0;
            w.State[l] = (w.Existing >> l & 1) != 0 ? Running : Absent;
        }
        var r = w.R;
        foreach (var (slot, kind) in _fn.Specials)
        {
            for (int l = 0; l < 32; l++)
            {
                var t = ThreadOf(w, l);
                r[slot * 32 + l] = kind switch
                {
                    PtxSpecial.TidX => t.X, PtxSpecial.TidY => t.Y, PtxSpecial.TidZ => t.Z,
                    PtxSpecial.NtidX => _block.X, PtxSpecial.NtidY => _block.Y, PtxSpecial.NtidZ => _block.Z,
                    PtxSpecial.CtaidX => _blockIdx.X, PtxSpecial.CtaidY => _blockIdx.Y, PtxSpecial.CtaidZ => _blockIdx.Z,
                    PtxSpecial.NctaidX => _grid.X, PtxSpecial.NctaidY => _grid.Y, PtxSpecial.NctaidZ => _grid.Z,
                    PtxSpecial.LaneId => (ulong)l, PtxSpecial.WarpId => (ulong)w.Index, _ => (ulong)_warps.Length,
                };
            }
        }
    }

    private Dim3 ThreadOf(Warp w, int lane)
    {
        uint t = (uint)(w.Index * 32 + lane);
        return new Dim3(t % _block.X, t / _block.X % _block.Y, t / (_block.X * _block.Y));
    }

    // ------------------------------------------------------------------ scheduling

    private void RunWarp(Warp w)
    {
        var code = _fn.Code;
        int[] pcs = w.Pc;
        byte[] state = w.State;
        while (true)
        {
            uint group = 0;
            int pc = int.MaxValue, other = int.MaxValue;
            for (int l = 0; l < 32; l++)
            {
                if (state[l] != Running) continue;
                int p = pcs[l];
                if (p < pc) { other = pc; pc = p; group = 1u << l; }
                else if (p == pc) group |= 1u << l;
                else if (p < other) other = p;
            }
            if (group == 0)
            {
                if (ResolveWarpSync(w)) continue;
                return;
            }
            long executed = 0;
            while (true)
            {
                if ((uint)pc >= (uint)code.Length) throw new PtxExecutionException($"kernel {_fn.Name} ran past its last instruction");
                ref PtxInstr ins = ref code[pc];
                executed++;
                uint m = ins.Guard >= 0 ? GuardMask(w.R, ref ins, group) : group;
                // Warp-synchronous instructions are counted when they execute (they may first wait for their lanes).
                if (_counters is not null && ins.Op is not (PtxOp.Shfl or PtxOp.Vote or PtxOp.Mma)) Count(w, ref ins, m, group);
                switch (ins.Op)
                {
                    case PtxOp.Bra:
                        if (m == group) pc = (int)ins.Imm;
                        else if (m == 0) pc++;
                        else
                        {
                            SetPc(pcs, m, (int)ins.Imm);
                            SetPc(pcs, group & ~m, pc + 1);
                            goto Rescan;
                        }
                        break;
                    case PtxOp.Exit:
                        SetState(state, m, Exited);
                        group &= ~m;
                        pc++;
                        if (group == 0) goto Rescan;
                        break;
                    case PtxOp.BarSync:
                        SetState(state, m, WaitBar);
                        SetPc(pcs, m, pc);
                        group &= ~m;
                        pc++;
                        if (group == 0) goto Rescan;
                        break;
                    case PtxOp.Shfl:
                    case PtxOp.Vote:
                    case PtxOp.Mma:
                    {
                        if (m == 0) { pc++; break; }
                        uint need = MemberMask(w, ref ins, m);
                        if ((need & ~m) == 0)
                        {
                            if (_counters is not null) Count(w, ref ins, m, m);
                            ExecuteWarpSync(w, ref ins, m);
                            pc++;
                            break;
                        }
                        SetState(state, m, WaitWarp);
                        SetPc(pcs, m, pc);
                        SetPc(pcs, group & ~m, pc + 1);
                        goto Rescan;
                    }
                    default:
                        if (m != 0) Execute(w, ref ins, m);
                        pc++;
                        break;
                }
                if (pc >= other) break;
            }
            SetPc(pcs, group, pc);
        Rescan:
            WarpInstructions += executed;
        }
    }

    private static void SetPc(int[] pcs, uint mask, int pc)
    {
        while (mask != 0)
        {
            pcs[BitOperations.TrailingZeroCount(mask)] = pc;
            mask &= mask - 1;
        }
    }

    private static void SetState(byte[] state, uint mask, byte s)
    {
        while (mask != 0)
        {
            state[BitOperations.TrailingZeroCount(mask)] = s;
            mask &= mask - 1;
        }
    }

    private static uint GuardMask(ulong[] r, ref PtxInstr ins, uint group)
    {
        int g = ins.Guard * 32;
        uint result = 0;
        ulong want = ins.GuardNeg ? 0ul : 1ul;
        for (uint m = group; m != 0; m &= m - 1)
        {
            int l = BitOperations.TrailingZeroCount(m);
            if ((r[g + l] & 1) == want) result |= 1u << l;
        }
        return result;
    }

    private uint MemberMask(Warp w, ref PtxInstr ins, uint m)
    {
        if (ins.Op == PtxOp.Mma)
        {
            // mma.sync is executed by all 32 lanes of the warp together (.aligned): a partial warp cannot run it.
            if (w.Existing != uint.MaxValue)
                throw new PtxExecutionException($"mma.sync in kernel {_fn.Name} (PTX line {ins.Line}): warp {w.Index} has only lanes 0x{w.Existing:x8}");
            return uint.MaxValue;
        }
        int lane = BitOperations.TrailingZeroCount(m);
        uint mask = (uint)w.R[(int)ins.Imm * 32 + lane] & w.Existing;
        if ((m & ~mask) != 0)
            throw new PtxExecutionException($"{OpName(ref ins)} in kernel {_fn.Name} (PTX line {ins.Line}): executing lanes 0x{m:x8} are not all in membermask 0x{mask:x8}");
        return mask;
    }

    /// <summary>All running lanes are blocked: run the warp-synchronous instruction whose member lanes have all arrived.</summary>
    private bool ResolveWarpSync(Warp w)
    {
        int pc = int.MaxValue;
        uint waiting = 0;
        for (int l = 0; l < 32; l++)
        {
            if (w.State[l] != WaitWarp) continue;
            if (w.Pc[l] < pc) { pc = w.Pc[l]; waiting = 1u << l; }
            else if (w.Pc[l] == pc) waiting |= 1u << l;
        }
        if (waiting == 0) return false;
        ref PtxInstr ins = ref _fn.Code[pc];
        uint need = MemberMask(w, ref ins, waiting);
        if ((need & ~waiting) != 0)
        {
            int missing = BitOperations.TrailingZeroCount(need & ~waiting);
            string why = w.State[missing] switch { Exited => "has exited", WaitBar => "waits at bar.sync", _ => $"waits at PTX line {_fn.Code[w.Pc[missing]].Line}" };
            throw new PtxExecutionException($"deadlock: {OpName(ref ins)} in kernel {_fn.Name} (PTX line {ins.Line}), block {_blockIdx}, warp {w.Index}: lane {missing} {why}");
        }
        if (_counters is not null) Count(w, ref ins, waiting, waiting);
        ExecuteWarpSync(w, ref ins, waiting);
        SetState(w.State, waiting, Running);
        SetPc(w.Pc, waiting, pc + 1);
        WarpInstructions++;
        return true;
    }

    private static string OpName(ref PtxInstr ins) => ins.Op switch { PtxOp.Shfl => "shfl.sync", PtxOp.Mma => "mma.sync", _ => "vote.sync" };

    private void ExecuteWarpSync(Warp w, ref PtxInstr ins, uint m)
    {
        var r = w.R;
        if (ins.Op == PtxOp.Mma)
        {
            ExecuteMma(r, ref ins);
            return;
        }
        if (ins.Op == PtxOp.Vote)
        {
            uint ballot = 0;
            for (uint k = m; k != 0; k &= k - 1)
            {
                int l = BitOperations.TrailingZeroCount(k);
                if (((r[ins.A * 32 + l] & 1) != 0) != ins.NegC) ballot |= 1u << l;
            }
            ulong result = (PtxVoteMode)ins.Mod switch
            {
                PtxVoteMode.All => ballot == m ? 1ul : 0ul,
                PtxVoteMode.Any => ballot != 0 ? 1ul : 0ul,
                PtxVoteMode.Uni => ballot == m || ballot == 0 ? 1ul : 0ul,
                _ => ballot,
            };
            for (uint k = m; k != 0; k &= k - 1) r[ins.D * 32 + BitOperations.TrailingZeroCount(k)] = result;
            return;
        }
        // Read every source before writing: the destination may be the source register.
        var src = w.Scratch;
        for (int l = 0; l < 32; l++) src[l] = r[ins.A * 32 + l];
        for (uint k = m; k != 0; k &= k - 1)
        {
            int lane = BitOperations.TrailingZeroCount(k);
            int b = (int)(r[ins.B * 32 + lane] & 0x1f);
            uint c = (uint)r[ins.C * 32 + lane];
            int clamp = (int)(c & 0x1f), segMask = (int)((c >> 8) & 0x1f);
            int maxLane = (lane & segMask) | (clamp & ~segMask), minLane = lane & segMask;
            int j;
            bool inRange;
            switch ((PtxShflMode)ins.Mod)
            {
                case PtxShflMode.Up: j = lane - b; inRange = j >= maxLane; break;
                case PtxShflMode.Down: j = lane + b; inRange = j <= maxLane; break;
                case PtxShflMode.Bfly: j = lane ^ b; inRange = j <= maxLane; break;
                default: j = minLane | (b & ~segMask); inRange = j <= maxLane; break;
            }
            if (!inRange) j = lane;
            if ((m >> j & 1) == 0)
                throw new PtxExecutionException($"shfl.sync in kernel {_fn.Name} (PTX line {ins.Line}), block {_blockIdx}, thread {ThreadOf(w, lane)}: source lane {j} is not participating (undefined value)");
            r[ins.D * 32 + lane] = (uint)src[j];
            if (ins.E >= 0) r[ins.E * 32 + lane] = inRange ? 1ul : 0ul;
        }
    }

    // ------------------------------------------------------------------ execution

    private void Execute(Warp w, ref PtxInstr ins, uint m)
    {
        var r = w.R;
        switch (ins.Op)
        {
            case PtxOp.Nop: break;
            case PtxOp.Mov: Op1<MovOp>(r, ref ins, m); break;
            case PtxOp.Zext32: Op1<Zext32Op>(r, ref ins, m); break;
            case PtxOp.Sext32: Op1<Sext32Op>(r, ref ins, m); break;
            case PtxOp.Selp: Op3<SelpOp>(r, ref ins, m); break;
            case PtxOp.LdParam: LoadParam(r, ref ins, m); break;
            case PtxOp.Ld: Load(w, ref ins, m); break;
            case PtxOp.St: Store(w, ref ins, m); break;
            case PtxOp.Atom: Atomic(w, ref ins, m); break;
            case PtxOp.Setp: Setp(r, ref ins, m); break;
            case PtxOp.Cvt: Cvt(r, ref ins, m); break;
            case PtxOp.CvtBf16x2: CvtBf16x2(r, ref ins, m); break;
            case PtxOp.CvtaToGeneric:
            case PtxOp.CvtaFromGeneric:
                for (uint k = m; k != 0; k &= k - 1)
                {
                    int l = BitOperations.TrailingZeroCount(k);
                    ulong a = r[ins.A * 32 + l];
                    r[ins.D * 32 + l] = ins.Op == PtxOp.CvtaToGeneric ? a + (ulong)ins.Imm : a - (ulong)ins.Imm;
                }
                break;
            case PtxOp.AddF32: Op2<AddF32>(r, ref ins, m); break;
            case PtxOp.SubF32: Op2<SubF32>(r, ref ins, m); break;
            case PtxOp.MulF32: Op2<MulF32>(r, ref ins, m); break;
            case PtxOp.FmaF32: Op3<FmaF32>(r, ref ins, m); break;
            case PtxOp.DivF32: Op2<DivF32>(r, ref ins, m); break;
            case PtxOp.MinF32: Op2<MinF32>(r, ref ins, m); break;
            case PtxOp.MaxF32: Op2<MaxF32>(r, ref ins, m); break;
            case PtxOp.NegF32: Op1<NegF32>(r, ref ins, m); break;
            case PtxOp.AbsF32: Op1<AbsF32>(r, ref ins, m); break;
            case PtxOp.RcpF32: Op1<RcpF32>(r, ref ins, m); break;
            case PtxOp.SqrtF32: Op1<SqrtF32>(r, ref ins, m); break;
            case PtxOp.RsqrtF32: Op1<RsqrtF32>(r, ref ins, m); break;
            case PtxOp.Ex2F32: Op1<Ex2F32>(r, ref ins, m); break;
            case PtxOp.Lg2F32: Op1<Lg2F32>(r, ref ins, m); break;
            case PtxOp.SinF32: Op1<SinF32>(r, ref ins, m); break;
            case PtxOp.CosF32: Op1<CosF32>(r, ref ins, m); break;
            case PtxOp.AddF64: Op2<AddF64>(r, ref ins, m); break;
            case PtxOp.SubF64: Op2<SubF64>(r, ref ins, m); break;
            case PtxOp.MulF64: Op2<MulF64>(r, ref ins, m); break;
            case PtxOp.FmaF64: Op3<FmaF64>(r, ref ins, m); break;
            case PtxOp.DivF64: Op2<DivF64>(r, ref ins, m); break;
            case PtxOp.MinF64: Op2<MinF64>(r, ref ins, m); break;
            case PtxOp.MaxF64: Op2<MaxF64>(r, ref ins, m); break;
            case PtxOp.NegF64: Op1<NegF64>(r, ref ins, m); break;
            case PtxOp.AbsF64: Op1<AbsF64>(r, ref ins, m); break;
            case PtxOp.RcpF64: Op1<RcpF64>(r, ref ins, m); break;
            case PtxOp.SqrtF64: Op1<SqrtF64>(r, ref ins, m); break;
            case PtxOp.AddI32: Op2<AddI32>(r, ref ins, m); break;
            case PtxOp.SubI32: Op2<SubI32>(r, ref ins, m); break;
            case PtxOp.MulLoI32: Op2<MulLoI32>(r, ref ins, m); break;
            case PtxOp.MulHiS32: Op2<MulHiS32>(r, ref ins, m); break;
            case PtxOp.MulHiU32: Op2<MulHiU32>(r, ref ins, m); break;
            case PtxOp.MulWideS32: Op2<MulWideS32>(r, ref ins, m); break;
            case PtxOp.MulWideU32: Op2<MulWideU32>(r, ref ins, m); break;
            case PtxOp.MadLoI32: Op3<MadLoI32>(r, ref ins, m); break;
            case PtxOp.MadWideS32: Op3<MadWideS32>(r, ref ins, m); break;
            case PtxOp.MadWideU32: Op3<MadWideU32>(r, ref ins, m); break;
            case PtxOp.DivS32: Op2<DivS32>(r, ref ins, m); break;
            case PtxOp.DivU32: Op2<DivU32>(r, ref ins, m); break;
            case PtxOp.RemS32: Op2<RemS32>(r, ref ins, m); break;
            case PtxOp.RemU32: Op2<RemU32>(r, ref ins, m); break;
            case PtxOp.MinS32: Op2<MinS32>(r, ref ins, m); break;
            case PtxOp.MaxS32: Op2<MaxS32>(r, ref ins, m); break;
            case PtxOp.MinU32: Op2<MinU32>(r, ref ins, m); break;
            case PtxOp.MaxU32: Op2<MaxU32>(r, ref ins, m); break;
            case PtxOp.NegI32: Op1<NegI32>(r, ref ins, m); break;
            case PtxOp.AbsS32: Op1<AbsS32>(r, ref ins, m); break;
            case PtxOp.AndB32: Op2<AndB32>(r, ref ins, m); break;
            case PtxOp.OrB32: Op2<OrB32>(r, ref ins, m); break;
            case PtxOp.XorB32: Op2<XorB32>(r, ref ins, m); break;
            case PtxOp.NotB32: Op1<NotB32>(r, ref ins, m); break;
            case PtxOp.ShlB32: Op2<ShlB32>(r, ref ins, m); break;
            case PtxOp.ShrU32: Op2<ShrU32>(r, ref ins, m); break;
            case PtxOp.ShrS32: Op2<ShrS32>(r, ref ins, m); break;
            case PtxOp.PopcB32: Op1<PopcB32>(r, ref ins, m); break;
            case PtxOp.ClzB32: Op1<ClzB32>(r, ref ins, m); break;
            case PtxOp.BrevB32: Op1<BrevB32>(r, ref ins, m); break;
            case PtxOp.BfeU32: Op3<BfeU32>(r, ref ins, m); break;
            case PtxOp.AddI64: Op2<AddI64>(r, ref ins, m); break;
            case PtxOp.SubI64: Op2<SubI64>(r, ref ins, m); break;
            case PtxOp.MulLoI64: Op2<MulLoI64>(r, ref ins, m); break;
            case PtxOp.MadLoI64: Op3<MadLoI64>(r, ref ins, m); break;
            case PtxOp.DivS64: Op2<DivS64>(r, ref ins, m); break;
            case PtxOp.DivU64: Op2<DivU64>(r, ref ins, m); break;
            case PtxOp.RemS64: Op2<RemS64>(r, ref ins, m); break;
            case PtxOp.RemU64: Op2<RemU64>(r, ref ins, m); break;
            case PtxOp.MinS64: Op2<MinS64>(r, ref ins, m); break;
            case PtxOp.MaxS64: Op2<MaxS64>(r, ref ins, m); break;
            case PtxOp.MinU64: Op2<MinU64>(r, ref ins, m); break;
            case PtxOp.MaxU64: Op2<MaxU64>(r, ref ins, m); break;
            case PtxOp.NegI64: Op1<NegI64>(r, ref ins, m); break;
            case PtxOp.AbsS64: Op1<AbsS64>(r, ref ins, m); break;
            case PtxOp.AndB64: Op2<AndB64>(r, ref ins, m); break;
            case PtxOp.OrB64: Op2<OrB64>(r, ref ins, m); break;
            case PtxOp.XorB64: Op2<XorB64>(r, ref ins, m); break;
            case PtxOp.NotB64: Op1<NotB64>(r, ref ins, m); break;
            case PtxOp.ShlB64: Op2<ShlB64>(r, ref ins, m); break;
            case PtxOp.ShrU64: Op2<ShrU64>(r, ref ins, m); break;
            case PtxOp.ShrS64: Op2<ShrS64>(r, ref ins, m); break;
            case PtxOp.PopcB64: Op1<PopcB64>(r, ref ins, m); break;
            case PtxOp.ClzB64: Op1<ClzB64>(r, ref ins, m); break;
            case PtxOp.BrevB64: Op1<BrevB64>(r, ref ins, m); break;
            case PtxOp.AndPred: Op2<AndPred>(r, ref ins, m); break;
            case PtxOp.OrPred: Op2<OrPred>(r, ref ins, m); break;
            case PtxOp.XorPred: Op2<XorPred>(r, ref ins, m); break;
            case PtxOp.NotPred: Op1<NotPred>(r, ref ins, m); break;
            default: throw new PtxExecutionException($"opcode {ins.Op} reached the interpreter unexpectedly (PTX line {ins.Line})");
        }
    }

    // Slots were validated at decode time, so the lane loops index the register file without bounds checks.
    private static void Op1<T>(ulong[] r, ref PtxInstr ins, uint m) where T : struct, IPtxOp1
    {
        ref ulong reg = ref MemoryMarshal.GetArrayDataReference(r);
        ref ulong d = ref Unsafe.Add(ref reg, ins.D * 32);
        ref ulong a = ref Unsafe.Add(ref reg, ins.A * 32);
        if (m == uint.MaxValue)
        {
            for (int l = 0; l < 32; l++) Unsafe.Add(ref d, l) = T.Do(Unsafe.Add(ref a, l));
            return;
        }
        for (; m != 0; m &= m - 1)
        {
            int l = BitOperations.TrailingZeroCount(m);
            Unsafe.Add(ref d, l) = T.Do(Unsafe.Add(ref a, l));
        }
    }

    private static void Op2<T>(ulong[] r, ref PtxInstr ins, uint m) where T : struct, IPtxOp2
    {
        ref ulong reg = ref MemoryMarshal.GetArrayDataReference(r);
        ref ulong d = ref Unsafe.Add(ref reg, ins.D * 32);
        ref ulong a = ref Unsafe.Add(ref reg, ins.A * 32);
        ref ulong b = ref Unsafe.Add(ref reg, ins.B * 32);
        if (m == uint.MaxValue)
        {
            for (int l = 0; l < 32; l++) Unsafe.Add(ref d, l) = T.Do(Unsafe.Add(ref a, l), Unsafe.Add(ref b, l));
            return;
        }
        for (; m != 0; m &= m - 1)
        {
            int l = BitOperations.TrailingZeroCount(m);
            Unsafe.Add(ref d, l) = T.Do(Unsafe.Add(ref a, l), Unsafe.Add(ref b, l));
        }
    }

    private static void Op3<T>(ulong[] r, ref PtxInstr ins, uint m) where T : struct, IPtxOp3
    {
        ref ulong reg = ref MemoryMarshal.GetArrayDataReference(r);
        ref ulong d = ref Unsafe.Add(ref reg, ins.D * 32);
        ref ulong a = ref Unsafe.Add(ref reg, ins.A * 32);
        ref ulong b = ref Unsafe.Add(ref reg, ins.B * 32);
        ref ulong c = ref Unsafe.Add(ref reg, ins.C * 32);
        if (m == uint.MaxValue)
        {
            for (int l = 0; l < 32; l++) Unsafe.Add(ref d, l) = T.Do(Unsafe.Add(ref a, l), Unsafe.Add(ref b, l), Unsafe.Add(ref c, l));
            return;
        }
        for (; m != 0; m &= m - 1)
        {
            int l = BitOperations.TrailingZeroCount(m);
            Unsafe.Add(ref d, l) = T.Do(Unsafe.Add(ref a, l), Unsafe.Add(ref b, l), Unsafe.Add(ref c, l));
        }
    }

    private void Setp(ulong[] r, ref PtxInstr ins, uint m)
    {
        var cmp = (PtxCmp)ins.Mod;
        var bop = (PtxBoolOp)ins.Mod2;
        var t = ins.Type;
        for (; m != 0; m &= m - 1)
        {
            int l = BitOperations.TrailingZeroCount(m);
            ulong a = r[ins.A * 32 + l], b = r[ins.B * 32 + l];
            bool v = t switch
            {
                PtxType.F32 => CompareFloat(cmp, PtxBits.F(a), PtxBits.F(b)),
                PtxType.F64 => CompareFloat(cmp, PtxBits.D(a), PtxBits.D(b)),
                PtxType.S32 => CompareInt(cmp, (int)a, (int)b, (uint)a, (uint)b),
                PtxType.S64 => CompareInt(cmp, (long)a, (long)b, a, b),
                PtxType.U64 or PtxType.B64 => CompareInt(cmp, a, b, a, b),
                PtxType.S16 => CompareInt(cmp, (short)a, (short)b, (ushort)a, (ushort)b),
                PtxType.U16 or PtxType.B16 => CompareInt(cmp, (ushort)a, (ushort)b, (ushort)a, (ushort)b),
                _ => CompareInt(cmp, (uint)a, (uint)b, (uint)a, (uint)b),
            };
            bool q = !v;
            if (bop != PtxBoolOp.None)
            {
                bool c = ((r[ins.C * 32 + l] & 1) != 0) != ins.NegC;
                v = Combine(bop, v, c);
                q = Combine(bop, q, c);
            }
            r[ins.D * 32 + l] = v ? 1ul : 0ul;
            if (ins.E >= 0) r[ins.E * 32 + l] = q ? 1ul : 0ul;
        }
    }

    private static bool Combine(PtxBoolOp op, bool a, bool b) => op switch { PtxBoolOp.And => a & b, PtxBoolOp.Or => a | b, _ => a ^ b };

    private static bool CompareInt<TS, TU>(PtxCmp cmp, TS a, TS b, TU ua, TU ub)
        where TS : IComparisonOperators<TS, TS, bool>, IEqualityOperators<TS, TS, bool>
        where TU : IComparisonOperators<TU, TU, bool> => cmp switch
    {
        PtxCmp.Eq => a == b, PtxCmp.Ne => a != b, PtxCmp.Lt => a < b, PtxCmp.Le => a <= b, PtxCmp.Gt => a > b, PtxCmp.Ge => a >= b,
        PtxCmp.Lo => ua < ub, PtxCmp.Ls => ua <= ub, PtxCmp.Hi => ua > ub, _ => ua >= ub,
    };

    private static bool CompareFloat<T>(PtxCmp cmp, T a, T b) where T : IFloatingPointIeee754<T>
    {
        bool nan = T.IsNaN(a) || T.IsNaN(b);
        return cmp switch
        {
            PtxCmp.Eq => !nan && a == b, PtxCmp.Ne => !nan && a != b, PtxCmp.Lt => !nan && a < b, PtxCmp.Le => !nan && a <= b,
            PtxCmp.Gt => !nan && a > b, PtxCmp.Ge => !nan && a >= b,
            PtxCmp.Equ => nan || a == b, PtxCmp.Neu => nan || a != b, PtxCmp.Ltu => nan || a < b, PtxCmp.Leu => nan || a <= b,
            PtxCmp.Gtu => nan || a > b, PtxCmp.Geu => nan || a >= b, PtxCmp.Num => !nan, PtxCmp.Nan => nan,
            _ => throw new PtxExecutionException($"compare {cmp} on floats"),
        };
    }

    private static void Cvt(ulong[] r, ref PtxInstr ins, uint m)
    {
        for (; m != 0; m &= m - 1)
        {
            int l = BitOperations.TrailingZeroCount(m);
            r[ins.D * 32 + l] = PtxConvert.Convert(r[ins.A * 32 + l], ins.Type, ins.Type2, (PtxRound)ins.Mod, ins.Mod2 != 0);
        }
    }

    // cvt.rn.bf16x2.f32 d, a, b: a rounded to bf16 in the upper half of d, b in the lower half.
    private static void CvtBf16x2(ulong[] r, ref PtxInstr ins, uint m)
    {
        for (; m != 0; m &= m - 1)
        {
            int l = BitOperations.TrailingZeroCount(m);
            uint hi = PtxConvert.F32ToBf16Rn(PtxBits.F(r[ins.A * 32 + l])), lo = PtxConvert.F32ToBf16Rn(PtxBits.F(r[ins.B * 32 + l]));
            r[ins.D * 32 + l] = (hi << 16) | lo;
        }
    }

    // ------------------------------------------------------------------ memory

    private void LoadParam(ulong[] r, ref PtxInstr ins, uint m)
    {
        int size = PtxParser.SizeOf(ins.Type);
        if (ins.Imm < 0 || ins.Imm + size > _params.Length)
            throw new PtxExecutionException($"ld.param out of the parameter block in kernel {_fn.Name} (PTX line {ins.Line})");
        ulong v = ReadValue(_params, (int)ins.Imm, size, PtxParser.IsSigned(ins.Type));
        for (; m != 0; m &= m - 1) r[ins.D * 32 + BitOperations.TrailingZeroCount(m)] = v;
    }

    private static ulong ReadValue(byte[] data, int offset, int size, bool signed)
    {
        var s = data.AsSpan(offset, size);
        return size switch
        {
            1 => signed ? (ulong)(long)(sbyte)s[0] : s[0],
            2 => signed ? (ulong)(long)BinaryPrimitives.ReadInt16LittleEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s),
            4 => signed ? (ulong)(long)BinaryPrimitives.ReadInt32LittleEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(s),
        };
    }

    private static void WriteValue(byte[] data, int offset, int size, ulong v)
    {
        var s = data.AsSpan(offset, size);
        switch (size)
        {
            case 1: s[0] = (byte)v; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)v); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(s, (uint)v); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(s, v); break;
        }
    }

    /// <summary>Maps an address in the instruction's state space to a buffer and offset, or throws a sanitizer report.</summary>
    private byte[] Resolve(Warp w, int lane, ref PtxInstr ins, ulong address, int size, bool write, out int offset)
    {
        var space = ins.Space;
        ulong a = address;
        if (space == PtxSpace.Generic)
        {
            if (address - PtxAddressWindows.SharedBase < PtxAddressWindows.WindowSize) { space = PtxSpace.Shared; a -= PtxAddressWindows.SharedBase; }
            else if (address - PtxAddressWindows.LocalBase < PtxAddressWindows.WindowSize) { space = PtxSpace.Local; a -= PtxAddressWindows.LocalBase; }
            else space = PtxSpace.Global;
        }
        if (address % (ulong)size != 0) throw Violation(w, lane, ref ins, address, size, space, PtxViolationKind.Misaligned, write);
        switch (space)
        {
            case PtxSpace.Global:
                if (_memory.TryResolve(a, size, out var data, out offset))
                {
                    if (!ReferenceEquals(data, _lastTouched) || (write && !_lastTouchedWritten)) Touch(data, write);
                    return data;
                }
                break;
            case PtxSpace.Shared:
                if (a + (ulong)size <= (ulong)_shared.Length)
                {
                    offset = (int)a;
                    if (write) _sharedInit.AsSpan(offset, size).Fill(true);
                    else if (_sharedInit.AsSpan(offset, size).Contains(false))
                        throw Violation(w, lane, ref ins, address, size, space, PtxViolationKind.UninitializedSharedRead, write);
                    return _shared;
                }
                break;
            case PtxSpace.Local:
                if (a + (ulong)size <= (ulong)_fn.LocalBytes)
                {
                    offset = (int)a;
                    return w.Local[lane];
                }
                break;
        }
        throw Violation(w, lane, ref ins, address, size, space, PtxViolationKind.OutOfBounds, write);
    }

    private void Touch(byte[] data, bool write)
    {
        bool written = write || (_touched.TryGetValue(data, out var before) && before);
        _touched[data] = written;
        _lastTouched = data;
        _lastTouchedWritten = written;
    }

    private PtxMemoryViolationException Violation(Warp w, int lane, ref PtxInstr ins, ulong address, int size, PtxSpace space,
                                                  PtxViolationKind kind, bool write) =>
        new(_fn.Name, _blockIdx, ThreadOf(w, lane), address, size, space.ToString().ToLowerInvariant(), kind, write, ins.Line);

    private void Load(Warp w, ref PtxInstr ins, uint m)
    {
        var r = w.R;
        int size = PtxParser.SizeOf(ins.Type), vec = ins.Vec;
        bool signed = PtxParser.IsSigned(ins.Type);
        for (; m != 0; m &= m - 1)
        {
            int l = BitOperations.TrailingZeroCount(m);
            ulong address = r[ins.A * 32 + l] + (ulong)ins.Imm;
            var data = Resolve(w, l, ref ins, address, size * vec, false, out int off);
            if (vec == 1) r[ins.D * 32 + l] = ReadValue(data, off, size, signed);
            else for (int k = 0; k < vec; k++) r[_fn.VectorSlots[ins.E + k] * 32 + l] = ReadValue(data, off + k * size, size, signed);
        }
    }

    private void Store(Warp w, ref PtxInstr ins, uint m)
    {
        var r = w.R;
        int size = PtxParser.SizeOf(ins.Type), vec = ins.Vec;
        for (; m != 0; m &= m - 1)
        {
            int l = BitOperations.TrailingZeroCount(m);
            ulong address = r[ins.A * 32 + l] + (ulong)ins.Imm;
            var data = Resolve(w, l, ref ins, address, size * vec, true, out int off);
            if (vec == 1) WriteValue(data, off, size, r[ins.B * 32 + l]);
            else for (int k = 0; k < vec; k++) WriteValue(data, off + k * size, size, r[_fn.VectorSlots[ins.E + k] * 32 + l]);
        }
    }

    // Lanes perform their atomics one after another in lane order, which is one of the orders hardware may pick.
    private void Atomic(Warp w, ref PtxInstr ins, uint m)
    {
        var r = w.R;
        int size = PtxParser.SizeOf(ins.Type);
        for (; m != 0; m &= m - 1)
        {
            int l = BitOperations.TrailingZeroCount(m);
            ulong address = r[ins.A * 32 + l] + (ulong)ins.Imm;
            var data = Resolve(w, l, ref ins, address, size, false, out int off);
            ulong old = ReadValue(data, off, size, false);
            ulong b = r[ins.B * 32 + l];
            ulong v = PtxConvert.AtomicResult((PtxAtomOp)ins.Mod, ins.Type, old, b, ins.C >= 0 ? r[ins.C * 32 + l] : 0);
            Resolve(w, l, ref ins, address, size, true, out _);
            WriteValue(data, off, size, v);
            if (ins.D >= 0) r[ins.D * 32 + l] = old;
        }
    }
}
