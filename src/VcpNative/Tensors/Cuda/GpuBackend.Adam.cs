// GPU Adam step on kernels/adam.cu: parameters and moments stay on the device, bit-identical to CpuBackend.AdamStep.
namespace VcpNative.Tensors.Cuda;

public sealed partial class GpuBackend
{
    /// <inheritdoc/>
    public void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, double learningRate, double beta1, double beta2, double eps, long step)
    {
        var n = param.Numel;
        if (grad.Numel != n || expAvg.Numel != n || expAvgSq.Numel != n)
        {
            throw new ShapeMismatchException("adam", param.Shape, grad.Shape, "parameter vs gradient (and moments)");
        }
        var c = AdamCoefficients.For(learningRate, beta1, beta2, eps, step);
        LaunchElementwise("adam", "adam_step", n,
        [
            Dense(param), Dense(grad), Dense(expAvg), Dense(expAvgSq), c.Beta1, c.OneMinusBeta1, c.Beta2, c.OneMinusBeta2,
            c.NegStepSize, c.BiasCorrection2Sqrt, c.Eps, n,
        ]);
    }
}
