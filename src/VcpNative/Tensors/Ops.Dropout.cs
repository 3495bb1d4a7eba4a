// Inverted dropout: zero each element with probability p and scale survivors by 1/(1-p); identity at inference.
using VcpNative.Tensors.Autograd;

namespace VcpNative.Tensors;

public static partial class Ops
{
    /// <summary>
    /// During training, keeps each element with probability 1 - p (drawn from <paramref name="rng"/>, one draw per
    /// element in row-major order) and scales kept ones by 1/(1-p); p = 1 gives zeros. When not training or p = 0, a
    /// dense view of x. Backward multiplies by the same saved mask.
    /// </summary>
    public static Tensor Dropout(Tensor x, float p, System.Random rng, bool training)
    {
        if (!(p >= 0f && p <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(p), $"op 'dropout': probability {p} outside [0, 1] for input {Shapes.Format(x.Shape)}");
        }
        if (!training || p == 0f)
        {
            return Contiguous(x);
        }
        var keepScale = p >= 1f ? 0f : 1f / (1f - p);
        // One draw per element in row-major order on the host, then onto x's backend (an upload; a copy on the CPU).
        var draws = new float[x.Numel];
        for (var i = 0; i < draws.Length; i++)
        {
            draws[i] = rng.NextDouble() < p ? 0f : keepScale;
        }
        var mask = Tensor.FromArray(draws, x.Shape, x.Backend);
        Tensor y;
        using (Tape.NoGrad())
        {
            y = Mul(x, mask);
        }
        if (Tape.ShouldRecord(x))
        {
            Tape.Record(y, "dropout", [x], g => [Mul(g, mask)], mask);
        }
        mask.Dispose();
        return y;
    }
}
