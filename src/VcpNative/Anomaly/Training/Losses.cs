// VCP-CLIP's segmentation losses (method-spec 2.5, the authors' utils/loss.py) composed from differentiable ops.
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Training;

/// <summary>
/// FocalLoss(gamma 2, smooth 1e-5, alpha 1) on 2-class probabilities and BinaryDiceLoss (smooth 1), both as the
/// authors wrote them, returning scalar tensors that back-propagate into the probabilities.
/// </summary>
public static class SegmentationLosses
{
    /// <summary>Label smoothing of the focal loss: one-hot clamped to [1e-5, 1 - 1e-5], and 1e-5 added to p_t.</summary>
    public const double FocalSmooth = 1e-5;

    /// <summary>
    /// mean over all B*H*W pixels of -(1 - p_t)^2 ln p_t, with p_t = sum_c onehot_c p_c + 1e-5.
    /// <paramref name="probNormal"/>, <paramref name="probAnomalous"/>: channels 0 and 1 of the softmax, [B, H, W];
    /// <paramref name="target"/>: [B, H, W]; a pixel is class 1 when its target is 1 (the authors' target.long()).
    /// </summary>
    public static Tensor Focal(Tensor probNormal, Tensor probAnomalous, Tensor target)
    {
        if (!Shapes.SameShape(probNormal.Shape, probAnomalous.Shape) || !Shapes.SameShape(probAnomalous.Shape, target.Shape))
        {
            throw new ShapeMismatchException("focal_loss", probAnomalous.Shape, target.Shape, "probabilities [B, H, W] (both channels) vs target [B, H, W]");
        }
        using var scope = new TensorScope();
        var (weightNormal, weightAnomalous) = SmoothedOneHot(target);
        return scope.Keep(Focal(probNormal, probAnomalous, weightNormal, weightAnomalous));
    }

    /// <summary>The focal loss with the clamped one-hot of the target precomputed by <see cref="SmoothedOneHot"/>.</summary>
    public static Tensor Focal(Tensor probNormal, Tensor probAnomalous, Tensor weightNormal, Tensor weightAnomalous)
    {
        if (!Shapes.SameShape(probNormal.Shape, probAnomalous.Shape) || !Shapes.SameShape(probAnomalous.Shape, weightAnomalous.Shape)
            || !Shapes.SameShape(weightNormal.Shape, weightAnomalous.Shape))
        {
            throw new ShapeMismatchException("focal_loss", probAnomalous.Shape, weightAnomalous.Shape, "probabilities [B, H, W] vs one-hot weights [B, H, W]");
        }
        using var scope = new TensorScope();
        var pt = Ops.AddScalar(Ops.Add(Ops.Mul(weightNormal, probNormal), Ops.Mul(weightAnomalous, probAnomalous)), (float)FocalSmooth);
        var focus = Ops.Square(Ops.AddScalar(Ops.Neg(pt), 1f));                  // (1 - p_t)^gamma, gamma = 2
        var perPixel = Ops.Mul(focus, Ops.Log(pt));
        return scope.Keep(Ops.Neg(Ops.Mean(perPixel)));
    }

    /// <summary>The same loss on probabilities [B, 2, H, W] (channel 0 normal, 1 anomalous).</summary>
    public static Tensor Focal(Tensor probabilities, Tensor target)
    {
        if (probabilities.Rank < 2 || probabilities.Shape[1] != 2)
        {
            throw new ShapeMismatchException("focal_loss", probabilities.Shape, [-1, 2, -1, -1], "probabilities must be [B, 2, H, W]");
        }
        using var scope = new TensorScope();
        return scope.Keep(Focal(Ops.Select(probabilities, 1, 0), Ops.Select(probabilities, 1, 1), target));
    }

    /// <summary>1 - mean_b (2 sum p t + 1) / (sum p + sum t + 1) with sums per image; p, target [B, ...].</summary>
    public static Tensor Dice(Tensor probAnomalous, Tensor target)
    {
        if (!Shapes.SameShape(probAnomalous.Shape, target.Shape) || probAnomalous.Rank < 1)
        {
            throw new ShapeMismatchException("dice_loss", probAnomalous.Shape, target.Shape, "probabilities vs target");
        }
        using var scope = new TensorScope();
        var b = probAnomalous.Shape[0];
        var p = Ops.Reshape(probAnomalous, b, -1);
        var t = Ops.Reshape(target, b, -1);
        var intersection = Ops.Sum(Ops.Mul(p, t), [1]);
        var numerator = Ops.AddScalar(Ops.Scale(intersection, 2f), 1f);
        var denominator = Ops.AddScalar(Ops.Add(Ops.Sum(p, [1]), Ops.Sum(t, [1])), 1f);
        var dice = Ops.Div(numerator, denominator);
        return scope.Keep(Ops.AddScalar(Ops.Scale(Ops.Sum(dice), -1f / b), 1f));
    }

    /// <summary>
    /// Focal + dice of one branch at one layer from the upsampled logit difference d = l1 - l0 [B, H, W]: the 2-class
    /// softmax is (sigmoid(-d), sigmoid(d)), each channel computed directly so neither loses precision near 0 or 1.
    /// </summary>
    public static Tensor BranchLoss(Tensor logitDifference, Tensor target)
    {
        using var scope = new TensorScope();
        var (weightNormal, weightAnomalous) = SmoothedOneHot(target);
        return scope.Keep(BranchLoss(logitDifference, target, weightNormal, weightAnomalous));
    }

    /// <summary><see cref="BranchLoss(Tensor, Tensor)"/> with the target's clamped one-hot computed once per batch.</summary>
    public static Tensor BranchLoss(Tensor logitDifference, Tensor target, Tensor weightNormal, Tensor weightAnomalous)
    {
        using var scope = new TensorScope();
        var anomalous = Ops.Sigmoid(logitDifference);
        var normal = Ops.Sigmoid(Ops.Neg(logitDifference));
        return scope.Keep(Ops.Add(Focal(normal, anomalous, weightNormal, weightAnomalous), Dice(anomalous, target)));
    }

    /// <summary>clamp(one_hot(target), 1e-5, 1 - 1e-5) per class (normal, anomalous), as constant tensors on the target's backend.</summary>
    public static (Tensor Normal, Tensor Anomalous) SmoothedOneHot(Tensor target)
    {
        var t = target.ToArray();
        var normal = new float[t.Length];
        var anomalous = new float[t.Length];
        // torch.clamp's float bounds: smooth / (C - 1) and 1 - smooth, rounded to float32 from double.
        var low = (float)FocalSmooth;
        var high = (float)(1.0 - FocalSmooth);
        for (var i = 0; i < t.Length; i++)
        {
            var isAnomalous = t[i] >= 1f;     // target.long(): 1 only for 1 (values are 0, 1 or an untouched 0.5)
            anomalous[i] = isAnomalous ? high : low;
            normal[i] = isAnomalous ? low : high;
        }
        return (Tensor.FromArray(normal, target.Shape, target.Backend), Tensor.FromArray(anomalous, target.Shape, target.Backend));
    }
}
