// VCP-CLIP (ECCV 2024) in the method registry: exact-GELU CLIP with bicubic position resize, min-max maps per class.
using VcpNative.Anomaly.Inference;
using VcpNative.Anomaly.Training;
using VcpNative.Models;
using VcpNative.Models.Clip;
using VcpNative.Tensors;
using VcpNative.WeightsConverter.Quantization;

namespace VcpNative.Anomaly.Methods;

/// <summary>VCP-CLIP: Pre-VCP, Post-VCP and per-layer linear heads; trains from the authors' random initialisation.</summary>
public sealed class VcpMethod : IAnomalyMethod
{
    /// <inheritdoc/>
    public string Name => "vcp";

    /// <inheritdoc/>
    public string Title => "VCP-CLIP";

    /// <inheritdoc />
    public string ScoreMeaning => "mean of the 2000 highest pixels of the unsmoothed raw-branch map plus the same of the new-branch map (each map an anomaly probability per pixel); higher is more anomalous; not normalised across images";

    /// <inheritdoc />
    public double ScoreMaximum => 2.0;

    /// <summary>Keys every VCP-CLIP head file has (method-spec 2.8).</summary>
    public IReadOnlyList<string> RequiredKeys { get; } =
    [
        "trainable_linearlayer.fc.0.weight", "New_Lan_Embed.prompt_query", "New_Lan_Embed.prompt_linear1.fc.weight",
        "Zero_try.q_proj_pre.weight", "prompt_embeddings", "deep_prompt_embeddings", "prompt_proj.weight", "prompt_norm.weight",
    ];

    /// <inheritdoc/>
    public ClassNormalisation Normalisation => ClassNormalisation.MinMaxPerClass;

    /// <inheritdoc/>
    public bool TrainingNeedsInitialHeads => false;

    /// <inheritdoc/>
    public string TensorPrefix => "trainable_linearlayer.";

    /// <inheritdoc/>
    public LoadedAnomalyModel Load(string clipPath, string headPath, int imageSize, IBackend? backend) =>
        Wrap(VcpModel.Load(clipPath, headPath, backend), imageSize);

    /// <inheritdoc/>
    public LoadedAnomalyModel LoadForTraining(string clipPath, string? initPath, int seed, int imageSize, IBackend backend)
    {
        var clip = ClipModel.Load(clipPath, ClipActivation.Gelu, PositionResizeMode.BicubicAntialias, backend);
        return Wrap(VcpModel.WithHeads(clip, initPath, seed, backend), imageSize);
    }

    /// <inheritdoc/>
    public LoadedAnomalyModel Random(ModelArchitecture arch, int seed, int imageSize, IBackend? backend, LinearWeightFormat weightsFormat) =>
        Wrap(VcpModel.Random(arch, seed, backend, weightsFormat), imageSize);

    /// <inheritdoc/>
    public ParameterSet RandomHeads(ModelArchitecture arch, int seed, IBackend? backend) => RandomWeights.VcpHeads(arch, seed, backend);

    /// <inheritdoc/>
    public IHeadTrainer CreateTrainer(LoadedAnomalyModel model, HeadTrainingSettings settings) => new VcpTrainer((VcpModel)model.Model, new VcpTrainingOptions
    {
        ImageSize = settings.ImageSize,
        LearningRate = settings.LearningRate,
        TemperatureLearningRate = settings.TemperatureLearningRate,
        Dropout = settings.Dropout,
        Seed = settings.Seed,
    });

    /// <inheritdoc/>
    public VcpFlops FlopCount(LoadedAnomalyModel model, int imageSize)
    {
        var m = (VcpModel)model.Model;
        return VcpFlopCount.PerImage(m.Clip.Config, m.Heads.R, m.Heads.N, m.Heads.FeatureLayers, imageSize);
    }

    /// <summary>Inference for <paramref name="model"/> (disposed if that fails).</summary>
    public static LoadedAnomalyModel Wrap(VcpModel model, int imageSize) =>
        AnomalyMethods.Wrap(model, model.Clip, m => new VcpInference(m, imageSize));
}
