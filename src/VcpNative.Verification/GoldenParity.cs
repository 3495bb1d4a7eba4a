// The committed golden cases (tiny VCP-CLIP and ViP2-CLIP inference at 518 px, one training step of each at 112 px)
// run on any backend and compared with the PyTorch fixtures and with the CPU backend in the same process: how a GPU
// deployment proves it computes the authors' numbers, without .NET's test runner on the machine.
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Preprocessing;
using VcpNative.Anomaly.Training;
using VcpNative.IO.Images;
using VcpNative.WeightsConverter;

namespace VcpNative.Verification;

/// <summary>
/// One compared quantity: the largest error against the PyTorch fixture and against the CPU backend, and the bound.
/// <see cref="Measure"/> says what the numbers are (max abs difference, or relative difference in norm).
/// </summary>
public sealed record ParityRow(string Case, string Quantity, string Measure, double VsReference, double VsCpu, double Bound)
{
    public bool Passed => VsReference <= Bound && (double.IsNaN(VsCpu) || VsCpu <= Bound);
}

/// <summary>Where the fixtures are, and the bounds for the backend's arithmetic.</summary>
public sealed record GoldenParityOptions(string FixturesDirectory, bool Bf16, IReadOnlyCollection<string>? Cases = null)
{
    /// <summary>
    /// fp32: the bounds the CPU and the emulator are held to (maps and scores 1e-4 abs, losses 1e-4 rel, gradients
    /// 1e-3 rel in norm per tensor or 2e-6 abs for the analytically-zero ones, parameters after Adam 1e-5 rel). bf16
    /// tensor cores round every matmul input to 8 mantissa bits (2^-8 = 3.9e-3 relative each): 2e-2 on maps, scores and
    /// losses, 5e-2 on all gradients together, 1e-3 on all parameters together after one Adam step.
    /// </summary>
    public double MapBound => Bf16 ? 2e-2 : 1e-4;

    public double LossBound => Bf16 ? 2e-2 : 1e-4;

    public double GradientBound => Bf16 ? 5e-2 : 1e-3;

    public double ParameterBound => Bf16 ? 1e-3 : 1e-5;

    /// <summary>Gradients whose reference norm is below this are rounding noise on both sides: compared in absolute terms.</summary>
    public const double NoiseGradient = 2e-6;
}

public static class GoldenParity
{
    private const int InferenceSize = 518;
    private const int TrainingSize = 112;

    /// <summary>The case names, in the order <see cref="Run"/> reports them.</summary>
    public static IReadOnlyList<string> Cases { get; } = ["vcp-infer-518", "vip2-infer-518", "vcp-train-step-112", "vip2-train-step-112"];

    /// <summary>
    /// Runs every case on <paramref name="device"/> and on <paramref name="cpu"/> (the same code, fp32) and reports one
    /// row per compared quantity; <paramref name="progress"/> gets one line per finished case.
    /// </summary>
    public static IReadOnlyList<ParityRow> Run(GoldenParityOptions options, IBackend device, IBackend cpu, Action<string>? progress = null)
    {
        var f = new FixturePaths(options.FixturesDirectory);
        var rows = new List<ParityRow>();
        foreach (var unknown in options.Cases?.Except(Cases) ?? [])
        {
            throw new ArgumentException($"unknown golden case '{unknown}': expected one of {string.Join(", ", Cases)}");
        }
        void Case(string name, Func<IBackend, CaseResult> run, Func<CaseResult, CaseResult, IEnumerable<ParityRow>> compare)
        {
            if (options.Cases is { } only && !only.Contains(name))
            {
                return;
            }
            var started = System.Diagnostics.Stopwatch.StartNew();
            var onDevice = run(device);
            var onCpu = run(cpu);
            var added = compare(onDevice, onCpu).ToList();
            rows.AddRange(added);
            progress?.Invoke($"{name}: {(added.All(r => r.Passed) ? "pass" : "FAIL")} ({started.Elapsed.TotalSeconds:F1} s)");
        }

        using (var expected = WeightLoader.LoadVerbatim(f.Path("vcp", "expected.safetensors")))
        {
            Case(Cases[0], b => VcpInference(f, b), (d, c) => InferenceRows(Cases[0], options,
                expected["final"].ToFloat32(), expected["score"].ToFloat32()[0], d, c, stride: 1));
        }
        using (var expected = WeightLoader.LoadVerbatim(f.Path("vip2", "expected.safetensors")))
        {
            var stride = int.Parse(expected.Metadata["map_stride"], System.Globalization.CultureInfo.InvariantCulture);
            Case(Cases[1], b => Vip2Inference(f, b), (d, c) => InferenceRows(Cases[1], options,
                expected["final_strided"].ToFloat32(), expected["score"].ToFloat32()[0], d, c, stride));
        }
        using (var expected = WeightLoader.LoadVerbatim(f.Path("train", "train_step.safetensors")))
        {
            Case(Cases[2], b => TrainingStep(f, b, expected, vip2: false), (d, c) => TrainingRows(Cases[2], options, expected, d, c));
        }
        using (var expected = WeightLoader.LoadVerbatim(f.Path("vip2", "train_step.safetensors")))
        {
            Case(Cases[3], b => TrainingStep(f, b, expected, vip2: true), (d, c) => TrainingRows(Cases[3], options, expected, d, c));
        }
        return rows;
    }

    private sealed record FixturePaths(string Root)
    {
        public string Path(string folder, string file)
        {
            var path = System.IO.Path.Combine(Root, folder, file);
            return File.Exists(path) ? path : throw new FileNotFoundException($"golden fixture {path} not found (expected the repository's tests/VcpNative.Tests/Fixtures)", path);
        }
    }

    /// <summary>What one run of a case produced, read back to the host.</summary>
    private sealed record CaseResult(
        float[] Map, float Score, float Loss, Dictionary<string, float[]> Gradients, Dictionary<string, float[]> After);

    private static float[] InputImage(FixturePaths f, int size) =>
        ClipPreprocess.ToTensorData(ImageDecoder.DecodeRgb(f.Path("vcp", "input.png")), size);

    private static CaseResult VcpInference(FixturePaths f, IBackend backend)
    {
        using var model = VcpModel.Load(f.Path("clip", "tiny_clip.pt"), f.Path("vcp", "vcp_head.pth"), backend);
        return Infer(new Anomaly.Inference.VcpInference(model, InferenceSize), f, backend);
    }

    private static CaseResult Vip2Inference(FixturePaths f, IBackend backend)
    {
        using var model = Vip2Model.Load(f.Path("clip", "tiny_clip.pt"), f.Path("vip2", "vip2_head.pth"), backend);
        return Infer(new Anomaly.Inference.Vip2Inference(model, InferenceSize), f, backend);
    }

    private static CaseResult Infer(IAnomalyInference inference, FixturePaths f, IBackend backend)
    {
        using var noGrad = Tape.NoGrad();
        using var scope = new TensorScope();
        var input = Tensor.FromArray(InputImage(f, InferenceSize), [1, 3, InferenceSize, InferenceSize], backend);
        using var pending = inference.Launch(input);
        var result = pending.Collect()[0];
        return new CaseResult(result.Map, result.Score, float.NaN, [], []);
    }

    private static IEnumerable<ParityRow> InferenceRows(string name, GoldenParityOptions o, float[] referenceMap, float referenceScore,
                                                        CaseResult device, CaseResult cpu, int stride)
    {
        // The ViP2 fixture keeps every stride-th pixel of each stride-th row (the full map would be 1 MB).
        var side = (InferenceSize + stride - 1) / stride;
        if (referenceMap.Length != side * side)
        {
            throw new InvalidDataException($"{name}: fixture map has {referenceMap.Length} values, expected {side * side} ({side}x{side}, stride {stride})");
        }
        double vsReference = 0;
        for (var y = 0; y < side; y++)
        {
            for (var x = 0; x < side; x++)
            {
                vsReference = Math.Max(vsReference, Math.Abs((double)device.Map[y * stride * InferenceSize + x * stride] - referenceMap[y * side + x]));
            }
        }
        yield return new ParityRow(name, "final map", "max abs", vsReference, MaxAbs(device.Map, cpu.Map), o.MapBound);
        yield return new ParityRow(name, "score", "abs", Math.Abs((double)device.Score - referenceScore), Math.Abs((double)device.Score - cpu.Score), o.MapBound);
    }

    private static CaseResult TrainingStep(FixturePaths f, IBackend backend, WeightSet step, bool vip2)
    {
        IDisposable model;
        IHeadTrainer trainer;
        Func<string, Tensor> parameters;
        if (vip2)
        {
            var m = Vip2Model.Load(f.Path("clip", "tiny_clip.pt"), f.Path("vip2", "vip2_head.pth"), backend);
            (model, trainer, parameters) = (m, new Vip2Trainer(m, new Vip2TrainingOptions { ImageSize = TrainingSize }), n => m.Heads.Parameters.Get(n));
        }
        else
        {
            var m = VcpModel.Load(f.Path("clip", "tiny_clip.pt"), f.Path("vcp", "vcp_head.pth"), backend);
            (model, trainer, parameters) = (m, new VcpTrainer(m, new VcpTrainingOptions { ImageSize = TrainingSize, Dropout = 0f }), n => m.Heads.Parameters.Get(n));
        }
        using (model)
        {
            using var images = Tensor.FromArray(step["images"].ToFloat32(), [2, 3, TrainingSize, TrainingSize], backend);
            using var masks = Tensor.FromArray(step["masks"].ToFloat32(), [2, TrainingSize, TrainingSize], backend);
            int[] labels = step.TryGet("labels", out var l) ? Array.ConvertAll(l.ToFloat32(), v => (int)v) : [1, 0];
            using var features = trainer.ComputeFeatures(images);
            var loss = trainer.ComputeGradients(features, masks, labels);
            var gradients = trainer.Gradients().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
            trainer.ApplyStep();
            var after = new Dictionary<string, float[]>(StringComparer.Ordinal);
            foreach (var name in step.Names.Where(n => n.StartsWith("after.", StringComparison.Ordinal)))
            {
                after[name["after.".Length..]] = parameters(name["after.".Length..]).ToArray();
            }
            return new CaseResult([], float.NaN, loss.Total, gradients, after);
        }
    }

    private static IEnumerable<ParityRow> TrainingRows(string name, GoldenParityOptions o, WeightSet step, CaseResult device, CaseResult cpu)
    {
        var referenceLoss = (double)step["loss"].ToFloat32()[0];
        yield return new ParityRow(name, "loss", "rel", Math.Abs(device.Loss - referenceLoss) / Math.Abs(referenceLoss),
                                   Math.Abs((double)device.Loss - cpu.Loss) / Math.Abs((double)cpu.Loss), o.LossBound);

        // fp32: the worst relative error in norm over every tensor the fixture has (analytically-zero ones, reference
        // norm under the noise level, in absolute terms scaled to the bound). bf16: rounding every matmul input to 8 bits
        // leaves the small and analytically-zero gradients mostly noise (the emulator shows the same), so the measure is
        // the relative error of all tensors together; the worst single tensor is still named.
        var gradNames = step.Names.Where(n => n.StartsWith("grad.", StringComparison.Ordinal)).Select(n => n["grad.".Length..]).ToList();
        foreach (var key in gradNames.Where(k => !device.Gradients.ContainsKey(k)))
        {
            throw new InvalidDataException($"{name}: the fixture has a gradient for {key}, the trainer none");
        }
        yield return Compare(name, "gradients", gradNames, k => device.Gradients[k], k => step["grad." + k].ToFloat32(),
                             k => cpu.Gradients[k], o.GradientBound, o.Bf16, noiseFloor: true);
        yield return Compare(name, "parameters after Adam", device.After.Keys.ToList(), k => device.After[k],
                             k => step["after." + k].ToFloat32(), k => cpu.After[k], o.ParameterBound, o.Bf16, noiseFloor: false);
    }

    private static ParityRow Compare(string name, string what, IReadOnlyList<string> keys, Func<string, float[]> got,
                                     Func<string, float[]> reference, Func<string, float[]> cpu, double bound, bool together, bool noiseFloor)
    {
        double Error(float[] a, float[] b) => noiseFloor && !together ? GradientError(a, b, bound) : RelativeInNorm(a, b);
        double worst = 0;
        var worstName = "";
        foreach (var k in keys)
        {
            var e = Error(got(k), reference(k));
            if (e > worst)
            {
                (worst, worstName) = (e, k);
            }
        }
        if (together)
        {
            float[] All(Func<string, float[]> f) => keys.SelectMany(f).ToArray();
            var all = All(got);
            return new ParityRow(name, $"{what} ({keys.Count} tensors together; worst single {worstName} {worst:0.##E+0})",
                                 "rel in norm", RelativeInNorm(all, All(reference)), RelativeInNorm(all, All(cpu)), bound);
        }
        return new ParityRow(name, $"{what} ({keys.Count} tensors; worst {worstName})", "rel in norm", worst,
                             keys.Max(k => Error(got(k), cpu(k))), bound);
    }

    // Relative error in norm; below the noise level an absolute difference, expressed as a fraction of the bound's reach.
    private static double GradientError(float[] got, float[] want, double bound)
    {
        var norm = Norm(want, null);
        var diff = Norm(got, want);
        if (diff <= GoldenParityOptions.NoiseGradient)
        {
            return Math.Min(diff / Math.Max(norm, 1e-30), bound * diff / GoldenParityOptions.NoiseGradient);
        }
        return diff / Math.Max(norm, 1e-30);
    }

    private static double RelativeInNorm(float[] got, float[] want) => Norm(got, want) / Math.Max(Norm(want, null), 1e-30);

    private static double Norm(float[] a, float[]? minus)
    {
        if (minus is not null && minus.Length != a.Length)
        {
            throw new InvalidDataException($"length mismatch: {a.Length} vs {minus.Length}");
        }
        double s = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = (double)a[i] - (minus is null ? 0 : minus[i]);
            s += d * d;
        }
        return Math.Sqrt(s);
    }

    private static double MaxAbs(float[] a, float[] b)
    {
        if (a.Length != b.Length)
        {
            throw new InvalidDataException($"map length mismatch: {a.Length} vs {b.Length}");
        }
        double m = 0;
        for (var i = 0; i < a.Length; i++)
        {
            m = Math.Max(m, Math.Abs((double)a[i] - b[i]));
        }
        return m;
    }
}
