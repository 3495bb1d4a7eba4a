// PyTorch's Adam (torch.optim.Adam, single-tensor path) over named parameters in groups, with savable state.
using VcpNative.Models;
using VcpNative.Models.Vip2;
using VcpNative.Tensors;

namespace VcpNative.Anomaly.Training;

/// <summary>Parameters sharing one learning rate.</summary>
public sealed class AdamParameterGroup
{
    /// <summary>A group of named parameters that share <paramref name="learningRate"/>.</summary>
    public AdamParameterGroup(string name, double learningRate, IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        Name = name;
        LearningRate = learningRate;
        Parameters = parameters;
    }

    /// <summary>Name of the group, as saved in checkpoints.</summary>
    public string Name { get; }

    /// <summary>Learning rate of the group's next steps.</summary>
    public double LearningRate { get; set; }

    /// <summary>The group's parameters with their names.</summary>
    public IReadOnlyList<(string Name, Tensor Parameter)> Parameters { get; }
}

/// <summary>
/// Per-parameter Adam state: steps taken and the first and second moment estimates, kept as tensors on the
/// parameter's backend so a step runs where the parameter lives (no per-step download/upload on a GPU).
/// </summary>
public sealed class AdamParameterState
{
    internal AdamParameterState(long step, Tensor expAvg, Tensor expAvgSq)
    {
        Step = step;
        ExpAvgTensor = expAvg;
        ExpAvgSqTensor = expAvgSq;
    }

    /// <summary>Steps taken for this parameter.</summary>
    public long Step { get; internal set; }

    /// <summary>The first moment on the parameter's backend (contiguous f32, the parameter's shape).</summary>
    public Tensor ExpAvgTensor { get; }

    /// <summary>The second moment on the parameter's backend.</summary>
    public Tensor ExpAvgSqTensor { get; }

    /// <summary>A host copy of the first moment (downloads when the state lives on a device).</summary>
    public float[] ExpAvg => ExpAvgTensor.ToArray();

    /// <summary>A host copy of the second moment.</summary>
    public float[] ExpAvgSq => ExpAvgSqTensor.ToArray();

    /// <summary>Moments on <paramref name="backend"/> from host values (zeros when null), outside any TensorScope.</summary>
    internal static AdamParameterState Create(long step, int[] shape, IBackend backend, float[]? expAvg = null, float[]? expAvgSq = null)
    {
        using var longLived = TensorScope.Suspend();
        return new AdamParameterState(step,
            expAvg is null ? Tensor.Zeros(shape, DType.F32, backend) : Tensor.FromArray(expAvg, shape, backend),
            expAvgSq is null ? Tensor.Zeros(shape, DType.F32, backend) : Tensor.FromArray(expAvgSq, shape, backend));
    }
}

/// <summary>
/// torch.optim.Adam (amsgrad off, weight decay 0): per parameter with a gradient, step += 1;
/// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps).
/// Bias corrections and step size in double, element math in float32, in PyTorch's operation order. A parameter
/// whose gradient is null is skipped and keeps no state, as in PyTorch.
/// </summary>
public sealed class AdamOptimizer
{
    /// <summary>VCP-CLIP's temperature parameters (tau_1, tau_2), trained in their own group at lr 0.01.</summary>
    public static readonly string[] TemperatureNames = ["New_Lan_Embed.prompt_temp", "Zero_try.prompt_temp_l1"];

    private readonly Dictionary<string, AdamParameterState> state = new(StringComparer.Ordinal);

    /// <summary>Adam over <paramref name="groups"/> with torch.optim.Adam's defaults.</summary>
    public AdamOptimizer(IReadOnlyList<AdamParameterGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        Groups = groups;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in groups)
        {
            foreach (var (name, _) in g.Parameters)
            {
                if (!seen.Add(name))
                {
                    throw new ArgumentException($"parameter '{name}' appears in more than one Adam group");
                }
            }
        }
    }

    /// <summary>The parameter groups, in order.</summary>
    public IReadOnlyList<AdamParameterGroup> Groups { get; }

    /// <summary>Decay rate of the first moment.</summary>
    public double Beta1 { get; }

    /// <summary>Decay rate of the second moment.</summary>
    public double Beta2 { get; }

    /// <summary>Term added to the denominator for stability.</summary>
    public double Eps { get; }

    /// <summary>
    /// The authors' optimizer (train.py): every head parameter except the two temperatures at <paramref name="learningRate"/>,
    /// the temperatures at <paramref name="temperatureLearningRate"/>, betas (0.5, 0.999). Marks all of them trainable.
    /// </summary>
    public static AdamOptimizer ForVcpHeads(ParameterSet heads, double learningRate = 4e-5, double temperatureLearningRate = 0.01)
    {
        var main = new List<(string, Tensor)>();
        var temps = new List<(string, Tensor)>();
        var names = new List<string>(heads.Names);
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (name.StartsWith(VcpTrainer.OptimizerPrefix, StringComparison.Ordinal))
            {
                continue;     // a training checkpoint loaded as a head file also carries the Adam moments
            }
            var t = heads.Get(name);
            t.RequiresGrad = true;
            (Array.IndexOf(TemperatureNames, name) >= 0 ? temps : main).Add((name, t));
        }
        return new AdamOptimizer(
            [new AdamParameterGroup("main", learningRate, main), new AdamParameterGroup("temperature", temperatureLearningRate, temps)],
            beta1: 0.5, beta2: 0.999);
    }

    /// <summary>
    /// ViP2-CLIP's optimizer (train.py): the ICA parameters (<c>prompt_learner.*</c> minus its buffers) at
    /// <paramref name="icaLearningRate"/>, the FGP (<c>Zero_try.*</c>) at <paramref name="fgpLearningRate"/>, default
    /// betas (0.9, 0.999). The unused FGP temperature is in the group, as upstream; it never gets a gradient.
    /// </summary>
    public static AdamOptimizer ForVip2Heads(ParameterSet heads, double icaLearningRate = 1e-3, double fgpLearningRate = 1e-5)
    {
        var ica = new List<(string, Tensor)>();
        var fgp = new List<(string, Tensor)>();
        var names = new List<string>(heads.Names);
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var isIca = name.StartsWith(Vip2Heads.IcaPrefix + ".", StringComparison.Ordinal);
            var isFgp = name.StartsWith(Vip2Heads.FgpPrefix + ".", StringComparison.Ordinal);
            if ((!isIca && !isFgp) || Vip2Heads.IsBuffer(name))
            {
                continue;     // buffers, and Adam moments of a training checkpoint loaded as a head file
            }
            var t = heads.Get(name);
            t.RequiresGrad = true;
            (isIca ? ica : fgp).Add((name, t));
        }
        return new AdamOptimizer([new AdamParameterGroup("ica", icaLearningRate, ica), new AdamParameterGroup("fgp", fgpLearningRate, fgp)]);
    }

    /// <summary>The moments of the parameter <paramref name="name"/>; null before its first step.</summary>
    public AdamParameterState? StateOf(string name) => state.TryGetValue(name, out var s) ? s : null;

    /// <summary>Every parameter of every group, in group order.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> AllParameters()
    {
        foreach (var g in Groups)
        {
            foreach (var p in g.Parameters)
            {
                yield return p;
            }
        }
    }

    /// <summary>Clears every parameter's gradient (PyTorch zero_grad(set_to_none=True)).</summary>
    public void ZeroGrad()
    {
        foreach (var (_, p) in AllParameters())
        {
            p.ZeroGrad();
        }
    }

    /// <summary>One Adam step on every parameter that has a gradient.</summary>
    public void Step()
    {
        foreach (var g in Groups)
        {
            foreach (var (name, p) in g.Parameters)
            {
                if (p.Grad is not null)
                {
                    Update(name, p, p.Grad, g.LearningRate);
                }
            }
        }
    }

    private void Update(string name, Tensor parameter, Tensor gradient, double learningRate)
    {
        if (!Shapes.SameShape(parameter.Shape, gradient.Shape))
        {
            throw new ShapeMismatchException("adam", parameter.Shape, gradient.Shape, $"parameter '{name}' vs its gradient");
        }
        if (!state.TryGetValue(name, out var s))
        {
            s = AdamParameterState.Create(0, parameter.ShapeArray.ToArray(), parameter.Backend);
            state[name] = s;
        }
        s.Step++;
        var backend = parameter.Backend;
        var dense = parameter.IsContiguous && parameter.DType == DType.F32;
        // The kernel updates contiguous f32 in place; anything else is stepped on a dense copy and written back.
        using var p = dense ? null : parameter.ToContiguousF32();
        using var g = gradient.IsContiguous && gradient.DType == DType.F32 && ReferenceEquals(gradient.Backend, backend) ? null : ToBackendF32(gradient, backend);
        backend.AdamStep(p ?? parameter, g ?? gradient, s.ExpAvgTensor, s.ExpAvgSqTensor, learningRate, Beta1, Beta2, Eps, s.Step);
        if (p is not null)
        {
            backend.Copy(p, parameter);
        }
    }

    private static Tensor ToBackendF32(Tensor t, IBackend backend)
    {
        var dense = Tensor.Empty(t.Shape, DType.F32, backend);
        backend.Copy(t, dense);
        return dense;
    }

    /// <summary>Tensor name prefixes of the saved moments; the step count goes to metadata.</summary>
    public const string ExpAvgPrefix = "optimizer.exp_avg.";
    /// <summary>Tensor name prefix of the saved second moments.</summary>
    public const string ExpAvgSqPrefix = "optimizer.exp_avg_sq.";
    /// <summary>Metadata key prefix of the saved step counts.</summary>
    public const string StepPrefix = "optimizer.step.";

    /// <summary>Adds the state (moments as tensors, steps and learning rates as metadata) to a checkpoint being built.</summary>
    public void ExportState(List<(string Name, float[] Data, int[] Shape)> tensors, Dictionary<string, string> metadata)
    {
        foreach (var (name, p) in AllParameters())
        {
            if (!state.TryGetValue(name, out var s))
            {
                continue;
            }
            var shape = p.Shape.ToArray();
            tensors.Add((ExpAvgPrefix + name, s.ExpAvg, shape));
            tensors.Add((ExpAvgSqPrefix + name, s.ExpAvgSq, shape));
            metadata[StepPrefix + name] = s.Step.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        foreach (var g in Groups)
        {
            metadata[$"optimizer.lr.{g.Name}"] = g.LearningRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        }
        metadata["optimizer.betas"] = $"{Beta1.ToString("R", System.Globalization.CultureInfo.InvariantCulture)},{Beta2.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}";
        metadata["optimizer.eps"] = Eps.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Restores the state written by <see cref="ExportState"/>; <paramref name="moment"/> returns a saved tensor or null.</summary>
    public void ImportState(Func<string, float[]?> moment, IReadOnlyDictionary<string, string> metadata, string source)
    {
        state.Clear();
        foreach (var (name, p) in AllParameters())
        {
            if (!metadata.TryGetValue(StepPrefix + name, out var stepText))
            {
                continue;
            }
            var m = moment(ExpAvgPrefix + name);
            var v = moment(ExpAvgSqPrefix + name);
            if (m is null || v is null || m.Length != p.Numel || v.Length != p.Numel)
            {
                throw new WeightsConverter.ModelFormatException(source, null, ExpAvgPrefix + name,
                    $"expected Adam moments of {p.Numel} values, found {(m is null ? "none" : m.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
            }
            state[name] = AdamParameterState.Create(long.Parse(stepText, System.Globalization.CultureInfo.InvariantCulture), p.ShapeArray.ToArray(), p.Backend, m, v);
        }
    }
}
