// Seeded q, k, v for the attention kernel tests: separate [B, H, L, D] tensors, or strided views into one fused qkv projection.
using VcpNative.Tensors;
using VcpNative.Tensors.Cuda;
using Xunit;
using VcpNative.Verification;

namespace VcpNative.Tests.Tensors.Cuda;

internal static class AttentionTestInputs
{
    /// <summary>
    /// Fused: one [B, Lq, 3 H D] tensor (seed) viewed as q, k, v of [B, H, Lq, D] (Lk = Lq), non-contiguous, as the
    /// transformer's qkv projection hands them over. Otherwise three contiguous tensors (seeds + 1, + 2, + 3).
    /// </summary>
    public static (Tensor Q, Tensor K, Tensor V) Create(IBackend backend, int batch, int heads, int lq, int lk, int d, bool fused, int seed)
    {
        if (fused)
        {
            var qkv = KernelVerification.Input(backend, [batch, lq, 3 * heads * d], seed, -1.5f, 1.5f);
            var split = Ops.Reshape(qkv, batch, lq, 3, heads, d);
            var q = Ops.Permute(Ops.Select(split, 2, 0), 0, 2, 1, 3);
            Assert.False(q.IsContiguous); // the kernels must read the strided views in place
            return (q, Ops.Permute(Ops.Select(split, 2, 1), 0, 2, 1, 3), Ops.Permute(Ops.Select(split, 2, 2), 0, 2, 1, 3));
        }
        return (
            KernelVerification.Input(backend, [batch, heads, lq, d], seed + 1, -1.5f, 1.5f),
            KernelVerification.Input(backend, [batch, heads, lk, d], seed + 2, -1.5f, 1.5f),
            KernelVerification.Input(backend, [batch, heads, lk, d], seed + 3));
    }
}
