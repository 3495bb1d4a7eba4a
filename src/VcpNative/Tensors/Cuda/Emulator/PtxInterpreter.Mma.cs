// Warp-level matrix multiply-accumulate (mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32) of the PTX interpreter.
using System.Numerics;

namespace VcpNative.Tensors.Cuda.Emulator;

internal sealed partial class PtxInterpreter
{
    /// <summary>bf16 bits (the low 16 bits of <paramref name="bits"/>) as a float: bf16 is the top half of an fp32.</summary>
    internal static float Bf16ToFloat(uint bits) => BitConverter.Int32BitsToSingle((int)((bits & 0xffffu) << 16));

    /// <summary>
    /// D = A (16 x 16, row) * B (16 x 8, col) + C over the whole warp. Fragment layouts per the PTX ISA ("Matrix
    /// Fragments for mma.m16n8k16 with floating point type"), with groupID = lane >> 2 and tig = lane % 4:
    /// A element i (reg i / 2, low half first): row groupID + 8 * ((i >> 1) &amp; 1), col 2 tig + (i &amp; 1) + 8 * (i >> 2);
    /// B element i: row (k) 2 tig + (i &amp; 1) + 8 * (i >> 1), col groupID; C/D element i: row groupID + 8 * (i >> 1),
    /// col 2 tig + (i &amp; 1). bf16 products are exact in double; the emulator sums the 16 products and C in double and
    /// rounds once to fp32 (hardware keeps its own, unspecified internal precision, so the last bits may differ).
    /// </summary>
    private void ExecuteMma(ulong[] r, ref PtxInstr ins)
    {
        var slots = _fn.VectorSlots.AsSpan(ins.E, 14);
        Span<double> a = stackalloc double[16 * 16];
        Span<double> b = stackalloc double[16 * 8];
        Span<double> c = stackalloc double[16 * 8];
        for (int lane = 0; lane < 32; lane++)
        {
            int g = lane >> 2, t = lane & 3;
            for (int i = 0; i < 8; i++)
            {
                uint reg = (uint)r[slots[4 + i / 2] * 32 + lane];
                a[(g + 8 * ((i >> 1) & 1)) * 16 + 2 * t + (i & 1) + 8 * (i >> 2)] = Bf16ToFloat(reg >> (16 * (i & 1)));
            }
            for (int i = 0; i < 4; i++)
            {
                uint reg = (uint)r[slots[8 + i / 2] * 32 + lane];
                b[(2 * t + (i & 1) + 8 * (i >> 1)) * 8 + g] = Bf16ToFloat(reg >> (16 * (i & 1)));
            }
            for (int i = 0; i < 4; i++) c[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)] = PtxBits.F(r[slots[10 + i] * 32 + lane]);
        }
        // D may name the same registers as C ("+f" accumulators), so every input is gathered before any write.
        for (int lane = 0; lane < 32; lane++)
        {
            int g = lane >> 2, t = lane & 3;
            for (int i = 0; i < 4; i++)
            {
                int row = g + 8 * (i >> 1), col = 2 * t + (i & 1);
                double sum = c[row * 8 + col];
                for (int k = 0; k < 16; k++) sum += a[row * 16 + k] * b[k * 8 + col];
                r[slots[i] * 32 + lane] = PtxBits.U((float)sum);
            }
        }
    }

    private static int ActiveLanes(uint m) => BitOperations.PopCount(m);
}
