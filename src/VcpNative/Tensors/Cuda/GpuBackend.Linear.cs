// The fused linear layer on the GPU: bias and activation in the GEMM epilogue (linear_f32), one pass over the output.
namespace VcpNative.Tensors.Cuda;

public sealed partial class GpuBackend
{
    /// <summary>
    /// y = act(x W^T + b) with linear_f32 when our SIMT GEMM would run anyway and x and W are dense row-major; with
    /// cuBLAS or tensor cores (or strided operands) the unfused path runs: product, then the bias/activation kernels.
    /// </summary>
    public void LinearForward(Tensor x, Tensor weight, Tensor? bias, Tensor y, LinearActivation activation)
    {
        var fusable = cublas is null && MatMulPrecision == MatMulPrecision.Fp32 && x.IsContiguous && weight.IsContiguous
            && x.DType == DType.F32 && weight.DType == DType.F32 && (bias is null || (bias.IsContiguous && bias.DType == DType.F32));
        if (!fusable)
        {
            IBackend.LinearUnfused(this, x, weight, bias, y, activation);
            return;
        }
        var m = x.Shape[0];
        var k = x.Shape[1];
        var n = weight.Shape[0];
        if (m == 0 || n == 0)
        {
            return;
        }
        var act = activation switch
        {
            LinearActivation.Gelu => 1,
            LinearActivation.QuickGelu => 2,
            _ => 0,
        };
        var grid = new Dim3((uint)((n + GemmTile - 1) / GemmTile), (uint)((m + GemmTile - 1) / GemmTile));
        Driver.Launch(Kernel("gemm", "linear_f32"), grid, new Dim3(256), 0,
            [Dense(y), Ptr(x), Ptr(weight), bias is null ? new DevicePtr(0) : Ptr(bias), m, n, k, act]);
    }
}
