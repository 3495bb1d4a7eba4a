// Register pressure of a decoded kernel: backward liveness over its control-flow graph, giving the most 32-bit values
// alive at once, a far better occupancy input than the .reg declaration count (clang declares one register per SSA value).
namespace VcpNative.Tensors.Cuda.Emulator;

/// <summary>What one instruction reads and writes, as register slots (predicates and special registers excluded).</summary>
internal readonly record struct PtxRegisterUse(int[] Defs, int[] Uses);

internal static class PtxRegisterPressure
{
    /// <summary>
    /// The maximum over program points of the summed width (in 32-bit registers) of the values live there, a value being
    /// live from a definition to its last use on any path. A definition under a guard does not end the old value's
    /// life (the guard may be false). ptxas allocates at least this many registers (it cannot keep two live values in
    /// one register) plus a few for addresses and temporaries of its own; rematerialisation can occasionally go lower.
    /// </summary>
    public static int MaxLive32(PtxInstr[] code, PtxRegisterUse[] uses, IReadOnlyDictionary<int, int> slotWidths)
    {
        if (code.Length == 0)
        {
            return 0;
        }
        // Dense register numbering over the slots that are real registers (width > 0).
        var index = new Dictionary<int, int>();
        var widths = new List<int>();
        foreach (var (slot, width) in slotWidths)
        {
            if (width > 0)
            {
                index[slot] = widths.Count;
                widths.Add(width);
            }
        }
        var words = (widths.Count + 63) / 64;
        var defs = new int[code.Length][];
        var reads = new int[code.Length][];
        for (var i = 0; i < code.Length; i++)
        {
            defs[i] = Map(uses[i].Defs, index);
            reads[i] = Map(uses[i].Uses, index);
        }
        var liveIn = new ulong[code.Length * words];
        var liveOut = new ulong[words];
        // Backward dataflow to a fixpoint; sweeping in reverse order converges in a few passes (loops need more).
        bool changed;
        do
        {
            changed = false;
            for (var i = code.Length - 1; i >= 0; i--)
            {
                // live-in = uses | (live-out minus defs); a guarded definition may not happen, so it kills nothing.
                ComputeLiveOut(code, i, liveIn, words, liveOut);
                if (code[i].Guard < 0)
                {
                    foreach (var d in defs[i])
                    {
                        liveOut[d / 64] &= ~(1UL << (d % 64));
                    }
                }
                foreach (var u in reads[i])
                {
                    liveOut[u / 64] |= 1UL << (u % 64);
                }
                var row = liveIn.AsSpan(i * words, words);
                if (!row.SequenceEqual(liveOut))
                {
                    liveOut.CopyTo(row);
                    changed = true;
                }
            }
        }
        while (changed);
        // Pressure around an instruction: before it, what it reads and what lives through it (live-in); after it, what
        // lives on plus what it defines (a dead definition still needs a register). A destination may reuse the
        // register of a source that dies there, so the two sides are not added.
        var max = 0;
        var after = new ulong[words];
        for (var i = 0; i < code.Length; i++)
        {
            ComputeLiveOut(code, i, liveIn, words, after);
            foreach (var d in defs[i])
            {
                after[d / 64] |= 1UL << (d % 64);
            }
            max = Math.Max(max, Math.Max(Width(liveIn.AsSpan(i * words, words), widths), Width(after, widths)));
        }
        return max;
    }

    private static int Width(ReadOnlySpan<ulong> set, List<int> widths)
    {
        var total = 0;
        for (var w = 0; w < set.Length; w++)
        {
            var bits = set[w];
            while (bits != 0)
            {
                total += widths[(w * 64) + System.Numerics.BitOperations.TrailingZeroCount(bits)];
                bits &= bits - 1;
            }
        }
        return total;
    }

    private static int[] Map(int[] slots, Dictionary<int, int> index)
    {
        var mapped = new List<int>(slots.Length);
        foreach (var s in slots)
        {
            if (index.TryGetValue(s, out var r))
            {
                mapped.Add(r);
            }
        }
        return [.. mapped];
    }

    /// <summary>Union of the successors' live-in sets: the next instruction unless this is exit or an unguarded branch, and the branch target.</summary>
    private static void ComputeLiveOut(PtxInstr[] code, int i, ulong[] liveIn, int words, ulong[] into)
    {
        Array.Clear(into);
        var ins = code[i];
        var fallsThrough = ins.Op switch
        {
            PtxOp.Exit => ins.Guard >= 0,
            PtxOp.Bra => ins.Guard >= 0,
            _ => true,
        };
        if (fallsThrough && i + 1 < code.Length)
        {
            Or(into, liveIn, (i + 1) * words, words);
        }
        if (ins.Op == PtxOp.Bra && ins.Imm >= 0 && ins.Imm < code.Length)
        {
            Or(into, liveIn, (int)ins.Imm * words, words);
        }
    }

    private static void Or(ulong[] into, ulong[] from, int offset, int words)
    {
        for (var w = 0; w < words; w++)
        {
            into[w] |= from[offset + w];
        }
    }
}
