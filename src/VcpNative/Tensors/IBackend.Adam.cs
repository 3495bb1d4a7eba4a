// Kernel declaration of one Adam optimizer step on a parameter and its moments, where the parameter lives.
namespace VcpNative.Tensors;

public partial interface IBackend
{
    /// <summary>
    /// One torch.optim.Adam step (PyTorch 1.13 single-tensor path, amsgrad off, no weight decay) in place on
    /// contiguous f32 <paramref name="param"/>, <paramref name="expAvg"/> and <paramref name="expAvgSq"/> of the same
    /// length as contiguous f32 <paramref name="grad"/>; <paramref name="step"/> is the step count after incrementing
    /// (1 on the first step). Element math in fp32 in PyTorch's order, scalars per <see cref="AdamCoefficients"/>.
    /// </summary>
    void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, double learningRate, double beta1, double beta2, double eps, long step);
}

/// <summary>
/// The fp32 scalars of one Adam step, computed as PyTorch does (bias corrections and step size in float64):
/// m = m·b1 + (1−b1)·g; v = v·b2 + ((1−b2)·g)·g; p += (NegStepSize·m) / (sqrt(v) / BiasCorrection2Sqrt + Eps).
/// </summary>
public readonly record struct AdamCoefficients(float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
    float NegStepSize, float BiasCorrection2Sqrt, float Eps)
{
    /// <summary>The coefficients for step <paramref name="step"/> (1-based) with the given hyperparameters.</summary>
    public static AdamCoefficients For(double learningRate, double beta1, double beta2, double eps, long step)
    {
        if (step < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(step), $"adam: step must be >= 1 (counted after incrementing), got {step}");
        }
        var biasCorrection1 = 1 - Math.Pow(beta1, step);
        var biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, step));
        return new AdamCoefficients((float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2),
            (float)(-(learningRate / biasCorrection1)), (float)biasCorrection2Sqrt, (float)eps);
    }
}
