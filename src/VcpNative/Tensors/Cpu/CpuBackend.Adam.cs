// CPU Adam step: one pass over the parameter in PyTorch 1.13's single-tensor operation order (fp32, no FMA).
namespace VcpNative.Tensors.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, double learningRate, double beta1, double beta2, double eps, long step)
    {
        var c = AdamCoefficients.For(learningRate, beta1, beta2, eps, step);
        var p = Dense(param);
        var g = Dense(grad);
        var m = Dense(expAvg);
        var v = Dense(expAvgSq);
        if (g.Length != p.Length || m.Length != p.Length || v.Length != p.Length)
        {
            throw new ShapeMismatchException("adam", param.Shape, grad.Shape, "parameter vs gradient (and moments)");
        }
        for (var i = 0; i < p.Length; i++)
        {
            // exp_avg.mul_(b1).add_(g, alpha=1-b1); exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)
            m[i] = m[i] * c.Beta1 + c.OneMinusBeta1 * g[i];
            v[i] = v[i] * c.Beta2 + c.OneMinusBeta2 * g[i] * g[i];
            // denom = exp_avg_sq.sqrt() / bc2_sqrt + eps; param.addcdiv_(exp_avg, denom, value=-step_size)
            var denom = MathF.Sqrt(v[i]) / c.BiasCorrection2Sqrt + c.Eps;
            p[i] += c.NegStepSize * m[i] / denom;
        }
    }
}
