// bf16 tensors on the GPU: raw upload of host bf16/f16 bits, widening to f32 on the device (widen_bf16_f32), and
// which tensors the bf16 tensor-core GEMM reads as they are (gemm_tc_bf16_wb16).
using System.Runtime.InteropServices;
using VcpNative.Tensors.Cpu;

namespace VcpNative.Tensors.Cuda;

public sealed partial class GpuBackend
{
    /// <summary>BF16 device weights for the blocks' linear layers when the matmuls run on tensor cores.</summary>
    public LinearWeightPlacement LinearWeightPlacement =>
        MatMulPrecision == MatMulPrecision.Bf16TensorCores ? LinearWeightPlacement.Bf16 : LinearWeightPlacement.F32;

    /// <summary>
    /// True when MatMul's B operand (and LinearForward's weight) may be <paramref name="t"/> as it is: a BF16 tensor on
    /// this backend while <see cref="MatMulPrecision"/> is <see cref="MatMulPrecision.Bf16TensorCores"/> (gemm_tc_bf16_wb16
    /// reads its bits). With fp32 precision, or as an A operand, a BF16 tensor is widened on the device first.
    /// </summary>
    public bool ReadsBf16Operand(Tensor t) =>
        MatMulPrecision == MatMulPrecision.Bf16TensorCores && t.DType == DType.BF16 && t.Storage is GpuStorage g && ReferenceEquals(g.Backend, this);

    /// <summary>
    /// The copies of 16-bit tensors that need no host round trip: a dense host F16/BF16 tensor uploaded to a dense
    /// device tensor of the same dtype (its bits as they are: how bf16 weights are loaded), a dense device F32 tensor
    /// rounded to BF16 by narrow_f32_bf16, and a device BF16 tensor widened to F32 by widen_bf16_f32 (exact). False for anything else (the caller takes the host path).
    /// </summary>
    private bool TryCopy16Bit(Tensor src, Tensor dst)
    {
        if (src.Storage is CpuStorage host && dst.Storage is GpuStorage && src.DType == dst.DType
            && src.DType is DType.BF16 or DType.F16 && src.IsContiguous && dst.IsContiguous)
        {
            var bits = host.Halves.AsSpan(checked((int)src.Offset), checked((int)src.Numel));
            Driver.CopyToDevice(Ptr(dst), MemoryMarshal.AsBytes(bits));
            return true;
        }
        if (src.DType == DType.F32 && dst.DType == DType.BF16 && src.IsContiguous && dst.IsContiguous
            && src.Storage is GpuStorage s32 && ReferenceEquals(s32.Backend, this) && dst.Storage is GpuStorage)
        {
            // Round to nearest even on the device (narrow_f32_bf16), as the CPU's conversion does.
            LaunchElementwise("elementwise", "narrow_f32_bf16", src.Numel, [Ptr(dst), Ptr(src), src.Numel]);
            return true;
        }
        if (src.DType != DType.BF16 || dst.DType != DType.F32 || !src.IsContiguous
            || src.Storage is not GpuStorage g || !ReferenceEquals(g.Backend, this) || dst.Storage is not GpuStorage)
        {
            return false;
        }
        if (dst.IsContiguous)
        {
            LaunchElementwise("elementwise", "widen_bf16_f32", src.Numel, [Ptr(dst), Ptr(src), src.Numel]);
            return true;
        }
        // A strided f32 destination: widen densely, then the strided copy kernel.
        using var dense = Tensor.Empty(src.ShapeArray, DType.F32, this);
        LaunchElementwise("elementwise", "widen_bf16_f32", src.Numel, [Ptr(dense), Ptr(src), src.Numel]);
        Copy(dense, dst);
        return true;
    }
}
